'use strict';
// TLS interop: our server with node:tls and `openssl s_client` clients, our client with node:tls and
// `openssl s_server` servers; byte-exact 1 MiB echoes, mTLS both ways, TLS 1.2 from s_server; and
// getPeerCertificate() against node:tls's, field by field, on both sides.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, sha256, cleanup, collector, makeWriter, echoTable, freePort } = require('./helpers');
const { fixtures, skipReason, hasOpenssl, nodeConnect } = require('./tls-fixtures');
const binding = require('../lib/binding');
const { certificateObject } = require('../lib/peer-certificate');
const der = require('./x509-der');

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

// ---- getPeerCertificate(): node:tls's object, field by field ------------------------------------

/** Every certificate of a getPeerCertificate(true) chain, leaf first (a self-issued end once). */
function chainOf(cert) {
  const out = [];
  for (let c = cert; c && !out.includes(c); c = c.issuerCertificate) out.push(c);
  return out;
}

/**
 * Ours equals node:tls's: same keys in the same order, same values and types (Buffers, strings,
 * null-prototype name objects), and the same `issuerCertificate` links (the end linked to itself
 * where Node links it).
 */
function assertSameCertificate(ours, theirs, label) {
  const a = chainOf(ours);
  const b = chainOf(theirs);
  assert.equal(a.length, b.length, `${label}: chain length`);
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(Object.keys(a[i]), Object.keys(b[i]), `${label}: certificate ${i}'s keys, in node:tls's order`);
    for (const key of Object.keys(b[i])) {
      if (key === 'issuerCertificate') continue;
      assert.deepStrictEqual(a[i][key], b[i][key], `${label}: certificate ${i}'s ${key}`);
    }
    const end = i === a.length - 1;
    if (end) assert.equal(a[i].issuerCertificate === a[i], b[i].issuerCertificate === b[i], `${label}: the last certificate is its own issuer as in node:tls`);
  }
}

/** Connects node:tls and our client to a node:tls server with this key/cert; both sides' certificates. */
async function peerCertificatesFrom(t, { key, cert, ca }) {
  const server = tls.createServer({ key, cert }, (s) => s.on('error', () => {}));
  server.on('tlsClientError', () => {});
  await new Promise((r) => server.listen(0, HOST, r));
  cleanup(t, () => server.close());
  const port = server.address().port;
  const theirs = await nodeConnect(t, { port, ca, rejectUnauthorized: false }, { ignoreLateErrors: true });
  const handshook = deferred();
  let beforeHandshake;
  const ours = await withTimeout(
    connect({
      hostname: HOST,
      port,
      tls: { ca, rejectUnauthorized: false },
      socket: {
        data() {},
        open(s) {
          beforeHandshake = s.getPeerCertificate();
        },
        handshake() {
          handshook.resolve();
        },
      },
    }),
    5000,
    'connect to node:tls',
  );
  cleanup(t, () => ours.close());
  await withTimeout(handshook.promise, 5000, 'our handshake');
  return { ours, theirs, beforeHandshake };
}

for (const [name, pick] of [
  ['RSA 2048 leaf', (fx) => ({ ...fx.serverRsa, ca: fx.ca.cert })],
  ['EC P-256 leaf', (fx) => ({ ...fx.server, ca: fx.ca.cert })],
  ['EC P-384 leaf with infoAccess and two OUs', (fx) => ({ ...fx.serverP384, ca: fx.ca.cert })],
  ['leaf + intermediate, root as ca', (fx) => ({ ...fx.chained, ca: fx.ca.cert })],
  ['leaf + intermediate, no ca', (fx) => ({ ...fx.chained, ca: undefined })],
  ['self-signed leaf, itself as ca', (fx) => ({ ...fx.selfSigned, ca: fx.selfSigned.cert })],
  // Sent out of order: node:tls's chain stops at the intermediate (its loop ends when the issuer
  // it found was the last certificate left).
  ['leaf, root, intermediate (out of order), no ca', (fx) => ({ key: fx.chained.key, cert: fx.chained.leafOnly + fx.ca.cert + fx.chained.cert.slice(fx.chained.leafOnly.length), ca: undefined })],
]) {
  test(`getPeerCertificate() and getPeerCertificate(true) match node:tls's: ${name}`, { skip }, async (t) => {
    const { ours, theirs } = await peerCertificatesFrom(t, pick(fx));
    assertSameCertificate(ours.getPeerCertificate(), theirs.getPeerCertificate(), 'getPeerCertificate()');
    assertSameCertificate(ours.getPeerCertificate(true), theirs.getPeerCertificate(true), 'getPeerCertificate(true)');
    // Only `true` asks for the chain, as in node:tls.
    assertSameCertificate(ours.getPeerCertificate(1), theirs.getPeerCertificate(1), 'getPeerCertificate(1)');
  });
}

