'use strict';
// A paused socket does not read, but the peer's reset and FIN are not data: a reset closes it with
// the error at once, after what came before it (as in Bun), and a FIN with nothing unread runs `end` (as a paused node:net
// socket with an empty buffer emits it). Otherwise a paused socket that has ended its own side
// waits for its peer forever: no read sees the FIN and no write the reset.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, sleep, cleanup } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();

/** A node:net / node:tls server that reads what it gets and closes when we end (end) or at once. */
async function closingPeer(t, kind) {
  const got = deferred();
  const onConnection = (c) => {
    const chunks = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => {
      got.resolve(Buffer.concat(chunks).toString());
      c.end();
    });
    c.on('error', () => {});
  };
  const server = kind === 'TLS' ? tls.createServer({ key: fx.server.key, cert: fx.server.cert }, onConnection) : net.createServer(onConnection);
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  cleanup(t, () => server.close());
  return { port: server.address().port, got: got.promise };
}

const ourTls = (kind) => (kind === 'TLS' ? { ca: fx.ca.cert, serverName: 'localhost' } : undefined);

for (const kind of ['plain', 'TLS']) {
  const skip = kind === 'TLS' && !fx ? skipReason() : false;
  for (const how of ['end', 'shutdown']) {
    test(`${kind}: a paused client that ${how}()s closes when the peer closes (end, then close)`, { skip }, async (t) => {
      const peer = await closingPeer(t, kind);
      const events = [];
      const closed = deferred();
      const socket = await connect({ hostname: HOST, port: peer.port, tls: ourTls(kind), socket: {
        data() { events.push('data'); },
        end() { events.push('end'); },
        close(_s, err) { closed.resolve(err); },
      } });
      cleanup(t, () => socket.terminate());
      socket.pause();
      await sleep(50);
      if (how === 'end') assert.equal(socket.end('bye'), 3);
      else {
        socket.write('bye');
        socket.shutdown();
      }
      assert.equal(await withTimeout(peer.got, 5000, 'peer end'), 'bye');
      const err = await withTimeout(closed.promise, 5000, 'close of the paused socket');
      assert.equal(err, undefined);
      assert.deepEqual(events, ['end']);
      assert.equal(socket.readyState, -1);
    });
  }

  test(`${kind}: a paused socket whose peer's FIN came first closes once it ends its own side`, { skip }, async (t) => {
    for (const how of ['end', 'shutdown']) {
      const events = [];
      const closed = deferred();
      const server = net.createServer({ allowHalfOpen: true }, () => {});
      const tlsServer = kind === 'TLS' ? tls.createServer({ key: fx.server.key, cert: fx.server.cert, allowHalfOpen: true }, (c) => {
        c.on('error', () => {});
        c.end(); // FIN (and close_notify) at once; it keeps reading
        c.resume();
      }) : null;
      const peer = tlsServer || server;
      if (!tlsServer) peer.on('connection', (c) => {
        c.on('error', () => {});
        c.end();
        c.resume();
      });
      await new Promise((resolve) => peer.listen(0, HOST, resolve));
      cleanup(t, () => peer.close());
      const socket = await connect({ hostname: HOST, port: peer.address().port, tls: ourTls(kind), allowHalfOpen: true, socket: {
        open(s) { s.pause(); },
        data() { events.push('data'); },
        end() { events.push('end'); },
        close(_s, err) { closed.resolve(err); },
      } });
      cleanup(t, () => socket.terminate());
      await sleep(150); // the peer's FIN is here, held behind the pause
      assert.deepEqual(events, [], `${how}: nothing delivered while paused`);
      if (how === 'end') socket.end();
      else socket.shutdown();
      assert.equal(await withTimeout(closed.promise, 5000, `${how}: close of the paused socket`), undefined);
      assert.deepEqual(events, ['end']);
    }
  });

  test(`${kind}: a paused server socket that end()s closes when the peer closes; the process exits`, { skip }, async () => {
    const { runChild, CHILD_PRELUDE } = require('./helpers');
    const out = await runChild(
      `${CHILD_PRELUDE}
      const net = require('node:net'), tls = require('node:tls');
      const tlsOn = process.env.KIND === 'TLS';
      const server = listen({ hostname: HOST, port: 0, tls: tlsOn ? { key: fs.readFileSync(process.env.KEY), cert: fs.readFileSync(process.env.CERT) } : undefined, socket: {
        open(s) { s.pause(); server.stop(); setTimeout(() => s.end('bye'), 50); },
        data() {},
        close() { console.log('server close'); },
      } });
      const c = tlsOn ? tls.connect({ host: HOST, port: server.port, ca: fs.readFileSync(process.env.CA), servername: 'localhost' }) : net.connect(server.port, HOST);
      c.on('data', () => c.end());
      c.on('error', () => {});`,
      { env: fx ? { KIND: kind, KEY: fx.server.keyPath, CERT: fx.server.certPath, CA: fx.ca.certPath } : { KIND: kind }, timeoutMs: 8000 },
    );
    assert.equal(out.timedOut, false, 'the paused socket kept the process alive');
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /server close/);
  });
}

