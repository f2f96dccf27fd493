'use strict';
// String writes: the addon copies a string's UTF-8 out on the stack when it is short enough
// (src/api/raw_calls.rs) and falls back to a heap copy otherwise. Node stops a copy before a
// character that does not fit, so strings whose multi-byte characters straddle that limit must
// still arrive whole, byte for byte as Buffer.from(string) encodes them.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { listen, connect } = require('..');
const binding = require('../lib/binding');
const { withTimeout } = require('./helpers');

const HOST = '127.0.0.1';
const LIMIT = 4096; // the stack copy's size in bytes

/** Strings whose UTF-8 length lands on every side of LIMIT, with each character width last. */
function boundaryStrings() {
  const strings = [];
  for (const ch of ['a', 'é', '€', '😀']) {
    const width = Buffer.byteLength(ch);
    for (let total = LIMIT - 8; total <= LIMIT + 8; total++) {
      const fill = total - width;
      if (fill < 0) continue;
      strings.push('x'.repeat(fill) + ch);
    }
  }
  // Lone surrogates become U+FFFD (3 bytes) as in Buffer.from; long strings take the heap path.
  strings.push('y'.repeat(LIMIT - 2) + '\ud800', '\udc00'.repeat(2000), '€'.repeat(50_000), 'z');
  return strings;
}

test('string writes arrive byte-exact around the stack-copy limit and beyond it', async () => {
  const strings = boundaryStrings();
  const expected = Buffer.concat(strings.map((s) => Buffer.from(s)));
  const chunks = [];
  let received = 0;
  let wake = null;
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      data(_s, chunk) {
        chunks.push(Buffer.from(chunk));
        received += chunk.length;
        if (wake) wake();
      },
    },
  });
  const client = await withTimeout(
    connect({ hostname: HOST, port: server.port, socket: { data() {} } }),
    3000,
    'connect',
  );
  try {
    let sent = 0;
    for (const s of strings) {
      const bytes = Buffer.byteLength(s);
      // One string in flight at a time, so the kernel always takes all of it.
      assert.equal(client.write(s), bytes, `write of a ${bytes}-byte string`);
      sent += bytes;
      while (received < sent) {
        await withTimeout(new Promise((r) => (wake = r)), 3000, `bytes of string ${strings.indexOf(s)}`);
      }
    }
    assert.equal(received, expected.length);
    assert.ok(Buffer.concat(chunks).equals(expected), 'every byte as Buffer.from encodes it');
    assert.equal(client.bytesWritten, expected.length);
  } finally {
    client.close();
    server.stop(true);
  }
});

test('the raw binding calls throw on wrong argument types instead of crashing', () => {
  // lib/socket.js validates before it calls these; a wrong type reaching them must still only
  // throw. Id 0 is never a live socket.
  assert.throws(() => binding.write(0, 'not a buffer', 0, 1), Error);
  assert.throws(() => binding.write(0, Buffer.alloc(1), 'zero', 1), Error);
  assert.throws(() => binding.writeString(0, 42), Error);
  assert.equal(binding.write(0, Buffer.alloc(4), 0, 4), -1, 'an unknown socket is -1');
  assert.equal(binding.writeString(0, 'abc'), -1, 'an unknown socket is -1');
});
