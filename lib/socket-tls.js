'use strict';
// The TLS side of Socket: the session's verdict and negotiated state, keying material, and
// STARTTLS (`upgradeTLS`). Plain sockets answer as node:net sockets would (null/false).
const binding = require('./binding');
const { invalidArgType, outOfRange, INTERNAL } = require('./errors');
const { validateObject, handlerTable } = require('./options');
const { serverContext, clientContext, serverNameOf } = require('./tls-options');
const { chainObject, certificateObject } = require('./peer-certificate');
const { X509Certificate } = require('node:crypto');

/** OpenSSL's names of the TLS 1.2 suites rustls offers; TLS 1.3 suites have one name only. */
const OPENSSL_NAMES = {
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
};

/** node:tls's getEphemeralKeyInfo() for the key exchange groups rustls offers, by rustls name. */
const KEY_EXCHANGE = {
  X25519: { type: 'ECDH', name: 'X25519', size: 253 },
  secp256r1: { type: 'ECDH', name: 'prime256v1', size: 256 },
  secp384r1: { type: 'ECDH', name: 'secp384r1', size: 384 },
  secp521r1: { type: 'ECDH', name: 'secp521r1', size: 521 },
};

/** A data chunk of any binaryType as a Buffer over the same bytes. */
function bytesOf(chunk) {
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk);
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** upgradeTLS's `initialData`: a copy of its bytes (a string as UTF-8), or null for none. */
function initialBytes(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.length > 0 ? Buffer.from(value, 'utf8') : null;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    const view = ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
    return view.length > 0 ? Buffer.from(view) : null; // a copy
  }
  throw invalidArgType('options.initialData', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', value);
}

