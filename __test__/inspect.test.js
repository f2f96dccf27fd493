'use strict';
// util.inspect(socket) / console.log(listener): what a person debugging sees.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { listen, connect } = require('..');
const { deferred, withTimeout } = require('./helpers');

const show = (value, options) => util.inspect(value, { colors: false, ...options });

test('a listener shows its hostname, port and whether it is listening', () => {
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  try {
    const text = show(server);
    assert.match(text, /^Listener \{/);
    assert.match(text, /hostname: '127\.0\.0\.1'/);
    assert.match(text, new RegExp(`port: ${server.port}\\b`));
    assert.match(text, /listening: true/);
    // console.log formats with util.format, which uses the same custom inspect.
    assert.equal(util.format(server), show(server));
    assert.equal(util.format('%o', server).includes(`port: ${server.port}`), true);
  } finally {
    server.stop();
  }
  assert.match(show(server), /listening: false/);
});

test('a unix listener shows its path', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-bun-tcp-inspect-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const unix = path.join(dir, 's.sock');
  const server = listen({ unix, socket: { data() {} } });
  try {
    const text = show(server);
    assert.ok(text.includes(`unix: '${unix}'`), text);
    assert.doesNotMatch(text, /port:/);
  } finally {
    server.stop();
  }
});

test('a socket shows its addresses, ports, readyState, TLS state and data, as it changes', async () => {
  const accepted = deferred();
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    data: { role: 'server' },
    socket: {
      open(s) {
        accepted.resolve(s);
      },
      data() {},
    },
  });
  try {
    const client = await connect({ hostname: '127.0.0.1', port: server.port, data: { role: 'client' }, socket: { data() {} } });
    const peer = await withTimeout(accepted.promise, 5000, 'accept');

    const text = show(client);
    assert.match(text, /^Socket \{/);
    assert.match(text, /readyState: 1\b/);
    assert.match(text, /remoteAddress: '127\.0\.0\.1'/);
    assert.match(text, new RegExp(`remotePort: ${server.port}\\b`));
    assert.match(text, /localAddress: '127\.0\.0\.1'/);
    assert.match(text, new RegExp(`localPort: ${client.localPort}\\b`));
    assert.match(text, /tls: false/);
    assert.match(text, /role: 'client'/);
    assert.match(show(peer), new RegExp(`remotePort: ${client.localPort}\\b`));
    assert.match(show(peer), /role: 'server'/);
    assert.equal(util.format(client), text);

    client.write('abc');
    assert.match(show(client), /bytesWritten: 3\b/);
    client.end();
    assert.match(show(client), /readyState: -2\b/);
    client.terminate();
    const closed = show(client);
    assert.match(closed, /readyState: -1\b/);
    assert.match(closed, new RegExp(`remotePort: ${server.port}\\b`), 'a closed socket still says where it was connected');

    // Nested and depth-limited inspection works too (and never throws).
    assert.match(show({ socket: peer }, { depth: 0 }), /socket: \[?Socket/);
    assert.match(show(peer, { depth: 0 }), /^Socket/);
    assert.match(show({ a: { b: { socket: peer } } }), /Socket/);
  } finally {
    server.stop(true);
  }
});

test('Object.prototype.toString and JSON.stringify answer as for Bun\'s: [object TCPSocket|TLSSocket|Listener|ArrayBufferSink], {}; bytesWritten is read-only', async (t) => {
  const { ArrayBufferSink } = require('..');
  const server = listen({ hostname: '127.0.0.1', port: 0, data: { a: 1 }, socket: { data() {} } });
  t.after(() => server.stop(true));
  const client = await connect({ hostname: '127.0.0.1', port: server.port, data: { b: 2 }, socket: { data() {} } });
  t.after(() => client.close());
  assert.equal(String(client), '[object TCPSocket]');
  assert.equal(String(server), '[object Listener]');
  assert.equal(Object.prototype.toString.call(new ArrayBufferSink()), '[object ArrayBufferSink]');
  // A client's table is its own (a cycle through its internals): no TypeError, nothing internal.
  assert.equal(JSON.stringify({ client, server }), '{"client":{},"server":{}}');
  // The prototypes themselves, and objects made from them, do not throw either.
  assert.equal(Object.prototype.toString.call(Object.getPrototypeOf(client)), '[object TCPSocket]');
  assert.equal(JSON.stringify(Object.create(client)), '{}');
  assert.equal(client.write('abc'), 3);
  assert.throws(() => { 'use strict'; client.bytesWritten = 0; }, TypeError);
  assert.equal(client.bytesWritten, 3);
});
