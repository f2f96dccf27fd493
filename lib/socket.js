'use strict';
// The Socket that handlers receive. Writes go straight to the kernel from here (binding.write);
// everything that arrives comes through lib/dispatch.js into the `_on*` methods below.
const util = require('node:util');
const binding = require('./binding');
const registry = require('./registry');
const { invoke, invokeOpen, setUp, barrier, afterPromiseJobs } = require('./handlers');
const { reloadTable, writeArgs, MAX_TIMER_MS } = require('./options');
const { chunkOf } = require('./chunk');
const { invalidArgType, invalidThis, outOfRange, systemError, illegalConstructor } = require('./errors');
const { guard } = require('./brand');

// readyState values, as Bun reports them.
const CONNECTING = 0;
const OPEN = 1;
const ENDED = -2; // this side sent FIN (or will, once `end()` data is out); still reading
const CLOSED = -1;

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');
const ERRNO = require('node:os').constants.errno;
const ETIMEDOUT = -ERRNO.ETIMEDOUT;
const EPIPE = -ERRNO.EPIPE;
const ECONNRESET = -ERRNO.ECONNRESET;
const EPROTO = -ERRNO.EPROTO;
const EBADF = -ERRNO.EBADF;
/** binding.write's answer for a range outside the view (src/api/socket.rs, OUT_OF_VIEW). */
const OUT_OF_VIEW = -2147483648;

/** A view whose byteLength or byteOffset getter lied: its bytes are not where it said. */
function outOfView(view) {
  return outOfRange('data', `a range within the view's ${view.buffer ? view.buffer.byteLength : 0} bytes`, view.byteLength);
}

class Socket {
  /** Marks real sockets, for the `this` checks (brand.js). */
  #brand = true;

  static _is(value) {
    return typeof value === 'object' && value !== null && #brand in value;
  }

  constructor(token, id, owner, listener, data, allowHalfOpen, state) {
    illegalConstructor(token);
    this._id = id;
    /** Whose handler table applies: the listener for accepted sockets, the socket for clients. */
    this._owner = owner || this;
    this._handlers = null;
    this._listener = listener;
    this.data = data;
    this._state = state;
    this._allowHalfOpen = allowHalfOpen;
    this._refd = true;
    registry.ref();
    /** The part of `end(data)` the kernel has not taken yet; FIN follows it. */
    this._pending = null;
    /** A process ref taken while `_pending` waits (the socket itself may be unref'd). */
    this._pendingHeld = false;
    /** A process ref taken while an unref'd TLS socket's session holds records write() accepted. */
    this._recordsHeld = false;
    this._drainArmed = false;
    this._userDrain = false;
    this._peerEnded = false;
    this._paused = false;
    this._held = null;
    this._delivering = false; // a delivery of held events is under way (_deliverHeld)
    this._ranIn = -1; // the promise-job epoch its last handler ran in (handlers.js)
    this._setUpIn = -1; // ... and its open or handshake handler
    this._forceHeld = false; // ... and goes on while paused (a reset, _onError)
    this._handshakeTimer = false; // the listener's handshake timeout is armed (_armHandshakeTimeout)
    this._timeoutArmed = false; // timeout(n > 0) armed the inactivity timer, not expired since
    this._addrs = null;
    /** A client's pending connect: `{ resolve, reject, address, addresses, port }`. */
    this._settle = null;
    /** The promise connect() returned, until it settles (see _failConnect). */
    this._settlePromise = null;
    this._connectTimer = null;
    this._connectTimeout = 0;
    this._client = false;
    this._host = undefined;
    /** `open` ran, so `close` will. */
    this._opened = false;
    /** A write failed (reset, ...): the error `close` gets, whatever the loop reports after it. */
    this._writeError = null;
    /** The TLS failure being reported: a close() inside its `error` or `handshake` handler closes with it. */
    this._fatal = null;
    this._failedWhileOpen = false;
    // TLS: the session's verdict, set when the handshake ends.
    this._tls = false;
    this._handshook = false;
    this._wroteInHandshake = false; // a close() then lets the handshake finish (release())
    this._closing = null; // the flags of a close whose handshake handler runs (_destroy)
    this._authorized = false;
    this._authError = null;
    this._servername = undefined;
    this._helloHeld = false; // a connect()ed TLS client's, until its hello goes (connect.js)
    this._raw = null; // the socket upgradeTLS() took the connection from: its close comes with ours
    this._requestCert = undefined;
    this._bytesWritten = 0; // read-only as `bytesWritten`, as Bun's
    if (id !== 0) registry.store(registry.sockets, this);
  }

