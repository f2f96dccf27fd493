'use strict';
// Socket and listener lifecycle: half-close, half-open, shutdown, close/terminate, stop,
// reload, timeouts, pause/resume, ref/unref, listener/data properties (SPEC.md).
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { listen, connect } = require('..');
const { HOST, sleep, deferred, withTimeout, until, serve, dial } = require('./helpers');

const DISPOSE = Symbol.dispose ?? Symbol.for('nodejs.dispose');

/** An echo server table that records the accepted sockets. */
function echoTable(accepted = []) {
  return {
    open(s) {
      accepted.push(s);
    },
    data(s, d) {
      s.write(d);
    },
  };
}

/** Client table collecting received bytes as a string. */
function collector() {
  const state = { text: '', events: [] };
  state.table = {
    data(s, d) {
      state.text += Buffer.from(d).toString();
      state.events.push('data');
    },
    end() {
      state.events.push('end');
    },
    close(s, err) {
      state.events.push('close');
      state.closeErr = err;
    },
  };
  return state;
}

// ---- half-close ----------------------------------------------------------------------------

test('half-close, default allowHalfOpen false: end() -> peer end, close(s, undefined); then local end, close', async (t) => {
  const sEv = [];
  const cEv = [];
  const sClosed = deferred();
  const cClosed = deferred();
  const seen = {};
  const server = serve(t, {
    open() {
      sEv.push('open');
    },
    data(s, d) {
      sEv.push('data:' + d);
    },
    end(s) {
      sEv.push('end');
      seen.sEndState = s.readyState;
      // Still open inside `end`: this reaches the half-closed client.
      seen.sEndWrite = s.write('bye');
    },
    close(s, err) {
      sEv.push('close');
      seen.sClose = { argc: arguments.length, first: s, err, state: s.readyState, write: s.write('x') };
      sClosed.resolve();
    },
  });
  const c = await dial(t, server.port, {
    data(s, d) {
      cEv.push('data:' + d);
      seen.cDataState = s.readyState;
    },
    end(s) {
      cEv.push('end');
      seen.cEndState = s.readyState;
    },
    close(s, err) {
      cEv.push('close');
      seen.cClose = { err, state: s.readyState };
      cClosed.resolve();
    },
  });
  await until(() => sEv.includes('open'), 3000, 'server open');
  assert.equal(c.readyState, 1);
  assert.equal(c.end(), 0);
  assert.equal(c.readyState, -2, 'readyState after end()');
  assert.equal(c.write('late'), -1, 'write after end()');
  assert.equal(c.end(), -1, 'second end()');
  await withTimeout(sClosed.promise, 3000, 'server close');
  await withTimeout(cClosed.promise, 3000, 'client close');

  assert.deepEqual(sEv, ['open', 'end', 'close']);
  assert.equal(seen.sEndState, 1);
  assert.equal(seen.sEndWrite, 3);
  assert.equal(seen.sClose.err, undefined);
  assert.equal(seen.sClose.state, -1, 'readyState inside close');
  assert.equal(seen.sClose.write, -1, 'write inside close');

  assert.deepEqual(cEv, ['data:bye', 'end', 'close']);
  assert.equal(seen.cDataState, -2, 'client still reading after end()');
  assert.equal(seen.cEndState, -2);
  assert.equal(seen.cClose.state, -1);
  assert.equal(seen.cClose.err, undefined);
  assert.equal(c.readyState, -1);
});

