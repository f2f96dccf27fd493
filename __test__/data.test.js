'use strict';
// Data path: every `write` input type and offset form, binaryType of received chunks, large
// transfers under backpressure (short writes + drain), end(data) against a non-reading peer, many
// concurrent echo connections, -1 after end/close/shutdown, and handler `this`.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, sha256, toBuffer, collector } = require('./helpers');

/**
 * Teardown for one test: closes the given sockets/listeners, then lets late events drain so they
 * cannot reach the next test's sockets (see the id-reuse test at the end of this file).
 */
function cleanup(t, ...closers) {
  t.after(async () => {
    for (const close of closers) close();
    await new Promise((r) => setTimeout(r, 30));
  });
}

/** A server handler table that echoes everything back, honoring write's count and `drain`. */
function echoTable(extra = {}) {
  const queues = new Map();
  const flush = (s) => {
    const q = queues.get(s);
    while (q && q.length > 0) {
      const buf = q[0];
      const n = s.write(buf);
      if (n < 0) {
        q.length = 0;
        return;
      }
      if (n < buf.length) {
        q[0] = buf.subarray(n);
        return;
      }
      q.shift();
    }
  };
  return {
    data(s, chunk) {
      let q = queues.get(s);
      if (!q) queues.set(s, (q = []));
      q.push(chunk);
      if (q.length === 1) flush(s);
    },
    drain(s) {
      flush(s);
    },
    close(s) {
      queues.delete(s);
    },
    ...extra,
  };
}

/** An echo server and one connected client whose received bytes land in `rx`. */
async function echoPair(t, clientSocket = {}) {
  const server = listen({ hostname: HOST, port: 0, socket: echoTable() });
  cleanup(t, () => server.stop(true));
  const rx = collector();
  const client = await withTimeout(
    connect({
      hostname: HOST,
      port: server.port,
      socket: {
        data(s, chunk) {
          rx.push(chunk);
        },
        ...clientSocket,
      },
    }),
    3000,
    'connect',
  );
  cleanup(t, () => client.close());
  return { server, client, rx };
}

