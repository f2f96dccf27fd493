'use strict';
// Handler calling conventions: `this`, arguments, error routing (sync throws and rejected
// promises), uncaught exceptions, close-once, drain, connectError, table snapshot (SPEC.md).
const test = require('node:test');
const assert = require('node:assert/strict');
const { listen, connect } = require('..');
const { HOST, sleep, deferred, withTimeout, until, runChild, serve, dial, closedPort } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const tlsSkip = fx ? false : skipReason();

/** Writes 1 MiB chunks until the kernel takes fewer bytes than given; returns the short count. */
function fillUntilShort(s) {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < 256; i++) {
    const n = s.write(chunk);
    if (n < chunk.length) return { n, total: i * chunk.length + Math.max(n, 0) };
  }
  throw new Error('write never came back short');
}

/** Catches unhandled rejections during one test. */
function watchUnhandled(t) {
  const seen = [];
  const onUnhandled = (reason) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  return seen;
}

// ---- this / arguments -------------------------------------------------------------------------

test('every handler is called with this === socket and the socket first', async (t) => {
  const calls = [];
  const record = (side, name, sockets) =>
    function (s, ...rest) {
      const expected = sockets.get();
      calls.push({ side, name, thisOk: this === s, firstOk: s === expected, rest });
    };
  let serverSocket;
  let clientSocket;
  const sSock = { get: () => serverSocket };
  const cSock = { get: () => clientSocket };
  const boom = new Error('data boom');
  const sDrained = deferred();
  const cClosed = deferred();
  const server = serve(t, {
    open(s) {
      serverSocket = s;
      record('s', 'open', sSock).call(this, s);
    },
    data(s, d) {
      record('s', 'data', sSock).call(this, s, d);
      if (String(d).includes('throw')) throw boom;
    },
    drain(s) {
      record('s', 'drain', sSock).call(this, s);
      sDrained.resolve();
    },
    end: record('s', 'end', sSock),
    error: record('s', 'error', sSock),
    timeout: record('s', 'timeout', sSock),
    close: record('s', 'close', sSock),
  });
  let connectReturned = false;
  const p = connect({
    hostname: HOST,
    port: server.port,
    allowHalfOpen: true,
    socket: {
      open(s) {
        clientSocket = s;
        record('c', 'open', cSock).call(this, s);
      },
      data: record('c', 'data', cSock),
      drain: record('c', 'drain', cSock),
      end: record('c', 'end', cSock),
      error: record('c', 'error', cSock),
      timeout(s) {
        record('c', 'timeout', cSock).call(this, s);
      },
      close(s, err) {
        record('c', 'close', cSock).call(this, s, err);
        cClosed.resolve();
      },
    },
  });
  connectReturned = true;
  const c = await withTimeout(p, 3000, 'connect');
  t.after(() => c.close());
  assert.ok(connectReturned);
  assert.equal(c, clientSocket, 'promise resolves with the socket open() got');
  await until(() => serverSocket, 3000, 'server open');

  c.write('hello');
  c.write('throw');
  await until(() => calls.some((x) => x.name === 'error'), 3000, 'server error');

  // drain on the server: fill the kernel buffers while the client is paused, then resume it.
  c.pause();
  fillUntilShort(serverSocket);
  await sleep(50);
  c.resume();
  await withTimeout(sDrained.promise, 5000, 'server drain');

  // Server times out (1 s) -> re-arm disabled -> closes; the half-open client sees end, stays open.
  serverSocket.timeout(1);
  await until(() => calls.some((x) => x.side === 'c' && x.name === 'end'), 5000, 'client end');
  // Client times out and closes.
  c.timeout(1);
  await withTimeout(cClosed.promise, 5000, 'client close');

  const names = (side) => [...new Set(calls.filter((x) => x.side === side).map((x) => x.name))].sort();
  for (const n of ['open', 'data', 'drain', 'error', 'timeout', 'close']) assert.ok(names('s').includes(n), `server ${n} called`);
  for (const n of ['open', 'data', 'end', 'timeout', 'close']) assert.ok(names('c').includes(n), `client ${n} called`);
  for (const call of calls) {
    assert.ok(call.thisOk, `${call.side}.${call.name}: this === socket`);
    assert.ok(call.firstOk, `${call.side}.${call.name}: socket first`);
  }
  const sErr = calls.find((x) => x.side === 's' && x.name === 'error');
  assert.equal(sErr.rest[0], boom);
  const sData = calls.filter((x) => x.side === 's' && x.name === 'data');
  assert.ok(Buffer.isBuffer(sData[0].rest[0]));
  const cClose = calls.find((x) => x.side === 'c' && x.name === 'close');
  assert.equal(cClose.rest.length, 1);
  assert.equal(cClose.rest[0], undefined);
});

test('connectError is called with this === socket and the socket first', async () => {
  let rec;
  const p = connect({
    hostname: HOST,
    port: closedPort(),
    socket: {
      data() {},
      connectError(s, err) {
        rec = { thisOk: this === s, s, err, argc: arguments.length };
      },
    },
  });
  const err = await withTimeout(p, 3000, 'connect').then(
    () => assert.fail('connect should fail'),
    (e) => e,
  );
  assert.ok(rec.thisOk);
  assert.equal(typeof rec.s.write, 'function');
  assert.equal(rec.err, err);
});

// ---- synchronous throws ------------------------------------------------------------------------

test('throw in data: error(s, thrown) with the same value; socket stays open', async (t) => {
  const thrown = { not: 'an Error' };
  const ev = [];
  let errArgs;
  const server = serve(t, {
    data(s, d) {
      ev.push('data:' + d);
      if (String(d) === 'first') throw thrown;
      s.write('echo:' + d);
    },
    error(s, err) {
      ev.push('error');
      errArgs = { s, err, thisOk: this === s, state: s.readyState };
    },
    close() {
      ev.push('close');
    },
  });
  let got = '';
  const c = await dial(t, server.port, {
    data(s, d) {
      got += d;
    },
  });
  c.write('first');
  await until(() => ev.includes('error'), 3000, 'error');
  assert.equal(errArgs.err, thrown);
  assert.ok(errArgs.thisOk);
  await sleep(50);
  assert.equal(errArgs.s.readyState, 1, 'still open');
  c.write('second');
  await until(() => got === 'echo:second', 3000, 'echo after the throw');
  assert.deepEqual(ev, ['data:first', 'error', 'data:second']);
  assert.equal(c.readyState, 1);
});

