'use strict';
// Property test: listen/connect/write with option bags of random shapes either work or throw an
// error with a Node-style `code`, synchronously; never a crash, a hang or a non-Error throw.
const test = require('node:test');
const assert = require('node:assert/strict');
const { listen, connect } = require('..');

/** Deterministic generator (mulberry32), so a failure names a reproducible seed. */
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES = [
  undefined, null, 0, -1, 1.5, NaN, Infinity, 65536, 80, '80', '', 'abc', '127.0.0.1', 'localhost', '::1',
  true, false, {}, [], [1], () => {}, Symbol('s'), 10n, Buffer.from('x'), new Uint8Array(2), new ArrayBuffer(1),
  { data() {} }, { key: 5 }, 'not a pem',
];

function pick(r, list) {
  return list[Math.floor(r() * list.length)];
}

function randomOptions(r) {
  const options = {};
  for (const key of ['hostname', 'port', 'unix', 'socket', 'data', 'tls', 'allowHalfOpen', 'reusePort', 'ipv6Only', 'backlog', 'exclusive']) {
    if (r() < 0.5) options[key] = pick(r, VALUES);
  }
  if (r() < 0.6) {
    const socket = {};
    for (const h of ['open', 'data', 'drain', 'close', 'error', 'end', 'timeout', 'connectError', 'binaryType']) {
      if (r() < 0.4) socket[h] = r() < 0.7 ? () => {} : pick(r, VALUES);
    }
    options.socket = socket;
  }
  if (options.unix !== undefined && typeof options.unix === 'string' && options.unix !== '') options.unix = `\0nbt-fuzz-${options.unix}`;
  return options;
}

function checkThrown(err, what) {
  assert.ok(err instanceof Error, `${what}: threw a non-Error ${String(err)}`);
  assert.equal(typeof err.code, 'string', `${what}: ${err.message} has no code`);
}

test('listen() with 3,000 random option bags: a listener or a coded error', () => {
  const r = rng(1234);
  for (let i = 0; i < 3000; i++) {
    const options = randomOptions(r);
    let server;
    try {
      server = listen(options);
    } catch (err) {
      checkThrown(err, `listen case ${i}`);
      continue;
    }
    assert.equal(typeof server.stop, 'function');
    server.stop(true);
  }
});

test('connect() with 3,000 random option bags: a promise or a synchronous coded error', async () => {
  const r = rng(99);
  const pending = [];
  for (let i = 0; i < 3000; i++) {
    const options = randomOptions(r);
    // Only loopback targets: never send anything elsewhere.
    if (typeof options.hostname === 'string') options.hostname = '127.0.0.1';
    let p;
    try {
      p = connect(options);
    } catch (err) {
      checkThrown(err, `connect case ${i}`);
      continue;
    }
    assert.ok(p instanceof Promise);
    pending.push(p.then((s) => s.terminate(), (err) => checkThrown(err, `connect case ${i} rejection`)));
  }
  await Promise.all(pending);
});

test('write() and end() with random arguments: a count, -1, or a coded error', async () => {
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const socket = await connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } });
  const r = rng(7);
  for (let i = 0; i < 3000; i++) {
    const args = [pick(r, VALUES), r() < 0.5 ? pick(r, VALUES) : undefined, r() < 0.5 ? pick(r, VALUES) : undefined];
    try {
      const n = socket.write(...args);
      assert.equal(typeof n, 'number');
      assert.ok(n >= -1);
    } catch (err) {
      checkThrown(err, `write case ${i}`);
      assert.ok(err instanceof TypeError || err instanceof RangeError, `write case ${i}: ${err}`);
    }
  }
  socket.terminate();
  server.stop(true);
});