function coded(err, code) {
  err.code = code;
  return err;
}

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
      if (!this._tls) return false; // as Bun on plain sockets
      if (!this._handshook) return null;
      const state = this._tlsState();
      return state && state.alpn ? state.alpn : false;
    }

    getTLSVersion() {
      const state = this._tlsState();
      return state && state.version ? state.version : null;
    }

    /**
     * `name` is OpenSSL's (as node:tls and Bun give it), `standardName` the IANA name; all null
     * before the handshake, and undefined on plain or closed sockets, as Bun answers.
     */
    getCipher() {
      if (!this._tls || this._state === CLOSED) return undefined;
      const state = this._tlsState();
      if (!state || !state.cipher) return { name: null, standardName: null, version: null };
      return { name: OPENSSL_NAMES[state.cipher] || state.cipher, standardName: state.cipher, version: state.version };
    }

    /** Whether the handshake resumed an earlier session; false on plain sockets. */
    isSessionReused() {
      const state = this._tlsState();
      return !!(state && state.resumed);
    }

    /**
     * The client's key exchange, as node:tls gives it (`{ type, name, size }`; `{}` for a group
     * OpenSSL would describe otherwise); `null` on servers and plain sockets, as Bun.
     */
    getEphemeralKeyInfo() {
      if (!this._tls || this._listener !== undefined) return null;
      const state = this._tlsState();
      if (!state) return null;
      const known = state.group && KEY_EXCHANGE[state.group];
      return known ? { ...known } : {};
    }

    /** rustls does not report the peer's signature algorithms: always empty; null once closed, as Bun's. */
    getSharedSigalgs() {
      if (!this._tls) return undefined;
      return this._state === CLOSED ? null : [];
    }

    /** rustls never renegotiates, so there is nothing to disable. */
    disableRenegotiation() {}

    /** rustls has no renegotiation (nor has TLS 1.3). */
    renegotiate() {
      if (!this._tls) return undefined;
      throw coded(new Error('TLS session renegotiation is not supported'), 'ERR_TLS_RENEGOTIATION_DISABLED');
    }

    /** The record size is fixed when the session is made: false (not applied), as on plain sockets. */
    setMaxSendFragment(size) {
      if (typeof size !== 'number') throw invalidArgType('size', 'of type number', size);
      return false;
    }

    /**
     * The peer's certificate in node:tls's shape (with `detailed === true`, linked to its issuers
     * through `issuerCertificate`). As Bun answers: `undefined` when the peer has sent none (yet)
     * and once closed, `null` on plain sockets.
     */
    getPeerCertificate(detailed) {
      if (!this._tls) return null;
      if (this._state === CLOSED) return undefined;
      const chain = binding.peerCertificate(this._id, detailed === true);
      return chain ? chainObject(chain) : undefined;
    }

    /** The peer's certificate as a node:crypto X509Certificate; undefined when there is none. */
    getPeerX509Certificate() {
      if (!this._tls || this._state === CLOSED) return undefined;
      const chain = binding.peerCertificate(this._id, false);
      return chain ? new X509Certificate(chain.certificates[0].raw) : undefined;
    }

    /**
     * The certificate this end presents, in getPeerCertificate()'s shape: a server's (for the name
     * the client asked for), a client's own; undefined without one, on plain or closed sockets.
     */
    getCertificate() {
      const der = this._ownCertificate();
      const info = der ? binding.describeCertificate(der) : null;
      return info ? certificateObject(info) : undefined;
    }

    /** getCertificate() as a node:crypto X509Certificate. */
    getX509Certificate() {
      const der = this._ownCertificate();
      return der ? new X509Certificate(der) : undefined;
    }

    _ownCertificate() {
      if (!this._tls || this._state === CLOSED) return null;
      return binding.ownCertificate(this._id);
    }

    // rustls resumes sessions by itself and exposes neither them, their tickets nor the Finished
    // messages: these answer as Bun does when it has none, so that code written for Bun runs.
    getSession() {
      return undefined;
    }

    /** Accepted and not applied (see getSession). */
    setSession(session) {
      if (typeof session !== 'string' && !ArrayBuffer.isView(session)) {
        throw invalidArgType('session', 'of type string or an instance of Buffer, TypedArray or DataView', session);
      }
    }

    getTLSTicket() {
      return undefined;
    }

    getTLSFinishedMessage() {
      return undefined;
    }

    getTLSPeerFinishedMessage() {
      return undefined;
    }

    getServername() {
      if (!this._tls || this._state === CLOSED) return undefined; // as Bun on plain or closed sockets
      if (this._client) return this._servername !== undefined ? this._servername : this._host;
      const state = this._tlsState();
      // No SNI from the client: undefined, as Bun answers.
      return state && state.servername ? state.servername : undefined;
    }

    /**
     * On a client in its `open` handler (which runs at the TCP connect when the table has a
     * `handshake` handler), the name sent in SNI and checked, as in Bun; later only recorded for
     * `getServername()`, the handshake having begun with the name the connect started with. An
     * empty name is none, as for the serverName option: the connect's hostname again, as in Bun.
     */
    setServername(name) {
      if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
      const named = name === '' ? undefined : name;
      if (this._helloHeld && this._client && this._state !== CLOSED) binding.tlsSetServername(this._id, named === undefined ? this._host : named);
      this._servername = named;
    }

    exportKeyingMaterial(length, label, context) {
      // As Bun on plain and closed sockets, whatever the arguments.
      if (!this._tls || this._state === CLOSED) return undefined;
      // As node:tls (validateUint32, positive): a number, then a range.
      if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length);
      if (!Number.isInteger(length)) throw outOfRange('length', 'an integer', length);
      if (length < 1 || length > 0xffffffff) throw outOfRange('length', '>= 1 && <= 4294967295', length);
      if (typeof label !== 'string') throw invalidArgType('label', 'of type string', label);
      if (context !== undefined && !ArrayBuffer.isView(context)) throw invalidArgType('context', 'a Buffer', context);
      if (!this._handshook) {
        throw coded(new Error('TLS socket connection must be securely established'), 'ERR_TLS_INVALID_STATE');
      }
      try {
        return binding.exportKeyingMaterial(this._id, length, label, context ? Buffer.from(context.buffer, context.byteOffset, context.byteLength) : undefined);
      } catch (err) {
        // The one failure left: more bytes than the suite's HKDF can make (255 hash lengths).
        throw coded(new RangeError(`exportKeyingMaterial: ${length} bytes is more than this session can export (${err.message})`), 'ERR_OUT_OF_RANGE');
      }
    }

    /**
     * Before the handshake starts (in `open`, with a `handshake` handler in the table), as in Bun.
     * Server side: the handshake asks for a client certificate (`requestCert`) and fails without a
     * trusted one (`rejectUnauthorized`), as `listen`'s TLS options with these values would. Client
     * side: whether a server certificate that does not verify fails the handshake
     * (`rejectUnauthorized`), as the connect option would. Later it is recorded only, as the
     * session has already started.
     */
    setVerifyMode(requestCert, rejectUnauthorized) {
      if (!this._tls) return; // as Bun: nothing to set on a plain socket
      // Booleans only, as Bun: now that the call takes effect, 'false' must not mean true.
      if (typeof requestCert !== 'boolean') throw invalidArgType('requestCert', 'of type boolean', requestCert);
      if (typeof rejectUnauthorized !== 'boolean') {
        throw invalidArgType('rejectUnauthorized', 'of type boolean', rejectUnauthorized);
      }
      this._verifyMode = { requestCert, rejectUnauthorized };
      if (this._state === CLOSED) return;
      if (this._client) {
        if (this._helloHeld) binding.tlsSetVerifyMode(this._id, requestCert, rejectUnauthorized);
        return;
      }
      if (binding.tlsSetVerifyMode(this._id, requestCert, rejectUnauthorized)) this._requestCert = requestCert;
    }

    /**
     * STARTTLS: continues this connection under TLS with new handlers. Returns `[raw, tls]`; the raw
     * socket is finished (writes return -1, no more events) and `tls` carries the connection on.
     */
    upgradeTLS(options) {
      validateObject(options, 'options');
      const handlers = handlerTable(options.socket, 'options.socket');
      if (this._state !== OPEN) throw coded(new Error('upgradeTLS: the socket is not open'), 'ERR_SOCKET_CLOSED');
      if (this._tls) throw coded(new Error('upgradeTLS: the socket already speaks TLS'), 'ERR_INVALID_STATE');
      // Bytes the raw socket already read that are the peer's first records (a server that looked
      // at a ClientHello before deciding to upgrade): copied now, before any getter below runs.
      const initialData = initialBytes(options.initialData);
      // Which side of the handshake this end takes: an accepted socket serves, a connected one is
      // the client, unless `isServer` says otherwise (as in Bun).
      const isServer = options.isServer;
      if (isServer !== undefined && isServer !== null && typeof isServer !== 'boolean') {
        throw invalidArgType('options.isServer', 'of type boolean', isServer);
      }
      const server = typeof isServer === 'boolean' ? isServer : this._listener !== undefined;
      // `tls` is required, as in Bun ("Expected \"tls\" option"): `true` asks for a client's defaults.
      const context = server ? serverContext(options.tls) : clientContext(options.tls);
      if (context === null) throw invalidArgType('options.tls', 'TLS options', options.tls);
      const serverName = serverNameOf(options.tls) || undefined;
      // Every option is read before anything changes: a throwing getter leaves the socket as it was.
      const data = 'data' in options ? options.data : this.data;
      const requestCert = server && options.tls.requestCert === true;
      // The session first: if it cannot be made (a bad serverName), nothing has changed.
      binding.upgradeTls(this._id, context, serverName || this._host || 'localhost');
      const upgraded = new Socket(INTERNAL, this._id, null, this._listener, data, this._allowHalfOpen, OPEN);
      upgraded._handlers = handlers;
      upgraded._tls = true;
      upgraded._client = !server;
      upgraded._host = this._host;
      upgraded._opened = false;
      upgraded._upgraded = true;
      if (server) upgraded._requestCert = requestCert;
      if (!server && serverName !== undefined) upgraded._servername = serverName;
      // The raw socket hands the connection over: no more events, and its `close` runs when the
      // connection closes (Socket#_destroy of the TLS socket).
      upgraded._raw = this;
      // The connection keeps the process alive as it did: an unref()ed raw socket's stays unref'd
      // (as Bun's, and node:tls's over the same handle).
      const refd = this._refd;
      this._state = CLOSED;
      this._setRef(false);
      upgraded._setRef(refd);
      // A paused raw socket: the TLS socket starts reading (its handshake needs it), and what the
      // raw one held back goes on: bytes to the session (they are the peer's first records), the
      // peer's end or error to the TLS socket.
      // The session is given the bytes read so far before the loop reads more into it.
      const held = this._held;
      this._held = null;
      if (initialData !== null) binding.tlsFeed(this._id, initialData);
      if (held) {
        for (const [kind, value] of held) {
          if (kind === 'data') binding.tlsFeed(this._id, bytesOf(value));
          else queueMicrotask(() => (kind === 'end' ? upgraded._onEnd() : upgraded._destroy(value, false)));
        }
      }
      if (this._paused) binding.resume(this._id);
      // Upgraded from inside the raw socket's `end` handler: the peer's FIN is the TLS socket's
      // too (its handshake cannot finish), or it would wait for it for ever.
      if (this._peerEnded && !(held && held.some(([kind]) => kind === 'end'))) {
        queueMicrotask(() => upgraded._onEnd());
      }
      if (this._listener) {
        this._listener._sockets.delete(this);
        this._listener._sockets.add(upgraded);
      }
      if (handlers.handshake) {
        queueMicrotask(() => {
          if (!upgraded._opened && upgraded._state !== CLOSED) upgraded._onOpen();
        });
      }
      return [this, upgraded];
    }
  }
  for (const name of Object.getOwnPropertyNames(TlsMethods.prototype)) {
    if (name !== 'constructor') Object.defineProperty(Socket.prototype, name, Object.getOwnPropertyDescriptor(TlsMethods.prototype, name));
  }
}

module.exports = { install };