test('throw in drain: routed to error; socket stays open', async (t) => {
  const thrown = new Error('drain boom');
  const ev = [];
  let errSeen;
  let sock;
  const server = serve(t, {
    open(s) {
      sock = s;
    },
    data(s, d) {
      ev.push('data:' + d);
    },
    drain() {
      ev.push('drain');
      throw thrown;
    },
    error(s, err) {
      ev.push('error');
      errSeen = err;
    },
    close() {
      ev.push('close');
    },
  });
  let received = 0;
  const c = await dial(t, server.port, {
    data(s, d) {
      received += d.length;
    },
  });
  await until(() => sock, 3000, 'accepted');
  c.pause();
  const { total } = fillUntilShort(sock);
  await sleep(50);
  c.resume();
  await until(() => ev.includes('error'), 5000, 'error after drain');
  assert.equal(errSeen, thrown);
  assert.deepEqual(ev.slice(0, 2), ['drain', 'error']);
  await until(() => received >= total, 5000, 'client read everything');
  assert.equal(sock.readyState, 1, 'still open');
  assert.ok(sock.write('more') > 0);
  c.write('ping');
  await until(() => ev.includes('data:ping'), 3000, 'server still reads');
  assert.ok(!ev.includes('close'));
});

test('throw in end (allowHalfOpen): routed to error; socket stays open and writable', async (t) => {
  const thrown = new Error('end boom');
  const ev = [];
  let errSeen;
  let sock;
  const server = serve(
    t,
    {
      open(s) {
        sock = s;
      },
      data() {},
      end() {
        ev.push('end');
        throw thrown;
      },
      error(s, err) {
        ev.push('error');
        errSeen = err;
      },
      close() {
        ev.push('close');
      },
    },
    { allowHalfOpen: true },
  );
  let got = '';
  const cClosed = deferred();
  const c = await dial(t, server.port, {
    data(s, d) {
      got += d;
    },
    close() {
      cClosed.resolve();
    },
  });
  await until(() => sock, 3000, 'accepted');
  c.end();
  await until(() => ev.includes('error'), 3000, 'error');
  assert.equal(errSeen, thrown);
  await sleep(50);
  assert.deepEqual(ev, ['end', 'error']);
  assert.equal(sock.readyState, 1);
  assert.equal(sock.write('after'), 5);
  await until(() => got === 'after', 3000, 'write after end reaches the client');
  sock.end();
  await withTimeout(cClosed.promise, 3000, 'client close');
  await until(() => ev.includes('close'), 3000, 'server close');
  assert.deepEqual(ev, ['end', 'error', 'close']);
});

test('throw in end (default): error runs before close', async (t) => {
  const thrown = new Error('end boom');
  const ev = [];
  const server = serve(t, {
    data() {},
    end() {
      ev.push('end');
      throw thrown;
    },
    error(s, err) {
      ev.push(err === thrown ? 'error' : 'error:other');
    },
    close() {
      ev.push('close');
    },
  });
  const c = await dial(t, server.port, { data() {} });
  c.end();
  await until(() => ev.includes('close'), 3000, 'close');
  await sleep(20);
  assert.deepEqual(ev, ['end', 'error', 'close']);
});

test('throw in close: error(s, thrown) with the same value, once', async (t) => {
  const thrown = new Error('close boom');
  const ev = [];
  let errArgs;
  const server = serve(t, {
    data() {},
    close() {
      ev.push('close');
      throw thrown;
    },
    error(s, err) {
      ev.push('error');
      errArgs = { err, state: s.readyState, thisOk: this === s };
    },
  });
  const c = await dial(t, server.port, { data() {} });
  c.close();
  await until(() => ev.includes('error'), 3000, 'error');
  await sleep(50);
  assert.deepEqual(ev, ['close', 'error']);
  assert.equal(errArgs.err, thrown);
  assert.equal(errArgs.state, -1);
  assert.ok(errArgs.thisOk);
});

test('throw in timeout (after re-arming): routed to error; socket stays open', async (t) => {
  const thrown = new Error('timeout boom');
  const ev = [];
  let errSeen;
  let sock;
  const server = serve(t, {
    open(s) {
      sock = s;
      s.timeout(1);
    },
    data(s, d) {
      ev.push('data:' + d);
    },
    timeout(s) {
      ev.push('timeout');
      s.timeout(30);
      throw thrown;
    },
    error(s, err) {
      ev.push('error');
      errSeen = err;
    },
    close() {
      ev.push('close');
    },
  });
  const c = await dial(t, server.port, { data() {} });
  await until(() => ev.includes('error'), 4000, 'error after timeout');
  assert.equal(errSeen, thrown);
  await sleep(100);
  assert.deepEqual(ev, ['timeout', 'error']);
  assert.equal(sock.readyState, 1);
  c.write('ping');
  await until(() => ev.includes('data:ping'), 3000, 'still reading');
});

test('throw in open: error(s, thrown), then the socket is closed', async (t) => {
  const thrown = new Error('open boom');
  const ev = [];
  let errSeen;
  let sock;
  const server = serve(t, {
    open(s) {
      sock = s;
      ev.push('open');
      throw thrown;
    },
    data() {
      ev.push('data');
    },
    error(s, err) {
      ev.push('error');
      errSeen = err;
    },
    close(s, err) {
      ev.push('close');
    },
  });
  const cEv = [];
  const cClosed = deferred();
  await dial(t, server.port, {
    data() {
      cEv.push('data');
    },
    end() {
      cEv.push('end');
    },
    close() {
      cEv.push('close');
      cClosed.resolve();
    },
  });
  await withTimeout(cClosed.promise, 3000, 'client sees the close');
  assert.equal(errSeen, thrown);
  assert.equal(sock.readyState, -1);
  assert.deepEqual(ev, ['open', 'error', 'close']);
  assert.deepEqual(cEv, ['end', 'close']);
});

