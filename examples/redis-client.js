'use strict';
// A minimal Redis client on connect(): RESP2 commands, pipelined (all three are written before the
// first reply arrives), replies parsed incrementally as bytes come in, however they are split.
//
// Run (with a Redis server on localhost):
//   redis-server --port 6379 &                    # if none is running
//   node examples/redis-client.js [port] [host]   # or REDIS_PORT=6380 REDIS_HOST=::1 node ...
// It sends PING, SET, GET in one write, prints each reply, and exits.
const { connect } = require('node-bun-tcp');

const args = process.argv.slice(2);
const port = Number(args[0] ?? process.env.REDIS_PORT ?? 6379);
const hostname = args[1] ?? process.env.REDIS_HOST ?? '127.0.0.1';

class RedisError extends Error {}

/** Encodes one command as a RESP array of bulk strings (binary-safe: lengths are in bytes). */
function encode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg));
    parts.push(`$${bytes.length}\r\n`, bytes, '\r\n');
  }
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/**
 * Parses one RESP2 reply from `buf` at `pos`. Returns `[value, nextPos]`, or `null` when the reply
 * is not complete yet (wait for more bytes).
 */
function parse(buf, pos) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol === -1) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new RedisError(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const len = Number(line);
      if (len === -1) return [null, next];
      if (buf.length < next + len + 2) return null;
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case '*': {
      const count = Number(line);
      if (count === -1) return [null, next];
      const items = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, at);
        if (item === null) return null;
        items.push(item[0]);
        at = item[1];
      }
      return [items, at];
    }
    default:
      throw new RedisError(`bad reply type ${JSON.stringify(type)}`);
  }
}

class RedisClient {
  static async connect(options) {
    const client = new RedisClient();
    client.socket = await connect({
      ...options,
      data: client,
      socket: {
        data(socket, chunk) {
          socket.data.onData(chunk);
        },
        drain(socket) {
          socket.data.flush();
        },
        close(socket, error) {
          socket.data.onClose(error);
        },
        error(socket, error) {
          socket.data.onClose(error);
          socket.terminate();
        },
      },
    });
    return client;
  }

  constructor() {
    this.socket = null;
    /** Replies are matched to commands in order: one `{ resolve, reject }` per command sent. */
    this.pending = [];
    /** Bytes received but not parsed yet (a reply cut in the middle). */
    this.buffer = Buffer.alloc(0);
    /** Bytes the kernel did not take yet; sent from `drain`. */
    this.outgoing = [];
  }

  /** Sends a command; resolves with its reply. Call several before awaiting to pipeline. */
  command(...args) {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.outgoing.push(encode(args));
    });
  }

  /** Writes everything queued by `command()` as one write, or as much of it as fits. */
  flush() {
    if (this.outgoing.length === 0) return;
    const bytes = this.outgoing.length === 1 ? this.outgoing[0] : Buffer.concat(this.outgoing);
    const n = this.socket.write(bytes);
    if (n < 0) return this.onClose(new Error('connection closed'));
    this.outgoing = n < bytes.length ? [bytes.subarray(n)] : []; // the rest goes out from `drain`
  }

  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let pos = 0;
    for (;;) {
      const reply = parse(this.buffer, pos);
      if (reply === null) break;
      pos = reply[1];
      const waiter = this.pending.shift();
      if (!waiter) throw new RedisError('reply without a command');
      if (reply[0] instanceof RedisError) waiter.reject(reply[0]);
      else waiter.resolve(reply[0]);
    }
    this.buffer = this.buffer.subarray(pos);
  }

  onClose(error) {
    const pending = this.pending;
    this.pending = [];
    for (const waiter of pending) waiter.reject(error || new Error('connection closed'));
  }

  quit() {
    this.socket.end();
  }
}

async function main() {
  const redis = await RedisClient.connect({ hostname, port });
  const key = `node-bun-tcp:example:${process.pid}`;
  const value = 'hello from node-bun-tcp ✓';
  // Pipelined: three commands, one write, three replies.
  const replies = Promise.all([redis.command('PING'), redis.command('SET', key, value, 'EX', 60), redis.command('GET', key)]);
  redis.flush();
  const [pong, set, got] = await replies;
  console.log(`PING -> ${pong}`);
  console.log(`SET ${key} -> ${set}`);
  console.log(`GET ${key} -> ${got}`);
  redis.quit();
}

main().catch((err) => {
  console.error(`redis-client: ${err.message}`);
  process.exitCode = 1;
});
