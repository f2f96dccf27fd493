'use strict';
// ArrayBufferSink (alone and as the write buffer of a socket, as in the seed document) and file().
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { listen, connect, ArrayBufferSink, file } = require('..');
const { deferred, withTimeout, sha256 } = require('./helpers');

const T = 5000;

const bytes = (x) => Buffer.from(x instanceof ArrayBuffer ? new Uint8Array(x) : x);

describe('ArrayBufferSink', () => {
  test('start({ stream: true }): flush() returns the bytes since the last flush as an ArrayBuffer', () => {
    const sink = new ArrayBufferSink();
    sink.start({ stream: true, highWaterMark: 1024 });
    sink.write('héllo ');
    sink.write(new Uint8Array([1, 2, 3]));
    sink.write(Buffer.from(' buf'));
    const ab = new ArrayBuffer(2);
    new Uint8Array(ab).set([0xfe, 0xff]);
    sink.write(ab);
    let out = sink.flush();
    assert.ok(out instanceof ArrayBuffer, `flush() returned ${Object.prototype.toString.call(out)}`);
    assert.deepEqual(
      bytes(out),
      Buffer.concat([Buffer.from('héllo ', 'utf8'), Buffer.from([1, 2, 3]), Buffer.from(' buf'), Buffer.from([0xfe, 0xff])]),
    );

    // Nothing written since: an empty ArrayBuffer.
    out = sink.flush();
    assert.ok(out instanceof ArrayBuffer);
    assert.equal(out.byteLength, 0);

    // Only what came after the previous flush.
    sink.write('second');
    out = sink.flush();
    assert.equal(bytes(out).toString(), 'second');

    // end() returns the rest.
    sink.write('tail');
    const rest = sink.end();
    assert.ok(rest instanceof ArrayBuffer);
    assert.equal(bytes(rest).toString(), 'tail');
  });

  test('flushed buffers are independent of later writes', () => {
    const sink = new ArrayBufferSink();
    sink.start({ stream: true, highWaterMark: 8 });
    sink.write('aaaa');
    const first = sink.flush();
    sink.write('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'); // also grows past highWaterMark
    const second = sink.flush();
    assert.equal(bytes(first).toString(), 'aaaa');
    assert.equal(bytes(second).toString(), 'b'.repeat(44));
  });

  test('asUint8Array: flush() and end() return Uint8Arrays', () => {
    const sink = new ArrayBufferSink();
    sink.start({ stream: true, asUint8Array: true });
    sink.write('abc');
    const out = sink.flush();
    assert.ok(out instanceof Uint8Array, `got ${Object.prototype.toString.call(out)}`);
    assert.equal(Buffer.from(out).toString(), 'abc');
    sink.write('def');
    const rest = sink.end();
    assert.ok(rest instanceof Uint8Array);
    assert.equal(Buffer.from(rest).toString(), 'def');
  });

  test('the constructor takes the options too [differs from Bun 1.4.5]', () => {
    const sink = new ArrayBufferSink({ stream: true, highWaterMark: 1024 });
    sink.write('h');
    sink.write('i');
    const out = sink.flush();
    assert.ok(out instanceof ArrayBuffer, `flush() returned ${typeof out}`);
    assert.equal(bytes(out).toString(), 'hi');
    sink.write('!');
    assert.equal(bytes(sink.end()).toString(), '!');

    const u8 = new ArrayBufferSink({ stream: true, asUint8Array: true });
    u8.write('x');
    const got = u8.flush();
    assert.ok(got instanceof Uint8Array);
    assert.equal(Buffer.from(got).toString(), 'x');
  });

  test('typed arrays and DataViews are written by their view only', () => {
    const sink = new ArrayBufferSink({ stream: true });
    const backing = new Uint8Array([9, 9, 1, 2, 3, 4, 9, 9]);
    sink.write(backing.subarray(2, 6));
    sink.write(new DataView(backing.buffer, 3, 2));
    sink.write(new Uint16Array(backing.buffer, 2, 1));
    assert.deepEqual([...new Uint8Array(sink.flush())], [1, 2, 3, 4, 2, 3, 1, 2]);
  });

  test('write() rejects values that are not strings or binary data', () => {
    const sink = new ArrayBufferSink({ stream: true });
    for (const bad of [123, {}, null, undefined, [1, 2]]) {
      assert.throws(() => sink.write(bad), TypeError, `write(${String(bad)})`);
    }
    sink.write('ok');
    assert.equal(bytes(sink.flush()).toString(), 'ok');
  });

  test('without stream: flush() does not hand out the bytes; end() returns everything', () => {
    const sink = new ArrayBufferSink();
    sink.start({ highWaterMark: 64 });
    sink.write('hello');
    const f = sink.flush();
    assert.equal(typeof f, 'number', 'non-stream flush() returns a number, not the bytes');
    sink.write(' world');
    assert.equal(typeof sink.flush(), 'number');
    const all = sink.end();
    assert.ok(all instanceof ArrayBuffer);
    assert.equal(bytes(all).toString(), 'hello world');
  });

  test('start() again resets the sink', () => {
    const sink = new ArrayBufferSink({ stream: true });
    sink.write('dropped');
    sink.start({ stream: true });
    sink.write('kept');
    assert.equal(bytes(sink.flush()).toString(), 'kept');
  });
});

