'use strict';
// A throwaway self-signed certificate for localhost, made with the openssl command, for the TLS
// examples. Returns { key, cert, dir } (paths). Not for production: use a real certificate there.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function selfSigned() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-bun-tcp-example-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
        '-out', cert, '-days', '7', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
  } catch (err) {
    throw new Error(`making a certificate needs the openssl command (${err.message})`);
  }
  return { key, cert, dir };
}

module.exports = { selfSigned };