test('throw in a client open: error, then the socket is closed', async (t) => {
  const thrown = new Error('client open boom');
  const server = serve(t, { data() {} });
  const ev = [];
  const closed = deferred();
  const p = connect({
    hostname: HOST,
    port: server.port,
    socket: {
      open() {
        ev.push('open');
        throw thrown;
      },
      data() {},
      error(s, err) {
        ev.push(err === thrown ? 'error' : 'error:other');
      },
      close() {
        ev.push('close');
        closed.resolve();
      },
    },
  });
  p.catch(() => {});
  await withTimeout(closed.promise, 3000, 'close');
  assert.deepEqual(ev, ['open', 'error', 'close']);
});

// ---- rejected promises ---------------------------------------------------------------------------

test('a handler returning a rejected promise is routed to error (data, end, close)', async (t) => {
  const unhandled = watchUnhandled(t);
  const reasons = { data: new Error('async data'), end: new Error('async end'), close: new Error('async close') };
  const errors = [];
  let sock;
  const server = serve(
    t,
    {
      open(s) {
        sock = s;
      },
      async data(s, d) {
        await null;
        throw reasons.data;
      },
      end() {
        return Promise.reject(reasons.end);
      },
      async close() {
        throw reasons.close;
      },
      error(s, err) {
        errors.push({ err, thisOk: this === s, first: s === sock });
      },
    },
    { allowHalfOpen: true },
  );
  const c = await dial(t, server.port, { data() {} });
  c.write('x');
  await until(() => errors.length === 1, 3000, 'data rejection');
  assert.equal(errors[0].err, reasons.data);
  await sleep(30);
  assert.equal(sock.readyState, 1, 'open after a rejected data promise');
  c.end();
  await until(() => errors.length === 2, 3000, 'end rejection');
  assert.equal(errors[1].err, reasons.end);
  await sleep(30);
  assert.equal(sock.readyState, 1, 'open (half-open) after a rejected end promise');
  sock.close();
  await until(() => errors.length === 3, 3000, 'close rejection');
  assert.equal(errors[2].err, reasons.close);
  for (const e of errors) {
    assert.ok(e.thisOk);
    assert.ok(e.first);
  }
  await sleep(50);
  assert.deepEqual(unhandled, [], 'no unhandledRejection');
});

test('a rejected promise from open is routed to error', async (t) => {
  const unhandled = watchUnhandled(t);
  const reason = new Error('async open');
  const errors = [];
  const server = serve(t, {
    async open() {
      throw reason;
    },
    data() {},
    error(s, err) {
      errors.push(err);
    },
  });
  await dial(t, server.port, { data() {} });
  await until(() => errors.length === 1, 3000, 'open rejection');
  assert.equal(errors[0], reason);
  await sleep(50);
  assert.deepEqual(unhandled, []);
});

test('handlers get exactly their arguments: open(s), data(s, chunk), end(s), close(s, err)', async (t) => {
  const argc = {};
  const closed = deferred();
  const record = (name) =>
    function () {
      argc[name] = arguments.length;
      if (name === 'close') closed.resolve();
    };
  const server = serve(t, { open: record('open'), data: record('data'), end: record('end'), close: record('close') });
  const c = await dial(t, server.port, { data() {} });
  c.end('x');
  await withTimeout(closed.promise, 3000, 'server close');
  assert.deepEqual(argc, { open: 1, data: 2, end: 1, close: 2 });
});

// ---- promise jobs between events ------------------------------------------------------------
// Bun runs pending promise jobs after each handler. Events of one batch wait for them whenever
// a handler returned a promise, a connect promise resolved, or an exception is on its way.

test('await connect() resumes before the server greeting reaches data', async (t) => {
  // Our server greets from open (its accept and the client's connect share a batch), and a
  // node:net one from its connection callback.
  const ours = serve(t, { open(s) { s.write('220 hello\r\n'); }, data() {} });
  const net = require('node:net');
  const theirs = net.createServer((s) => s.end('220 hello\r\n'));
  await new Promise((r) => theirs.listen(0, HOST, r));
  t.after(() => theirs.close());
  for (let round = 0; round < 20; round++) {
    const port = round % 2 === 0 ? ours.port : theirs.address().port;
    const seen = deferred();
    let ready = false;
    const sock = await connect({
      hostname: HOST,
      port,
      socket: {
        data(s, chunk) {
          seen.resolve({ ready, text: String(chunk) });
        },
      },
    });
    ready = true; // what an application sets up right after the await
    const got = await withTimeout(seen.promise, 3000, 'greeting');
    assert.equal(got.text, '220 hello\r\n');
    assert.equal(got.ready, true, `round ${round}: data ran before await connect() resumed`);
    sock.close();
  }
});

test('an async data handler can still reply when the request and the FIN arrive together', async (t) => {
  const writes = [];
  const events = [];
  const server = serve(t, {
    async data(s, chunk) {
      await null;
      writes.push({ n: s.write(`re:${chunk}`), state: s.readyState });
    },
    end() {
      events.push('end');
    },
  });
  for (let round = 0; round < 10; round++) {
    const reply = await pingWithFin(server.port, 'plain', 'end');
    assert.equal(reply, 're:ping', `round ${round}: the reply written after await arrives`);
  }
  assert.deepEqual(writes.map((w) => w.n), Array(10).fill(7), 'each write took all 7 bytes');
  assert.ok(writes.every((w) => w.state === 1), 'the socket was still open at the write');
});

/**
 * A node:net (or node:tls) client that sends 'ping' with its FIN at once and resolves with what it
 * got by its `until` event ('end' or 'close').
 */
