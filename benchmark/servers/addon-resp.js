'use strict';
// A minimal RESP server (PING/SET/GET, see resp.js) on node-bun-tcp. Prints its port.
// write() sends now or returns less: the rest waits in order and goes out from `drain`, with the
// socket paused meanwhile (redis-benchmark reads its replies, so this is rare).
const { listen } = require('../..');
const { RespSession } = require('./resp');

function send(socket, state, bytes) {
  if (state.queue.length === 0) {
    const n = socket.write(bytes);
    if (n >= bytes.length || n < 0) return;
    bytes = bytes.subarray(n);
    socket.pause();
  }
  // Copied: `bytes` is the shared reply buffer, reused for the next chunk.
  state.queue.push(Buffer.from(bytes));
}

const server = listen({
  hostname: '127.0.0.1',
  port: 0,
  socket: {
    open(socket) {
      socket.data = { session: new RespSession(), queue: [] };
    },
    data(socket, chunk) {
      const state = socket.data;
      const replies = state.session.feed(chunk);
      if (replies.length > 0) send(socket, state, replies);
      if (state.session.closeAfterReply) socket.end();
    },
    drain(socket) {
      const { queue } = socket.data;
      while (queue.length > 0) {
        const n = socket.write(queue[0]);
        if (n < queue[0].length) {
          queue[0] = queue[0].subarray(Math.max(n, 0));
          return;
        }
        queue.shift();
      }
      socket.resume();
    },
  },
});
console.log(server.port);