test('write() echoes every data type and offset form byte-exactly', async (t) => {
  const { client, rx } = await echoPair(t);

  const ab = new ArrayBuffer(32);
  const all = new Uint8Array(ab);
  for (let i = 0; i < all.length; i++) all[i] = 0x40 + i;
  const bytesOf = (start, end) => Buffer.from(all.subarray(start, end));

  const sab = new SharedArrayBuffer(8);
  new Uint8Array(sab).set([9, 8, 7, 6, 5, 4, 3, 2]);

  // a é € 😀 z: 1 + 2 + 3 + 4 + 1 = 11 UTF-8 bytes, 6 UTF-16 code units.
  const multi = 'aé€😀z';
  const multiBytes = Buffer.from(multi, 'utf8');
  assert.equal(multiBytes.length, 11);
  const digits = Buffer.from('0123456789');

  const cases = [
    ['ASCII string', ['hello'], Buffer.from('hello')],
    ['multi-byte UTF-8 string', [multi], multiBytes],
    ['long multi-byte string', ['ü€'.repeat(1000)], Buffer.from('ü€'.repeat(1000))],
    ['Buffer', [Buffer.from([0, 255, 1, 254, 128])], Buffer.from([0, 255, 1, 254, 128])],
    ['Buffer view with nonzero byteOffset', [digits.subarray(3, 7)], Buffer.from('3456')],
    ['Uint8Array', [new Uint8Array([10, 20, 30])], Buffer.from([10, 20, 30])],
    ['Uint8Array view with nonzero byteOffset', [new Uint8Array(ab, 30, 2)], bytesOf(30, 32)],
    ['Uint16Array view at byteOffset 4 (only its view)', [new Uint16Array(ab, 4, 3)], bytesOf(4, 10)],
    ['Float64Array view at byteOffset 8 (only its view)', [new Float64Array(ab, 8, 2)], bytesOf(8, 24)],
    ['Int32Array view at byteOffset 12', [new Int32Array(ab, 12, 1)], bytesOf(12, 16)],
    ['DataView with nonzero byteOffset', [new DataView(ab, 3, 5)], bytesOf(3, 8)],
    ['ArrayBuffer', [ab], bytesOf(0, 32)],
    ['SharedArrayBuffer', [sab], Buffer.from([9, 8, 7, 6, 5, 4, 3, 2])],
    ['Uint8Array over a SharedArrayBuffer', [new Uint8Array(sab, 6, 2)], Buffer.from([3, 2])],
    // Offsets: relative to the view; for strings, to its UTF-8 bytes.
    ['string, byteOffset + byteLength in UTF-8 bytes', [multi, 1, 5], multiBytes.subarray(1, 6)],
    ['string, byteOffset only (rest of the UTF-8 bytes)', [multi, 6], multiBytes.subarray(6)],
    ['string, byteLength beyond its character count', ['é€', 0, 5], Buffer.from('é€')],
    ['string, explicit undefined byteLength', [multi, 3, undefined], multiBytes.subarray(3)],
    ['Buffer, byteOffset only', [Buffer.from('abcdefgh'), 5], Buffer.from('fgh')],
    ['Buffer, byteOffset + byteLength', [Buffer.from('abcdefgh'), 2, 3], Buffer.from('cde')],
    ['Buffer view, offsets relative to the view', [digits.subarray(2), 3, 2], Buffer.from('56')],
    ['Uint16Array view, offsets in bytes relative to the view', [new Uint16Array(ab, 4, 4), 1, 3], bytesOf(5, 8)],
    ['Float64Array view, byteOffset only', [new Float64Array(ab, 8, 2), 10], bytesOf(18, 24)],
    ['DataView, byteOffset + byteLength', [new DataView(ab, 3, 5), 1, 2], bytesOf(4, 6)],
    ['ArrayBuffer, byteOffset + byteLength', [ab, 10, 4], bytesOf(10, 14)],
    ['ArrayBuffer, byteOffset only', [ab, 28], bytesOf(28, 32)],
    ['SharedArrayBuffer, byteOffset + byteLength', [sab, 2, 3], Buffer.from([7, 6, 5])],
    ['byteOffset 0 and full byteLength', [Buffer.from('xyz'), 0, 3], Buffer.from('xyz')],
  ];

  let total = 0;
  for (const [name, args, expected] of cases) {
    const before = rx.length;
    const n = client.write(...args);
    assert.equal(n, expected.length, `${name}: write() return value`);
    total += n;
    await rx.waitFor(before + expected.length, 3000, `echo of ${name}`);
    assert.equal(rx.length, before + expected.length, `${name}: echoed byte count`);
    assert.deepEqual(rx.bytes().subarray(before), expected, `${name}: echoed bytes`);
  }
  assert.equal(client.bytesWritten, total, 'bytesWritten is the sum of accepted counts');
});

test('write() of empty data returns 0 and sends nothing', async (t) => {
  const { client, rx } = await echoPair(t);
  const empties = [
    ['empty string', ['']],
    ['empty Buffer', [Buffer.alloc(0)]],
    ['empty Uint8Array', [new Uint8Array(0)]],
    ['empty Float64Array', [new Float64Array(0)]],
    ['empty DataView', [new DataView(new ArrayBuffer(0))]],
    ['empty ArrayBuffer', [new ArrayBuffer(0)]],
    ['empty SharedArrayBuffer', [new SharedArrayBuffer(0)]],
    ['Buffer, byteOffset at the end', [Buffer.from('abc'), 3]],
    ['Buffer, byteLength 0', [Buffer.from('abc'), 1, 0]],
    ['string, byteOffset at the UTF-8 end', ['é', 2]],
    ['string, byteLength 0', ['abc', 0, 0]],
    ['ArrayBuffer, byteLength 0', [new ArrayBuffer(8), 8, 0]],
  ];
  for (const [name, args] of empties) {
    assert.equal(client.write(...args), 0, name);
  }
  assert.equal(client.bytesWritten, 0);
  assert.equal(client.write('MARK'), 4);
  await rx.waitFor(4, 3000);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(rx.bytes(), Buffer.from('MARK'), 'only the marker was sent');
  assert.equal(client.bytesWritten, 4);
});

