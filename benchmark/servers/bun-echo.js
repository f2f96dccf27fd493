// The same echo server on Bun's own Bun.listen, for `BUN=/path/to/bun npm run bench`.
// With TLS_KEY and TLS_CERT (paths) in the environment it serves TLS. Prints its port.
// What write() does not take waits in order in `socket.data`; the socket is paused meanwhile.
const tls = process.env.TLS_KEY ? { key: Bun.file(process.env.TLS_KEY), cert: Bun.file(process.env.TLS_CERT) } : undefined;
const server = Bun.listen({
  hostname: '127.0.0.1',
  port: 0,
  tls,
  socket: {
    data(socket, chunk) {
      const queue = socket.data;
      if (queue && queue.length > 0) {
        queue.push(chunk); // behind what already waits
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
