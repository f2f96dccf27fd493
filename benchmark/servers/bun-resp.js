// The same minimal RESP server (resp.js, tables.js) on Bun's own Bun.listen, for `BUN=/path/to/bun`.
// Prints its port.
const { respTable } = require('./tables');

const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: respTable() });
console.log(server.port);