test('getPeerCertificate(true) of a chain ends at the root, which is its own issuer (as node:tls)', { skip }, async (t) => {
  const { ours } = await peerCertificatesFrom(t, { ...fx.chained, ca: fx.ca.cert });
  const cert = ours.getPeerCertificate(true);
  const subjects = chainOf(cert).map((c) => c.subject.CN);
  assert.deepEqual(subjects, ['localhost', 'node-bun-tcp Intermediate CA', 'node-bun-tcp Test CA']);
  const root = cert.issuerCertificate.issuerCertificate;
  assert.equal(root.issuerCertificate, root);
  assert.equal(root.ca, true);
  assert.equal(cert.ca, false);
  assert.ok(Buffer.isBuffer(cert.pubkey) && cert.pubkey[0] === 0x04, 'an EC key: the uncompressed point');
  assert.equal(cert.asn1Curve, 'prime256v1');
  assert.equal(cert.nistCurve, 'P-256');
  assert.equal(cert.bits, 256);
  assert.equal(ours.getPeerCertificate().issuerCertificate, undefined, 'no chain without `true`');
});

test('an RSA peer certificate: modulus, exponent and pubkey as node:crypto reads the key', { skip }, async (t) => {
  const { ours } = await peerCertificatesFrom(t, { ...fx.serverRsa, ca: fx.ca.cert });
  const cert = ours.getPeerCertificate();
  const key = new crypto.X509Certificate(fx.serverRsa.cert).publicKey;
  const jwk = key.export({ format: 'jwk' });
  assert.equal(cert.modulus, Buffer.from(jwk.n, 'base64url').toString('hex').toUpperCase().replace(/^0+/, ''));
  assert.equal(cert.exponent, `0x${Buffer.from(jwk.e, 'base64url').toString('hex').replace(/^0+/, '')}`);
  assert.equal(cert.bits, 2048);
  assert.deepEqual(cert.pubkey, key.export({ type: 'spki', format: 'der' }));
  assert.equal(cert.asn1Curve, undefined);
});

test("the server's view of client certificates matches node:tls's, chain included", { skip }, async (t) => {
  const theirsSide = deferred();
  const nodeServer = tls.createServer(
    { key: fx.server.key, cert: fx.server.cert, ca: fx.ca.cert, requestCert: true, rejectUnauthorized: false },
    (s) => {
      s.on('error', () => {});
      theirsSide.resolve(s);
    },
  );
  nodeServer.on('tlsClientError', () => {});
  await new Promise((r) => nodeServer.listen(0, HOST, r));
  cleanup(t, () => nodeServer.close());
  const oursSide = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, ca: fx.ca.cert, requestCert: true, rejectUnauthorized: false },
    socket: {
      data() {},
      open(s) {
        oursSide.resolve(s);
      },
    },
  });
  cleanup(t, () => server.stop(true));
  // The client sends leaf + intermediate; the root comes from the server's `ca`.
  const client = { key: fx.chained.key, cert: fx.chained.cert, ca: fx.ca.cert, rejectUnauthorized: false };
  await nodeConnect(t, { port: nodeServer.address().port, ...client }, { ignoreLateErrors: true });
  await nodeConnect(t, { port: server.port, ...client }, { ignoreLateErrors: true });
  const theirs = await withTimeout(theirsSide.promise, 5000, 'node:tls server socket');
  const ours = await withTimeout(oursSide.promise, 5000, 'our server socket');
  assertSameCertificate(ours.getPeerCertificate(), theirs.getPeerCertificate(), 'server getPeerCertificate()');
  assertSameCertificate(ours.getPeerCertificate(true), theirs.getPeerCertificate(true), 'server getPeerCertificate(true)');
  assert.equal(chainOf(ours.getPeerCertificate(true)).length, 3);
});

