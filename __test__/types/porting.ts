// Handler tables checked strictly, binaryType of a union type, null entries, the data-or-drain rule,
// SocketError fields, listener Data defaults and bun-types options (code ported from Bun).
import { listen, connect, type BinaryType, type Socket, type SocketHandler, type SocketError, type TCPSocketListener, type UnixSocketListener, type SocketListener, type TLSOptions } from 'node-bun-tcp';
import { type Equal, expectType } from './util';

const base = { hostname: '127.0.0.1', port: 0 } as const;

// Handlers are function-typed properties: parameters are checked strictly, not bivariantly.
listen({
  ...base,
  socket: {
    binaryType: 'uint8array',
    // @ts-expect-error chunk is a plain Uint8Array, not a Buffer (chunk.toString('hex') would not be hex)
    data(socket, chunk: Buffer) {},
  },
});
listen({
  ...base,
  socket: {
    data() {},
    // @ts-expect-error error.code may be absent: a narrower parameter type does not compile
    error(socket, error: Error & { code: string }) {},
  },
});
// @ts-expect-error the socket's Data is a number, not a string
listen({ ...base, data: 1, socket: { data(socket: Socket<string>) {} } });
// Wider annotations are fine.
listen({ ...base, socket: { binaryType: 'uint8array', data(socket, chunk: ArrayBufferView) {} } });
// Contextual typing without annotations, `this` included.
listen({
  ...base,
  data: { n: 0 },
  socket: {
    binaryType: 'arraybuffer',
    open(socket) {
      expectType<Equal<typeof socket, Socket<{ n: number }>>>(true);
      expectType<Equal<typeof this, Socket<{ n: number }>>>(true);
    },
    data(socket, chunk) {
      expectType<Equal<typeof chunk, ArrayBuffer>>(true);
      expectType<Equal<typeof this, Socket<{ n: number }>>>(true);
      socket.data.n += chunk.byteLength;
    },
  },
});
// Data inferred from an annotated handler parameter (as bun-types allows).
type D = { n: number };
const fromParam = listen({ ...base, socket: { data(socket: Socket<D>, chunk) { socket.data.n++; expectType<Equal<typeof chunk, Buffer>>(true); } } });
expectType<Equal<typeof fromParam, TCPSocketListener<D>>>(true);

// A binaryType of the BinaryType union: chunk is the union of the three.
declare const bt: BinaryType;
listen({
  ...base,
  socket: {
    binaryType: bt,
    data(socket, chunk) {
      expectType<Equal<typeof chunk, Buffer | ArrayBuffer | Uint8Array<ArrayBuffer>>>(true);
      socket.write(chunk);
    },
  },
});
void connect({ ...base, socket: { binaryType: bt, data(socket, chunk) { expectType<Equal<typeof chunk, Buffer | ArrayBuffer | Uint8Array<ArrayBuffer>>>(true); } } });
// ... or a type parameter: chunk is BinaryTypeMap[T].
export function serve<T extends BinaryType>(binaryType: T) {
  return listen({ ...base, data: 'x', socket: { binaryType, data(socket, chunk) { socket.write(chunk); expectType<Equal<typeof socket.data, string>>(true); } } });
}
declare const bufferOrArrayBuffer: 'buffer' | 'arraybuffer';
listen({ ...base, socket: { binaryType: bufferOrArrayBuffer, data(socket, chunk) { expectType<Equal<typeof chunk, Buffer | ArrayBuffer>>(true); } } });

// Web APIs that need ArrayBuffer-backed views take a 'uint8array' chunk.
listen({
  ...base,
  socket: {
    binaryType: 'uint8array',
    async data(socket, chunk) {
      await crypto.subtle.digest('SHA-256', chunk);
      new Blob([chunk]);
    },
  },
});

// Tables typed apart: the union (SocketHandler<Data>), one shape, Bun's bare `SocketHandler`.
const anyShape: SocketHandler<{ n: number }> = { binaryType: 'arraybuffer', data(socket, chunk) { socket.data.n += chunk.byteLength; } };
listen({ ...base, data: { n: 0 }, socket: anyShape });
void connect({ ...base, data: { n: 0 }, socket: anyShape });
const bufferShape: SocketHandler<{ n: number }, 'buffer'> = { data(socket, chunk) { chunk.readUInt8(0); } };
listen({ ...base, data: { n: 0 }, socket: bufferShape });
const bare: SocketHandler = { data(socket, chunk) {}, open() {} };
listen({ ...base, socket: bare });

