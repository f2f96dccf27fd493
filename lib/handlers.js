'use strict';
// Calling user handlers: `this` is the socket, a throw or a rejected promise goes to `error`, and a
// failure of `error` itself becomes an uncaughtException, as it would in Node.

/**
 * `raised`: what a handler just did must settle before the next event is dispatched: it returned
 * a promise, a connect promise was resolved, or an exception is on its way. Bun runs pending
 * promise jobs after every handler; the dispatcher (dispatch.js) yields to them when this is set.
 * `ran`: a handler ran since the promise jobs last ran, so some may be queued (a handler that
 * starts async work without returning it). The dispatcher yields to them before any peer's FIN,
 * whose automatic close would otherwise come before a reply written after an `await`. `epoch`
 * counts the times they ran. A socket's `_ranIn` is the epoch its last handler ran in: a reset
 * or TLS failure of that socket waits for them too, so its `close` comes after that work. Its
 * `_setUpIn` is the epoch its `open` or `handshake` ran in: its next event waits, so what such a
 * handler sets up after an `await` is ready for the first `data`, as in Bun. (Between two `data`
 * events they would only reorder work of one stream; waiting there cost a streaming server 15%
 * more CPU per MB.)
 */
const barrier = {
  raised: false,
  ran: false,
  /** Some `open` or `handshake` ran since the promise jobs did (else no socket's `_setUpIn` is current). */
  setUp: false,
  epoch: 0,
  /**
   * The promise jobs have all run (a fresh callback of Node's, or after a wait for them). A
   * `raised` left by code outside a dispatch (an `end()` that delivered a held FIN) is moot now.
   */
  settled() {
    this.raised = false;
    this.ran = false;
    this.setUp = false;
    this.epoch++;
  },
};

/** A handler of `socket` ran. */
function ran(socket) {
  barrier.ran = true;
  socket._ranIn = barrier.epoch;
}

/** An `open` or `handshake` handler of `socket` ran: its next event waits for the promise jobs. */
function setUp(socket) {
  ran(socket);
  barrier.setUp = true;
  socket._setUpIn = barrier.epoch;
}

/** Runs `fn` once the promise jobs queued so far have run: how events wait behind a barrier. */
function afterPromiseJobs(fn) {
  queueMicrotask(() => process.nextTick(fn));
}

function uncaught(err) {
  barrier.raised = true;
  process.nextTick(() => {
    throw err;
  });
}

function routeError(socket, err) {
  ran(socket);
  const onError = socket._table().error;
  if (!onError) return uncaught(err);
  try {
    const result = onError.call(socket, socket, err);
    if (result != null && typeof result.then === 'function') result.then(undefined, uncaught);
  } catch (err2) {
    uncaught(err2);
  }
}

/** Calls `fn(socket, a, b)`; returns false when it threw synchronously. */
function invoke(socket, fn, a, b) {
  ran(socket);
  try {
    // As many arguments as the handler has (open(s), data(s, chunk), handshake(s, ok, err)), as
    // Bun passes them.
    const n = arguments.length;
    const result = n === 2 ? fn.call(socket, socket) : n === 3 ? fn.call(socket, socket, a) : fn.call(socket, socket, a, b);
    if (result != null && typeof result.then === 'function') {
      barrier.raised = true;
      result.then(undefined, (err) => routeError(socket, err));
    }
    return true;
  } catch (err) {
    routeError(socket, err);
    return false;
  }
}

/**
 * `open(socket)`: as `invoke`, and a promise it returns that rejects also calls `failed` (the
 * socket closes, as after a synchronous throw). An Error it returns counts as thrown, as in Bun.
 */
function invokeOpen(socket, fn, failed) {
  setUp(socket);
  try {
    const result = fn.call(socket, socket);
    if (result instanceof Error) {
      routeError(socket, result);
      return false;
    }
    if (result != null && typeof result.then === 'function') {
      barrier.raised = true;
      result.then(undefined, (err) => {
        routeError(socket, err);
        failed();
      });
    }
    return true;
  } catch (err) {
    routeError(socket, err);
    return false;
  }
}

module.exports = { invoke, invokeOpen, setUp, routeError, uncaught, barrier, afterPromiseJobs };
