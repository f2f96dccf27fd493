'use strict';
// The one JS function the loop thread calls (through a threadsafe function), with every event that
// queued since the last call: `events` holds [kind, id, a, b] quadruples, `data` the bytes read
// (from `data[base]` on; a data event's `a` is its bytes' offset from there).
const registry = require('./registry');
const { Socket, OPEN, CLOSED } = require('./socket');
const { uncaught, barrier, afterPromiseJobs } = require('./handlers');
const { INTERNAL } = require('./errors');

// Event kinds: the constants of src/batch.rs.
const EV_OPEN = 1;
const EV_CONNECTED = 2;
const EV_CONNECT_ERROR = 3;
const EV_DATA = 4;
const EV_END = 5;
const EV_DRAIN = 6;
const EV_ERROR = 7;
const EV_TIMEOUT = 8;
const EV_ACCEPT_ERROR = 9;
const EV_UNLISTENED = 10;
const EV_FLUSHED = 11;
const EV_HANDSHAKE = 12;
const EV_TLS_ERROR = 13;
const EV_TLS_DATA = 14;
const EV_FAILED = 15;

const binding = require('./binding');

/** Event kinds that fail a socket, by kind (1: fails). */
const FAILING = new Uint8Array(16);
for (const kind of [EV_ERROR, EV_TLS_ERROR, EV_FAILED]) FAILING[kind] = 1;
const { sockets, listeners } = registry;

function accept(id, listenerId) {
  const listener = registry.lookup(listeners, listenerId) || registry.stopping.get(listenerId);
  // Accepted by the loop, but the listener stopped before JS saw the connection. A stop() from
  // outside a dispatch lets it open (listener.js); one from a handler of this batch resets it, as
  // the kernel resets those still in the backlog when node:net's or Bun's listener closes from a
  // connection handler; stop(true) closes it gracefully, as its open sockets.
  if (!listener || listener._closeActive || (listener._stopped && !listener._openPending)) {
    registry.release(id, !!listener && !listener._closeActive, undefined);
    return;
  }
  const socket = new Socket(INTERNAL, id, listener, listener, listener.data, listener._allowHalfOpen, OPEN);
  listener._sockets.add(socket);
  socket._tls = listener._tls;
  // Under TLS without a `handshake` handler, `open` waits for the handshake; a connection that
  // has not finished it within the listener's handshake timeout is dropped (node:tls reports it).
  if (!socket._tls || listener._handlers.handshake) socket._onOpen();
  else socket._armHandshakeTimeout(listener._handshakeTimeout);
  // With one, the handshake waited for `open` (listen.js): it may start now, unless `open`
  // paused the socket or closed it.
  if (socket._tls && !socket._paused && socket._state !== CLOSED) binding.resume(id);
}

function dispatchOne(kind, id, a, b, data, base, errors) {
  if (kind === EV_OPEN) return accept(id, a);
  if (kind === EV_UNLISTENED) {
    const stopped = registry.stopping.get(id);
    if (stopped) {
      registry.stopping.delete(id);
      if (stopped._unrefOnUnlisten) {
        stopped._unrefOnUnlisten = false;
        registry.unref();
      }
    }
    const listener = registry.lookup(listeners, id);
    if (listener) registry.remove(listeners, listener);
    return;
  }
  if (kind === EV_FLUSHED) return registry.unref(); // taken in Socket#_destroy
  if (kind === EV_ACCEPT_ERROR) return; // the loop retries; the connection waits in the backlog
  const socket = registry.lookup(sockets, id);
  if (socket === undefined) return; // closed meanwhile: what was still queued for it is moot
  switch (kind) {
    case EV_DATA:
      // On a TLS socket: ciphertext the loop read as plain before upgradeTLS took effect.
      if (socket._tls) return binding.tlsFeed(id, data.subarray(base + a, base + a + b));
      return socket._onRead(data, base + a, b);
    case EV_TLS_DATA:
      return socket._onRead(data, base + a, b);
    case EV_DRAIN:
      return socket._onDrain();
    case EV_END:
      return socket._onEnd();
    case EV_ERROR:
      return socket._onError(a);
    case EV_TIMEOUT:
      return socket._onTimeout();
    case EV_CONNECTED:
      return socket._onConnected();
    case EV_CONNECT_ERROR:
      return socket._onConnectError(a, b);
    case EV_HANDSHAKE:
      return socket._onHandshake(a === 1, tlsError(errors, b, socket));
    case EV_TLS_ERROR:
      return socket._onFatal(tlsError(errors, a, socket));
    case EV_FAILED:
      return socket._onFatal(internalError(a));
  }
}

