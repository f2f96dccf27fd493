'use strict';
// Backpressure (SPEC.md "Socket": unbuffered writes, drain, pause/resume): a consumer that never
// reads (write returns 0, no drain, no memory growth), a slow JS data handler against a fast sender
// (the loop thread's read queue stays bounded, every byte arrives in order), pause()/resume()
// reaching the sender through TCP, and the same over TLS.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { listen, connect } = require('..');
const { HOST, sleep, deferred, withTimeout, sha256, runChild, cleanup, freePort, makeWriter, collector } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const MiB = 1 << 20;

/** `bytes` in a temporary file (removed after the test), for a child process to read. */
function writeTemp(t, bytes) {
  const file = require('node:path').join(require('node:os').tmpdir(), `nbt-bp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  require('node:fs').writeFileSync(file, bytes);
  t.after(() => require('node:fs').rmSync(file, { force: true }));
  return file;
}

/** The last JSON line a child printed. */
function lastJson(r) {
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.length > 0, `child printed no result (code ${r.code}, timedOut ${r.timedOut})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(lines[lines.length - 1]);
}

// ---- a consumer that never reads ----------------------------------------------------------------

test('a consumer that never reads: write returns 0 while full, no drain, RSS does not grow (child)', async () => {
  const code = `
    const net = require('node:net');
    const { connect } = require(process.env.PKG);
    const MiB = 1 << 20;
    const chunk = Buffer.alloc(MiB, 0x61);
    let peer;
    const server = net.createServer({ pauseOnConnect: true }, (sock) => { peer = sock; sock.on('error', () => {}); });
    server.listen(0, '127.0.0.1', async () => {
      const out = { drainsWhileFull: 0, drainAfterRead: false };
      let reading = false;
      const drained = () => { if (reading) { out.drainAfterRead = true; finish(); } else out.drainsWhileFull++; };
      const c = await connect({ hostname: '127.0.0.1', port: server.address().port, socket: { data() {}, drain: drained } });
      // Fill the kernel's buffers.
      let n;
      let filled = 0;
      for (let i = 0; i < 1024 && (n = c.write(chunk)) === chunk.length; i++) filled += n;
      out.firstShort = n;
      out.filled = filled + Math.max(n, 0);
      // ~2 s of further attempts with the same buffer: nothing may be buffered on our side.
      global.gc && global.gc();
      const rss0 = process.memoryUsage.rss();
      const results = [];
      const t0 = Date.now();
      const iv = setInterval(() => {
        for (let i = 0; i < 10; i++) results.push(c.write(chunk));
        if (Date.now() - t0 < 2000) return;
        clearInterval(iv);
        out.rssGrowthMB = (process.memoryUsage.rss() - rss0) / MiB;
        out.attempts = results.length;
        out.zeros = results.filter((r) => r === 0).length;
        out.negative = results.filter((r) => r < 0).length;
        out.acceptedWhileFull = results.reduce((a, r) => a + Math.max(r, 0), 0);
        out.nonZeroInLastHalf = results.slice(results.length >> 1).filter((r) => r !== 0).length;
        out.drainsBeforeRead = out.drainsWhileFull;
        // Now the peer reads: drain must come.
        reading = true;
        peer.on('data', () => {});
        peer.resume();
        setTimeout(finish, 3000);
      }, 1);
      let done = false;
      function finish() {
        if (done) return;
        done = true;
        console.log(JSON.stringify(out));
        c.terminate();
        server.close();
        process.exit(0);
      }
    });
  `;
  const r = await runChild(code, { timeoutMs: 15000 });
  const out = lastJson(r);
  assert.ok(out.firstShort >= 0 && out.firstShort < MiB, `the kernel came back short (${out.firstShort})`);
  assert.ok(out.attempts >= 1000, `enough attempts were made (${out.attempts})`);
  assert.equal(out.negative, 0, 'write never returned -1 on a live socket');
  // A drain while the peer does not read is legitimate whenever the kernel found room (bytes moving
  // into the peer's receive buffer), so it is not asserted away; what was accepted meanwhile is.
  assert.equal(out.nonZeroInLastHalf, 0, 'write returned 0 while the buffers stayed full');
  assert.ok(out.zeros >= out.attempts - 10, `write returned 0 on nearly every attempt (${out.zeros}/${out.attempts})`);
  assert.ok(out.acceptedWhileFull < 8 * MiB, `no hidden buffering: ${out.acceptedWhileFull} bytes accepted while full`);
  assert.ok(out.rssGrowthMB < 50, `RSS grew by ${out.rssGrowthMB.toFixed(1)} MB over 2 s of refused writes`);
  assert.equal(out.drainAfterRead, true, 'drain fired once the peer read');
  assert.equal(r.code, 0, r.stderr);
});

// ---- the loop thread's read queue is bounded ----------------------------------------------------

test('a slow data handler against a fast 200 MiB sender: server RSS stays bounded, bytes arrive in order (child)', async (t) => {
  const port = await freePort();
  const TOTAL_MIB = 200;
  const child = runChild(
    `
    const crypto = require('node:crypto');
    const { listen } = require(process.env.PKG);
    const MiB = 1 << 20;
    const RATE = 25 * MiB; // what the handler lets through per second
    const busy = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    let first = true;
    global.gc && global.gc();
    const base = process.memoryUsage.rss();
    let maxRss = base;
    const server = listen({ hostname: '127.0.0.1', port: Number(process.env.PORT), socket: {
      data(s, chunk) {
        hash.update(chunk);
        bytes += chunk.length;
        // JS is slow: 200 ms on the first chunk, then ~25 MiB/s.
        busy(first ? 200 : (chunk.length / RATE) * 1000);
        first = false;
        const rss = process.memoryUsage.rss();
        if (rss > maxRss) maxRss = rss;
      },
      end() {
        console.log(JSON.stringify({ bytes, sha: hash.digest('hex'), growthMB: (maxRss - base) / MiB }));
        server.stop(true);
      },
    } });
    // Gives up only when bytes stop coming (a loaded machine just makes the run longer).
    let seen = -1;
    setInterval(() => {
      if (bytes === seen) { console.log('CHILD STALLED at ' + bytes); process.exit(2); }
      seen = bytes;
    }, 10000).unref();
  `,
    { env: { PORT: String(port) }, timeoutMs: 120000 },
  );

  // Connect once the child listens.
  const writer = makeWriter();
  let client;
  const deadline = Date.now() + 5000;
  while (!client) {
    try {
      client = await connect({
        hostname: HOST,
        port,
        socket: {
          data() {},
          drain(s) {
            writer.drain(s);
          },
        },
      });
    } catch (err) {
      if (err.code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
  cleanup(t, () => client.close());

  // 200 blocks of 1 MiB, each stamped with its index so reordering changes the hash.
  const block = crypto.randomBytes(MiB);
  const hash = crypto.createHash('sha256');
  for (let i = 0; i < TOTAL_MIB; i++) {
    const b = Buffer.from(block);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE(i, MiB >> 1);
    hash.update(b);
    await withTimeout(writer.send(client, b), 20000, `sending block ${i}`);
  }
  assert.equal(writer.stats.failed, 0);
  assert.equal(writer.stats.tooMany, 0);
  assert.equal(client.bytesWritten, TOTAL_MIB * MiB);
  client.end();

  const r = await child;
  const out = lastJson(r);
  assert.equal(out.bytes, TOTAL_MIB * MiB, 'every byte arrived');
  assert.equal(out.sha, hash.digest('hex'), 'in order, byte-exact');
  assert.ok(out.growthMB < 150, `server RSS grew by ${out.growthMB.toFixed(1)} MB while its handler lagged`);
  assert.equal(r.timedOut, false);
});

test('a socket streaming flat out does not starve another socket of the same server (senders in a child)', async (t) => {
  // A uploads without pause for 4 s; B, 300 ms later, sends 8 MiB and ends. The data handler is
  // slow (1 ms a chunk), so the loop is always reading more than JS takes: B must still get its
  // share of every batch, not wait for A to finish.
  const t0 = Date.now();
  const got = { A: 0, B: 0 };
  const ended = { A: deferred(), B: deferred() };
  const hash = crypto.createHash('sha256');
  const server = listen({ hostname: HOST, port: 0, socket: {
    data(s, d) {
      if (!s.data) {
        s.data = String.fromCharCode(d[0]);
        d = d.subarray(1);
      }
      got[s.data] += d.length;
      if (s.data === 'B') hash.update(d);
      const until = Date.now() + 1;
      while (Date.now() < until);
    },
    end(s) {
      ended[s.data].resolve(Date.now() - t0);
    },
  } });
  cleanup(t, () => server.stop(true));
  const b = crypto.randomBytes(8 * MiB);
  const child = runChild(`
    const net = require('node:net');
    const port = Number(process.env.PORT);
    const chunk = Buffer.alloc(1 << 20, 97);
    const a = net.connect(port, '127.0.0.1', () => {
      a.write('A');
      const t0 = Date.now();
      const pump = () => { while (Date.now() - t0 < 4000) { if (!a.write(chunk)) return a.once('drain', pump); } a.end(); };
      pump();
    });
    setTimeout(() => {
      const b = net.connect(port, '127.0.0.1', () => { b.write('B'); b.end(require('node:fs').readFileSync(process.env.B)); });
    }, 300);`, { env: { PORT: String(server.port), B: writeTemp(t, b) }, timeoutMs: 60000 });
  const bEnd = await withTimeout(ended.B.promise, 30000, "B's end");
  const aEnd = await withTimeout(ended.A.promise, 30000, "A's end");
  t.diagnostic(`B (8 MiB) ended at ${bEnd} ms, A (${(got.A / MiB).toFixed(0)} MiB) at ${aEnd} ms`);
  assert.equal(got.B, b.length);
  assert.equal(hash.digest('hex'), sha256(b));
  assert.ok(bEnd < aEnd - 1000, `B ended at ${bEnd} ms, A at ${aEnd} ms: B waited for A`);
  await child;
});

test('more sockets streaming flat out than one batch holds: every one of them is read, none starves (senders in a child)', async (t) => {
  // 20 uploaders: a batch holds 1 MiB of each of at most 8 sockets, so the loop holds sockets back
  // every turn. Each must still get its turn: once, the same 8 were read every time and the other
  // 12 never after their first 217 KiB, their senders stuck on a full window.
  const N = 20;
  const got = new Map();
  const server = listen({ hostname: HOST, port: 0, socket: {
    open(s) {
      got.set(s, 0);
    },
    data(s, d) {
      got.set(s, got.get(s) + d.length);
    },
  } });
  cleanup(t, () => server.stop(true));
  const child = runChild(`
    const net = require('node:net');
    const chunk = Buffer.alloc(1 << 20, 97);
    for (let i = 0; i < ${N}; i++) {
      const c = net.connect(Number(process.env.PORT), '127.0.0.1', () => {
        const pump = () => { while (c.write(chunk)); };
        c.on('drain', pump);
        pump();
      });
      c.on('error', () => {});
    }
    setTimeout(() => process.exit(0), 20000).unref();`, { env: { PORT: String(server.port) }, timeoutMs: 30000 });
  // Until the busiest socket has 64 MiB: by then each of the others must have had a fair share
  // (an eighth of that, where the starved ones had a few hundred KiB).
  const deadline = Date.now() + 15000;
  const most = () => Math.max(0, ...got.values());
  while (most() < 64 * MiB && Date.now() < deadline) await sleep(20);
  const counts = [...got.values()].map((n) => (n / MiB).toFixed(1));
  t.diagnostic(`MiB per socket: ${counts.join(', ')}`);
  assert.equal(got.size, N);
  assert.ok(Math.min(...got.values()) >= most() / 8, `every socket gets its turn (MiB per socket: ${counts.join(', ')})`);
  server.stop(true);
  await child;
});

// ---- pause() reaches the sender --------------------------------------------------------------------

test('pause() on a server socket: the client write returns 0 eventually; after resume() all arrives byte-exact', async (t) => {
  const SIZE = 64 * MiB;
  const payload = crypto.randomBytes(SIZE);
  const got = collector();
  let serverSocket;
  let dataWhilePaused = 0;
  let paused = false;
  const opened = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s) {
        serverSocket = s;
        s.pause();
        paused = true;
        opened.resolve();
      },
      data(s, chunk) {
        if (paused) dataWhilePaused += chunk.length;
        got.push(chunk);
      },
    },
  });
  cleanup(t, () => server.stop(true));

  let pos = 0;
  let drains = 0;
  const done = deferred();
  const pump = (s) => {
    while (pos < SIZE) {
      const n = s.write(payload, pos, Math.min(256 * 1024, SIZE - pos));
      if (n < 0) return done.reject(new Error(`write returned ${n}`));
      pos += n;
      if (n === 0) return;
    }
    done.resolve();
  };
  const client = await withTimeout(
    connect({
      hostname: HOST,
      port: server.port,
      socket: {
        data() {},
        drain(s) {
          drains++;
          pump(s);
        },
      },
    }),
    3000,
    'connect',
  );
  cleanup(t, () => client.close());
  await withTimeout(opened.promise, 3000, 'server open');

  // Synchronously write until the kernel takes nothing.
  let zeroAt = -1;
  while (pos < SIZE) {
    const n = client.write(payload, pos, Math.min(256 * 1024, SIZE - pos));
    assert.ok(n >= 0, `write returned ${n}`);
    if (n === 0) {
      zeroAt = pos;
      break;
    }
    pos += n;
  }
  assert.ok(zeroAt > 0 && zeroAt < SIZE, `write returned 0 once the paused server's window closed (at ${zeroAt} of ${SIZE})`);
  await sleep(150);
  assert.equal(dataWhilePaused, 0, 'no data while paused');
  assert.equal(got.length, 0);
  // The kernel may still free a little (segments in flight land in the peer's receive buffer), but
  // nothing like the payload gets through while the server does not read.
  const before = pos;
  pump(client);
  assert.ok(pos - before < 4 * MiB, `${pos - before} more bytes accepted while the server was paused`);
  assert.ok(pos < 24 * MiB, `only the kernel buffers' worth was accepted while paused (${pos})`);

  paused = false;
  serverSocket.resume();
  pump(client); // nothing fits now; drain carries the rest
  await withTimeout(done.promise, 15000, `sending the rest (at ${pos})`);
  await got.waitFor(SIZE, 15000);
  assert.ok(drains >= 1, 'drain fired after resume');
  assert.equal(got.length, SIZE);
  assert.equal(sha256(got.bytes()), sha256(payload), 'byte-exact after resume');
  assert.equal(client.bytesWritten, SIZE);
});

