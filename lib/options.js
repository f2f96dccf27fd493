'use strict';
// Option parsing and validation: every bad input throws here, synchronously, with a Node-style code
// and the dotted name of the option.
const { invalidArgType, invalidArgValue, outOfRange, badPort } = require('./errors');

/**
 * The longest setTimeout() waits (ms; Node fires longer ones at once, with a warning), so the
 * longest any timeout option can ask for.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

const HANDLERS = ['open', 'data', 'drain', 'end', 'close', 'error', 'timeout', 'connectError', 'handshake'];
// The documented names, and the capitalised spellings Bun 1.4.5 also takes (so ported code runs).
const BINARY_TYPES = {
  __proto__: null,
  buffer: 'buffer',
  arraybuffer: 'arraybuffer',
  uint8array: 'uint8array',
  Buffer: 'buffer',
  ArrayBuffer: 'arraybuffer',
  Uint8Array: 'uint8array',
};

function validateObject(value, name) {
  if (value === null || typeof value !== 'object') throw invalidArgType(name, 'of type object', value);
  return value;
}

/** Reads the handler table once; later changes to the object have no effect. */
function handlerTable(handlers, name) {
  validateObject(handlers, name);
  const table = { binaryType: 'buffer' };
  for (const key of HANDLERS) {
    const fn = handlers[key];
    if (fn == null) {
      table[key] = null;
    } else if (typeof fn !== 'function') {
      throw invalidArgType(`${name}.${key}`, 'of type function', fn);
    } else {
      table[key] = fn;
    }
  }
  if (!table.data && !table.drain) {
    throw invalidArgType(`${name}.data`, 'of type function (a table needs at least "data" or "drain")', handlers.data);
  }
  const binaryType = handlers.binaryType;
  if (binaryType != null) {
    const kind = typeof binaryType === 'string' ? BINARY_TYPES[binaryType] : undefined;
    if (kind === undefined) {
      throw invalidArgValue(`${name}.binaryType`, binaryType, "must be 'buffer', 'arraybuffer' or 'uint8array'");
    }
    table.binaryType = kind;
  }
  return table;
}

/** `reload({ socket: {...} })` or the bare table `reload({ data() {} })`. */
function reloadTable(options) {
  validateObject(options, 'options');
  if (Object.prototype.hasOwnProperty.call(options, 'socket') && options.socket !== undefined) {
    return handlerTable(options.socket, 'options.socket');
  }
  return handlerTable(options, 'options');
}

/** As `net.connect`'s port check: integers 0..65535, numbers or numeric strings; other types are a TypeError. */
function validatePort(port, name) {
  if (typeof port !== 'number' && typeof port !== 'string') {
    throw invalidArgType(name, 'one of type number or string', port);
  }
  if (
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff
  ) {
    throw badPort(name, port);
  }
  return +port;
}

function validateString(value, name) {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  return value;
}

function validateBoolean(value, name, fallback) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

function validateInteger(value, name, min, max, fallback) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** The address part shared by listen and connect: `{ unix }` or `{ hostname, port }`. */
function endpoint(options) {
  // An empty `unix` beside a hostname is no unix path (Bun ignores it too).
  const hasHost = options.hostname !== undefined && options.hostname !== null;
  if (options.unix !== undefined && options.unix !== null && !(options.unix === '' && hasHost)) {
    const unix = validateString(options.unix, 'options.unix');
    if (unix.length === 0) throw invalidArgValue('options.unix', unix, 'must be a non-empty path');
    // A path ends at its first NUL, as the kernel would read it (node:net and Bun alike), so the
    // file made is the one removed at stop(); a leading NUL is an abstract name, NULs and all.
    const nul = unix.indexOf('\0');
    if (nul > 0) return { unix: unix.slice(0, nul) };
    return { unix };
  }
  if (options.hostname === undefined || options.hostname === null) {
    throw invalidArgType('options.hostname', 'of type string (or set "options.unix")', options.hostname);
  }
  const hostname = validateString(options.hostname, 'options.hostname');
  if (hostname === '') throw invalidArgType('options.hostname', 'a non-empty string (or set "options.unix")', hostname);
  // As Bun: a name with a NUL byte would be cut short by the resolver, and reach another host.
  if (hostname.includes('\0')) throw invalidArgType('options.hostname', 'a string without null bytes', hostname);
  const port = validatePort(options.port, 'options.port');
  return { hostname, port };
}

function isDetached(buffer) {
  if (buffer.byteLength !== 0) return false;
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A view over a detached ArrayBuffer, or a detached ArrayBuffer: bytes that are gone. */
function hasDetachedBytes(value) {
  if (ArrayBuffer.isView(value)) return isDetached(value.buffer);
  return value instanceof ArrayBuffer && isDetached(value);
}

/**
 * Normalises `write`/`end` arguments to a byte view and a range within it. Strings without offsets
 * stay strings (sent without a Buffer in between).
 */
function writeArgs(data, byteOffset, byteLength, name = 'data') {
  let view;
  if (typeof data === 'string') {
    if (byteOffset === undefined && byteLength === undefined) return { view: data, offset: 0, length: -1 };
    view = Buffer.from(data, 'utf8');
  } else if (ArrayBuffer.isView(data)) {
    if (isDetached(data.buffer)) throw invalidArgType(name, 'a string, ArrayBuffer or ArrayBufferView (not detached)', data);
    view = data;
  } else if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer)) {
    if (isDetached(data)) throw invalidArgType(name, 'a string, ArrayBuffer or ArrayBufferView (not detached)', data);
    view = new Uint8Array(data);
  } else {
    throw invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer', data);
  }
  const total = view.byteLength;
  const offset = validateInteger(byteOffset, 'byteOffset', 0, total, 0);
  const length = validateInteger(byteLength, 'byteLength', 0, total - offset, total - offset);
  return { view, offset, length };
}

module.exports = {
  handlerTable,
  reloadTable,
  validateObject,
  validatePort,
  validateString,
  validateBoolean,
  validateInteger,
  endpoint,
  writeArgs,
  hasDetachedBytes,
  MAX_TIMER_MS,
};