function internalError(errno) {
  const err = new Error(`node-bun-tcp: the socket loop failed while handling this socket (${errno})`);
  err.code = 'ERR_SOCKET_LOOP_FAILURE';
  err.errno = errno;
  return err;
}

/** The TLS error an event refers to: `errors` holds code, message pairs. */
function tlsError(errors, index, socket) {
  if (index < 0 || !errors) return null;
  const err = new Error(errors[index * 2 + 1]);
  err.code = errors[index * 2];
  if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // As node:tls's: the reason, the name checked and the certificate, with its issuers.
    err.reason = err.message.slice(err.message.indexOf(': ') + 2);
    err.host = socket.getServername();
    const cert = socket.getPeerCertificate(true);
    if (cert && cert.raw) err.cert = cert;
  }
  return err;
}

/**
 * Events waiting behind a barrier (see handlers.js), in order: batches of event words, each with
 * where its undispatched words start and the data and errors they refer to. While any wait, new
 * batches queue behind them.
 */
let waiting = null;

// `events` is one array reused for every batch: its first `count` words are this batch's.
function dispatch(events, count, data, errors, base) {
  if (waiting !== null) {
    waiting.push({ events: events.slice(0, count), from: 0, data, errors, base });
    return;
  }
  run(events, 0, count, data, errors, base, false);
}

/**
 * Dispatches events[from..count); at a barrier, the rest waits for the promise jobs to run.
 * `owned`: `events` is a copy of ours (else the reused array, whose words the next batch
 * overwrites): a batch with an async handler per event is then copied once, not once per event.
 */
function run(events, from, count, data, errors, base, owned) {
  for (let i = from; i < count; i += 4) {
    // Promise jobs a handler queued without returning them run before any peer's FIN, whose
    // automatic close would otherwise come first (a `data` handler's reply after an `await`
    // still goes out), before a reset or TLS failure of that handler's socket (whose `close`
    // would otherwise run before that work), and those of an `open` or `handshake` before its
    // socket's next event, as Bun runs them after every handler.
    const kind = events[i];
    if (barrier.ran && waitsBefore(kind, events[i + 1])) {
      return wait(events, i, count, data, errors, base, owned);
    }
    try {
      dispatchOne(kind, events[i + 1], events[i + 2], events[i + 3], data, base, errors);
    } catch (err) {
      uncaught(err);
    }
    if (barrier.raised) {
      barrier.raised = false;
      return wait(events, i + 4, count, data, errors, base, owned);
    }
  }
}

/**
 * Whether event `kind` for socket `id` waits for the promise jobs, some handler having run since
 * they did: a FIN always; a failure of the socket if a handler of it ran; any event of it if its
 * `open` or `handshake` ran. Steady traffic (no open, no failure) looks up no socket twice.
 */
function waitsBefore(kind, id) {
  if (kind === EV_END) return true;
  if (!barrier.setUp && FAILING[kind] !== 1) return false;
  if (kind === EV_OPEN || kind === EV_UNLISTENED || kind === EV_FLUSHED || kind === EV_ACCEPT_ERROR) return false;
  const socket = registry.lookup(sockets, id);
  if (socket === undefined) return false;
  return socket._setUpIn === barrier.epoch || (FAILING[kind] === 1 && socket._ranIn === barrier.epoch);
}

/** Events from `next` on, and any batch polled meanwhile, wait for the promise jobs to run. */
function wait(events, next, count, data, errors, base, owned) {
  if (next >= count) waiting = [];
  else if (owned) waiting = [{ events, from: next, data, errors, base }];
  else waiting = [{ events: events.slice(next, count), from: 0, data, errors, base }];
  // A microtask queued now runs after the jobs already queued and those they queue in turn
  // (V8 empties its queue); the tick it queues runs once the queue is empty, before any
  // timer or I/O: the waiting events follow as soon as the promise jobs are done.
  afterPromiseJobs(resume);
}

function resume() {
  barrier.settled();
  const queue = waiting;
  waiting = null;
  for (let k = 0; k < queue.length; k++) {
    const batch = queue[k];
    run(batch.events, batch.from, batch.events.length, batch.data, batch.errors, batch.base, true);
    if (waiting !== null) {
      // Another barrier: what this batch left now waits, and the later batches behind it.
      for (let j = k + 1; j < queue.length; j++) waiting.push(queue[j]);
      return;
    }
  }
  registry.resumed();
}

/** True while events wait behind a barrier: the pump stops polling until they are dispatched. */
const holding = () => waiting !== null;

module.exports = { dispatch, holding };
