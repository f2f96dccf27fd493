'use strict';
// Fault handling (SPEC.md): peer resets mid-transfer in both directions, a peer that vanishes while
// our write is only partly taken, re-entrant close/end/terminate/reload/stop(true) from every handler,
// throws in every handler position (and inside `error` itself), listener stop() / stop(true) while
// sockets are mid-write, names that do not resolve, and malformed TLS option shapes.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { listen, connect } = require('..');
const { HOST, sleep, deferred, withTimeout, until, sha256, runChild, cleanup, toBuffer, makeWriter } = require('./helpers');
const { fixtures } = require('./tls-fixtures');

const MiB = 1 << 20;
const CHUNK = Buffer.alloc(MiB, 0x5a);

/** Records every uncaughtException during one test (node:test would also report them). */
function watchUncaught(t) {
  const seen = [];
  const on = (err) => seen.push(err);
  process.on('uncaughtException', on);
  t.after(() => process.off('uncaughtException', on));
  return seen;
}

/** Writes 1 MiB chunks until the kernel takes fewer bytes than given; returns that count. */
function fillUntilShort(s) {
  for (let i = 0; i < 512; i++) {
    const n = s.write(CHUNK);
    if (n < CHUNK.length) return n;
  }
  throw new Error('write never came back short');
}

/** A fresh listener + client echo round trip: the process (and its loop thread) still works. */
async function assertEchoWorks() {
  const got = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      data(s, chunk) {
        s.write(chunk);
      },
    },
  });
  let client;
  try {
    let text = '';
    client = await withTimeout(
      connect({
        hostname: HOST,
        port: server.port,
        socket: {
          data(s, chunk) {
            text += toBuffer(chunk).toString();
            if (text === 'ping-after') got.resolve(text);
          },
        },
      }),
      3000,
      'fresh echo connect',
    );
    assert.equal(client.write('ping-after'), 10);
    assert.equal(await withTimeout(got.promise, 3000, 'fresh echo reply'), 'ping-after');
  } finally {
    if (client) client.close();
    server.stop(true);
  }
}

// ---- peer reset mid-transfer --------------------------------------------------------------------

/**
 * One side is ours (`server`: an accepted socket of listen(); `client`: a connect() socket); the
 * peer is node:net (reset with resetAndDestroy) or our own socket (reset with terminate()). Data
 * flows `toPeer` (we send) or from the peer; after 4 MiB the peer resets while still streaming.
 */
const RESET_CASES = [
  { ours: 'server', peer: 'net', weSend: false },
  { ours: 'server', peer: 'net', weSend: true },
  { ours: 'client', peer: 'net', weSend: false },
  { ours: 'client', peer: 'net', weSend: true },
  { ours: 'server', peer: 'ours', weSend: false },
  { ours: 'server', peer: 'ours', weSend: true },
  { ours: 'client', peer: 'ours', weSend: false },
  { ours: 'client', peer: 'ours', weSend: true },
];

