// connect() and the Socket surface, including the TLS methods SPEC lists.
import { connect, listen } from 'node-bun-tcp';
import type { Socket, SocketError, SocketReadyState, TCPSocketListener, UnixSocketListener, CipherNameAndProtocol, CipherNotNegotiated, PeerCertificate, DetailedPeerCertificate } from 'node-bun-tcp';
import type * as tls from 'node:tls';
import { type Equal, expectType } from './util';

async function client(): Promise<void> {
  // connect returns Promise<Socket<Data>>, Data inferred from `data`.
  const pending = connect({
    hostname: 'localhost',
    port: 8080,
    data: { requests: 0 },
    socket: {
      data(socket, chunk) {
        socket.data.requests++;
        expectType<Equal<typeof chunk, Buffer>>(true);
      },
    },
  });
  expectType<Equal<typeof pending, Promise<Socket<{ requests: number }>>>>(true);
  const socket = await pending;
  expectType<Equal<typeof socket.data, { requests: number }>>(true);

  // Explicit generic.
  const typed = await connect<{ id: string }>({ hostname: '::1', port: '6379', socket: { data() {} } });
  expectType<Equal<typeof typed, Socket<{ id: string }>>>(true);

  // Unix and TLS options.
  const viaUnix = await connect({ unix: '/tmp/app.sock', socket: { drain() {} } });
  expectType<Equal<typeof viaUnix, Socket<undefined>>>(true);
  await connect({ hostname: 'example.com', port: 443, tls: true, socket: { data() {} } });
  await connect({
    hostname: 'example.com',
    port: 443,
    allowHalfOpen: true,
    tls: { serverName: 'example.com', rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'], ca: 'PEM' },
    socket: { data() {} },
  });
  // @ts-expect-error port must not be an object
  await connect({ hostname: 'localhost', port: { value: 1 }, socket: { data() {} } });
  // @ts-expect-error port must not be a boolean
  await connect({ hostname: 'localhost', port: false, socket: { data() {} } });
  // @ts-expect-error listen-only option
  await connect({ hostname: 'localhost', port: 1, backlog: 5, socket: { data() {} } });
  // @ts-expect-error tls must be a boolean or an options object
  await connect({ hostname: 'localhost', port: 1, tls: 'yes', socket: { data() {} } });

  // write / end: strings, Buffers, every TypedArray, DataView, ArrayBuffer, SharedArrayBuffer.
  const n: number = socket.write('hello');
  socket.write(Buffer.from('x'));
  socket.write(new Uint8Array(4), 1);
  socket.write(new Float64Array(2), 0, 8);
  socket.write(new DataView(new ArrayBuffer(8)));
  socket.write(new ArrayBuffer(8), 2, 4);
  socket.write(new SharedArrayBuffer(8));
  // @ts-expect-error numbers are not data
  socket.write(123);
  // @ts-expect-error objects are not data
  socket.write({ hello: 'world' });
  // @ts-expect-error offsets are numbers
  socket.write('abc', '1');
  // @ts-expect-error arrays of numbers are not data
  socket.write([1, 2, 3]);
  const ended: number = socket.end();
  socket.end('bye');
  socket.end(new Uint8Array(1), 0, 1);
  // @ts-expect-error numbers are not data for end() either
  socket.end(404);
  void n;
  void ended;

  // The rest of the socket.
  socket.shutdown();
  socket.shutdown(true);
  socket.flush();
  socket.timeout(30);
  // @ts-expect-error timeout takes seconds as a number
  socket.timeout('30s');
  expectType<Equal<ReturnType<typeof socket.ref>, typeof socket>>(true);
  socket.unref().ref();
  socket.pause();
  socket.resume();
  const nodelay: boolean = socket.setNoDelay();
  const keepalive: boolean = socket.setKeepAlive(true, 60_000);
  void nodelay;
  void keepalive;
  const tosSet: number = socket.setTypeOfService(0x10);
  const tos: number = socket.getTypeOfService();
  const fd: number = socket.fd;
  void tosSet, tos, fd;
  const reused: boolean = socket.isSessionReused();
  const kx = socket.getEphemeralKeyInfo();
  if (kx && 'name' in kx) {
    const size: number = kx.size;
    void size;
  }
  void reused;
  // @ts-expect-error fd is read-only
  socket.fd = 3;
  socket.reload({ data(s) { s.data.requests++; } });
  socket.reload({ socket: { binaryType: 'uint8array', data(s, c) { expectType<Equal<typeof c, Uint8Array<ArrayBuffer>>>(true); } } });
  // @ts-expect-error reload keeps the socket's Data
  socket.reload({ data(s) { s.data.nope; } });
  socket.terminate();
  socket.close();
  socket[Symbol.dispose]();
  expectType<Equal<typeof socket.readyState, SocketReadyState>>(true);
  expectType<Equal<SocketReadyState, -2 | -1 | 0 | 1 | 2>>(true);
  expectType<Equal<typeof socket.bytesWritten, number>>(true);
  expectType<Equal<typeof socket.remoteAddress, string | undefined>>(true);
  expectType<Equal<typeof socket.remotePort, number | undefined>>(true);
  expectType<Equal<typeof socket.remoteFamily, 'IPv4' | 'IPv6' | undefined>>(true);
  expectType<Equal<typeof socket.localAddress, string | undefined>>(true);
  expectType<Equal<typeof socket.localPort, number | undefined>>(true);
  expectType<Equal<typeof socket.localFamily, 'IPv4' | 'IPv6' | undefined>>(true);
  expectType<
    Equal<typeof socket.listener, TCPSocketListener<{ requests: number }> | UnixSocketListener<{ requests: number }> | undefined>
  >(true);
  // @ts-expect-error readyState is read-only
  socket.readyState = 1;
  // @ts-expect-error bytesWritten is read-only
  socket.bytesWritten = 0;
  {
    using disposable = await connect({ hostname: 'localhost', port: 1, socket: { data() {} } });
    disposable.write('x');
  }

  // TLS methods (SPEC "Socket: authorized, ...").
  expectType<Equal<typeof socket.authorized, boolean>>(true);
  expectType<Equal<ReturnType<typeof socket.getAuthorizationError>, SocketError | null>>(true);
  expectType<Equal<typeof socket.alpnProtocol, string | false | null>>(true);
  expectType<Equal<ReturnType<typeof socket.getTLSVersion>, string | null>>(true);
  expectType<Equal<ReturnType<typeof socket.getCipher>, CipherNameAndProtocol | CipherNotNegotiated | undefined>>(true);
  expectType<Equal<ReturnType<typeof socket.getPeerCertificate>, PeerCertificate | null | undefined>>(true);
  const cert = socket.getPeerCertificate();
  expectType<Equal<typeof cert, PeerCertificate | null | undefined>>(true);
  // @ts-expect-error the certificate may be undefined (none sent) or null (plain socket): check first
  cert.subject;
  if (cert) {
    // Typed as @types/node types node:tls's certificate fields.
    const cn: string | undefined = cert.subject.CN;
    const cnLower: string | undefined = cert.subject.CN?.toLowerCase();
    void cnLower;
    const der: Buffer = cert.raw;
    const bits: number | undefined = cert.bits;
    const curve: string | undefined = cert.nistCurve;
    const pubkey: Buffer | undefined = cert.pubkey;
    const usage: string[] | undefined = cert.ext_key_usage;
    const ca: boolean = cert.ca;
    void [cn, der, bits, curve, pubkey, usage, ca];
    // @ts-expect-error no chain without `true`
    cert.issuerCertificate;
  }
  const detailed = socket.getPeerCertificate(true);
  expectType<Equal<typeof detailed, DetailedPeerCertificate | null | undefined>>(true);
  if (detailed) {
    const issuer: DetailedPeerCertificate | undefined = detailed.issuerCertificate;
    void issuer;
    // Ours fits where node:tls's is expected, field names and types.
    const asNode: Pick<tls.DetailedPeerCertificate, 'fingerprint256' | 'serialNumber' | 'valid_from' | 'ca'> = detailed;
    void asNode;
  }
  // Our cipher description fits where node:tls's is expected.
  const cipher = socket.getCipher();
  if (cipher && cipher.name !== null) {
    const asNode: tls.CipherNameAndProtocol = cipher;
    void asNode;
  }
  expectType<Equal<ReturnType<typeof socket.getServername>, string | undefined>>(true);
  socket.setServername('example.com');
  const keying: Buffer | undefined = socket.exportKeyingMaterial(32, 'EXPORTER-test');
  socket.exportKeyingMaterial(32, 'EXPORTER-test', Buffer.from('ctx'));
  // @ts-expect-error the context is a Buffer/TypedArray (an ArrayBuffer throws at runtime)
  socket.exportKeyingMaterial(32, 'EXPORTER-test', new ArrayBuffer(4));
  socket.setVerifyMode(true, false);
  // @ts-expect-error setVerifyMode takes (requestCert, rejectUnauthorized)
  socket.setVerifyMode('peer');
  void keying;

  // upgradeTLS returns [raw, tls]; the TLS socket takes the new Data.
  const [raw, secure] = socket.upgradeTLS({
    tls: { ca: 'PEM', serverName: 'mail.example.com' },
    data: { secure: true },
    socket: {
      handshake(s, success, err) {
        expectType<Equal<typeof s.data, { secure: boolean }>>(true);
        void success;
        void err;
      },
      data(s, chunk) {
        expectType<Equal<typeof chunk, Buffer>>(true);
      },
    },
  });
  expectType<Equal<typeof raw, Socket<{ requests: number }>>>(true);
  expectType<Equal<typeof secure, Socket<{ secure: boolean }>>>(true);
  // `tls: true` verifies against the public roots; the new Data defaults to the old.
  const [, sameData] = socket.upgradeTLS({ tls: true, socket: { data() {} } });
  expectType<Equal<typeof sameData, Socket<{ requests: number }>>>(true);
  // @ts-expect-error `tls` is required, as in Bun
  socket.upgradeTLS({ socket: { data() {} } });
  // @ts-expect-error upgradeTLS needs the new handler table
  socket.upgradeTLS({ tls: true });
  // @ts-expect-error `tls: false` is not an upgrade
  socket.upgradeTLS({ tls: false, socket: { data() {} } });
}
void client;

// Server-side socket: listener is reachable and typed.
listen({
  hostname: '127.0.0.1',
  port: 0,
  data: 'srv',
  socket: {
    open(socket) {
      const l = socket.listener;
      if (l) expectType<Equal<typeof l.data, string>>(true);
    },
    data() {},
  },
});
