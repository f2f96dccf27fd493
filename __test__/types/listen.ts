// listen(): Data inference, listener types, options.
import { listen } from 'node-bun-tcp';
import type { Socket, SocketError, TCPSocketListener, UnixSocketListener } from 'node-bun-tcp';
import { type Equal, expectType } from './util';

// Data is inferred from the `data` option; every handler's socket is Socket<Data>.
const inferred = listen({
  hostname: '127.0.0.1',
  port: 0,
  data: { sessions: 0, name: 'srv' },
  socket: {
    open(socket) {
      expectType<Equal<typeof socket.data, { sessions: number; name: string }>>(true);
      socket.data.sessions += 1;
    },
    data(socket, chunk) {
      expectType<Equal<typeof socket, Socket<{ sessions: number; name: string }>>>(true);
      socket.write(`${socket.data.name}: ${chunk.length}`);
    },
    drain(socket) {
      expectType<Equal<typeof socket.data.name, string>>(true);
    },
    end(socket) {
      expectType<Equal<typeof socket.data.sessions, number>>(true);
    },
    close(socket, error) {
      expectType<Equal<typeof error, SocketError | undefined>>(true);
      expectType<Equal<typeof socket.data.sessions, number>>(true);
    },
    error(socket, error) {
      expectType<Equal<typeof error, SocketError>>(true);
      expectType<Equal<typeof socket.data.name, string>>(true);
    },
    timeout(socket) {
      expectType<Equal<typeof socket.data.name, string>>(true);
    },
    handshake(socket, success, authorizationError) {
      expectType<Equal<typeof success, boolean>>(true);
      expectType<Equal<typeof authorizationError, SocketError | null>>(true);
      expectType<Equal<typeof socket.data.name, string>>(true);
    },
  },
});
expectType<Equal<typeof inferred, TCPSocketListener<{ sessions: number; name: string }>>>(true);
expectType<Equal<typeof inferred.port, number>>(true);
expectType<Equal<typeof inferred.hostname, string>>(true);
expectType<Equal<typeof inferred.unix, undefined>>(true);
expectType<Equal<typeof inferred.data, { sessions: number; name: string }>>(true);
inferred.data = { sessions: 1, name: 'other' };
// @ts-expect-error listener.data keeps its type
inferred.data = { sessions: 'one', name: 'other' };

// An explicit generic, as in Bun's docs: data is set in `open`.
type SessionData = { sessionId: string };
listen<SessionData>({
  hostname: 'localhost',
  port: 8080,
  socket: {
    open(socket) {
      socket.data = { sessionId: 'abcd' };
      // @ts-expect-error socket.data must be SessionData
      socket.data = { sessionId: 1234 };
      // @ts-expect-error socket.data must be SessionData
      socket.data = { session: 'abcd' };
    },
    data(socket) {
      socket.write(`${socket.data.sessionId}: ack`);
      // @ts-expect-error no such field in SessionData
      socket.data.userId;
    },
  },
});

// Without `data`, Data is undefined.
listen({
  hostname: 'localhost',
  port: 0,
  socket: {
    data(socket) {
      expectType<Equal<typeof socket.data, undefined>>(true);
    },
  },
});

listen({
  hostname: 'localhost',
  port: 0,
  data: { count: 0 },
  socket: {
    data(socket) {
      // @ts-expect-error wrong shape: `count` is a number
      const s: string = socket.data.count;
      // @ts-expect-error wrong shape: no `total`
      socket.data.total += 1;
      // @ts-expect-error wrong shape assigned
      socket.data = { count: '1' };
      void s;
    },
  },
});

listen<SessionData>({
  hostname: 'localhost',
  port: 0,
  // @ts-expect-error `data` must match the explicit generic
  data: { sessionId: 5 },
  socket: { data() {} },
});

// Ports: numbers and numeric strings (SPEC accepts "8080"); not objects or booleans.
listen({ hostname: '0.0.0.0', port: '8080', socket: { data() {} } });
listen({ hostname: '0.0.0.0', port: process.env.PORT ?? 0, socket: { data() {} } });
// @ts-expect-error port must not be an object
listen({ hostname: '0.0.0.0', port: { port: 80 }, socket: { data() {} } });
// @ts-expect-error port must not be a boolean
listen({ hostname: '0.0.0.0', port: true, socket: { data() {} } });
// @ts-expect-error port is required for TCP
listen({ hostname: '0.0.0.0', socket: { data() {} } });
// @ts-expect-error hostname must be a string
listen({ hostname: 127, port: 0, socket: { data() {} } });
// @ts-expect-error the handler table is required
listen({ hostname: '0.0.0.0', port: 0 });

// Every listen option.
listen({
  hostname: '::',
  port: 0,
  allowHalfOpen: true,
  exclusive: false,
  reusePort: true,
  ipv6Only: true,
  backlog: 128,
  tls: false,
  socket: { drain() {} },
});
// @ts-expect-error unknown option
listen({ hostname: '::', port: 0, reusPort: true, socket: { data() {} } });
// @ts-expect-error backlog is a number
listen({ hostname: '::', port: 0, backlog: '128', socket: { data() {} } });
// @ts-expect-error `tls: true` is for connect only
listen({ hostname: '::', port: 0, tls: true, socket: { data() {} } });

// Unix listeners.
const unix = listen({ unix: '/tmp/x.sock', data: 7, socket: { data() {} } });
expectType<Equal<typeof unix, UnixSocketListener<number>>>(true);
expectType<Equal<typeof unix.unix, string>>(true);
expectType<Equal<typeof unix.port, undefined>>(true);
expectType<Equal<typeof unix.hostname, undefined>>(true);
// @ts-expect-error unix and port do not mix
listen({ unix: '/tmp/x.sock', port: 1, socket: { data() {} } });

// Listener methods.
const bound: { family?: 'IPv4' | 'IPv6'; address?: string; port?: number } = {};
inferred.getsockname(bound);
const listenerFd: number = inferred.fd;
void listenerFd;
inferred.stop();
inferred.stop(true);
expectType<Equal<ReturnType<typeof inferred.ref>, typeof inferred>>(true);
inferred.unref().ref().unref();
inferred.reload({ socket: { data(socket) { socket.data.sessions++; } } });
inferred.reload({ data(socket) { socket.data.sessions++; } });
// @ts-expect-error reload keeps the listener's Data
inferred.reload({ data(socket) { socket.data.missing; } });
inferred[Symbol.dispose]();
{
  using scoped = listen({ hostname: 'localhost', port: 0, socket: { data() {} } });
  void scoped.port;
}