test('allowHalfOpen: true on the server: stays open and writable after the peer FIN', async (t) => {
  const sEv = [];
  const cEv = [];
  const seen = {};
  const sClosed = deferred();
  const cClosed = deferred();
  const server = serve(
    t,
    {
      open() {
        sEv.push('open');
      },
      data(s, d) {
        sEv.push('data:' + d);
      },
      end(s) {
        sEv.push('end');
        seen.endState = s.readyState;
        setTimeout(() => {
          seen.laterState = s.readyState;
          seen.replyN = s.write('reply');
          sEv.push('wrote');
          setTimeout(() => {
            seen.endN = s.end();
          }, 50);
        }, 150);
      },
      close(s, err) {
        sEv.push('close');
        seen.sErr = err;
        sClosed.resolve();
      },
    },
    { allowHalfOpen: true },
  );
  const c = await dial(t, server.port, {
    data(s, d) {
      cEv.push('data:' + d);
      seen.cState = s.readyState;
    },
    end() {
      cEv.push('end');
    },
    close(s, err) {
      cEv.push('close');
      seen.cErr = err;
      cClosed.resolve();
    },
  });
  assert.equal(c.write('hello'), 5);
  assert.equal(c.end(), 0);
  await withTimeout(sClosed.promise, 3000, 'server close');
  await withTimeout(cClosed.promise, 3000, 'client close');
  assert.deepEqual(sEv, ['open', 'data:hello', 'end', 'wrote', 'close']);
  assert.equal(seen.endState, 1);
  assert.equal(seen.laterState, 1, 'server socket still open after end');
  assert.equal(seen.replyN, 5);
  assert.equal(seen.endN, 0);
  assert.equal(seen.sErr, undefined);
  assert.deepEqual(cEv, ['data:reply', 'end', 'close']);
  assert.equal(seen.cState, -2);
  assert.equal(seen.cErr, undefined);
});

test('allowHalfOpen: true on the client: stays open and writable after the server FIN', async (t) => {
  const sEv = [];
  const cEv = [];
  const seen = {};
  const sClosed = deferred();
  const cClosed = deferred();
  const server = serve(t, {
    open() {
      sEv.push('open');
    },
    data(s, d) {
      sEv.push('data:' + d);
      if (String(d) === 'ping') {
        s.end();
        seen.sAfterEnd = s.readyState;
      } else {
        seen.sDataState = s.readyState;
      }
    },
    end() {
      sEv.push('end');
    },
    close(s, err) {
      sEv.push('close');
      seen.sErr = err;
      sClosed.resolve();
    },
  });
  const c = await dial(
    t,
    server.port,
    {
      data(s, d) {
        cEv.push('data:' + d);
      },
      end(s) {
        cEv.push('end');
        seen.cEndState = s.readyState;
        setTimeout(() => {
          seen.cLaterState = s.readyState;
          seen.replyN = s.write('reply');
          cEv.push('wrote');
          setTimeout(() => s.end(), 50);
        }, 150);
      },
      close(s, err) {
        cEv.push('close');
        seen.cErr = err;
        cClosed.resolve();
      },
    },
    { allowHalfOpen: true },
  );
  await until(() => sEv.includes('open'), 3000, 'server open');
  c.write('ping');
  await withTimeout(sClosed.promise, 3000, 'server close');
  await withTimeout(cClosed.promise, 3000, 'client close');
  assert.equal(seen.sAfterEnd, -2);
  assert.equal(seen.sDataState, -2, 'server reads after its end()');
  assert.deepEqual(sEv, ['open', 'data:ping', 'data:reply', 'end', 'close']);
  assert.equal(seen.cEndState, 1);
  assert.equal(seen.cLaterState, 1);
  assert.equal(seen.replyN, 5);
  assert.deepEqual(cEv, ['end', 'wrote', 'close']);
  assert.equal(seen.sErr, undefined);
  assert.equal(seen.cErr, undefined);
});

// ---- shutdown --------------------------------------------------------------------------------

test('shutdown(): FIN, writes return -1, reading goes on, peer FIN calls end before close', async (t) => {
  const sEv = [];
  const cEv = [];
  const seen = {};
  const cClosed = deferred();
  const server = serve(t, {
    open() {
      sEv.push('open');
    },
    data(s, d) {
      sEv.push('data:' + d);
    },
    end(s) {
      sEv.push('end');
      s.write('bye');
    },
    close() {
      sEv.push('close');
    },
  });
  const c = await dial(t, server.port, {
    data(s, d) {
      cEv.push('data:' + d);
      seen.dataState = s.readyState;
    },
    end() {
      cEv.push('end');
    },
    close(s, err) {
      cEv.push('close');
      seen.err = err;
      cClosed.resolve();
    },
  });
  await until(() => sEv.includes('open'), 3000, 'server open');
  c.write('hi');
  await until(() => sEv.includes('data:hi'), 3000, 'server data');
  c.shutdown();
  assert.equal(c.readyState, -2);
  assert.equal(c.write('x'), -1);
  await withTimeout(cClosed.promise, 3000, 'client close');
  assert.deepEqual(sEv, ['open', 'data:hi', 'end', 'close']);
  assert.deepEqual(cEv, ['data:bye', 'end', 'close']);
  assert.equal(seen.dataState, -2);
  assert.equal(seen.err, undefined);
});

