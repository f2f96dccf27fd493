'use strict';
// Big batches reach JS without a copy: their arena becomes the Buffer, and comes back for reuse
// only when JS has let go of every chunk viewing it. Chunks kept across garbage collections must
// keep their bytes while later reads fill recycled arenas.
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