for (const c of RESET_CASES) {
  const peerName = c.peer === 'net' ? 'node:net peer resetAndDestroy()' : 'our peer terminate()';
  const dir = c.weSend ? 'while we send' : 'while we receive';
  test(`peer reset mid-transfer: our ${c.ours}, ${peerName}, ${dir}: close(s, ECONNRESET) once`, async (t) => {
    const uncaught = watchUncaught(t);
    const RESET_AT = 4 * MiB;
    const closes = [];
    const closed = deferred();
    let ourSocket;
    let ourReceived = 0;
    let peerReceived = 0;
    let peerReset = null; // () => void, set once the peer exists
    let resetDone = false;
    const resetPeer = () => {
      if (resetDone || !peerReset) return;
      resetDone = true;
      setImmediate(peerReset);
    };

    // Our side's pump (when we send): 1 MiB at a time until short, more on drain, stop when closed.
    const pumpOurs = (s) => {
      for (;;) {
        const n = s.write(CHUNK);
        if (n < CHUNK.length) return;
      }
    };
    const ourTable = {
      open(s) {
        ourSocket = s;
        if (c.weSend) pumpOurs(s);
      },
      data(s, chunk) {
        ourReceived += chunk.length;
        if (!c.weSend && ourReceived >= RESET_AT) resetPeer();
      },
      drain(s) {
        if (c.weSend) pumpOurs(s);
      },
      close(s, err) {
        closes.push(err);
        closed.resolve();
      },
    };

    // The peer's behaviour, either as node:net or as our own socket.
    const onPeerData = (len) => {
      peerReceived += len;
      if (c.weSend && peerReceived >= RESET_AT) resetPeer();
    };
    const pumpNet = (sock) => {
      while (!sock.destroyed && sock.write(CHUNK));
      if (!sock.destroyed) sock.once('drain', () => pumpNet(sock));
    };
    const wireNetPeer = (sock) => {
      sock.on('error', () => {});
      sock.on('data', (d) => onPeerData(d.length));
      peerReset = () => sock.resetAndDestroy();
      if (!c.weSend) pumpNet(sock);
    };
    const peerTable = {
      open(s) {
        peerReset = () => s.terminate();
        if (!c.weSend) pumpOurs(s);
      },
      data(s, chunk) {
        onPeerData(chunk.length);
      },
      drain(s) {
        if (!c.weSend) pumpOurs(s);
      },
    };

    if (c.ours === 'server') {
      const server = listen({ hostname: HOST, port: 0, socket: ourTable });
      cleanup(t, () => server.stop(true));
      if (c.peer === 'net') {
        const sock = net.connect(server.port, HOST);
        cleanup(t, () => sock.destroy());
        wireNetPeer(sock);
      } else {
        const peer = await withTimeout(connect({ hostname: HOST, port: server.port, socket: peerTable }), 3000, 'connect');
        cleanup(t, () => peer.close());
      }
    } else {
      let server;
      if (c.peer === 'net') {
        server = net.createServer((sock) => wireNetPeer(sock));
        await new Promise((resolve) => server.listen(0, HOST, resolve));
        cleanup(t, () => server.close());
      } else {
        server = listen({ hostname: HOST, port: 0, socket: peerTable });
        cleanup(t, () => server.stop(true));
      }
      const port = c.peer === 'net' ? server.address().port : server.port;
      const client = await withTimeout(connect({ hostname: HOST, port, socket: ourTable }), 3000, 'connect');
      cleanup(t, () => client.close());
    }

    await withTimeout(closed.promise, 8000, `our ${c.ours}'s close after the peer's reset (received ${ourReceived}, peer received ${peerReceived})`);
    await sleep(100); // a second close would come now
    assert.ok(resetDone, 'the peer reset (our side did not close before that)');
    assert.equal(closes.length, 1, 'close ran exactly once');
    const [err] = closes;
    assert.ok(err instanceof Error, `close got an Error, not ${err}`);
    assert.equal(err.code, 'ECONNRESET', `close error: ${err && err.message}`);
    assert.equal(ourSocket.readyState, -1);
    assert.equal(ourSocket.write(CHUNK), -1, 'write after the reset returns -1');
    assert.deepEqual(uncaught, []);
  });
}

// ---- the peer vanishes while our write is only partly taken -------------------------------------

