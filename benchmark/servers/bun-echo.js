// The same echo server on Bun's own Bun.listen, for `BUN=/path/to/bun npm run bench`.
// With TLS_KEY and TLS_CERT (paths) in the environment it serves TLS. Prints its port.
const tls = process.env.TLS_KEY ? { key: Bun.file(process.env.TLS_KEY), cert: Bun.file(process.env.TLS_CERT) } : undefined;
const server = Bun.listen({
  hostname: '127.0.0.1',
  port: 0,
  tls,
  socket: {
    data(socket, chunk) {
      const n = socket.write(chunk);
      if (n < chunk.length) (socket.data || (socket.data = [])).push(chunk.subarray(Math.max(n, 0)));
    },
    drain(socket) {
      const queue = socket.data;
      while (queue && queue.length > 0) {
        const n = socket.write(queue[0]);
        if (n < queue[0].length) {
          queue[0] = queue[0].subarray(Math.max(n, 0));
          return;
        }
        queue.shift();
      }
    },
  },
});
console.log(server.port);
