'use strict';
// How read bytes reach JS. Big batches come without a copy: their arena becomes the Buffer, and
// comes back for reuse only when JS has let go of every chunk viewing it. Chunks kept across garbage
// collections must keep their bytes while later reads fill recycled arenas.
const test = require('node:test');
const assert = require('node:assert/strict');
const { CHILD_PRELUDE, childResult } = require('./helpers');

test('chunks kept across GCs keep their bytes while later reads reuse arenas', async (t) => {
  const out = await childResult(t, CHILD_PRELUDE + `
(async () => {
  const PHASE = 8 << 20;
  const kept = [];
  let phase = 0;
  let received = [0, 0];
  let bigChunks = 0;
  const hashes = [crypto.createHash('sha256'), crypto.createHash('sha256')];
  const server = listen({ hostname: HOST, port: 0, socket: {
    data(s, chunk) {
      if (chunk.buffer.byteLength >= 128 << 10) bigChunks++; // only handed-over batches are this big
      hashes[phase].update(chunk);
      received[phase] += chunk.length;
      if (phase === 0) kept.push(chunk); // held on to: its arena must never be reused
    },
  }});
  const pattern = (seed) => { const b = Buffer.alloc(PHASE); for (let i = 0; i < b.length; i++) b[i] = (i * seed + (i >> 11)) & 255; return b; };
  const first = pattern(7), second = pattern(13);
  const sent = [crypto.createHash('sha256').update(first).digest('hex'), crypto.createHash('sha256').update(second).digest('hex')];
  const net = require('node:net');
  const sock = net.connect(server.port, HOST);
  await new Promise((r) => sock.once('connect', r));
  sock.write(first);
  await until(() => received[0] === PHASE, 10000, 'first phase');
  const keptBefore = crypto.createHash('sha256'); for (const c of kept) keptBefore.update(c);
  for (let i = 0; i < 5; i++) { global.gc(); await sleep(20); }
  phase = 1;
  sock.write(second);
  await until(() => received[1] === PHASE, 10000, 'second phase');
  for (let i = 0; i < 3; i++) { global.gc(); await sleep(20); }
  const keptAfter = crypto.createHash('sha256'); for (const c of kept) keptAfter.update(c);
  sock.destroy();
  server.stop(true);
  result({ sent, got: hashes.map((h) => h.digest('hex')), keptBefore: keptBefore.digest('hex'), keptAfter: keptAfter.digest('hex'), bigChunks });
})().catch((e) => { console.error(e); process.exit(1); });
`, { args: ['--expose-gc'], timeoutMs: 30000 });
  assert.deepEqual(out.got, out.sent, 'both phases arrive intact');
  assert.equal(out.keptBefore, out.sent[0], 'the kept chunks are the first phase');
  assert.equal(out.keptAfter, out.keptBefore, 'kept chunks unchanged after later reads');
  assert.ok(out.bigChunks > 0, 'some chunks came from batches big enough to be handed over');
});

// Small batches are copied into shared pool Buffers (src/read_pool.rs): many chunks view one
// ArrayBuffer, so a kept chunk must never be overwritten by later batches, and the pool must not
// be detachable by a handler that transfers one chunk's buffer.
test('small chunks share pools: kept chunks keep their bytes, and a pool cannot be transferred away', async (t) => {
  const out = await childResult(t, CHILD_PRELUDE + `
const { MessageChannel } = require('node:worker_threads');
(async () => {
  const COUNT = 3000; // ~100-byte messages, one per batch: dozens of 64 KiB pools
  const kept = [];
  let transferTried = 0, transferThrew = 0;
  const server = listen({ hostname: HOST, port: 0, socket: {
    data(s, chunk) {
      kept.push(chunk);
      if (kept.length === 10) {
        // Transfer this chunk's ArrayBuffer: Node either refuses (throws) or copies instead.
        const { port1 } = new MessageChannel();
        transferTried++;
        try { port1.postMessage(chunk.buffer, [chunk.buffer]); } catch { transferThrew++; }
        port1.close();
      }
      s.write(chunk.subarray(0, 1)); // ack: the next message comes in its own batch
    },
  }});
  const message = (i) => Buffer.from(String(i).padStart(6, '0') + ':' + 'x'.repeat(80 + (i % 37)) + '\\n');
  const net = require('node:net');
  const sock = net.connect(server.port, HOST);
  await new Promise((r) => sock.once('connect', r));
  let acked = 0;
  sock.on('data', (d) => { acked += d.length; if (acked < COUNT) sock.write(message(acked)); });
  sock.write(message(0));
  await until(() => acked >= COUNT, 20000, 'all messages acked');
  for (let i = 0; i < 3; i++) { global.gc(); await sleep(10); }
  const joined = Buffer.concat(kept);
  const expected = Buffer.concat(Array.from({ length: COUNT }, (_, i) => message(i)));
  const buffers = new Set(kept.map((c) => c.buffer));
  sock.destroy();
  server.stop(true);
  result({
    intact: joined.equals(expected),
    keptLength: joined.length, expectedLength: expected.length,
    pools: buffers.size, shared: kept.length > buffers.size,
    detached: kept.filter((c) => c.buffer.byteLength === 0).length,
    transferTried, transferThrew,
  });
})().catch((e) => { console.error(e); process.exit(1); });
`, { args: ['--expose-gc'], timeoutMs: 40000 });
  assert.equal(out.keptLength, out.expectedLength);
  assert.ok(out.intact, 'every kept chunk still holds its bytes, in order');
  assert.ok(out.shared, 'chunks share pool buffers');
  assert.ok(out.pools > 1, `several pools were filled (${out.pools})`);
  assert.equal(out.transferTried, 1);
  assert.equal(out.detached, 0, 'transferring one chunk\'s buffer detached no chunk');
});

