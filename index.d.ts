// Type definitions for node-bun-tcp: Bun's TCP socket API for Node.js.
//
// Shaped like Bun's own declarations (`Bun.listen<Data>()`, `Socket<Data>`, `SocketHandler<Data,
// BinaryType>`): `socket.data` is `Data` in every handler, inferred from the `data` option or given
// explicitly (`listen<{ id: string }>(...)`), and a `data` handler's chunk follows `binaryType`.
/// <reference types="node" />

// ---- data ------------------------------------------------------------------------------------

export type BinaryType = 'buffer' | 'arraybuffer' | 'uint8array';

/**
 * What a `data` handler receives for each `binaryType`: always over an `ArrayBuffer`, never a
 * `SharedArrayBuffer` (hence `Uint8Array<ArrayBuffer>`, as in bun-types). Later reads never
 * overwrite a chunk; a `'buffer'` chunk may be a view into a shared pool, as Node's small Buffers
 * are, while `'arraybuffer'` and `'uint8array'` chunks own their memory.
 */
export interface BinaryTypeMap {
  buffer: Buffer;
  arraybuffer: ArrayBuffer;
  uint8array: Uint8Array<ArrayBuffer>;
}

/** Anything `write`/`end` accept: a string is sent as UTF-8, a view as its bytes only. */
export type SocketWriteData = string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/**
 * `1` open, `-2` this side sent FIN and still reads, `-1` closed, `0` connecting. `2` is never
 * returned here; it is declared because bun-types declares it, so Bun code comparing with it compiles.
 */
export type SocketReadyState = -2 | -1 | 0 | 1 | 2;

/**
 * The errors handlers get (and `connect()` rejects with), shaped as Node's system errors: a failed
 * connect has `code` (`'ECONNREFUSED'`, `'ENOTFOUND'`, ...), `errno` (negative), `syscall`,
 * `address` and `port`; a TLS verification error has `code` (`'DEPTH_ZERO_SELF_SIGNED_CERT'`, ...).
 * Each field is optional: not every error has it (nor do values a handler threw, passed to `error`).
 */
export interface SocketError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  /** The name that did not resolve (`ENOTFOUND`, `syscall: 'getaddrinfo'`), as node:net gives it. */
  hostname?: string;
}

// ---- TLS options -----------------------------------------------------------------------------

/** A PEM value `tls.key`/`cert`/`ca` accept: text, bytes, or a lazy `file(path)`. */
export type TLSInput = string | ArrayBufferView | ArrayBuffer | FileRef;

export interface TLSOptions {
  /** Private key(s) in PEM; several key/cert pairs are allowed. */
  key?: TLSInput | TLSInput[];
  /** Certificate chain(s) in PEM. */
  cert?: TLSInput | TLSInput[];
  /** Trusted CA certificate(s); on a client this replaces the public roots. */
  ca?: TLSInput | TLSInput[];
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Server: ask the client for a certificate. */
  requestCert?: boolean;
  /**
   * Server, as `node:tls`: milliseconds (default and `0`: 120000) an accepted connection may take
   * to finish its handshake while `open` waits for it; one that overruns is dropped.
   */
  handshakeTimeout?: number;
  /** Fail the handshake on a certificate that does not verify (default `true`). */
  rejectUnauthorized?: boolean;
  /** Protocol names (as `node:tls`), or the ALPN wire format. */
  ALPNProtocols?: string | string[] | ArrayBufferView | ArrayBuffer;
  /** The name sent in SNI and checked against the server's certificate. */
  serverName?: string;
  /** The `node:tls` spelling of `serverName` (as bun-types declares it); `serverName` wins if both are set. */
  servername?: string;
  /**
   * An OpenSSL cipher list (`'ECDHE-ECDSA-AES128-GCM-SHA256:!CHACHA20'`), read as far as the
   * suites rustls has go; one that selects none of them throws.
   */
  ciphers?: string;
}

