'use strict';
// TLS is not built yet: a `tls` option must fail loudly, never fall back to plain TCP.
const { invalidArgType } = require('./errors');

function rejectTls(tls) {
  if (tls === undefined || tls === null || tls === false) return;
  if (tls !== true && typeof tls !== 'object') throw invalidArgType('options.tls', 'of type object or boolean', tls);
  const err = new Error('TLS is not supported by this build of node-bun-tcp yet');
  err.code = 'ERR_NOT_SUPPORTED';
  throw err;
}

module.exports = { rejectTls };
