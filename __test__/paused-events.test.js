'use strict';
// Events that arrive while a socket is paused wait, in order, and are delivered after resume() as
// they would have been without the pause: chunks in the binaryType of the table at delivery, a
// handler's rejected promise reaching `error` before the next event, and a reset that followed a
// held `end` closing with its error.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();

const kind = (c) => (c instanceof ArrayBuffer ? 'arraybuffer' : Buffer.isBuffer(c) ? 'buffer' : c instanceof Uint8Array ? 'uint8array' : typeof c);

// Under TLS each 16 KiB record is a data event of its own: the records read with the first one
// wait behind the pause it makes.
test('chunks held by pause() arrive in the binaryType of the table reload() installed meanwhile', { skip: fx ? false : skipReason() }, async (t) => {
  const kinds = {};
  let total = 0;
  const done = deferred();
  let first = true;
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: {
    data(s, chunk) {
      total += chunk.byteLength;
      if (!first) return;
      first = false;
      s.pause();
      setTimeout(() => {
        server.reload({ socket: {
          binaryType: 'arraybuffer',
          data(_s, later) {
            kinds[kind(later)] = (kinds[kind(later)] || 0) + 1;
            total += later.byteLength;
          },
          end() { done.resolve(); },
        } });
        s.resume();
      }, 100);
    },
  } });
  t.after(() => server.stop(true));
  const client = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } });
  const payload = Buffer.alloc(1 << 20, 97);
  assert.equal(client.end(payload), payload.length);
  await withTimeout(done.promise, 8000, 'end');
  assert.deepEqual(Object.keys(kinds), ['arraybuffer']);
  assert.equal(total, payload.length);
});

// Under TLS each 16 KiB record is a data event of its own: several wait behind one pause.
test("a held data event's rejected promise reaches error before the next held event, and before close", { skip: fx ? false : skipReason() }, async (t) => {
  const order = [];
  let n = 0;
  const closed = deferred();
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: {
    data(s) {
      n++;
      order.push(`data${n}`);
      if (n === 1) {
        s.pause();
        setTimeout(() => s.resume(), 100);
        return undefined;
      }
      return Promise.reject(new Error(`rejected ${n}`));
    },
    error(_s, err) { order.push(`error(${err.message})`); },
    close() { order.push('close'); closed.resolve(); },
  } });
  t.after(() => server.stop(true));
  const client = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } });
  client.end(Buffer.alloc(40000, 97)); // records of 16384, 16384 and 7232 bytes
  await withTimeout(closed.promise, 8000, 'close');
  assert.ok(n >= 3, `${n} data events`);
  const expected = ['data1'];
  for (let i = 2; i <= n; i++) expected.push(`data${i}`, `error(rejected ${i})`);
  expected.push('close');
  assert.deepEqual(order, expected);
});

test('a reset that came behind a held end: close gets the error, not a clean close', async (t) => {
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('error', () => {});
    sock.pause();
    sock.end('hello');
    setTimeout(() => sock.resetAndDestroy(), 300);
  });
  await new Promise((r) => server.listen(0, HOST, r));
  t.after(() => server.close());
  const closed = deferred();
  const events = [];
  await connect({ hostname: HOST, port: server.address().port, allowHalfOpen: true, socket: {
    data(s) {
      events.push('data');
      s.pause();
      setTimeout(() => s.end(Buffer.alloc(8 << 20, 120)), 100);
      setTimeout(() => s.resume(), 600);
    },
    end() { events.push('end'); },
    close(_s, err) { closed.resolve(err); },
  } });
  const err = await withTimeout(closed.promise, 8000, 'close');
  // The end comes first when the FIN was read before the reset (held behind the pause with it).
  assert.deepEqual(events.slice(0, 1), ['data']);
  assert.ok(err instanceof Error, `close got an error (events: ${events})`);
  assert.match(err.code, /^(EPIPE|ECONNRESET)$/);
});

// A reset delivers what was held while paused (paused-peer.test.js); a handler that resume()s
// during that delivery must not start a second one that runs ahead of its promise jobs.
test('resume() inside the delivery a reset forces keeps each async handler\'s jobs before the next event', { skip: fx ? false : skipReason() }, async (t) => {
  const log = [];
  const closed = deferred();
  let n = 0;
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: {
    open(s) { s.pause(); },
    async data(s) {
      const k = ++n;
      log.push(`data${k}`);
      if (k === 1) s.resume();
      await null;
      log.push(`jobs${k}`);
    },
    close(_s, err) {
      log.push(`close ${err && err.code}`);
      closed.resolve();
    },
  } });
  t.after(() => server.stop(true));
  const raw = net.connect({ host: HOST, port: server.port });
  raw.on('error', () => {});
  const peer = require('node:tls').connect({ socket: raw, ca: fx.ca.cert, servername: 'localhost' });
  peer.on('error', () => {});
  await new Promise((resolve) => peer.once('secureConnect', resolve));
  // Three 16 KiB records: three chunks held behind the pause.
  await new Promise((resolve) => peer.write(Buffer.alloc(40 << 10, 1), resolve));
  await new Promise((resolve) => setTimeout(resolve, 150));
  raw.resetAndDestroy();
  await withTimeout(closed.promise, 5000, 'close');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(n >= 2, `several chunks were held (${log})`);
  const expected = [];
  for (let k = 1; k <= n; k++) expected.push(`data${k}`, `jobs${k}`);
  expected.push('close ECONNRESET');
  assert.deepEqual(log, expected);
});
