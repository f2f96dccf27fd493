'use strict';
// The TLS side of Socket: the session's verdict and negotiated state, keying material, and
// STARTTLS (`upgradeTLS`). Plain sockets answer as node:net sockets would (null/false).
const binding = require('./binding');
const { invalidArgType } = require('./errors');
const { validateObject, handlerTable } = require('./options');
const { serverContext, clientContext } = require('./tls-options');

function install(Socket, { OPEN, CLOSED }) {
  class TlsMethods {
    _tlsState() {
      return this._tls && this._state !== CLOSED ? binding.tlsState(this._id) : null;
    }

    get authorized() {
      return this._authorized;
    }

    getAuthorizationError() {
      return this._authError;
    }

    /** `null` before the handshake, the negotiated name, or `false` when none was. */
    get alpnProtocol() {
      if (!this._tls || !this._handshook) return null;
      const state = this._tlsState();
      return state && state.alpn ? state.alpn : false;
    }

    getTLSVersion() {
      const state = this._tlsState();
      return state && state.version ? state.version : null;
    }

    getCipher() {
      const state = this._tlsState();
      if (!state || !state.cipher) return null;
      return { name: state.cipher, standardName: state.cipher, version: state.version };
    }

    getPeerCertificate() {
      if (!this._tls || this._state === CLOSED) return null;
      const cert = binding.peerCertificate(this._id);
      if (!cert) return {};
      return {
        subject: cert.subject,
        issuer: cert.issuer,
        subjectaltname: cert.subjectaltname,
        valid_from: cert.validFrom,
        valid_to: cert.validTo,
        serialNumber: cert.serialNumber,
        fingerprint256: cert.fingerprint256,
        raw: cert.raw,
      };
    }

    getServername() {
      if (!this._tls) return null;
      if (this._client) return this._servername !== undefined ? this._servername : this._host;
      const state = this._tlsState();
      return state && state.servername ? state.servername : null;
    }

    /** Recorded for `getServername()`; the name checked was fixed when the connect started. */
    setServername(name) {
      if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
      this._servername = name;
    }

    exportKeyingMaterial(length, label, context) {
      if (typeof length !== 'number' || !Number.isInteger(length) || length <= 0) {
        throw invalidArgType('length', 'a positive integer', length);
      }
      if (typeof label !== 'string') throw invalidArgType('label', 'of type string', label);
      if (context !== undefined && !ArrayBuffer.isView(context)) throw invalidArgType('context', 'a Buffer', context);
      if (!this._tls || !this._handshook) throw new Error('exportKeyingMaterial: the TLS handshake has not completed');
      return binding.exportKeyingMaterial(this._id, length, label, context ? Buffer.from(context.buffer, context.byteOffset, context.byteLength) : undefined);
    }

    /** Accepted for Bun parity; verification is fixed by the options the session started with. */
    setVerifyMode(requestCert, rejectUnauthorized) {
      this._verifyMode = { requestCert: !!requestCert, rejectUnauthorized: !!rejectUnauthorized };
    }

    /**
     * STARTTLS: continues this connection under TLS with new handlers. Returns `[raw, tls]`; the raw
     * socket is finished (writes return -1, no more events) and `tls` carries the connection on.
     */
    upgradeTLS(options) {
      validateObject(options, 'options');
      const handlers = handlerTable(options.socket, 'options.socket');
      if (this._state !== OPEN) throw new Error('upgradeTLS: the socket is not open');
      if (this._tls) throw new Error('upgradeTLS: the socket already speaks TLS');
      const server = this._listener !== undefined;
      const context = server ? serverContext(options.tls) : clientContext(options.tls === undefined ? true : options.tls);
      if (context === null) throw invalidArgType('options.tls', 'TLS options', options.tls);
      const upgraded = new Socket(this._id, null, this._listener, 'data' in options ? options.data : this.data, this._allowHalfOpen, OPEN);
      upgraded._handlers = handlers;
      upgraded._tls = true;
      upgraded._client = !server;
      upgraded._host = this._host;
      upgraded._opened = false;
      upgraded._upgraded = true;
      binding.upgradeTls(this._id, context, (options.tls && options.tls.serverName) || this._host || 'localhost');
      // The raw socket hands the connection over: no close for it, no more events.
      this._state = CLOSED;
      this._setRef(false);
      if (this._listener) {
        this._listener._sockets.delete(this);
        this._listener._sockets.add(upgraded);
      }
      if (handlers.handshake) queueMicrotask(() => upgraded._onOpen());
      return [this, upgraded];
    }
  }
  for (const name of Object.getOwnPropertyNames(TlsMethods.prototype)) {
    if (name !== 'constructor') Object.defineProperty(Socket.prototype, name, Object.getOwnPropertyDescriptor(TlsMethods.prototype, name));
  }
}

module.exports = { install };
