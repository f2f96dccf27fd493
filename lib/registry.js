'use strict';
// This environment's live sockets and listeners by id, and the count of ref'd ones that decides
// whether the process stays alive for us.
const { performance } = require('node:perf_hooks');
const { markAsUntransferable } = require('node:worker_threads');
const binding = require('./binding');
const { barrier } = require('./handlers');

// Ids carry a slot index in their low bits (src/ids.rs) and a reuse count above it; tables are
// indexed by slot and every lookup compares the whole id, so an event queued for a closed socket
// never reaches the newer one in its slot.
const INDEX_MASK = (1 << 22) - 1;
const sockets = [];
const listeners = [];
/**
 * Listeners stopped outside a dispatch, by id, until the loop acknowledges the stop: the
 * connections accepted before it still open on them, while a new listener may already have
 * their slot in `listeners`.
 */
const stopping = new Map();

function lookup(table, id) {
  const entry = table[id & INDEX_MASK];
  return entry !== undefined && entry._id === id ? entry : undefined;
}

function store(table, entry) {
  table[entry._id & INDEX_MASK] = entry;
}

function remove(table, entry) {
  if (table[entry._id & INDEX_MASK] === entry) table[entry._id & INDEX_MASK] = undefined;
}
let refs = 0;
/** The pump and its turn's deadline, when it stopped with more to poll while events waited. */
let owed = null;
let owedUntil = 0;

/**
 * Events that waited behind a barrier are dispatched: poll again if the pump stopped for them,
 * within what is left of its turn's budget, else in the next turn. (Polling afresh each time
 * would never yield while every batch raises a barrier: timers and I/O would starve.)
 */
function resumed() {
  const pump = owed;
  if (pump === null) return;
  owed = null;
  if (performance.now() < owedUntil) pump(owedUntil);
  else setImmediate(pump);
}
/** How long one turn of Node's event loop may spend on socket events before yielding. */
const BUDGET_MS = 2;
let started = false;

/**
 * Starts this environment's loop thread. When events wait it wakes us once; we take them in
 * batches, one batch per turn of Node's event loop (setImmediate), so timers and other I/O keep
 * running however busy the sockets are. Returns 0, or the negative errno of a system failure (no
 * file descriptor left for the loop), to be reported as the failure of what needed the loop.
 */
function start(dispatch, holding) {
  if (started) return 0;
  const pump = (until) => {
    // Node calls it with no argument, as a callback of its own (the loop's wake-up, an immediate):
    // no promise job is pending then. Called from `resumed`, the events just dispatched may have
    // queued some.
    if (until === undefined) {
      barrier.settled();
      until = performance.now() + BUDGET_MS;
    }
    // Batches that arrive while we work are taken in the same turn for up to BUDGET_MS, as libuv
    // handles every ready socket of one poll; past that the rest waits for the next turn.
    while (binding.poll(dispatch)) {
      // Events wait behind a barrier (dispatch.js): the next poll is owed until they are out.
      if (holding()) {
        owed = pump;
        owedUntil = until;
        return;
      }
      if (performance.now() >= until) return void setImmediate(pump);
    }
  };
  // Small reads share pool Buffers (src/read_pool.rs), as Buffer.allocUnsafe slices share Node's
  // pool; like Node's, they are marked untransferable, so a handler that posts its chunk's
  // ArrayBuffer to a worker cannot detach every other chunk in it (postMessage copies or throws).
  const errno = binding.init(pump, markAsUntransferable);
  started = errno === 0;
  // Sockets of a start that failed counted their refs without a loop to tell.
  if (started && refs > 0) binding.setRef(true);
  return errno;
}

/**
 * Lets the native side go of socket `id`. What it still sends (`end()` data, a TLS session's
 * records and close_notify) keeps the process alive until the socket's FLUSHED event.
 */
/** `abandonHandshake`: a TLS handshake not done yet is given up, whatever was written. */
function release(id, reset, pending, abandonHandshake) {
  if (!started) return; // a socket of a start that failed: nothing native to let go
  if (binding.release(id, reset, pending, abandonHandshake)) ref();
}

function ref() {
  if (refs++ === 0 && started) binding.setRef(true);
}

function unref() {
  if (--refs === 0 && started) binding.setRef(false);
}

module.exports = { sockets, listeners, stopping, lookup, store, remove, start, ref, unref, release, resumed };
