'use strict';
// The same minimal RESP server (resp.js) on node:net. Prints its port.
const net = require('node:net');
const { RespSession } = require('./resp');

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const session = new RespSession();
  socket.on('data', (chunk) => {
    const replies = session.feed(chunk);
    // Copied: node:net may still hold the buffer after write() returns, and `replies` is the
    // shared reply buffer, reused for the next chunk.
    if (replies.length > 0 && !socket.write(Buffer.from(replies))) {
      socket.pause(); // held back by TCP until node:net's own buffer is out
      socket.once('drain', () => socket.resume());
    }
    if (session.closeAfterReply) socket.end();
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
