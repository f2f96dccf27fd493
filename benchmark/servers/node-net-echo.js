'use strict';
// The same echo server on node:net. Prints its port, then serves until killed.
const net = require('node:net');

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.pipe(socket);
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