// ---- with a socket, as in the seed document's "Buffering" section ------------------------------

/** A server that collects everything it receives; `done` resolves after `expect` bytes. */
function collectingServer(t, expect, { pauseFirstMs = 0 } = {}) {
  const chunks = [];
  let received = 0;
  const done = deferred();
  const accepted = deferred();
  const listener = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        if (pauseFirstMs > 0) {
          s.pause();
          setTimeout(() => s.resume(), pauseFirstMs);
        }
        accepted.resolve(s);
      },
      data(s, d) {
        chunks.push(Buffer.from(d));
        received += d.length;
        if (received >= expect) done.resolve(Buffer.concat(chunks));
      },
    },
  });
  t.after(() => listener.stop(true));
  return { listener, done: done.promise, accepted: accepted.promise, chunks };
}

test('seed example: small writes coalesced in a sink, flushed in a microtask, one socket write', async (t) => {
  const server = collectingServer(t, 5);
  const socket = await withTimeout(
    connect({ hostname: '127.0.0.1', port: server.listener.port, socket: { data() {} } }),
    T,
    'connect',
  );
  t.after(() => socket.close());
  const sink = new ArrayBufferSink();
  sink.start({ stream: true, highWaterMark: 1024 });
  sink.write('h');
  sink.write('e');
  sink.write('l');
  sink.write('l');
  sink.write('o');
  const flushed = deferred();
  queueMicrotask(() => {
    const data = sink.flush();
    const wrote = socket.write(data);
    if (wrote < data.byteLength) sink.write(new Uint8Array(data, Math.max(wrote, 0)));
    flushed.resolve(wrote);
  });
  const wrote = await flushed.promise;
  assert.equal(wrote, 5);
  assert.equal(socket.bytesWritten, 5);
  const got = await withTimeout(server.done, T, 'server receives hello');
  assert.equal(got.toString(), 'hello');
});

