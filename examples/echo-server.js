'use strict';
// An echo server that never loses a byte: write() does not buffer, so what the kernel does not take
// now waits in a per-socket queue and goes out from the `drain` handler. While a client does not
// read its echoes, the server stops reading from it (pause), so memory stays bounded.
//
// Run:
//   node examples/echo-server.js [port]          # or PORT=9000 node examples/echo-server.js
//   nc 127.0.0.1 9000                             # in another terminal: type, see it echoed
// Options:
//   port 0 picks a free port; the first line printed says which one.
//   --once   exit after the first client has disconnected (the tests use this).
// Stop with Ctrl-C.
const { listen } = require('node-bun-tcp');

const args = process.argv.slice(2);
const once = args.includes('--once');
const port = Number(args.find((a) => !a.startsWith('--')) ?? process.env.PORT ?? 9000);
const HOSTNAME = process.env.HOST || '127.0.0.1';
/** Stop reading from a client once this many echoed bytes wait for it. */
const HIGH_WATER = 1 << 20;

/** Sends `bytes` now, or queues what the kernel did not take (in order behind what already waits). */
function send(socket, bytes) {
  const state = socket.data;
  if (state.queue.length === 0) {
    const n = socket.write(bytes);
    if (n < 0) return; // closed: nothing more to send
    if (n === bytes.length) return;
    bytes = bytes.subarray(n);
    state.shortWrites++; // the rest goes out from `drain`
  }
  state.queue.push(bytes);
  state.queued += bytes.length;
  if (state.queued >= HIGH_WATER && !state.paused) {
    state.paused = true;
    state.pauses++;
    socket.pause(); // the peer is held back by TCP until it reads its echoes
  }
}

const server = listen({
  hostname: HOSTNAME,
  port,
  // A client that sends FIN (e.g. `nc -N` at end of input) still gets every echo: we end our side
  // ourselves once the queue is empty.
  allowHalfOpen: true,
  socket: {
    open(socket) {
      socket.data = { queue: [], queued: 0, paused: false, peerEnded: false, echoed: 0, shortWrites: 0, pauses: 0 };
      console.log(`client ${socket.remoteAddress}:${socket.remotePort} connected`);
    },
    data(socket, chunk) {
      socket.data.echoed += chunk.length;
      send(socket, chunk);
    },
    drain(socket) {
      const state = socket.data;
      while (state.queue.length > 0) {
        const head = state.queue[0];
        const n = socket.write(head);
        if (n < 0) return;
        state.queued -= Math.max(n, 0);
        if (n < head.length) {
          state.queue[0] = head.subarray(n); // still full: `drain` runs again later
          return;
        }
        state.queue.shift();
      }
      if (state.paused) {
        state.paused = false;
        socket.resume();
      }
      if (state.peerEnded) socket.end();
    },
    end(socket) {
      // The client has sent everything; finish once its echoes are out.
      socket.data.peerEnded = true;
      if (socket.data.queue.length === 0) socket.end();
    },
    close(socket, error) {
      const { echoed, shortWrites, pauses } = socket.data;
      const why = error ? ` (${error.code || error.message})` : '';
      console.log(`client disconnected${why}: echoed ${echoed} bytes, ${shortWrites} short writes finished by drain, ${pauses} pauses`);
      if (once) server.stop();
    },
    error(socket, error) {
      console.error('handler error:', error);
    },
  },
});

console.log(`echo server listening on ${server.hostname}:${server.port}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.stop(true));
}
