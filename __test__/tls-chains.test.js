'use strict';
// Chains as OpenSSL (and so node:tls and Bun) builds and trusts them: a server sends the issuers
// of a lone leaf found in its `ca`; only a self-issued `ca` certificate ends a chain (an
// intermediate given as `ca` links a chain to a root but trusts nothing alone); and a certificate
// for the wrong purpose is INVALID_PURPOSE.
const test = require('node:test');
const assert = require('node:assert/strict');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const skip = fx ? false : skipReason();

/** A node:tls server with `options`; resolves its port. */
async function nodeServer(t, options) {
  const server = tls.createServer(options, (c) => {
    c.on('error', () => {});
    c.end('hi');
  });
  server.on('tlsClientError', () => {});
  await new Promise((r) => server.listen(0, HOST, r));
  t.after(() => server.close());
  return server.address().port;
}

/** Our client's handshake verdict against `port`: `{ ok, code }`. */
function handshake(port, tlsOptions) {
  const done = deferred();
  connect({ hostname: 'localhost', port, tls: tlsOptions, socket: {
    handshake(s, ok, err) { done.resolve({ ok, code: err ? err.code : null, authorized: s.authorized }); s.end(); },
    data() {},
    connectError(s, err) { done.resolve({ ok: false, code: err.code }); },
  } }).catch(() => {});
  return withTimeout(done.promise, 8000, 'handshake');
}

test('a server whose cert is a lone leaf sends the intermediate given in ca: a node:tls client trusting the root verifies it', { skip }, async (t) => {
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.chained.key, cert: fx.chained.leafOnly, ca: fx.inter.cert }, socket: { data() {} } });
  t.after(() => server.stop(true));
  const verdict = await withTimeout(new Promise((resolve) => {
    const c = tls.connect({ host: HOST, port: server.port, servername: 'localhost', ca: fx.ca.cert, rejectUnauthorized: false }, () => {
      resolve({ authorized: c.authorized, error: c.authorizationError, chain: c.getPeerCertificate(true) });
      c.destroy();
    });
    c.on('error', (e) => resolve({ error: e }));
  }), 8000);
  assert.equal(verdict.authorized, true, String(verdict.error));
  assert.equal(verdict.chain.issuerCertificate.subject.CN, 'node-bun-tcp Intermediate CA');
});

test('client: an intermediate given as ca is not a root: UNABLE_TO_GET_ISSUER_CERT, as node:tls', { skip }, async (t) => {
  const port = await nodeServer(t, { key: fx.chained.key, cert: fx.chained.cert });
  assert.deepEqual(await handshake(port, { ca: fx.inter.cert }), { ok: false, code: 'UNABLE_TO_GET_ISSUER_CERT', authorized: false });
  // With the root it verifies, and the root beside the intermediate verifies too.
  assert.equal((await handshake(port, { ca: fx.ca.cert })).ok, true);
  assert.equal((await handshake(port, { ca: [fx.inter.cert, fx.ca.cert] })).ok, true);
  // A lone leaf whose intermediate is in ca (with the root) verifies through it.
  const leafOnly = await nodeServer(t, { key: fx.chained.key, cert: fx.chained.leafOnly });
  assert.equal((await handshake(leafOnly, { ca: [fx.inter.cert, fx.ca.cert] })).ok, true);
});

test('server: a client certificate under an intermediate given as ca is not authorized', { skip }, async (t) => {
  const verdicts = [];
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert, ca: fx.inter.cert, requestCert: true, rejectUnauthorized: false }, socket: {
    handshake(s, ok, err) { verdicts.push({ authorized: s.authorized, code: err ? err.code : null }); },
    data() {},
  } });
  t.after(() => server.stop(true));
  await withTimeout(new Promise((resolve, reject) => {
    const c = tls.connect({ host: HOST, port: server.port, servername: 'localhost', ca: fx.ca.cert, key: fx.interClient.key, cert: fx.interClient.cert + fx.inter.cert }, () => { c.end(); resolve(); });
    c.on('error', reject);
  }), 8000);
  await withTimeout((async () => { while (verdicts.length === 0) await new Promise((r) => setTimeout(r, 5)); })(), 5000);
  assert.deepEqual(verdicts[0], { authorized: false, code: 'UNABLE_TO_GET_ISSUER_CERT' });
});

test('a certificate whose extended key usage does not allow the use is INVALID_PURPOSE', { skip }, async (t) => {
  const port = await nodeServer(t, { key: fx.clientOnly.key, cert: fx.clientOnly.cert });
  assert.deepEqual(await handshake(port, { ca: fx.ca.cert, rejectUnauthorized: false }), { ok: true, code: 'INVALID_PURPOSE', authorized: false });
  const rejected = await handshake(port, { ca: fx.ca.cert });
  assert.equal(rejected.ok, false);
  assert.equal(rejected.code, 'INVALID_PURPOSE');
});

test('a server name that is no hostname matches no certificate, not even one for IP 0.0.0.0', { skip }, async (t) => {
  const port = await nodeServer(t, { key: fx.zero.key, cert: fx.zero.cert });
  for (const serverName of ['bad_name!', 'x y']) {
    const verdict = await handshake(port, { ca: fx.ca.cert, serverName });
    assert.deepEqual(verdict, { ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID', authorized: false }, serverName);
  }
  // The address itself, asked for as such, does match it.
  const done = deferred();
  connect({ hostname: HOST, port, tls: { ca: fx.ca.cert, serverName: '0.0.0.0' }, socket: {
    handshake(s, ok, err) { done.resolve({ ok, code: err ? err.code : null }); s.end(); },
    data() {},
  } }).catch(() => {});
  assert.deepEqual(await withTimeout(done.promise, 8000), { ok: true, code: null });
});

test("a leaf pinned as the client's ca (not self-issued): node:tls's code, not trusted", { skip }, async (t) => {
  const port = await nodeServer(t, { key: fx.server.key, cert: fx.server.cert });
  const nodeCode = await withTimeout(new Promise((resolve) => {
    const c = tls.connect({ host: HOST, port, servername: 'localhost', ca: fx.server.cert }, () => { c.destroy(); resolve('OK'); });
    c.on('error', (e) => resolve(e.code));
  }), 8000);
  const ours = await handshake(port, { ca: fx.server.cert });
  assert.equal(ours.ok, false);
  assert.equal(ours.code, nodeCode);
});
