'use strict';
// end(data) never drops data: not when the kernel refuses part of it, not when the socket is closed
// right after, and not when the process has nothing else to do and would exit.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { runChild, withTimeout, sha256 } = require('./helpers');

test('a process that end()s 16 MiB to a slow reader and closes stays alive until it is sent', async () => {
  const size = 16 << 20;
  const chunks = [];
  const done = new Promise((resolve) => {
    const server = net.createServer((c) => {
      c.pause(); // let the sender's kernel buffer fill so most of end()'s data is queued
      setTimeout(() => c.resume(), 500);
      c.on('data', (d) => chunks.push(d));
      c.on('end', () => {
        server.close();
        resolve();
      });
    });
    server.listen(0, '127.0.0.1', async () => {
      const child = await runChild(
        `const { connect } = require(process.env.PKG);
         connect({ hostname: '127.0.0.1', port: ${server.address().port}, socket: { data() {} } }).then((s) => {
           const big = Buffer.alloc(${size});
           for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
           const n = s.end(big);
           if (n !== big.length) process.exitCode = 3;
           s.close();
         });`,
        { timeoutMs: 20000 },
      );
      assert.equal(child.timedOut, false, 'sender exits by itself');
      assert.equal(child.code, 0, child.stderr);
    });
  });
  await withTimeout(done, 25000, 'transfer');
  const got = Buffer.concat(chunks);
  const expected = Buffer.alloc(size);
  for (let i = 0; i < size; i++) expected[i] = (i * 7) & 255;
  assert.equal(got.length, size);
  assert.equal(sha256(got), sha256(expected));
});
