'use strict';
// Echo server on node-bun-tcp. Prints its port, then serves until killed.
// With TLS_KEY and TLS_CERT (paths) in the environment it serves TLS.
const { listen, file } = require('../..');

const tls = process.env.TLS_KEY ? { key: file(process.env.TLS_KEY), cert: file(process.env.TLS_CERT) } : undefined;
const server = listen({
  hostname: '127.0.0.1',
  port: 0,
  tls,
  socket: {
    data(socket, chunk) {
      const n = socket.write(chunk);
      if (n < chunk.length) {
        // The load generator waits for each echo, so this only happens under real backpressure.
        (socket.data || (socket.data = [])).push(chunk.subarray(n));
      }
    },
    drain(socket) {
      const queue = socket.data;
      while (queue && queue.length > 0) {
        const chunk = queue[0];
        const n = socket.write(chunk);
        if (n < chunk.length) {
          queue[0] = chunk.subarray(n);
          return;
        }
        queue.shift();
      }
    },
  },
});
console.log(server.port);
