// The CommonJS entry: `require('node-bun-tcp')`.
import bun = require('node-bun-tcp');
import { type Equal, expectType } from './util';

const server = bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, c) { s.write(c); } } });
expectType<Equal<typeof server, bun.TCPSocketListener<undefined>>>(true);
const pending = bun.connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } });
expectType<Equal<typeof pending, Promise<bun.Socket<undefined>>>>(true);
