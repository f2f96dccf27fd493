'use strict';
// connect(): validate, resolve the name, start a non-blocking connect on the loop thread.
const dns = require('node:dns');
const net = require('node:net');
const binding = require('./binding');
const registry = require('./registry');
const { Socket, CONNECTING } = require('./socket');
const { dispatch, holding } = require('./dispatch');
const { handlerTable, validateObject, validateBoolean, endpoint } = require('./options');
const os = require('node:os');
const { invalidArgType, outOfRange, systemError, INTERNAL } = require('./errors');
const { clientContext, serverNameOf } = require('./tls-options');

/** `localhost` means both loopbacks, whatever the hosts file says, so a server on either is found. */
const LOCALHOST = ['127.0.0.1', '::1'];
const EINVAL = -os.constants.errno.EINVAL;

/** Names are case-insensitive and may end in the root's dot (`LOCALHOST`, `localhost.`). */
const isLocalhost = (hostname) => hostname.toLowerCase().replace(/\.$/, '') === 'localhost';

/** `[::1]`, as written in a URL, is the address inside the brackets. */
function unbracket(hostname) {
  if (hostname.startsWith('[') && hostname.endsWith(']') && net.isIPv6(hostname.slice(1, -1))) return hostname.slice(1, -1);
  return hostname;
}

function connect(options) {
  validateObject(options, 'options');
  const handlers = handlerTable(options.socket, 'options.socket');
  const allowHalfOpen = validateBoolean(options.allowHalfOpen, 'options.allowHalfOpen', false);
  const timeout = connectTimeout(options.timeout);
  const target = endpoint(options);
  const tls = clientContext(options.tls);
  // Read now: a throwing getter throws from connect(), as every other bad option does.
  const data = options.data;
  const serverName = tls !== null ? serverNameOf(options.tls) : undefined;
  const startErrno = registry.start(dispatch, holding);

  let socket;
  const promise = new Promise((resolve, reject) => {
    const address = target.unix !== undefined ? target.unix : target.hostname;
    // The socket exists before its connect starts (it is what `connectError` receives).
    socket = new Socket(INTERNAL, 0, null, undefined, data, allowHalfOpen, CONNECTING);
    socket._handlers = handlers;
    socket._tls = tls !== null;
    // With a `handshake` handler, `open` runs at the TCP connect, before the handshake: the native
    // side holds the ClientHello until it has (Socket#_sendHello), so that a setServername() there
    // names the server. Otherwise no JS runs before the hello, and it goes at once.
    socket._helloHeld = tls !== null && typeof handlers.handshake === 'function';
    socket._client = true;
    socket._host = target.unix !== undefined ? 'localhost' : target.hostname;
    // The name sent in SNI and checked, as getServername() reports it (Bun and node:tls alike).
    if (typeof serverName === 'string' && serverName !== '') socket._servername = serverName;
    socket._settle = { resolve, reject, address, addresses: null, port: target.port };
    if (startErrno < 0) return failSoon(socket, startErrno);
    if (timeout > 0) socket._armConnectTimeout(timeout);
    if (target.unix !== undefined) return start(socket, () => binding.connectUnix(target.unix, tls, socket._host, socket._helloHeld));
    const { port } = target;
    const hostname = unbracket(target.hostname);
    if (net.isIP(hostname)) return connectTo(socket, [hostname], port, tls);
    if (isLocalhost(hostname)) return connectTo(socket, LOCALHOST, port, tls);
    dns.lookup(hostname, { all: true }, (err, addresses) => {
      if (socket._settle === null) return;
      if (err) return socket._failConnect(err);
      connectTo(socket, addresses.map((a) => a.address), port, tls);
    });
  });
  // With a connectError handler the failure is handled there (the rejection is marked handled
  // then, in Socket#_failConnect); `await` still throws.
  socket._settlePromise = promise;
  return promise;
}

/**
 * `timeout` (seconds): `socket.timeout(n)` from the start, connecting included. A connect (or, for
 * TLS without a handshake handler, a handshake) that has not finished by then fails with ETIMEDOUT.
 */
function connectTimeout(value) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number') throw invalidArgType('options.timeout', 'of type number', value);
  if (!Number.isFinite(value) || value < 0) throw outOfRange('options.timeout', 'a finite number >= 0', value);
  return value;
}

function connectTo(socket, addresses, port, tls) {
  socket._settle.addresses = addresses;
  start(socket, () => binding.connectTcp(addresses, port, tls, socket._host, socket._helloHeld));
}

/**
 * Starts the connect. One that cannot even start (no address the addon can use, a unix path too
 * long for the kernel) fails like any other: EINVAL, as the kernel would say, through
 * `connectError` and the promise, asynchronously, and the socket lets the process exit.
 */
function start(socket, begin) {
  let id;
  try {
    id = begin();
  } catch (cause) {
    return failSoon(socket, EINVAL, cause);
  }
  socket._id = id;
  registry.store(registry.sockets, socket);
}

/** A connect that cannot start fails as one that did: `connectError` and the rejection, soon. */
function failSoon(socket, errno, cause) {
  const settle = socket._settle;
  const tcp = settle.addresses !== null;
  const err = systemError('connect', errno, tcp ? settle.addresses[0] : settle.address, settle.port);
  if (cause !== undefined) err.cause = cause;
  process.nextTick(() => {
    if (socket._settle !== null) socket._failConnect(err);
  });
}

module.exports = { connect };
