'use strict';
// Echo server on node-bun-tcp (handlers in tables.js). Prints its port, then serves until killed.
// With TLS_KEY and TLS_CERT (paths) in the environment it serves TLS.
const { listen, file } = require('../..');
const { echoTable, sinkTable } = require('./tables');

const tls = process.env.TLS_KEY ? { key: file(process.env.TLS_KEY), cert: file(process.env.TLS_CERT) } : undefined;
const server = listen({ hostname: '127.0.0.1', port: 0, tls, socket: process.env.SINK ? sinkTable() : echoTable() });
console.log(server.port);
