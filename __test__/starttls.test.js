'use strict';
// STARTTLS with this package on both ends: the server upgrades its accepted socket, the client its
// connected one, and the conversation goes on under TLS with new handlers and data.
const test = require('node:test');
const assert = require('node:assert/strict');
const { listen, connect } = require('..');
const { fixtures, skipReason } = require('./tls-fixtures');
const { deferred, withTimeout } = require('./helpers');

const fx = fixtures();
const skip = fx ? false : skipReason();

test('both ends upgrade a plain connection with upgradeTLS and echo under TLS', { skip }, async (t) => {
  const events = [];
  const done = deferred();
  let serverRaw;
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(s, d) {
        if (String(d) !== 'STARTTLS\n') return events.push(`plain server data after upgrade: ${d}`);
        s.write('OK\n');
        const [raw, secure] = s.upgradeTLS({
          tls: { key: fx.server.key, cert: fx.server.cert },
          data: { upgraded: true },
          socket: {
            open(x) {
              events.push(`server tls open ${x.getTLSVersion()} ${x.data.upgraded}`);
            },
            data(x, chunk) {
              x.write(`secure:${chunk}`);
            },
            close() {
              events.push('server tls close');
            },
          },
        });
        serverRaw = raw;
        assert.equal(raw, s);
        assert.notEqual(secure, s);
      },
      close() {
        events.push('server raw close');
      },
    },
  });
  t.after(() => server.stop(true));
  const client = await connect({
    hostname: '127.0.0.1',
    port: server.port,
    socket: {
      data(s, d) {
        if (String(d) !== 'OK\n') return events.push(`plain client data: ${d}`);
        const [raw] = s.upgradeTLS({
          tls: { ca: fx.ca.cert, serverName: 'localhost' },
          socket: {
            open(x) {
              events.push(`client tls open ${x.authorized}`);
              x.write('hello');
            },
            data(x, chunk) {
              events.push(`client got ${chunk}`);
              x.end();
            },
            close() {
              events.push('client tls close');
              done.resolve();
            },
          },
        });
        assert.equal(raw.write('x'), -1, 'the raw socket no longer writes');
      },
    },
  });
  client.write('STARTTLS\n');
  await withTimeout(done.promise, 5000, 'STARTTLS exchange');
  assert.deepEqual(events.slice(0, 3).sort(), ['client got secure:hello', 'client tls open true', 'server tls open TLSv1.3 true'].sort());
  assert.ok(events.includes('client tls close'));
  assert.ok(!events.some((e) => e.startsWith('plain')), `no ciphertext reached the raw handlers: ${events}`);
  assert.equal(serverRaw.readyState, -1);
});