// ---- handlers --------------------------------------------------------------------------------

/**
 * A handler's return value is ignored, except a promise: if it rejects, that is treated as a throw
 * (routed to `error`).
 */
export type HandlerResult = unknown;

/** The handlers every table may have; `this` is the socket, which is also the first argument. */
// Function-typed properties, not methods, so that parameters are checked strictly (a method's are
// checked bivariantly: `data(socket, chunk: Buffer)` would pass for a plain Uint8Array). `null` or
// `undefined` means absent.
export interface SocketHandlerBase<Data = unknown> {
  /** The connection is ready (after the TLS handshake, unless there is a `handshake` handler). */
  open?: ((this: Socket<Data>, socket: Socket<Data>) => HandlerResult) | null;
  /** Runs after a `write` that returned fewer bytes than given, once the socket takes more. */
  drain?: ((this: Socket<Data>, socket: Socket<Data>) => HandlerResult) | null;
  /** The peer sent FIN. */
  end?: ((this: Socket<Data>, socket: Socket<Data>) => HandlerResult) | null;
  /** Runs exactly once per socket that opened; `error` is set when it died of one. */
  close?: ((this: Socket<Data>, socket: Socket<Data>, error?: SocketError) => HandlerResult) | null;
  /** Another handler threw (or its promise rejected), or the TLS session failed. */
  error?: ((this: Socket<Data>, socket: Socket<Data>, error: SocketError) => HandlerResult) | null;
  /** The inactivity timer expired; the socket is closed afterwards unless re-armed here. */
  timeout?: ((this: Socket<Data>, socket: Socket<Data>) => HandlerResult) | null;
  /** A client connect failed; the `connect()` promise then rejects with the same error. */
  connectError?: ((this: Socket<Data>, socket: Socket<Data>, error: SocketError) => HandlerResult) | null;
  /** The TLS handshake ended; `authorizationError` is set when verification failed. */
  handshake?:
    | ((this: Socket<Data>, socket: Socket<Data>, success: boolean, authorizationError: SocketError | null) => HandlerResult)
    | null;
}

/** A `data` handler for chunks of type `Chunk`. */
export type SocketDataHandler<Data, Chunk> = (this: Socket<Data>, socket: Socket<Data>, data: Chunk) => HandlerResult;

/** A table with `binaryType: 'buffer'` (the default): chunks are `Buffer`s. */
export interface BufferSocketHandler<Data = unknown> extends SocketHandlerBase<Data> {
  binaryType?: 'buffer';
  data?: SocketDataHandler<Data, Buffer> | null;
}

/** A table with `binaryType: 'arraybuffer'`: chunks are `ArrayBuffer`s. */
export interface ArrayBufferSocketHandler<Data = unknown> extends SocketHandlerBase<Data> {
  binaryType: 'arraybuffer';
  data?: SocketDataHandler<Data, ArrayBuffer> | null;
}

/** A table with `binaryType: 'uint8array'`: chunks are plain `Uint8Array`s (not Buffers). */
export interface Uint8ArraySocketHandler<Data = unknown> extends SocketHandlerBase<Data> {
  binaryType: 'uint8array';
  data?: SocketDataHandler<Data, Uint8Array<ArrayBuffer>> | null;
}

export interface SocketHandlerMap<Data = unknown> {
  buffer: BufferSocketHandler<Data>;
  arraybuffer: ArrayBufferSocketHandler<Data>;
  uint8array: Uint8ArraySocketHandler<Data>;
}

/** A table needs at least `data` or `drain` (a function, not `null`). */
export type SocketHandlerRequired = { data: Function } | { drain: Function };

/**
 * The handler table: one per listener (shared by all its sockets) or per client socket. It needs at
 * least `data` or `drain`. Without the second argument it is the union of the three `binaryType`
 * shapes, told apart by the `binaryType` literal.
 */