  _table() {
    return this._owner._handlers;
  }

  get readyState() {
    // A failed write ends writing at once, but the socket is still open (not half-closed by
    // this side) until its close runs on the next tick.
    return this._state === ENDED && this._failedWhileOpen ? OPEN : this._state;
  }

  get listener() {
    return this._state === CLOSED ? undefined : this._listener;
  }

  // ---- writing ------------------------------------------------------------------------------

  write(data, byteOffset, byteLength) {
    if (typeof this !== 'object' || this === null || !(#brand in this)) throw invalidThis('Socket');
    // The common call, a whole non-empty Buffer/Uint8Array or a string, skips the general checks.
    if (byteOffset === undefined && byteLength === undefined) {
      // isView first: a Proxy of a Uint8Array passes instanceof but has no byteLength of its own.
      if (ArrayBuffer.isView(data) && data instanceof Uint8Array && data.byteLength > 0) {
        return this._state === OPEN ? this._send(data, 0, data.byteLength) : -1;
      }
      if (typeof data === 'string') return this._state === OPEN ? this._send(data, 0, -1) : -1;
    }
    const args = writeArgs(data, byteOffset, byteLength);
    if (this._state !== OPEN) return -1;
    return this._send(args.view, args.offset, args.length);
  }

  /** Sends now; a short count arms `drain`. Returns -1 when the connection has failed. */
  _send(view, offset, length) {
    if (this._closing !== null) return -1; // a handshake handler inside the close (_destroy)
    let n;
    if (length === -1) {
      if (view.length === 0) return 0;
      n = binding.writeString(this._id, view);
      // Fewer bytes than characters is short for sure; otherwise compare with the UTF-8 length.
      if (n >= 0) length = n < view.length ? view.length : Buffer.byteLength(view);
    } else {
      if (length === 0) return 0;
      n = binding.write(this._id, view, offset, length);
    }
    if (n < 0) {
      if (n === OUT_OF_VIEW) throw outOfView(view);
      return this._writeFailed(n);
    }
    this._bytesWritten += n;
    if (n > 0 && this._handshakePending()) this._wroteInHandshake = true;
    if (n < length) {
      this._userDrain = true;
      this._armDrain();
    }
    if (!this._refd && this._tls) this._holdForRecords();
    return n;
  }

  /**
   * What write() accepted is delivered even when nothing else keeps the process alive, as
   * node:net's pending writes are: queued end() data holds the process (`_setPending`), and so do
   * the records an unref'd TLS socket's session holds, until the loop has written them (drain).
   */
  _setPending(bytes) {
    this._pending = bytes;
    if (bytes && !this._pendingHeld) {
      this._pendingHeld = true;
      registry.ref();
    } else if (!bytes && this._pendingHeld) {
      this._pendingHeld = false;
      registry.unref();
    }
  }

  _holdForRecords() {
    if (this._recordsHeld || this._state === CLOSED) return;
    if (!binding.tlsPendingRecords(this._id)) return;
    this._recordsHeld = true;
    registry.ref();
    this._armDrain();
  }

  _releaseHolds() {
    this._setPending(null);
    if (this._recordsHeld) {
      this._recordsHeld = false;
      registry.unref();
    }
  }

  _armDrain() {
    if (!this._drainArmed) {
      this._drainArmed = true;
      binding.wantDrain(this._id);
    }
  }

  _writeFailed(errno) {
    this._failedWhileOpen = this._state === OPEN;
    this._state = ENDED;
    this._setPending(null);
    if (errno === EPROTO && this._tls) {
      // The TLS session failed (the peer's fatal alert, a bad record): the loop has queued that
      // error's event, which runs `error` and `close` with it. Should it not come, close anyway.
      setTimeout(() => this._destroy(systemError('write', errno), false), 1000).unref();
      return -1;
    }
    // EPIPE on a socket this side never shut down is the kernel's second word for a reset whose
    // ECONNRESET the loop's read took first: close gets ECONNRESET, as after any peer reset.
    if (errno === EPIPE && this._failedWhileOpen) errno = ECONNRESET;
    const err = systemError('write', errno);
    // The send took the socket's error; the read side may now see a plain EOF. Whatever event
    // comes first, `close` gets this error.
    this._writeError = err;
    process.nextTick(() => this._destroy(err, false));
    return -1;
  }

  end(data, byteOffset, byteLength) {
    const args = data === undefined || data === null ? null : writeArgs(data, byteOffset, byteLength);
    if (this._state !== OPEN || this._closing !== null) return -1;
    let count = 0;
    if (args) {
      let { view, offset, length } = args;
      if (length === -1) {
        view = Buffer.from(view, 'utf8');
        length = view.length;
      }
      count = length;
      if (length > 0) {
        const n = binding.write(this._id, view, offset, length);
        if (n === OUT_OF_VIEW) throw outOfView(view);
        if (n < 0) return this._writeFailed(n);
        this._bytesWritten += n;
        if (n > 0 && this._handshakePending()) this._wroteInHandshake = true;
        if (n < length) {
          // Nothing is dropped: the rest goes out before the FIN.
          this._setPending(Buffer.from(new Uint8Array(view.buffer, view.byteOffset + offset + n, length - n)));
          this._armDrain();
        }
      }
    }
    this._state = ENDED;
    if (!this._pending) binding.shutdown(this._id, false);
    if (!this._refd && this._tls) this._holdForRecords();
    this._maybeFinish();
    return count;
  }

  /** Sends what `end()` left queued; true once all of it (and the FIN) is out. */
  _flushPending() {
    const pending = this._pending;
    const n = binding.write(this._id, pending, 0, pending.length);
    if (n < 0) {
      this._writeFailed(n);
      return false;
    }
    this._bytesWritten += n;
    if (n < pending.length) {
      this._pending = pending.subarray(n);
      this._armDrain();
      return false;
    }
    this._setPending(null);
    binding.shutdown(this._id, false);
    if (!this._refd && this._tls) this._holdForRecords();
    this._maybeFinish();
    return true;
  }

  flush() {
    if (this._state !== CLOSED && this._pending) this._flushPending();
  }

  /** Both directions are finished: close. */
  _maybeFinish() {
    if (this._state !== ENDED) return;
    // The peer's FIN came while paused and waits alone (nothing unread before it): now that this
    // side has ended too, nothing more can be said, so it is delivered, and the socket closes.
    const held = this._held;
    if (this._paused && !this._peerEnded && held !== null && held.length === 1 && held[0][0] === 'end') {
      this._held = null;
      return this._deliverEnd();
    }
    if (!this._pending && this._peerEnded) this._destroy(undefined, false);
  }

  shutdown(halfClose = false) {
    if (this._state === CLOSED || this._state === CONNECTING) return;
    if (halfClose) {
      binding.shutdown(this._id, true);
      return;
    }
    if (this._state !== OPEN) return;
    this._state = ENDED;
    if (!this._pending) binding.shutdown(this._id, false);
    this._maybeFinish();
  }

  close() {
    this._destroy(undefined, false);
  }

  terminate() {
    this._destroy(undefined, true);
  }

  /** `end()`, and what it returns (as in Bun). */
  [dispose]() {
    return this.end();
  }

  /** Closes once: the `close` handler runs before this returns; then the native side lets go. */
  _destroy(err, reset, abandonHandshake = false) {
    if (this._state === CLOSED) return;
    if (!err && this._writeError) err = this._writeError;
    if (!err && this._fatal) err = this._fatal;
    // Closing on a held `end` while the reset that followed it is held too: the close is that
    // error's, not a clean one.
    if (!err && this._held) {
      const held = this._held.find((event) => event[0] === 'error');
      if (held) err = held[1];
    }
    // A close from the handler below keeps this one's reset and its giving up on the handshake.
    if (this._closing) {
      reset = reset || this._closing.reset;
      abandonHandshake = abandonHandshake || this._closing.abandonHandshake;
    } else if (this._opened && this._handshakePending() && this._table().handshake) {
      // A handshake this side cuts short (close(), terminate(), stop(true), a timeout) ends
      // unsuccessfully, as in Bun: `handshake(s, false, err)` runs before `close`, as when the
      // peer leaves during it. Not when the close lets it finish so that what was written
      // during it goes out (see release()): its outcome is not known yet.
      const finishes = !reset && !abandonHandshake && (this._wroteInHandshake || !!this._pending);
      if (!finishes) {
        const failure = err || disconnected(this);
        this._handshook = true;
        this._authorized = false;
        this._authError = failure;
        this._closing = { reset: !!reset, abandonHandshake };
        try {
          invoke(this, this._table().handshake, false, failure);
        } finally {
          this._closing = null;
        }
        if (this._state === CLOSED) return; // the handler closed it
      }
    }
    const opened = this._opened;
    this._state = CLOSED;
    registry.remove(registry.sockets, this);
    this._setRef(false);
    if (this._listener) this._listener._sockets.delete(this);
    const pending = this._pending;
    this._pending = null; // its hold (_pendingHeld) goes after release() took its own
    this._held = null;
    // What end() queued still goes out (not on a reset): counted now, as node:net counts the
    // bytes it has queued.
    if (pending && !reset) this._bytesWritten += pending.length;
    // The connection is let go before `close` runs, as node:net's is closed before its 'close':
    // FIN (and a TLS session's close_notify) are out even when the handler exits the process.
    // Queued `end()` data (and a TLS session's records) still go out; the process stays alive for
    // them until FLUSHED (a hold of its own, taken before ours go).
    try {
      registry.release(this._id, !!reset, pending || undefined, abandonHandshake);
    } finally {
      try {
        // The socket an upgradeTLS() took the connection from opened too: its `close` runs (once)
        // as the connection closes, just before this one's, as in Bun.
        const raw = this._raw;
        if (raw) {
          this._raw = null;
          const onRawClose = raw._table().close;
          if (onRawClose) invoke(raw, onRawClose, err);
        }
        const onClose = this._table().close;
        if (opened && onClose) invoke(this, onClose, err);
      } finally {
        this._releaseHolds();
      }
    }
  }

  // ---- flow control and options ---------------------------------------------------------------

  timeout(seconds) {
    // A no-op once closed, whatever the argument, as Bun's (so is a clean-up's bare timeout()).
    if (this._state === CLOSED) return;
    if (typeof seconds !== 'number') throw invalidArgType('seconds', 'of type number', seconds);
    if (!Number.isFinite(seconds) || seconds < 0) throw outOfRange('seconds', 'a finite number >= 0', seconds);
    this._timeoutArmed = seconds > 0;
    binding.setTimeout(this._id, seconds * 1000);
  }

  pause() {
    if (this._state === CLOSED || this._paused) return;
    this._paused = true;
    binding.pause(this._id);
  }

  resume() {
    if (this._state === CLOSED || !this._paused) return;
    this._paused = false;
    // One delivery at a time: a second would run ahead of the first's promise jobs.
    if (this._held && !this._delivering) {
      this._delivering = true;
      queueMicrotask(() => this._deliverHeld());
    }
    binding.resume(this._id);
  }

  /**
   * Events that arrived while paused, in order; with `_forceHeld` even while paused (a reset: what
   * came before it is delivered, then the socket closes). `_delivering` while under way, including
   * while it waits for a handler's promise jobs.
   */
  _deliverHeld() {
    this._delivering = true;
    let ran = false;
    while (this._held && this._held.length > 0 && (this._forceHeld || !this._paused) && this._state !== CLOSED) {
      // Before a FIN (and its automatic close) or a reset, the promise jobs of the `data`
      // handlers before it, as between events of a batch.
      if (ran && this._held[0][0] !== 'data') return afterPromiseJobs(() => this._deliverHeld());
      const [kind, value] = this._held.shift();
      if (kind === 'data') {
        this._deliverData(chunkOf(value, 0, value.length, this._table().binaryType));
        ran = true;
      } else if (kind === 'end') this._deliverEnd();
      else this._destroy(value, false);
      if (barrier.raised) {
        // A handler returned a promise: its jobs run (a rejection reaches `error`) before the
        // next held event, as between events of a batch (dispatch.js).
        barrier.raised = false;
        afterPromiseJobs(() => this._deliverHeld());
        return;
      }
    }
    this._delivering = false;
    if (this._held && this._held.length === 0) this._held = null;
  }

  _holding() {
    return this._paused || this._held !== null;
  }

  _hold(kind, value) {
    (this._held || (this._held = [])).push([kind, value]);
  }

  ref() {
    if (this._state !== CLOSED) this._setRef(true);
    return this;
  }

  unref() {
    if (this._state !== CLOSED) this._setRef(false);
    if (this._tls && this._state !== CLOSED) this._holdForRecords();
    return this;
  }

  _setRef(on) {
    if (on === this._refd) return;
    this._refd = on;
    if (on) registry.ref();
    else registry.unref();
  }

  reload(options) {
    const table = reloadTable(options);
    // A closed socket has no listener any more (socket.listener is undefined): a no-op, as Bun.
    if (this._state === CLOSED) return;
    if (this._owner === this) this._handlers = table;
    else this._owner._setHandlers(table);
  }

  setNoDelay(noDelay = true) {
    if (this._state === CLOSED) return false;
    return binding.setNoDelay(this._id, !!noDelay);
  }

  setKeepAlive(enable = false, initialDelay = 0) {
    // Validated as Bun does (NaN is 0), in milliseconds up to the largest timer.
    if (typeof initialDelay !== 'number') throw invalidArgType('initialDelay', 'of type number', initialDelay);
    if (initialDelay === initialDelay) {
      if (initialDelay < 0 || initialDelay > MAX_TIMER_MS) throw outOfRange('initialDelay', `>= 0 and <= ${MAX_TIMER_MS}`, initialDelay);
      if (!Number.isInteger(initialDelay)) throw invalidArgType('initialDelay', 'of type integer', initialDelay);
    }
    if (this._state === CLOSED) return false;
    return binding.setKeepAlive(this._id, !!enable, initialDelay || 0);
  }

  /** Bun's extra: the IP type-of-service byte. 0, or a negative errno (as Bun: -EBADF once closed). */
  setTypeOfService(tos = 0) {
    if (typeof tos !== 'number') throw invalidArgType('tos', 'of type number', tos);
    if (!Number.isInteger(tos)) throw invalidArgType('tos', 'of type integer', tos);
    if (tos < 0 || tos > 255) throw outOfRange('tos', '>= 0 and <= 255', tos);
    if (this._state === CLOSED) return EBADF;
    return binding.setTypeOfService(this._id, tos);
  }

  getTypeOfService() {
    if (this._state === CLOSED) return EBADF;
    return binding.getTypeOfService(this._id);
  }

  /** The file descriptor (Bun's extra), -1 once closed. */
  get fd() {
    if (this._state === CLOSED || this._state === CONNECTING) return -1;
    return binding.socketFd(this._id);
  }

  // ---- addresses ------------------------------------------------------------------------------

  _addr(peer) {
    if (this._addrs === null) this._addrs = [undefined, undefined];
    const i = peer ? 0 : 1;
    if (this._addrs[i] === undefined && this._state !== CLOSED && this._state !== CONNECTING) {
      this._addrs[i] = binding.socketAddress(this._id, peer) || null;
    }
    return this._addrs[i] || null;
  }

  get remoteAddress() {
    const a = this._addr(true);
    return a ? a[0] : undefined;
  }

  get remotePort() {
    const a = this._addr(true);
    return a ? Number(a[1]) : undefined;
  }

  get remoteFamily() {
    const a = this._addr(true);
    return a ? a[2] : undefined;
  }

  get localAddress() {
    const a = this._addr(false);
    return a ? a[0] : undefined;
  }

  get localPort() {
    const a = this._addr(false);
    return a ? Number(a[1]) : undefined;
  }

  get localFamily() {
    const a = this._addr(false);
    return a ? a[2] : undefined;
  }

  /** The sum of the counts write() and end() accepted. */
  get bytesWritten() {
    return this._bytesWritten;
  }

  /** `[object TLSSocket]` / `[object TCPSocket]`, as Bun's. */
  get [Symbol.toStringTag]() {
    return Socket._is(this) && this._tls ? 'TLSSocket' : 'TCPSocket';
  }

  /** `{}`, as Bun's (whose state is not in own properties): the internals are not data to log. */
  toJSON() {
    return {};
  }

  [util.inspect.custom](depth, options, inspect) {
    // An object made from a socket (Object.create(socket)) is not one: shown as an empty Socket.
    if (!Socket._is(this)) return 'Socket {}';
    const shown = {
      readyState: this._state,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      localAddress: this.localAddress,
      localPort: this.localPort,
      bytesWritten: this.bytesWritten,
      tls: this._tls,
      data: this.data,
    };
    return `Socket ${inspect(shown, { ...options, depth: options.depth == null ? null : options.depth - 1 })}`;
  }

  // ---- events from the loop thread (lib/dispatch.js) ------------------------------------------

  _onOpen() {
    this._state = OPEN;
    this._opened = true;
    // The application has the socket now: its own timeout(), if any, takes over.
    if (this._handshakeTimer) {
      this._handshakeTimer = false;
      binding.setTimeout(this._id, 0);
    }
    const onOpen = this._table().open;
    const failed = () => this._destroy(undefined, false);
    if (onOpen && !invokeOpen(this, onOpen, failed)) failed();
  }

  /** A client's connect succeeded: `open`, then the promise resolves with this socket. */
  _onConnected() {
    // Under TLS without a `handshake` handler, `open` waits for the handshake.
    if (this._tls && !this._handshook && !this._table().handshake) return this._sendHello();
    const settle = this._settle;
    this._settle = null;
    this._settlePromise = null;
    if (this._connectTimer) {
      // Connected in time: the connect timeout goes on as the inactivity timeout.
      clearTimeout(this._connectTimer);
      this._connectTimer = null;
      this.timeout(this._connectTimeout);
    }
    this._onOpen();
    // After `open`, so that a setServername() or setVerifyMode() there applies, as in Bun; after
    // an async `open`'s promise jobs too (what follows its `await`), as Bun runs them first.
    if (barrier.raised) afterPromiseJobs(() => this._sendHello());
    else this._sendHello();
    if (settle) {
      settle.resolve(this);
      // `await connect()` resumes before this socket's next event, as in Bun.
      barrier.raised = true;
    }
  }

  /** A TLS client's hello, held by the native side since the connect began, goes out (once). */
  _sendHello() {
    if (!this._helloHeld) return;
    this._helloHeld = false;
    if (this._state !== CLOSED) binding.tlsSendHello(this._id);
  }

  /** `connect({ timeout })`: fails the connect with ETIMEDOUT if it is not open in time. */
  _armConnectTimeout(seconds) {
    this._connectTimeout = seconds;
    this._connectTimer = setTimeout(() => {
      this._connectTimer = null;
      const settle = this._settle;
      if (!settle) return;
      // The first address, as for a connect every address refused (the one tried first).
      const address = settle.addresses ? settle.addresses[0] : settle.address;
      this._failConnect(systemError('connect', ETIMEDOUT, address, settle.port));
      // Longer than a timer can wait (about 24.8 days) is as good as never.
    }, Math.min(seconds * 1000, MAX_TIMER_MS));
  }

  /** Every address failed; the error names the one at `index`, which failed last. */
  _onConnectError(errno, index) {
    const settle = this._settle;
    const address = settle && settle.addresses ? settle.addresses[index] : settle && settle.address;
    this._failConnect(systemError('connect', errno, address, settle && settle.port));
  }

  /** `connectError(s, err)`, then the promise rejects; no other handler runs. */
  _failConnect(err) {
    const settle = this._settle;
    this._settle = null;
    if (this._connectTimer) clearTimeout(this._connectTimer);
    this._state = CLOSED;
    registry.remove(registry.sockets, this);
    this._setRef(false);
    registry.release(this._id, false, undefined);
    this._releaseHolds();
    const promise = this._settlePromise;
    this._settlePromise = null;
    const onConnectError = this._table().connectError;
    if (onConnectError) {
      try {
        const result = onConnectError.call(this, this, err);
        // An async connectError that rejects is treated as one that throws (SPEC: no other
        // handler runs, the promise rejects with what it threw), so the promise waits for it.
        if (result != null && typeof result.then === 'function') {
          barrier.raised = true;
          result.then(
            () => {
              if (promise) promise.catch(() => {});
              if (settle) settle.reject(err);
            },
            (thrown) => settle && settle.reject(thrown),
          );
          return;
        }
      } catch (thrown) {
        // A bug in the handler is not the connect error it handled: the promise rejects with it
        // unhandled, so that unless the caller catches it, it surfaces (as Bun reports it).
        if (settle) settle.reject(thrown);
        return;
      }
      // The handler took the error: a caller that does not await the promise is not told again.
      if (promise) promise.catch(() => {});
    }
    if (settle) settle.reject(err);
  }

  /** Server side: whether this connection's TLS options asked the client for a certificate. */
  _requestedCert() {
    if (this._requestCert !== undefined) return this._requestCert;
    return !!(this._listener && this._listener._requestCert);
  }

  /** The TLS handshake ended: `err` is the failure, or (ok) the error `rejectUnauthorized: false` let pass. */
  _onHandshake(ok, err) {
    this._handshook = true;
    // A server socket is authorized only by a client certificate it asked for and verified, as
    // in node:tls and Bun; without requestCert there is nothing to authorize.
    this._authorized = ok && !err && (this._client || this._requestedCert());
    this._authError = err;
    const onHandshake = this._table().handshake;
    if (onHandshake) {
      // A reload() since the accept added the handler: `open`, left for the end of the handshake
      // then, runs first.
      if (!this._client && !this._opened && this._state !== CLOSED) {
        this._onOpen();
        if (this._state === CLOSED) return;
      }
      if (!ok) this._fatal = err;
      setUp(this);
      invoke(this, onHandshake, ok, err);
      if (!ok) this._destroy(err, false);
      return;
    }
    if (ok) {
      // `open` ran already (at the connect or the accept) if a reload() removed the handler since.
      if (this._opened) return;
      if (this._client) this._onConnected();
      else this._onOpen();
      return;
    }
    if (this._settle) return this._failConnect(err);
    // A failed upgradeTLS() is the TLS connection failing to open, as a failed connect({ tls }):
    // its `connectError` runs (else `error`: the connection was the application's already), then
    // the raw socket's `close`; the TLS socket never opened, so no `close` of its own.
    if (this._upgraded) {
      const table = this._table();
      const onFailure = table.connectError || table.error;
      if (onFailure) invoke(this, onFailure, err);
    }
    this._destroy(err, false); // never opened: no `close`
  }

  /**
   * The connection ends (FIN or reset) while its TLS handshake is still going: that fails the
   * handshake (`handshake(s, false, err)`, or `connectError` and the rejection), rather than
   * ending a socket the application was never given.
   */
  _handshakePending() {
    return this._tls && !this._handshook && this._state !== CLOSED;
  }

  /** A fatal TLS alert, a record that does not decrypt, or the loop failing: `error`, then `close`. */
  _onFatal(err) {
    if (this._state === CLOSED) return;
    // A session that failed is no longer an authorized one (as Bun reports it in error and close).
    if (this._tls) this._authorized = false;
    this._fatal = err;
    const onError = this._table().error;
    if (onError) invoke(this, onError, err);
    this._destroy(err, false);
  }

  /** Bytes read: `length` at `offset` in the batch's Buffer `data`. */
  _onRead(data, offset, length) {
    // Held as bytes: the chunk is made when it is delivered, in the binaryType of the table then
    // (a reload() while paused may change it).
    if (this._holding()) return this._hold('data', data.subarray(offset, offset + length));
    this._deliverData(chunkOf(data, offset, length, this._table().binaryType));
  }

  _deliverData(chunk) {
    const onData = this._table().data;
    if (onData) invoke(this, onData, chunk);
  }

  _onEnd() {
    if (this._handshakePending()) return this._onHandshake(false, this._writeError || disconnected(this));
    // After a failed write, an EOF is the reset seen from the read side, not the peer's `end`.
    if (this._writeError) return this._destroy(this._writeError, false);
    // Behind held data it waits for resume(), and while paused, as in Bun: a handler that paused
    // to answer later still can (the end's automatic close would come first). Once this side has
    // ended too, nothing more can be said: a paused socket gets it now, and closes.
    if (this._held !== null || (this._paused && this._state !== ENDED)) return this._hold('end');
    this._deliverEnd();
  }

  _deliverEnd() {
    this._peerEnded = true;
    const onEnd = this._table().end;
    if (!onEnd) return this._afterEnd();
    invoke(this, onEnd);
    // The handler's promise jobs run before the automatic close (a reply after `await` still goes
    // out), whether it returned its promise or only started async work, as Bun runs them after
    // every handler.
    barrier.raised = true;
    afterPromiseJobs(() => this._afterEnd());
  }

  _afterEnd() {
    if (this._state === CLOSED) return;
    if (!this._allowHalfOpen) this._destroy(undefined, false);
    else this._maybeFinish();
  }

  _onDrain() {
    this._drainArmed = false;
    if (this._state === CLOSED) return;
    if (this._recordsHeld) {
      // The records of the writes before this drain was armed are out; later writes (while the
      // event was on its way) may have left more.
      this._recordsHeld = false;
      registry.unref();
      if (!this._refd) this._holdForRecords();
    }
    if (this._pending && !this._flushPending()) return;
    if (this._userDrain) {
      this._userDrain = false;
      // After end() or shutdown() nothing more can be written: no drain to invite it.
      const onDrain = this._state === OPEN ? this._table().drain : undefined;
      if (onDrain) invoke(this, onDrain);
    }
  }

  _onError(errno) {
    // Nothing queued can go any more: the process need not wait for it (even while paused).
    if (this._pendingHeld || this._recordsHeld) this._releaseHolds();
    if (this._handshakePending()) return this._onHandshake(false, readError(errno));
    // Behind held events it keeps its place. A reset ends the connection whether or not the
    // application reads, but what arrived before it is still the application's, as in Bun: while
    // paused, what is held is delivered now (the loop read what the kernel still had), then the
    // socket closes with the error.
    if (this._held !== null) {
      this._hold('error', readError(errno));
      if (this._paused) {
        this._forceHeld = true;
        if (!this._delivering) this._deliverHeld();
      }
      return;
    }
    // The error only reaches a `close` handler; without one (a server that lets resets go) it is
    // not made: an Error per reset connection was a tenth of the JS time in a connect storm.
    this._destroy(this._opened && this._table().close ? readError(errno) : undefined, false);
  }

  /** An accepted TLS connection whose `open` waits for its handshake: not done within `ms`, it is dropped. */
  _armHandshakeTimeout(ms) {
    this._handshakeTimer = true;
    binding.setTimeout(this._id, ms);
  }

  _onTimeout() {
    if (this._state === CLOSED) return;
    // The handshake timeout: no handler runs (the socket never opened), the handshake is given up.
    if (this._handshakeTimer) {
      this._handshakeTimer = false;
      return this._destroy(undefined, false, true);
    }
    // A timer disarmed after its event was queued (the handshake timer's at `open`, a timeout(0))
    // has nothing to report: the loop can queue the expiry in the batch that brings the open.
    if (!this._timeoutArmed) return;
    this._timeoutArmed = false;
    const onTimeout = this._table().timeout;
    // A peer that let the timer run out during the handshake is not waited for any longer. The
    // handler's writes (and re-arming) after `await` come before the close, whether it returned
    // its promise or only started async work.
    const close = () => {
      if (this._state !== CLOSED && !this._timeoutArmed) this._destroy(undefined, false, true);
    };
    if (!onTimeout) return close();
    invoke(this, onTimeout);
    barrier.raised = true;
    afterPromiseJobs(close);
  }
}

/**
 * node:tls's error for a peer that left during the handshake; a TCP client's also names where it
 * connected (`host` as given to connect, `port`), as node:tls's does.
 */
function disconnected(socket) {
  // The same words on both sides, as Bun's (on a server they name the client's socket).
  const err = new Error('Client network socket disconnected before secure TLS connection was established');
  err.code = 'ECONNRESET';
  // Until the connect settles the socket has no address of its own to ask for.
  const settle = socket._settle;
  const port = !socket._client ? undefined : settle ? settle.port : socket.remotePort;
  if (port !== undefined) {
    err.host = socket._host;
    err.port = port;
  }
  return err;
}

/** A read the loop saw fail, as `node:net` reports it (without a stack: it would name only us). */
function readError(errno) {
  return systemError('read', errno, undefined, undefined, { stack: false });
}

// The TLS half of the socket's API lives in its own file.
require('./socket-tls').install(Socket, { OPEN, CLOSED });
guard(Socket, Socket._is, 'Socket', ['write']);

module.exports = { Socket, CONNECTING, OPEN, ENDED, CLOSED };
