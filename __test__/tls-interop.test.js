'use strict';
// TLS interop: our server with node:tls and `openssl s_client` clients, our client with node:tls and
// `openssl s_server` servers; byte-exact 1 MiB echoes, mTLS both ways, TLS 1.2 from s_server.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, sha256, cleanup, collector, makeWriter, echoTable, freePort } = require('./helpers');
const { fixtures, skipReason, hasOpenssl, nodeConnect } = require('./tls-fixtures');

const fx = fixtures();
const skip = fx ? false : skipReason();
const skipOpenssl = skip || (hasOpenssl() ? false : 'the openssl CLI is not installed');
const MiB = 1024 * 1024;

/** Spawns `openssl args...`, collecting stdout/stderr; killed after the test. */
function openssl(t, args) {
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = collector();
  const err = collector();
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  child.stdin.on('error', () => {});
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { child, out, err, exited };
}

test('our server, node:tls client: 1 MiB echo byte-exact, ALPN, and mTLS', { skip }, async (t) => {
  const accepted = [];
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, ca: fx.ca.cert, requestCert: true, ALPNProtocols: ['h2', 'http/1.1'] },
    socket: echoTable({
      open(s) {
        accepted.push(s);
      },
    }),
  });
  cleanup(t, () => server.stop(true));
  const c = await nodeConnect(t, {
    port: server.port,
    ca: fx.ca.cert,
    servername: 'localhost',
    key: fx.client.key,
    cert: fx.client.cert,
    ALPNProtocols: ['http/1.1'],
  });
  assert.equal(c.authorized, true, `node:tls client authorized (${c.authorizationError})`);
  assert.equal(c.getProtocol(), 'TLSv1.3');
  assert.equal(c.alpnProtocol, 'http/1.1');
  assert.equal(c.getPeerCertificate().subject.CN, 'localhost');

  const payload = crypto.randomBytes(MiB);
  const rx = collector();
  c.on('data', (d) => rx.push(d));
  c.write(payload);
  await rx.waitFor(MiB, 15000, '1 MiB echo');
  assert.equal(rx.length, MiB);
  assert.equal(sha256(rx.bytes()), sha256(payload));

  assert.equal(accepted.length, 1);
  const peer = accepted[0];
  assert.equal(peer.authorized, true, 'our server verified the client certificate');
  assert.equal(peer.getPeerCertificate().subject.CN, 'client.test');
  assert.equal(peer.alpnProtocol, 'http/1.1');
  assert.equal(peer.getServername(), 'localhost');
  assert.equal(peer.getCipher().name, c.getCipher().standardName, 'cipher names agree (IANA names)');
});

test('our client, node:tls server: 1 MiB echo byte-exact, and mTLS', { skip }, async (t) => {
  const serverSide = deferred();
  const nodeServer = tls.createServer(
    { key: fx.server.key, cert: fx.server.cert, ca: fx.ca.cert, requestCert: true, rejectUnauthorized: true },
    (s) => {
      s.on('error', () => {});
      serverSide.resolve(s);
      s.pipe(s);
    },
  );
  nodeServer.on('tlsClientError', () => {});
  await new Promise((r) => nodeServer.listen(0, HOST, r));
  cleanup(t, () => nodeServer.close());

  const rx = collector();
  const w = makeWriter();
  const client = await withTimeout(
    connect({
      hostname: HOST,
      port: nodeServer.address().port,
      tls: { ca: fx.ca.cert, key: fx.client.key, cert: fx.client.cert, serverName: 'localhost' },
      socket: {
        data(s, chunk) {
          rx.push(chunk);
        },
        drain(s) {
          w.drain(s);
        },
      },
    }),
    5000,
    'connect to node:tls',
  );
  cleanup(t, () => client.close());
  assert.equal(client.authorized, true);
  const s = await withTimeout(serverSide.promise, 5000, 'node:tls secure connection');
  assert.equal(s.authorized, true, `node:tls server verified our client certificate (${s.authorizationError})`);
  assert.equal(s.getPeerCertificate().subject.CN, 'client.test');
  assert.equal(s.servername, 'localhost', 'SNI from serverName');

  const payload = crypto.randomBytes(MiB);
  await withTimeout(w.send(client, payload), 15000, 'sending 1 MiB');
  await rx.waitFor(MiB, 15000, '1 MiB echo');
  assert.equal(rx.length, MiB);
  assert.equal(sha256(rx.bytes()), sha256(payload));
  const label = 'EXPORTER-interop';
  assert.deepEqual(Buffer.from(client.exportKeyingMaterial(32, label)), s.exportKeyingMaterial(32, label));
});

