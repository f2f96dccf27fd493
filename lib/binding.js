'use strict';
// The native addon, built by `npm install` (scripts/build.js).
const path = require('node:path');

module.exports = require(path.join(__dirname, '..', 'node-bun-tcp.node'));
