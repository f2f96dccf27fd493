'use strict';
// Soak test: `node __test__/stress/soak.js [seconds]` (default 60). Not part of `npm test`.
//
// Runs, all at once, for the given time:
//   - 1,000 plain connections to one echo server, each sending messages of random size (1 B ..
//     64 KiB, write return value + drain honoured) and checking every echo by sha256;
//   - connect/close churn (4 loops: connect, sometimes a 1-byte echo, then terminate() or close());
//   - `reload` of the echo server's handler table every 2 s (alternating two tables), and of one
//     client table, checking that the new table is the one called;
//   - a TLS echo server with 100 connections doing the same checked echo (if `openssl` is there to
//     make a certificate).
// Every 5 s it prints throughput, RSS, open fds and event-loop lag; at the end a PASS/FAIL line.
// Exits non-zero on any corrupted echo; a hang (a message unanswered for 15 s, a churn cycle stuck
// for 10 s, an interval without progress, or timers running 5 s late: the event loop stalled); an
// RSS trend (> 100 MB growth from the first report to the last, after GC); fds not back near the
// start once everything is closed; or a close handler not run exactly once. A watchdog thread kills
// the process (SIGKILL) if it overruns by 30 s or its event loop stops turning for 30 s.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Worker } = require('node:worker_threads');
const { listen, connect } = require(path.join(__dirname, '..', '..'));

const SECONDS = Number(process.argv[2] || 60);
if (!(SECONDS > 0)) {
  console.error('usage: node __test__/stress/soak.js [seconds]');
  process.exit(2);
}
const HOST = '127.0.0.1';
const CONNS = 1000;
const TLS_CONNS = 100;
const CHURN_LOOPS = 4;
const MAX_MSG = 64 * 1024;
const MAX_TLS_MSG = 16 * 1024;
const HANG_MS = 15000;
const STALL_MS = 5000;
const RSS_LIMIT_MB = 100;