export type SocketHandler<Data = unknown, DataBinaryType extends BinaryType = BinaryType> =
  SocketHandlerMap<Data>[DataBinaryType] & SocketHandlerRequired;

// ---- what listen/connect/reload/upgradeTLS take as a table (internal) ----
//
// `BT` is inferred from the table's `binaryType`, so that a `binaryType` of a union type (a
// `BinaryType` variable) or a type parameter still types `data`'s chunk (as the union, or
// `BinaryTypeMap[T]`). When it is not inferred (no `binaryType`, or the Data type argument given
// explicitly: `listen<MyData>({...})`) it is `0`, and the table is `SocketHandler<Data>`, the union
// told apart by the `binaryType` literal.

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/** A table whose `binaryType` is of type `BT` (a literal, a union of them, or a type parameter). */
interface InferredSocketHandler<Data, BT extends BinaryType> extends SocketHandlerBase<Data> {
  binaryType?: BT;
  data?: SocketDataHandler<Data, BinaryTypeMap[BT]> | null;
}
/**
 * The same for a union `BT`, with `data` checked bivariantly, so that a table typed apart as the
 * union of the three shapes (`SocketHandler<Data>`) fits.
 */
interface InferredUnionSocketHandler<Data, BT extends BinaryType> extends SocketHandlerBase<Data> {
  binaryType?: BT;
  data?: { bivariant(this: Socket<Data>, socket: Socket<Data>, data: BinaryTypeMap[BT]): HandlerResult }['bivariant'] | null;
}
type InferredTable<Data, BT extends BinaryType> =
  true extends IsUnion<BT> ? InferredUnionSocketHandler<Data, BT> : InferredSocketHandler<Data, BT>;
interface SocketHandlerTables<Data, BT extends BinaryType | 0> {
  0: SocketHandlerMap<Data>[BinaryType];
  buffer: InferredTable<Data, BT & BinaryType>;
  arraybuffer: InferredTable<Data, BT & BinaryType>;
  uint8array: InferredTable<Data, BT & BinaryType>;
}
/**
 * Where `Data` is inferred from when a handler's `socket` parameter is annotated
 * (`data(socket: Socket<D>, chunk)`): the table above is instantiated early for the chunk type, which
 * fixes its `Data`, so the handlers are here once more with `Data` left open.
 */
interface SocketHandlerDataSite<Data> extends SocketHandlerBase<Data> {
  data?: SocketDataHandler<Data, never> | null;
}
/** The handler table parameter: `SocketHandler<Data>`, or with `BT` inferred from `binaryType`. */
export type SocketHandlerFor<Data, BT extends BinaryType | 0 = 0> = SocketHandlerTables<Data, BT>[BT] &
  // Where BT is inferred from (a conditional type, so it is instantiated along with the table).
  ([BT] extends [unknown] ? { binaryType?: BT | (string & {}) } : never) &
  SocketHandlerDataSite<Data> &
  SocketHandlerRequired;

/** What `reload()` takes: `{ socket: table }` (or the bare table, the other overload). */
export interface SocketReloadOptions<Data = unknown, BT extends BinaryType | 0 = 0> {
  socket: SocketHandlerFor<Data, BT>;
}

// ---- options ---------------------------------------------------------------------------------

export interface SocketOptions<Data = unknown, BT extends BinaryType | 0 = 0> {
  socket: SocketHandlerFor<Data, BT>;
  /** `listener.data`, and what each socket's `data` starts as. */
  data?: Data;
  /** Keep the socket writable after the peer's FIN (default `false`). */
  allowHalfOpen?: boolean;
}

export interface TCPSocketListenOptions<Data = undefined, BT extends BinaryType | 0 = 0> extends SocketOptions<Data, BT> {
  hostname: string;
  /** `0` picks a free port; numeric strings (`"8080"`) are accepted. */
  port: number | string;
  unix?: undefined;
  tls?: TLSOptions | false | null;
  exclusive?: boolean;
  reusePort?: boolean;
  ipv6Only?: boolean;
  backlog?: number;
}