test('shutdown(true) stops reading', async (t) => {
  const accepted = [];
  const got = [];
  const server = serve(t, echoTable(accepted));
  const c = await dial(t, server.port, {
    data(s, d) {
      got.push(String(d));
    },
  });
  await until(() => accepted.length === 1, 3000, 'server open');
  c.shutdown(true);
  accepted[0].write('after-shutdown-read');
  await sleep(300);
  assert.deepEqual(got, [], 'no data after shutdown(true)');
});

test("shutdown(true): the peer's FIN still ends the socket (end, then close), with no data", async (t) => {
  const accepted = [];
  const events = [];
  const closed = deferred();
  const server = serve(t, echoTable(accepted));
  const c = await dial(t, server.port, {
    data(s, d) {
      events.push(`data:${d}`);
    },
    end() {
      events.push('end');
    },
    close(s, err) {
      events.push(`close:${err && err.code}`);
      closed.resolve();
    },
  });
  await until(() => accepted.length === 1, 3000, 'server open');
  c.shutdown(true);
  accepted[0].end('bye');
  await withTimeout(closed.promise, 3000, 'close after the peer ended');
  assert.deepEqual(events, ['end', 'close:undefined']);
});

for (const order of ['shutdown then pause', 'pause, bytes unread, then shutdown']) test(`shutdown(true) on a paused socket (${order}): what arrives is dropped (the peer is not held back), end waits for resume()`, async (t) => {
  const events = [];
  const closed = deferred();
  const opened = deferred();
  const late = order !== 'shutdown then pause';
  const server = serve(t, {
    open(s) {
      if (!late) s.shutdown(true);
      s.pause();
      opened.resolve(s);
      // Once the kernel's buffers are full and the peer is held back.
      if (late) setTimeout(() => s.shutdown(true), 300);
    },
    data(s, d) {
      events.push(`data:${d.length}`);
    },
    end() {
      events.push('end');
    },
    close(s, err) {
      events.push(`close:${err && err.code}`);
      closed.resolve();
    },
  });
  const peer = net.connect(server.port, HOST);
  t.after(() => peer.destroy());
  await new Promise((resolve) => peer.once('connect', resolve));
  const s = await withTimeout(opened.promise, 3000, 'server open');
  // Far more than the kernel's buffers hold: it can only all go if the paused socket drops it.
  const chunk = Buffer.alloc(1 << 20, 7);
  let written = 0;
  const finished = new Promise((resolve, reject) => {
    peer.on('error', reject);
    const more = () => {
      while (written < 32) {
        written++;
        if (!peer.write(chunk)) return peer.once('drain', more);
      }
      peer.end(resolve);
    };
    more();
  });
  await withTimeout(finished, 10000, 'the peer wrote 32 MiB and its FIN to a paused, shut-down socket');
  await sleep(100);
  assert.deepEqual(events, [], 'nothing while paused');
  s.resume();
  await withTimeout(closed.promise, 3000, 'close after resume()');
  assert.deepEqual(events, ['end', 'close:undefined']);
});

test('half-open: a reset after the peer ended still closes the socket (no write needed to notice)', async (t) => {
  const server = serve(t, {
    open(s) {
      s.close();
    },
    data() {},
  });
  const events = [];
  const closed = deferred();
  await dial(t, server.port, {
    data() {},
    end(s) {
      // The peer is gone: this write is answered with a reset.
      events.push(`end:write=${s.write('bye')}`);
    },
    close(s, err) {
      events.push(`close:${err && err.code}`);
      closed.resolve();
    },
  }, { allowHalfOpen: true });
  await withTimeout(closed.promise, 3000, 'close after the reset');
  assert.equal(events[0], 'end:write=3');
  assert.ok(['close:EPIPE', 'close:ECONNRESET'].includes(events[1]), events.join(' '));
  assert.equal(events.length, 2);
});

// ---- close / terminate -------------------------------------------------------------------------