const binaryTypes = [
  [undefined, 'Buffer (default)', (c) => Buffer.isBuffer(c)],
  ['buffer', 'Buffer', (c) => Buffer.isBuffer(c)],
  ['arraybuffer', 'ArrayBuffer', (c) => c instanceof ArrayBuffer && Object.getPrototypeOf(c) === ArrayBuffer.prototype],
  [
    'uint8array',
    'plain Uint8Array (not a Buffer)',
    (c) => c instanceof Uint8Array && !Buffer.isBuffer(c) && Object.getPrototypeOf(c) === Uint8Array.prototype,
  ],
];
// null is an absent entry (SPEC); the capitalised names are Bun 1.4.5's other spellings.
const spelledAsBun = { buffer: 'Buffer', arraybuffer: 'ArrayBuffer', uint8array: 'Uint8Array' };
binaryTypes.push(
  [null, 'Buffer (null is absent)', binaryTypes[0][2]],
  ...binaryTypes.filter(([name]) => name in spelledAsBun).map(([name, kind, isKind]) => [spelledAsBun[name], kind, isKind]),
);

for (const [binaryType, kind, isKind] of binaryTypes) {
  test(`binaryType ${binaryType === undefined ? 'omitted' : binaryType === null ? 'null' : `'${binaryType}'`}: chunks are ${kind}, fresh, never overwritten`, async (t) => {
    const ROUNDS = 8;
    const SIZE = 3000;
    const fill = (round) => (round * 37 + 11) & 0xff;
    const serverChunks = [];
    const server = listen({
      hostname: HOST,
      port: 0,
      socket: {
        ...(binaryType === undefined ? {} : { binaryType }),
        data(s, chunk) {
          serverChunks.push(chunk);
          // Each request (one byte: the round) gets SIZE bytes of that round's fill value,
          // written in two pieces.
          const view = chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : chunk;
          for (const round of view) {
            const reply = Buffer.alloc(SIZE, fill(round));
            s.write(reply.subarray(0, 1000));
            s.write(reply.subarray(1000));
          }
        },
      },
    });
    cleanup(t, () => server.stop(true));

    const clientChunks = [];
    let got = 0;
    let wake = null;
    const client = await withTimeout(
      connect({
        hostname: HOST,
        port: server.port,
        socket: {
          ...(binaryType === undefined ? {} : { binaryType }),
          data(s, chunk) {
            clientChunks.push(chunk);
            got += chunk.byteLength;
            if (wake) wake();
          },
        },
      }),
      3000,
      'connect',
    );
    cleanup(t, () => client.close());

    const chunkRound = new Map(); // chunk -> the round whose bytes it must hold
    for (let round = 0; round < ROUNDS; round++) {
      const seen = clientChunks.length;
      assert.equal(client.write(Buffer.from([round])), 1);
      const target = (round + 1) * SIZE;
      while (got < target) {
        const d = deferred();
        wake = d.resolve;
        await withTimeout(d.promise, 3000, `round ${round} reply (have ${got} of ${target})`);
      }
      wake = null;
      assert.equal(got, target, `round ${round}: no extra bytes`);
      for (const c of clientChunks.slice(seen)) chunkRound.set(c, round);
    }

    assert.ok(clientChunks.length >= ROUNDS, 'at least one chunk per round');
    assert.equal(new Set(clientChunks).size, clientChunks.length, 'every chunk is a distinct object');
    for (const [i, c] of clientChunks.entries()) {
      assert.ok(isKind(c), `client chunk ${i} is a ${kind} (got ${Object.prototype.toString.call(c)} ${c.constructor.name})`);
      const want = fill(chunkRound.get(c));
      const bytes = toBuffer(c);
      assert.ok(bytes.length > 0, `client chunk ${i} is not empty`);
      assert.ok(
        bytes.every((b) => b === want),
        `client chunk ${i} (round ${chunkRound.get(c)}) still holds its own bytes after later reads`,
      );
    }

    assert.equal(serverChunks.length, ROUNDS, 'server got one chunk per request');
    for (const [i, c] of serverChunks.entries()) {
      assert.ok(isKind(c), `server chunk ${i} is a ${kind}`);
      assert.deepEqual(toBuffer(c), Buffer.from([i]), `server chunk ${i} still holds its byte`);
    }
  });
}

