'use strict';
// Throwaway TLS credentials for the TLS suites, generated at test time with the `openssl` CLI into a
// temp dir (removed at process exit) and cached per process. Without `openssl`, `fixtures()` returns
// null and `skipReason` says why, so suites can `{ skip }` with a printed reason.
//
// What is made (EC P-256 unless noted):
//   ca            a CA ("node-bun-tcp Test CA")
//   otherCa       an unrelated CA
//   server        leaf from `ca`: DNS:localhost, IP:127.0.0.1, IP:::1 (serverAuth)
//   serverRsa     the same names with an RSA 2048 key
//   serverP384    the same names with a P-384 key; two OUs, serverAuth + clientAuth, and an
//                 authorityInfoAccess (OCSP twice, caIssuers) for getPeerCertificate()'s fields
//   serverEnc     `server`'s key as encrypted PKCS#8 (aes-256-cbc), passphrase PASSPHRASE
//   client        leaf from `ca` for mTLS (clientAuth)
//   otherClient   leaf from `otherCa` for mTLS (clientAuth)
//   expired       leaf from `ca`, valid 2019-01-01 .. 2020-01-01, same names as `server`
//   selfSigned    self-signed leaf, same names as `server`
//   wrongName     leaf from `ca` for DNS:example.com only
//   chained       leaf from an intermediate CA under `ca`; `cert` is leaf + intermediate
// Each entry has `keyPath`/`certPath` and `key`/`cert` (PEM strings); CAs have `certPath`/`cert`.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const { HOST, withTimeout, cleanup } = require('./helpers');

const PASSPHRASE = 'correct horse battery staple';
const NAMES = 'DNS:localhost,IP:127.0.0.1,IP:::1';

let cached;
let skipReason = null;

