'use strict';
// The benchmark client on node-bun-tcp's connect(); see common.js for modes and protocol.
const { connect } = require('../..');
const { run, fail, socketTable } = require('./common');

run(async (hostname, port, handlers) => {
  const socket = await connect({ hostname, port, socket: socketTable(handlers) });
  return (bytes) => socket.write(bytes);
}).catch(fail);
