// Type definitions for node-bun-tcp: Bun's TCP socket API for Node.js.
/// <reference types="node" />

export type BinaryType = 'buffer' | 'arraybuffer' | 'uint8array';

/** What a `data` handler receives for each `binaryType`. */
export interface BinaryTypeMap {
  buffer: Buffer;
  arraybuffer: ArrayBuffer;
  uint8array: Uint8Array;
}

/** Anything `write`/`end` accept. */
export type SocketWriteData = string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/** A value `tls.key`/`cert`/`ca` accept. */
export type TLSInput = string | ArrayBufferView | ArrayBuffer | FileRef;

export interface TLSOptions {
  key?: TLSInput | TLSInput[];
  cert?: TLSInput | TLSInput[];
  ca?: TLSInput | TLSInput[];
  passphrase?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string | string[] | ArrayBufferView | ArrayBuffer;
  serverName?: string;
}

export interface SocketHandler<Data = undefined, DataBinaryType extends BinaryType = 'buffer'> {
  open?(socket: Socket<Data>): void | Promise<void>;
  data?(socket: Socket<Data>, data: BinaryTypeMap[DataBinaryType]): void | Promise<void>;
  drain?(socket: Socket<Data>): void | Promise<void>;
  /** The peer sent FIN. */
  end?(socket: Socket<Data>): void | Promise<void>;
  /** Runs exactly once per socket that opened; `error` is set when it died of one. */
  close?(socket: Socket<Data>, error?: Error): void | Promise<void>;
  /** A handler threw (or its promise rejected). */
  error?(socket: Socket<Data>, error: Error): void | Promise<void>;
  timeout?(socket: Socket<Data>): void | Promise<void>;
  connectError?(socket: Socket<Data>, error: Error): void | Promise<void>;
  handshake?(socket: Socket<Data>, success: boolean, authorizationError: Error | null): void;
  binaryType?: DataBinaryType;
}

export interface SocketOptions<Data = undefined, DataBinaryType extends BinaryType = 'buffer'> {
  socket: SocketHandler<Data, DataBinaryType>;
  data?: Data;
  allowHalfOpen?: boolean;
}

export interface TCPSocketListenOptions<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>
  extends SocketOptions<Data, DataBinaryType> {
  hostname: string;
  port: number | string;
  tls?: TLSOptions | false | null;
  exclusive?: boolean;
  reusePort?: boolean;
  ipv6Only?: boolean;
  backlog?: number;
}

export interface UnixSocketListenOptions<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>
  extends SocketOptions<Data, DataBinaryType> {
  unix: string;
  tls?: TLSOptions | false | null;
  backlog?: number;
}

export interface TCPSocketConnectOptions<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>
  extends SocketOptions<Data, DataBinaryType> {
  hostname: string;
  port: number | string;
  tls?: boolean | TLSOptions | null;
}

export interface UnixSocketConnectOptions<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>
  extends SocketOptions<Data, DataBinaryType> {
  unix: string;
  tls?: boolean | TLSOptions | null;
}

export interface Socket<Data = undefined> {
  /** Bytes the kernel took now (fewer means backpressure: resend the rest on `drain`); -1 when closed or ended. */
  write(data: SocketWriteData, byteOffset?: number, byteLength?: number): number;
  /** Writes `data` (all of it, before the FIN), then half-closes. -1 if already ended or closed. */
  end(data?: SocketWriteData, byteOffset?: number, byteLength?: number): number;
  /** `false`: send FIN; `true`: stop reading. */
  shutdown(halfClose?: boolean): void;
  /** Reset (RST) now; the `close` handler runs before this returns. */
  terminate(): void;
  /** Graceful close now; the `close` handler runs before this returns. */
  close(): void;
  flush(): void;
  /** Inactivity timeout in seconds (0 disables). */
  timeout(seconds: number): void;
  ref(): this;
  unref(): this;
  reload(handlers: SocketHandler<Data, BinaryType> | { socket: SocketHandler<Data, BinaryType> }): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
  /** `initialDelay` in milliseconds. */
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
  data: Data;
  /** 1 open, -2 this side sent FIN and still reads, -1 closed, 0 connecting. */
  readonly readyState: 0 | 1 | -1 | -2;
  readonly bytesWritten: number;
  readonly listener: SocketListener<Data> | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly localFamily: 'IPv4' | 'IPv6' | undefined;
  readonly authorized: boolean;
  readonly alpnProtocol: string | false | null;
  getTLSVersion(): string | null;
  getAuthorizationError(): Error | null;
  [Symbol.dispose](): void;
}

export interface SocketListener<Data = undefined> {
  /** Stops accepting; `true` also closes every open socket of this listener. */
  stop(closeActiveConnections?: boolean): void;
  ref(): this;
  unref(): this;
  reload(options: { socket: SocketHandler<Data, BinaryType> } | SocketHandler<Data, BinaryType>): void;
  data: Data;
  [Symbol.dispose](): void;
}

export interface TCPSocketListener<Data = undefined> extends SocketListener<Data> {
  readonly port: number;
  readonly hostname: string;
  readonly unix: undefined;
}

export interface UnixSocketListener<Data = undefined> extends SocketListener<Data> {
  readonly unix: string;
  readonly port: undefined;
  readonly hostname: undefined;
}

export function listen<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>(
  options: TCPSocketListenOptions<Data, DataBinaryType>,
): TCPSocketListener<Data>;
export function listen<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>(
  options: UnixSocketListenOptions<Data, DataBinaryType>,
): UnixSocketListener<Data>;

export function connect<Data = undefined, DataBinaryType extends BinaryType = 'buffer'>(
  options: TCPSocketConnectOptions<Data, DataBinaryType> | UnixSocketConnectOptions<Data, DataBinaryType>,
): Promise<Socket<Data>>;

export interface ArrayBufferSinkOptions {
  stream?: boolean;
  highWaterMark?: number;
  asUint8Array?: boolean;
}

export class ArrayBufferSink {
  constructor(options?: ArrayBufferSinkOptions);
  start(options?: ArrayBufferSinkOptions): void;
  write(chunk: string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number;
  /** With `stream: true`, the bytes since the last flush; otherwise the buffered byte count. */
  flush(): number | Uint8Array | ArrayBuffer;
  end(): ArrayBuffer | Uint8Array;
}

/** A lazy file reference for `tls.key`, `tls.cert` and `tls.ca`. */
export interface FileRef {
  readonly name: string;
  bytes(): Buffer;
  text(): string;
}

export function file(path: string | URL): FileRef;
