// The same echo server (tables.js) on Bun's own Bun.listen, for `BUN=/path/to/bun npm run bench`.
// With TLS_KEY and TLS_CERT (paths) in the environment it serves TLS. Prints its port.
const { echoTable, sinkTable } = require('./tables');

const tls = process.env.TLS_KEY ? { key: Bun.file(process.env.TLS_KEY), cert: Bun.file(process.env.TLS_CERT) } : undefined;
const server = Bun.listen({ hostname: '127.0.0.1', port: 0, tls, socket: process.env.SINK ? sinkTable() : echoTable() });
console.log(server.port);
