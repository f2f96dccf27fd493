'use strict';
// The same echo server on node:tls (TLS_KEY and TLS_CERT are paths). Prints its port.
const fs = require('node:fs');
const tls = require('node:tls');

const server = tls.createServer(
  { key: fs.readFileSync(process.env.TLS_KEY), cert: fs.readFileSync(process.env.TLS_CERT) },
  (socket) => {
    socket.setNoDelay(true);
    socket.pipe(socket);
    socket.on('error', () => {});
  },
);
server.on('tlsClientError', () => {});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
