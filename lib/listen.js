'use strict';
// listen(): validate, bind synchronously (so failures throw here), hand the socket to the loop.
const binding = require('./binding');
const registry = require('./registry');
const { Listener } = require('./listener');
const { dispatch, holding } = require('./dispatch');
const { handlerTable, validateObject, validateBoolean, endpoint, MAX_TIMER_MS } = require('./options');
const { systemError, invalidArgType, outOfRange, INTERNAL } = require('./errors');
const { serverContext } = require('./tls-options');

const DEFAULT_BACKLOG = 511; // as node:net
// node:tls's default handshakeTimeout (milliseconds), also what its 0 means.
const DEFAULT_HANDSHAKE_TIMEOUT = 120_000;
const UV_EAI_NONAME = -3008;

/** A hostname that does not resolve, as node:net's listen reports it (dns.lookup's error). */
function notFound(hostname) {
  const err = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  err.errno = UV_EAI_NONAME;
  err.code = 'ENOTFOUND';
  err.syscall = 'getaddrinfo';
  err.hostname = hostname;
  return err;
}

/**
 * The listen queue length. Never an error, as in node:net and Bun (which ignores it): numbers and
 * numeric strings as given (the kernel caps them at somaxconn); anything else (never converted:
 * a Symbol or a throwing valueOf must not throw either), 0 and negatives get node:net's default
 * (its 0 means the default too).
 */
function backlogOf(value) {
  if (typeof value !== 'number' && typeof value !== 'string') return DEFAULT_BACKLOG;
  const n = Math.trunc(Number(value));
  return n > 0 ? Math.min(n, 0x7fffffff) : DEFAULT_BACKLOG;
}

/**
 * `tls.handshakeTimeout` (ms, as node:tls's): how long an accepted connection may take to finish
 * its handshake, when `open` waits for the handshake (no `handshake` handler: the application has
 * no socket yet to call `timeout()` on). node:tls only reports one that overruns (tlsClientError);
 * here it is dropped, as nothing could report it.
 */
function handshakeTimeoutOf(value) {
  if (value === undefined) return DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof value !== 'number') throw invalidArgType('tls.handshakeTimeout', 'of type number', value);
  if (!(value >= 0 && value <= MAX_TIMER_MS)) throw outOfRange('tls.handshakeTimeout', `>= 0 and <= ${MAX_TIMER_MS}`, value);
  return value || DEFAULT_HANDSHAKE_TIMEOUT;
}

function listen(options) {
  validateObject(options, 'options');
  const handlers = handlerTable(options.socket, 'options.socket');
  const allowHalfOpen = validateBoolean(options.allowHalfOpen, 'options.allowHalfOpen', false);
  // There is no cluster handle sharing here; what `exclusive` still means is no port sharing: as
  // in Bun, it wins over `reusePort`.
  const exclusive = validateBoolean(options.exclusive, 'options.exclusive', false);
  const reusePort = validateBoolean(options.reusePort, 'options.reusePort', false) && !exclusive;
  const ipv6Only = validateBoolean(options.ipv6Only, 'options.ipv6Only', false);
  const backlog = backlogOf(options.backlog);
  const target = endpoint(options);
  const tls = serverContext(options.tls);
  // Read before the bind: a throwing getter must leave nothing bound.
  const settings = {
    data: options.data,
    allowHalfOpen,
    requestCert: tls !== null && options.tls.requestCert === true,
    handshakeTimeout: tls !== null ? handshakeTimeoutOf(options.tls.handshakeTimeout) : 0,
  };
  const startErrno = registry.start(dispatch, holding);
  if (startErrno < 0) {
    const [address, port] = target.unix !== undefined ? [target.unix, -1] : [target.hostname, target.port];
    throw systemError('listen', startErrno, address, port, { describe: true });
  }

  // With a `handshake` handler, `open` runs before the handshake, which waits for it (so that
  // `setVerifyMode` there still applies).
  const flags = { backlog, reusePort, ipv6Only, openFirst: tls !== null && !!handlers.handshake };
  const result =
    target.unix !== undefined
      ? binding.listenUnix(target.unix, flags, tls)
      : binding.listenTcp(target.hostname, target.port, flags, tls);
  if (result.id === UV_EAI_NONAME) throw notFound(target.hostname);
  if (result.id < 0) {
    const port = target.unix !== undefined ? -1 : target.port;
    throw systemError('listen', result.id, result.address, port, { describe: true });
  }
  return new Listener(INTERNAL, result.id, handlers, settings, target, result.port, tls !== null);
}

module.exports = { listen };
