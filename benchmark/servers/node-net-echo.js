'use strict';
// The same echo server on node:net. Prints its port, then serves until killed.
// With SINK in the environment it is the upload scenario's sink instead (see tables.js).
const net = require('node:net');

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  if (!process.env.SINK) {
    socket.pipe(socket);
    return;
  }
  let received = 0;
  socket.on('data', (chunk) => {
    received += chunk.length;
  });
  socket.on('end', () => socket.end(`${received}\n`));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