function pingWithFin(port, kind, until) {
  const net = require('node:net');
  const tls = require('node:tls');
  return withTimeout(
    new Promise((resolve, reject) => {
      const c = kind === 'TLS'
        ? tls.connect({ port, host: HOST, ca: fx.ca.cert, servername: 'localhost' }, () => c.end('ping'))
        : net.connect(port, HOST, () => c.end('ping'));
      let got = '';
      c.on('data', (d) => (got += d));
      c.on(until, () => resolve(got));
      c.on('error', reject);
    }),
    3000,
    'reply',
  );
}

// A handler that starts async work without returning it (a floating promise): its promise jobs
// run before the FIN's automatic close, as Bun runs them after every handler, so a reply written
// after `await` still goes out. Plain and TLS, and from events held while paused.
for (const kind of ['plain', 'TLS']) {
  test(`${kind}: async work a data handler starts but does not return still replies when the request and the FIN arrive together`, { skip: kind === 'TLS' && tlsSkip }, async (t) => {
    const order = [];
    const table = {
      data(s, chunk) {
        order.push('data');
        (async () => {
          await null;
          await Promise.resolve();
          order.push(`write=${s.write(`re:${chunk}`)}`);
        })();
      },
      end() {
        order.push('end');
      },
      close() {
        order.push('close');
      },
    };
    const server = serve(t, table, kind === 'TLS' ? { tls: { key: fx.server.key, cert: fx.server.cert } } : {});
    for (let round = 0; round < 10; round++) {
      order.length = 0;
      const reply = await pingWithFin(server.port, kind, 'close');
      assert.equal(reply, 're:ping', `round ${round}: the reply written after await arrives`);
      await until(() => order.includes('close'), 3000, 'server close');
      assert.deepEqual(order, ['data', 'write=7', 'end', 'close'], `round ${round}`);
    }
  });
}

for (const handler of ['open', 'handshake']) {
  test(`async work ${handler === 'open' ? 'an open' : 'a handshake'} handler starts without returning it runs before that socket's first data, as in Bun`, { skip: handler === 'handshake' && tlsSkip }, async (t) => {
    const net = require('node:net');
    const tls = require('node:tls');
    let ready = 0;
    let notReady = 0;
    const setUp = (s) => {
      (async () => {
        await null;
        await Promise.resolve();
        s.data = { ready: true };
      })();
    };
    const server = serve(
      t,
      {
        [handler]: setUp,
        data(s) {
          if (s.data && s.data.ready) ready++;
          else notReady++;
          s.end();
        },
      },
      handler === 'handshake' ? { tls: { key: fx.server.key, cert: fx.server.cert } } : {},
    );
    // A client that writes at once: its data often comes in the batch of the accept (or of the
    // handshake's end).
    for (let i = 0; i < 50; i++) {
      await withTimeout(
        new Promise((resolve, reject) => {
          const c = handler === 'handshake'
            ? tls.connect({ port: server.port, host: HOST, ca: fx.ca.cert, servername: 'localhost' })
            : net.connect(server.port, HOST);
          c.write('hello');
          c.resume();
          c.on('close', resolve);
          c.on('error', reject);
        }),
        3000,
        'client close',
      );
    }
    assert.deepEqual({ ready, notReady }, { ready: 50, notReady: 0 });
  });
}

test('100 clients send a request and its FIN at once; handlers return their async work or only start it: every reply arrives', async (t) => {
  const net = require('node:net');
  let n = 0;
  const server = serve(t, {
    open(s) {
      s.data = n++;
    },
    data(s, d) {
      const work = async () => {
        await null;
        await Promise.resolve();
        s.write(`re:${d}`);
      };
      if (s.data % 2 === 0) return work();
      work();
    },
  });
  for (let round = 0; round < 3; round++) {
    const replies = await withTimeout(
      Promise.all(
        Array.from({ length: 100 }, (_, i) => new Promise((resolve) => {
          const c = net.connect(server.port, HOST, () => c.end(`q${i}`));
          let got = '';
          c.on('data', (d) => (got += d));
          c.on('error', () => {});
          c.on('close', () => resolve(got === `re:q${i}`));
        })),
      ),
      10000,
      'every client closed',
    );
    assert.equal(replies.filter((ok) => !ok).length, 0, `round ${round}: replies lost`);
  }
});

for (const kind of ['plain', 'TLS']) {
  test(`${kind}: async work a data handler starts but does not return runs before the close of a reset that follows`, { skip: kind === 'TLS' && tlsSkip }, async (t) => {
    const net = require('node:net');
    const tls = require('node:tls');
    const order = [];
    const live = new Set();
    const closed = deferred();
    const table = {
      data(s, d) {
        order.push(`data:${d}`);
        (async () => {
          await null;
          live.add(s);
          order.push('registered');
        })();
      },
      close(s, err) {
        live.delete(s);
        order.push(`close:${err && err.code}`);
        closed.resolve();
      },
      error() {},
    };
    const server = serve(t, table, kind === 'TLS' ? { tls: { key: fx.server.key, cert: fx.server.cert } } : {});
    const raw = net.connect(server.port, HOST);
    raw.on('error', () => {});
    const c = kind === 'TLS' ? tls.connect({ socket: raw, ca: fx.ca.cert, servername: 'localhost' }) : raw;
    c.on('error', () => {});
    c.on(kind === 'TLS' ? 'secureConnect' : 'connect', () => c.write('req', () => raw.resetAndDestroy()));
    await withTimeout(closed.promise, 3000, 'server close');
    assert.deepEqual(order, ['data:req', 'registered', 'close:ECONNRESET']);
    assert.equal(live.size, 0, 'close cleaned up what the data handler registered');
  });
}

