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

/** Growable output for one chunk's replies; `view()` is valid until the next `reset()`. */
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
  ascii(text) {
    this.room(text.length);
    this.len += this.buf.write(text, this.len, 'latin1');
  }
  bulk(bytes) {
    const head = `$${bytes.length}\r\n`;
    this.room(head.length + bytes.length + 2);
    this.len += this.buf.write(head, this.len, 'latin1');
    this.len += bytes.copy(this.buf, this.len);
    this.buf[this.len++] = CR;
    this.buf[this.len++] = LF;
  }
  view() {
    return this.buf.subarray(0, this.len);
  }
}

/** What this server is, in redis-server's terms: it keeps nothing on disk. */
const CONFIG = { save: '', appendonly: 'no' };

const output = new Output(); // one process-wide: replies are written out before the next chunk
const store = new Map();

/**
 * Parses one command at `off`: `[args, end]`, or null when it is not all here yet. Args are views
 * into `data`, valid while it is.
 */
function parseCommand(data, off) {
  if (data[off] !== STAR) {
    // Inline command (e.g. `PING\r\n` typed into telnet): space-separated words on one line.
    const lf = data.indexOf(LF, off);
    if (lf < 0) return null;
    const line = data.toString('latin1', off, lf).replace(/\r$/, '');
    return [line.split(' ').filter(Boolean).map((w) => Buffer.from(w, 'latin1')), lf + 1];
  }
  let lf = data.indexOf(LF, off);
  if (lf < 0) return null;
  const count = int(data, off + 1, lf - 1);
  let p = lf + 1;
  const args = new Array(Math.max(count, 0));
  for (let i = 0; i < count; i++) {
    if (p >= data.length) return null;
    if (data[p] !== DOLLAR) throw new ProtocolError(`expected '$', got '${String.fromCharCode(data[p])}'`);
    lf = data.indexOf(LF, p);
    if (lf < 0) return null;
    const len = int(data, p + 1, lf - 1);
    if (len < 0) throw new ProtocolError('invalid bulk length');
    const start = lf + 1;
    if (start + len + 2 > data.length) return null;
    args[i] = data.subarray(start, start + len);
    p = start + len + 2;
  }
  return [args, p];
}

function execute(args, out) {
  if (args.length === 0) return;
  const name = args[0].toString('latin1').toUpperCase();
  if (name === 'GET' && args.length === 2) {
    const value = store.get(args[1].toString('latin1'));
    if (value === undefined) out.ascii('$-1\r\n');
    else out.bulk(value);
  } else if (name === 'SET' && args.length === 3) {
    // Copied: the argument is a view into the connection's chunk.
    store.set(args[1].toString('latin1'), Buffer.from(args[2]));
    out.ascii('+OK\r\n');
  } else if (name === 'PING' && args.length <= 2) {
    if (args.length === 2) out.bulk(args[1]);
    else out.ascii('+PONG\r\n');
  } else if (name === 'CONFIG' && args.length === 3 && args[1].toString('latin1').toUpperCase() === 'GET') {
    // redis-benchmark asks for these two at start (and warns without a [name, value] answer);
    // any other parameter gets the empty array redis-server gives for an unknown one.
    const param = args[2].toString('latin1').toLowerCase();
    const value = Object.hasOwn(CONFIG, param) ? CONFIG[param] : undefined;
    if (value === undefined) {
      out.ascii('*0\r\n');
    } else {
      out.ascii('*2\r\n');
      out.bulk(Buffer.from(param));
      out.bulk(Buffer.from(value));
    }
  } else {
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
        const parsed = parseCommand(data, off);
        if (parsed === null) break;
        execute(parsed[0], output);
        off = parsed[1];
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