export interface UnixSocketListenOptions<Data = undefined, BT extends BinaryType | 0 = 0> extends SocketOptions<Data, BT> {
  /** A path, or `"\0name"` for a Linux abstract socket. */
  unix: string;
  hostname?: undefined;
  port?: undefined;
  tls?: TLSOptions | false | null;
  exclusive?: boolean;
  backlog?: number;
}

export interface TCPSocketConnectOptions<Data = undefined, BT extends BinaryType | 0 = 0> extends SocketOptions<Data, BT> {
  hostname: string;
  port: number | string;
  unix?: undefined;
  /** `true` verifies against the public roots, as `node:tls` does. */
  tls?: boolean | TLSOptions | null;
  /** Seconds: the inactivity timeout from the start; a connect not open by then fails with ETIMEDOUT. */
  timeout?: number;
  /** Accepted and ignored (a listen option; bun-types declares it on connect too). */
  exclusive?: boolean;
  /** Accepted and ignored (a listen option; bun-types declares it on connect too). */
  reusePort?: boolean;
  /** Accepted and ignored (a listen option; bun-types declares it on connect too). */
  ipv6Only?: boolean;
}

export interface UnixSocketConnectOptions<Data = undefined, BT extends BinaryType | 0 = 0> extends SocketOptions<Data, BT> {
  unix: string;
  hostname?: undefined;
  port?: undefined;
  tls?: boolean | TLSOptions | null;
  /** Seconds: the inactivity timeout from the start; a connect not open by then fails with ETIMEDOUT. */
  timeout?: number;
}

/** `socket.getCipher()` before the handshake, as Bun answers. */
export interface CipherNotNegotiated {
  name: null;
  standardName: null;
  version: null;
}

/** `socket.getCipher()`, as `node:tls` describes it. */
export interface CipherNameAndProtocol {
  /** OpenSSL's name of the suite, e.g. `'TLS_AES_256_GCM_SHA384'`, `'ECDHE-RSA-AES128-GCM-SHA256'`. */
  name: string;
  /** The IANA name, e.g. `'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'`. */
  standardName: string;
  /** `'TLSv1.3'` or `'TLSv1.2'`. */
  version: string;
}

/**
 * `socket.getPeerCertificate()`: the peer's certificate as `node:tls` describes it (the same keys,
 * in the same order, with the same values).
 */
export interface PeerCertificate {
  /**
   * Distinguished-name fields by OpenSSL's short names, e.g. `{ CN: 'localhost', O: '...' }`. As in
   * node:tls, a field that occurs more than once is an array at run time (`OU: ['One', 'Two']`);
   * typed `string` as `@types/node` types node:tls's, so code written for either compiles.
   */
  subject: Record<string, string>;
  issuer: Record<string, string>;
  /** e.g. `'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'`; absent without the extension, `null` when it does not parse. */
  subjectaltname?: string | null;
  /** Authority information access, e.g. `{ 'OCSP - URI': ['http://...'], 'CA Issuers - URI': [...] }`; absent without the extension. */
  infoAccess?: Record<string, string[]> | null;
  /** Whether the certificate is a CA (basic constraints, and key usage allowing certificate signing). */
  ca: boolean;
  /** RSA: the modulus, upper-case hex. */
  modulus?: string;
  /** RSA: the modulus's size; EC: the curve's order's. */
  bits?: number;
  /** RSA: the public exponent, e.g. `'0x10001'`. */
  exponent?: string;
  /** RSA: the DER SubjectPublicKeyInfo; EC: the uncompressed point (`04 || x || y`). */
  pubkey?: Buffer;
  /** EC: OpenSSL's name of the curve, e.g. `'prime256v1'`, `'secp384r1'`. */
  asn1Curve?: string;
  /** EC: the NIST name of the curve when it has one, e.g. `'P-256'`. */
  nistCurve?: string;
  valid_from: string;
  valid_to: string;
  /** SHA-1 of the DER, as colon-separated hex. */
  fingerprint: string;
  /** SHA-256 of the DER, as colon-separated hex. */
  fingerprint256: string;
  /** SHA-512 of the DER, as colon-separated hex. */
  fingerprint512: string;
  /** Extended key usage OIDs, e.g. `['1.3.6.1.5.5.7.3.1']`; absent without the extension. */
  ext_key_usage?: string[];
  /** Upper-case hex, as OpenSSL prints it. */
  serialNumber: string;
  /** The certificate in DER. */
  raw: Buffer;
}