// A real gc() for steady RSS readings, without needing --expose-gc on the command line.
v8.setFlagsFromString('--expose-gc');
const gc = global.gc || vm.runInNewContext('gc');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fds = () => fs.readdirSync('/proc/self/fd').length;
const rssMb = () => process.memoryUsage().rss / 1048576;
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
function withTimeout(p, ms, what) {
  let t;
  const timeout = new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

const failures = [];
function fail(msg) {
  if (failures.length < 50) console.log(`  FAILURE: ${msg}`);
  failures.push(msg);
}

const POOL = crypto.randomBytes(MAX_MSG * 4);
const stats = { msgs: 0, bytes: 0, tlsMsgs: 0, tlsBytes: 0, churn: 0, reloads: 0, corrupt: 0 };
let stopping = false;

// ---- echo servers with two alternating handler tables -------------------------------------------

/** Echo with backpressure; `tag` counts which table handled the data. */
function echoTable(tag, counts) {
  const flush = (s) => {
    const q = s.data.q;
    while (q.length) {
      const n = s.write(q[0]);
      if (n < 0) {
        q.length = 0;
        return;
      }
      if (n < q[0].length) {
        q[0] = q[0].subarray(n);
        return;
      }
      q.shift();
    }
  };
  return {
    open(s) {
      s.data = { q: [], closes: 0 };
      counts.opened++;
    },
    data(s, d) {
      counts[tag]++;
      s.data.q.push(d);
      if (s.data.q.length === 1) flush(s);
    },
    drain: flush,
    close(s) {
      if (++s.data.closes === 1) counts.closed++;
      else fail(`server (${tag}) close ran ${s.data.closes} times`);
    },
    error(s, err) {
      counts.errors++;
      if (counts.errors <= 3) console.log(`  server error: ${err && err.message}`);
    },
  };
}

const plainCounts = { A: 0, B: 0, opened: 0, closed: 0, errors: 0 };
const tablesPlain = [echoTable('A', plainCounts), echoTable('B', plainCounts)];
const server = listen({ hostname: HOST, port: 0, backlog: 2048, socket: tablesPlain[0] });

let tls = null;
let tlsServer = null;
const tlsCounts = { A: 0, B: 0, opened: 0, closed: 0, errors: 0 };
try {
  const fx = require('../tls-fixtures').fixtures();
  if (fx) {
    tls = fx;
    tlsServer = listen({
      hostname: HOST,
      port: 0,
      tls: { key: fx.server.key, cert: fx.server.cert },
      socket: echoTable('A', tlsCounts),
    });
  }
} catch (err) {
  console.log(`TLS part skipped: ${err.message}`);
}
if (!tls) console.log('TLS part skipped: openssl is not available');

// ---- checked echo connections ----------------------------------------------------------------

class Echoer {
  constructor(id, port, tlsOpts, maxMsg) {
    this.id = id;
    this.port = port;
    this.tlsOpts = tlsOpts;
    this.maxMsg = maxMsg;
    this.socket = null;
    this.closes = 0;
    this.pending = null; // { buf, off, got: [], len, since }
    this.msgs = 0;
  }

  table(tag) {
    const self = this;
    return {
      data(s, d) {
        self.tag = tag;
        self.onData(d);
      },
      drain() {
        self.pump();
      },
      close(s, err) {
        self.closes++;
        if (self.closes > 1) fail(`client ${self.id} close ran ${self.closes} times`);
        if (!stopping) fail(`client ${self.id} closed during the run${err ? `: ${err.code || err.message}` : ''}`);
      },
      error(s, err) {
        fail(`client ${self.id} error: ${err && err.message}`);
      },
    };
  }

  async start() {
    this.socket = await withTimeout(
      connect({ hostname: HOST, port: this.port, tls: this.tlsOpts, socket: this.table('A') }),
      20000,
      `connect ${this.id}`,
    );
    this.next();
  }

  next() {
    if (stopping) return;
    const len = 1 + Math.floor(Math.random() ** 3 * this.maxMsg); // mostly small, some large
    const off = Math.floor(Math.random() * (POOL.length - len));
    const buf = Buffer.from(POOL.subarray(off, off + len));
    if (len >= 4) buf.writeUInt32BE(this.msgs, 0); // each message differs from the last
    this.pending = { buf, off: 0, got: [], gotLen: 0, sum: sha(buf), since: Date.now() };
    this.pump();
  }

  pump() {
    const p = this.pending;
    if (!p) return;
    while (p.off < p.buf.length) {
      const n = this.socket.write(p.buf, p.off);
      if (n < 0) {
        if (!stopping) fail(`client ${this.id}: write returned ${n}`);
        return;
      }
      p.off += n;
      if (p.off < p.buf.length) return; // drain resumes
    }
  }

  onData(d) {
    const p = this.pending;
    if (!p) {
      stats.corrupt++;
      fail(`client ${this.id}: ${d.length} bytes arrived with no message outstanding`);
      return;
    }
    p.got.push(d);
    p.gotLen += d.length;
    if (p.gotLen < p.buf.length) return;
    const got = Buffer.concat(p.got);
    if (got.length !== p.buf.length || sha(got) !== p.sum) {
      stats.corrupt++;
      fail(`client ${this.id}: echo of ${p.buf.length} bytes corrupted (got ${got.length})`);
    }
    this.msgs++;
    if (this.tlsOpts) {
      stats.tlsMsgs++;
      stats.tlsBytes += got.length;
    } else {
      stats.msgs++;
      stats.bytes += got.length;
    }
    this.pending = null;
    this.next();
  }
}

// ---- churn -----------------------------------------------------------------------------------

let churnCloses = 0;
let churnOpens = 0;
async function churnLoop(k) {
  const table = {
    open() {
      churnOpens++;
    },
    data(s) {
      if (s.data.echo) s.data.echo();
    },
    close(s) {
      if (++s.data.closes === 1) churnCloses++;
      else fail('churn socket close ran twice');
    },
  };
  let i = 0;
  while (!stopping) {
    i++;
    try {
      await withTimeout(
        (async () => {
          const d = { closes: 0, echo: null };
          const s = await connect({ hostname: HOST, port: server.port, socket: table, data: d });
          if (i % 3 === 0) {
            const echoed = new Promise((r) => (d.echo = r));
            s.write('x');
            await echoed;
          }
          if ((i + k) % 10 === 0) s.close();
          else s.terminate();
          if (d.closes !== 1) fail(`churn: close handler did not run inside close()/terminate()`);
        })(),
        10000,
        'churn cycle',
      );
      stats.churn++;
    } catch (err) {
      fail(`churn loop ${k}: ${err.message}`);
      return;
    }
  }
}

// ---- watchdog --------------------------------------------------------------------------------

/**
 * Hard stop that does not depend on this thread's event loop (a hang inside a handler, or a starved
 * loop, would stop a timer here too): a worker thread kills the process if the run overruns by 30 s
 * or the main thread's event loop has not turned for 30 s.
 */
function startWatchdog() {
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const started = Date.now();
  const code = `
    const { workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const beat = new Int32Array(workerData.sab);
    setInterval(() => {
      const now = Math.floor((Date.now() - workerData.started) / 1000);
      const last = Atomics.load(beat, 0);
      let why = null;
      if (now > workerData.seconds + 30) why = 'the run overran its ' + workerData.seconds + ' s by 30 s';
      else if (now - last > 30) why = 'the main thread has not turned its event loop for ' + (now - last) + ' s';
      if (why) {
        fs.writeSync(1, 'FAIL: hang: ' + why + '\\n');
        process.kill(process.pid, 'SIGKILL');
      }
    }, 500);
  `;
  const worker = new Worker(code, { eval: true, workerData: { sab: beat.buffer, started, seconds: SECONDS } });
  worker.unref();
  const tick = setInterval(() => Atomics.store(beat, 0, Math.floor((Date.now() - started) / 1000)), 1000);
  tick.unref();
  return {
    terminate() {
      clearInterval(tick);
      worker.terminate();
    },
  };
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const startFds = fds();
  const startRss = rssMb();
  console.log(`soak: ${SECONDS} s, ${CONNS} echo connections, ${CHURN_LOOPS} churn loops, TLS ${tls ? `${TLS_CONNS} connections` : 'skipped'}; start fds ${startFds}, rss ${startRss.toFixed(1)} MB`);

  const watchdog = startWatchdog();

  const echoers = Array.from({ length: CONNS }, (_, i) => new Echoer(i, server.port, undefined, MAX_MSG));
  const tlsEchoers = tls
    ? Array.from({ length: TLS_CONNS }, (_, i) => new Echoer(`tls${i}`, tlsServer.port, { ca: tls.ca.cert }, MAX_TLS_MSG))
    : [];
  // Open in bounded batches so the accept backlog is not flooded.
  const all = [...echoers, ...tlsEchoers];
  for (let i = 0; i < all.length; i += 200) {
    await Promise.all(all.slice(i, i + 200).map((e) => e.start().catch((err) => fail(`start ${e.id}: ${err.message}`))));
  }
  console.log(`connected ${all.filter((e) => e.socket).length} in ${Date.now() - t0} ms`);

  const churn = Array.from({ length: CHURN_LOOPS }, (_, k) => churnLoop(k));

  // Reloads: the servers' tables alternate; one client swaps its own table too.
  let reloadIdx = 0;
  const reloader = setInterval(() => {
    reloadIdx ^= 1;
    const before = { ...plainCounts };
    server.reload({ socket: tablesPlain[reloadIdx] });
    if (tlsServer) tlsServer.reload(echoTable(reloadIdx ? 'B' : 'A', tlsCounts)); // the bare-table shape
    if (echoers[0].socket) echoers[0].socket.reload({ socket: echoers[0].table(reloadIdx ? 'B' : 'A') });
    stats.reloads++;
    const tag = reloadIdx ? 'B' : 'A';
    // Shortly after, data must be reaching the new table (and the old one no longer).
    setTimeout(() => {
      if (stopping || reloadIdx !== (tag === 'B' ? 1 : 0)) return;
      const other = tag === 'A' ? 'B' : 'A';
      const snap = plainCounts[other];
      setTimeout(() => {
        if (stopping || reloadIdx !== (tag === 'B' ? 1 : 0)) return;
        if (plainCounts[tag] === before[tag]) fail(`after reload, table ${tag} never called`);
        if (plainCounts[other] !== snap) fail(`after reload, old table ${other} still called`);
      }, 300);
    }, 300);
  }, 2000);

  // Event-loop lateness, as a 100 ms interval sees it: a stall of STALL_MS counts as a hang.
  let lagMax = 0;
  let lagLast = Date.now();
  const lagTimer = setInterval(() => {
    const now = Date.now();
    lagMax = Math.max(lagMax, now - lagLast - 100);
    lagLast = now;
  }, 100);

  // Reports every 5 s; RSS trend from the first report (after GC) to the last.
  const reports = [];
  let last = { ...stats, t: Date.now() };
  const deadline = t0 + SECONDS * 1000;
  while (Date.now() < deadline) {
    await sleep(Math.min(5000, Math.max(0, deadline - Date.now())));
    const now = Date.now();
    const dt = (now - last.t) / 1000;
    gc();
    const r = { t: Math.round((now - t0) / 1000), rss: rssMb(), fds: fds() };
    reports.push(r);
    const oldest = all.reduce((m, e) => (e.pending ? Math.max(m, now - e.pending.since) : m), 0);
    console.log(
      `[${String(r.t).padStart(4)} s] echo ${Math.round((stats.msgs - last.msgs) / dt)} msg/s ` +
        `${((stats.bytes - last.bytes) / 1048576 / dt).toFixed(1)} MB/s | tls ${Math.round((stats.tlsMsgs - last.tlsMsgs) / dt)} msg/s ` +
        `${((stats.tlsBytes - last.tlsBytes) / 1048576 / dt).toFixed(1)} MB/s | churn ${Math.round((stats.churn - last.churn) / dt)}/s | ` +
        `reloads ${stats.reloads} | rss ${r.rss.toFixed(1)} MB | fds ${r.fds} | oldest outstanding ${oldest} ms | ` +
        `event-loop lag max ${lagMax} ms | failures ${failures.length}`,
    );
    if (lagMax >= STALL_MS) fail(`hang: the event loop stalled for ${lagMax} ms (timers ran that late)`);
    lagMax = 0;
    if (oldest > HANG_MS) fail(`hang: a message has been outstanding for ${oldest} ms`);
    if (stats.msgs === last.msgs) fail('hang: no plain echo completed in the last interval');
    if (tls && stats.tlsMsgs === last.tlsMsgs) fail('hang: no TLS echo completed in the last interval');
    if (stats.churn === last.churn) fail('hang: no churn cycle completed in the last interval');
    last = { ...stats, t: now };
    if (failures.length >= 50) break;
  }

  // Wind down: stop new messages, let outstanding ones finish, close everything.
  stopping = true;
  clearInterval(reloader);
  clearInterval(lagTimer);
  await withTimeout(Promise.all(churn), 15000, 'churn loops stopping').catch((err) => fail(err.message));
  const outstanding = () => all.filter((e) => e.pending).length;
  const endWait = Date.now() + HANG_MS;
  while (outstanding() > 0 && Date.now() < endWait) await sleep(20);
  if (outstanding() > 0) fail(`hang: ${outstanding()} echoes never completed`);
  for (const e of all) if (e.socket) e.socket.close();
  const closeWait = Date.now() + 10000;
  const expectPlain = plainCounts.opened;
  while ((plainCounts.closed < expectPlain || tlsCounts.closed < tlsCounts.opened) && Date.now() < closeWait) await sleep(20);
  if (plainCounts.closed !== plainCounts.opened) fail(`plain server: ${plainCounts.opened} opened, ${plainCounts.closed} closed`);
  if (tlsCounts.closed !== tlsCounts.opened) fail(`TLS server: ${tlsCounts.opened} opened, ${tlsCounts.closed} closed`);
  const unclosed = all.filter((e) => e.socket && e.closes !== 1).length;
  if (unclosed) fail(`${unclosed} client connections did not close exactly once`);
  if (churnCloses !== churnOpens) fail(`churn: ${churnOpens} opened, ${churnCloses} closed`);
  server.stop(true);
  if (tlsServer) tlsServer.stop(true);
  await sleep(500);
  gc();
  const endFds = fds();
  const endRss = rssMb();

  if (reports.length >= 2) {
    const growth = reports[reports.length - 1].rss - reports[0].rss;
    console.log(`RSS first report ${reports[0].rss.toFixed(1)} MB, last ${reports[reports.length - 1].rss.toFixed(1)} MB (growth ${growth.toFixed(1)} MB), after closing all ${endRss.toFixed(1)} MB`);
    if (growth > RSS_LIMIT_MB) fail(`RSS grew ${growth.toFixed(1)} MB over the run (limit ${RSS_LIMIT_MB})`);
  }
  console.log(`fds: start ${startFds}, end ${endFds}`);
  if (endFds > startFds + 10) fail(`fd leak: ${startFds} at start, ${endFds} after closing everything`);
  if (plainCounts.A === 0 || plainCounts.B === 0) fail(`reload: table A ran ${plainCounts.A} times, B ${plainCounts.B}`);
  if (tls && (tlsCounts.A === 0 || tlsCounts.B === 0)) fail(`TLS reload: table A ran ${tlsCounts.A} times, B ${tlsCounts.B}`);

  const secs = (Date.now() - t0) / 1000;
  const summary =
    `${stats.msgs} echoes (${(stats.bytes / 1048576).toFixed(0)} MB), ${stats.tlsMsgs} TLS echoes ` +
    `(${(stats.tlsBytes / 1048576).toFixed(0)} MB), ${stats.churn} churn cycles, ${stats.reloads} reloads, ` +
    `${stats.corrupt} corrupted, server errors ${plainCounts.errors}/${tlsCounts.errors}, in ${secs.toFixed(1)} s`;
  watchdog.terminate();
  if (failures.length) {
    console.log(`FAIL: ${failures.length} failure(s); first: ${failures[0]} | ${summary}`);
    process.exit(1);
  }
  console.log(`PASS: ${summary}`);
  process.exit(0);
}

main().catch((err) => {
  console.log(`FAIL: ${err && err.stack}`);
  process.exit(1);
});