test('a FIN polled right after events that waited for promise jobs still waits for the jobs their handlers started', async (t) => {
  const { spawn } = require('node:child_process');
  let lost = 0;
  const busy = (ms) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  const server = serve(t, {
    data(s, d) {
      // X returns a promise after some work: the events behind it wait, and the pump polls the
      // next batch (A's FIN) right after dispatching them.
      if (String(d) === 'X') {
        busy(1);
        return (async () => {
          await null;
        })();
      }
      (async () => {
        await null;
        if (s.write('reply') < 0) lost++;
      })();
    },
  });
  // The peers run in a process of their own: A's FIN follows its request by 0.1 ms.
  const peer = `
    const net = require('node:net');
    const port = +process.argv[1];
    const spin = (us) => { const t = process.hrtime.bigint(); while (Number(process.hrtime.bigint() - t) / 1000 < us); };
    (async () => {
      let replies = 0;
      for (let i = 0; i < 100; i++) {
        const mk = () => new Promise((r) => { const c = net.connect(port, '127.0.0.1', () => r(c)); c.on('error', () => {}); });
        const [x, a] = await Promise.all([mk(), mk()]);
        let got = '';
        a.on('data', (d) => (got += d));
        x.resume();
        const closed = new Promise((r) => a.on('close', r));
        x.write('X'); a.write('A'); spin(100); a.end();
        await closed;
        x.end();
        if (got === 'reply') replies++;
      }
      console.log(replies);
    })();
  `;
  const child = spawn(process.execPath, ['-e', peer, String(server.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await withTimeout(new Promise((resolve) => child.on('exit', resolve)), 20000, 'peer process');
  assert.equal(lost, 0, 'replies written after the close');
  assert.equal(out.trim(), '100');
});

test('async work started by a data handler of events held while paused runs before the held FIN', async (t) => {
  const { Worker } = require('node:worker_threads');
  const sockets = [];
  const order = [];
  let first = null;
  let held = null;
  // The clients run on a worker. The trigger's data handler blocks this thread while both
  // clients send their request and FIN: JS holds the loop's baton meanwhile, so the next poll
  // reads both sockets in one turn, into one batch.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const server = serve(t, {
    open(s) {
      sockets.push(s);
    },
    data(s, chunk) {
      if (String(chunk) === 'trigger') {
        Atomics.wait(flag, 0, 0, 3000);
        const until = Date.now() + 20;
        while (Date.now() < until);
        return;
      }
      // The first request's handler pauses the other socket: its data and FIN, in the same
      // batch, are held, and delivered at resume().
      if (first === null) {
        first = s;
        const other = sockets.find((o) => o !== s && o !== sockets[0]);
        other.pause();
        setTimeout(() => {
          held = other._held && other._held.map((e) => e[0]);
          other.resume();
        }, 50);
      }
      (async () => {
        await null;
        await Promise.resolve();
        order.push(`${chunk}:write=${s.write(`re:${chunk}`)}`);
      })();
    },
    end(s) {
      order.push(`${s === first ? 'first' : 'other'}:end`);
    },
  });
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const net = require('node:net');
    const flag = new Int32Array(workerData.flag.buffer);
    const connectTo = () => net.connect(workerData.port, '127.0.0.1').on('error', () => {});
    const trigger = connectTo();
    trigger.on('connect', () => {
      const names = ['pa', 'pb'];
      const replies = { pa: '', pb: '' };
      const clients = names.map((name) => connectTo().on('data', (d) => (replies[name] += d)));
      let open = 0, finished = 0, closed = 0;
      for (const c of clients) {
        c.on('connect', () => ++open === 2 && parentPort.postMessage('connected'));
        c.on('close', () => ++closed === 2 && parentPort.postMessage(replies));
      }
      parentPort.on('message', () => {
        trigger.write('trigger');
        setTimeout(() => clients.forEach((c, i) => c.end(names[i], () => {
          if (++finished === 2) { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); }
        })), 30);
      });
    });
    `,
    { eval: true, workerData: { port: server.port, flag } },
  );
  t.after(() => worker.terminate());
  const next = () => new Promise((resolve) => worker.once('message', resolve));
  await withTimeout(next(), 3000, 'clients connected');
  await until(() => sockets.length === 3, 3000, 'all accepted');
  const done = next();
  worker.postMessage('go');
  const replies = await withTimeout(done, 5000, 'replies and close');
  assert.deepEqual(held, ['data', 'end'], 'the paused socket held its data and FIN');
  assert.deepEqual(replies, { pa: 're:pa', pb: 're:pb' }, 'both replies written after await arrived');
  const firstName = order.find((e) => e.includes('write')).slice(0, 2);
  const otherName = firstName === 'pa' ? 'pb' : 'pa';
  assert.deepEqual(order, [`${firstName}:write=5`, 'first:end', `${otherName}:write=5`, 'other:end']);
});

test('a rejected async handler reaches error while the socket is open, before end and close', async (t) => {
  const net = require('node:net');
  const order = [];
  const closed = deferred();
  const server = serve(t, {
    async data() {
      await null;
      throw new Error('async failure');
    },
    error(s, err) {
      order.push(`error:${err.message}:${s.readyState}`);
    },
    end() {
      order.push('end');
    },
    close() {
      order.push('close');
      closed.resolve();
    },
  });
  const c = net.connect(server.port, HOST, () => c.end('x'));
  c.on('error', () => {});
  await withTimeout(closed.promise, 3000, 'close');
  assert.deepEqual(order, ['error:async failure:1', 'end', 'close']);
});

// Many async handlers in one batch: each raises a barrier and the rest of the batch resumes from
// where it stopped. Every event is dispatched once, in order, each after the previous one's
// promise jobs (two awaits deep) are done.
test('async handlers on 40 sockets in one batch: each event waits for the previous one\'s jobs; none lost or repeated', async (t) => {
  const net = require('node:net');
  const N = 40;
  let pending = 0;
  const overlaps = [];
  const seen = new Map(); // socket tag -> its events, in order
  const closes = deferred();
  let closed = 0;
  const step = async (s, what) => {
    if (pending !== 0) overlaps.push(what);
    pending++;
    await null;
    await null;
    seen.get(s.data.tag).push(what);
    pending--;
  };
  const server = serve(t, {
    open(s) {
      s.data = { tag: seen.size };
      seen.set(s.data.tag, []);
    },
    data: (s, chunk) => step(s, `data:${chunk}`),
    end: (s) => step(s, 'end'),
    close(s) {
      seen.get(s.data.tag).push('close');
      if (++closed === N) closes.resolve();
    },
  });
  const clients = [];
  for (let i = 0; i < N; i++) {
    const c = net.connect(server.port, HOST);
    c.on('error', () => {});
    await new Promise((resolve) => c.once('connect', resolve));
    clients.push(c);
  }
  await until(() => seen.size === N, 3000, 'every socket open');
  // Every client's bytes and FIN reach the server's loop while JS is busy, so they come as one
  // batch (or a few) of 2 x N events.
  for (let i = 0; i < N; i++) clients[i].end(`m${i}`);
  const stop = Date.now() + 100;
  while (Date.now() < stop);
  await withTimeout(closes.promise, 5000, 'every close');
  assert.deepEqual(overlaps, [], 'no handler started while another one\'s jobs were pending');
  const messages = [];
  for (const events of seen.values()) {
    assert.equal(events.length, 3, `data, end, close once each: ${events}`);
    assert.match(events[0], /^data:m\d+$/);
    assert.deepEqual(events.slice(1), ['end', 'close']);
    messages.push(events[0]);
  }
  assert.equal(new Set(messages).size, N, 'every message arrived on its own socket');
});

// Every batch raising a barrier (an async data handler under a steady stream) must still let
// Node's event loop turn: timers fire on time.
test('async handlers under a steady stream do not starve timers', async () => {
  const code = `
const { listen, connect } = require(process.env.PKG);
let events = 0;
const server = listen({ hostname: '127.0.0.1', port: 0, socket: { async data() { events++; } } });
const block = Buffer.alloc(16 * 1024, 1);
let client;
connect({ hostname: '127.0.0.1', port: server.port, socket: {
  open(s) { client = s; const go = () => { while (s.write(block) === block.length); }; s.data = go; go(); },
  drain(s) { s.data(); },
  data() {},
} });
const t0 = Date.now();
setTimeout(() => {
  console.log('RESULT ' + JSON.stringify({ late: Date.now() - t0 - 300, events }));
  client.terminate();
  server.stop(true);
}, 300);
setTimeout(() => { console.log('STARVED'); process.exit(1); }, 8000).unref();
`;
  const r = await runChild(code, { timeoutMs: 15000 });
  assert.ok(!r.timedOut, 'the child hung: ' + r.stdout + r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, r.stdout + r.stderr);
  const { late, events } = JSON.parse(line.slice(7));
  assert.ok(events > 0, 'the stream was flowing');
  assert.ok(late < 1000, `the 300 ms timer fired ${late} ms late`);
});

// ---- uncaught exceptions (child processes) ---------------------------------------------------------

const CHILD_PRELUDE = `
const { listen, connect } = require(process.env.PKG);
process.on('unhandledRejection', (r) => { console.log('UNHANDLED:' + (r && r.message)); });
process.on('uncaughtException', (e) => {
  console.log('UNCAUGHT:' + (e && e.message));
  setTimeout(() => process.exit(0), 50);
});
setTimeout(() => { console.log('NO-EXCEPTION'); process.exit(3); }, 3000);
function run(table) {
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: table });
  connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } }).then((c) => c.write('x'));
}
`;

async function child(body) {
  const r = await runChild(CHILD_PRELUDE + body, { timeoutMs: 10000 });
  assert.ok(!r.timedOut, `child timed out; stderr: ${r.stderr}`);
  return r;
}

test('no error handler: a throw in a handler becomes an uncaughtException', async () => {
  const r = await child(`run({ data() { throw new Error('boom-data'); } });`);
  assert.match(r.stdout, /UNCAUGHT:boom-data/, r.stderr);
  assert.doesNotMatch(r.stdout, /UNHANDLED/);
  assert.equal(r.code, 0);
});

test('error handler that throws: its throw becomes an uncaughtException', async () => {
  const r = await child(
    `run({ data() { throw new Error('first'); }, error(s, e) { throw new Error('from-error:' + e.message); } });`,
  );
  assert.match(r.stdout, /UNCAUGHT:from-error:first/, r.stderr);
  assert.equal(r.code, 0);
});

test('no error handler: a rejected handler promise becomes an uncaughtException, not unhandledRejection', async () => {
  const r = await child(`run({ async data() { throw new Error('boom-async'); } });`);
  assert.match(r.stdout, /UNCAUGHT:boom-async/, r.stderr);
  assert.doesNotMatch(r.stdout, /UNHANDLED/);
  assert.equal(r.code, 0);
});

test('no error handler and no uncaughtException listener: the process dies with the error', async () => {
  const code = `
