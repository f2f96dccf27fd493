'use strict';
// Client certificate verification (SPEC "TLS"): self-signed, unknown CA, wrong name and expired
// server certificates, each with the code node:tls reports for the same fixture, reported through
// handshake(s, false, err) + close(s, err) with a handshake handler, connectError + a rejected
// promise without one, and as handshake(s, true, err) on a usable connection with
// rejectUnauthorized: false. Plus `tls: true` (public roots) and which name is checked.
// The servers here are node:tls, so only our client is under test.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const tls = require('node:tls');
const { connect, listen } = require('..');
const { HOST, sleep, deferred, withTimeout, cleanup, collector } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const skip = fx ? false : skipReason();

/** A node:tls echo server with `pair` (and optional extra chain). */
async function nodeServer(t, pair, extra = {}) {
  const { host = HOST, ...options } = extra;
  const server = tls.createServer({ key: pair.key, cert: pair.cert, ...options }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.on('tlsClientError', () => {});
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  cleanup(t, () => server.close());
  return server.address().port;
}

/** What node:tls reports connecting to `port` with our-style `clientTls`: the error code or 'OK'. */
function nodeReference(port, clientTls, host = HOST) {
  return withTimeout(
    new Promise((resolve) => {
      const opts = { host, port };
      if (clientTls !== true) {
        if (clientTls.ca) opts.ca = clientTls.ca;
        if (clientTls.serverName) opts.servername = clientTls.serverName;
      }
      const c = tls.connect(opts);
      c.on('secureConnect', () => {
        c.destroy();
        resolve('OK');
      });
      c.on('error', (err) => {
        c.destroy();
        resolve(err.code);
      });
    }),
    5000,
    'node:tls reference connect',
  );
}

async function echo(socket, rx, msg) {
  const before = rx.length;
  assert.equal(socket.write(msg), msg.length, 'write() after the handshake');
  await rx.waitFor(before + msg.length, 5000, `echo of ${msg}`);
  assert.equal(rx.bytes().subarray(before).toString(), msg);
}

/** Our client with a handshake handler: expects handshake(s, false, err) then close(s, err). */
async function failsWithHandshakeHandler(t, port, clientTls, code, host = HOST) {
  const events = [];
  const closed = deferred();
  const p = connect({
    hostname: host,
    port,
    tls: clientTls,
    socket: {
      open() {
        events.push(['open']);
      },
      handshake(s, ok, err) {
        events.push(['handshake', ok, err, s.authorized, s.getAuthorizationError()]);
      },
      close(s, err) {
        events.push(['close', err]);
        closed.resolve();
      },
      data() {
        events.push(['data']);
      },
      error(s, err) {
        events.push(['error', err]);
      },
    },
  });
  p.then((s) => cleanup(t, () => s.close()), () => {});
  await withTimeout(closed.promise, 5000, 'close after the failed handshake');
  await sleep(30);
  assert.deepEqual(
    events.map((e) => e[0]),
    ['open', 'handshake', 'close'],
    `events: ${events.map((e) => e[0]).join(', ')}`,
  );
  const [, ok, err, authorized, authErr] = events[1];
  assert.equal(ok, false, 'handshake success is false');
  assert.ok(err instanceof Error, 'handshake gets an Error');
  assert.equal(err.code, code, `handshake error code (${err.message})`);
  assert.equal(authorized, false, 'socket.authorized is false');
  assert.ok(authErr instanceof Error, 'getAuthorizationError() returns an Error');
  assert.equal(authErr.code, code, 'getAuthorizationError().code');
  const closeErr = events[2][1];
  assert.ok(closeErr instanceof Error, 'close(s, err) gets an Error');
  assert.equal(closeErr.code, code, 'close error code');
  assert.equal(authErr, err, 'getAuthorizationError() returns the same error object');
}

/** Our client without a handshake handler: connectError(s, err) and the promise rejects with err. */
async function failsWithoutHandshakeHandler(port, clientTls, code, host = HOST) {
  const events = [];
  let connectErr;
  let failedSocket;
  const p = connect({
    hostname: host,
    port,
    tls: clientTls,
    socket: {
      open() {
        events.push('open');
      },
      close() {
        events.push('close');
      },
      data() {},
      connectError(s, err) {
        events.push('connectError');
        connectErr = err;
        failedSocket = s;
      },
    },
  });
  const rejected = await withTimeout(
    p.then(
      (s) => {
        s.close();
        return null;
      },
      (e) => e,
    ),
    5000,
    'connect() with a certificate that does not verify',
  );
  await sleep(30);
  assert.ok(rejected instanceof Error, 'connect() rejects');
  assert.equal(rejected.code, code, `rejection code (${rejected.message})`);
  assert.deepEqual(events, ['connectError'], 'only connectError runs');
  assert.equal(connectErr, rejected, 'connectError and the rejection share the error');
  assert.equal(failedSocket.authorized, false, 'socket.authorized is false');
  const authErr = failedSocket.getAuthorizationError();
  assert.ok(authErr instanceof Error && authErr.code === code, 'getAuthorizationError() returns the error');
  return rejected;
}

/** rejectUnauthorized: false: handshake(s, true, err), a usable connection, authorized false. */
async function usableWhenNotRejecting(t, port, clientTls, code, host = HOST) {
  const opts = { ...clientTls, rejectUnauthorized: false };
  // With a handshake handler.
  const hs = deferred();
  const events = [];
  const rx = collector();
  const p = connect({
    hostname: host,
    port,
    tls: opts,
    socket: {
      open() {
        events.push('open');
      },
      handshake(s, ok, err) {
        events.push('handshake');
        hs.resolve({ ok, err });
      },
      data(s, chunk) {
        rx.push(chunk);
      },
      close() {
        events.push('close');
      },
    },
  });
  const client = await withTimeout(p, 5000, 'connect with rejectUnauthorized: false');
  cleanup(t, () => client.close());
  const { ok, err } = await withTimeout(hs.promise, 5000, 'handshake(s, true, err)');
  assert.equal(ok, true, 'handshake success is true');
  assert.ok(err instanceof Error, 'the verification error is passed');
  assert.equal(err.code, code, `verification error code (${err.message})`);
  assert.deepEqual(events, ['open', 'handshake']);
  assert.equal(client.authorized, false, 'authorized is false');
  assert.equal(client.getAuthorizationError() && client.getAuthorizationError().code, code);
  await echo(client, rx, 'usable despite the verification error');

  // Without a handshake handler: connect() resolves after open.
  const rx2 = collector();
  const client2 = await withTimeout(
    connect({
      hostname: host,
      port,
      tls: opts,
      socket: {
        data(s, chunk) {
          rx2.push(chunk);
        },
      },
    }),
    5000,
    'connect with rejectUnauthorized: false and no handshake handler',
  );
  cleanup(t, () => client2.close());
  assert.equal(client2.authorized, false);
  assert.equal(client2.getAuthorizationError() && client2.getAuthorizationError().code, code);
  assert.equal(client2.getTLSVersion(), 'TLSv1.3');
  await echo(client2, rx2, 'usable without a handshake handler');
}

const CASES = [
  {
    name: 'self-signed server certificate',
    pair: () => fx.selfSigned,
    clientTls: () => ({ ca: fx.ca.cert }),
    code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  },
  {
    name: 'server certificate from an unknown CA (leaf only)',
    pair: () => fx.server,
    clientTls: () => ({ ca: fx.otherCa.cert }),
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  },
  {
    name: 'server certificate for another name',
    pair: () => fx.wrongName,
    clientTls: () => ({ ca: fx.ca.cert }),
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  },
  {
    name: 'expired server certificate',
    pair: () => fx.expired,
    clientTls: () => ({ ca: fx.ca.cert }),
    code: 'CERT_HAS_EXPIRED',
  },
];

for (const c of CASES) {
  test(`${c.name}: ${c.code}`, { skip }, async (t) => {
    const port = await nodeServer(t, c.pair());
    const reference = await nodeReference(port, c.clientTls());
    assert.equal(reference, c.code, 'node:tls reports this code for the fixture');
    await t.test('with a handshake handler: handshake(s, false, err), then close(s, err)', () =>
      failsWithHandshakeHandler(t, port, c.clientTls(), reference),
    );
    await t.test('without one: connectError(s, err), and connect() rejects with err', () =>
      failsWithoutHandshakeHandler(port, c.clientTls(), reference),
    );
    await t.test('rejectUnauthorized: false: handshake(s, true, err) and a usable connection', () =>
      usableWhenNotRejecting(t, port, c.clientTls(), reference),
    );
  });
}

test('unknown CA with the CA sent in the chain: the same code as node:tls', { skip }, async (t) => {
  const port = await nodeServer(t, { key: fx.server.key, cert: fx.server.cert + fx.ca.cert });
  const reference = await nodeReference(port, { ca: fx.otherCa.cert });
  assert.equal(reference, 'SELF_SIGNED_CERT_IN_CHAIN');
  await failsWithoutHandshakeHandler(port, { ca: fx.otherCa.cert }, reference);
});

test('a leaf and its intermediate under an untrusted root: the same code as node:tls', { skip }, async (t) => {
  const port = await nodeServer(t, fx.chained);
  for (const clientTls of [{ ca: fx.otherCa.cert }, true]) {
    const reference = await nodeReference(port, clientTls);
    assert.equal(reference, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    await failsWithoutHandshakeHandler(port, clientTls, reference);
    await failsWithHandshakeHandler(t, port, clientTls, reference);
  }
});

test("a self-signed CA:TRUE certificate (openssl req -x509's default): node:tls's code", { skip }, async (t) => {
  const { execFileSync } = require('node:child_process');
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const crypto = require('node:crypto');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-selfca-'));
  cleanup(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '2',
    '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  const pair = { key: fs.readFileSync(keyPath, 'utf8'), cert: fs.readFileSync(certPath, 'utf8') };
  if (!new crypto.X509Certificate(pair.cert).ca) return t.skip('this openssl made a CA:FALSE certificate');
  const port = await nodeServer(t, pair);
  const reference = await nodeReference(port, { serverName: 'localhost' });
  assert.equal(reference, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  await failsWithoutHandshakeHandler(port, { serverName: 'localhost' }, reference);
  await usableWhenNotRejecting(t, port, { serverName: 'localhost' }, reference);
});

test("mTLS: a client's self-signed CA:TRUE certificate given to the server as its ca is trusted, as node:tls trusts it", { skip }, async (t) => {
  const { execFileSync } = require('node:child_process');
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-selfca-'));
  cleanup(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=client', '-days', '2', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const client = { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  const verdict = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, ca: client.cert, requestCert: true },
    socket: {
      data() {},
      handshake: (s, ok, err) => verdict.resolve({ ok, authorized: s.authorized, code: err && err.code }),
    },
  });
  cleanup(t, () => server.stop(true));
  const c = tls.connect({ host: HOST, port: server.port, ca: fx.ca.cert, servername: 'localhost', key: client.key, cert: client.cert });
  c.on('error', () => {});
  cleanup(t, () => c.destroy());
  assert.deepEqual(await withTimeout(verdict.promise, 5000, 'server handshake'), { ok: true, authorized: true, code: null });
});

test('tls: true verifies against the public roots: the local test CA is not trusted', { skip }, async (t) => {
  const port = await nodeServer(t, fx.server);
  const reference = await nodeReference(port, true);
  assert.equal(reference, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  await failsWithoutHandshakeHandler(port, true, reference);
  await failsWithHandshakeHandler(t, port, true, reference);
});

test('the name checked is serverName, else the connect hostname (IP SANs for IP literals)', { skip }, async (t) => {
  // serverName wins over the hostname, both ways.
  const wrongPort = await nodeServer(t, fx.wrongName);
  assert.equal(await nodeReference(wrongPort, { ca: fx.ca.cert, serverName: 'example.com' }), 'OK');
  const rx = collector();
  const ok = await withTimeout(
    connect({
      hostname: HOST,
      port: wrongPort,
      tls: { ca: fx.ca.cert, serverName: 'example.com' },
      socket: {
        data(s, chunk) {
          rx.push(chunk);
        },
      },
    }),
    5000,
    'connect with serverName example.com',
  );
  cleanup(t, () => ok.close());
  assert.equal(ok.authorized, true, 'serverName example.com matches the example.com certificate');
  await echo(ok, rx, 'serverName echo');

  const port = await nodeServer(t, fx.server);
  const ref = await nodeReference(port, { ca: fx.ca.cert, serverName: 'example.com' });
  assert.equal(ref, 'ERR_TLS_CERT_ALTNAME_INVALID');
  await failsWithoutHandshakeHandler(port, { ca: fx.ca.cert, serverName: 'example.com' }, ref);

  // Hostname 'localhost' → DNS:localhost; IP literals → IP SANs.
  for (const host of ['localhost', '127.0.0.1']) {
    const r = collector();
    const s = await withTimeout(
      connect({
        hostname: host,
        port,
        tls: { ca: fx.ca.cert },
        socket: {
          data(sock, chunk) {
            r.push(chunk);
          },
        },
      }),
      5000,
      `connect to ${host}`,
    );
    cleanup(t, () => s.close());
    assert.equal(s.authorized, true, `${host} matches`);
    await echo(s, r, `echo via ${host}`);
  }
});

test('IPv6 literal ::1 is checked against the IP:::1 SAN', { skip }, async (t) => {
  let port;
  try {
    port = await nodeServer(t, fx.server, { host: '::1' });
  } catch (err) {
    t.skip(`no IPv6 loopback: ${err.message}`);
    return;
  }
  // node:tls itself accepts this on Node 20 but not on every version; we follow RFC 6125 (IP SAN).
  const reference = await nodeReference(port, { ca: fx.ca.cert }, '::1');
  if (reference !== 'OK') t.diagnostic(`node:tls ${process.version} reports ${reference} for ::1; checking ours alone`);
  const rx = collector();
  const s = await withTimeout(
    connect({
      hostname: '::1',
      port,
      tls: { ca: fx.ca.cert },
      socket: {
        data(sock, chunk) {
          rx.push(chunk);
        },
      },
    }),
    5000,
    'connect to ::1',
  );
  cleanup(t, () => s.close());
  assert.equal(s.authorized, true);
  await echo(s, rx, 'ipv6 echo');
  // And the wrong-name certificate over IPv6 fails with the same code as node:tls.
  const wrongPort = await nodeServer(t, fx.wrongName, { host: '::1' });
  const ref = await nodeReference(wrongPort, { ca: fx.ca.cert }, '::1');
  assert.equal(ref, 'ERR_TLS_CERT_ALTNAME_INVALID');
  await failsWithoutHandshakeHandler(wrongPort, { ca: fx.ca.cert }, ref, '::1');
});

test('our server with an expired certificate is refused by node:tls with CERT_HAS_EXPIRED', { skip }, async (t) => {
  // The server side serves what it is given; verification is the client's business.
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.expired.key, cert: fx.expired.cert },
    socket: { data() {}, error() {} },
  });
  cleanup(t, () => server.stop(true));
  assert.equal(await nodeReference(server.port, { ca: fx.ca.cert }), 'CERT_HAS_EXPIRED');
});

/** Our client's verdict without a handshake handler: 'OK' (authorized), or the rejection's code. */
async function ourVerdict(port, clientTls, hostname = 'localhost') {
  try {
    const s = await withTimeout(connect({ hostname, port, tls: clientTls, socket: { data() {}, connectError() {} } }), 5000, 'connect');
    const verdict = s.authorized ? 'OK' : `unauthorized ${s.getAuthorizationError() && s.getAuthorizationError().code}`;
    s.terminate();
    return verdict;
  } catch (err) {
    return err.code;
  }
}

test('names only in the CN (no subjectAltName): matched by the CN, as node:tls checks them', { skip }, async (t) => {
  for (const [name, pair, ca] of [
    ['a CA-signed v3 leaf', fx.cnOnly, fx.ca.cert],
    ['a self-signed cert from openssl req -x509 -subj /CN=localhost, as its own ca', fx.selfNoSan, fx.selfNoSan.cert],
  ]) {
    const port = await nodeServer(t, pair);
    for (const serverName of ['localhost', 'other.test']) {
      const clientTls = { ca, serverName };
      const reference = await nodeReference(port, clientTls, 'localhost');
      assert.equal(await ourVerdict(port, clientTls), reference, `${name}, name ${serverName}`);
    }
    assert.equal(await nodeReference(port, { ca, serverName: 'localhost' }), 'OK', 'node:tls accepts it');
  }
});

test('an X.509 v1 server certificate under a trusted CA is accepted, with the codes node:tls gives otherwise', { skip: skip || (!fx.v1Leaf.isV1 && 'this openssl makes v3 certificates with x509 -req') }, async (t) => {
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
    const port = await nodeServer(t, fx.v1Leaf, { maxVersion });
    for (const clientTls of [
      { ca: fx.ca.cert, serverName: 'localhost' },
      { ca: fx.ca.cert, serverName: 'other.test' },
      { ca: fx.otherCa.cert, serverName: 'localhost' },
    ]) {
      const reference = await nodeReference(port, clientTls, 'localhost');
      assert.equal(await ourVerdict(port, clientTls), reference, `${maxVersion} ${JSON.stringify(clientTls.serverName)} ${clientTls.ca === fx.ca.cert ? 'ca' : 'other ca'}`);
    }
    assert.equal(await nodeReference(port, { ca: fx.ca.cert, serverName: 'localhost' }), 'OK');
  }
});

