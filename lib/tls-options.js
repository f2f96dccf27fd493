'use strict';
// TLS options: validation (TypeErrors naming the field) and normalisation into what the addon's
// tlsServerContext/tlsClientContext take. Credential errors the addon finds are rethrown here.
const binding = require('./binding');
const { FileRef } = require('./file');
const { invalidArgType, outOfRange } = require('./errors');
const { validateBoolean, validateString, hasDetachedBytes } = require('./options');

const INPUT = 'a string, Buffer, TypedArray, ArrayBuffer, file() reference, or an array of those';

function toBuffer(value, name) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (hasDetachedBytes(value)) {
    throw invalidArgType(name, `${INPUT} (not detached)`, value);
  }
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof FileRef) return value.bytes();
  throw invalidArgType(name, INPUT, value);
}

/** PEM inputs: one value or an array of them, as Buffers. */
function pemList(value, name) {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map((v, i) => toBuffer(v, `${name}[${i}]`));
  return [toBuffer(value, name)];
}

/** Wire format: length-prefixed names. Returns null when `bytes` is not exactly that. */
function parseWire(bytes) {
  const names = [];
  let i = 0;
  while (i < bytes.length) {
    const len = bytes[i];
    if (len === 0 || i + 1 + len > bytes.length) return null;
    names.push(Buffer.from(bytes.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  return names.length > 0 ? names : null;
}

/**
 * One protocol name as the handshake carries it: 1 to 255 bytes (a length byte prefixes it).
 * node:tls throws the same RangeError for a longer one; an empty one would make a hello the peer
 * rejects as malformed.
 */
function alpnName(bytes, name, value) {
  if (bytes.length === 0 || bytes.length > 255) throw outOfRange(name, 'a protocol name of 1 to 255 bytes', value);
  return bytes;
}

/** `ALPNProtocols`: an array of names, wire-format bytes, or a string (wire format if it parses). */
function alpnList(value) {
  const name = 'tls.ALPNProtocols';
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    return value.map((p, i) => {
      if (typeof p === 'string') return alpnName(Buffer.from(p, 'utf8'), `${name}[${i}]`, p);
      if (ArrayBuffer.isView(p)) return alpnName(Buffer.from(p.buffer, p.byteOffset, p.byteLength), `${name}[${i}]`, p);
      throw invalidArgType(`${name}[${i}]`, 'a string or Buffer', p);
    });
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'latin1');
    return parseWire(bytes) || [alpnName(Buffer.from(value, 'utf8'), name, value)];
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    const bytes = toBuffer(value, name);
    const names = parseWire(bytes);
    if (!names) throw invalidArgType(name, 'ALPN wire format (length-prefixed names)', value);
    return names;
  }
  throw invalidArgType(name, 'an array of strings, a string, or wire-format bytes', value);
}

function optionalString(value, name) {
  return value === undefined || value === null ? undefined : validateString(value, name);
}

/** A name to send and check: no NUL bytes, which would cut it short in C (as Bun rejects them). */
function serverName(value) {
  const name = optionalString(value, 'tls.serverName');
  if (name !== undefined && name.includes('\0')) {
    throw invalidArgType('tls.serverName', 'a string without null bytes', value);
  }
  return name;
}

/** The name option: `serverName`, or node:tls's spelling `servername` (as Bun takes it too). */
function serverNameOf(tls) {
  if (tls === null || typeof tls !== 'object') return undefined;
  const name = tls.serverName;
  return name === undefined || name === null ? tls.servername : name;
}

let warnedUnverified = false;

/**
 * A client's `rejectUnauthorized` when the options leave it out: as node:tls (and Bun), false when
 * NODE_TLS_REJECT_UNAUTHORIZED is '0', with node:tls's warning (once).
 */
function clientRejectDefault() {
  if (process.env.NODE_TLS_REJECT_UNAUTHORIZED !== '0') return true;
  if (!warnedUnverified) {
    warnedUnverified = true;
    process.emitWarning(
      "Setting the NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0' makes TLS connections " +
        'and HTTPS requests insecure by disabling certificate verification.',
    );
  }
  return false;
}

function normalise(tls, server) {
  const requestCert = validateBoolean(tls.requestCert, 'tls.requestCert', false);
  const reject = tls.rejectUnauthorized;
  const rejectDefault = server || (reject !== undefined && reject !== null) ? true : clientRejectDefault();
  return {
    key: pemList(tls.key, 'tls.key'),
    cert: pemList(tls.cert, 'tls.cert'),
    ca: pemList(tls.ca, 'tls.ca'),
    passphrase: optionalString(tls.passphrase, 'tls.passphrase'),
    requestCert: server ? requestCert : false,
    rejectUnauthorized: validateBoolean(reject, 'tls.rejectUnauthorized', rejectDefault),
    alpn: alpnList(tls.ALPNProtocols),
    serverName: serverName(serverNameOf(tls)),
    // An OpenSSL cipher list, read as far as rustls's suites go (src/tls/ciphers.rs).
    ciphers: optionalString(tls.ciphers, 'tls.ciphers'),
  };
}

/** Credential problems the addon reports: the message names the field. */
function build(factory, options) {
  try {
    return factory(options);
  } catch (err) {
    const e = new Error(err.message);
    e.code = 'ERR_TLS_INVALID_CREDENTIALS';
    throw e;
  }
}

/** `listen({ tls })`: null for plain TCP, else the addon's server context. */
function serverContext(tls) {
  if (tls === undefined || tls === null || tls === false) return null;
  // An array of configurations is not a shape listen takes (several key/cert pairs go in one).
  if (typeof tls !== 'object' || Array.isArray(tls)) throw invalidArgType('options.tls', 'of type object (with key and cert)', tls);
  const options = normalise(tls, true);
  if (options.key.length === 0 || options.cert.length === 0) {
    const missing = options.key.length === 0 ? 'tls.key' : 'tls.cert';
    throw invalidArgType(missing, `${INPUT} (a TLS server needs tls.key and tls.cert)`, tls[missing.slice(4)]);
  }
  return build(binding.tlsServerContext, options);
}

/** `connect({ tls })`: null for plain TCP; `true` verifies against the public roots. */
function clientContext(tls) {
  if (tls === undefined || tls === null || tls === false) return null;
  if (tls === true) tls = {};
  if (typeof tls !== 'object' || Array.isArray(tls)) throw invalidArgType('options.tls', 'of type boolean or object', tls);
  return build(binding.tlsClientContext, normalise(tls, false));
}

module.exports = { serverContext, clientContext, serverNameOf };