// ---- the same over TLS -------------------------------------------------------------------------------

test('TLS: writes come back short while the peer is paused, drain carries the rest, 32 MiB each way byte-exact', { skip: fixtures() ? false : skipReason() || 'no TLS fixtures' }, async (t) => {
  const fx = fixtures();
  const SIZE = 32 * MiB;
  const toServer = crypto.randomBytes(SIZE);
  const toClient = crypto.randomBytes(SIZE);
  const PAUSE_MS = 300;
  const sides = {
    server: { writer: makeWriter(), got: collector(), drains: 0, resumed: false, socket: null },
    client: { writer: makeWriter(), got: collector(), drains: 0, resumed: false, socket: null },
  };
  const table = (side, payload) => ({
    open(s) {
      const st = sides[side];
      st.socket = s;
      // Do not read for a while: the other side's writes must come back short meanwhile.
      s.pause();
      setTimeout(() => {
        // What the other side got accepted while this one did not read.
        const other = sides[side === 'server' ? 'client' : 'server'];
        st.otherAcceptedWhilePaused = other.socket ? other.socket.bytesWritten : 0;
        st.otherPendingAtResume = other.socket ? other.writer.pending(other.socket) : false;
        st.resumed = true;
        s.resume();
      }, PAUSE_MS);
      st.sent = st.writer.send(s, payload);
      st.sent.catch(() => {});
    },
    data(s, chunk) {
      sides[side].got.push(chunk);
    },
    drain(s) {
      const st = sides[side];
      st.drains++;
      st.writer.drain(s);
    },
  });
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert },
    socket: table('server', toClient),
  });
  cleanup(t, () => server.stop(true));
  const client = await withTimeout(
    connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert }, socket: table('client', toServer) }),
    5000,
    'TLS connect',
  );
  cleanup(t, () => client.close());

  await withTimeout(Promise.all([sides.server.sent, sides.client.sent]), 20000, 'both writers to finish');
  await withTimeout(Promise.all([sides.server.got.waitFor(SIZE, 20000), sides.client.got.waitFor(SIZE, 20000)]), 21000, 'both directions to arrive');
  for (const [name, st] of Object.entries(sides)) {
    assert.ok(st.writer.stats.short >= 1, `${name}: write came back short while the peer was paused`);
    assert.equal(st.writer.stats.failed, 0, `${name}: no write failed`);
    assert.equal(st.writer.stats.tooMany, 0);
    assert.ok(st.drains >= 1, `${name}: drain fired`);
    const peer = sides[name === 'server' ? 'client' : 'server'];
    assert.equal(peer.otherPendingAtResume, true, `${name}: still had bytes waiting for drain when the peer resumed`);
    assert.ok(peer.otherAcceptedWhilePaused < 16 * MiB, `${name}: ${peer.otherAcceptedWhilePaused} bytes accepted while the peer did not read`);
    assert.equal(st.socket.bytesWritten, SIZE, `${name}: bytesWritten`);
  }
  assert.equal(sides.server.got.length, SIZE);
  assert.equal(sides.client.got.length, SIZE);
  assert.equal(sha256(sides.server.got.bytes()), sha256(toServer), 'client → server byte-exact');
  assert.equal(sha256(sides.client.got.bytes()), sha256(toClient), 'server → client byte-exact');
});

