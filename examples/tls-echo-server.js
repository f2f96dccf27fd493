'use strict';
// A TLS echo server with a freshly generated self-signed certificate (or yours: KEY=... CERT=...).
//
// Run:
//   node examples/tls-echo-server.js [port]
//   openssl s_client -connect 127.0.0.1:9443 -servername localhost -quiet   # type, see it echoed
// It prints its port and the certificate's path (trust that file as the CA in a client).
// Options: port 0 picks a free port; --once exits after the first client has disconnected.
const { listen, file } = require('node-bun-tcp');
const { selfSigned } = require('./lib/self-signed');

const args = process.argv.slice(2);
const once = args.includes('--once');
const port = Number(args.find((a) => !a.startsWith('--')) ?? process.env.PORT ?? 9443);
const creds = process.env.KEY && process.env.CERT ? { key: process.env.KEY, cert: process.env.CERT } : selfSigned();

const server = listen({
  hostname: '127.0.0.1',
  port,
  tls: { key: file(creds.key), cert: file(creds.cert) },
  socket: {
    open(socket) {
      socket.data = { queue: [] };
      console.log(`client ${socket.remoteAddress}:${socket.remotePort} ${socket.getTLSVersion()} ${socket.getCipher().name}`);
    },
    data(socket, chunk) {
      // Echo, keeping what the TLS session does not take now for `drain`.
      if (socket.data.queue.length > 0) return void socket.data.queue.push(chunk);
      const n = socket.write(chunk);
      if (n >= 0 && n < chunk.length) socket.data.queue.push(chunk.subarray(n));
    },
    drain(socket) {
      const queue = socket.data.queue;
      while (queue.length > 0) {
        const n = socket.write(queue[0]);
        if (n < 0) return;
        if (n < queue[0].length) return void (queue[0] = queue[0].subarray(n));
        queue.shift();
      }
    },
    close() {
      if (once) server.stop();
    },
  },
});
console.log(`TLS echo server listening on 127.0.0.1:${server.port}`);
console.log(`certificate: ${creds.cert}`);
