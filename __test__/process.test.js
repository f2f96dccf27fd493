'use strict';
// Process lifetime (ref/unref of listeners and sockets), worker_threads and ESM, each run in a
// child process so a hang or crash shows up as an exit code or a timeout.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { listen } = require('..');
const { ROOT, runChild } = require('./helpers');

/** Prints the child's output when an assertion about it fails. */
function explain(r) {
  return `code=${r.code} signal=${r.signal} timedOut=${r.timedOut} ms=${r.ms}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function assertCleanExit(r, { maxMs = 4000 } = {}) {
  assert.equal(r.timedOut, false, `child did not exit by itself\n${explain(r)}`);
  assert.equal(r.code, 0, explain(r));
  assert.ok(r.ms < maxMs, `child took ${r.ms} ms\n${explain(r)}`);
}

// An echo client used by several children: connects, sends `msg`, resolves with the echo, ends.
const ECHO_CLIENT = `
function echoClient(target, msg) {
  return new Promise((resolve, reject) => {
    let got = '';
    connect({
      ...target,
      socket: {
        data(s, d) {
          got += d;
          if (got.length >= msg.length) { s.end(); resolve(got); }
        },
        error(s, e) { reject(e); },
      },
    }).then((s) => s.write(msg), reject);
  });
}
`;

test('a ref\'d listening server alone keeps the process alive', async () => {
  const r = await runChild(
    `const { listen } = require(process.env.PKG);
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
     console.log('listening', l.port);`,
    { timeoutMs: 20000, aliveAfter: { match: /listening \d+/, ms: 1000 } },
  );
  assert.match(r.stdout, /listening \d+/, explain(r));
  assert.equal(r.timedOut, true, `process exited although a server was listening\n${explain(r)}`);
});

test('an unref()ed server does not keep the process alive', async () => {
  const r = await runChild(
    `const { listen } = require(process.env.PKG);
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
     l.unref();
     l.unref(); // idempotent
     console.log('listening', l.port);`,
    { timeoutMs: 5000 },
  );
  assertCleanExit(r, { maxMs: 3000 });
  assert.match(r.stdout, /listening \d+/);
});

test('unref() then ref() keeps it alive again', async () => {
  const r = await runChild(
    `const { listen } = require(process.env.PKG);
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
     l.unref(); l.ref(); l.ref();
     console.log('listening');`,
    { timeoutMs: 20000, aliveAfter: { match: /listening/, ms: 1000 } },
  );
  assert.match(r.stdout, /listening/, explain(r));
  assert.equal(r.timedOut, true, explain(r));
});

test('listen, connect, echo, close everything: the process exits by itself', async () => {
  const r = await runChild(
    `const { listen, connect } = require(process.env.PKG);
     ${ECHO_CLIENT}
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
     (async () => {
       const a = await echoClient({ hostname: '127.0.0.1', port: l.port }, 'hello');
       // A second client closed with close() instead of end().
       let s2;
       const b = await new Promise((resolve) => {
         connect({ hostname: '127.0.0.1', port: l.port, socket: { data(s, d) { resolve(String(d)); } } })
           .then((s) => { s2 = s; s.write('again'); });
       });
       s2.close();
       l.stop();
       console.log('echo', a, b);
     })().catch((e) => { console.error(e); process.exit(1); });`,
    { timeoutMs: 8000 },
  );
  assertCleanExit(r);
  assert.match(r.stdout, /echo hello again/);
});

test('stop(true) with open accepted sockets lets the process exit', async () => {
  const r = await runChild(
    `const { listen, connect } = require(process.env.PKG);
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
     let closes = 0;
     connect({ hostname: '127.0.0.1', port: l.port, socket: { data() {}, close() { closes++; console.log('client closed'); } } })
       .then((s) => { s.write('x'); setTimeout(() => l.stop(true), 50); });`,
    { timeoutMs: 8000 },
  );
  assertCleanExit(r);
  assert.match(r.stdout, /client closed/);
});

test('an open client socket keeps the process alive; after unref() it exits', async (t) => {
  // The server lives in this (test) process, so only the child's client socket is in question.
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
  t.after(() => server.stop(true));
  const code = (unref) => `
     const { connect } = require(process.env.PKG);
     connect({ hostname: '127.0.0.1', port: Number(process.env.PORT), socket: { data(s, d) { console.log('echo', String(d)); ${unref ? 's.unref(); s.unref();' : ''} } } })
       .then((s) => s.write('ping'));`;
  const [kept, released] = await Promise.all([
    runChild(code(false), { timeoutMs: 20000, aliveAfter: { match: /echo ping/, ms: 1000 }, env: { PORT: String(server.port) } }),
    runChild(code(true), { timeoutMs: 5000, env: { PORT: String(server.port) } }),
  ]);
  assert.match(kept.stdout, /echo ping/, explain(kept));
  assert.equal(kept.timedOut, true, `an open, ref'd client socket must keep the process alive\n${explain(kept)}`);
  assert.match(released.stdout, /echo ping/, explain(released));
  assertCleanExit(released, { maxMs: 3000 });
});

