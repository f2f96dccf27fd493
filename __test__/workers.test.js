'use strict';
// The addon in worker_threads (SPEC.md: each environment its own listeners and sockets): several
// workers listening and connecting at once, worker.terminate() while traffic flows, and the addon
// loaded by 50 workers in turn. Each scenario runs in a child process whose main thread plays "the
// main thread", so a crash on teardown is reported instead of taking the test runner down, and the
// fd/RSS figures are the child's alone.
const test = require('node:test');
const assert = require('node:assert/strict');
const { CHILD_PRELUDE, CHILD_ECHO_TABLE, childResult } = require('./helpers');

/** Helpers shared by the child's main thread and its workers, as source text. */
const COMMON = `${CHILD_PRELUDE}const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
${CHILD_ECHO_TABLE}/** Connects to port, sends payload (honouring drain), resolves true if it is echoed byte-exact. */
async function echoOnce(port, payload, ms = 5000) {
  let done; const finished = new Promise((r) => (done = r));
  const chunks = []; let got = 0, off = 0;
  const s = await withTimeout(connect({ hostname: HOST, port, socket: {
    data(s, d) { chunks.push(d); got += d.length; if (got >= payload.length) done(); },
    drain(s) { pump(s); },
    close() { done(); },
  } }), ms, 'connect');
  function pump(s) { while (off < payload.length) { const n = s.write(payload, off); if (n <= 0) return; off += n; } }
  pump(s);
  await withTimeout(finished, ms, 'echo of ' + payload.length + ' bytes');
  s.close();
  const got1 = Buffer.concat(chunks);
  return got1.length === payload.length && got1.equals(payload);
}
`;

function child(t, body, timeoutMs, args = []) {
  return childResult(t, COMMON + body, { timeoutMs, args, env: { WORKER_COMMON: COMMON } });
}

test('4 workers at once, each listening and connecting (echo byte-exact), all exit cleanly; main thread fine afterwards', async (t) => {
  const body = `
const { Worker } = require('node:worker_threads');
const workerCode = process.env.WORKER_COMMON + \`
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const server = listen({ hostname: HOST, port: 0, socket: echoTable() });
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) => {
    const payload = crypto.createHash('sha256').update('w' + workerData.id + '-' + i).digest();
    return echoOnce(server.port, Buffer.concat(Array.from({ length: 8192 }, () => payload)), 15000); // 256 KiB
  }));
  server.stop(true);
  parentPort.postMessage({ id: workerData.id, ok: results.filter(Boolean).length });
  // Nothing else: the worker must end by itself once its sockets and listener are closed.
})().catch((e) => { parentPort.postMessage({ id: workerData.id, error: String(e && e.stack || e) }); });
\`;
(async () => {
  const main = listen({ hostname: HOST, port: 0, socket: echoTable() });
  const before = await echoOnce(main.port, crypto.randomBytes(65536));
  const messages = [];
  const exits = await withTimeout(Promise.all([0, 1, 2, 3].map((id) => new Promise((resolve) => {
    const w = new Worker(workerCode, { eval: true, workerData: { id } });
    w.on('message', (m) => messages.push(m));
    w.on('error', (e) => messages.push({ id, error: String(e && e.stack || e) }));
    w.on('exit', (code) => resolve(code));
  }))), 30000, 'workers exiting');
  const after = await echoOnce(main.port, crypto.randomBytes(1 << 20));
  main.stop(true);
  result({ before, after, exits, messages });
})().catch((e) => { console.error(e); process.exit(1); });
`;
  const r = await child(t, body, 45000);
  t.diagnostic(`worker exits: ${JSON.stringify(r.exits)}; results: ${JSON.stringify(r.messages)}`);
  assert.equal(r.before, true);
  assert.deepEqual(r.exits, [0, 0, 0, 0], 'worker exit codes');
  assert.equal(r.messages.length, 4, JSON.stringify(r.messages));
  for (const m of r.messages) {
    assert.equal(m.error, undefined, `worker ${m.id}: ${m.error}`);
    assert.equal(m.ok, 16, `worker ${m.id}: byte-exact echoes`);
  }
  assert.equal(r.after, true, 'main thread echo after the workers');
});