// Bun answers undefined where node:tls gives {} (no certificate, or not yet) or null (destroyed):
// a port from Bun tests `if (s.getPeerCertificate())`, and `{}` is truthy.
test('getPeerCertificate() without a peer certificate: undefined as Bun (node:tls: {}), also once closed; null on plain sockets', { skip }, async (t) => {
  for (const requestCert of [false, true]) {
    const oursSide = deferred();
    const server = listen({
      hostname: HOST,
      port: 0,
      tls: { key: fx.server.key, cert: fx.server.cert, requestCert, rejectUnauthorized: false },
      socket: {
        data() {},
        open(s) {
          oursSide.resolve(s);
        },
      },
    });
    cleanup(t, () => server.stop(true));
    await nodeConnect(t, { port: server.port, rejectUnauthorized: false });
    const ours = await withTimeout(oursSide.promise, 5000, 'our server socket');
    assert.equal(ours.getPeerCertificate(), undefined, `requestCert ${requestCert}`);
    assert.equal(ours.getPeerCertificate(true), undefined);
    assert.equal(ours.getPeerX509Certificate(), undefined);
  }

  // Before the handshake (a `handshake` handler makes `open` run at TCP connect) and after close.
  const { ours, beforeHandshake } = await peerCertificatesFrom(t, { ...fx.server, ca: fx.ca.cert });
  assert.equal(beforeHandshake, undefined, 'before the handshake');
  assert.equal(ours.getPeerCertificate().subject.CN, 'localhost');
  const { X509Certificate } = require('node:crypto');
  assert.equal(ours.getPeerX509Certificate().fingerprint256, new X509Certificate(fx.server.cert).fingerprint256);
  ours.close();
  assert.equal(ours.getPeerCertificate(), undefined, 'closed');

  // A plain socket: null (node:net sockets have no getPeerCertificate at all).
  const plain = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  cleanup(t, () => plain.stop(true));
  const c = await connect({ hostname: HOST, port: plain.port, socket: { data() {} } });
  cleanup(t, () => c.close());
  assert.equal(c.getPeerCertificate(), null);
});

// ---- certificate descriptions against node:crypto, for certificates openssl will not make -------

/** node:tls's object for a DER certificate: X509Certificate#toLegacyObject() is what it builds on. */
function nodeDescription(der) {
  const c = new crypto.X509Certificate(der).toLegacyObject();
  if (typeof c.infoAccess === 'string') {
    // Node 18 leaves the split to translatePeerCertificate; this is its code.
    const info = c.infoAccess;
    c.infoAccess = { __proto__: null };
    info.replace(/([^\n:]*):([^\n]*)(?:\n|$)/g, (all, key, val) => {
      if (val.charCodeAt(0) === 0x22) val = JSON.parse(val);
      if (key in c.infoAccess) c.infoAccess[key].push(val);
      else c.infoAccess[key] = [val];
    });
  }
  return c;
}

function ourDescription(der) {
  const described = binding.describeCertificate(der);
  return described && certificateObject(described);
}