test('mTLS: an X.509 v1 client certificate from the ca is trusted, as a node:tls server trusts it', { skip: skip || (!fx.v1Leaf.isV1 && 'this openssl makes v3 certificates with x509 -req') }, async (t) => {
  for (const [ca, want] of [[fx.ca.cert, { ok: true, authorized: true, code: null }], [fx.otherCa.cert, { ok: false }]]) {
    const verdict = deferred();
    const server = listen({
      hostname: HOST,
      port: 0,
      tls: { key: fx.server.key, cert: fx.server.cert, ca, requestCert: true },
      socket: {
        data() {},
        handshake: (s, ok, err) => verdict.resolve(ok ? { ok, authorized: s.authorized, code: err && err.code } : { ok }),
      },
    });
    cleanup(t, () => server.stop(true));
    const c = tls.connect({ host: HOST, port: server.port, ca: fx.ca.cert, servername: 'localhost', key: fx.v1Client.key, cert: fx.v1Client.cert });
    c.on('error', () => {});
    cleanup(t, () => c.destroy());
    assert.deepEqual(await withTimeout(verdict.promise, 5000, 'server handshake'), want);
  }
});

/** A child's `connect({ tls: true })` to `port` with NODE_EXTRA_CA_CERTS=`extra`: 'OK' or the error code. */
async function tlsTrueFromChild(port, extra) {
  const { runChild } = require('./helpers');
  const code = `
    const { connect } = require(process.env.PKG);
    connect({ hostname: 'localhost', port: ${port}, tls: true, socket: { data() {}, connectError() {} } })
      .then((s) => { console.log(s.authorized ? 'OK' : 'unauthorized'); s.terminate(); }, (err) => console.log(err.code));
  `;
  const r = await runChild(code, { env: { NODE_EXTRA_CA_CERTS: extra } });
  return r.stdout.trim() || r.stderr;
}