test('worker.terminate() while sockets are open and traffic flows both ways: main healthy, its sockets close once, no fd leak', async (t) => {
  const body = `
const { Worker } = require('node:worker_threads');
const ROUNDS = 5;
/** Streams forever: writes 64 KiB chunks while the kernel takes them, resumes on drain. */
function streamer(stats) {
  const chunk = crypto.randomBytes(65536);
  const pump = (s) => { while (s.readyState === 1) { const n = s.write(chunk); if (n > 0) stats.sent += n; if (n < chunk.length) return; } };
  return { pump, table: {
    open(s) { s.data = { closes: 0, got: 0, err: undefined }; pump(s); },
    data(s, d) { s.data.got += d.length; stats.got += d.length; },
    drain: pump,
    close(s, err) { s.data.closes++; s.data.err = err && err.code; stats.closes++; },
    error() {},
  } };
}
const workerCode = process.env.WORKER_COMMON + \`
const { parentPort, workerData } = require('node:worker_threads');
const stats = { sent: 0, got: 0, closes: 0 };
\` + streamer.toString() + \`
const { table } = streamer(stats);
const server = listen({ hostname: HOST, port: 0, socket: table });
connect({ hostname: HOST, port: workerData.mainPort, socket: table })
  .then(() => parentPort.postMessage({ port: server.port }));
\`;
(async () => {
  const mainStats = { sent: 0, got: 0, closes: 0 };
  const { table } = streamer(mainStats);
  const accepted = [];
  const main = listen({ hostname: HOST, port: 0, socket: { ...table, open(s) { accepted.push(s); table.open(s); } } });
  const echoServer = listen({ hostname: HOST, port: 0, socket: echoTable() });
  const base = fds();
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const w = new Worker(workerCode, { eval: true, workerData: { mainPort: main.port } });
    let workerError = null;
    w.on('error', (e) => (workerError = String(e && e.stack || e)));
    const exited = new Promise((r) => w.on('exit', r));
    const msg = await withTimeout(new Promise((r) => w.once('message', r)), 10000, 'worker ready');
    await until(() => accepted.length === round + 1, 5000, 'accepting the worker');
    const fromWorker = accepted[round];
    const toWorker = await withTimeout(connect({ hostname: HOST, port: msg.port, socket: table }), 5000, 'connect to worker');
    // Traffic flows both ways on both connections before the worker is terminated.
    await withTimeout(until(() => fromWorker.data.got > (4 << 20) && toWorker.data.got > (4 << 20), 10000, 'traffic'), 11000, 'traffic');
    const peak = fds();
    const code = await withTimeout(w.terminate(), 10000, 'terminate');
    await withTimeout(exited, 5000, 'worker exit');
    let closedOk = true;
    try { await until(() => fromWorker.data.closes > 0 && toWorker.data.closes > 0, 5000, 'main sockets to the worker closing'); } catch { closedOk = false; }
    // Fresh traffic in the main thread.
    const echo = await echoOnce(echoServer.port, crypto.randomBytes(1 << 20)).catch((e) => String(e));
    // Give the teardown a few seconds to release what it holds.
    let settled = true;
    try { await until(() => fds() <= base + 10, 3000, 'fds back'); } catch { settled = false; }
    rounds.push({ round, code, workerError, peak, after: fds(), closedOk, settled, echo,
      closes: [fromWorker.data.closes, toWorker.data.closes], errs: [fromWorker.data.err, toWorker.data.err],
      got: [fromWorker.data.got, toWorker.data.got] });
    console.log('INFO round ' + round + ': worker exit ' + code + ', fds before ' + base + ' peak ' + peak + ' after ' + fds() + ', close counts ' + fromWorker.data.closes + '/' + toWorker.data.closes + ' (' + fromWorker.data.err + '/' + toWorker.data.err + '), echo ' + echo);
  }
  await sleep(200);
  const final = fds();
  main.stop(true);
  echoServer.stop(true);
  result({ base, final, rounds });
})().catch((e) => { console.error(e); process.exit(1); });
`;
  const r = await child(t, body, 60000);
  t.diagnostic(`fds: base ${r.base}, final ${r.final}`);
  for (const x of r.rounds) {
    assert.equal(x.workerError, null, `round ${x.round}: worker error ${x.workerError}`);
    assert.equal(x.echo, true, `round ${x.round}: main-thread echo after terminate: ${x.echo}`);
    assert.ok(x.closedOk, `round ${x.round}: main's sockets to the terminated worker never closed (${JSON.stringify(x.closes)})`);
    assert.deepEqual(x.closes, [1, 1], `round ${x.round}: close counts`);
  }
  assert.ok(r.final <= r.base + 10, `fd leak: ${r.base} before, ${r.final} after ${r.rounds.length} terminated workers`);
});

