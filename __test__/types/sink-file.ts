// ArrayBufferSink and file().
import { ArrayBufferSink, file, listen } from 'node-bun-tcp';
import type { FileRef } from 'node-bun-tcp';
import { type Equal, expectType } from './util';

const sink = new ArrayBufferSink({ stream: true, highWaterMark: 1024, asUint8Array: true });
sink.start({ stream: true, asUint8Array: true });
// @ts-expect-error the sink's type follows its mode: start() keeps it (flush() would return an ArrayBuffer now)
sink.start({ stream: true });
const written: number = sink.write('h');
sink.write(new Uint8Array(2));
sink.write(new ArrayBuffer(2));
// @ts-expect-error numbers are not chunks
sink.write(5);
// @ts-expect-error unknown sink option
new ArrayBufferSink({ streaming: true });
expectType<Equal<ReturnType<typeof sink.flush>, Uint8Array<ArrayBuffer>>>(true);
expectType<Equal<ReturnType<typeof sink.end>, Uint8Array<ArrayBuffer>>>(true);
// Mode not known (set by start()): the union, as bun-types.
const unknownMode = new ArrayBufferSink();
expectType<Equal<ReturnType<typeof unknownMode.flush>, number | Uint8Array<ArrayBuffer> | ArrayBuffer>>(true);
expectType<Equal<ReturnType<typeof unknownMode.end>, ArrayBuffer | Uint8Array<ArrayBuffer>>>(true);
void written;

const key = file('./key.pem');
file(new URL('file:///etc/cert.pem'));
expectType<Equal<typeof key, FileRef>>(true);
expectType<Equal<typeof key.name, string>>(true);
// @ts-expect-error file() takes a path
file(42);

// file() values, strings and bytes are all TLS inputs, alone or in arrays.
listen({
  hostname: 'localhost',
  port: 443,
  tls: { key, cert: [file('./a.pem'), Buffer.from('PEM'), 'PEM'], ca: new Uint8Array(1), passphrase: 'pw', requestCert: true },
  socket: { data() {} },
});
// @ts-expect-error tls.key is PEM data, not a number (SPEC: `key: 5` is a TypeError)
listen({ hostname: 'localhost', port: 443, tls: { key: 5 }, socket: { data() {} } });