test("a TLS client unref()ed in open (handshake handler) does not keep the process alive while its hello waits for an answer", async (t) => {
  // A server that accepts and never answers: the handshake never ends. Bun's process exits at once.
  const silent = require('node:net').createServer(() => {});
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  const r = await runChild(
    `const { connect } = require(process.env.PKG);
     connect({ hostname: '127.0.0.1', port: Number(process.env.PORT), tls: { serverName: 'localhost' },
       socket: { open(s) { s.unref(); console.log('open'); }, handshake() {}, data() {} } });`,
    { timeoutMs: 5000, env: { PORT: String(silent.address().port) } },
  );
  assert.match(r.stdout, /open/, explain(r));
  assertCleanExit(r, { maxMs: 3000 });
});

test('an unref()ed listener does not unref its accepted sockets', async () => {
  const r = await runChild(
    `const { listen, connect } = require(process.env.PKG);
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { open() { console.log('accepted'); }, data() {} } });
     l.unref();
     connect({ hostname: '127.0.0.1', port: l.port, socket: { data() {} } }).then((s) => s.unref());`,
    { timeoutMs: 20000, aliveAfter: { match: /accepted/, ms: 1000 } },
  );
  assert.match(r.stdout, /accepted/, explain(r));
  assert.equal(r.timedOut, true, `the accepted (ref'd) socket must keep the process alive\n${explain(r)}`);
});

test('a process that only requires the package exits at once', async () => {
  const r = await runChild(`const m = require(process.env.PKG); console.log(Object.keys(m).sort().join(','));`, {
    timeoutMs: 5000,
  });
  assertCleanExit(r, { maxMs: 2000 });
  assert.equal(r.stdout.trim(), 'ArrayBufferSink,connect,file,listen');
});

test('a failed connect does not keep the process alive', async () => {
  const r = await runChild(
    `const { listen, connect } = require(process.env.PKG);
     const probe = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
     const port = probe.port; probe.stop();
     connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).catch((e) => console.log('rejected', e.code));`,
    { timeoutMs: 5000 },
  );
  assertCleanExit(r, { maxMs: 3000 });
  assert.match(r.stdout, /rejected ECONNREFUSED/);
});

// ---- worker_threads ----------------------------------------------------------------------------

const WORKER_PRELUDE = `
const { Worker } = require('node:worker_threads');
const { listen, connect } = require(process.env.PKG);
${ECHO_CLIENT}
function fail(e) { console.error('FAIL', e && e.stack || e); process.exit(1); }
function waitExit(w) { return new Promise((resolve, reject) => { w.on('error', reject); w.on('exit', resolve); }); }
function deadline(p, ms, what) {
  let t; return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(what + ' timed out')), ms); })]).finally(() => clearTimeout(t));
}
async function mainEcho(tag) {
  const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
  const got = await deadline(echoClient({ hostname: '127.0.0.1', port: l.port }, tag), 3000, 'main echo ' + tag);
  l.stop(true);
  if (got !== tag) throw new Error('main echo mismatch: ' + got);
  console.log('main ok', tag);
}
`;

