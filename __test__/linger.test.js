'use strict';
// After a batch, JS keeps the baton and, when Node's event loop is about to sleep, waits a moment
// for the next event itself (src/reactor/linger.rs, src/host_loop.rs), rather than have the loop
// thread wake it. A request written from a promise continuation (after the handler returned,
// once microtasks ran) is then answered without the loop thread: in a ping-pong, most replies
// reach JS without a loop-thread notification. Nothing else may wait for it: timers keep their
// time, and a process with nothing ref'd still exits.
const test = require('node:test');
const assert = require('node:assert/strict');
const { childResult, CHILD_PRELUDE, runChild } = require('./helpers');

test('awaited request/response round trips are taken by the lingering JS thread, byte-exact', async (t) => {
  const out = await childResult(t, CHILD_PRELUDE + `
const binding = require(process.env.PKG + '/lib/binding.js');
(async () => {
  const server = listen({ hostname: HOST, port: 0, socket: { data(s, c) { s.write(c); } } });
  let resolve;
  const client = await connect({ hostname: HOST, port: server.port, socket: { data(s, c) { resolve(Buffer.from(c)); } } });
  const N = 2000;
  const sent = crypto.createHash('sha256'), got = crypto.createHash('sha256');
  // Warm up, then count the loop thread's notifications over N awaited round trips.
  for (let i = 0; i < 50; i++) { const p = new Promise((r) => (resolve = r)); client.write('w' + i); await p; }
  const before = binding.notifications();
  for (let i = 0; i < N; i++) {
    const msg = 'request ' + i + ' ' + 'x'.repeat(i % 97);
    sent.update(msg);
    const reply = new Promise((r) => (resolve = r));
    client.write(msg); // from the continuation of the previous await
    got.update(await reply);
  }
  const notifications = binding.notifications() - before;
  client.close();
  server.stop(true);
  result({ N, notifications, same: sent.digest('hex') === got.digest('hex') });
})().catch((e) => { console.error(e); process.exit(1); });
`, { timeoutMs: 30000 });
  t.diagnostic(`${out.notifications} loop-thread notifications for ${out.N} round trips`);
  assert.ok(out.same, 'every reply matches its request');
  // Without the linger every round trip costs at least one (the reply, after JS handed back).
  assert.ok(out.notifications < out.N / 4, `${out.notifications} notifications for ${out.N} round trips`);
});

test('timers and immediates keep running during a non-stop ping-pong that JS keeps taking itself', async (t) => {
  const out = await childResult(t, CHILD_PRELUDE + `
(async () => {
  const server = listen({ hostname: HOST, port: 0, socket: { data(s, c) { s.write(c); } } });
  let resolve;
  const client = await connect({ hostname: HOST, port: server.port, socket: { data(s, c) { resolve(c); } } });
  let ticks = 0, immediates = 0, trips = 0, running = true;
  // The longest wait between interval ticks, and between round trips: a loaded machine stretches
  // both alike, while timers starved by the ping-pong would wait far longer than the trips.
  let lastTick = performance.now(), tickGap = 0, lastTrip = lastTick, tripGap = 0;
  const interval = setInterval(() => {
    const now = performance.now();
    tickGap = Math.max(tickGap, now - lastTick);
    lastTick = now;
    ticks++;
  }, 5);
  const spin = () => { immediates++; if (running) setImmediate(spin); };
  setTimeout(() => { running = false; }, 300);
  const started = performance.now();
  setImmediate(spin);
  while (running) {
    const p = new Promise((r) => (resolve = r));
    client.write('x');
    await p;
    trips++;
    const now = performance.now();
    tripGap = Math.max(tripGap, now - lastTrip);
    lastTrip = now;
  }
  const ms = performance.now() - started;
  clearInterval(interval);
  client.close();
  server.stop(true);
  result({ ticks, immediates, trips, ms, tickGap, tripGap });
})().catch((e) => { console.error(e); process.exit(1); });
`, { timeoutMs: 15000 });
  t.diagnostic(`${out.trips} round trips, ${out.ticks} interval ticks (longest gap ${out.tickGap.toFixed(0)} ms, trips' ${out.tripGap.toFixed(0)} ms), ${out.immediates} immediates in ${out.ms.toFixed(0)} ms`);
  assert.ok(out.ms < 1000, `the 300 ms timer ended the loop after ${out.ms.toFixed(0)} ms`);
  assert.ok(out.ticks >= 2, `a 5 ms interval ticked ${out.ticks} times in ${out.ms.toFixed(0)} ms`);
  assert.ok(out.tickGap <= out.tripGap + 25, `the interval waited up to ${out.tickGap.toFixed(0)} ms while round trips went on (longest gap between them ${out.tripGap.toFixed(0)} ms)`);
  assert.ok(out.immediates * 4 >= out.trips, `${out.immediates} immediates for ${out.trips} round trips: JS took its events ahead of Node's own work`);
  assert.ok(out.trips >= 100, `${out.trips} round trips`);
});

