'use strict';
// Bun's TLS extras beyond SPEC's list, for code ported from Bun: isSessionReused() (checked
// against a node:tls client that resumes), getEphemeralKeyInfo() (against node:tls servers with
// fixed curves), and the ones rustls has nothing behind (getSharedSigalgs, setMaxSendFragment,
// disableRenegotiation, renegotiate), each answering as Bun's do on TLS and plain sockets.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, cleanup } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const skip = fx ? false : skipReason();

/** A node:tls client connect that resolves with the socket and its first session ticket. */
function nodeClient(t, options) {
  const c = tls.connect({ host: HOST, ca: fx.ca.cert, servername: 'localhost', ...options });
  cleanup(t, () => c.destroy());
  const session = new Promise((resolve) => c.once('session', resolve));
  return withTimeout(
    new Promise((resolve, reject) => {
      c.once('secureConnect', () => resolve({ c, session }));
      c.once('error', reject);
    }),
    5000,
    'node:tls connect',
  );
}

test('isSessionReused(): false on a first handshake, true when a node:tls client resumes', { skip }, async (t) => {
  const handshakes = [];
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert },
    socket: {
      data(s, chunk) {
        s.write(chunk);
      },
      handshake(s, ok) {
        handshakes.push({ ok, reused: s.isSessionReused() });
      },
    },
  });
  cleanup(t, () => server.stop(true));
  const first = await nodeClient(t, { port: server.port });
  const ticket = await withTimeout(first.session, 5000, 'session ticket');
  assert.equal(first.c.isSessionReused(), false);
  first.c.end();
  const second = await nodeClient(t, { port: server.port, session: ticket });
  assert.equal(second.c.isSessionReused(), true, 'node:tls says it resumed');
  second.c.end();
  await withTimeout(
    (async () => {
      while (handshakes.length < 2) await new Promise((r) => setTimeout(r, 5));
    })(),
    3000,
    'server handshakes',
  );
  assert.deepEqual(handshakes, [
    { ok: true, reused: false },
    { ok: true, reused: true },
  ]);
});

test("getEphemeralKeyInfo(): the client's key exchange as node:tls reports it; null on servers and plain sockets", { skip }, async (t) => {
  for (const [curve, want] of [
    ['X25519', { type: 'ECDH', name: 'X25519', size: 253 }],
    ['prime256v1', { type: 'ECDH', name: 'prime256v1', size: 256 }],
    ['secp384r1', { type: 'ECDH', name: 'secp384r1', size: 384 }],
  ]) {
    const nodeServer = tls.createServer({ key: fx.server.key, cert: fx.server.cert, ecdhCurve: curve }, (s) => s.on('error', () => {}));
    await new Promise((resolve) => nodeServer.listen(0, HOST, resolve));
    cleanup(t, () => nodeServer.close());
    const info = deferred();
    const client = await connect({
      hostname: HOST,
      port: nodeServer.address().port,
      tls: { ca: fx.ca.cert, serverName: 'localhost' },
      socket: {
        data() {},
        open(s) {
          info.resolve(s.getEphemeralKeyInfo());
        },
      },
    });
    assert.deepEqual(await withTimeout(info.promise, 3000, 'open'), want, curve);
    client.end();
  }

  const serverSide = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert },
    socket: { data() {}, open: (s) => serverSide.resolve(s.getEphemeralKeyInfo()) },
  });
  cleanup(t, () => server.stop(true));
  const c = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } });
  assert.equal(await withTimeout(serverSide.promise, 3000, 'server open'), null);
  c.end();
});

test('the extras rustls has nothing behind answer as Bun does, on TLS and plain sockets', { skip }, async (t) => {
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data() {} } });
  cleanup(t, () => server.stop(true));
  const secure = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } });
  const plainServer = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  cleanup(t, () => plainServer.stop(true));
  const plain = await connect({ hostname: HOST, port: plainServer.port, socket: { data() {} } });

  assert.deepEqual(secure.getSharedSigalgs(), []);
  assert.equal(plain.getSharedSigalgs(), undefined);
  assert.equal(secure.setMaxSendFragment(1024), false);
  assert.equal(plain.setMaxSendFragment(1024), false);
  assert.throws(() => secure.setMaxSendFragment('x'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.equal(secure.disableRenegotiation(), undefined);
  assert.throws(() => secure.renegotiate(), { code: 'ERR_TLS_RENEGOTIATION_DISABLED' });
  assert.equal(plain.renegotiate(), undefined);
  assert.equal(plain.isSessionReused(), false);
  assert.equal(plain.getEphemeralKeyInfo(), null);
  assert.equal(secure.isSessionReused(), false);
  secure.end();
  plain.end();
});

