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

/** Stop reading from a client once this many echoed bytes wait for it. */
const HIGH_WATER = 1 << 20;

const server = listen({
  hostname: '127.0.0.1',
  port,
  tls: { key: file(creds.key), cert: file(creds.cert) },
  // A client that ends its side (`c.end(payload)`) still gets every echo: we end ours ourselves
  // once nothing waits. Without this the socket would close at the client's FIN, dropping the
  // queue.
  allowHalfOpen: true,
  socket: {
    open(socket) {
      socket.data = { queue: [], queued: 0, paused: false, peerEnded: false };
      console.log(`client ${socket.remoteAddress}:${socket.remotePort} ${socket.getTLSVersion()} ${socket.getCipher().name}`);
    },
    data(socket, chunk) {
      // Echo, keeping what the TLS session does not take now (in order) for `drain`.
      const state = socket.data;
      if (state.queue.length === 0) {
        const n = socket.write(chunk);
        if (n < 0 || n === chunk.length) return;
        chunk = chunk.subarray(n);
      }
      state.queue.push(chunk);
      state.queued += chunk.length;
      if (state.queued >= HIGH_WATER && !state.paused) {
        state.paused = true;
        socket.pause(); // the client is held back by TCP until it reads its echoes
      }
    },
    drain(socket) {
      const state = socket.data;
      while (state.queue.length > 0) {
        const head = state.queue[0];
        const n = socket.write(head);
        if (n < 0) return;
        state.queued -= n;
        if (n < head.length) return void (state.queue[0] = head.subarray(n));
        state.queue.shift();
      }
      if (state.paused) {
        state.paused = false;
        socket.resume();
      }
      if (state.peerEnded) socket.end();
    },
    end(socket) {
      socket.data.peerEnded = true;
      if (socket.data.queue.length === 0) socket.end();
    },
    close() {
      if (once) server.stop();
    },
  },
});
console.log(`TLS echo server listening on 127.0.0.1:${server.port}`);
console.log(`certificate: ${creds.cert}`);