test('close(): close handler runs before close() returns, exactly once; peer sees end then close', async (t) => {
  const sEv = [];
  let sErr = 'unset';
  const sClosed = deferred();
  const server = serve(t, {
    open() {
      sEv.push('open');
    },
    data() {},
    end() {
      sEv.push('end');
    },
    close(s, err) {
      sEv.push('close');
      sErr = err;
      sClosed.resolve();
    },
  });
  let closes = 0;
  let closeErr = 'unset';
  let state;
  const c = await dial(t, server.port, {
    data() {},
    close(s, err) {
      closes++;
      closeErr = err;
      state = s.readyState;
    },
  });
  await until(() => sEv.includes('open'), 3000, 'server open');
  c.close();
  assert.equal(closes, 1, 'close handler ran before close() returned');
  assert.equal(closeErr, undefined);
  assert.equal(state, -1);
  assert.equal(c.readyState, -1);
  c.close();
  c.terminate();
  c.end();
  await withTimeout(sClosed.promise, 3000, 'server close');
  await sleep(50);
  assert.equal(closes, 1, 'close handler ran exactly once');
  assert.deepEqual(sEv, ['open', 'end', 'close']);
  assert.equal(sErr, undefined);
});

test('terminate(): local close before it returns; peer close gets ECONNRESET', async (t) => {
  let sCloses = 0;
  let sState;
  const cClosed = deferred();
  const server = serve(t, {
    data(s) {
      s.terminate();
      sState = { closes: sCloses, state: s.readyState };
      s.terminate();
    },
    close() {
      sCloses++;
    },
  });
  const cEv = [];
  const c = await dial(t, server.port, {
    data() {},
    end() {
      cEv.push('end');
    },
    error(s, err) {
      cEv.push('error');
    },
    close(s, err) {
      cEv.push('close');
      cClosed.resolve(err);
    },
  });
  c.write('go');
  const err = await withTimeout(cClosed.promise, 3000, 'client close');
  assert.equal(sState.closes, 1, 'server close handler ran before terminate() returned');
  assert.equal(sState.state, -1);
  assert.equal(sCloses, 1);
  assert.ok(err instanceof Error, `peer close error: ${err}`);
  assert.equal(err.code, 'ECONNRESET');
  assert.equal(cEv.at(-1), 'close');
  assert.equal(c.readyState, -1);
});

// ---- stop ------------------------------------------------------------------------------------------

test('stop(): refuses new connects, keeps existing sockets working, idempotent, port reusable at once', async (t) => {
  const accepted = [];
  const server = serve(t, echoTable(accepted));
  const port = server.port;
  const col = collector();
  const c = await dial(t, port, col.table);
  c.write('one');
  await until(() => col.text === 'one', 3000, 'echo before stop');

  server.stop();
  await assert.rejects(
    withTimeout(connect({ hostname: HOST, port, socket: { data() {} } }), 3000, 'refused connect'),
    (err) => err.code === 'ECONNREFUSED',
  );
  c.write('two');
  await until(() => col.text === 'onetwo', 3000, 'echo after stop');
  assert.equal(accepted[0].readyState, 1);
  assert.doesNotThrow(() => server.stop());
  assert.equal(accepted[0].readyState, 1, 'second stop() does not close sockets');

  const again = listen({ hostname: HOST, port, socket: echoTable() });
  t.after(() => again.stop(true));
  assert.equal(again.port, port);
  const col2 = collector();
  const c2 = await dial(t, port, col2.table);
  c2.write('three');
  await until(() => col2.text === 'three', 3000, 'echo on the new listener');
  c.write('four');
  await until(() => col.text === 'onetwofour', 3000, 'old socket still works');
});

async function checkStopAll(t, stopAll) {
  const closes = new Map();
  const accepted = [];
  const server = serve(t, {
    open(s) {
      accepted.push(s);
    },
    data() {},
    close(s, err) {
      const rec = closes.get(s) || { n: 0 };
      rec.n++;
      rec.err = err;
      closes.set(s, rec);
    },
  });
  const clients = [];
  for (let i = 0; i < 3; i++) {
    const col = collector();
    col.closed = deferred();
    const close = col.table.close;
    col.table.close = (s, err) => {
      close(s, err);
      col.closed.resolve();
    };
    clients.push({ col, c: await dial(t, server.port, col.table) });
  }
  await until(() => accepted.length === 3, 3000, '3 accepted');
  stopAll(server);
  assert.equal(closes.size, 3, 'every accepted socket closed before stop returned');
  for (const s of accepted) {
    assert.equal(closes.get(s).n, 1);
    assert.equal(closes.get(s).err, undefined);
    assert.equal(s.readyState, -1);
  }
  for (const { col } of clients) await withTimeout(col.closed.promise, 3000, 'peer close');
  for (const { col } of clients) assert.deepEqual(col.events, ['end', 'close']);
  for (const { col } of clients) assert.equal(col.closeErr, undefined, 'graceful FIN, not a reset');
  await assert.rejects(
    withTimeout(connect({ hostname: HOST, port: server.port, socket: { data() {} } }), 3000, 'refused connect'),
    (err) => err.code === 'ECONNREFUSED',
  );
  server.stop(true);
  await sleep(50);
  for (const s of accepted) assert.equal(closes.get(s).n, 1, 'close exactly once');
}