// Handed-over batches are external Buffers: V8 counts their bytes but, unlike its own Buffers',
// never checks them when one is made, so a stream of them used to end each time at the
// external-memory limit in a full mark-compact (every 64 MB). They must be freed by the young
// generation's scavenges instead, as node:net's read buffers are.
test('streaming big batches is collected by scavenges, not by full mark-compacts', async (t) => {
  const out = await childResult(t, CHILD_PRELUDE + `
const { PerformanceObserver, constants } = require('node:perf_hooks');
(async () => {
  const TOTAL = 640 << 20;
  const PERIOD = 251;
  const gcs = { major: 0, minor: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++;
      else if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let received = 0;
  let handedOver = 0;
  let wrong = 0;
  const server = listen({ hostname: HOST, port: 0, socket: {
    data(s, chunk) {
      if (chunk.buffer.byteLength >= 128 << 10) handedOver += chunk.length;
      // A reader a little slower than the writer: the kernel gathers big reads, which are
      // handed over (a fast reader on a fast machine takes many small ones, which are copied).
      // Atomics.wait sleeps without allocating: JS garbage would bring scavenges of its own.
      Atomics.wait(nap, 0, 0, 0.2);
      // The stream is i % PERIOD at offset i: check both ends of every chunk.
      if (chunk[0] !== received % PERIOD || chunk[chunk.length - 1] !== (received + chunk.length - 1) % PERIOD) wrong++;
      received += chunk.length;
    },
  }});
  // The writer is another process: this one's JS then allocates almost nothing of its own, so
  // no scavenge would come from its heap, as in a server that only streams.
  const writer = require('node:child_process').spawn(process.execPath, ['-e', \`
    const block = Buffer.alloc(\${PERIOD} << 12);
    for (let i = 0; i < block.length; i++) block[i] = i % \${PERIOD};
    const sock = require('node:net').connect(\${server.port}, '\${HOST}', async () => {
      for (let sent = 0; sent < \${TOTAL}; sent += block.length) {
        if (!sock.write(block)) await new Promise((r) => sock.once('drain', r));
      }
      sock.end();
    });
  \`], { stdio: 'inherit' });
  const majorsBefore = gcs.major;
  const total = Math.ceil(TOTAL / (PERIOD << 12)) * (PERIOD << 12);
  await until(() => received === total, 30000, 'the whole stream');
  await sleep(50); // gc entries are delivered asynchronously
  writer.kill();
  server.stop(true);
  result({ total, received, wrong, handedOver, majors: gcs.major - majorsBefore, minors: gcs.minor });
})().catch((e) => { console.error(e); process.exit(1); });
`, { timeoutMs: 60000 });
  t.diagnostic(JSON.stringify(out));
  assert.equal(out.received, out.total, 'every byte arrives');
  assert.equal(out.wrong, 0, 'in order');
  assert.ok(out.handedOver > out.total / 2, `most bytes came in handed-over batches (${out.handedOver} of ${out.total})`);
  // Before, 640 MB of external bytes met the 64 MB limit 9 times here; V8's own heap growth may
  // still start one.
  assert.ok(out.majors <= 2, `${out.majors} full mark-compacts while streaming 640 MB`);
  assert.ok(out.minors > 0, 'scavenges freed the batches');
});
