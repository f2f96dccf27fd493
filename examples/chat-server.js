'use strict';
// A line-based chat server: every line a client sends goes to all the other clients, as
// "<name>: <line>". Lines may arrive split over several reads (or several in one read); only whole
// lines are relayed. Each client has its own outgoing queue, flushed from `drain`; a client that
// stops reading and lets more than MAX_BACKLOG bytes pile up is disconnected, so one slow reader
// can neither stall the others nor grow the server's memory without bound.
//
// Run:
//   node examples/chat-server.js [port]           # or PORT=9001 node examples/chat-server.js
//   nc 127.0.0.1 9001                             # in two or more terminals, then type lines
// Options:
//   port 0 picks a free port; the first line printed says which one.
//   CHAT_MAX_BACKLOG=<bytes>   queue limit per client (default 4 MiB).
// Stop with Ctrl-C (or SIGTERM): every client is closed gracefully.
const { StringDecoder } = require('node:string_decoder');
const { listen } = require('node-bun-tcp');

const args = process.argv.slice(2);
const port = Number(args.find((a) => !a.startsWith('--')) ?? process.env.PORT ?? 9001);
const HOSTNAME = process.env.HOST || '127.0.0.1';
const MAX_BACKLOG = Number(process.env.CHAT_MAX_BACKLOG) || 4 << 20;
/** A client that sends a longer line than this without a newline is disconnected. */
const MAX_LINE = 64 * 1024;

/** Everyone connected, in join order. */
const clients = new Set();
let nextGuest = 1;

/** Queues `text` for `socket` and sends what fits now. */
function send(socket, text) {
  const state = socket.data;
  if (state.leaving) return;
  let bytes = Buffer.from(text);
  if (state.queue.length === 0) {
    const n = socket.write(bytes);
    if (n < 0 || n === bytes.length) return;
    bytes = bytes.subarray(n); // the rest goes out from `drain`
  }
  state.queue.push(bytes);
  state.backlog += bytes.length;
  if (state.backlog > MAX_BACKLOG) {
    state.leaving = true;
    console.log(`${state.name} is not reading (${state.backlog} bytes queued): disconnecting`);
    socket.terminate();
  }
}

/** Ends `socket` gracefully: what is still queued for it goes out before the FIN. */
function leave(socket) {
  const state = socket.data;
  state.leaving = true;
  socket.end(Buffer.concat(state.queue)); // end() never drops data, unlike write()
  state.queue = [];
}

function broadcast(from, text) {
  for (const client of clients) if (client !== from) send(client, text);
}

const server = listen({
  hostname: HOSTNAME,
  port,
  socket: {
    open(socket) {
      socket.data = {
        name: `guest${nextGuest++}`,
        decoder: new StringDecoder('utf8'),
        partial: '',
        queue: [],
        backlog: 0,
        leaving: false,
      };
      clients.add(socket);
      send(socket, `* welcome, you are ${socket.data.name}\n`);
      broadcast(socket, `* ${socket.data.name} joined\n`);
      console.log(`${socket.data.name} joined from ${socket.remoteAddress}:${socket.remotePort}`);
    },
    data(socket, chunk) {
      const state = socket.data;
      if (state.leaving) return;
      // A chunk can end inside a line (or inside a UTF-8 character): keep the tail for later.
      const text = state.partial + state.decoder.write(chunk);
      const lines = text.split('\n');
      state.partial = lines.pop();
      if (state.partial.length > MAX_LINE) {
        send(socket, '* line too long\n');
        leave(socket);
        return;
      }
      for (let line of lines) {
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line.length > 0) broadcast(socket, `${state.name}: ${line}\n`);
      }
    },
    end(socket) {
      // The client hung up; a last line without a newline still counts.
      const state = socket.data;
      const rest = (state.partial + state.decoder.end()).replace(/\r$/, '');
      state.partial = '';
      if (rest.length > 0 && !state.leaving) broadcast(socket, `${state.name}: ${rest}\n`);
    },
    drain(socket) {
      const state = socket.data;
      while (state.queue.length > 0) {
        const head = state.queue[0];
        const n = socket.write(head);
        if (n < 0) return;
        state.backlog -= n;
        if (n < head.length) {
          state.queue[0] = head.subarray(n);
          return;
        }
        state.queue.shift();
      }
    },
    close(socket) {
      clients.delete(socket);
      broadcast(socket, `* ${socket.data.name} left\n`);
      console.log(`${socket.data.name} left`);
    },
    error(socket, error) {
      console.error('handler error:', error);
    },
  },
});

console.log(`chat server listening on ${server.hostname}:${server.port}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const client of clients) {
      send(client, '* server shutting down\n');
      leave(client);
    }
    server.stop(true); // closes every client (their queued bytes and a FIN go out first)
  });
}