const { listen, connect } = require(process.env.PKG);
setTimeout(() => { console.log('SURVIVED'); process.exit(0); }, 3000);
const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data() { throw new Error('fatal-data'); } } });
connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } }).then((c) => c.write('x'));
`;
  const r = await runChild(code, { timeoutMs: 10000 });
  assert.ok(!r.timedOut);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, /SURVIVED/);
  assert.match(r.stderr, /fatal-data/);
});

// ---- close once ----------------------------------------------------------------------------------

test('close runs exactly once per opened socket, whatever closes it', async (t) => {
  const sCloses = new Map();
  const accepted = [];
  const server = serve(t, {
    open(s) {
      accepted.push(s);
    },
    data(s, d) {
      const cmd = String(d);
      if (cmd === 'close') s.close();
      else if (cmd === 'terminate') s.terminate();
      else if (cmd === 'end') s.end();
      // Calling again on a closed socket must not re-run close.
      s.close();
      s.terminate();
      s.end();
      s.shutdown();
    },
    close(s) {
      sCloses.set(s, (sCloses.get(s) || 0) + 1);
    },
  });
  const cCloses = new Map();
  const cTable = {
    data() {},
    close(s) {
      cCloses.set(s, (cCloses.get(s) || 0) + 1);
    },
  };
  const clients = [];
  for (const how of ['close', 'terminate', 'end', 'client-close', 'client-terminate', 'client-end', 'stop']) {
    clients.push({ how, c: await dial(t, server.port, cTable) });
  }
  await until(() => accepted.length === clients.length, 3000, 'all accepted');
  for (const { how, c } of clients) {
    if (how === 'client-close') c.close();
    else if (how === 'client-terminate') c.terminate();
    else if (how === 'client-end') c.end();
    else if (how !== 'stop') c.write(how);
  }
  await until(() => sCloses.size === clients.length - 1, 3000, 'server closes');
  server.stop(true);
  await until(() => cCloses.size === clients.length, 3000, 'client closes');
  for (const { c } of clients) {
    c.close();
    c.terminate();
  }
  for (const s of accepted) {
    s.close();
    s.terminate();
  }
  await sleep(100);
  assert.equal(sCloses.size, clients.length);
  for (const [, n] of sCloses) assert.equal(n, 1);
  assert.equal(cCloses.size, clients.length);
  for (const [, n] of cCloses) assert.equal(n, 1);
});

test('close never runs for a connect that failed', async () => {
  const ev = [];
  const p = connect({
    hostname: HOST,
    port: closedPort(),
    socket: {
      data() {
        ev.push('data');
      },
      close() {
        ev.push('close');
      },
      connectError() {
        ev.push('connectError');
      },
    },
  });
  await assert.rejects(withTimeout(p, 3000, 'connect'), { code: 'ECONNREFUSED' });
  await sleep(100);
  assert.deepEqual(ev, ['connectError']);
});

// ---- drain -----------------------------------------------------------------------------------------

test('drain runs only after a write that returned fewer bytes than given', async (t) => {
  const ev = [];
  let sock;
  let shortWritten = false;
  const server = serve(t, {
    open(s) {
      sock = s;
    },
    data() {},
    drain() {
      ev.push(shortWritten ? 'drain' : 'drain-too-early');
    },
  });
  let received = 0;
  const c = await dial(t, server.port, {
    data(s, d) {
      received += d.length;
    },
  });
  await until(() => sock, 3000, 'accepted');
  // Full writes never arm drain.
  let full = 0;
  for (let i = 0; i < 20; i++) full += sock.write('small write ' + i);
  await until(() => received === full, 3000, 'small writes received');
  await sleep(100);
  assert.deepEqual(ev, [], 'no drain after full writes');

  c.pause();
  const chunk = Buffer.alloc(1 << 20, 1);
  let total = full;
  let short = -1;
  for (let i = 0; i < 256 && short < 0; i++) {
    const n = sock.write(chunk);
    total += n;
    if (n < chunk.length) short = n;
  }
  shortWritten = true;
  // Including 0: a write that takes nothing.
  let zero = sock.write(chunk);
  for (let i = 0; i < 50 && zero > 0; i++) {
    total += zero;
    zero = sock.write(chunk);
  }
  assert.ok(short >= 0);
  await sleep(100);
  assert.deepEqual(ev, [], 'no drain while the peer reads nothing');
  c.resume();
  await until(() => ev.length >= 1, 5000, 'drain');
  await until(() => received === total, 5000, 'everything received');
  await sleep(100);
  assert.deepEqual(ev, ['drain'], 'one drain for the short write');
});

// ---- connectError ------------------------------------------------------------------------------------

test('connectError: runs first with a Node-like error, then the promise rejects with it; nothing else runs', async () => {
  const port = closedPort();
  const data = { my: 'data' };
  const ev = [];
  let rec;
  let returned = false;
  const record = (name) => () => ev.push(name);
  const p = connect({
    hostname: HOST,
    port,
    data,
    socket: {
      open: record('open'),
      data: record('data'),
      drain: record('drain'),
      end: record('end'),
      close: record('close'),
      error: record('error'),
      timeout: record('timeout'),
      connectError(s, err) {
        ev.push('connectError');
        rec = { err, asyncOk: returned, data: s.data, write: s.write('x'), state: s.readyState };
      },
    },
  });
  returned = true;
  const err = await withTimeout(p, 3000, 'connect').then(
    () => assert.fail('connect should fail'),
    (e) => {
      ev.push('rejected');
      return e;
    },
  );
  await sleep(100);
  assert.deepEqual(ev, ['connectError', 'rejected']);
  assert.ok(rec.asyncOk, 'connectError runs after connect() returned');
  assert.equal(rec.data, data);
  assert.equal(rec.write, -1);
  assert.equal(rec.state, -1);
  assert.equal(err, rec.err, 'rejects with the same error');
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.syscall, 'connect');
  assert.equal(typeof err.errno, 'number');
  assert.ok(err.errno < 0, `errno ${err.errno}`);
  assert.equal(err.address, HOST);
  assert.equal(err.port, port);
  assert.equal(err.message, `connect ECONNREFUSED ${HOST}:${port}`);
});

test('with a connectError handler an uncaught failed connect is no unhandledRejection', async () => {
  const code = `