// null entries mean absent (SPEC).
listen({ ...base, socket: { data() {}, open: null, close: null, error: null, end: null, timeout: null, handshake: null, connectError: null } });
listen({ ...base, socket: { data: null, drain() {} } });
// @ts-expect-error binaryType null is not absent (a TypeError at run time)
listen({ ...base, socket: { data() {}, binaryType: null } });

// A table needs data or drain (SPEC; a TypeError at run time).
// @ts-expect-error no data or drain
listen({ ...base, socket: {} });
// @ts-expect-error no data or drain
listen({ ...base, socket: { open() {}, close() {} } });
// @ts-expect-error null data is absent
listen({ ...base, socket: { data: null } });
// @ts-expect-error no data or drain
void connect({ ...base, socket: { connectError() {} } });
// @ts-expect-error no data or drain
listen({ ...base, socket: { binaryType: 'uint8array', open() {} } });
// @ts-expect-error no data or drain
const emptyTable: SocketHandler = { open() {} };
void emptyTable;
declare const someListener: TCPSocketListener<undefined>;
// @ts-expect-error no data or drain in reload either
someListener.reload({ open() {} });
someListener.reload({ binaryType: bt, data(socket, chunk) { expectType<Equal<typeof chunk, Buffer | ArrayBuffer | Uint8Array<ArrayBuffer>>>(true); } });

// Errors carry Node's system error fields.
void connect({
  ...base,
  socket: {
    data() {},
    connectError(socket, err) {
      if (err.code === 'ECONNREFUSED') {
        const errno: number | undefined = err.errno;
        const syscall: string | undefined = err.syscall;
        const where: string | undefined = `${err.address}:${err.port}`;
        void [errno, syscall, where];
      }
      const asNode: NodeJS.ErrnoException = err;
      void asNode;
    },
    close(socket, err) {
      if (err?.code === 'ECONNRESET') return;
    },
    error(socket, err) {
      expectType<Equal<typeof err, SocketError>>(true);
    },
    handshake(socket, success, err) {
      if (err) expectType<Equal<typeof err.code, string | undefined>>(true);
    },
  },
}).catch((err: SocketError) => err.code);

// Listener Data defaults to unknown, as in bun-types: any listener fits a bare TCPSocketListener.
let server: TCPSocketListener;
server = listen({ ...base, data: { started: Date.now() }, socket: { data() {} } });
expectType<Equal<typeof server.data, unknown>>(true);
let unixServer: UnixSocketListener;
unixServer = listen({ unix: '/tmp/x.sock', data: 1, socket: { data() {} } });
void unixServer;
const generic: SocketListener<{ started: number }> = listen({ ...base, data: { started: 0 }, socket: { data() {} } });
void generic;
// Socket keeps bun-types' default (undefined).
expectType<Equal<Socket['data'], undefined>>(true);

// readyState: bun-types declares 2 too, so Bun code comparing with it compiles.
declare const sock: Socket;
if (sock.readyState === 2 || sock.readyState === 0 || sock.readyState > 0) sock.end();

// Options bun-types declares on connect (ignored by the run time) and TLS `servername`.
void connect({ ...base, exclusive: false, reusePort: true, ipv6Only: false, socket: { data() {} } });
void connect({ unix: '/tmp/x.sock', tls: { servername: 'example.com' }, socket: { data() {} } });
void connect({ ...base, tls: { servername: 'example.com', serverName: 'example.com' }, socket: { data() {} } });
// @ts-expect-error still not a listen-only option
void connect({ ...base, backlog: 1, socket: { data() {} } });

// A server's `tls: {}` (no key and cert) throws at run time, but it compiles: requiring key and cert
// would reject a `TLSOptions` value declared apart, as Bun code declares them.
const serverTLS: TLSOptions = { key: 'PEM', cert: 'PEM' };
listen({ ...base, tls: serverTLS, socket: { data() {} } });
