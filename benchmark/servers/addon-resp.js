'use strict';
// A minimal RESP server (PING/SET/GET, see resp.js and tables.js) on node-bun-tcp. Prints its port.
const { listen } = require('../..');
const { respTable } = require('./tables');

const server = listen({ hostname: '127.0.0.1', port: 0, socket: respTable() });
console.log(server.port);