function opensslVersion() {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function generate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-tls-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const p = (name) => path.join(dir, name);
  const run = (...args) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ecKey = (name, curve = 'P-256') => run('genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', p(name));
  const rsaKey = (name) => run('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p(name));
  const ext = (name, lines) => fs.writeFileSync(p(name), lines.join('\n') + '\n');

  ext('ca.ext', [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ]);
  const leafExt = (name, san, usage, rsa = false) =>
    ext(name, [
      'basicConstraints = critical, CA:FALSE',
      `keyUsage = critical, digitalSignature${rsa ? ', keyEncipherment' : ''}`,
      `extendedKeyUsage = ${usage}`,
      `subjectAltName = ${san}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
    ]);
  leafExt('server.ext', NAMES, 'serverAuth');
  leafExt('server-rsa.ext', NAMES, 'serverAuth', true);
  ext('server-p384.ext', [
    fs.readFileSync(p('server.ext'), 'utf8').replace('serverAuth', 'serverAuth, clientAuth').trim(),
    'authorityInfoAccess = OCSP;URI:http://ocsp.test/, OCSP;URI:http://ocsp2.test/, caIssuers;URI:http://ca.test/ca.crt',
  ]);
  leafExt('client.ext', 'DNS:client.test', 'clientAuth');
  leafExt('wrong.ext', 'DNS:example.com', 'serverAuth');
  ext('self.ext', [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${NAMES}`,
  ]);

  const makeCa = (name, cn) => {
    ecKey(`${name}.key`);
    run('req', '-new', '-x509', '-key', p(`${name}.key`), '-subj', `/CN=${cn}/O=node-bun-tcp tests`, '-days', '3650',
      '-sha256', '-extensions', 'v3', '-config', writeReqConfig(`${name}.cnf`, 'ca.ext'), '-out', p(`${name}.pem`));
  };
  // `req -x509` takes extensions from a config section; build one from an ext file.
  function writeReqConfig(name, extFile) {
    const body = fs.readFileSync(p(extFile), 'utf8');
    fs.writeFileSync(p(name), `[req]\ndistinguished_name = dn\n[dn]\n[v3]\n${body}`);
    return p(name);
  }
  const makeLeaf = (name, cn, caName, extFile, rsa = false, { curve, subject } = {}) => {
    if (rsa) rsaKey(`${name}.key`);
    else ecKey(`${name}.key`, curve);
    run('req', '-new', '-key', p(`${name}.key`), '-subj', subject || `/CN=${cn}/O=node-bun-tcp tests`, '-out', p(`${name}.csr`));
    run('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${caName}.pem`), '-CAkey', p(`${caName}.key`),
      '-set_serial', String(Math.floor(Math.random() * 1e12) + 1), '-days', '825', '-sha256',
      '-extfile', p(extFile), '-out', p(`${name}.pem`));
  };

  makeCa('ca', 'node-bun-tcp Test CA');
  makeCa('other-ca', 'node-bun-tcp Other CA');
  makeLeaf('server', 'localhost', 'ca', 'server.ext');
  makeLeaf('server-rsa', 'localhost', 'ca', 'server-rsa.ext', true);
  makeLeaf('server-p384', 'localhost', 'ca', 'server-p384.ext', false, {
    curve: 'P-384',
    subject: '/C=DE/O=node-bun-tcp tests/OU=One/OU=Two/CN=localhost',
  });
  makeLeaf('client', 'client.test', 'ca', 'client.ext');
  makeLeaf('other-client', 'other-client.test', 'other-ca', 'client.ext');
  makeLeaf('wrong', 'example.com', 'ca', 'wrong.ext');

  // An intermediate CA under `ca`, and a leaf under it (served as leaf + intermediate).
  ext('inter.ext', [
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ]);
  makeLeaf('inter', 'node-bun-tcp Intermediate CA', 'ca', 'inter.ext');
  makeLeaf('chained', 'localhost', 'inter', 'server.ext');
  fs.writeFileSync(p('chained-full.pem'), fs.readFileSync(p('chained.pem'), 'utf8') + fs.readFileSync(p('inter.pem'), 'utf8'));
  makeLeaf('inter-client', 'inter-client.test', 'inter', 'client.ext');
  // A certificate for localhost whose extended key usage allows client authentication only.
  leafExt('client-only.ext', NAMES, 'clientAuth');
  makeLeaf('client-only', 'localhost', 'ca', 'client-only.ext');
  // A certificate whose only name is the address 0.0.0.0 (dev and container certificates have it).
  leafExt('zero.ext', 'IP:0.0.0.0', 'serverAuth');
  makeLeaf('zero', 'zero', 'ca', 'zero.ext');

  // Names only in the subject's CN, as quick test certificates are made: a leaf under `ca` with v3
  // extensions but no subjectAltName, a self-signed one from `req -x509` with the default config,
  // and a v1 leaf (`x509 -req` without extensions; OpenSSL 3.2 and later make v3 there, so
  // `v1Leaf.isV1` says which it got).
  ext('cn-only.ext', ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth']);
  makeLeaf('cn-only', 'localhost', 'ca', 'cn-only.ext');
  ecKey('self-nosan.key');
  run('req', '-new', '-x509', '-key', p('self-nosan.key'), '-subj', '/CN=localhost', '-days', '825', '-out', p('self-nosan.pem'));
  ecKey('v1.key');
  run('req', '-new', '-key', p('v1.key'), '-subj', '/CN=localhost/O=node-bun-tcp tests', '-out', p('v1.csr'));
  run('x509', '-req', '-in', p('v1.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-set_serial', '4242', '-days', '825',
    '-sha256', '-out', p('v1.pem'));
  ecKey('v1-client.key');
  run('req', '-new', '-key', p('v1-client.key'), '-subj', '/CN=v1-client.test', '-out', p('v1-client.csr'));
  run('x509', '-req', '-in', p('v1-client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-set_serial', '4243',
    '-days', '825', '-sha256', '-out', p('v1-client.pem'));
  const isV1 = /Version: 1 \(0x0\)/.test(run('x509', '-in', p('v1.pem'), '-noout', '-text'));

  // Self-signed leaf.
  ecKey('self.key');
  run('req', '-new', '-x509', '-key', p('self.key'), '-subj', '/CN=localhost/O=node-bun-tcp tests', '-days', '825',
    '-sha256', '-extensions', 'v3', '-config', writeReqConfig('self.cnf', 'self.ext'), '-out', p('self.pem'));

  // Expired leaf: `openssl ca` takes explicit start and end dates (OpenSSL 3.0 `x509` cannot).
  ecKey('expired.key');
  run('req', '-new', '-key', p('expired.key'), '-subj', '/CN=localhost/O=node-bun-tcp tests', '-out', p('expired.csr'));
  fs.mkdirSync(p('ca-db'));
  fs.writeFileSync(p('ca-db/index.txt'), '');
  fs.writeFileSync(p('ca-db/serial'), '1000\n');
  fs.writeFileSync(
    p('ca-db.cnf'),
    [
      '[ca]',
      'default_ca = db',
      '[db]',
      `database = ${p('ca-db/index.txt')}`,
      `new_certs_dir = ${p('ca-db')}`,
      `serial = ${p('ca-db/serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      'organizationName = optional',
      '[leaf]',
      fs.readFileSync(p('server.ext'), 'utf8'),
    ].join('\n'),
  );
  run('ca', '-batch', '-notext', '-config', p('ca-db.cnf'), '-cert', p('ca.pem'), '-keyfile', p('ca.key'),
    '-in', p('expired.csr'), '-startdate', '20190101000000Z', '-enddate', '20200101000000Z',
    '-extensions', 'leaf', '-out', p('expired.pem'));

  // The server key as encrypted PKCS#8.
  run('pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', p('server.key'), '-passout', `pass:${PASSPHRASE}`,
    '-out', p('server-enc.key'));
  // ... as older OpenSSL made it: PBES2 with its default PRF (HMAC-SHA1), and PKCS#12's
  // SHA-1/3DES scheme (`-v1 PBE-SHA1-3DES`, OpenSSL 1.0's default). Null when this openssl
  // cannot make them.
  const legacyKey = (name, ...how) => {
    try {
      run('pkcs8', '-topk8', ...how, '-in', p('server.key'), '-passout', `pass:${PASSPHRASE}`, '-out', p(name));
      return true;
    } catch {
      return false;
    }
  };
  const sha1Prf = legacyKey('server-enc-sha1prf.key', '-v2', 'aes-128-cbc', '-v2prf', 'hmacWithSHA1');
  const pbeSha13Des = legacyKey('server-enc-pbe.key', '-v1', 'PBE-SHA1-3DES');

  const read = (name) => fs.readFileSync(p(name), 'utf8');
  const pair = (base, keyName = `${base}.key`) => ({
    keyPath: p(keyName),
    certPath: p(`${base}.pem`),
    key: read(keyName),
    cert: read(`${base}.pem`),
  });
  const caOnly = (base) => ({ certPath: p(`${base}.pem`), cert: read(`${base}.pem`), keyPath: p(`${base}.key`) });
  return {
    dir,
    openssl: opensslVersion(),
    passphrase: PASSPHRASE,
    ca: caOnly('ca'),
    otherCa: caOnly('other-ca'),
    server: pair('server'),
    serverRsa: pair('server-rsa'),
    serverP384: pair('server-p384'),
    serverEnc: pair('server', 'server-enc.key'),
    serverEncLegacy: [sha1Prf && pair('server', 'server-enc-sha1prf.key'), pbeSha13Des && pair('server', 'server-enc-pbe.key')].filter(Boolean),
    client: pair('client'),
    otherClient: pair('other-client'),
    expired: pair('expired'),
    selfSigned: pair('self'),
    wrongName: pair('wrong'),
    cnOnly: pair('cn-only'),
    selfNoSan: pair('self-nosan'),
    v1Leaf: { ...pair('v1'), isV1 },
    v1Client: pair('v1-client'),
    // Leaf from an intermediate CA: `cert` is leaf + intermediate, `leafOnly` just the leaf.
    chained: { ...pair('chained'), cert: read('chained-full.pem'), certPath: p('chained-full.pem'), leafOnly: read('chained.pem') },
    inter: caOnly('inter'),
    interClient: pair('inter-client'),
    clientOnly: pair('client-only'),
    zero: pair('zero'),
  };
}

/** The fixtures (generated once per process), or null when openssl is missing (see `skipReason()`). */
function fixtures() {
  if (cached !== undefined) return cached;
  if (!opensslVersion()) {
    skipReason = 'the openssl CLI is not installed: TLS fixtures cannot be generated';
    cached = null;
    return cached;
  }
  try {
    cached = generate();
  } catch (err) {
    skipReason = `generating TLS fixtures with openssl failed: ${err.message}${err.stderr ? `\n${err.stderr}` : ''}`;
    cached = null;
  }
  if (skipReason) process.stderr.write(`# TLS tests skipped: ${skipReason}\n`);
  return cached;
}

/**
 * A `node:tls` client connect (to HOST unless `options.host` says otherwise) that resolves at
 * secureConnect; destroyed after the test. `ignoreLateErrors` keeps an error listener on it, so an
 * error after the handshake (a reset, say) is not an uncaught exception.
 */
function nodeConnect(t, options, { ignoreLateErrors = false } = {}) {
  const c = tls.connect({ host: HOST, ...options });
  cleanup(t, () => c.destroy());
  if (ignoreLateErrors) c.on('error', () => {});
  return withTimeout(
    new Promise((resolve, reject) => {
      c.once('secureConnect', () => resolve(c));
      c.once('error', reject);
    }),
    5000,
    'node:tls connect',
  );
}

module.exports = {
  fixtures,
  nodeConnect,
  skipReason: () => skipReason,
  hasOpenssl: () => opensslVersion() !== null,
  PASSPHRASE,
};
