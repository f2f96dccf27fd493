'use strict';
// What the benchmark clients share: the workload, the RESP reply parser and the run protocol. The
// clients differ only in the socket API they drive (node-bun-tcp, node:net, Bun.connect), so the
// client CPU the benchmark measures differs only by that.
//
//   <client>.js MODE HOST:PORT SECONDS [CONNS] [PIPELINE] [SIZE]
//     MODE echo:  SIZE-byte requests to an echo server; a response is SIZE echoed bytes.
//     MODE redis: PING, SET key val, GET key in turn, replies parsed as RESP and checked.
//
// Protocol with benchmark/echo.js: connect every connection, print `ready`; on a line on stdin,
// keep PIPELINE requests in flight on each connection for SECONDS (a response completing sends
// the next request), then print one JSON line {requests, seconds, errors} and idle until killed,
// so the parent reads this process's CPU time from /proc before and after the run only.

function parseArgs(argv) {
  const [mode, hostPort, seconds, conns = '4', pipeline = '32', size = '64'] = argv;
  if (!['echo', 'redis'].includes(mode) || !hostPort || !seconds) {
    console.error('usage: CLIENT.js echo|redis HOST:PORT SECONDS [CONNS] [PIPELINE] [SIZE]');
    process.exit(2);
  }
  const at = hostPort.lastIndexOf(':');
  return {
    mode,
    hostname: hostPort.slice(0, at),
    port: Number(hostPort.slice(at + 1)),
    seconds: Number(seconds),
    conns: Number(conns),
    pipeline: Number(pipeline),
    size: Number(size),
  };
}

/**
 * Requests for one connection, as windows of one prebuilt buffer (never mutated, so a transport
 * may hold on to it): `next(n)` is the bytes of the next `n` requests in order.
 */
function requestStream(mode, size, pipeline) {
  const commands = mode === 'echo'
    ? [Buffer.alloc(size, 'x')]
    : [
        Buffer.from('*1\r\n$4\r\nPING\r\n'),
        Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nval\r\n'),
        Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n'),
      ];
  // Enough repetitions that a window of `pipeline` requests fits from any point in the cycle.
  const reps = Math.ceil(pipeline / commands.length) + 1;
  const all = [];
  const starts = [];
  let offset = 0;
  for (let r = 0; r < reps; r++) {
    for (const c of commands) {
      starts.push(offset);
      all.push(c);
      offset += c.length;
    }
  }
  starts.push(offset);
  const bytes = Buffer.concat(all);
  let index = 0; // requests sent so far, modulo the cycle
  return {
    next(n) {
      const from = starts[index];
      const to = starts[index + n];
      index = (index + n) % commands.length;
      return bytes.subarray(from, to);
    },
  };
}

/** Counts echo responses: every `size` bytes received completes one. */
function echoCounter(size) {
  let partial = 0;
  return {
    errors: 0,
    feed(chunk) {
      partial += chunk.length;
      const done = Math.floor(partial / size);
      partial -= done * size;
      return done;
    },
  };
}

const PLUS = 43; // '+'
const MINUS = 45; // '-'
const COLON = 58; // ':'
const DOLLAR = 36; // '$'
const LF = 10;

/**
 * Parses RESP replies (simple strings, errors, integers, bulk strings) across chunk boundaries,
 * as a driver would: each reply becomes a value, checked against what its command should answer
 * (PONG, OK, then "val"); a mismatch or an error reply counts in `errors`.
 */
function respCounter() {
  let rest = null; // an incomplete reply carried to the next chunk
  let index = 0; // which command of the PING/SET/GET cycle the next reply answers
  const counter = {
    errors: 0,
    feed(chunk) {
      const data = rest ? Buffer.concat([rest, chunk]) : chunk;
      let off = 0;
      let done = 0;
      while (off < data.length) {
        const lf = data.indexOf(LF, off);
        if (lf < 0) break;
        const type = data[off];
        let value;
        let end = lf + 1;
        if (type === PLUS) {
          value = data.toString('latin1', off + 1, lf - 1);
        } else if (type === MINUS) {
          value = new Error(data.toString('latin1', off + 1, lf - 1));
        } else if (type === COLON) {
          value = Number(data.toString('latin1', off + 1, lf - 1));
        } else if (type === DOLLAR) {
          const len = Number(data.toString('latin1', off + 1, lf - 1));
          if (len < 0) {
            value = null;
          } else {
            end = lf + 1 + len + 2;
            if (end > data.length) break; // the body is still on its way
            value = data.toString('latin1', lf + 1, lf + 1 + len);
          }
        } else {
          throw new Error(`unexpected RESP type byte ${type}`);
        }
        const want = index === 0 ? 'PONG' : index === 1 ? 'OK' : 'val';
        if (value !== want) counter.errors++;
        index = index === 2 ? 0 : index + 1;
        off = end;
        done++;
      }
      // Copied: the chunk is the runtime's, and a tail kept as a view would pin all of it.
      rest = off < data.length ? Buffer.from(data.subarray(off)) : null;
      return done;
    },
  };
  return counter;
}

/**
 * Runs the benchmark over `open(hostname, port, handlers)`, which connects one socket whose
 * `handlers.data(chunk)` / `handlers.drain()` get its events and resolves with
 * `write(bytes) -> bytes taken now` (node:net takes all and buffers; Bun's API may take fewer).
 */
async function run(open) {
  const opts = parseArgs(process.argv.slice(2));
  let running = false;
  let requests = 0;
  const counters = [];
  const conns = [];
  for (let i = 0; i < opts.conns; i++) {
    const requestsOut = requestStream(opts.mode, opts.size, opts.pipeline);
    const counter = opts.mode === 'echo' ? echoCounter(opts.size) : respCounter();
    counters.push(counter);
    const queue = []; // what write() did not take, in order
    let write = null;
    const send = (bytes) => {
      if (queue.length > 0) {
        queue.push(bytes);
        return;
      }
      const n = write(bytes);
      if (n < bytes.length) queue.push(bytes.subarray(Math.max(n, 0)));
    };
    const handlers = {
      data(chunk) {
        const done = counter.feed(chunk);
        if (!running || done === 0) return;
        requests += done;
        send(requestsOut.next(done)); // one write for every response this chunk completed
      },
      drain() {
        while (queue.length > 0) {
          const n = write(queue[0]);
          if (n < queue[0].length) {
            queue[0] = queue[0].subarray(Math.max(n, 0));
            return;
          }
          queue.shift();
        }
      },
    };
    write = await open(opts.hostname, opts.port, handlers);
    conns.push(() => send(requestsOut.next(opts.pipeline)));
  }
  console.log('ready');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const started = process.hrtime.bigint();
  running = true;
  for (const start of conns) start();
  await new Promise((resolve) => setTimeout(resolve, opts.seconds * 1000));
  running = false;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const errors = counters.reduce((sum, c) => sum + c.errors, 0);
  console.log(JSON.stringify({ requests, seconds, errors }));
  // Idle until the parent kills this process (or closes stdin).
  process.stdin.once('end', () => process.exit(0));
}

function fail(err) {
  console.error(err);
  process.exit(1);
}

/** The socket handler table of a Bun-API client (node-bun-tcp's connect() or Bun.connect()). */
function socketTable(handlers) {
  return {
    data: (_socket, chunk) => handlers.data(chunk),
    drain: () => handlers.drain(),
    error: (_socket, err) => fail(err),
    close: (_socket, err) => err && fail(err),
  };
}

module.exports = { run, fail, socketTable };
