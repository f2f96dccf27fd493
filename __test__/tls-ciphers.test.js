'use strict';
// tls.ciphers: an OpenSSL cipher list, as node:tls and Bun take it, read as far as rustls's suites
// go; a list that selects none of them throws at listen/connect (OpenSSL's "no cipher match").
const test = require('node:test');
const assert = require('node:assert/strict');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const skip = fx ? false : skipReason();

/** What a node:tls client with `options` negotiates with a server of ours with `ciphers`. */
async function negotiated(t, ciphers, options = {}) {
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert, ciphers }, socket: { data() {} } });
  t.after(() => server.stop(true));
  return withTimeout(new Promise((resolve) => {
    const c = tls.connect({ host: HOST, port: server.port, ca: fx.ca.cert, servername: 'localhost', ...options }, () => {
      resolve({ cipher: c.getCipher().standardName, version: c.getProtocol() });
      c.destroy();
    });
    c.on('error', (err) => resolve({ error: err.code || err.message }));
  }), 8000, 'node:tls connect');
}

test('server: a TLS 1.2 suite named in ciphers is the one negotiated; TLS 1.3 keeps its suites', { skip }, async (t) => {
  // The fixtures' server key is EC: the ECDSA suites.
  const tls12 = await negotiated(t, 'ECDHE-ECDSA-AES128-GCM-SHA256', { maxVersion: 'TLSv1.2' });
  assert.deepEqual(tls12, { cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', version: 'TLSv1.2' });
  const other = await negotiated(t, 'ECDHE-ECDSA-CHACHA20-POLY1305', { maxVersion: 'TLSv1.2' });
  assert.deepEqual(other, { cipher: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', version: 'TLSv1.2' });
  const tls13 = await negotiated(t, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  assert.equal(tls13.version, 'TLSv1.3');
});

test('server: a TLS 1.3 name chooses the TLS 1.3 suite; a client offering only excluded suites fails', { skip }, async (t) => {
  assert.equal((await negotiated(t, 'TLS_AES_128_GCM_SHA256')).cipher, 'TLS_AES_128_GCM_SHA256');
  const refused = await negotiated(t, 'ECDHE-ECDSA-AES256-GCM-SHA384', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  assert.ok(refused.error, 'no suite in common');
  // Keywords and exclusions: AES-GCM without the 256-bit ones.
  assert.deepEqual(await negotiated(t, 'ECDHE+AESGCM:!AES256', { maxVersion: 'TLSv1.2' }), { cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', version: 'TLSv1.2' });
});

test("server: the server's order chooses the suite, as in node:tls; by default AES-128-GCM first", { skip }, async (t) => {
  // node:tls's client lists TLS_AES_256_GCM_SHA384 first; the default order still picks AES-128.
  assert.deepEqual(await negotiated(t, undefined), { cipher: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3' });
  assert.equal((await negotiated(t, undefined, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256' })).cipher, 'TLS_AES_128_GCM_SHA256');
  // Only what the client offers can be chosen.
  assert.equal((await negotiated(t, undefined, { ciphers: 'TLS_AES_256_GCM_SHA384' })).cipher, 'TLS_AES_256_GCM_SHA384');
  assert.deepEqual(
    await negotiated(t, undefined, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256' }),
    { cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', version: 'TLSv1.2' },
  );
  // A server's own list is its order.
  assert.equal((await negotiated(t, 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384')).cipher, 'TLS_CHACHA20_POLY1305_SHA256');
  assert.deepEqual(
    await negotiated(t, 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305' }),
    { cipher: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', version: 'TLSv1.2' },
  );
});

test('client: ciphers limits what our client offers', { skip }, async (t) => {
  const server = tls.createServer({ key: fx.server.key, cert: fx.server.cert, maxVersion: 'TLSv1.2' }, (c) => c.end());
  server.on('tlsClientError', () => {});
  await new Promise((r) => server.listen(0, HOST, r));
  t.after(() => server.close());
  const done = deferred();
  connect({ hostname: HOST, port: server.address().port, tls: { ca: fx.ca.cert, serverName: 'localhost', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }, socket: {
    handshake(s, ok) { done.resolve({ ok, cipher: s.getCipher() && s.getCipher().standardName }); },
    data() {},
  } }).catch(() => {});
  assert.deepEqual(await withTimeout(done.promise, 8000), { ok: true, cipher: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256' });
});

test("client: a cipher list is offered in its own order, as node:tls and Bun offer it", { skip }, async (t) => {
  // A TLS 1.2 server that follows the client's order.
  const server = tls.createServer({ key: fx.server.key, cert: fx.server.cert, maxVersion: 'TLSv1.2', honorCipherOrder: false }, (c) => c.end());
  server.on('tlsClientError', () => {});
  await new Promise((r) => server.listen(0, HOST, r));
  t.after(() => server.close());
  for (const [ciphers, want] of [
    ['ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
    ['ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
    ['ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
  ]) {
    const done = deferred();
    connect({ hostname: HOST, port: server.address().port, tls: { ca: fx.ca.cert, serverName: 'localhost', ciphers }, socket: {
      handshake(s, ok) { done.resolve(ok && s.getCipher().standardName); },
      data() {},
    } }).catch(() => {});
    assert.equal(await withTimeout(done.promise, 8000), want, ciphers);
  }
});

test('a cipher list that selects nothing throws naming tls.ciphers; a non-string is a TypeError', { skip }, () => {
  const base = { hostname: HOST, port: 0, socket: { data() {} } };
  for (const ciphers of ['BOGUS', 'AES128-SHA', '!HIGH']) {
    assert.throws(() => listen({ ...base, tls: { key: fx.server.key, cert: fx.server.cert, ciphers } }).stop(true), /tls\.ciphers/, ciphers);
    assert.throws(() => connect({ ...base, port: 1, tls: { ciphers } }), /tls\.ciphers/, ciphers);
  }
  assert.throws(() => listen({ ...base, tls: { key: fx.server.key, cert: fx.server.cert, ciphers: 5 } }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE');
});