test('sink-buffered writer handles partial writes and drain: every byte arrives in order', async (t) => {
  const TOTAL = 16 << 20;
  const payload = crypto.randomBytes(TOTAL);
  // The server does not read at first, so the kernel buffers fill and writes come up short.
  const server = collectingServer(t, TOTAL, { pauseFirstMs: 300 });

  const sink = new ArrayBufferSink();
  sink.start({ stream: true, highWaterMark: 1024, asUint8Array: true });
  let produced = 0;
  let blocked = false;
  let shortWrites = 0;
  let drains = 0;
  let socket;

  // Many small application writes go into the sink; each round flushes it into one socket write,
  // and a short write puts the rest back in the (now empty) sink, in front of later writes.
  function pump() {
    while (!blocked) {
      const stop = Math.min(produced + (256 << 10), TOTAL);
      while (produced < stop) {
        const n = Math.min(1000, stop - produced);
        sink.write(payload.subarray(produced, produced + n));
        produced += n;
      }
      const data = sink.flush();
      if (data.byteLength === 0) return; // everything is out
      const wrote = socket.write(data);
      assert.ok(wrote >= 0, `write returned ${wrote}`);
      if (wrote < data.byteLength) {
        sink.write(data.subarray(wrote));
        shortWrites++;
        blocked = true;
      }
    }
  }

  socket = await withTimeout(
    connect({
      hostname: '127.0.0.1',
      port: server.listener.port,
      socket: {
        data() {},
        drain() {
          drains++;
          blocked = false;
          queueMicrotask(pump);
        },
      },
    }),
    T,
    'connect',
  );
  t.after(() => socket.close());
  queueMicrotask(pump);
  const got = await withTimeout(server.done, 15000, 'all bytes at the server').catch((err) => {
    const got = server.chunks.reduce((n, c) => n + c.length, 0);
    err.message += ` (produced ${produced}, bytesWritten ${socket.bytesWritten}, server got ${got}, blocked ${blocked}, short writes ${shortWrites}, drains ${drains})`;
    throw err;
  });
  assert.equal(got.length, TOTAL);
  assert.equal(sha256(got), sha256(payload), 'bytes arrive complete and in order');
  assert.equal(socket.bytesWritten, TOTAL);
  assert.ok(shortWrites > 0, 'the test must have met backpressure (a short write)');
  assert.ok(drains > 0, 'drain ran after a short write');
  t.diagnostic(`short writes: ${shortWrites}, drains: ${drains}`);
});

// ---- file() -----------------------------------------------------------------------------------

describe('file()', () => {
  test('returns a lazy reference: no throw for a missing file at creation', () => {
    const missing = path.join(os.tmpdir(), `node-bun-tcp-missing-${process.pid}-${Date.now()}.pem`);
    assert.equal(fs.existsSync(missing), false);
    const ref = file(missing);
    assert.ok(ref !== null && typeof ref === 'object', 'file() returns an object');
  });

  test('the file is not read at creation: contents written afterwards are what it holds', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bun-tcp-file-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const p = path.join(dir, 'later.pem');
    const ref = file(p);
    fs.writeFileSync(p, 'written after file()');
    // No public reader is in SPEC beyond use by tls options; when the reference exposes one, it
    // must see the current contents.
    if (typeof ref.text === 'function') assert.equal(ref.text(), 'written after file()');
    else t.diagnostic('no text() on the file reference; laziness checked by creation only');
  });

  test('accepts a file: URL', () => {
    const ref = file(pathToFileURL(path.join(os.tmpdir(), 'whatever.pem')));
    assert.ok(ref !== null && typeof ref === 'object');
  });
});

test('without stream, flush() counts the bytes written since the last flush and end() still returns them all', () => {
  const { ArrayBufferSink } = require('..');
  const sink = new ArrayBufferSink();
  sink.start({ stream: false });
  sink.write('hello');
  assert.equal(sink.flush(), 5);
  sink.write('abc');
  assert.equal(sink.flush(), 3);
  assert.equal(sink.flush(), 0);
  assert.equal(Buffer.from(sink.end()).toString(), 'helloabc');
});

test('a detached ArrayBuffer: ArrayBufferSink.write and tls.key throw ERR_INVALID_ARG_TYPE', () => {
  const { ArrayBufferSink, listen } = require('..');
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  const typeError = (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE';
  assert.throws(() => new ArrayBufferSink().write(ab), typeError);
  assert.throws(() => listen({ hostname: '127.0.0.1', port: 0, tls: { key: ab, cert: ab }, socket: { data() {} } }), (err) => typeError(err) && /tls\.key/.test(err.message));
  const sink = new ArrayBufferSink();
  assert.equal(sink.write(new ArrayBuffer(0)), 0, 'an empty (not detached) buffer is fine');
});

test('null options mean none, as Bun takes them: new ArrayBufferSink(null), start(null)', () => {
  const sink = new ArrayBufferSink(null);
  sink.start(null);
  sink.write('abc');
  assert.equal(sink.flush(), 3, 'not streaming: flush() counts');
  assert.equal(Buffer.from(sink.end()).toString(), 'abc');
  assert.throws(() => sink.start(5), { code: 'ERR_INVALID_ARG_TYPE' });
});
