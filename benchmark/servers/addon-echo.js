'use strict';
// Echo server on node-bun-tcp. Prints its port, then serves until killed.
// With TLS_KEY and TLS_CERT (paths) in the environment it serves TLS.
//
// write() does not buffer: what the kernel refuses waits in `socket.data` (a queue, in order) and
// goes out from `drain`; while anything waits the socket is paused, so a peer that streams faster
// than it reads is held back by TCP (as node:net's pipe() does) instead of growing the queue.
const { listen, file } = require('../..');

const tls = process.env.TLS_KEY ? { key: file(process.env.TLS_KEY), cert: file(process.env.TLS_CERT) } : undefined;
const server = listen({
  hostname: '127.0.0.1',
  port: 0,
  tls,
  socket: {
    data(socket, chunk) {
      const queue = socket.data;
      if (queue && queue.length > 0) {
        queue.push(chunk); // read before the pause took effect: behind what already waits
        return;
      }
      const n = socket.write(chunk);
      if (n < chunk.length) {
        (socket.data || (socket.data = [])).push(chunk.subarray(Math.max(n, 0)));
        socket.pause();
      }
    },
    drain(socket) {
      const queue = socket.data;
      while (queue && queue.length > 0) {
        const chunk = queue[0];
        const n = socket.write(chunk);
        if (n < chunk.length) {
          queue[0] = chunk.subarray(Math.max(n, 0));
          return;
        }
        queue.shift();
      }
      socket.resume();
    },
  },
});
console.log(server.port);
