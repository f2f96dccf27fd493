'use strict';
// The benchmark client on node:net; see common.js for modes and protocol.
const net = require('node:net');
const { run, fail } = require('./common');

run((hostname, port, handlers) => new Promise((resolve, reject) => {
  const socket = net.connect({ host: hostname, port, noDelay: true }, () => {
    socket.off('error', reject);
    socket.on('error', fail);
    // node:net takes every write (buffering what the kernel refuses), so there is never a rest.
    resolve((bytes) => {
      socket.write(bytes);
      return bytes.length;
    });
  });
  socket.once('error', reject);
  socket.on('data', (chunk) => handlers.data(chunk));
})).catch(fail);
