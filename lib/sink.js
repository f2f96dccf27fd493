'use strict';
// ArrayBufferSink: a growable byte buffer for coalescing many small writes into one.
const { invalidArgType } = require('./errors');
const { validateObject, hasDetachedBytes } = require('./options');

class ArrayBufferSink {
  constructor(options) {
    this._buf = new Uint8Array(0);
    this._len = 0;
    this._stream = false;
    this._asUint8Array = false;
    this._sinceFlush = 0;
    if (options != null) this.start(options);
  }

  get [Symbol.toStringTag]() {
    return 'ArrayBufferSink'; // as Bun's
  }

  /** `{ stream, highWaterMark, asUint8Array }` (null: none, as Bun takes it); starts empty. */
  start(options) {
    if (options == null) options = {};
    validateObject(options, 'options');
    const { stream, highWaterMark, asUint8Array } = options;
    if (highWaterMark !== undefined && (typeof highWaterMark !== 'number' || !(highWaterMark >= 0))) {
      throw invalidArgType('options.highWaterMark', 'a non-negative number', highWaterMark);
    }
    this._stream = !!stream;
    this._asUint8Array = !!asUint8Array;
    // A hint for the first buffer, not a promise: a huge one must not reserve gigabytes up front.
    this._buf = new Uint8Array(Math.min(Math.floor(highWaterMark || 0), 1 << 20));
    this._len = 0;
    this._sinceFlush = 0;
  }

  /** Appends `chunk` (string or binary); returns its byte length. */
  write(chunk) {
    let bytes;
    if (hasDetachedBytes(chunk)) {
      throw invalidArgType('chunk', 'a string, ArrayBuffer or ArrayBufferView (not detached)', chunk);
    }
    if (typeof chunk === 'string') bytes = Buffer.from(chunk, 'utf8');
    else if (ArrayBuffer.isView(chunk)) bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (chunk instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && chunk instanceof SharedArrayBuffer)) {
      bytes = new Uint8Array(chunk);
    } else {
      throw invalidArgType('chunk', 'of type string or an instance of ArrayBuffer or ArrayBufferView', chunk);
    }
    const need = this._len + bytes.length;
    if (need > this._buf.length) {
      const grown = new Uint8Array(Math.max(need, this._buf.length * 2, 64));
      grown.set(this._buf.subarray(0, this._len));
      this._buf = grown;
    }
    this._buf.set(bytes, this._len);
    this._len = need;
    this._sinceFlush += bytes.length;
    return bytes.length;
  }

  _take() {
    const out = this._buf.slice(0, this._len);
    this._len = 0;
    this._sinceFlush = 0;
    return this._asUint8Array ? out : out.buffer;
  }

  /**
   * With `stream: true`, the bytes written since the last flush (and the sink lets go of them);
   * otherwise how many bytes were written since the last flush, as Bun documents it (its
   * implementation returns 0), and the bytes stay for `end()`.
   */
  flush() {
    if (!this._stream) {
      const written = this._sinceFlush;
      this._sinceFlush = 0;
      return written;
    }
    this._sinceFlush = 0;
    return this._take();
  }

  /** Everything not yet flushed; the sink is empty afterwards. */
  end() {
    return this._take();
  }
}

module.exports = { ArrayBufferSink };