test('multi-MiB transfer to a paused peer: short writes, drain, resend; checksum and bytesWritten match', async (t) => {
  const TOTAL = 24 << 20;
  const payload = crypto.randomBytes(TOTAL);
  const expected = sha256(payload);

  const firstShort = deferred();
  const done = deferred();
  const hash = crypto.createHash('sha256');
  let received = 0;
  let paused = true;
  let receivedWhilePaused = 0;
  let serverSocket = null;
  let fallback = null;

  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s) {
        serverSocket = s;
        s.pause();
      },
      data(s, chunk) {
        if (paused) receivedWhilePaused += chunk.length;
        hash.update(chunk);
        received += chunk.length;
        if (received >= TOTAL) done.resolve();
      },
      close() {
        if (received < TOTAL) done.reject(new Error(`server socket closed after ${received} of ${TOTAL} bytes`));
      },
    },
  });
  cleanup(t, () => {
    clearTimeout(fallback);
    server.stop(true);
  });

  let offset = 0;
  let shortWrites = 0;
  let shortWhilePaused = 0;
  let zeroWrites = 0;
  let drains = 0;
  let writeError = null;
  const pump = (s) => {
    while (offset < TOTAL) {
      const want = TOTAL - offset;
      const n = s.write(payload, offset); // byteLength defaults to the rest
      if (n < 0) {
        writeError = new Error(`write returned ${n} at offset ${offset}`);
        done.reject(writeError);
        return;
      }
      offset += n;
      if (n < want) {
        shortWrites++;
        if (n === 0) zeroWrites++;
        if (paused) {
          shortWhilePaused++;
          firstShort.resolve();
        }
        return; // the rest goes after `drain`
      }
    }
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

  // Resume the server once the client has hit backpressure (or after 3 s, failing below).
  const resumed = Promise.race([
    firstShort.promise,
    new Promise((r) => {
      fallback = setTimeout(r, 3000);
    }),
  ]).then(
    () =>
      new Promise((r) =>
        setTimeout(() => {
          paused = false;
          serverSocket.resume();
          r();
        }, 150),
      ),
  );

  pump(client);
  await withTimeout(resumed, 5000, 'resume');
  await withTimeout(done.promise, 15000, `receiving ${TOTAL} bytes (have ${received}, sent ${offset})`);

  assert.equal(writeError, null);
  assert.equal(received, TOTAL);
  assert.equal(hash.digest('hex'), expected, 'sha256 of received bytes equals sent');
  assert.equal(client.bytesWritten, TOTAL, 'bytesWritten equals the total');
  assert.ok(shortWrites >= 1, 'at least one write returned fewer bytes than given');
  assert.ok(shortWhilePaused >= 1, 'a short write happened while the peer was not reading');
  assert.ok(drains >= 1, 'drain was called');
  assert.equal(drains, shortWrites, 'exactly one drain per short write (no spurious drains)');
  assert.equal(receivedWhilePaused, 0, 'no data delivered while paused');
  t.diagnostic(`short writes: ${shortWrites} (${zeroWrites} of 0 bytes), drains: ${drains}`);
});

