'use strict';
// Guarding a server against slow or greedy peers with the API as documented in the README:
// `timeout(seconds)` ends idle ones, a byte count in `data` cuts off greedy ones; under TLS,
// `tls.handshakeTimeout` ends those that never finish a handshake.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const tls = require('node:tls');
const { listen } = require('..');
const { withTimeout } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const tlsSkip = fx ? false : skipReason();

function guardedServer(cap) {
  const closed = [];
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = { received: 0 };
        socket.timeout(1);
      },
      data(socket, chunk) {
        socket.data.received += chunk.length;
        if (socket.data.received > cap) socket.terminate();
      },
      close(socket) {
        closed.push(socket.data.received);
      },
    },
  });
  return { server, closed };
}

test('idle peers that trickle nothing are closed by the inactivity timeout', async (t) => {
  const { server, closed } = guardedServer(1 << 20);
  t.after(() => server.stop(true));
  const started = Date.now();
  const peers = Array.from({ length: 20 }, () => net.connect(server.port, '127.0.0.1'));
  const ended = peers.map(
    (p) =>
      new Promise((resolve) => {
        p.on('error', () => {});
        p.on('close', resolve);
      }),
  );
  await withTimeout(Promise.all(ended), 5000, 'idle peers closed');
  const waited = Date.now() - started;
  assert.ok(waited >= 900 && waited < 4000, `closed after ${waited} ms`);
  assert.equal(closed.length, 20);
});

test('a peer that keeps sending stays open; one that sends too much is cut off', async (t) => {
  const { server, closed } = guardedServer(64 * 1024);
  t.after(() => server.stop(true));
  const polite = net.connect(server.port, '127.0.0.1');
  polite.on('error', () => {});
  const ticker = setInterval(() => polite.write('x'), 300);
  t.after(() => clearInterval(ticker));
  const greedy = net.connect(server.port, '127.0.0.1');
  const greedyError = new Promise((resolve) => {
    greedy.on('error', (err) => resolve(err.code));
    greedy.on('close', () => resolve('closed'));
  });
  greedy.on('connect', () => greedy.write(Buffer.alloc(1 << 20)));
  assert.match(await withTimeout(greedyError, 5000, 'greedy peer cut off'), /ECONNRESET|EPIPE|closed/);
  await new Promise((r) => setTimeout(r, 1800));
  assert.equal(polite.destroyed, false, 'a peer that keeps sending is not timed out');
  assert.ok(closed.some((n) => n > 64 * 1024), `the greedy socket was closed after its cap: ${closed}`);
  polite.destroy();
});

test('a TLS peer that never completes its handshake is dropped after tls.handshakeTimeout (node:tls: 120 s); one that did is not', { skip: tlsSkip }, async (t) => {
  const events = [];
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, handshakeTimeout: 300 },
    socket: {
      open: () => events.push('open'),
      data() {},
      close: () => events.push('close'),
    },
  });
  t.after(() => server.stop(true));
  // A raw peer that sends nothing: the server's open waits for a handshake that never comes.
  const silent = net.connect(server.port, '127.0.0.1');
  silent.on('error', () => {});
  silent.resume();
  const started = Date.now();
  await withTimeout(new Promise((resolve) => silent.on('close', resolve)), 5000, 'the silent peer dropped');
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `dropped after ${took} ms`);
  assert.deepEqual(events, [], 'no handler runs for a connection that never opened');
  // A client that completed its handshake keeps an idle connection: the timer ended at `open`.
  const client = tls.connect({ host: '127.0.0.1', port: server.port, ca: fx.ca.cert, servername: 'localhost' });
  client.on('error', () => {});
  t.after(() => client.destroy());
  await withTimeout(new Promise((resolve) => client.once('secureConnect', resolve)), 5000, 'handshake');
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.equal(client.destroyed, false);
  assert.deepEqual(events, ['open']);
});

test('tls.handshakeTimeout: a number of milliseconds, 0 meaning the default, as node:tls', { skip: tlsSkip }, () => {
  const base = { hostname: '127.0.0.1', port: 0, socket: { data() {} } };
  const tlsWith = (handshakeTimeout) => ({ ...base, tls: { key: fx.server.key, cert: fx.server.cert, handshakeTimeout } });
  for (const bad of ['1', null, {}]) {
    assert.throws(() => listen(tlsWith(bad)), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /tls\.handshakeTimeout/ });
  }
  for (const bad of [-1, NaN, Infinity, 2 ** 31]) {
    assert.throws(() => listen(tlsWith(bad)), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /tls\.handshakeTimeout/ });
  }
  for (const ok of [0, 1, 120000, undefined]) listen(tlsWith(ok)).stop();
});

test('tls.handshakeTimeout: a handshake that finishes as the deadline passes opens a socket that stays open (no stray timeout)', { skip: tlsSkip }, async (t) => {
  // A deadline of a few ms makes the expiry often land in the batch that brings the open.
  const closedPorts = new Set();
  let timeouts = 0;
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, handshakeTimeout: 3 },
    socket: {
      data() {},
      timeout: () => timeouts++,
      close: (s) => closedPorts.add(s.remotePort),
    },
  });
  t.after(() => server.stop(true));
  let opened = 0;
  for (let i = 0; i < 80; i++) {
    const client = tls.connect({ host: '127.0.0.1', port: server.port, ca: fx.ca.cert, servername: 'localhost' });
    client.on('error', () => {});
    const secured = await new Promise((resolve) => {
      client.once('secureConnect', () => resolve(true));
      client.once('close', () => resolve(false));
    });
    if (secured) {
      const port = client.localPort;
      await new Promise((resolve) => setTimeout(resolve, 15));
      // Its open has run by now (or it is still on the way): either way, nothing closed it.
      assert.equal(closedPorts.has(port), false, `connection ${i} closed after its handshake`);
      opened++;
    }
    client.destroy();
  }
  assert.equal(timeouts, 0, 'no timeout handler ran: the application armed none');
  t.diagnostic(`${opened} of 80 finished their handshake within 3 ms`);
});