/** Certificates with the inputs each field has to get right, built byte by byte (x509-der.js). */
function craftedCertificates() {
  const { tlv, seq, oid, integerHex } = der;
  const ecSpki = (curve) => crypto.generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ type: 'spki', format: 'der' });
  const spki = ecSpki('P-256');
  const point = (curve, form) => {
    const e = crypto.createECDH(curve);
    e.generateKeys();
    return e.getPublicKey(null, form);
  };
  const pointSpki = (curveOid, pt) => seq(seq(oid('1.2.840.10045.2.1'), oid(curveOid)), tlv(0x03, [0], pt));
  const rsaSpki = (nHex, eHex, params = true) =>
    seq(seq(oid('1.2.840.113549.1.1.1'), ...(params ? [tlv(0x05)] : [])), tlv(0x03, [0], seq(integerHex(nHex), integerHex(eHex))));
  const SAN = '2.5.29.17';
  const AIA = '1.3.6.1.5.5.7.1.1';
  const EKU = '2.5.29.37';
  const BC = '2.5.29.19';
  const KU = '2.5.29.15';
  const gn = {
    dns: (s) => tlv(0x82, Buffer.from(s, 'latin1')),
    email: (s) => tlv(0x81, Buffer.from(s, 'latin1')),
    uri: (s) => tlv(0x86, Buffer.from(s, 'latin1')),
    ip: (b) => tlv(0x87, Buffer.from(b)),
    rid: (o) => tlv(0x88, oid(o).subarray(2)),
    other: (o, v) => tlv(0xa0, oid(o), tlv(0xa0, v)),
    dir: (rdns) => tlv(0xa4, der.name(rdns)),
  };
  const desc = (method, name) => seq(oid(method), name);
  const ca = seq(tlv(0x01, [0xff]));
  const certs = {
    'short names, repeats, a multi-valued RDN': {
      subject: [['2.5.4.3', 'a'], ['2.5.4.9', 's'], ['0.9.2342.19200300.100.1.25', 'dc'], ['1.3.6.1.4.1.311.60.2.1.3', 'US'], ['2.5.4.11', 'x'], [['2.5.4.11', 'y'], ['2.5.4.3', 'z']], ['1.2.3.4.5', 'unknown type']],
    },
    'BMP, Universal, T61 and IA5 values': {
      subject: [['2.5.4.3', ['bmp', 'Ab\u0410']], ['2.5.4.10', ['universal', 'x\u{1F600}']], ['2.5.4.11', ['t61', 'caf\u00e9']], ['2.5.4.7', ['ia5', 'q']], ['2.5.4.5', ['numeric', '12']]],
    },
    'an empty subject': { subject: [] },
    'alt names of every kind': {
      extensions: [[SAN, false, seq(gn.dns('a.example'), gn.dns('x,y'), gn.dns('a\nb'), gn.email('\u00e9@x'), gn.uri('http://a/"b\\'), gn.ip([10, 0, 0, 1]),
        gn.ip([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd]), gn.ip([1, 2, 3]), gn.rid('1.2.3.4'), tlv(0xa3, seq()), tlv(0xa5, tlv(0xa1, tlv(0x0c, 'x'))))]],
    },
    'other names': {
      extensions: [[SAN, false, seq(gn.other('1.3.6.1.4.1.311.20.2.3', tlv(0x0c, 'upn@x')), gn.other('1.3.6.1.5.5.7.8.7', tlv(0x16, '_x.y')), gn.other('1.3.6.1.5.5.7.8.7', tlv(0x0c, 'wrong type')),
        gn.other('1.2.3', tlv(0x0c, 'unknown')), gn.other('1.3.6.1.5.5.7.8.5', tlv(0x0c, 'a,b')), gn.other('1.3.6.1.5.5.7.8.9', tlv(0x0c, 'm\u00fc@x')))]],
    },
    'a directory name': { extensions: [[SAN, false, seq(gn.dir([['2.5.4.3', 'a b'], ['2.5.4.10', ' x+y,'], [['2.5.4.11', '#u'], ['2.5.4.3', 'v']], ['1.2.3.4', 'unk'], ['2.5.4.7', 'caf\u00e9']]))]] },
    'alt names that do not parse (null)': { extensions: [[SAN, false, seq(gn.dns('ok'), Buffer.from([0x99, 0x00]))]] },
    'alt names twice (the first is shown)': { extensions: [[SAN, false, seq(gn.dns('one'))], [SAN, false, seq(gn.dns('two'))]] },
    'info access': {
      extensions: [[AIA, false, seq(desc('1.3.6.1.5.5.7.48.1', gn.uri('http://o/')), desc('1.3.6.1.5.5.7.48.2', gn.uri('http://i/')), desc('1.3.6.1.5.5.7.48.1', gn.uri('http://a,b/')),
        desc('1.3.6.1.5.5.7.48.5', gn.uri('http://r/')), desc('1.2.3.4', gn.email('a"b')), desc('1.3.6.1.5.5.7.48.4', gn.ip([1, 2, 3, 4])))]],
    },
    'info access that does not parse (null)': { extensions: [[AIA, false, seq(seq(oid('1.3.6.1.5.5.7.48.1')))]] },
    'extended key usage': { extensions: [[EKU, false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'), oid('1.2.3.4.5.6.7.8.9.1234567'))]] },
    'empty extended key usage': { extensions: [[EKU, false, seq()]] },
    'extended key usage twice (left out)': { extensions: [[EKU, false, seq(oid('1.3.6.1.5.5.7.3.1'))], [EKU, false, seq(oid('1.3.6.1.5.5.7.3.2'))]] },
    'a CA': { extensions: [[BC, true, ca]] },
    'a CA whose key usage allows certificate signing': { extensions: [[BC, true, ca], [KU, true, tlv(0x03, [0x01, 0x06])]] },
    'a CA whose key usage does not': { extensions: [[BC, true, ca], [KU, true, tlv(0x03, [0x07, 0x80])]] },
    'a CA with an empty key usage': { extensions: [[BC, true, ca], [KU, true, tlv(0x03, [0x00])]] },
    'a CA with a negative path length': { extensions: [[BC, true, seq(tlv(0x01, [0xff]), tlv(0x02, [0xff]))]] },
    'basic constraints twice': { extensions: [[BC, true, ca], [BC, true, ca]] },
    'a CA with a malformed authority key identifier': { extensions: [[BC, true, ca], ['2.5.29.35', false, tlv(0x04, 'x')]] },
    'key usage allowing certificate signing without basic constraints': { extensions: [[KU, true, tlv(0x03, [0x01, 0x06])]] },
    'serial 0': { serialHex: '00' },
    'a negative serial': { serialHex: 'ff00' },
    'a long serial with a sign byte': { serialHex: '00ff0102030405060708090a0b0c0d0e0f101112' },
    'GeneralizedTime dates': { notBefore: new Date(Date.UTC(1950, 5, 1)), notAfter: new Date(Date.UTC(2060, 0, 31, 23, 59, 59)) },
    'RSA without NULL parameters, n with extra zeros': { spki: rsaSpki('0000c3' + 'ab'.repeat(127), '010001', false), sigAlg: der.SIG.rsa },
    'RSA with an exponent over 64 bits': { spki: rsaSpki('00c3' + 'ab'.repeat(127), '0100000000000000000001'), sigAlg: der.SIG.rsa },
    'RSA with a "negative" modulus and an odd number of hex digits': { spki: rsaSpki('0123', '03'), sigAlg: der.SIG.rsa },
    'Ed25519, Ed448, RSA-PSS keys (no key fields)': { spki: crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }), sigAlg: der.SIG.ed25519 },
    'an EC point not on the curve (no key fields)': { spki: pointSpki('1.2.840.10045.3.1.7', Buffer.concat([Buffer.from([4]), crypto.randomBytes(64)])) },
    'an unknown curve (no key fields)': { spki: pointSpki('1.2.3.4', point('prime256v1', 'uncompressed')) },
  };
  for (const type of ['ed448', 'rsa-pss']) {
    certs[`a ${type} key`] = { spki: crypto.generateKeyPairSync(type, { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }), sigAlg: der.SIG.rsa };
  }
  for (const curve of ['P-384', 'P-521', 'secp256k1', 'brainpoolP256r1', 'secp224r1', 'prime192v1', 'sect163k1']) {
    certs[`an EC key on ${curve}`] = { spki: ecSpki(curve) };
  }
  // Node gives the point uncompressed whatever the certificate holds (aws-lc decompresses on the
  // curves it has: P-256, P-384, P-521, secp256k1).
  for (const [curve, curveOid] of [['prime256v1', '1.2.840.10045.3.1.7'], ['secp384r1', '1.3.132.0.34'], ['secp521r1', '1.3.132.0.35'], ['secp256k1', '1.3.132.0.10']]) {
    for (const form of ['compressed', 'hybrid']) certs[`a ${form} ${curve} point`] = { spki: pointSpki(curveOid, point(curve, form)) };
  }
  return Object.entries(certs).map(([name, opts]) => [name, der.certificate({ spki, ...opts })]);
}

