// The ESM entry: named imports and the default export.
import bun, { listen, connect, ArrayBufferSink, file } from 'node-bun-tcp';
import * as ns from 'node-bun-tcp';
import { type Equal, expectType } from './util.js';

expectType<Equal<typeof bun.listen, typeof listen>>(true);
expectType<Equal<typeof ns.connect, typeof connect>>(true);
expectType<Equal<typeof bun.ArrayBufferSink, typeof ArrayBufferSink>>(true);
expectType<Equal<typeof bun.file, typeof file>>(true);
// The namespace has the default export too, as index.mjs has it (the object require() returns).
expectType<Equal<typeof ns.default.listen, typeof listen>>(true);
const server = listen({ hostname: '127.0.0.1', port: 0, data: { n: 1 }, socket: { data(s) { s.data.n++; } } });
expectType<Equal<typeof server.port, number>>(true);
// @ts-expect-error not exported
import { serve } from 'node-bun-tcp';
void serve;