test('stop(true): every accepted socket closes once before stop returns; peers see end then close', async (t) => {
  await checkStopAll(t, (server) => server.stop(true));
});

test('listener[Symbol.dispose]() behaves as stop(true)', async (t) => {
  await checkStopAll(t, (server) => {
    assert.equal(typeof server[DISPOSE], 'function');
    server[DISPOSE]();
  });
});

test('socket[Symbol.dispose]() is end(): returns what end() returns, the peer sees end', async (t) => {
  const ended = deferred();
  const server = serve(t, {
    data() {},
    end() {
      ended.resolve();
    },
  });
  const client = await dial(t, server.port, { data() {} });
  assert.equal(typeof client[DISPOSE], 'function');
  assert.equal(client[DISPOSE](), 0, 'end() with nothing to write returns 0');
  assert.equal(client.readyState, -2, 'ending after dispose');
  assert.equal(client[DISPOSE](), -1, 'a second dispose returns -1, as a second end() does');
  await withTimeout(ended.promise, 3000, 'the peer sees end');
});

test('reload() on a closed accepted socket changes nothing (its listener keeps its table)', async (t) => {
  const log = [];
  let first;
  const server = serve(t, {
    open(s) {
      first = first || s;
      log.push('v1:open');
    },
    data(s, d) {
      log.push(`v1:data:${d}`);
    },
  });
  const c1 = await dial(t, server.port, { data() {} });
  await until(() => first !== undefined, 3000, 'accept');
  first.close();
  c1.close();
  assert.equal(first.readyState, -1);
  first.reload({ socket: { open() { log.push('v2:open'); }, data(s, d) { log.push(`v2:data:${d}`); } } });
  const c2 = await dial(t, server.port, { data() {} });
  c2.write('hi');
  await until(() => log.includes('v1:data:hi') || log.includes('v2:data:hi'), 3000, 'data on the second socket');
  assert.deepEqual(log, ['v1:open', 'v1:open', 'v1:data:hi']);
});

// ---- reload --------------------------------------------------------------------------------

for (const shape of ['{ socket }', 'bare table']) {
  const wrap = (table) => (shape === '{ socket }' ? { socket: table } : table);

  test(`listener.reload(${shape}) applies to existing and future sockets`, async (t) => {
    const log = [];
    const server = serve(t, {
      data(s, d) {
        log.push('A:' + d);
      },
      close() {
        log.push('A:close');
      },
    });
    const c1 = await dial(t, server.port, { data() {} });
    c1.write('x');
    await until(() => log.includes('A:x'), 3000, 'old handler');
    server.reload(
      wrap({
        data(s, d) {
          log.push('B:' + d);
        },
        close() {
          log.push('B:close');
        },
      }),
    );
    c1.write('y');
    await until(() => log.includes('B:y'), 3000, 'new handler on existing socket');
    const c2 = await dial(t, server.port, { data() {} });
    c2.write('z');
    await until(() => log.includes('B:z'), 3000, 'new handler on new socket');
    c1.close();
    await until(() => log.includes('B:close'), 3000, 'new close handler');
    assert.deepEqual(log, ['A:x', 'B:y', 'B:z', 'B:close']);
  });

  test(`client socket.reload(${shape}) replaces its table`, async (t) => {
    const accepted = [];
    const server = serve(t, echoTable(accepted));
    const log = [];
    const c = await dial(t, server.port, {
      data(s, d) {
        log.push('A:' + d);
      },
    });
    c.write('1');
    await until(() => log.length === 1, 3000, 'first echo');
    c.reload(
      wrap({
        data(s, d) {
          log.push('B:' + d);
        },
        close() {
          log.push('B:close');
        },
      }),
    );
    c.write('2');
    await until(() => log.length === 2, 3000, 'second echo');
    c.close();
    assert.deepEqual(log, ['A:1', 'B:2', 'B:close']);
  });

  test(`accepted socket.reload(${shape}) replaces the listener's table`, async (t) => {
    const accepted = [];
    const log = [];
    const server = serve(t, {
      open(s) {
        accepted.push(s);
      },
      data(s, d) {
        log.push('A:' + d);
      },
    });
    const c1 = await dial(t, server.port, { data() {} });
    const c2 = await dial(t, server.port, { data() {} });
    await until(() => accepted.length === 2, 3000, '2 accepted');
    c1.write('a');
    await until(() => log.length === 1, 3000, 'A');
    accepted[0].reload(
      wrap({
        open(s) {
          accepted.push(s);
        },
        data(s, d) {
          log.push('B:' + d);
        },
      }),
    );
    c2.write('b');
    await until(() => log.length === 2, 3000, 'other socket of the server');
    c1.write('c');
    await until(() => log.length === 3, 3000, 'same socket');
    const c3 = await dial(t, server.port, { data() {} });
    c3.write('d');
    await until(() => log.length === 4, 3000, 'future socket');
    assert.deepEqual(log, ['A:a', 'B:b', 'B:c', 'B:d']);
    assert.equal(accepted.length, 3, 'new open handler ran for the future socket');
  });
}

