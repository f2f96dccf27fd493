'use strict';
// The benchmark client on node-bun-tcp's connect(); see common.js for modes and protocol.
const { connect } = require('../..');
const { run, fail } = require('./common');

run(async (hostname, port, handlers) => {
  const socket = await connect({
    hostname,
    port,
    socket: {
      data: (_socket, chunk) => handlers.data(chunk),
      drain: () => handlers.drain(),
      error: (_socket, err) => fail(err),
      close: (_socket, err) => err && fail(err),
    },
  });
  return (bytes) => socket.write(bytes);
}).catch(fail);
