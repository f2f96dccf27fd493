'use strict';
// Certificates built byte by byte, for comparing our certificate descriptions with node:tls's on
// inputs `openssl` will not make (odd string types, unusual names, malformed extensions). The
// signature is not a real one: these are parsed, never verified.
const crypto = require('node:crypto');

function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER element: `tag` (a byte) and its content. */
function tlv(tag, ...content) {
  const body = Buffer.concat(content.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c))));
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...items) => tlv(0x30, ...items);
const set = (...items) => tlv(0x31, ...items);

function oid(text) {
  const parts = text.split('.').map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const groups = [];
    let v = p;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    groups.forEach((g, i) => out.push(i < groups.length - 1 ? g | 0x80 : g));
  }
  return tlv(0x06, Buffer.from(out));
}

/** A DER INTEGER from a hex string of its two's-complement bytes (given as they are). */
const integerHex = (hex) => tlv(0x02, Buffer.from(hex, 'hex'));

const TAGS = { utf8: 0x0c, printable: 0x13, t61: 0x14, ia5: 0x16, bmp: 0x1e, universal: 0x1c, numeric: 0x12, visible: 0x1a };

/** A string value: `[type, text]` (bmp/universal are encoded as UCS-2/UCS-4), or a raw Buffer TLV. */
function stringValue(v) {
  if (Buffer.isBuffer(v)) return v;
  const [type, text] = Array.isArray(v) ? v : ['utf8', v];
  if (type === 'bmp') {
    const b = Buffer.alloc(text.length * 2);
    for (let i = 0; i < text.length; i++) b.writeUInt16BE(text.charCodeAt(i), i * 2);
    return tlv(TAGS.bmp, b);
  }
  if (type === 'universal') {
    const cps = [...text].map((c) => c.codePointAt(0));
    const b = Buffer.alloc(cps.length * 4);
    cps.forEach((cp, i) => b.writeUInt32BE(cp, i * 4));
    return tlv(TAGS.universal, b);
  }
  if (type === 't61') return tlv(TAGS.t61, Buffer.from(text, 'latin1'));
  return tlv(TAGS[type], text);
}

/** A Name from RDNs: each RDN is `[oid, value]` or an array of those (a multi-valued RDN). */
function name(rdns) {
  return seq(
    ...rdns.map((rdn) => {
      const attrs = Array.isArray(rdn[0]) ? rdn : [rdn];
      return set(...attrs.map(([type, value]) => seq(oid(type), stringValue(value))));
    }),
  );
}

function utcTime(date) {
  const s = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return tlv(0x17, s);
}

/** An extension: `[oid, critical, valueDer]`. */
function extension([type, critical, value]) {
  return seq(oid(type), ...(critical ? [tlv(0x01, [0xff])] : []), tlv(0x04, value));
}

const SIG = { rsa: '1.2.840.113549.1.1.11', ec: '1.2.840.10045.4.3.2', ed25519: '1.3.101.112' };

/**
 * A certificate. `spki` is a DER SubjectPublicKeyInfo (a KeyObject's `export({ type: 'spki',
 * format: 'der' })`); `sigAlg` the signature algorithm's OID (it has to fit the issuer's key type for
 * OpenSSL to count the issuer as one).
 */
function certificate({
  serialHex = '01',
  issuer = [['2.5.4.3', 'issuer']],
  subject = [['2.5.4.3', 'subject']],
  notBefore = new Date(Date.UTC(2020, 0, 1)),
  notAfter = new Date(Date.UTC(2040, 0, 1)),
  spki,
  sigAlg = SIG.ec,
  extensions = [],
}) {
  const alg = sigAlg === SIG.rsa ? seq(oid(sigAlg), tlv(0x05)) : seq(oid(sigAlg));
  const tbs = seq(
    tlv(0xa0, integerHex('02')),
    integerHex(serialHex),
    alg,
    Buffer.isBuffer(issuer) ? issuer : name(issuer),
    seq(utcTime(notBefore), utcTime(notAfter)),
    Buffer.isBuffer(subject) ? subject : name(subject),
    spki,
    ...(extensions.length ? [tlv(0xa3, seq(...extensions.map(extension)))] : []),
  );
  return seq(tbs, alg, tlv(0x03, [0], crypto.randomBytes(64)));
}

module.exports = { tlv, seq, set, oid, integerHex, name, stringValue, extension, certificate, SIG, TAGS };
