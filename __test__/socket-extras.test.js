'use strict';
// Bun's extras beyond the documented API, for code ported from Bun: `fd` on sockets and
// listeners, `listener.getsockname(out)`, and `setTypeOfService`/`getTypeOfService`, each
// compared with what Bun 1.4.5 returns (0 or a negative errno, -9 once closed, -22 on unix).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, until } = require('./helpers');

const EBADF = -os.constants.errno.EBADF;
const EINVAL = -os.constants.errno.EINVAL;

async function pair(hostname = HOST) {
  const accepted = deferred();
  const closed = deferred();
  const server = listen({
    hostname,
    port: 0,
    socket: { open: (s) => accepted.resolve(s), data() {}, close: (s) => closed.resolve(s.fd) },
  });
  const client = await connect({ hostname, port: server.port, socket: { data() {} } });
  const peer = await withTimeout(accepted.promise, 2000, 'accept');
  return { server, client, peer, peerFdInClose: closed.promise };
}

test('socket.fd and listener.fd are the live descriptors, -1 once closed or stopped', async () => {
  const { server, client, peer, peerFdInClose } = await pair();
  for (const fd of [server.fd, client.fd, peer.fd]) {
    assert.ok(Number.isInteger(fd) && fd > 2, `fd ${fd}`);
    assert.ok(fs.fstatSync(fd).isSocket());
  }
  assert.equal(new Set([server.fd, client.fd, peer.fd]).size, 3);
  client.end();
  assert.equal(await withTimeout(peerFdInClose, 2000, 'close'), -1, 'fd inside close');
  assert.equal(peer.fd, -1);
  // The client closes at the peer's FIN, which may come in a later turn than the peer's close.
  await until(() => client.fd === -1, 2000, 'client closed');
  server.stop();
  assert.equal(server.fd, -1);
});

test('listener.getsockname fills family, address and port; nothing for unix or once stopped', (t) => {
  const v4 = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const out = {};
  assert.equal(v4.getsockname(out), undefined);
  assert.deepEqual(out, { family: 'IPv4', address: HOST, port: v4.port });
  assert.throws(() => v4.getsockname(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => v4.getsockname('x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  v4.stop();
  const after = {};
  v4.getsockname(after);
  assert.deepEqual(after, {});

  let v6;
  try {
    v6 = listen({ hostname: '::1', port: 0, socket: { data() {} } });
  } catch (err) {
    t.diagnostic(`no IPv6 loopback here (${err.code}); IPv6 part skipped`);
  }
  if (v6) {
    const out6 = {};
    v6.getsockname(out6);
    assert.deepEqual(out6, { family: 'IPv6', address: '::1', port: v6.port });
    v6.stop();
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-extras-'));
  const unix = listen({ unix: path.join(dir, 's.sock'), socket: { data() {} } });
  const outUnix = {};
  unix.getsockname(outUnix);
  assert.deepEqual(outUnix, {});
  assert.ok(unix.fd > 2);
  unix.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('setTypeOfService sets what getTypeOfService reads back from the kernel; Bun-shaped errors', async () => {
  const { server, client, peer } = await pair();
  assert.equal(client.getTypeOfService(), 0);
  assert.equal(client.setTypeOfService(0x10), 0);
  assert.equal(client.getTypeOfService(), 0x10);
  assert.equal(peer.setTypeOfService(0xb8), 0);
  assert.equal(peer.getTypeOfService(), 0xb8);
  assert.equal(client.setTypeOfService(), 0, 'no argument: 0');
  assert.equal(client.getTypeOfService(), 0);
  for (const bad of [-1, 256]) {
    assert.throws(() => client.setTypeOfService(bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  }
  for (const bad of ['16', true, 1.5, NaN, Infinity, null]) {
    assert.throws(() => client.setTypeOfService(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, String(bad));
  }
  client.close();
  assert.equal(client.setTypeOfService(8), EBADF);
  assert.equal(client.getTypeOfService(), EBADF);
  server.stop(true);
});

test('type of service on IPv6 is the traffic class; unix sockets answer EINVAL', async (t) => {
  let six;
  try {
    six = await pair('::1');
  } catch (err) {
    t.diagnostic(`no IPv6 loopback here (${err.code}); IPv6 part skipped`);
  }
  if (six) {
    assert.equal(six.client.setTypeOfService(0x20), 0);
    assert.equal(six.client.getTypeOfService(), 0x20);
    six.server.stop(true);
    six.client.close();
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-extras-'));
  const file = path.join(dir, 's.sock');
  const server = listen({ unix: file, socket: { data() {} } });
  const client = await connect({ unix: file, socket: { data() {} } });
  assert.equal(client.setTypeOfService(0x20), EINVAL);
  assert.equal(client.getTypeOfService(), EINVAL);
  assert.ok(client.fd > 2);
  client.close();
  server.stop(true);
  fs.rmSync(dir, { recursive: true, force: true });
});