// ---- timeout ---------------------------------------------------------------------------------

test('timeout(1): fires after ~1 s idle, writes in the handler arrive, then the socket closes', async (t) => {
  const sEv = [];
  const seen = {};
  const sClosed = deferred();
  const server = serve(t, {
    open(s) {
      seen.t0 = Date.now();
      s.timeout(1);
    },
    data() {},
    timeout(s) {
      sEv.push('timeout');
      seen.elapsed = Date.now() - seen.t0;
      seen.writeN = s.write('bye');
    },
    close(s, err) {
      sEv.push('close');
      seen.err = err;
      sClosed.resolve();
    },
  });
  const col = collector();
  col.closed = deferred();
  const c = await dial(t, server.port, {
    ...col.table,
    close(s, err) {
      col.table.close(s, err);
      col.closed.resolve();
    },
  });
  await withTimeout(sClosed.promise, 4000, 'server close after timeout');
  await withTimeout(col.closed.promise, 3000, 'client close');
  assert.deepEqual(sEv, ['timeout', 'close']);
  assert.ok(seen.elapsed >= 800 && seen.elapsed <= 2500, `timeout after ${seen.elapsed} ms`);
  assert.equal(seen.writeN, 3);
  assert.equal(seen.err, undefined);
  assert.equal(col.text, 'bye');
  assert.deepEqual(col.events, ['data', 'end', 'close']);
  assert.equal(c.readyState, -1);
});

test('timeout is reset by reads and by writes', async (t) => {
  const fired = new Map();
  const accepted = [];
  const server = serve(t, {
    open(s) {
      accepted.push(s);
      s.timeout(1);
    },
    data() {},
    timeout(s) {
      fired.set(s, Date.now());
    },
  });
  const cRead = await dial(t, server.port, { data() {} });
  const cWrite = await dial(t, server.port, { data() {} });
  await until(() => accepted.length === 2, 3000, '2 accepted');
  const [sRead, sWrite] = accepted;
  const start = Date.now();
  let lastRead = start;
  let lastWrite = start;
  while (Date.now() - start < 2000) {
    await sleep(300);
    assert.ok(cRead.write('.') > 0);
    lastRead = Date.now();
    assert.ok(sWrite.write('.') > 0);
    lastWrite = Date.now();
  }
  assert.equal(fired.size, 0, 'no timeout while traffic flows');
  await until(() => fired.size === 2, 4000, 'both timeouts');
  const afterRead = fired.get(sRead) - lastRead;
  const afterWrite = fired.get(sWrite) - lastWrite;
  assert.ok(afterRead >= 800 && afterRead <= 2500, `reads: fired ${afterRead} ms after the last read`);
  assert.ok(afterWrite >= 800 && afterWrite <= 2500, `writes: fired ${afterWrite} ms after the last write`);
});

