'use strict';
// connect({ timeout }) against a port that drops SYNs: the connect fails with ETIMEDOUT in time
// instead of waiting for the kernel's minutes-long retries; in time, it is the inactivity timeout.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const readline = require('node:readline');
const net = require('node:net');
const { connect, listen } = require('..');
const { withTimeout } = require('./helpers');

const python = ['python3', 'python'].find((p) => spawnSync(p, ['-c', 'pass']).status === 0);

/**
 * A loopback port whose SYNs go unanswered: a listener with backlog 0 that never accepts, its
 * queue filled by one connection. Returns { port, stop }.
 */
async function droppingPort(t) {
  const child = spawn(python, ['-c', [
    'import socket, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(60)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const port = Number(await new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', resolve)));
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  t.after(() => filler.destroy());
  await new Promise((resolve) => filler.once('connect', resolve));
  return port;
}

test('a connect to a port that drops SYNs fails with ETIMEDOUT after the timeout', { skip: !python && 'python3 is needed to hold a port that drops SYNs' }, async (t) => {
  const port = await droppingPort(t);
  const started = Date.now();
  const seen = [];
  const err = await withTimeout(
    connect({
      hostname: '127.0.0.1',
      port,
      timeout: 0.5,
      socket: {
        data() {},
        open() {
          seen.push('open');
        },
        connectError(s, e) {
          seen.push(`connectError ${e.code}`);
        },
        close() {
          seen.push('close');
        },
      },
    }).then(() => null, (e) => e),
    5000,
    'connect with timeout',
  );
  const waited = Date.now() - started;
  assert.ok(err, 'the connect must fail');
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.syscall, 'connect');
  assert.equal(err.port, port);
  assert.ok(waited >= 450 && waited < 3000, `failed after ${waited} ms`);
  assert.deepEqual(seen, ['connectError ETIMEDOUT']);
});

test('a connect that succeeds in time keeps the timeout as its inactivity timeout', async (t) => {
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  t.after(() => server.stop(true));
  const events = [];
  const started = Date.now();
  const closed = new Promise((resolve) => {
    connect({
      hostname: '127.0.0.1',
      port: server.port,
      timeout: 0.5,
      socket: {
        data() {},
        timeout() {
          events.push(`timeout ${Date.now() - started >= 400}`);
        },
        close() {
          events.push('close');
          resolve();
        },
      },
    });
  });
  await withTimeout(closed, 5000, 'idle socket timed out');
  assert.deepEqual(events, ['timeout true', 'close']);
});

test('bad timeout values throw synchronously', () => {
  const base = { hostname: '127.0.0.1', port: 1, socket: { data() {} } };
  assert.throws(() => connect({ ...base, timeout: '1' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => connect({ ...base, timeout: -1 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => connect({ ...base, timeout: NaN }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
});

/** Whether this host has IPv6 loopback (a listener can bind ::1). */
function hasIPv6Loopback() {
  try {
    const l = listen({ hostname: '::1', port: 0, socket: { data() {} } });
    l.stop();
    return true;
  } catch {
    return false;
  }
}

// `localhost` is 127.0.0.1, then ::1. A first address that drops SYNs (as an IPv6 address does on
// a host without an IPv6 route) gives way to the next after 250 ms, as with node:net's
// autoSelectFamily, instead of holding the connect for the kernel's two minutes of retries.
test('a first address that drops SYNs gives way to the next after 250 ms; the connect timeout names the first address', { skip: (!python && 'python3 is needed to hold a port that drops SYNs') || (!hasIPv6Loopback() && 'no IPv6 loopback') }, async (t) => {
  const port = await droppingPort(t);
  const server = listen({ hostname: '::1', port, ipv6Only: true, socket: { data() {} } });
  t.after(() => server.stop(true));
  const started = Date.now();
  const socket = await withTimeout(connect({ hostname: 'localhost', port, socket: { data() {} } }), 5000, 'connect to localhost');
  const waited = Date.now() - started;
  t.after(() => socket.close());
  assert.equal(socket.remoteAddress, '::1');
  assert.ok(waited >= 200 && waited < 2000, `connected after ${waited} ms`);

  // The overall `timeout` is the whole connect's: within it, the next address is still tried.
  const again = await withTimeout(connect({ hostname: 'localhost', port, timeout: 2, socket: { data() {} } }), 5000, 'connect with timeout');
  t.after(() => again.close());
  assert.equal(again.remoteAddress, '::1');

  // With only the dropping address, the timeout's error names it (not an address never tried).
  server.stop(true);
  const err = await connect({ hostname: 'localhost', port, timeout: 0.1, socket: { data() {}, connectError() {} } }).then(() => null, (e) => e);
  assert.ok(err, 'the connect must fail');
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.address, '127.0.0.1');
});
