'use strict';
// Calling user handlers: `this` is the socket, a throw or a rejected promise goes to `error`, and a
// failure of `error` itself becomes an uncaughtException, as it would in Node.

/**
 * Set when what a handler just did must settle before the next event is dispatched: it returned
 * a promise, a connect promise was resolved, or an exception is on its way. Bun runs pending
 * promise jobs after every handler; the dispatcher (dispatch.js) yields to them when this is set.
 */
const barrier = { raised: false };

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

module.exports = { invoke, invokeOpen, routeError, uncaught, barrier, afterPromiseJobs };