test('timeout handler re-arming with timeout(n) keeps the socket open', async (t) => {
  const times = [];
  const seen = {};
  const sClosed = deferred();
  const server = serve(t, {
    open(s) {
      seen.t0 = Date.now();
      s.timeout(1);
    },
    data() {},
    timeout(s) {
      times.push(Date.now() - seen.t0);
      if (times.length === 1) s.timeout(1);
      seen.stateInHandler = s.readyState;
    },
    close() {
      seen.closedAt = Date.now() - seen.t0;
      seen.timeoutsAtClose = times.length;
      sClosed.resolve();
    },
  });
  await dial(t, server.port, { data() {} });
  await until(() => times.length === 1, 4000, 'first timeout');
  await sleep(100);
  assert.equal(seen.closedAt, undefined, 'not closed after a re-armed timeout');
  await withTimeout(sClosed.promise, 4000, 'close after second timeout');
  assert.equal(times.length, 2);
  assert.equal(seen.timeoutsAtClose, 2);
  const gap = times[1] - times[0];
  assert.ok(gap >= 800 && gap <= 2500, `second timeout ${gap} ms after the first`);
});

test('timeout(0) disables the timer', async (t) => {
  let fired = 0;
  const accepted = [];
  const server = serve(t, {
    open(s) {
      accepted.push(s);
      s.timeout(1);
      s.timeout(0);
    },
    data() {},
    timeout() {
      fired++;
    },
  });
  const col = collector();
  const c = await dial(t, server.port, col.table);
  await sleep(1700);
  assert.equal(fired, 0);
  assert.equal(accepted[0].readyState, 1);
  assert.equal(c.readyState, 1);
  assert.deepEqual(col.events, []);
});

// ---- pause / resume ---------------------------------------------------------------------------

test('pause()/resume(): no data while paused, everything after resume, in order', async (t) => {
  const accepted = [];
  const ev = [];
  let text = '';
  const server = serve(t, {
    open(s) {
      accepted.push(s);
      s.pause();
    },
    data(s, d) {
      ev.push('data');
      text += d;
    },
    end() {
      ev.push('end');
    },
    close() {
      ev.push('close');
    },
  });
  const c = await dial(t, server.port, { data() {} }, { allowHalfOpen: true });
  await until(() => accepted.length === 1, 3000, 'accepted');
  let expected = '';
  for (let i = 0; i < 20; i++) {
    const piece = `<${i}>`;
    expected += piece;
    assert.equal(c.write(piece), piece.length);
    if (i % 5 === 0) await sleep(20);
  }
  const big = Buffer.alloc(200000, 'z').toString();
  let off = 0;
  // Send until the kernel takes no more (the paused reader's window is the backpressure) or all is out.
  for (let i = 0; off < big.length && i < 1000; i++) {
    const n = c.write(big, off);
    assert.ok(n >= 0, `write returned ${n}`);
    off += n;
    if (n === 0) break;
  }
  await sleep(300);
  assert.deepEqual(ev, [], 'nothing delivered while paused');
  accepted[0].resume();
  // Finish sending what did not fit, then end.
  while (off < big.length) {
    const n = c.write(big, off);
    off += n;
    if (n === 0) await sleep(5);
  }
  c.end();
  expected += big;
  await until(() => ev.includes('end'), 5000, 'end after resume');
  assert.equal(text.length, expected.length);
  assert.equal(text, expected);
  assert.equal(ev.indexOf('end'), ev.length - 1 - (ev.includes('close') ? 1 : 0), 'end after all data');
  assert.ok(ev.filter((e) => e === 'data').length >= 1);
});

test('end from the peer while paused is held until resume, after the data', async (t) => {
  const accepted = [];
  const ev = [];
  const server = serve(t, {
    open(s) {
      accepted.push(s);
      s.pause();
    },
    data(s, d) {
      ev.push('data:' + d);
    },
    end() {
      ev.push('end');
    },
    close() {
      ev.push('close');
    },
  });
  const c = await dial(t, server.port, { data() {} });
  await until(() => accepted.length === 1, 3000, 'accepted');
  c.write('abc');
  c.end();
  await sleep(300);
  assert.deepEqual(ev, []);
  accepted[0].resume();
  await until(() => ev.includes('close'), 3000, 'close after resume');
  assert.deepEqual(ev, ['data:abc', 'end', 'close']);
});

// ---- ref / unref, socket options ----------------------------------------------------------------