for (const c of [
  { ours: 'server', peer: 'net' },
  { ours: 'client', peer: 'net' },
  { ours: 'server', peer: 'ours' },
  { ours: 'client', peer: 'ours' },
]) {
  test(`partial write, then the peer resets (our ${c.ours}, peer ${c.peer}): close once with an error, write -1, no drain after close`, async (t) => {
    const uncaught = watchUncaught(t);
    const events = [];
    const closed = deferred();
    const full = deferred();
    let ourSocket;
    let short = null;
    const ourTable = {
      open(s) {
        ourSocket = s;
        // The peer never reads: the kernel takes only part of what we write.
        short = fillUntilShort(s);
        full.resolve();
      },
      data() {},
      drain() {
        events.push('drain');
      },
      close(s, err) {
        events.push('close');
        closed.resolve(err);
      },
      error(s, err) {
        events.push(`error:${err && err.message}`);
      },
    };
    let resetPeer;
    const peerTable = {
      open(s) {
        s.pause(); // never reads
        resetPeer = () => s.terminate();
      },
      data() {},
    };

    if (c.ours === 'server') {
      const server = listen({ hostname: HOST, port: 0, socket: ourTable });
      cleanup(t, () => server.stop(true));
      if (c.peer === 'net') {
        const sock = net.connect({ port: server.port, host: HOST });
        sock.pause();
        sock.on('error', () => {});
        resetPeer = () => sock.resetAndDestroy();
        cleanup(t, () => sock.destroy());
      } else {
        const peer = await withTimeout(connect({ hostname: HOST, port: server.port, socket: peerTable }), 3000, 'connect');
        cleanup(t, () => peer.close());
      }
    } else {
      let port;
      if (c.peer === 'net') {
        const server = net.createServer({ pauseOnConnect: true }, (sock) => {
          sock.on('error', () => {});
          resetPeer = () => sock.resetAndDestroy();
        });
        await new Promise((resolve) => server.listen(0, HOST, resolve));
        cleanup(t, () => server.close());
        port = server.address().port;
      } else {
        const server = listen({ hostname: HOST, port: 0, socket: peerTable });
        cleanup(t, () => server.stop(true));
        port = server.port;
      }
      const client = await withTimeout(connect({ hostname: HOST, port, socket: ourTable }), 3000, 'connect');
      cleanup(t, () => client.close());
    }

    await withTimeout(full.promise, 5000, 'the first short write');
    assert.ok(short >= 0 && short < CHUNK.length, `short write count ${short}`);
    await until(() => resetPeer, 3000, 'the peer to be accepted');
    await sleep(50);
    // The kernel may still move bytes from our send buffer into the peer's receive buffer after the
    // short write, and a `drain` for that room is legitimate; nothing else may have happened yet.
    assert.ok(events.every((e) => e === 'drain'), `only drain before the peer vanishes: ${events}`);
    resetPeer();
    const err = await withTimeout(closed.promise, 5000, 'our close after the peer vanished');
    assert.ok(err instanceof Error, `close(s, err) got an Error, not ${err}`);
    assert.ok(['ECONNRESET', 'EPIPE'].includes(err.code), `close error code: ${err.code} (${err.message})`);
    assert.equal(ourSocket.write(CHUNK), -1, 'write after close returns -1');
    assert.equal(ourSocket.write('x'), -1);
    await sleep(200);
    assert.equal(events.filter((e) => e === 'close').length, 1, 'close exactly once');
    assert.deepEqual(events.slice(events.indexOf('close') + 1), [], 'nothing (no drain) after close');
    assert.deepEqual(uncaught, []);
  });
}

// ---- re-entrancy matrix ---------------------------------------------------------------------------

const ACTIONS = {
  'close()': (s) => s.close(),
  'end()': (s) => s.end(),
  'terminate()': (s) => s.terminate(),
  'reload({ socket })': (s, ctx) => s.reload({ socket: { ...ctx.table } }),
  'server.stop(true)': (s, ctx) => ctx.server.stop(true),
};
const POSITIONS = ['open', 'data', 'drain', 'end', 'close'];

/**
 * `side` is the side whose handler at `position` runs `action`; the other side (the peer, also our
 * library) provokes that handler. Every socket that opens must close exactly once.
 */