const { listen, connect } = require(process.env.PKG);
process.on('unhandledRejection', (r) => { console.log('UNHANDLED:' + (r && r.code)); });
const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
const port = l.port;
l.stop(true);
connect({ hostname: '127.0.0.1', port, socket: { data() {}, connectError() { console.log('CONNECT-ERROR'); } } });
// Control: the same without a handler is an unhandled rejection.
setTimeout(() => {
  connect({ hostname: '127.0.0.1', port, socket: { data() {} } });
  setTimeout(() => console.log('DONE'), 500);
}, 500);
`;
  const r = await runChild(code, { timeoutMs: 10000 });
  assert.ok(!r.timedOut, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines, ['CONNECT-ERROR', 'UNHANDLED:ECONNREFUSED', 'DONE'], r.stderr);
});

test('connectError that throws: the promise rejects with what it threw', async () => {
  const thrown = new Error('from connectError');
  const p = connect({
    hostname: HOST,
    port: closedPort(),
    socket: {
      data() {},
      connectError() {
        throw thrown;
      },
    },
  });
  const got = await withTimeout(p, 3000, 'connect').then(
    () => assert.fail('connect should fail'),
    (e) => e,
  );
  assert.equal(got, thrown);
});

test('a connectError that throws, with nobody awaiting the promise: the throw surfaces (exit 1), not swallowed; one that returns is handled (exit 0)', async () => {
  for (const throws of [true, false]) {
    const code = `