// After end() nothing more can be written, so no drain invites it; what the short write left and
// the end() data still all arrive.
// A server that pauses in every data handler and resumes a moment later (as a proxy or a parser
// awaiting something does): bytes arrive during some pauses and not during others, and a resume
// after a pause that saw none must not miss what comes later. Every client's echo is byte-exact.
for (const secure of [false, true]) {
  const name = `pause() in every data, resume() a moment later: 8 ${secure ? 'TLS ' : ''}clients echo 512 KiB each in random pieces byte-exact`;
  test(name, { skip: secure && !fixtures() ? skipReason() || 'no TLS fixtures' : false }, async (t) => {
    const net = require('node:net');
    const tls = require('node:tls');
    const N = 8;
    const SIZE = 512 * 1024;
    const queues = new Map();
    const flush = (s) => {
      const q = queues.get(s);
      while (q.length > 0) {
        const n = s.write(q[0]);
        if (n < 0) return void (q.length = 0);
        if (n < q[0].length) return void (q[0] = q[0].subarray(n));
        q.shift();
      }
    };
    let cycles = 0;
    const fx = secure ? fixtures() : null;
    const server = listen({
      hostname: HOST,
      port: 0,
      tls: secure ? { key: fx.server.key, cert: fx.server.cert } : undefined,
      socket: {
        open(s) {
          queues.set(s, []);
        },
        data(s, chunk) {
          s.pause();
          cycles++;
          const copy = Buffer.from(chunk);
          const later = cycles % 3 === 0 ? (fn) => setTimeout(fn, 1) : setImmediate;
          later(() => {
            queues.get(s).push(copy);
            flush(s);
            s.resume();
          });
        },
        drain: flush,
      },
    });
    t.after(() => server.stop(true));
    const one = (i) =>
      new Promise((resolve, reject) => {
        const payload = crypto.randomBytes(SIZE);
        const got = [];
        let received = 0;
        const c = secure
          ? tls.connect({ host: HOST, port: server.port, ca: fx.ca.cert, servername: 'localhost' })
          : net.connect(server.port, HOST);
        c.on('error', reject);
        c.on('data', (d) => {
          got.push(d);
          received += d.length;
          if (received >= SIZE) {
            c.destroy();
            resolve({ i, sent: sha256(payload), echoed: sha256(Buffer.concat(got)), received });
          }
        });
        c.once(secure ? 'secureConnect' : 'connect', async () => {
          // Random pieces, with a gap now and then, so some arrive while the server is paused and
          // some after it resumed with nothing waiting.
          for (let at = 0; at < SIZE; ) {
            const n = Math.min(SIZE - at, 1 + crypto.randomInt(8192));
            c.write(payload.subarray(at, at + n));
            at += n;
            if (crypto.randomInt(4) === 0) await sleep(crypto.randomInt(2));
          }
        });
      });
    const results = await withTimeout(Promise.all(Array.from({ length: N }, (_, i) => one(i))), 20000, 'every echo');
    for (const r of results) {
      assert.equal(r.received, SIZE, `client ${r.i}: no more than was sent came back`);
      assert.equal(r.echoed, r.sent, `client ${r.i}: echo byte-exact`);
    }
    assert.ok(cycles >= N * 2, `the server paused and resumed many times (${cycles})`);
  });
}