test('a paused socket with unread data keeps the end behind it: data, then end, after resume()', async (t) => {
  const events = [];
  const closed = deferred();
  const server = net.createServer((c) => c.end('tail'));
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  cleanup(t, () => server.close());
  const socket = await connect({ hostname: HOST, port: server.address().port, socket: {
    open(s) { s.pause(); },
    data(_s, d) { events.push(`data:${d}`); },
    end() { events.push('end'); },
    close() { closed.resolve(); },
  } });
  cleanup(t, () => socket.terminate());
  await sleep(200);
  assert.deepEqual(events, [], 'nothing while paused: the end waits behind the unread data');
  socket.resume();
  await withTimeout(closed.promise, 5000, 'close');
  assert.deepEqual(events, ['data:tail', 'end']);
});

test('a paused socket whose peer resets closes with ECONNRESET at once, also while waiting for drain', async (t) => {
  for (const waitingForDrain of [false, true]) {
    const events = [];
    const closed = deferred();
    let peer;
    const server = listen({ hostname: HOST, port: 0, socket: {
      open(s) {
        s.pause();
        if (waitingForDrain) {
          const big = Buffer.alloc(1 << 20);
          while (s.write(big) === big.length);
          events.push('short write');
        }
      },
      data() {},
      drain() { events.push('drain'); },
      close(_s, err) {
        events.push(`close ${err && err.code}`);
        closed.resolve();
      },
    } });
    t.after(() => server.stop(true));
    peer = net.connect(server.port, HOST, () => {
      peer.pause();
      setTimeout(() => peer.resetAndDestroy(), 150);
    });
    peer.on('error', () => {});
    await withTimeout(closed.promise, 5000, `close (waiting for drain: ${waitingForDrain})`);
    assert.deepEqual(events, waitingForDrain ? ['short write', 'close ECONNRESET'] : ['close ECONNRESET']);
  }
});

// What arrived before the reset is still the application's: delivered (paused or not), in order,
// before `close` gets the error, as in Bun.
for (const kind of ['TCP', 'TLS']) {
  test(`${kind}: a paused socket whose peer resets gets the bytes that came before the reset, then close(ECONNRESET)`, { skip: kind === 'TLS' && !fx ? skipReason() : false }, async (t) => {
    const sent = require('node:crypto').randomBytes(48 << 10);
    const events = [];
    const chunks = [];
    const closed = deferred();
    const server = listen({ hostname: HOST, port: 0, tls: kind === 'TLS' ? { key: fx.server.key, cert: fx.server.cert } : undefined, socket: {
      open(s) { s.pause(); }, // under TLS, `open` follows the handshake
      data(s, d) {
        if (events.at(-1) !== 'data') events.push('data');
        chunks.push(Buffer.from(d));
      },
      close(_s, err) {
        events.push(`close ${err && err.code}`);
        closed.resolve();
      },
    } });
    t.after(() => server.stop(true));
    const raw = net.connect({ host: HOST, port: server.port }); // a TLSSocket cannot resetAndDestroy()
    const peer = kind === 'TLS' ? tls.connect({ socket: raw, ca: fx.ca.cert, servername: 'localhost' }) : raw;
    raw.on('error', () => {});
    peer.on('error', () => {});
    await new Promise((resolve) => peer.once(kind === 'TLS' ? 'secureConnect' : 'connect', resolve));
    await new Promise((resolve) => peer.write(sent, resolve));
    await sleep(150); // on loopback, well past the bytes' arrival in the server's receive queue
    raw.resetAndDestroy();
    await withTimeout(closed.promise, 5000, 'close');
    assert.deepEqual(events, ['data', 'close ECONNRESET']);
    assert.ok(Buffer.concat(chunks).equals(sent), `got ${Buffer.concat(chunks).length} of ${sent.length} bytes, in order`);
  });
}

test("a paused socket whose peer sends data and FIN, then resets: data, end, then close with the reset's error", async (t) => {
  const events = [];
  const closed = deferred();
  const server = listen({ hostname: HOST, port: 0, socket: {
    open(s) { s.pause(); },
    data(_s, d) { events.push(`data ${d}`); },
    end() { events.push('end'); },
    close(_s, err) {
      events.push(`close ${err && err.code}`);
      closed.resolve();
    },
  } });
  t.after(() => server.stop(true));
  const peer = net.connect(server.port, HOST, () => {
    peer.end('hello');
    setTimeout(() => peer.resetAndDestroy(), 150);
  });
  peer.on('error', () => {});
  await withTimeout(closed.promise, 5000, 'close (the reset came behind the FIN)');
  assert.deepEqual(events.slice(0, 2), ['data hello', 'end']);
  // The kernel records a reset after the FIN as EPIPE; it is the peer's reset all the same.
  assert.equal(events[2], 'close ECONNRESET');
  assert.equal(events.length, 3);
});

test("allowHalfOpen: a peer that ends, then terminate()s: data, end, then close with ECONNRESET (not the kernel's EPIPE)", async (t) => {
  const events = [];
  const closed = deferred();
  const server = listen({ hostname: HOST, port: 0, allowHalfOpen: true, socket: {
    data(_s, d) { events.push(`data ${d}`); },
    end() { events.push('end'); },
    close(_s, err) {
      events.push(`close ${err && err.code} ${err && err.syscall}`);
      closed.resolve();
    },
  } });
  t.after(() => server.stop(true));
  const peer = await connect({ hostname: HOST, port: server.port, allowHalfOpen: true, socket: { data() {} } });
  peer.end('hello');
  setTimeout(() => peer.terminate(), 50);
  await withTimeout(closed.promise, 5000, 'close (the reset came behind the FIN)');
  assert.deepEqual(events, ['data hello', 'end', 'close ECONNRESET read']);
});