test('the addon loads in 50 workers in turn (listen, connect, echo, exit): main RSS and fds stay bounded', async (t) => {
  const body = `
const { Worker } = require('node:worker_threads');
const N = 50, WARM = 5;
const workerCode = process.env.WORKER_COMMON + \`
const { parentPort } = require('node:worker_threads');
(async () => {
  const server = listen({ hostname: HOST, port: 0, socket: echoTable() });
  const ok = await echoOnce(server.port, crypto.randomBytes(128 * 1024));
  server.stop(true);
  parentPort.postMessage({ ok });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
\`;
(async () => {
  const main = listen({ hostname: HOST, port: 0, socket: echoTable() });
  let failures = [], exits = [], warm = null;
  const t0 = Date.now();
  for (let i = 1; i <= N; i++) {
    const w = new Worker(workerCode, { eval: true });
    let msg = null;
    w.on('message', (m) => (msg = m));
    w.on('error', (e) => (msg = { error: String(e && e.stack || e) }));
    const code = await withTimeout(new Promise((r) => w.on('exit', r)), 10000, 'worker ' + i + ' exit');
    exits.push(code);
    if (!msg || !msg.ok) failures.push({ i, code, msg });
    if (i === WARM || i % 10 === 0) {
      for (let k = 0; k < 3; k++) { global.gc(); await sleep(30); }
      const m = { i, fds: fds(), rss: rssMb() };
      if (i === WARM) warm = m;
      console.log('INFO after ' + i + ' workers: fds ' + m.fds + ', rss ' + m.rss.toFixed(1) + ' MB');
    }
  }
  await sleep(200);
  for (let k = 0; k < 3; k++) { global.gc(); await sleep(30); }
  const end = { fds: fds(), rss: rssMb() };
  const echo = await echoOnce(main.port, crypto.randomBytes(1 << 20));
  main.stop(true);
  result({ ms: Date.now() - t0, warm, end, failures, nonZero: exits.filter((c) => c !== 0).length, echo });
})().catch((e) => { console.error(e); process.exit(1); });
`;
  const r = await child(t, body, 60000, ['--expose-gc']);
  t.diagnostic(`50 workers in ${r.ms} ms; after ${5}: fds ${r.warm.fds} rss ${r.warm.rss.toFixed(1)} MB; after 50: fds ${r.end.fds} rss ${r.end.rss.toFixed(1)} MB`);
  assert.deepEqual(r.failures, []);
  assert.equal(r.nonZero, 0, 'workers exiting non-zero');
  assert.equal(r.echo, true, 'main-thread echo afterwards');
  assert.ok(r.end.fds <= r.warm.fds + 10, `fds grew: ${r.warm.fds} -> ${r.end.fds}`);
  assert.ok(r.end.rss <= r.warm.rss + 60, `RSS grew: ${r.warm.rss.toFixed(1)} -> ${r.end.rss.toFixed(1)} MB`);
});
