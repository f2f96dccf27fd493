'use strict';
// Peer certificates in node:tls's shape: the native layer (src/tls/cert_info.rs) gives each
// certificate's fields as OpenSSL's X509ToObject computes them; this builds Node's objects from them
// (its key order, null-prototype name objects with arrays for repeated keys, `infoAccess` split as
// its translatePeerCertificate splits it) and links `getPeerCertificate(true)`'s issuer chain.

/** `[key, value, key, value, ...]` as Node's name object: a repeated key collects an array. */
function nameObject(pairs) {
  const out = { __proto__: null };
  for (let i = 0; i < pairs.length; i += 2) {
    const key = pairs[i];
    const value = pairs[i + 1];
    if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = value;
    else if (Array.isArray(out[key])) out[key].push(value);
    else out[key] = [out[key], value];
  }
  return out;
}

/** `OCSP - URI:http://...` lines as `{ 'OCSP - URI': ['http://...'] }` (Node's translatePeerCertificate). */
function infoAccessObject(text) {
  const out = { __proto__: null };
  text.replace(/([^\n:]*):([^\n]*)(?:\n|$)/g, (all, key, val) => {
    if (val.charCodeAt(0) === 0x22) val = JSON.parse(val);
    if (key in out) out[key].push(val);
    else out[key] = [val];
  });
  return out;
}

function certificateObject(c) {
  const out = {};
  if (c.subject) out.subject = nameObject(c.subject);
  if (c.issuer) out.issuer = nameObject(c.issuer);
  if (c.subjectaltname !== undefined) out.subjectaltname = c.subjectaltname;
  if (c.infoAccess !== undefined) out.infoAccess = c.infoAccess === null ? null : infoAccessObject(c.infoAccess);
  out.ca = c.ca;
  if (c.modulus !== undefined) {
    out.modulus = c.modulus;
    out.bits = c.bits;
    out.exponent = c.exponent;
    out.pubkey = c.pubkey;
  } else if (c.pubkey !== undefined) {
    out.bits = c.bits;
    out.pubkey = c.pubkey;
    if (c.asn1Curve !== undefined) out.asn1Curve = c.asn1Curve;
    if (c.nistCurve !== undefined) out.nistCurve = c.nistCurve;
  }
  out.valid_from = c.validFrom;
  out.valid_to = c.validTo;
  out.fingerprint = c.fingerprint;
  out.fingerprint256 = c.fingerprint256;
  out.fingerprint512 = c.fingerprint512;
  if (c.extKeyUsage !== undefined) out.ext_key_usage = c.extKeyUsage;
  out.serialNumber = c.serialNumber;
  out.raw = c.raw;
  return out;
}

/** The leaf's object; each certificate's `issuerCertificate` is the next, the last's itself when self-issued. */
function chainObject({ certificates, endsSelfIssued }) {
  const objects = certificates.map(certificateObject);
  for (let i = 0; i + 1 < objects.length; i++) objects[i].issuerCertificate = objects[i + 1];
  const last = objects[objects.length - 1];
  if (endsSelfIssued) last.issuerCertificate = last;
  return objects[0];
}

module.exports = { chainObject, certificateObject };
