'use strict';
// Errors shaped like Node's own: validation errors with `code` (lib/internal/errors.js) and system
// errors with `code`, `errno`, `syscall`, `address`, `port` (lib/net.js).
const util = require('node:util');

function describeReceived(value) {
  if (value == null) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    if (value.constructor && value.constructor.name) return ` Received an instance of ${value.constructor.name}`;
    return ` Received ${util.inspect(value, { depth: -1 })}`;
  }
  let shown = util.inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

function withCode(err, code) {
  err.code = code;
  return err;
}

function invalidArgType(name, expected, actual) {
  const kind = name.includes('.') ? 'property' : 'argument';
  return withCode(
    new TypeError(`The "${name}" ${kind} must be ${expected}.${describeReceived(actual)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

function invalidArgValue(name, value, reason) {
  const kind = name.includes('.') ? 'property' : 'argument';
  return withCode(
    new TypeError(`The ${kind} '${name}' ${reason}. Received ${util.inspect(value)}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

function outOfRange(name, range, value) {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${util.inspect(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

function badPort(name, port) {
  return withCode(
    new RangeError(`${name} should be >= 0 and < 65536.${describeReceived(port)}.`),
    'ERR_SOCKET_BAD_PORT',
  );
}

function invalidThis(type) {
  return withCode(new TypeError(`Value of "this" must be of type ${type}`), 'ERR_INVALID_THIS');
}

function missingOption(name, what) {
  return withCode(new TypeError(`The "${name}" option is required: ${what}`), 'ERR_MISSING_OPTION');
}

function errnoName(errno) {
  try {
    return util.getSystemErrorName(errno);
  } catch {
    return `Unknown system error ${errno}`;
  }
}

/**
 * An Error without a captured stack, for failures the loop reports: their stack would only name
 * the dispatcher, and capturing it (walking optimized frames) was a tenth of the JS time of a
 * connection that ends in a reset.
 */
function stacklessError(message) {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    return new Error(message); // frozen intrinsics
  }
  try {
    return new Error(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A system error as `node:net` makes them: `connect ECONNREFUSED 127.0.0.1:8080`, or with the
 * description for listen: `listen EADDRINUSE: address already in use 127.0.0.1:8080`.
 */
function systemError(syscall, errno, address, port, { describe = false, stack = true } = {}) {
  const code = errnoName(errno);
  let message = `${syscall} ${code}`;
  if (describe) {
    const entry = util.getSystemErrorMap().get(errno);
    if (entry) message += `: ${entry[1]}`;
  }
  // As node:net's exceptionWithHostPort: only a port above 0 is in the message, and any but 0 is
  // in the error (a unix listener's is -1, as node:net's).
  const hasPort = port !== undefined && port > 0;
  if (address !== undefined) message += hasPort ? ` ${address}:${port}` : ` ${address}`;
  const err = stack ? new Error(message) : stacklessError(message);
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port) err.port = port;
  return err;
}

/**
 * The proof that a constructor is called by the package itself: sockets and listeners are made by
 * listen()/connect(), and one made from `socket.constructor` would share a live connection's id.
 */
const INTERNAL = Symbol('node-bun-tcp internal');

/** `new socket.constructor()` from outside, as Node answers `new (net.Socket.prototype...)`-like misuse. */
function illegalConstructor(token) {
  if (token !== INTERNAL) throw withCode(new TypeError('Illegal constructor'), 'ERR_ILLEGAL_CONSTRUCTOR');
}

module.exports = { invalidArgType, invalidArgValue, outOfRange, badPort, invalidThis, missingOption, systemError, INTERNAL, illegalConstructor };