for (const [label, makePayload] of [
  ['Buffer of 8 MiB', () => crypto.randomBytes(8 << 20)],
  ['multi-byte string of 6 MiB', () => 'é€😀'.repeat((6 << 20) / 9)],
]) {
  test(`end(${label}) to a non-reading peer: every byte arrives, then end`, async (t) => {
    const data = makePayload();
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const TOTAL = bytes.length;
    const expected = sha256(bytes);

    const hash = crypto.createHash('sha256');
    let received = 0;
    let receivedAtEnd = -1;
    let endCalls = 0;
    let serverSocket = null;
    let timer = null;
    const serverEnd = deferred();
    const serverClose = deferred();
    const clientClose = deferred();

    const server = listen({
      hostname: HOST,
      port: 0,
      socket: {
        open(s) {
          serverSocket = s;
          s.pause();
        },
        data(s, chunk) {
          hash.update(chunk);
          received += chunk.length;
        },
        end() {
          endCalls++;
          receivedAtEnd = received;
          serverEnd.resolve();
        },
        close(s, err) {
          serverClose.resolve(err);
        },
      },
    });
    cleanup(t, () => {
      clearTimeout(timer);
      server.stop(true);
    });

    const client = await withTimeout(
      connect({
        hostname: HOST,
        port: server.port,
        socket: {
          data() {},
          close(s, err) {
            clientClose.resolve(err);
          },
        },
      }),
      3000,
      'connect',
    );
    cleanup(t, () => client.close());

    const n = client.end(data);
    assert.equal(n, TOTAL, 'end(data) returns the byte count of data');
    assert.equal(client.write('more'), -1, 'write after end returns -1');

    // Let the peer sit unread for a while, then read everything.
    await new Promise((r) => {
      timer = setTimeout(r, 300);
    });
    assert.equal(received, 0, 'nothing delivered while paused');
    serverSocket.resume();

    await withTimeout(serverEnd.promise, 10000, `server end (received ${received} of ${TOTAL})`);
    assert.equal(receivedAtEnd, TOTAL, 'all bytes arrived before end');
    assert.equal(endCalls, 1);
    assert.equal(hash.digest('hex'), expected, 'sha256 of received bytes equals sent');
    assert.equal(await withTimeout(serverClose.promise, 3000, 'server close'), undefined);
    assert.equal(await withTimeout(clientClose.promise, 3000, 'client close'), undefined);
  });
}

test('50 concurrent connections echo 256 KiB each in random pieces, honoring backpressure', async (t) => {
  const CLIENTS = 50;
  const SIZE = 256 << 10;
  const server = listen({ hostname: HOST, port: 0, socket: echoTable() });
  cleanup(t, () => server.stop(true));

  const sockets = [];
  cleanup(t, () => {
    for (const s of sockets) s.close();
  });

  const runClient = async (index) => {
    const payload = crypto.randomBytes(SIZE);
    const rx = collector();
    let offset = 0;
    let pieces = 0;
    let failure = null;
    const pump = (s) => {
      while (offset < SIZE) {
        const size = Math.min(SIZE - offset, 1 + crypto.randomInt(16384));
        const n = s.write(payload, offset, size);
        if (n < 0) {
          failure = new Error(`client ${index}: write returned ${n} at ${offset}`);
          return;
        }
        pieces++;
        offset += n;
        if (n < size) return; // wait for drain
      }
    };
    const s = await connect({
      hostname: HOST,
      port: server.port,
      socket: {
        data(sock, chunk) {
          rx.push(chunk);
        },
        drain(sock) {
          pump(sock);
        },
      },
    });
    sockets.push(s);
    pump(s);
    await rx.waitFor(SIZE, 15000, `client ${index} echo`);
    assert.equal(failure, null);
    assert.equal(s.bytesWritten, SIZE, `client ${index} bytesWritten`);
    await new Promise((r) => setImmediate(r));
    assert.equal(rx.length, SIZE, `client ${index}: no extra bytes`);
    assert.equal(sha256(rx.bytes()), sha256(payload), `client ${index} checksum`);
    assert.ok(pieces > 1);
    s.end();
  };

  await withTimeout(
    Promise.all(Array.from({ length: CLIENTS }, (_, i) => runClient(i))),
    18000,
    `${CLIENTS} echo clients`,
  );
});