/**
 * `socket.getPeerCertificate(true)`: the certificate and, through `issuerCertificate`, its issuers
 * (from what the peer sent, then from `tls.ca`); a self-issued root is its own `issuerCertificate`.
 */
export interface DetailedPeerCertificate extends PeerCertificate {
  /** Absent when the issuer is not known. */
  issuerCertificate?: DetailedPeerCertificate;
}

/** `socket.upgradeTLS()` options: the connection continues under TLS with these handlers. */
export interface TLSUpgradeOptions<Data = undefined, BT extends BinaryType | 0 = 0> {
  /** Required, as in Bun. Server side: key and cert. Client side: `true` (verify against the public roots) or verification options. */
  tls: TLSOptions | true;
  socket: SocketHandlerFor<Data, BT>;
  data?: Data;
  /** The side of the handshake this end takes; by default an accepted socket serves and a connected one is the client. */
  isServer?: boolean;
  /** Bytes already read from the raw socket that begin the TLS stream (a ClientHello looked at before upgrading): the session reads them first. */
  initialData?: string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer;
}

// ---- sockets and listeners -------------------------------------------------------------------

export interface Socket<Data = undefined> {
  /**
   * Sends now, without buffering: returns the bytes the kernel took (fewer than given means
   * backpressure: keep the rest and send it from `drain`), `0` when nothing fit, `-1` when the
   * socket is closed or ended. Offsets are bytes within `data`.
   */
  write(data: SocketWriteData, byteOffset?: number, byteLength?: number): number;
  /** Sends all of `data` (before the FIN), then half-closes. The byte count, or -1 if already ended or closed. */
  end(data?: SocketWriteData, byteOffset?: number, byteLength?: number): number;
  /** `false` (default): send FIN, keep reading; `true`: stop reading. */
  shutdown(halfClose?: boolean): void;
  /** Reset (RST) now; the `close` handler runs before this returns. */
  terminate(): void;
  /** Graceful close now; the `close` handler runs before this returns. */
  close(): void;
  /** Pushes out anything queued (`end()` data, TLS records). */
  flush(): void;
  /** Inactivity timeout in seconds (`0` disables). */
  timeout(seconds: number): void;
  ref(): this;
  unref(): this;
  /** On a client: its own table; on an accepted socket: its listener's table. */
  reload<BT extends BinaryType | 0 = 0>(options: SocketReloadOptions<Data, BT>): void;
  reload<BT extends BinaryType | 0 = 0>(handlers: SocketHandlerFor<Data, BT>): void;
  /** Stop reading (no `data` until `resume()`). */
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
  /** `initialDelay` in milliseconds. */
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
  /** IP type of service (IPv6: traffic class), 0-255. Returns 0, or a negative errno (as Bun). */
  setTypeOfService(tos: number): number;
  /** The type of service, or a negative errno (`-9`, EBADF, once closed). */
  getTypeOfService(): number;
  /** The file descriptor; `-1` once closed. */
  readonly fd: number;

  /** Per-connection state; starts as the `data` option (`listener.data` for accepted sockets). */
  data: Data;
  readonly readyState: SocketReadyState;
  readonly bytesWritten: number;
  /** The listener of an accepted socket; `undefined` on clients and once closed. */
  readonly listener: TCPSocketListener<Data> | UnixSocketListener<Data> | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly localFamily: 'IPv4' | 'IPv6' | undefined;

