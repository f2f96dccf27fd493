'use strict';
// The object `listen()` returns. Its handler table is shared by every socket it accepted.
const fs = require('node:fs');
const util = require('node:util');
const binding = require('./binding');
const registry = require('./registry');
const { reloadTable } = require('./options');
const { invalidArgType, illegalConstructor } = require('./errors');
const { guard } = require('./brand');

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');

class Listener {
  /** Marks real listeners, for the `this` checks (brand.js). */
  #brand = true;

  static _is(value) {
    return typeof value === 'object' && value !== null && #brand in value;
  }

  /** `settings`: `{ data, allowHalfOpen, requestCert, handshakeTimeout }`, read from listen's options. */
  constructor(token, id, handlers, settings, endpoint, port, tls) {
    illegalConstructor(token);
    this._id = id;
    this._handlers = handlers;
    this.data = settings.data;
    this._allowHalfOpen = settings.allowHalfOpen;
    this._hostname = endpoint.hostname;
    this._unix = endpoint.unix;
    this._port = port;
    this._tls = tls;
    /** TLS: client certificates are asked for (validated by listen), for sockets' `authorized`. */
    this._requestCert = settings.requestCert;
    /** TLS: ms after which a connection still in its handshake is dropped (dispatch.js). */
    this._handshakeTimeout = settings.handshakeTimeout;
    this._stopped = false;
    /** Set by stop(true): sockets accepted but not yet opened in JS are dropped on arrival. */
    this._closeActive = false;
    /** Set by a stop() outside a dispatch: connections accepted before it still open. */
    this._openPending = false;
    this._unrefOnUnlisten = false;
    this._refd = true;
    this._sockets = new Set();
    registry.store(registry.listeners, this);
    registry.ref();
  }

  get port() {
    return this._unix === undefined ? this._port : undefined;
  }

  get hostname() {
    return this._unix === undefined ? this._hostname : undefined;
  }

  get unix() {
    return this._unix;
  }

  /** The listening socket's file descriptor (Bun's extra), -1 once stopped. */
  get fd() {
    return this._stopped ? -1 : binding.listenerFd(this._id);
  }

  /** Bun's extra: fills `out` with `{ family, address, port }` (nothing for unix listeners). */
  getsockname(out) {
    if (out === null || typeof out !== 'object') throw invalidArgType('out', 'of type object', out);
    const addr = this._stopped ? null : binding.listenerAddress(this._id);
    if (addr) {
      out.family = addr[2];
      out.address = addr[0];
      out.port = Number(addr[1]);
    }
  }

  stop(closeActiveConnections = false) {
    if (!this._stopped) {
      this._stopped = true;
      // Outside a dispatch, the connections established before now still open (the addon
      // accepts the backlog first); from a handler, those not yet opened are refused.
      this._openPending = binding.stopListener(this._id);
      if (this._unix !== undefined && !this._unix.startsWith('\0')) {
        try {
          fs.unlinkSync(this._unix);
        } catch {}
      }
      if (this._openPending) registry.stopping.set(this._id, this);
      if (this._refd) {
        this._refd = false;
        // The connections on their way keep the process until they have opened (the loop's
        // acknowledgement of the stop comes after them).
        if (this._openPending) this._unrefOnUnlisten = true;
        else registry.unref();
      }
    }
    if (closeActiveConnections) {
      this._closeActive = true;
      for (const socket of [...this._sockets]) socket.close();
    }
  }

  ref() {
    if (!this._stopped && !this._refd) {
      this._refd = true;
      registry.ref();
    }
    return this;
  }

  unref() {
    if (!this._stopped && this._refd) {
      this._refd = false;
      registry.unref();
    }
    return this;
  }

  reload(options) {
    this._setHandlers(reloadTable(options));
  }

  _setHandlers(table) {
    this._handlers = table;
    if (this._tls && !this._stopped) binding.setListenerOpenFirst(this._id, !!table.handshake);
  }

  [dispose]() {
    this.stop(true);
  }

  get [Symbol.toStringTag]() {
    return 'Listener'; // as Bun's
  }

  /** `{}`, as Bun's: the internals are not data to log. */
  toJSON() {
    return {};
  }

  [util.inspect.custom](depth, options, inspect) {
    if (!Listener._is(this)) return 'Listener {}'; // an object made from one (Object.create)
    const shown =
      this._unix !== undefined
        ? { unix: this._unix, listening: !this._stopped, connections: this._sockets.size }
        : { hostname: this._hostname, port: this._port, listening: !this._stopped, connections: this._sockets.size };
    return `Listener ${inspect(shown, options)}`;
  }
}

guard(Listener, Listener._is, 'Listener');

module.exports = { Listener };