test('while a socket sits idle with JS lingering, timers keep their time and an unref\'d process exits', async (t) => {
  const out = await childResult(t, CHILD_PRELUDE + `
(async () => {
  let accepted;
  const server = listen({ hostname: HOST, port: 0, socket: { open(s) { accepted = s; }, data(s, c) { s.write(c); } } });
  let replies = 0;
  const client = await connect({ hostname: HOST, port: server.port, socket: { data() { replies++; } } });
  // One exchange, then silence: JS lingers after it and must not hold Node's timers up.
  client.write('one');
  const lateness = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    lateness.push(performance.now() - t0 - 5);
  }
  lateness.sort((a, b) => a - b);
  result({ replies, median: lateness[10], max: lateness[19] });
  // Nothing ref'd is left (both ends of the connection, and the listener): the process must exit
  // by itself.
  client.unref();
  accepted.unref();
  server.unref();
})().catch((e) => { console.error(e); process.exit(1); });
`, { timeoutMs: 15000 });
  assert.equal(out.replies, 1);
  assert.ok(out.median < 20, `5 ms timers ran ${out.median.toFixed(2)} ms late (median)`);
});

test('after a burst, traffic with gaps does not keep JS lingering (event loop utilization stays low)', async (t) => {
  // Eight waits in a row answered quickly let the next one last longer (LINGER_BUSY), for streams
  // and busy ping-pongs. Node counts a linger as busy time, so requests a few ms apart after a
  // burst must fall back to the short wait, not be waited for from one to the next.
  const out = await childResult(t, CHILD_PRELUDE + `
const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
let start = null, sparse = 0;
const server = listen({ hostname: HOST, port: 0, socket: {
  data(s, c) {
    s.write(c);
    if (c[c.length - 1] !== 0x73) return; // 's': the sparse phase
    sparse++;
    if (sparse === 20) start = performance.eventLoopUtilization();
    if (sparse === 220) {
      const elu = performance.eventLoopUtilization(start).utilization;
      result({ elu, sparse });
      s.close();
      server.stop(true);
    }
  },
} });
// The peer, in its own process: 2000 back-to-back round trips, then a byte every 3 ms.
const peer = spawn(process.execPath, ['-e', \`
  const s = require('node:net').connect(\${server.port}, '\${HOST}', () => {
    s.setNoDelay(true);
    let burst = 2000;
    s.on('data', () => {
      if (--burst > 0) return s.write('p');
      if (burst === 0) setInterval(() => s.write('s'), 3).unref();
    });
    s.write('p');
  });
  s.on('error', () => {});
  s.on('close', () => process.exit(0));
\`], { stdio: 'inherit' });
peer.on('exit', () => {});
`, { timeoutMs: 30000 });
  t.diagnostic(`event loop utilization over ${out.sparse - 20} requests 3 ms apart: ${out.elu.toFixed(3)}`);
  // Waiting out each 3 ms gap would make it about 1; a short wait and the handling, about 0.2.
  assert.ok(out.elu < 0.6, `event loop utilization ${out.elu.toFixed(3)}`);
});

test('a worker that lingered exits cleanly (its prepare handle is closed at teardown)', async () => {
  const child = await runChild(`
const { Worker } = require('node:worker_threads');
const code = \`
  const { listen, connect } = require(process.env.PKG);
  const { parentPort } = require('node:worker_threads');
  (async () => {
    const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, c) { s.write(c); } } });
    let resolve;
    const client = await connect({ hostname: '127.0.0.1', port: server.port, socket: { data(s, c) { resolve(String(c)); } } });
    let ok = 0;
    for (let i = 0; i < 200; i++) { const p = new Promise((r) => (resolve = r)); client.write('m' + i); if (await p === 'm' + i) ok++; }
    parentPort.postMessage(ok);
    if (process.env.MODE === 'open') return; // terminated with the sockets open
    client.close(); server.stop(true);
  })();
\`;
(async () => {
  for (const mode of ['closed', 'open']) {
    const w = new Worker(code, { eval: true, env: { ...process.env, MODE: mode } });
    const ok = await new Promise((r) => w.once('message', r));
    const exit = mode === 'open' ? await w.terminate() : await new Promise((r) => w.once('exit', r));
    console.log(JSON.stringify({ mode, ok, exit }));
  }
})();
`, { timeoutMs: 20000 });
  assert.equal(child.code, 0, child.stderr);
  const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.mode, l.ok]), [['closed', 200], ['open', 200]]);
  assert.equal(lines[0].exit, 0);
});