  // TLS (on plain sockets, as Bun answers: not authorized, `alpnProtocol` false, `null` TLS version
  // and certificate, `undefined` cipher, server name and keying material).
  /** Whether the peer's certificate verified. */
  readonly authorized: boolean;
  getAuthorizationError(): SocketError | null;
  /** `null` before the handshake, the selected name, or `false` when none was (or on plain sockets). */
  readonly alpnProtocol: string | false | null;
  /** `'TLSv1.3'`, `'TLSv1.2'`; `null` on plain sockets. */
  getTLSVersion(): string | null;
  /** The negotiated cipher (every field `null` before the handshake); `undefined` on plain or closed sockets, as Bun. */
  getCipher(): CipherNameAndProtocol | CipherNotNegotiated | undefined;
  /**
   * The peer's certificate (with `true`, linked to its issuers); `undefined` when it sent none (or
   * not yet) and once closed, as Bun (`node:tls` gives `{}`); `null` on plain sockets.
   */
  getPeerCertificate(detailed: true): DetailedPeerCertificate | null | undefined;
  getPeerCertificate(detailed?: false): PeerCertificate | null | undefined;
  getPeerCertificate(detailed?: boolean): PeerCertificate | null | undefined;
  /** The peer's certificate as a `node:crypto` X509Certificate; `undefined` without one. */
  getPeerX509Certificate(): import('node:crypto').X509Certificate | undefined;
  /** This end's certificate (a server's, a client's own) as `getPeerCertificate()` describes one; `undefined` without one. */
  getCertificate(): PeerCertificate | undefined;
  /** `getCertificate()` as a `node:crypto` X509Certificate. */
  getX509Certificate(): import('node:crypto').X509Certificate | undefined;
  /** `undefined`: rustls resumes sessions by itself and does not export them. */
  getSession(): Buffer | undefined;
  /** Accepted and not applied (see `getSession`). */
  setSession(session: string | ArrayBufferView): void;
  /** `undefined` (rustls does not expose tickets). */
  getTLSTicket(): Buffer | undefined;
  /** `undefined` (rustls does not expose the Finished messages). */
  getTLSFinishedMessage(): Buffer | undefined;
  /** `undefined` (rustls does not expose the Finished messages). */
  getTLSPeerFinishedMessage(): Buffer | undefined;
  /** Client: the name it asked for (SNI); server: the name the client asked for; `undefined` on plain or closed sockets. */
  getServername(): string | undefined;
  /**
   * Client, in `open` with a `handshake` handler (before the handshake): the name sent as SNI and
   * checked against the certificate (`''`: the connect's hostname again). Later, only what
   * `getServername()` reports.
   */
  setServername(name: string): void;
  /** RFC 5705 keying material; throws before the TLS handshake has completed; `undefined` on plain or closed sockets. */
  exportKeyingMaterial(length: number, label: string, context?: ArrayBufferView): Buffer | undefined;
  /**
   * In `open` (with a `handshake` handler, before the handshake starts). Server: whether this
   * connection asks for a client certificate and requires a trusted one. Client: whether a server
   * certificate that does not verify fails the handshake (`rejectUnauthorized`). Later it is recorded only.
   */
  setVerifyMode(requestCert: boolean, rejectUnauthorized: boolean): void;
  /** Whether the handshake resumed an earlier session (`false` on plain sockets). */
  isSessionReused(): boolean;
  /** Client: the key exchange, as `node:tls` gives it; `null` on servers and plain sockets. */
  getEphemeralKeyInfo(): EphemeralKeyInfo | {} | null;
  /** Always `[]` on open TLS sockets (rustls does not report them), `null` once closed, as Bun; `undefined` on plain ones. */
  getSharedSigalgs(): string[] | null | undefined;
  /** `false`: the record size is fixed when the session is made. */
  setMaxSendFragment(size: number): boolean;
  /** A no-op: rustls never renegotiates. */
  disableRenegotiation(): void;
  /** Throws `ERR_TLS_RENEGOTIATION_DISABLED` on TLS sockets (no renegotiation in rustls). */
  renegotiate(): undefined;
  /** STARTTLS: returns `[raw, tls]`; the connection continues under TLS with the new handlers. */
  upgradeTLS<NewData = Data, BT extends BinaryType | 0 = 0>(
    options: TLSUpgradeOptions<NewData, BT>,
  ): [raw: Socket<Data>, tls: Socket<NewData>];