const { listen, connect } = require(process.env.PKG);
const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
const port = l.port;
l.stop();
connect({ hostname: '127.0.0.1', port, socket: {
  data() {},
  error() { console.log('ERROR-HANDLER'); },
  connectError(s, e) { console.log('CONNECT-ERROR ' + e.code); if (${throws}) throw new Error('bug in connectError'); },
} });`;
    const r = await runChild(code, { timeoutMs: 10000 });
    assert.ok(!r.timedOut, r.stderr);
    assert.equal(r.stdout.trim(), 'CONNECT-ERROR ECONNREFUSED');
    if (throws) {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /bug in connectError/);
    } else {
      assert.equal(r.code, 0, r.stderr);
    }
  }
});

test('an async connectError that rejects is treated as one that throws: the promise rejects with what it threw, and no other handler runs', async () => {
  const code = `
const { listen, connect } = require(process.env.PKG);
process.on('unhandledRejection', (r) => { console.log('UNHANDLED:' + (r && r.message)); });
process.on('uncaughtException', (e) => { console.log('UNCAUGHT:' + (e && e.message)); });
const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
const port = l.port;
l.stop(true);
const table = (rejects) => ({
  data() {},
  error(s, err) { console.log('ERROR-HANDLER:' + err.message); },
  close() { console.log('CLOSE-HANDLER'); },
  async connectError(s, err) {
    await new Promise((r) => setTimeout(r, 20));
    if (rejects) throw new Error('from connectError');
  },
});
connect({ hostname: '127.0.0.1', port, socket: table(true) }).catch((e) => console.log('REJECTED:' + (e.code || e.message)));
// One that fulfils handled the error: the promise rejects with it, and nobody awaiting is fine.
connect({ hostname: '127.0.0.1', port, socket: table(false) }).catch((e) => console.log('REJECTED:' + (e.code || e.message)));
connect({ hostname: '127.0.0.1', port, socket: table(false) });
setTimeout(() => console.log('DONE'), 400);
`;
  const r = await runChild(code, { timeoutMs: 10000 });
  assert.ok(!r.timedOut, r.stderr);
  const lines = r.stdout.trim().split('\n').sort();
  assert.deepEqual(lines, ['DONE', 'REJECTED:ECONNREFUSED', 'REJECTED:from connectError'], r.stdout + r.stderr);
  assert.equal(r.code, 0, r.stderr);
});

test('connect({ port: 0 }) rejects with ECONNREFUSED (not an option error)', async () => {
  let p;
  assert.doesNotThrow(() => {
    p = connect({ hostname: HOST, port: 0, socket: { data() {} } });
  });
  await assert.rejects(withTimeout(p, 3000, 'connect'), (err) => {
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
    return true;
  });
});

// ---- handler table snapshot -------------------------------------------------------------------------

test('the handler table is read once: later mutation of the object has no effect', async (t) => {
  const log = [];
  const table = {
    open() {
      log.push('open:original');
    },
    data(s, d) {
      log.push('data:original');
      s.write(d);
    },
  };
  const server = serve(t, table);
  table.open = () => log.push('open:mutated');
  table.data = () => log.push('data:mutated');
  table.close = () => log.push('close:mutated');

  const cLog = [];
  const cTable = {
    data() {
      cLog.push('data:original');
    },
  };
  const pending = connect({ hostname: HOST, port: server.port, socket: cTable });
  cTable.data = () => cLog.push('data:mutated');
  cTable.open = () => cLog.push('open:mutated');
  const c = await withTimeout(pending, 3000, 'connect');
  t.after(() => c.close());
  c.write('x');
  await until(() => cLog.length === 1, 3000, 'echo');

  // Same for reload.
  const reloaded = {
    data(s, d) {
      log.push('data:reloaded');
      s.write(d);
    },
  };
  server.reload({ socket: reloaded });
  reloaded.data = () => log.push('data:reloaded-mutated');
  c.write('y');
  await until(() => cLog.length === 2, 3000, 'second echo');
  c.close();
  await sleep(50);
  assert.deepEqual(log, ['open:original', 'data:original', 'data:reloaded']);
  assert.deepEqual(cLog, ['data:original', 'data:original']);
});

test('open returning a promise that rejects: error(s, err), then the socket closes, as after a throw', async () => {
  const seen = [];
  const closed = deferred();
  const server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      async open() {
        await null;
        throw new Error('async open failed');
      },
      data: () => seen.push('data'),
      error: (s, err) => seen.push(`error ${err.message}`),
      close: (s, err) => {
        seen.push(`close ${err}`);
        closed.resolve();
      },
    },
  });
  const peerEnded = deferred();
  const c = require('node:net').connect(server.port, HOST, () => c.write('hello'));
  c.on('end', () => peerEnded.resolve('end'));
  c.on('error', (err) => peerEnded.resolve(err.code));
  await withTimeout(closed.promise, 5000, 'server close');
  assert.equal(await withTimeout(peerEnded.promise, 5000, 'peer end'), 'end');
  server.stop(true);
  c.destroy();
  assert.deepEqual(seen.filter((e) => e !== 'data'), ['error async open failed', 'close undefined']);
});

test('open returning an Error (not throwing it): error(s, err), then close, as Bun treats it', async () => {
  const seen = [];
  const closed = deferred();
  const server = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const s = await connect({
    hostname: HOST,
    port: server.port,
    socket: {
      open: () => new Error('returned from open'),
      data() {},
      error: (_s, err) => seen.push(`error ${err.message}`),
      close: (_s, err) => {
        seen.push(`close ${err}`);
        closed.resolve();
      },
    },
  });
  await withTimeout(closed.promise, 5000, 'close');
  server.stop(true);
  assert.equal(s.readyState, -1);
  assert.deepEqual(seen, ['error returned from open', 'close undefined']);
});
