// Handler tables: chunk types by binaryType, `this`, what must not compile.
import { listen, connect } from 'node-bun-tcp';
import type { Socket, SocketHandler, SocketError, BinaryType } from 'node-bun-tcp';
import { type Equal, expectType } from './util';

const base = { hostname: '127.0.0.1', port: 0 } as const;

// binaryType 'buffer' (the default) → Buffer.
listen({
  ...base,
  socket: {
    data(socket, chunk) {
      expectType<Equal<typeof chunk, Buffer>>(true);
      chunk.toString('utf8');
    },
  },
});
listen({
  ...base,
  socket: {
    binaryType: 'buffer',
    data(socket, chunk) {
      expectType<Equal<typeof chunk, Buffer>>(true);
    },
  },
});

// 'arraybuffer' → ArrayBuffer.
listen({
  ...base,
  socket: {
    binaryType: 'arraybuffer',
    data(socket, chunk) {
      expectType<Equal<typeof chunk, ArrayBuffer>>(true);
      // @ts-expect-error an ArrayBuffer has no toString(encoding) / Buffer methods
      chunk.readUInt8(0);
      // @ts-expect-error an ArrayBuffer is not indexable like a Uint8Array
      const first: number = chunk[0];
      void first;
    },
  },
});

// 'uint8array' → plain Uint8Array over an ArrayBuffer (as bun-types: `Uint8Array<ArrayBuffer>`), not a Buffer.
listen({
  ...base,
  socket: {
    binaryType: 'uint8array',
    data(socket, chunk) {
      expectType<Equal<typeof chunk, Uint8Array<ArrayBuffer>>>(true);
      const first: number = chunk[0];
      // @ts-expect-error a plain Uint8Array has no Buffer methods
      chunk.readUInt32BE(0);
      // @ts-expect-error and is not a Buffer
      const b: Buffer = chunk;
      void first;
      void b;
    },
  },
});

// binaryType with an explicit Data generic (no inference of a second type argument needed).
listen<{ id: number }>({
  ...base,
  socket: {
    binaryType: 'arraybuffer',
    data(socket, chunk) {
      expectType<Equal<typeof chunk, ArrayBuffer>>(true);
      expectType<Equal<typeof socket.data.id, number>>(true);
    },
  },
});

// A chunk annotated with the wrong type for its binaryType.
listen({
  ...base,
  socket: {
    binaryType: 'arraybuffer',
    // @ts-expect-error chunk is an ArrayBuffer, not a Buffer
    data(socket: Socket, chunk: Buffer) {},
  },
});
listen({
  ...base,
  // @ts-expect-error chunk is a Buffer by default, not an ArrayBuffer
  socket: { data(socket: Socket, chunk: ArrayBuffer) {} },
});
// @ts-expect-error unknown binaryType
listen({ ...base, socket: { binaryType: 'blob', data() {} } });

// Typed tables declared apart from the call.
const arrayBufferTable: SocketHandler<{ n: number }, 'arraybuffer'> = {
  binaryType: 'arraybuffer',
  data(socket, chunk) {
    expectType<Equal<typeof chunk, ArrayBuffer>>(true);
    socket.data.n += chunk.byteLength;
  },
};
listen({ ...base, data: { n: 0 }, socket: arrayBufferTable });
// @ts-expect-error the table's Data must match the listener's
listen({ ...base, data: { n: 'zero' }, socket: arrayBufferTable });
// @ts-expect-error a 'uint8array' table needs binaryType: 'uint8array'
const missingBinaryType: SocketHandler<undefined, 'uint8array'> = { data() {} };
void missingBinaryType;
expectType<Equal<SocketHandler<undefined, 'buffer'>['binaryType'], 'buffer' | undefined>>(true);
expectType<Equal<Parameters<NonNullable<SocketHandler<undefined, BinaryType>['data']>>[1], Buffer | ArrayBuffer | Uint8Array<ArrayBuffer>>>(true);

// Unknown handler names do not compile.
listen({
  ...base,
  socket: {
    data() {},
    // @ts-expect-error `message` is not a handler
    message() {},
  },
});
listen({
  ...base,
  socket: {
    data() {},
    // @ts-expect-error handler names are case-sensitive
    onData() {},
  },
});

// A handler must be a function.
listen({
  ...base,
  socket: {
    // @ts-expect-error `data` must be a function
    data: 'echo',
  },
});
listen({
  ...base,
  socket: {
    data() {},
    // @ts-expect-error `close` must be a function
    close: true,
  },
});
// null/undefined entries mean "absent" (SPEC), in the types too.
listen({ ...base, socket: { data() {}, close: undefined } });
listen({ ...base, socket: { data() {}, close: null, error: null, open: null, handshake: null } });

// Handler signatures: arity and argument types.
listen({
  ...base,
  socket: {
    data() {},
    // @ts-expect-error error's second argument is an Error
    error(socket, error: string) {},
  },
});

// `this` is the socket.
listen({
  ...base,
  data: { greeting: 'hi' },
  socket: {
    open() {
      this.write(this.data.greeting);
      expectType<Equal<typeof this, Socket<{ greeting: string }>>>(true);
    },
    data(socket) {
      expectType<Equal<typeof this, typeof socket>>(true);
    },
  },
});

// Async handlers, and handlers that return a value (ignored), compile.
listen({
  ...base,
  socket: {
    async open(socket) {
      await Promise.resolve();
      socket.write('ready');
    },
    data: (socket, chunk) => socket.write(chunk),
    drain: async () => {},
  },
});

// A table with only `drain` is allowed (SPEC: `data` or `drain`).
listen({ ...base, socket: { drain() {} } });

// Client tables have the same shape; connectError gets the Error.
void connect({
  ...base,
  data: 1,
  socket: {
    binaryType: 'uint8array',
    data(socket, chunk) {
      expectType<Equal<typeof chunk, Uint8Array<ArrayBuffer>>>(true);
      expectType<Equal<typeof socket.data, number>>(true);
    },
    connectError(socket, error) {
      expectType<Equal<typeof error, SocketError>>(true);
      expectType<Equal<typeof socket.data, number>>(true);
    },
  },
});
// @ts-expect-error unknown handler on a client table too
void connect({ ...base, socket: { data() {}, connected() {} } });