test('tls: true also trusts the certificates of NODE_EXTRA_CA_CERTS, as node:tls does', { skip }, async (t) => {
  const port = await nodeServer(t, fx.server);
  assert.equal(await tlsTrueFromChild(port, fx.ca.certPath), 'OK');
  assert.notEqual(await tlsTrueFromChild(port, ''), 'OK', 'without it the test CA is not trusted');
});

test('tls: true trusts a self-signed server certificate listed in NODE_EXTRA_CA_CERTS, as node:tls and Bun do', { skip }, async (t) => {
  // openssl req -x509 with the default config: a CA certificate, which webpki refuses as a leaf.
  const port = await nodeServer(t, fx.selfNoSan);
  assert.equal(await tlsTrueFromChild(port, fx.selfNoSan.certPath), 'OK');
  assert.equal(await tlsTrueFromChild(port, ''), 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test("NODE_TLS_REJECT_UNAUTHORIZED=0 makes a client's rejectUnauthorized default false, with node:tls's warning once; an explicit option wins", { skip }, async (t) => {
  const port = await nodeServer(t, fx.server);
  const { runChild } = require('./helpers');
  const code = `
    const { connect } = require(process.env.PKG);
    const attempt = (tls) => connect({ hostname: 'localhost', port: ${port}, tls, socket: { data() {}, connectError() {} } })
      .then((s) => { s.terminate(); return 'open ' + s.authorized + ' ' + (s.getAuthorizationError() || {}).code; }, (err) => 'rejected ' + err.code);
    (async () => {
      console.log(await attempt(true));
      console.log(await attempt({ serverName: 'localhost' }));
      console.log(await attempt({ rejectUnauthorized: true }));
    })();
  `;
  const off = await runChild(code, { env: { NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_EXTRA_CA_CERTS: '' } });
  assert.deepEqual(off.stdout.trim().split('\n'), [
    'open false UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'open false UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'rejected UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  ], off.stderr);
  assert.equal(off.stderr.split('NODE_TLS_REJECT_UNAUTHORIZED').length - 1, 1, `one warning: ${off.stderr}`);
  const on = await runChild(code, { env: { NODE_TLS_REJECT_UNAUTHORIZED: '', NODE_EXTRA_CA_CERTS: '' } });
  assert.deepEqual(on.stdout.trim().split('\n'), Array(3).fill('rejected UNABLE_TO_VERIFY_LEAF_SIGNATURE'), on.stderr);
  assert.equal(on.stderr, '');
});

test("ERR_TLS_CERT_ALTNAME_INVALID carries node:tls's message, reason, host and cert", { skip }, async (t) => {
  const nodeError = (opts) =>
    new Promise((resolve) => {
      const c = tls.connect(opts);
      c.on('error', (err) => resolve(err));
      c.on('secureConnect', () => {
        c.destroy();
        resolve(null);
      });
    });
  // [certificate, the host connected to, serverName]
  for (const [pair, host, serverName] of [
    [fx.wrongName, 'localhost', undefined],
    [fx.wrongName, '127.0.0.1', undefined],
    [fx.cnOnly, 'localhost', 'other.test'],
  ]) {
    const port = await nodeServer(t, pair);
    const want = await nodeError({ host, port, ca: fx.ca.cert, servername: serverName });
    const got = await connect({ hostname: host, port, tls: { ca: fx.ca.cert, serverName }, socket: { data() {}, connectError() {} } }).then(
      (s) => s.terminate(),
      (err) => err,
    );
    assert.ok(want && got, 'both fail');
    assert.deepEqual(
      { code: got.code, message: got.message, reason: got.reason, host: got.host },
      { code: want.code, message: want.message, reason: want.reason, host: want.host },
      `${host} ${serverName}`,
    );
    // The certificate refused, as node:tls attaches it (rustls keeps none from the aborted handshake).
    assert.ok(got.cert && want.cert, `${host} ${serverName}: both name the certificate`);
    assert.deepEqual(
      { subject: { ...got.cert.subject }, fingerprint256: got.cert.fingerprint256, raw: got.cert.raw, issuer: got.cert.issuerCertificate && got.cert.issuerCertificate.fingerprint256 },
      { subject: { ...want.cert.subject }, fingerprint256: want.cert.fingerprint256, raw: want.cert.raw, issuer: want.cert.issuerCertificate && want.cert.issuerCertificate.fingerprint256 },
    );
  }
});

// A server name that is neither a DNS name nor an IP address names no certificate: the connect
// goes on and fails the name check with node:tls's code and words (it used to fail as a connect
// EINVAL); with rejectUnauthorized: false it connects and reports that. An empty serverName is
// none: the hostname is checked.
test('serverName that is not a hostname: ERR_TLS_CERT_ALTNAME_INVALID as node:tls words it; empty means the hostname', { skip }, async (t) => {
  const port = await nodeServer(t, fx.server);
  const verdict = (tlsOptions) => {
    const done = deferred();
    connect({ hostname: HOST, port, tls: tlsOptions, socket: {
      handshake(s, ok, err) { done.resolve({ ok, code: err && err.code, message: err && err.message, host: err && err.host }); s.end(); },
      data() {},
    } }).catch(() => {});
    return withTimeout(done.promise, 5000, 'handshake');
  };
  const bad = await verdict({ ca: fx.ca.cert, serverName: 'bad_name!' });
  assert.equal(bad.ok, false);
  assert.equal(bad.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(bad.host, 'bad_name!');
  // node:tls's own words for this certificate and name.
  const nodeErr = await new Promise((resolve) => {
    const c = tls.connect({ host: HOST, port, ca: fx.ca.cert, servername: 'bad_name!' });
    c.on('secureConnect', () => { c.destroy(); resolve(null); });
    c.on('error', (e) => { c.destroy(); resolve(e); });
  });
  assert.ok(nodeErr, 'node:tls refuses it too');
  assert.equal(bad.message, nodeErr.message);
  const lenient = await verdict({ ca: fx.ca.cert, serverName: 'bad_name!', rejectUnauthorized: false });
  assert.equal(lenient.ok, true);
  assert.equal(lenient.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  // Empty: the hostname (127.0.0.1, an IP SAN of the server's certificate) is checked.
  assert.deepEqual(await verdict({ ca: fx.ca.cert, serverName: '' }), { ok: true, code: null, message: null, host: null });
});