test('certificate descriptions match node:crypto (X509Certificate#toLegacyObject) field by field', () => {
  for (const [name, cert] of craftedCertificates()) {
    const theirs = nodeDescription(cert);
    const ours = ourDescription(cert);
    assert.ok(ours, `${name}: described`);
    assert.deepEqual(Object.keys(ours), Object.keys(theirs), `${name}: keys in node's order`);
    for (const key of Object.keys(theirs)) assert.deepStrictEqual(ours[key], theirs[key], `${name}: ${key}`);
  }
});

test('a certificate that does not parse has no description (and nothing panics)', () => {
  assert.equal(binding.describeCertificate(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])), null);
  assert.equal(binding.describeCertificate(Buffer.alloc(0)), null);
  const [, good] = craftedCertificates()[0];
  for (let i = 0; i < good.length; i += 7) {
    const bad = Buffer.from(good);
    bad[i] ^= 0xa5;
    const d = binding.describeCertificate(bad);
    if (d) assert.equal(typeof certificateObject(d).fingerprint256, 'string');
  }
});

test('X.509 v1 certificates (openssl x509 -req without extensions) serve node:tls clients, and our client talks to them', { skip: skipOpenssl }, async (t) => {
  const { execFileSync } = require('node:child_process');
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-v1-'));
  cleanup(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const p = (name) => path.join(dir, name);
  const run = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', p('v1.key'), '-out', p('v1.csr'));
  run('x509', '-req', '-in', p('v1.csr'), '-CA', fx.ca.certPath, '-CAkey', fx.ca.keyPath, '-CAcreateserial', '-CAserial', p('ca.srl'), '-days', '2', '-out', p('v1.pem'));
  const v1 = { key: fs.readFileSync(p('v1.key'), 'utf8'), cert: fs.readFileSync(p('v1.pem'), 'utf8') };
  assert.equal(new crypto.X509Certificate(v1.cert).toLegacyObject().subjectaltname, undefined, 'a v1 certificate has no extensions');

  // Our server with it: node:tls verifies it against the CA (v1 is fine for OpenSSL) and echoes.
  const server = listen({ hostname: HOST, port: 0, tls: v1, socket: echoTable() });
  cleanup(t, () => server.stop(true));
  const c = await nodeConnect(t, { port: server.port, ca: fx.ca.cert, servername: 'localhost' });
  assert.equal(c.authorized, true, `node:tls: ${c.authorizationError}`);
  const echoed = collector();
  c.on('data', (d) => echoed.push(d));
  c.write('over a v1 certificate');
  await echoed.waitForText('over a v1 certificate');

  // Our client against a node:tls server with it: webpki does not verify v1, but with
  // rejectUnauthorized: false the handshake (its signature check included) completes and works.
  const nodeServer = tls.createServer(v1, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise((resolve) => nodeServer.listen(0, HOST, resolve));
  cleanup(t, () => nodeServer.close());
  const handshake = deferred();
  const got = collector();
  const ours = await connect({
    hostname: HOST,
    port: nodeServer.address().port,
    tls: { ca: fx.ca.cert, serverName: 'localhost', rejectUnauthorized: false },
    socket: {
      handshake: (_s, ok, err) => handshake.resolve({ ok, code: err && err.code }),
      data: (_s, d) => got.push(d),
    },
  });
  const verdict = await withTimeout(handshake.promise, 5000, 'handshake');
  assert.equal(verdict.ok, true);
  ours.write('back from a v1 server');
  await got.waitForText('back from a v1 server');
  ours.end();
});