test('openssl s_client against our server', { skip: skipOpenssl }, async (t) => {
  const accepted = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert },
    socket: echoTable({
      open(s) {
        s.write('hello from node-bun-tcp\n');
        accepted.resolve(s);
      },
    }),
  });
  cleanup(t, () => server.stop(true));
  const sc = openssl(t, [
    's_client',
    '-connect',
    `${HOST}:${server.port}`,
    '-servername',
    'localhost',
    '-CAfile',
    fx.ca.certPath,
    '-verify_return_error',
    '-verify_hostname',
    'localhost',
    '-brief',
  ]);
  await sc.out.waitForText('hello from node-bun-tcp\n', 10000, 's_client receiving the greeting');
  sc.child.stdin.write('ping from s_client\n');
  await sc.out.waitForText('ping from s_client\n', 10000, 's_client receiving its echo');
  await sc.err.waitForText('Verification: OK', 5000, 's_client verification summary');
  assert.match(sc.err.text(), /Protocol version: TLSv1\.3/);
  const peer = await withTimeout(accepted.promise, 5000, 'accepted socket');
  assert.equal(peer.getTLSVersion(), 'TLSv1.3');
  assert.equal(peer.getServername(), 'localhost');
  sc.child.stdin.end();
  const exit = await withTimeout(sc.exited, 5000, 's_client exit after stdin EOF');
  assert.equal(exit.code, 0, `s_client exit code (stderr: ${sc.err.text()})`);
});

for (const [name, extra, version] of [
  ['openssl s_server (TLS 1.3) with our client', [], 'TLSv1.3'],
  ['openssl s_server limited to TLS 1.2 with our client', ['-tls1_2'], 'TLSv1.2'],
]) {
  test(name, { skip: skipOpenssl }, async (t) => {
    const port = await freePort();
    const ss = openssl(t, [
      's_server',
      '-accept',
      `${HOST}:${port}`,
      '-cert',
      fx.server.certPath,
      '-key',
      fx.server.keyPath,
      '-naccept',
      '1',
      ...extra,
    ]);
    await ss.out.waitForText('ACCEPT', 10000, 's_server ready');
    const rx = collector();
    const client = await withTimeout(
      connect({
        hostname: HOST,
        port,
        tls: { ca: fx.ca.cert, serverName: 'localhost' },
        socket: {
          data(s, chunk) {
            rx.push(chunk);
          },
        },
      }),
      5000,
      'connect to s_server',
    );
    cleanup(t, () => client.close());
    assert.equal(client.authorized, true);
    assert.equal(client.getTLSVersion(), version);
    assert.equal(client.write('ping from node-bun-tcp\n'), 23);
    await ss.out.waitForText('ping from node-bun-tcp\n', 10000, 's_server receiving our bytes');
    ss.child.stdin.write('pong from s_server\n');
    await rx.waitForText('pong from s_server\n', 10000, 'our client receiving s_server bytes');
    assert.equal(rx.text(), 'pong from s_server\n');
    assert.match(ss.out.text(), version === 'TLSv1.3' ? /TLS_AES|TLS_CHACHA/ : /ECDHE/);
  });
}