  /** `end()`, and what it returns. */
  [Symbol.dispose](): number;
}

/** `socket.getEphemeralKeyInfo()` on a TLS client, as `node:tls` reports it. */
export interface EphemeralKeyInfo {
  type: 'ECDH';
  name: string;
  size: number;
}

/** What `listener.getsockname(out)` fills in. */
export interface SocketAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}

export interface SocketListener<Data = undefined> {
  /** Stops accepting; `true` also closes every open socket of this listener. Idempotent. */
  stop(closeActiveConnections?: boolean): void;
  ref(): this;
  unref(): this;
  /** Replaces the handler table for existing and future sockets. */
  reload<BT extends BinaryType | 0 = 0>(options: SocketReloadOptions<Data, BT>): void;
  reload<BT extends BinaryType | 0 = 0>(handlers: SocketHandlerFor<Data, BT>): void;
  /** The listening socket's file descriptor; `-1` once stopped. */
  readonly fd: number;
  /** Fills `out` with the bound address (nothing for unix listeners or once stopped). */
  getsockname(out: Partial<SocketAddress>): void;
  /** `options.data`; assignable. Each accepted socket starts with it. */
  data: Data;
  /** `stop(true)`. */
  [Symbol.dispose](): void;
}

/** `Data` defaults to `unknown`, as in bun-types: any listener fits a bare `TCPSocketListener`. */
export interface TCPSocketListener<Data = unknown> extends SocketListener<Data> {
  /** The bound port (the one picked for `port: 0`). */
  readonly port: number;
  /** The hostname given (`"localhost"` stays `"localhost"`). */
  readonly hostname: string;
  readonly unix: undefined;
}

export interface UnixSocketListener<Data = unknown> extends SocketListener<Data> {
  readonly unix: string;
  readonly port: undefined;
  readonly hostname: undefined;
}

// ---- functions -------------------------------------------------------------------------------

// The TCP overloads come last: when no overload matches, tsc reports the last one's error, and TCP
// is the common case.

/** Starts a server, synchronously. Failures (`EADDRINUSE`, ...) throw. */
export function listen<Data = undefined, BT extends BinaryType | 0 = 0>(
  options: UnixSocketListenOptions<Data, BT>,
): UnixSocketListener<Data>;
export function listen<Data = undefined, BT extends BinaryType | 0 = 0>(
  options: TCPSocketListenOptions<Data, BT>,
): TCPSocketListener<Data>;

/** Connects; resolves with the socket after its `open` handler ran, rejects after `connectError`. */
export function connect<Data = undefined, BT extends BinaryType | 0 = 0>(
  options: UnixSocketConnectOptions<Data, BT>,
): Promise<Socket<Data>>;
export function connect<Data = undefined, BT extends BinaryType | 0 = 0>(
  options: TCPSocketConnectOptions<Data, BT>,
): Promise<Socket<Data>>;

// ---- ArrayBufferSink -------------------------------------------------------------------------

export interface ArrayBufferSinkOptions {
  /** `flush()` returns the bytes written since the last flush (instead of their count). */
  stream?: boolean;
  /** Bytes to preallocate. */
  highWaterMark?: number;
  /** `flush()`/`end()` return a `Uint8Array` instead of an `ArrayBuffer`. */
  asUint8Array?: boolean;
}