test('ref/unref on open and closed sockets; setNoDelay/setKeepAlive return booleans', async (t) => {
  const accepted = [];
  const server = serve(t, echoTable(accepted));
  const c = await dial(t, server.port, { data() {} });
  await until(() => accepted.length === 1, 3000, 'accepted');
  for (const s of [c, accepted[0]]) {
    assert.doesNotThrow(() => {
      s.unref();
      s.unref();
      s.ref();
      s.ref();
    });
    assert.equal(s.setNoDelay(), true);
    assert.equal(s.setNoDelay(false), true);
    assert.equal(s.setNoDelay(true), true);
    assert.equal(s.setKeepAlive(true, 1000), true);
    assert.equal(s.setKeepAlive(false), true);
  }
  c.close();
  await until(() => accepted[0].readyState === -1, 3000, 'server side closed');
  for (const s of [c, accepted[0]]) {
    assert.doesNotThrow(() => {
      s.ref();
      s.unref();
      s.ref();
    });
    assert.equal(typeof s.setNoDelay(), 'boolean');
    assert.equal(typeof s.setKeepAlive(true, 1000), 'boolean');
  }
});

test('setNoDelay() on a unix socket returns true (no Nagle delay there), as Bun; setKeepAlive() false', async (t) => {
  const unix = `\0nbt-nodelay-${process.pid}`;
  const accepted = [];
  const server = listen({ unix, socket: { open: (s) => accepted.push(s), data() {} } });
  t.after(() => server.stop(true));
  const c = await connect({ unix, socket: { data() {} } });
  t.after(() => c.terminate());
  await until(() => accepted.length === 1, 3000, 'accepted');
  for (const s of [c, accepted[0]]) {
    assert.equal(s.setNoDelay(), true);
    assert.equal(s.setNoDelay(false), true);
    assert.equal(s.setKeepAlive(true, 1000), false);
  }
});

test('timeout() on a closed socket is a no-op whatever its argument, as Bun; on an open one it validates', async (t) => {
  const server = serve(t, { data() {} });
  const c = await dial(t, server.port, { data() {} });
  assert.throws(() => c.timeout(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => c.timeout(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  c.close();
  for (const arg of [undefined, -1, NaN, Infinity, 'x', 5, 0]) assert.equal(c.timeout(arg), undefined);
});

// ---- listener / data properties ------------------------------------------------------------------

test('socket.listener: the listener for accepted sockets, undefined for clients and once closed', async (t) => {
  const accepted = [];
  let listenerInOpen;
  let listenerInClose = 'unset';
  const server = serve(t, {
    open(s) {
      accepted.push(s);
      listenerInOpen = s.listener;
    },
    data() {},
    close(s) {
      listenerInClose = s.listener;
    },
  });
  const c = await dial(t, server.port, { data() {} });
  await until(() => accepted.length === 1, 3000, 'accepted');
  assert.equal(listenerInOpen, server);
  assert.equal(accepted[0].listener, server);
  assert.equal(c.listener, undefined);
  accepted[0].close();
  assert.equal(listenerInClose, undefined);
  assert.equal(accepted[0].listener, undefined);
});

test('listener.data is options.data, assignable; accepted sockets start with it; client data is options.data', async (t) => {
  const d1 = { name: 'one' };
  const d2 = { name: 'two' };
  const accepted = [];
  const dataAtOpen = [];
  const server = serve(
    t,
    {
      open(s) {
        accepted.push(s);
        dataAtOpen.push(s.data);
      },
      data() {},
    },
    { data: d1 },
  );
  assert.equal(server.data, d1);
  const cd = { client: true };
  const c1 = await dial(t, server.port, { data() {} }, { data: cd });
  assert.equal(c1.data, cd);
  await until(() => accepted.length === 1, 3000, 'first accepted');
  assert.equal(dataAtOpen[0], d1);
  assert.equal(accepted[0].data, d1);

  server.data = d2;
  assert.equal(server.data, d2);
  await dial(t, server.port, { data() {} });
  await until(() => accepted.length === 2, 3000, 'second accepted');
  assert.equal(dataAtOpen[1], d2);
  assert.equal(accepted[1].data, d2);
  assert.equal(accepted[0].data, d1, 'earlier sockets keep their data');

  const mine = { own: 1 };
  accepted[1].data = mine;
  assert.equal(accepted[1].data, mine);
  assert.equal(server.data, d2, 'socket.data assignment does not touch listener.data');
  const c3 = await dial(t, server.port, { data() {} });
  assert.equal(c3.data, undefined);
});