async function reentrancyCase(t, side, position, actionName) {
  const uncaught = watchUncaught(t);
  const action = ACTIONS[actionName];
  const thrown = [];
  const routed = [];
  const opened = new Set();
  const closeCounts = new Map();
  const fired = deferred();
  let didFire = false;
  const ctx = { server: null, table: null };

  const run = (s) => {
    if (didFire) return;
    didFire = true;
    try {
      action(s, ctx);
    } catch (err) {
      thrown.push(err);
    }
    fired.resolve();
  };
  const common = {
    open(s) {
      opened.add(s);
    },
    close(s) {
      closeCounts.set(s, (closeCounts.get(s) || 0) + 1);
    },
    error(s, err) {
      routed.push(err);
    },
  };
  // The side under test.
  const tested = {
    open(s) {
      common.open(s);
      if (position === 'drain') fillUntilShort(s);
      if (position === 'open') run(s);
    },
    data(s) {
      if (position === 'data') run(s);
    },
    drain(s) {
      if (position === 'drain') run(s);
    },
    end(s) {
      if (position === 'end') run(s);
    },
    close(s) {
      common.close(s);
      if (position === 'close') run(s);
    },
    error: common.error,
  };
  ctx.table = tested;
  // The peer provokes the handler.
  const peer = {
    open(s) {
      common.open(s);
      if (position === 'data') s.write('x');
      if (position === 'drain') {
        s.pause();
        setTimeout(() => s.resume(), 50);
      }
      if (position === 'end') s.end();
      if (position === 'close') setImmediate(() => s.close());
    },
    data() {},
    close: common.close,
    error: common.error,
  };

  const server = listen({ hostname: HOST, port: 0, socket: side === 'server' ? tested : peer });
  ctx.server = server;
  cleanup(t, () => server.stop(true));
  let client;
  try {
    client = await withTimeout(
      connect({ hostname: HOST, port: server.port, socket: side === 'server' ? peer : tested }),
      3000,
      'connect',
    );
  } catch (err) {
    thrown.push(err);
  }
  cleanup(t, () => client && client.close());

  await withTimeout(fired.promise, 5000, `the ${side}'s ${position} handler`);
  await sleep(30);
  // Wind down whatever the action left open, then every opened socket must have closed once.
  if (client) client.close();
  server.stop(true);
  await until(() => [...opened].every((s) => closeCounts.has(s)), 3000, 'every opened socket to close');
  await sleep(30);
  assert.deepEqual(thrown, [], 'nothing thrown out of the library');
  assert.deepEqual(routed, [], 'nothing routed to error');
  assert.equal(opened.size, 2, 'both ends opened');
  for (const s of opened) assert.equal(closeCounts.get(s), 1, `close exactly once (${s === client ? 'client' : 'server socket'})`);
  for (const s of closeCounts.keys()) assert.ok(opened.has(s), 'close only for opened sockets');
  assert.deepEqual(uncaught, []);
  await assertEchoWorks();
}

for (const side of ['server', 'client']) {
  test(`re-entrancy matrix (${side} side): close/end/terminate/reload/stop(true) inside every handler`, async (t) => {
    for (const position of POSITIONS) {
      for (const actionName of Object.keys(ACTIONS)) {
        await t.test(`${actionName} inside ${position}`, (tt) => reentrancyCase(tt, side, position, actionName));
      }
    }
  });
}

// ---- a throw in every handler position ----------------------------------------------------------

const THROW_POSITIONS = ['open', 'data', 'drain', 'end', 'timeout', 'close', 'handshake'];

async function throwCase(t, side, position) {
  const uncaught = watchUncaught(t);
  const tls = position === 'handshake';
  const fx = tls ? fixtures() : null;
  const boom = new Error(`boom in ${side} ${position}`);
  const routed = [];
  const closes = [];
  const gotError = deferred();
  const closed = deferred();
  let testedSocket;
  const tested = {
    open(s) {
      testedSocket = s;
      if (position === 'drain') fillUntilShort(s);
      if (position === 'timeout') s.timeout(0.2);
      if (position === 'open') throw boom;
    },
    data() {
      if (position === 'data') throw boom;
    },
    drain() {
      if (position === 'drain') throw boom;
    },
    end() {
      if (position === 'end') throw boom;
    },
    timeout() {
      if (position === 'timeout') throw boom;
    },
    close(s, err) {
      closes.push(err);
      closed.resolve();
      if (position === 'close') throw boom;
    },
    error(s, err) {
      routed.push({ self: this, s, err });
      gotError.resolve();
    },
  };
  if (tls) {
    tested.handshake = function () {
      throw boom;
    };
  }
  const peer = {
    open(s) {
      if (position === 'data') s.write('x');
      if (position === 'drain') {
        s.pause();
        setTimeout(() => s.resume(), 50);
      }
      if (position === 'end') s.end();
      if (position === 'close') setImmediate(() => s.close());
    },
    data() {},
  };
  const serverTls = tls ? { key: fx.server.key, cert: fx.server.cert } : undefined;
  const clientTls = tls ? { ca: fx.ca.cert } : undefined;
  const server = listen({ hostname: HOST, port: 0, tls: serverTls, socket: side === 'server' ? tested : peer });
  cleanup(t, () => server.stop(true));
  const client = await withTimeout(
    connect({ hostname: HOST, port: server.port, tls: clientTls, socket: side === 'server' ? peer : tested }),
    3000,
    'connect',
  );
  cleanup(t, () => client.close());

  await withTimeout(gotError.promise, 5000, `error() after a throw in ${side} ${position}`);
  if (position === 'open' || position === 'timeout' || position === 'close') {
    // open: the socket is closed after a throw; timeout: closed as not re-armed; close: it was.
    await withTimeout(closed.promise, 3000, 'close');
  }
  await sleep(50);
  assert.equal(routed.length, 1, 'error ran exactly once');
  assert.equal(routed[0].err, boom, 'error got the thrown value itself');
  assert.equal(routed[0].s, testedSocket, 'error(s, ...) gets the socket');
  assert.equal(routed[0].self, testedSocket, 'this === socket in error');
  if (position === 'open') {
    assert.equal(closes.length, 1, 'a throw in open closes the socket (close once)');
  } else if (position === 'data' || position === 'drain' || position === 'handshake') {
    assert.equal(testedSocket.readyState, 1, 'the socket stays open after the throw');
    assert.deepEqual(closes, []);
  } else {
    assert.ok(closes.length <= 1, 'close at most once');
  }
  assert.deepEqual(uncaught, []);
}