test('worker: connects to a main-thread server, echoes, exits cleanly; main still works', async () => {
  const r = await runChild(
    `${WORKER_PRELUDE}
     (async () => {
       const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
       const w = new Worker(\`
         const { parentPort, workerData } = require('node:worker_threads');
         const { connect } = require(process.env.PKG);
         ${ECHO_CLIENT.replace(/`/g, '\\`')}
         echoClient({ hostname: '127.0.0.1', port: workerData.port }, 'from worker').then((got) => parentPort.postMessage(got));
       \`, { eval: true, workerData: { port: l.port } });
       const msgs = [];
       w.on('message', (m) => msgs.push(m));
       const code = await deadline(waitExit(w), 5000, 'worker exit');
       if (code !== 0) throw new Error('worker exit code ' + code);
       if (msgs[0] !== 'from worker') throw new Error('worker echo: ' + msgs[0]);
       console.log('worker ok');
       l.stop(true);
       await mainEcho('after worker');
     })().catch(fail);`,
    { timeoutMs: 10000 },
  );
  assertCleanExit(r, { maxMs: 8000 });
  assert.match(r.stdout, /worker ok/);
  assert.match(r.stdout, /main ok after worker/);
});

test('worker: listens, main connects and echoes, worker closes and exits; main still works', async () => {
  const r = await runChild(
    `${WORKER_PRELUDE}
     (async () => {
       const w = new Worker(\`
         const { parentPort } = require('node:worker_threads');
         const { listen } = require(process.env.PKG);
         const l = listen({ hostname: '127.0.0.1', port: 0, socket: {
           data(s, d) { s.write(d); },
           close() { l.stop(); parentPort.postMessage({ closed: true }); },
         } });
         parentPort.postMessage({ port: l.port });
       \`, { eval: true });
       const port = await deadline(new Promise((res) => w.once('message', (m) => res(m.port))), 3000, 'worker port');
       const got = await deadline(echoClient({ hostname: '127.0.0.1', port }, 'to worker'), 3000, 'echo');
       if (got !== 'to worker') throw new Error('echo mismatch ' + got);
       const code = await deadline(waitExit(w), 5000, 'worker exit (it should exit once its server stopped)');
       if (code !== 0) throw new Error('worker exit code ' + code);
       console.log('worker ok');
       await mainEcho('after worker');
     })().catch(fail);`,
    { timeoutMs: 10000 },
  );
  assertCleanExit(r, { maxMs: 8000 });
  assert.match(r.stdout, /worker ok/);
  assert.match(r.stdout, /main ok after worker/);
});

test('worker.terminate() with a server and sockets open in the worker leaves the main thread healthy', async () => {
  const r = await runChild(
    `${WORKER_PRELUDE}
     (async () => {
       // Main's own server, which the worker is connected to when it is terminated.
       const mainServer = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
       const w = new Worker(\`
         const { parentPort, workerData } = require('node:worker_threads');
         const { listen, connect } = require(process.env.PKG);
         const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
         connect({ hostname: '127.0.0.1', port: workerData.port, socket: { data(s, d) { parentPort.postMessage({ echoed: String(d), port: l.port }); } } })
           .then((s) => s.write('worker client'));
       \`, { eval: true, workerData: { port: mainServer.port } });
       const m = await deadline(new Promise((res) => w.once('message', res)), 3000, 'worker ready');
       if (m.echoed !== 'worker client') throw new Error('worker echo ' + m.echoed);
       // Main holds a connection to the worker's server too.
       let mainToWorker;
       let peerClosed;
       const peerClosedP = new Promise((r) => (peerClosed = r));
       const got = await deadline(new Promise((resolve, reject) => {
         connect({ hostname: '127.0.0.1', port: m.port, socket: { data(s, d) { resolve(String(d)); }, close() { peerClosed(); } } })
           .then((s) => { mainToWorker = s; s.write('main client'); }, reject);
       }), 3000, 'echo from worker server');
       if (got !== 'main client') throw new Error('echo mismatch ' + got);
       await deadline(w.terminate(), 5000, 'terminate');
       console.log('terminated');
       await mainEcho('after terminate');
       await mainEcho('again');
       // The worker's sockets and listener went with it: main's connection to it closes, and its
       // port no longer accepts.
       await deadline(peerClosedP, 3000, "main's connection to the terminated worker closing");
       console.log('peer closed');
       const refused = await deadline(connect({ hostname: '127.0.0.1', port: m.port, socket: { data() {} } })
         .then((s) => { s.close(); return 'connected'; }, (e) => e.code), 3000, 'connect to the worker port');
       console.log('worker port', refused);
       mainToWorker.close();
       mainServer.stop(true);
     })().catch(fail);`,
    { timeoutMs: 10000 },
  );
  assertCleanExit(r, { maxMs: 8000 });
  assert.match(r.stdout, /terminated/);
  assert.match(r.stdout, /main ok after terminate/);
  assert.match(r.stdout, /main ok again/);
  assert.match(r.stdout, /peer closed/);
  assert.match(r.stdout, /worker port ECONNREFUSED/);
});

