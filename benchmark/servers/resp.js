'use strict';
// A minimal RESP (Redis protocol) server core shared by the RESP servers, so they differ only in
// the socket API: PING, SET and GET on one Map, and CONFIG GET (redis-benchmark asks for `save`
// and `appendonly` at start: answered as a redis-server without persistence does, anything else
// with an empty array); other commands get -ERR. Commands are arrays of bulk strings (inline
// commands are accepted too), parsed incrementally across chunks; all replies to one chunk go out
// in one write, which is what makes pipelining cheap.

const CR = 13;
const LF = 10;
const STAR = 42; // '*'
const DOLLAR = 36; // '$'
const MINUS = 45; // '-'
const SPACE = 32;

/** A protocol error: the reply is sent and the connection closed, as redis-server does. */
class ProtocolError extends Error {}

/** A decimal integer from the bytes `from`..`to` (the CR of its line). */
function int(buf, from, to) {
  let i = from;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  if (i === to) throw new ProtocolError('invalid length');
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) throw new ProtocolError('invalid length');
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * Growable output for one chunk's replies; `view()` is valid until the next `reset()`. Short
 * pieces are copied byte by byte: for a few bytes that is cheaper than a Buffer call.
 */
class Output {
  constructor() {
    this.buf = Buffer.allocUnsafe(64 * 1024);
    this.len = 0;
  }
  reset() {
    this.len = 0;
  }
  room(n) {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
  /** A reply made in advance (a Buffer). */
  raw(bytes) {
    this.room(bytes.length);
    const { buf } = this;
    for (let i = 0; i < bytes.length; i++) buf[this.len++] = bytes[i];
  }
  ascii(text) {
    this.room(text.length);
    this.len += this.buf.write(text, this.len, 'latin1');
  }
  /** `$<length>\r\n`, the head of a bulk string. */
  bulkHead(length) {
    this.room(24);
    const { buf } = this;
    buf[this.len++] = DOLLAR;
    let digits = 1;
    for (let n = length; n >= 10; n = Math.floor(n / 10)) digits++;
    for (let i = digits - 1, n = length; i >= 0; i--, n = Math.floor(n / 10)) buf[this.len + i] = 48 + (n % 10);
    this.len += digits;
    buf[this.len++] = CR;
    buf[this.len++] = LF;
  }
  /** A bulk string from a stored value (a latin1 string: one char per byte). */
  bulkString(value) {
    this.bulkHead(value.length);
    this.room(value.length + 2);
    const { buf } = this;
    if (value.length <= 32) {
      for (let i = 0; i < value.length; i++) buf[this.len++] = value.charCodeAt(i);
    } else {
      this.len += buf.write(value, this.len, 'latin1');
    }
    buf[this.len++] = CR;
    buf[this.len++] = LF;
  }
  /** A bulk string from the bytes `from`..`to` of `data`. */
  bulkBytes(data, from, to) {
    this.bulkHead(to - from);
    this.room(to - from + 2);
    this.len += data.copy(this.buf, this.len, from, to);
    this.buf[this.len++] = CR;
    this.buf[this.len++] = LF;
  }
  view() {
    return this.buf.subarray(0, this.len);
  }
}

const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');

/** What this server is, in redis-server's terms: it keeps nothing on disk. */
const CONFIG = { save: '', appendonly: 'no' };

const output = new Output(); // one process-wide: replies are written out before the next chunk
/** Values are latin1 strings (one char per byte, so binary-safe), keys too. */
const store = new Map();

/**
 * One command's arguments as byte ranges of the chunk (`start[i]`..`end[i]`), reused for every
 * command: parsing makes no object per argument.
 */
const args = { count: 0, start: [], end: [] };

/** Whether the bytes `from`..`to` of `data` are `word` (lower case ASCII), in any case. */
function is(data, from, to, word) {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((data[from + i] | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses one command at `off` into `args`: the offset after it, or -1 when it is not all here
 * yet.
 */
function parseCommand(data, off) {
  if (data[off] !== STAR) {
    // Inline command (e.g. `PING\r\n` typed into telnet): space-separated words on one line.
    const lf = data.indexOf(LF, off);
    if (lf < 0) return -1;
    const last = lf > off && data[lf - 1] === CR ? lf - 1 : lf;
    args.count = 0;
    for (let p = off; p < last; ) {
      if (data[p] === SPACE) {
        p++;
        continue;
      }
      const from = p;
      while (p < last && data[p] !== SPACE) p++;
      args.start[args.count] = from;
      args.end[args.count++] = p;
    }
    return lf + 1;
  }
  let lf = data.indexOf(LF, off);
  if (lf < 0) return -1;
  const count = int(data, off + 1, lf - 1);
  let p = lf + 1;
  for (let i = 0; i < count; i++) {
    if (p >= data.length) return -1;
    if (data[p] !== DOLLAR) throw new ProtocolError(`expected '$', got '${String.fromCharCode(data[p])}'`);
    lf = data.indexOf(LF, p);
    if (lf < 0) return -1;
    const len = int(data, p + 1, lf - 1);
    if (len < 0) throw new ProtocolError('invalid bulk length');
    const start = lf + 1;
    if (start + len + 2 > data.length) return -1;
    args.start[i] = start;
    args.end[i] = start + len;
    p = start + len + 2;
  }
  args.count = Math.max(count, 0);
  return p;
}

/** The text of argument `i`. */
const arg = (data, i) => data.toString('latin1', args.start[i], args.end[i]);

function execute(data, out) {
  const n = args.count;
  if (n === 0) return;
  const { start, end } = args;
  if (n === 2 && is(data, start[0], end[0], 'get')) {
    const value = store.get(arg(data, 1));
    if (value === undefined) out.raw(NIL);
    else out.bulkString(value);
  } else if (n === 3 && is(data, start[0], end[0], 'set')) {
    store.set(arg(data, 1), arg(data, 2));
    out.raw(OK);
  } else if (n <= 2 && is(data, start[0], end[0], 'ping')) {
    if (n === 2) out.bulkBytes(data, start[1], end[1]);
    else out.raw(PONG);
  } else if (n === 3 && is(data, start[0], end[0], 'config') && is(data, start[1], end[1], 'get')) {
    // redis-benchmark asks for these two at start (and warns without a [name, value] answer);
    // any other parameter gets the empty array redis-server gives for an unknown one.
    const param = arg(data, 2).toLowerCase();
    const value = Object.hasOwn(CONFIG, param) ? CONFIG[param] : undefined;
    if (value === undefined) {
      out.ascii('*0\r\n');
    } else {
      out.ascii('*2\r\n');
      out.bulkString(param);
      out.bulkString(value);
    }
  } else {
    const name = arg(data, 0).toUpperCase();
    out.ascii(`-ERR unknown command '${name.replace(/[\r\n]/g, ' ')}' or wrong number of arguments\r\n`);
  }
}

/** One connection's parser state. */
class RespSession {
  constructor() {
    this.rest = null; // an incomplete command carried to the next chunk
    this.closeAfterReply = false;
  }

  /**
   * Executes every complete command in `chunk` (after what was left over) and returns their
   * replies as a view that is valid until the next `feed` on any session (empty: nothing to send).
   * After a protocol error the reply is the error and `closeAfterReply` is set.
   */
  feed(chunk) {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    output.reset();
    let off = 0;
    try {
      while (off < data.length) {
        const next = parseCommand(data, off);
        if (next < 0) break;
        execute(data, output);
        off = next;
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      output.ascii(`-ERR Protocol error: ${err.message}\r\n`);
      this.closeAfterReply = true;
      this.rest = null;
      return output.view();
    }
    // Copied: a view would pin the whole chunk (and the runtime owns it).
    this.rest = off < data.length ? Buffer.from(data.subarray(off)) : null;
    return output.view();
  }
}

module.exports = { RespSession };