/** What `end()` (and `flush()` with `stream: true`) returns under `Options`. */
export type ArrayBufferSinkBytes<Options extends ArrayBufferSinkOptions> = Options extends { asUint8Array: true }
  ? Uint8Array<ArrayBuffer>
  : Options extends { asUint8Array?: false | null | undefined; [other: string]: unknown }
    ? ArrayBuffer
    : ArrayBuffer | Uint8Array<ArrayBuffer>;

/** What `flush()` returns under `Options`: the bytes with `stream: true`, else their count. */
export type ArrayBufferSinkFlush<Options extends ArrayBufferSinkOptions> = Options extends { stream: true }
  ? ArrayBufferSinkBytes<Options>
  : Options extends { stream?: false | null | undefined; [other: string]: unknown }
    ? number
    : number | ArrayBufferSinkBytes<Options>;

type SinkFlag<Options, Key extends 'stream' | 'asUint8Array'> = Options extends { [K in Key]: true }
  ? true
  : Options extends { [K in Key]?: false | null | undefined } & { [other: string]: unknown }
    ? false | null | undefined
    : boolean | null | undefined;
type SinkFlagField<Key extends 'stream' | 'asUint8Array', Flag> = [Flag] extends [true] ? { [K in Key]: true } : { [K in Key]?: Flag };

/** What `start()` takes on an `ArrayBufferSink<Options>`: options of the same mode (`stream`, `asUint8Array`). */
export type ArrayBufferSinkStartOptions<Options extends ArrayBufferSinkOptions> = { highWaterMark?: number } &
  SinkFlagField<'stream', SinkFlag<Options, 'stream'>> &
  SinkFlagField<'asUint8Array', SinkFlag<Options, 'asUint8Array'>>;

/**
 * A growable byte buffer that coalesces many small writes into one. `Options` is the mode the
 * sink is in, taken from the constructor's options, so that `flush()` and `end()` are typed by
 * it: `new ArrayBufferSink({ stream: true, asUint8Array: true }).flush()` is a
 * `Uint8Array<ArrayBuffer>`, `new ArrayBufferSink({ stream: true }).flush()` an `ArrayBuffer`,
 * `new ArrayBufferSink({}).flush()` a `number`. Without constructor options (the mode is then
 * set by `start()`) they are the union, as in bun-types, unless the mode is given as the type
 * argument: `new ArrayBufferSink<{ stream: true; asUint8Array: true }>()`, whose `start()` then
 * takes options of that mode only.
 */
export class ArrayBufferSink<const Options extends ArrayBufferSinkOptions = ArrayBufferSinkOptions> {
  constructor(options?: Options | null);
  /** Empties the sink and sets its mode (a mode that matches the sink's type). */
  start(
    ...options: {} extends ArrayBufferSinkStartOptions<Options>
      ? [options?: ArrayBufferSinkStartOptions<Options> | null]
      : [options: ArrayBufferSinkStartOptions<Options>]
  ): void;
  /** Appends `chunk`; returns its byte length. */
  write(chunk: SocketWriteData): number;
  /** With `stream: true`, the bytes since the last flush; otherwise how many bytes were written since. */
  flush(): ArrayBufferSinkFlush<Options>;
  /** What the sink holds (with `stream: true`, what came after the last flush; without, everything written); empty afterwards. */
  end(): ArrayBufferSinkBytes<Options>;
}

// ---- file ------------------------------------------------------------------------------------

/** A lazy file reference for `tls.key`, `tls.cert` and `tls.ca`, read when the options are used. */
export interface FileRef {
  readonly name: string;
  bytes(): Buffer;
  text(): string;
}

/** A lazy reference to the file at `path`; a missing file throws `ENOENT` when it is read. */
export function file(path: string | URL): FileRef;

// Only what is marked `export` above is exported (the helper types are not).
export {};