test('several workers at once, each serving and connecting', async () => {
  const r = await runChild(
    `${WORKER_PRELUDE}
     (async () => {
       const mainServer = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
       const N = 4;
       const workers = [];
       for (let i = 0; i < N; i++) {
         const w = new Worker(\`
           const { parentPort, workerData } = require('node:worker_threads');
           const { listen, connect } = require(process.env.PKG);
           ${ECHO_CLIENT.replace(/`/g, '\\`')}
           let served = 0;
           const l = listen({ hostname: '127.0.0.1', port: 0, socket: {
             data(s, d) { s.write(d); },
             close() { if (++served === 3) { l.stop(); parentPort.postMessage({ served }); } },
           } });
           echoClient({ hostname: '127.0.0.1', port: workerData.port }, 'w' + workerData.i)
             .then((got) => parentPort.postMessage({ port: l.port, got }));
         \`, { eval: true, workerData: { port: mainServer.port, i } });
         const msgs = [];
         w.on('message', (m) => msgs.push(m));
         workers.push({ w, msgs, exit: waitExit(w) });
       }
       for (const [i, x] of workers.entries()) {
         await deadline((async () => { while (x.msgs.length === 0) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'worker ' + i + ' ready');
         if (x.msgs[0].got !== 'w' + i) throw new Error('worker ' + i + ' echo ' + x.msgs[0].got);
       }
       // Main connects to every worker's server, three times each, all at once.
       const echoes = [];
       for (const [i, x] of workers.entries()) {
         for (let k = 0; k < 3; k++) echoes.push(echoClient({ hostname: '127.0.0.1', port: x.msgs[0].port }, 'm' + i + k).then((g) => {
           if (g !== 'm' + i + k) throw new Error('mismatch ' + g);
         }));
       }
       await deadline(Promise.all(echoes), 5000, 'echoes to workers');
       const codes = await deadline(Promise.all(workers.map((x) => x.exit)), 5000, 'workers exit');
       if (codes.some((c) => c !== 0)) throw new Error('worker exit codes ' + codes);
       console.log('workers ok', codes.join(','));
       mainServer.stop(true);
       await mainEcho('after workers');
     })().catch(fail);`,
    { timeoutMs: 12000 },
  );
  assertCleanExit(r, { maxMs: 10000 });
  assert.match(r.stdout, /workers ok 0,0,0,0/);
  assert.match(r.stdout, /main ok after workers/);
});

test('terminating several busy workers at once', async () => {
  const r = await runChild(
    `${WORKER_PRELUDE}
     (async () => {
       const workers = [];
       for (let i = 0; i < 4; i++) {
         const w = new Worker(\`
           const { parentPort } = require('node:worker_threads');
           const { listen, connect } = require(process.env.PKG);
           const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
           // Keep traffic flowing inside the worker until it is terminated.
           connect({ hostname: '127.0.0.1', port: l.port, socket: { data(s, d) { s.write(d); } } }).then((s) => {
             s.write('x'.repeat(1000));
             parentPort.postMessage('busy');
           });
         \`, { eval: true });
         workers.push(w);
       }
       await deadline(Promise.all(workers.map((w) => new Promise((res) => w.once('message', res)))), 5000, 'workers busy');
       await new Promise((r) => setTimeout(r, 100));
       await deadline(Promise.all(workers.map((w) => w.terminate())), 5000, 'terminate');
       console.log('terminated');
       await mainEcho('after');
     })().catch(fail);`,
    { timeoutMs: 12000 },
  );
  assertCleanExit(r, { maxMs: 10000 });
  assert.match(r.stdout, /terminated/);
  assert.match(r.stdout, /main ok after/);
});