test('a short write, then end(): no drain after end, every byte arrives', async (t) => {
  const net = require('node:net');
  let peer;
  const received = [];
  const done = deferred();
  const server = net.createServer((s) => {
    peer = s;
    s.pause(); // fill the buffers first
    s.on('data', (d) => received.push(d));
    s.on('end', () => done.resolve());
  });
  await new Promise((r) => server.listen(0, HOST, r));
  cleanup(t, () => server.close());
  const events = [];
  const closed = deferred();
  const client = await connect({
    hostname: HOST,
    port: server.address().port,
    socket: {
      data() {},
      drain() {
        events.push('drain');
      },
      close() {
        events.push('close');
        closed.resolve();
      },
    },
  });
  const block = crypto.randomBytes(1 << 20);
  const sent = [];
  for (let i = 0; i < 64; i++) {
    const n = client.write(block);
    sent.push(block.subarray(0, n));
    if (n < block.length) break;
  }
  assert.ok(sent[sent.length - 1].length < block.length, 'a write came back short');
  const tail = Buffer.from('the end');
  assert.equal(client.end(tail), tail.length);
  sent.push(tail);
  await sleep(20);
  peer.resume();
  await withTimeout(done.promise, 10000, 'the peer reads to the end');
  await withTimeout(closed.promise, 5000, 'close');
  assert.equal(sha256(Buffer.concat(received)), sha256(Buffer.concat(sent)), 'every accepted byte and the end() data arrive in order');
  assert.deepEqual(events, ['close'], 'no drain after end()');
});
