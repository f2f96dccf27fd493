'use strict';
// The servers' handler tables, shared by the node-bun-tcp and Bun.listen servers: the API is the
// same, so only the `listen` call differs between them.
//
// write() does not buffer: what the kernel refuses waits in order in a queue and goes out from
// `drain`; while anything waits the socket is paused, so a peer that sends faster than it reads is
// held back by TCP (as node:net's pipe() does) instead of growing the queue.
const { RespSession } = require('./resp');

/** Writes the queue's head out until the kernel refuses; resumes the socket once it is empty. */
function flush(socket, queue) {
  while (queue.length > 0) {
    const n = socket.write(queue[0]);
    if (n < queue[0].length) {
      queue[0] = queue[0].subarray(Math.max(n, 0));
      return;
    }
    queue.shift();
  }
  socket.resume();
}

/** Echoes every chunk back. `socket.data` is the queue, made on the first refused write. */
function echoTable() {
  return {
    data(socket, chunk) {
      const queue = socket.data;
      if (queue && queue.length > 0) {
        queue.push(chunk); // read before the pause took effect: behind what already waits
        return;
      }
      const n = socket.write(chunk);
      if (n < chunk.length) {
        (socket.data || (socket.data = [])).push(chunk.subarray(Math.max(n, 0)));
        socket.pause();
      }
    },
    drain(socket) {
      if (socket.data) flush(socket, socket.data);
    },
  };
}

/**
 * The upload scenario's sink: counts what arrives and answers the peer's FIN with the count, in
 * decimal and a newline, which the load generator checks against what it sent.
 */
function sinkTable() {
  return {
    open(socket) {
      socket.data = 0;
    },
    data(socket, chunk) {
      socket.data += chunk.length;
    },
    end(socket) {
      socket.end(`${socket.data}\n`);
    },
  };
}

/** A minimal RESP server (PING/SET/GET, see resp.js); one reply write per chunk. */
function respTable() {
  const send = (socket, state, bytes) => {
    if (state.queue.length === 0) {
      const n = socket.write(bytes);
      if (n >= bytes.length || n < 0) return;
      bytes = bytes.subarray(n);
      socket.pause();
    }
    // Copied: `bytes` is the shared reply buffer, reused for the next chunk.
    state.queue.push(Buffer.from(bytes));
  };
  return {
    open(socket) {
      socket.data = { session: new RespSession(), queue: [] };
    },
    data(socket, chunk) {
      const state = socket.data;
      const replies = state.session.feed(chunk);
      if (replies.length > 0) send(socket, state, replies);
      if (state.session.closeAfterReply) socket.end();
    },
    drain(socket) {
      flush(socket, socket.data.queue);
    },
  };
}

module.exports = { echoTable, sinkTable, respTable };