// ---- ESM ---------------------------------------------------------------------------------------

test('ESM: named imports from index.mjs work end to end', async () => {
  const url = pathToFileURL(path.join(ROOT, 'index.mjs')).href;
  const r = await runChild(
    `import { listen, connect, ArrayBufferSink, file } from ${JSON.stringify(url)};
     import pkg from ${JSON.stringify(url)};
     if (typeof listen !== 'function' || typeof connect !== 'function' || typeof ArrayBufferSink !== 'function' || typeof file !== 'function') {
       throw new Error('missing exports');
     }
     if (pkg.listen !== listen) throw new Error('default export differs');
     const sink = new ArrayBufferSink({ stream: true });
     sink.write('esm ');
     sink.write('echo');
     const payload = new Uint8Array(sink.flush());
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
     const got = await new Promise((resolve, reject) => {
       connect({ hostname: '127.0.0.1', port: l.port, socket: { data(s, d) { s.end(); resolve(String(d)); } } })
         .then((s) => s.write(payload), reject);
     });
     l.stop();
     console.log('got', got, typeof file('/nonexistent'));`,
    { timeoutMs: 8000, args: ['--input-type=module'] },
  );
  assertCleanExit(r);
  assert.match(r.stdout, /got esm echo object/);
});

test('ESM: the package resolves by path through its exports map', async () => {
  const r = await runChild(
    `const { listen, connect } = await import(process.env.PKG + '/index.mjs');
     const { createRequire } = await import('node:module');
     const req = createRequire(process.env.PKG + '/');
     if (req(process.env.PKG).listen !== listen) throw new Error('CJS and ESM exports differ');
     const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
     l.unref();
     console.log('ok', typeof connect);`,
    { timeoutMs: 8000, args: ['--input-type=module'] },
  );
  assertCleanExit(r);
  assert.match(r.stdout, /ok function/);
});

test("a unix listener still listening when its process (or worker) exits removes its socket file, as node:net's; never another listener's", async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-sockfile-'));
  try {
    const r = await runChild(
      `const { listen } = require(process.env.PKG);
       const fs = require('node:fs');
       const { Worker } = require('node:worker_threads');
       const dir = process.env.DIR;
       // Left listening (unref'd) at exit.
       listen({ unix: dir + '/left.sock', socket: { data() {} } }).unref();
       // Stopped, then the path bound again by a second listener, left listening too.
       const first = listen({ unix: dir + '/reused.sock', socket: { data() {} } });
       first.stop();
       listen({ unix: dir + '/reused.sock', socket: { data() {} } }).unref();
       // Its file replaced by someone else's: that one stays.
       listen({ unix: dir + '/replaced.sock', socket: { data() {} } }).unref();
       fs.unlinkSync(dir + '/replaced.sock');
       fs.writeFileSync(dir + '/replaced.sock', 'not a socket');
       // A worker that exits with its listener open.
       const w = new Worker("require(process.env.PKG).listen({ unix: process.env.DIR + '/worker.sock', socket: { data() {} } }).unref();", { eval: true });
       w.on('exit', () => console.log('worker file after its exit: ' + fs.existsSync(dir + '/worker.sock')));
       console.log('files while listening: ' + ['left', 'reused'].map((n) => fs.existsSync(dir + '/' + n + '.sock')).join(','));`,
      { timeoutMs: 8000, env: { DIR: dir } },
    );
    assertCleanExit(r, { maxMs: 6000 });
    assert.match(r.stdout, /files while listening: true,true/);
    assert.match(r.stdout, /worker file after its exit: false/);
    assert.deepEqual(fs.readdirSync(dir), ['replaced.sock'], 'no socket file is left behind, and the file that replaced one stays');
    assert.equal(fs.readFileSync(path.join(dir, 'replaced.sock'), 'utf8'), 'not a socket');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