for (const how of ['end', 'close', 'shutdown']) {
  test(`write() returns -1 after ${how}() and does not throw`, async (t) => {
    const rx = collector();
    const serverClosed = deferred();
    const server = listen({
      hostname: HOST,
      port: 0,
      socket: {
        data(s, chunk) {
          rx.push(chunk);
        },
        close() {
          serverClosed.resolve();
        },
      },
    });
    cleanup(t, () => server.stop(true));
    const client = await withTimeout(
      connect({ hostname: HOST, port: server.port, socket: { data() {} } }),
      3000,
      'connect',
    );
    cleanup(t, () => client.close());

    assert.equal(client.write('ok'), 2);
    client[how]();
    assert.equal(client.readyState, how === 'close' ? -1 : -2, `readyState after ${how}()`);
    for (const data of ['x', 'é', Buffer.from('x'), new Uint8Array([1, 2]), new ArrayBuffer(3), new DataView(new ArrayBuffer(2))]) {
      let r;
      assert.doesNotThrow(() => {
        r = client.write(data);
      });
      assert.equal(r, -1, `write(${Object.prototype.toString.call(data)}) after ${how}()`);
    }
    assert.equal(client.write(Buffer.from('abc'), 1, 1), -1, 'write with offsets');
    assert.equal(client.end('x'), -1, `end(data) after ${how}()`);
    assert.equal(client.end(), -1, `end() after ${how}()`);
    assert.equal(client.bytesWritten, 2, 'nothing more counted as written');

    await withTimeout(serverClosed.promise, 3000, 'server close');
    assert.deepEqual(rx.bytes(), Buffer.from('ok'), 'the peer got only what was written before');
  });
}

test('data handler: this === socket and the socket is the first argument (both sides)', async (t) => {
  const seen = [];
  let accepted = null;
  const serverGot = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s) {
        accepted = s;
      },
      data(s, chunk) {
        seen.push({ side: 'server', self: this, first: s, chunk });
        s.write('pong');
        serverGot.resolve();
      },
    },
  });
  cleanup(t, () => server.stop(true));

  const clientGot = deferred();
  const client = await withTimeout(
    connect({
      hostname: HOST,
      port: server.port,
      socket: {
        data(s, chunk) {
          seen.push({ side: 'client', self: this, first: s, chunk });
          clientGot.resolve();
        },
      },
    }),
    3000,
    'connect',
  );
  cleanup(t, () => client.close());

  client.write('ping');
  await withTimeout(Promise.all([serverGot.promise, clientGot.promise]), 3000, 'ping/pong');

  const server0 = seen.find((e) => e.side === 'server');
  assert.ok(accepted, 'open ran on the server');
  assert.equal(server0.first, accepted, 'server data(s): s is the accepted socket');
  assert.equal(server0.self, accepted, 'server data: this === socket');
  assert.equal(toBuffer(server0.chunk).toString(), 'ping');

  const client0 = seen.find((e) => e.side === 'client');
  assert.equal(client0.first, client, 'client data(s): s is the socket connect resolved with');
  assert.equal(client0.self, client, 'client data: this === socket');
  assert.equal(toBuffer(client0.chunk).toString(), 'pong');
});

test('a new connection never receives a closed connection\'s late events (socket id reuse)', async (t) => {
  // Close a client and stop(true) its server at once, then connect again, many times. A late event
  // of the old client (its `end`) must not reach the new socket that reused its id: every connect
  // must open and resolve, and `open` must be the new socket's first event.
  const ITERATIONS = 300;
  let server = null;
  let client = null;
  cleanup(t, () => {
    if (client) client.close();
    if (server) server.stop(true);
  });
  for (let i = 0; i < ITERATIONS; i++) {
    const events = [];
    const record = (name) =>
      function () {
        events.push(name);
      };
    server = listen({ hostname: HOST, port: 0, socket: { data() {} } });
    const p = connect({
      hostname: HOST,
      port: server.port,
      socket: { open: record('open'), data: record('data'), end: record('end'), close: record('close') },
    });
    client = await withTimeout(p, 2000, `connect #${i}`).catch((err) => {
      err.message += ` (events the new socket got: ${events.join(', ') || 'none'})`;
      throw err;
    });
    assert.deepEqual(events, ['open'], `connect #${i}: open is the first and only event before resolve`);
    client.close();
    client = null;
    server.stop(true);
    server = null;
  }
});

