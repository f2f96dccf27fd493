'use strict';
// STARTTLS, as SMTP and Postgres do it: a plain connection agrees to switch, then both ends call
// upgradeTLS() and the same connection goes on encrypted. Server and client in one script.
//
// Run:
//   node examples/starttls.js
// Prints the exchange and exits.
const { listen, connect } = require('node-bun-tcp');
const fs = require('node:fs');
const { selfSigned } = require('./lib/self-signed');

const creds = selfSigned();
const key = fs.readFileSync(creds.key);
const cert = fs.readFileSync(creds.cert);

const server = listen({
  hostname: '127.0.0.1',
  port: 0,
  socket: {
    open(socket) {
      socket.write('220 plain text here; say STARTTLS\r\n');
    },
    data(socket, chunk) {
      if (chunk.toString() !== 'STARTTLS\r\n') return void socket.write('500 say STARTTLS first\r\n');
      socket.write('220 go ahead\r\n');
      socket.upgradeTLS({
        tls: { key, cert },
        socket: {
          open(secure) {
            console.log(`server: now ${secure.getTLSVersion()}`);
          },
          data(secure, line) {
            secure.write(`250 you said, encrypted: ${line}`);
          },
        },
      });
    },
  },
});

connect({
  hostname: '127.0.0.1',
  port: server.port,
  socket: {
    data(socket, chunk) {
      const text = chunk.toString();
      console.log(`client got (plain): ${text.trim()}`);
      if (text.startsWith('220 plain')) return void socket.write('STARTTLS\r\n');
      if (!text.startsWith('220 go ahead')) return;
      socket.upgradeTLS({
        tls: { ca: cert, serverName: 'localhost' },
        socket: {
          open(secure) {
            console.log(`client: now ${secure.getTLSVersion()}, certificate verified: ${secure.authorized}`);
            secure.write('hello over TLS\r\n');
          },
          data(secure, reply) {
            console.log(`client got (TLS): ${reply.toString().trim()}`);
            secure.end();
          },
          close() {
            server.stop(true);
            fs.rmSync(creds.dir, { recursive: true, force: true });
          },
        },
      });
    },
  },
});
