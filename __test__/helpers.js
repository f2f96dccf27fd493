'use strict';
// Small shared helpers for the node:test suites.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const HOST = '127.0.0.1';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise with its resolve/reject exposed. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Rejects if `promise` has not settled within `ms`, naming `what`. */
function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `pred()` is true (polled every 5 ms); rejects after `ms`, naming `what`. */
function until(pred, ms = 3000, what = 'condition') {
  let stop = false;
  const poll = (async () => {
    while (!stop && !pred()) await sleep(5);
  })();
  return withTimeout(poll, ms, what).finally(() => {
    stop = true;
  });
}

function sha256(...chunks) {
  const h = crypto.createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/**
 * Runs `code` (CommonJS) in a child `node` with the package requireable as `node-bun-tcp`'s root
 * (use `require(process.env.PKG)`). Resolves `{ code, signal, stdout, stderr, ms }`; kills the
 * child after `timeoutMs` and reports `timedOut: true`.
 */
function runChild(code, { timeoutMs = 10000, args = [], env = {}, aliveAfter = null } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...args, '-e', code], {
      env: { ...process.env, PKG: ROOT, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const kill = () => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    // `aliveAfter: { match, ms }`: once stdout matches, the child has `ms` more to exit before it
    // is killed (timedOut), however long a loaded machine took to get it there.
    let grace = null;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (aliveAfter && !grace && aliveAfter.match.test(stdout)) grace = setTimeout(kill, aliveAfter.ms);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(kill, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/**
 * Source text to put before a child script's code (see `runChild`, `childResult`): strict mode, the
 * package's `listen`/`connect`, `fs`, `crypto`, HOST, and small helpers: sleep, fds() (open file
 * descriptors), rssMb(), withTimeout(p, ms, what), until(pred, ms, what) and result(obj), which
 * prints the `RESULT <json>` line `childResult` returns.
 */
const CHILD_PRELUDE = `
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const { listen, connect } = require(process.env.PKG);
const HOST = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fds = () => fs.readdirSync('/proc/self/fd').length;
const rssMb = () => process.memoryUsage().rss / 1048576;
function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(what + ' timed out after ' + ms + ' ms')), ms); })]).finally(() => clearTimeout(t));
}
async function until(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(what + ' not reached within ' + ms + ' ms');
    await sleep(5);
  }
}
function result(obj) { console.log('RESULT ' + JSON.stringify(obj)); }
`;

/**
 * Source text of `echoTable(extra)` for child scripts (after CHILD_PRELUDE): an echo handler table
 * with backpressure, what the kernel does not take now is queued and re-sent on drain; `extra`'s
 * open/data/close/error handlers run too, and `s.data.closes` counts closes.
 */
const CHILD_ECHO_TABLE = `/** Echo with backpressure: what the kernel does not take now is queued and re-sent on drain. */
function echoTable(extra = {}) {
  const flush = (s) => {
    const q = s.data.q;
    while (q.length) {
      const n = s.write(q[0]);
      if (n < 0) { q.length = 0; return; }
      if (n < q[0].length) { q[0] = q[0].subarray(n); return; }
      q.shift();
    }
  };
  return {
    open(s) { s.data = { q: [], closes: 0 }; if (extra.open) extra.open(s); },
    data(s, d) {
      if (s.data.q.length) s.data.q.push(d);
      else { s.data.q.push(d); flush(s); }
      if (extra.data) extra.data(s, d);
    },
    drain: flush,
    close(s, err) { s.data.closes++; if (extra.close) extra.close(s, err); },
    error(s, err) { if (extra.error) extra.error(s, err); },
  };
}

`;

/**
 * Runs `code` in a child (`runChild`), passes its `INFO ...` lines on as diagnostics of `t`, asserts
 * that it exited 0 in time and printed a `RESULT <json>` line, and returns that JSON parsed.
 */
async function childResult(t, code, { timeoutMs, args = [], env = {} } = {}) {
  const out = await runChild(code, { timeoutMs, args, env });
  const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  for (const l of out.stdout.split('\n')) if (l.startsWith('INFO ')) t.diagnostic(l.slice(5));
  const detail = `code=${out.code} signal=${out.signal} timedOut=${out.timedOut} ms=${out.ms}\nstdout:\n${out.stdout.slice(-3000)}\nstderr:\n${out.stderr.slice(-3000)}`;
  assert.ok(!out.timedOut, `child timed out after ${timeoutMs} ms\n${detail}`);
  assert.equal(out.code, 0, `child failed\n${detail}`);
  assert.ok(line, `child printed no RESULT\n${detail}`);
  return JSON.parse(line.slice(7));
}

// ---- socket helpers --------------------------------------------------------------------------

/**
 * Teardown for one test: runs the closers (errors ignored), then lets late events drain so they
 * cannot reach the next test's sockets.
 */
function cleanup(t, ...closers) {
  t.after(async () => {
    for (const close of closers) {
      try {
        close();
      } catch {}
    }
    await sleep(30);
  });
}

/** Copies any received chunk (Buffer, Uint8Array, ArrayBuffer) into a Buffer. */
function toBuffer(chunk) {
  if (chunk instanceof ArrayBuffer) return Buffer.from(new Uint8Array(chunk));
  return Buffer.from(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
}

/** Accumulates bytes; `waitFor(n)` resolves once at least n bytes arrived, `waitForText(s)` once s was seen. */
function collector() {
  const chunks = [];
  let length = 0;
  let waiters = [];
  const check = () => {
    waiters = waiters.filter((w) => {
      if (w.test()) {
        w.resolve();
        return false;
      }
      return true;
    });
  };
  const self = {
    push(chunk) {
      const b = toBuffer(chunk);
      chunks.push(b);
      length += b.length;
      check();
    },
    get length() {
      return length;
    },
    bytes() {
      return Buffer.concat(chunks);
    },
    text() {
      return Buffer.concat(chunks).toString('utf8');
    },
    waitFor(n, ms = 5000, what = `${n} bytes`) {
      if (length >= n) return Promise.resolve();
      return self._wait(() => length >= n, ms, () => `waiting for ${what} (have ${length})`);
    },
    waitForText(str, ms = 5000, what = JSON.stringify(str)) {
      const test = () => self.text().includes(str);
      if (test()) return Promise.resolve();
      return self._wait(test, ms, () => `waiting for ${what} (have ${JSON.stringify(self.text().slice(-200))})`);
    },
    _wait(test, ms, describe) {
      let resolve;
      const p = new Promise((r) => (resolve = r));
      waiters.push({ test, resolve });
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${describe()} timed out after ${ms} ms`)), ms);
      });
      return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
    },
  };
  return self;
}

/**
 * A writer that honours `write`'s return value: `send(s, buf)` queues `buf` for socket `s` and writes
 * what the socket takes; the rest goes out from `drain(s)` (wire it into the table's `drain`).
 * `send` resolves once every byte was accepted. `stats` counts calls, short writes and anomalies.
 */
function makeWriter() {
  const queues = new Map();
  const stats = { calls: 0, short: 0, accepted: 0, tooMany: 0, failed: 0 };
  function flush(s) {
    const q = queues.get(s);
    if (!q) return;
    while (q.items.length > 0) {
      const b = q.items[0];
      const n = s.write(b);
      stats.calls++;
      if (n < 0) {
        stats.failed++;
        queues.delete(s);
        q.reject(new Error(`write() returned ${n} with ${q.items.reduce((a, x) => a + x.length, 0)} bytes unsent`));
        return;
      }
      if (n > b.length) stats.tooMany++;
      stats.accepted += Math.min(n, b.length);
      if (n < b.length) {
        stats.short++;
        q.items[0] = b.subarray(n);
        return; // the rest goes from drain
      }
      q.items.shift();
    }
    queues.delete(s);
    q.resolve();
  }
  return {
    stats,
    send(s, buf) {
      let q = queues.get(s);
      if (!q) {
        let resolve;
        let reject;
        const done = new Promise((res, rej) => {
          resolve = res;
          reject = rej;
        });
        done.catch(() => {});
        q = { items: [], resolve, reject, done };
        queues.set(s, q);
      }
      q.items.push(Buffer.isBuffer(buf) ? buf : Buffer.from(buf));
      const { done } = q;
      if (q.items.length === 1) flush(s);
      return done;
    },
    drain(s) {
      flush(s);
    },
    pending(s) {
      return queues.has(s);
    },
    forget(s) {
      queues.delete(s);
    },
  };
}

/** A handler table that echoes every byte back with backpressure; `extra` handlers are merged in (and called after the echo's own). */
function echoTable(extra = {}) {
  const w = makeWriter();
  const table = {
    ...extra,
    data(s, chunk) {
      w.send(s, toBuffer(chunk)).catch(() => {});
      if (extra.data) return extra.data.call(s, s, chunk);
    },
    drain(s) {
      w.drain(s);
      if (extra.drain) return extra.drain.call(s, s);
    },
    close(s, err) {
      w.forget(s);
      if (extra.close) return extra.close.call(s, s, err);
    },
  };
  Object.defineProperty(table, 'writer', { value: w, enumerable: false });
  return table;
}

/** Listens on a free port; returns a `node:net` free port number (closed again) for tools that need one. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// serve/dial/closedPort require the addon when first called, so suites that only run children
// (load, workers, package) do not load it into the test runner's process.

/** A listener on 127.0.0.1:0, stopped (closing its sockets) after the test. */
function serve(t, socket, opts = {}) {
  const { listen } = require('..');
  const server = listen({ hostname: HOST, port: 0, socket, ...opts });
  t.after(() => server.stop(true));
  return server;
}

/** A connected client, closed after the test. */
async function dial(t, port, socket, opts = {}) {
  const { connect } = require('..');
  const c = await withTimeout(connect({ hostname: HOST, port, socket, ...opts }), 3000, 'connect');
  t.after(() => c.close());
  return c;
}

/** A port nothing listens on (bound and released just now). */
function closedPort() {
  const { listen } = require('..');
  const l = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

module.exports = {
  ROOT,
  HOST,
  sleep,
  deferred,
  withTimeout,
  until,
  sha256,
  runChild,
  CHILD_PRELUDE,
  CHILD_ECHO_TABLE,
  childResult,
  cleanup,
  toBuffer,
  collector,
  makeWriter,
  echoTable,
  freePort,
  serve,
  dial,
  closedPort,
};