test('a new connection never receives bytes that were sent to a closed connection (socket id reuse)', async (t) => {
  // Even rounds: the server writes a token at once and the client closes as soon as it connected,
  // so the token may still be in flight. Odd rounds: the server writes nothing, so the client must
  // receive nothing at all.
  const ITERATIONS = 300;
  let server = null;
  let client = null;
  cleanup(t, () => {
    if (client) client.close();
    if (server) server.stop(true);
  });
  const leaks = [];
  let hung = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const got = [];
    const silent = i % 2 === 1;
    server = listen({
      hostname: HOST,
      port: 0,
      socket: {
        open(s) {
          if (!silent) s.write(`token-of-connection-${i};`);
        },
        data() {},
      },
    });
    const p = connect({
      hostname: HOST,
      port: server.port,
      socket: {
        data(s, chunk) {
          got.push(toBuffer(chunk).toString());
        },
      },
    });
    client = await withTimeout(p, 1000, `connect #${i}`).catch(() => null);
    if (client === null) hung++; // a stale `end` took the socket: the test above covers that
    if (silent) {
      await new Promise((r) => setTimeout(r, 2));
      if (got.length > 0) leaks.push(`connection #${i} received ${JSON.stringify(got.join(''))}`);
    }
    if (client) client.close();
    client = null;
    server.stop(true);
    server = null;
  }
  t.diagnostic(`connects that never settled: ${hung}`);
  assert.deepEqual(leaks, [], 'no connection received another connection\'s bytes');
});

test("binaryType 'uint8array': each chunk owns its bytes (chunk.buffer holds that chunk only), as Bun's", async () => {
  const chunks = [];
  const got = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      binaryType: 'uint8array',
      data(s, chunk) {
        chunks.push(chunk);
        if (chunks.length === 1) s.write('next');
        else got.resolve();
      },
    },
  });
  const a = require('node:net').connect(server.port, HOST, () => a.write('SECRET-FROM-A'));
  a.on('data', () => require('node:net').connect(server.port, HOST, function () {
    this.write('hello from B');
    this.on('error', () => {});
  }));
  await withTimeout(got.promise, 5000, 'two chunks');
  server.stop(true);
  a.destroy();
  for (const chunk of chunks) {
    assert.equal(Object.getPrototypeOf(chunk), Uint8Array.prototype);
    assert.equal(chunk.byteOffset, 0);
    assert.equal(chunk.buffer.byteLength, chunk.length);
  }
  assert.equal(Buffer.from(chunks[1].buffer).toString(), 'hello from B');
});

test('end(big) then close(): bytesWritten counts the queued rest, which still goes out', async () => {
  const SIZE = 16 << 20;
  const payload = crypto.randomBytes(SIZE);
  const counted = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s) {
        s.end(payload);
        const before = s.bytesWritten;
        s.close();
        counted.resolve({ before, after: s.bytesWritten });
      },
      data() {},
    },
  });
  const received = deferred();
  const c = require('node:net').connect(server.port, HOST);
  const hash = crypto.createHash('sha256');
  let got = 0;
  c.pause(); // the kernel takes only part before close()
  setTimeout(() => c.resume(), 200);
  c.on('data', (d) => {
    got += d.length;
    hash.update(d);
  });
  c.on('end', () => received.resolve());
  const { before, after } = await withTimeout(counted.promise, 5000, 'close');
  await withTimeout(received.promise, 10000, 'all bytes');
  server.stop(true);
  assert.ok(before < SIZE, `the kernel took ${before} of ${SIZE} before close()`);
  assert.equal(after, SIZE);
  assert.equal(got, SIZE);
  assert.equal(hash.digest('hex'), sha256(payload));
});
