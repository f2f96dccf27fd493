'use strict';
// Guarding a server against slow or greedy peers with the API as documented in the README:
// `timeout(seconds)` ends idle ones, a byte count in `data` cuts off greedy ones.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { listen } = require('..');
const { withTimeout } = require('./helpers');

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
