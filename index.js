'use strict';
// node-bun-tcp: Bun's TCP socket API (Bun.listen / Bun.connect) for Node.js.
const { listen } = require('./lib/listen');
const { connect } = require('./lib/connect');
const { ArrayBufferSink } = require('./lib/sink');
const { file } = require('./lib/file');

module.exports = { listen, connect, ArrayBufferSink, file };