for (const side of ['server', 'client']) {
  test(`a throw in each handler (${side} side) is routed to error(s, thrown)`, async (t) => {
    for (const position of THROW_POSITIONS) {
      const skip = position === 'handshake' && !fixtures() ? 'no openssl for TLS fixtures' : false;
      await t.test(`throw in ${position}`, { skip }, (tt) => throwCase(tt, side, position));
    }
  });
}

test('a throw in connectError: the promise rejects with the thrown value, no other handler runs', async () => {
  const l = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  const boom = new Error('boom in connectError');
  const calls = [];
  const p = connect({
    hostname: HOST,
    port,
    socket: {
      data() {
        calls.push('data');
      },
      open() {
        calls.push('open');
      },
      close() {
        calls.push('close');
      },
      error(s, err) {
        calls.push(`error:${err.message}`);
      },
      connectError(s, err) {
        calls.push(`connectError:${err.code}`);
        throw boom;
      },
    },
  });
  await assert.rejects(withTimeout(p, 3000, 'connect to a closed port'), (err) => err === boom);
  await sleep(30);
  assert.deepEqual(calls, ['connectError:ECONNREFUSED']);
});

test('a throw inside error() becomes an uncaughtException, and the loop keeps working (child)', async () => {
  const code = `
    const { listen, connect } = require(process.env.PKG);
    const HOST = '127.0.0.1';
    let stage = 0;
    function echo() {
      const server = listen({ hostname: HOST, port: 0, socket: { data(s, c) { s.write(c); } } });
      let got = '';
      connect({ hostname: HOST, port: server.port, socket: { data(s, c) {
        got += c.toString();
        if (got === 'still-alive') { console.log('ECHO-OK'); s.close(); server.stop(true); process.exit(0); }
      } } }).then((c) => c.write('still-alive'), (e) => { console.log('ECHO-FAIL ' + e.message); process.exit(3); });
    }
    process.on('uncaughtException', (err) => {
      console.log('UNCAUGHT ' + (err && err.message));
      if (++stage === 1) setTimeout(echo, 20);
    });
    const server = listen({ hostname: HOST, port: 0, socket: {
      data() { throw new Error('from-data'); },
      error(s, err) { console.log('ERROR-HANDLER ' + err.message); throw new Error('from-error-handler'); },
    } });
    connect({ hostname: HOST, port: server.port, socket: { data() {} } }).then((c) => c.write('x'));
    setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 5000);
  `;
  const r = await runChild(code, { timeoutMs: 10000 });
  assert.equal(r.timedOut, false, `child timed out: ${r.stdout} ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines, ['ERROR-HANDLER from-data', 'UNCAUGHT from-error-handler', 'ECHO-OK'], r.stderr);
  assert.equal(r.code, 0, r.stderr);
});

// ---- listener stopped while its sockets are mid-write -------------------------------------------

async function stopMidWrite(t, force) {
  const uncaught = watchUncaught(t);
  const N = 3;
  const SIZE = 16 * MiB;
  const payloads = Array.from({ length: N }, () => crypto.randomBytes(SIZE));
  const writer = makeWriter();
  const serverSockets = [];
  const serverCloses = new Map();
  let accepted = 0;
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s) {
        serverSockets.push(s);
        s.data = payloads[accepted++];
      },
      data(s, chunk) {
        // The client announces itself; then the whole payload goes out, then FIN.
        if (toBuffer(chunk).toString() === 'go') {
          writer
            .send(s, s.data)
            .then(() => s.end())
            .catch(() => {});
        }
      },
      drain(s) {
        writer.drain(s);
      },
      close(s) {
        serverCloses.set(s, (serverCloses.get(s) || 0) + 1);
        writer.forget(s);
      },
    },
  });
  cleanup(t, () => server.stop(true));

  const clients = [];
  for (let i = 0; i < N; i++) {
    const st = { chunks: [], received: 0, events: [], closed: deferred(), hash: crypto.createHash('sha256') };
    const c = await withTimeout(
      connect({
        hostname: HOST,
        port: server.port,
        socket: {
          open(s) {
            s.pause(); // until the listener is stopped: the server's writes back up meanwhile
          },
          data(s, chunk) {
            st.received += chunk.length;
            st.hash.update(chunk);
            if (st.events[st.events.length - 1] !== 'data') st.events.push('data');
          },
          end() {
            st.events.push('end');
          },
          close(s, err) {
            st.events.push('close');
            st.closeErr = err;
            st.closed.resolve();
          },
        },
      }),
      3000,
      'connect',
    );
    c.write('go');
    st.socket = c;
    clients.push(st);
    cleanup(t, () => c.close());
  }
  // Wait until every server socket is mid-write (a short write, the rest queued for drain), then
  // stop the listener, then let the clients read.
  await until(() => serverSockets.length === N && serverSockets.every((s) => writer.pending(s)), 5000, 'every server socket mid-write');
  assert.ok(clients.every((c) => c.received < SIZE), 'no transfer finished yet');
  server.stop(force);
  const closedAtReturn = serverSockets.map((s) => serverCloses.get(s));
  for (const c of clients) c.socket.resume();

  // New connects are refused in both cases.
  await assert.rejects(
    withTimeout(connect({ hostname: HOST, port: server.port, socket: { data() {} } }), 3000, 'connect after stop'),
    (err) => err.code === 'ECONNREFUSED',
  );

  if (!force) {
    assert.deepEqual(closedAtReturn, Array(N).fill(undefined), 'stop() leaves accepted sockets open');
    await withTimeout(Promise.all(clients.map((c) => c.closed.promise)), 15000, 'all transfers to finish');
    clients.forEach((c, i) => {
      assert.equal(c.received, SIZE, `client ${i} got every byte`);
      assert.equal(c.hash.digest('hex'), sha256(payloads[i]), `client ${i} byte-exact`);
      assert.deepEqual(c.events, ['data', 'end', 'close']);
      assert.equal(c.closeErr, undefined);
    });
  } else {
    // Before stop(true) returned, every accepted socket got close exactly once.
    assert.deepEqual(closedAtReturn, Array(N).fill(1), 'close ran once on each socket before stop(true) returned');
    await withTimeout(Promise.all(clients.map((c) => c.closed.promise)), 5000, 'the peers to see the close');
    clients.forEach((c, i) => {
      assert.deepEqual(c.events.slice(-2), ['end', 'close'], `client ${i} saw end then close (${c.events})`);
      assert.equal(c.closeErr, undefined, `client ${i} closed without error (FIN, not reset)`);
      assert.ok(c.received <= SIZE);
    });
  }
  await sleep(50);
  for (const s of serverSockets) assert.equal(serverCloses.get(s), 1, 'close exactly once per server socket');
  assert.deepEqual(uncaught, []);
  await assertEchoWorks();
}

test('stop() while sockets are mid-write: the transfers complete byte-exact', (t) => stopMidWrite(t, false));
test('stop(true) while sockets are mid-write: close once each, peers see end then close', (t) => stopMidWrite(t, true));

// ---- names that do not resolve ------------------------------------------------------------------

test('connect to a name that does not resolve: connectError first, then ENOTFOUND rejection', async () => {
  const order = [];
  const host = 'no-such-host.invalid';
  const p = connect({
    hostname: host,
    port: 80,
    data: { tag: 1 },
    socket: {
      data() {
        order.push('data');
      },
      open() {
        order.push('open');
      },
      close() {
        order.push('close');
      },
      connectError(s, err) {
        order.push('connectError');
        assert.equal(err.code, 'ENOTFOUND');
        assert.deepEqual(s.data, { tag: 1 });
        assert.equal(s.write('x'), -1);
      },
    },
  });
  assert.deepEqual(order, [], 'connectError is asynchronous');
  await assert.rejects(withTimeout(p, 8000, 'connect to an unresolvable name'), (err) => {
    order.push('rejected');
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'ENOTFOUND');
    assert.match(err.message, /ENOTFOUND/);
    assert.match(err.message, /no-such-host\.invalid/);
    return true;
  });
  assert.deepEqual(order, ['connectError', 'rejected']);
});

// After the peer resets, a write that fails (EPIPE or ECONNRESET, whichever the kernel says
// first) leaves the socket open until its close runs: readyState stays 1 (this side sent no
// FIN), and close gets ECONNRESET, as SPEC has it for the peer of a terminate(). The peer is
// node:net, whose resetAndDestroy() has sent the RST by the time it returns.
test('writing into a reset: readyState stays 1 until close, and close gets ECONNRESET', async (t) => {
  for (let round = 0; round < 5; round++) {
    const accepted = deferred();
    const server = net.createServer((s) => accepted.resolve(s));
    await new Promise((r) => server.listen(0, HOST, r));
    const closed = deferred();
    const client = await connect({ hostname: HOST, port: server.address().port, socket: { data() {}, close(s, err) { closed.resolve(err); } } });
    const peer = await withTimeout(accepted.promise, 3000, 'accept');
    peer.resetAndDestroy();
    let n = 0;
    for (let writes = 0; writes < 100 && n >= 0; writes++) n = client.write('x');
    assert.equal(n, -1, 'a write fails once the reset is in');
    assert.equal(client.readyState, 1, 'still open (not half-closed) right after the failed write');
    const err = await withTimeout(closed.promise, 3000, 'close after the failed write');
    assert.equal(err && err.code, 'ECONNRESET', `round ${round}: close(s, err) after writing into a reset`);
    assert.equal(client.readyState, -1);
    server.close();
  }
});

// ---- bad TLS option shapes -------------------------------------------------------------------------

const BAD_TLS = [
  { name: 'tls: 5', tls: () => 5, field: /tls/ },
  { name: "tls: 'x'", tls: () => 'x', field: /tls/ },
  { name: 'tls: { key: 5 }', tls: (fx) => ({ key: 5, cert: fx && fx.server.cert }), field: /key/ },
  { name: 'tls: { cert: {} }', tls: (fx) => ({ key: fx && fx.server.key, cert: {} }), field: /cert/ },
  { name: 'tls: { ALPNProtocols: 5 }', tls: (fx) => ({ ...creds(fx), ALPNProtocols: 5 }), field: /ALPNProtocols/ },
  { name: 'tls: { passphrase: 5 }', tls: (fx) => ({ ...creds(fx), passphrase: 5 }), field: /passphrase/ },
  { name: "tls: { rejectUnauthorized: 'no' }", tls: (fx) => ({ ...creds(fx), rejectUnauthorized: 'no' }), field: /rejectUnauthorized/ },
];

// A protocol name travels behind one length byte: node:tls throws ERR_OUT_OF_RANGE beyond 255
// bytes; an empty one made a ClientHello the server rejected as malformed.
test('ALPN names of 0 or more than 255 bytes throw a RangeError naming the field; 255 bytes is fine', async (t) => {
  const fx = fixtures();
  if (!fx) return t.skip('no openssl for TLS fixtures');
  const socket = { data() {}, connectError() {} };
  for (const alpn of [['x'.repeat(256)], [''], ['h2', Buffer.alloc(0)], '', 'y'.repeat(300)]) {
    for (const kind of ['listen', 'connect']) {
      assert.throws(
        () => (kind === 'listen'
          ? listen({ hostname: HOST, port: 0, tls: { ...creds(fx), ALPNProtocols: alpn }, socket })
          : connect({ hostname: HOST, port: 9, tls: { ALPNProtocols: alpn }, socket })),
        (err) => err instanceof RangeError && err.code === 'ERR_OUT_OF_RANGE' && /tls\.ALPNProtocols/.test(err.message),
        `${kind} with ${JSON.stringify(alpn).slice(0, 40)}`,
      );
    }
  }
  const server = listen({ hostname: HOST, port: 0, tls: { ...creds(fx), ALPNProtocols: ['z'.repeat(255)] }, socket });
  server.stop(true);
});

function creds(fx) {
  return fx ? { key: fx.server.key, cert: fx.server.cert } : {};
}

for (const kind of ['listen', 'connect']) {
  test(`${kind}: bad TLS option shapes throw a synchronous TypeError naming the field`, async (t) => {
    const fx = fixtures();
    for (const c of BAD_TLS) {
      // A listener needs a valid key and cert for the error to be about the bad field alone.
      const needsCreds = kind === 'listen' && c.name !== 'tls: 5' && c.name !== "tls: 'x'";
      const skip = needsCreds && !fx ? 'no openssl for TLS fixtures' : false;
      await t.test(c.name, { skip }, () => {
        const tls = c.tls(fx);
        if (kind === 'connect' && tls && typeof tls === 'object') {
          // Client credentials are optional; keep only what the case is about.
          if (c.name.includes('key')) delete tls.cert;
          else if (!c.name.includes('cert')) {
            delete tls.key;
            delete tls.cert;
          } else delete tls.key;
        }
        let result;
        let threw;
        try {
          const socket = { data() {}, connectError() {} };
          result =
            kind === 'listen'
              ? listen({ hostname: HOST, port: 0, tls, socket })
              : connect({ hostname: HOST, port: 9, tls, socket });
        } catch (err) {
          threw = err;
        }
        if (result && kind === 'listen') result.stop(true);
        if (result && kind === 'connect') result.catch(() => {});
        assert.ok(threw, `${kind}(${c.name}) did not throw synchronously`);
        assert.ok(threw instanceof TypeError, `a TypeError, not ${threw && threw.name}: ${threw && threw.message}`);
        assert.equal(typeof threw.code, 'string', 'the error has a code');
        assert.match(threw.code, /^ERR_/);
        assert.match(threw.message, c.field, `the message names the field: ${threw.message}`);
      });
    }
  });
}

// Out of file descriptors before the first listen/connect: the loop thread's poll cannot be made.
// That is the failure of the call that needed it, as any other system failure (EMFILE with errno
// and syscall), not a bare GenericFailure; and once descriptors are free again, all works.
test('EMFILE at the first listen/connect: listen throws and connect rejects with EMFILE; later calls work', async () => {
  const { spawn } = require('node:child_process');
  const script = `
    const fs = require('node:fs');
    const { listen, connect } = require(process.env.PKG);
    const held = [];
    for (;;) { try { held.push(fs.openSync('/dev/null', 'r')); } catch { break; } }
    const out = {};
    try { listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } }); out.listen = 'no throw'; }
    catch (e) { out.listen = [e.code, e.errno, e.syscall]; }
    let sync = 'no throw';
    const p = (() => { try { return connect({ hostname: '127.0.0.1', port: 1, socket: { data() {}, connectError() {} } }); } catch (e) { sync = e.code; } })();
    out.connectSync = sync;
    (p || Promise.resolve('none')).then(() => 'resolved', (e) => [e.code, e.errno, e.syscall]).then((r) => {
      out.connect = r;
      for (const fd of held) fs.closeSync(fd);
      const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.end(d); } } });
      connect({ hostname: '127.0.0.1', port: l.port, socket: { open(s) { s.write('after'); }, data(s, d) { out.after = String(d); }, close() { l.stop(); console.log(JSON.stringify(out)); } } });
    });
  `;
  const child = spawn('/bin/sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], {
    env: { ...process.env, PKG: require('node:path').join(__dirname, '..') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  const out = JSON.parse(stdout);
  assert.deepEqual(out.listen, ['EMFILE', -require('node:os').constants.errno.EMFILE, 'listen']);
  assert.equal(out.connectSync, 'no throw');
  assert.deepEqual(out.connect, ['EMFILE', -require('node:os').constants.errno.EMFILE, 'connect']);
  assert.equal(out.after, 'after');
});