test("getCertificate()/getX509Certificate(): this end's certificate (a server's, a client's own), as Bun; the session extras rustls does not expose answer undefined", { skip }, async (t) => {
  const { X509Certificate } = require('node:crypto');
  const serverFp = new X509Certificate(fx.server.cert).fingerprint256;
  const clientFp = new X509Certificate(fx.client.cert).fingerprint256;
  const seen = deferred();
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: {
    open(s) { seen.resolve([s.getCertificate(), s.getX509Certificate(), s.getCipher()]); },
    handshake() {},
    data() {},
  } });
  cleanup(t, () => server.stop(true));
  // Before the handshake (open with a handshake handler) the server already knows its certificate.
  const [own, ownX509, cipherBefore] = await (async () => {
    const c = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } });
    cleanup(t, () => c.close());
    assert.equal(c.getCertificate(), undefined, 'a client without a certificate of its own');
    assert.equal(c.getX509Certificate(), undefined);
    assert.equal(c.getPeerX509Certificate().fingerprint256, serverFp);
    for (const name of ['getSession', 'getTLSTicket', 'getTLSFinishedMessage', 'getTLSPeerFinishedMessage']) {
      assert.equal(c[name](), undefined, name);
    }
    assert.equal(c.setSession(Buffer.from('x')), undefined);
    assert.throws(() => c.setSession(5), { code: 'ERR_INVALID_ARG_TYPE' });
    return withTimeout(seen.promise, 5000, 'server open');
  })();
  assert.equal(own.subject.CN, 'localhost');
  assert.equal(own.fingerprint256, serverFp);
  assert.equal(ownX509.fingerprint256, serverFp);
  assert.deepEqual(cipherBefore, { name: null, standardName: null, version: null }, 'before the handshake, as Bun');

  // A client with a certificate presents it; once closed, undefined (getSharedSigalgs: null), as Bun.
  const withCert = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost', key: fx.client.key, cert: fx.client.cert }, socket: { data() {} } });
  assert.equal(withCert.getX509Certificate().fingerprint256, clientFp);
  assert.equal(withCert.getCertificate().fingerprint256, clientFp);
  assert.equal(String(withCert), '[object TLSSocket]');
  withCert.close();
  assert.equal(withCert.getCertificate(), undefined);
  assert.equal(withCert.getCipher(), undefined);
  assert.equal(withCert.getSharedSigalgs(), null);

  const plainServer = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  cleanup(t, () => plainServer.stop(true));
  const plain = await connect({ hostname: HOST, port: plainServer.port, socket: { data() {} } });
  cleanup(t, () => plain.close());
  assert.equal(plain.getCertificate(), undefined);
  assert.equal(plain.getPeerX509Certificate(), undefined);
});

// With several pairs the certificate served depends on what the client offers, not on its name
// alone: getCertificate() reports the one the handshake chose.
test("getCertificate() on a server with RSA and ECDSA pairs is the certificate the client received", { skip }, async (t) => {
  const { X509Certificate } = require('node:crypto');
  const seen = [];
  let notify = null;
  const server = listen({ hostname: HOST, port: 0, tls: { key: [fx.server.key, fx.serverRsa.key], cert: [fx.server.cert, fx.serverRsa.cert] }, socket: {
    handshake(s) {
      seen.push(s.getCertificate().fingerprint256);
      if (notify) notify();
    },
    data() {},
  } });
  cleanup(t, () => server.stop(true));
  const rsaFp = new X509Certificate(fx.serverRsa.cert).fingerprint256;
  const ecFp = new X509Certificate(fx.server.cert).fingerprint256;
  for (const [sigalgs, want] of [['RSA-PSS+SHA256:RSA+SHA256', rsaFp], ['ECDSA+SHA256', ecFp], ['RSA-PSS+SHA256', rsaFp]]) {
    const got = new Promise((resolve) => (notify = resolve));
    const c = tls.connect({ host: HOST, port: server.port, ca: fx.ca.cert, servername: 'localhost', sigalgs });
    c.on('error', () => {});
    cleanup(t, () => c.destroy());
    await withTimeout(new Promise((resolve) => c.once('secureConnect', resolve)), 5000, `handshake (${sigalgs})`);
    assert.equal(c.getPeerCertificate().fingerprint256, want, `served for ${sigalgs}`);
    await withTimeout(got, 5000, 'server handshake');
    assert.equal(seen.at(-1), want, `reported for ${sigalgs}`);
  }
});
