'use strict';
// STARTTLS with this package on both ends: the server upgrades its accepted socket, the client its
// connected one, and the conversation goes on under TLS with new handlers and data.
const test = require('node:test');
const assert = require('node:assert/strict');
const { listen, connect } = require('..');
const { fixtures, skipReason } = require('./tls-fixtures');
const { deferred, withTimeout, sleep } = require('./helpers');

const fx = fixtures();
const skip = fx ? false : skipReason();

test('both ends upgrade a plain connection with upgradeTLS and echo under TLS', { skip }, async (t) => {
  const events = [];
  const done = deferred();
  let serverRaw;
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(s, d) {
        if (String(d) !== 'STARTTLS\n') return events.push(`plain server data after upgrade: ${d}`);
        s.write('OK\n');
        const [raw, secure] = s.upgradeTLS({
          tls: { key: fx.server.key, cert: fx.server.cert },
          data: { upgraded: true },
          socket: {
            open(x) {
              events.push(`server tls open ${x.getTLSVersion()} ${x.data.upgraded}`);
            },
            data(x, chunk) {
              x.write(`secure:${chunk}`);
            },
            close() {
              events.push('server tls close');
            },
          },
        });
        serverRaw = raw;
        assert.equal(raw, s);
        assert.notEqual(secure, s);
      },
      close() {
        events.push('server raw close');
      },
    },
  });
  t.after(() => server.stop(true));
  const client = await connect({
    hostname: '127.0.0.1',
    port: server.port,
    socket: {
      data(s, d) {
        if (String(d) !== 'OK\n') return events.push(`plain client data: ${d}`);
        const [raw] = s.upgradeTLS({
          tls: { ca: fx.ca.cert, serverName: 'localhost' },
          socket: {
            open(x) {
              events.push(`client tls open ${x.authorized}`);
              x.write('hello');
            },
            data(x, chunk) {
              events.push(`client got ${chunk}`);
              x.end();
            },
            close() {
              events.push('client tls close');
              done.resolve();
            },
          },
        });
        assert.equal(raw.write('x'), -1, 'the raw socket no longer writes');
      },
      close(s, err) {
        events.push(`client raw close ${err}`);
      },
    },
  });
  client.write('STARTTLS\n');
  await withTimeout(done.promise, 5000, 'STARTTLS exchange');
  assert.deepEqual(events.slice(0, 3).sort(), ['client got secure:hello', 'client tls open true', 'server tls open TLSv1.3 true'].sort());
  assert.ok(events.includes('client tls close'));
  assert.ok(!events.some((e) => e.startsWith('plain')), `no ciphertext reached the raw handlers: ${events}`);
  assert.equal(serverRaw.readyState, -1);
  // Each raw socket opened, so its close runs exactly once: as the connection closes, just before
  // the TLS socket's (as in Bun), not at the upgrade.
  const serverClosed = deferred();
  const poll = setInterval(() => events.includes('server tls close') && serverClosed.resolve(), 10);
  await withTimeout(serverClosed.promise, 5000, 'server TLS close').finally(() => clearInterval(poll));
  await sleep(50);
  const closes = events.filter((e) => e.includes('close'));
  assert.deepEqual(
    closes.filter((e) => e.startsWith('client')),
    ['client raw close undefined', 'client tls close'],
  );
  assert.deepEqual(
    closes.filter((e) => e.startsWith('server')),
    ['server raw close', 'server tls close'],
  );
});

/** A client upgradeTLS() whose handshake fails (an untrusted certificate), with TLS handlers `tlsTable(events)`. */
async function failedUpgrade(t, tlsTable) {
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(s) {
        s.write('OK\n');
        s.upgradeTLS({ tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data() {} } });
      },
    },
  });
  t.after(() => server.stop(true));
  const events = [];
  const closed = deferred();
  const client = await connect({
    hostname: '127.0.0.1',
    port: server.port,
    socket: {
      data(s) {
        s.upgradeTLS({ tls: { serverName: 'localhost' }, socket: { data() {}, ...tlsTable(events) } });
      },
      close(s, err) {
        events.push(`raw close ${err && err.code}`);
        closed.resolve();
      },
    },
  });
  client.write('STARTTLS\n');
  await withTimeout(closed.promise, 5000, 'raw close');
  await sleep(50);
  return events;
}

test('an upgradeTLS whose handshake fails: the TLS socket never opens, the raw one closes once with the error', { skip }, async (t) => {
  const table = (events) => ({
    handshake: (x, ok, err) => events.push(`tls handshake ${ok} ${err && err.code}`),
    close: (x, err) => events.push(`tls close ${err && err.code}`),
  });
  assert.deepEqual(await failedUpgrade(t, table), [
    'tls handshake false UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'raw close UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'tls close UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  ]);
});

test('a failed upgradeTLS without a handshake handler runs the TLS table\'s connectError (as a failed connect({ tls })), then the raw close', { skip }, async (t) => {
  const table = (events) => ({
    connectError: (x, err) => events.push(`tls connectError ${err.code}`),
    error: (x, err) => events.push(`tls error ${err.code}`),
    close: (x, err) => events.push(`tls close ${err && err.code}`),
  });
  assert.deepEqual(await failedUpgrade(t, table), ['tls connectError UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'raw close UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
  // Without connectError, `error` hears of it.
  const errorOnly = (events) => ({ error: (x, err) => events.push(`tls error ${err.code}`) });
  assert.deepEqual(await failedUpgrade(t, errorOnly), ['tls error UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'raw close UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
});

test('upgradeTLS() of an unref()ed socket: the TLS socket stays unref\'d and the process exits (child)', { skip }, async (t) => {
  const { runChild } = require('./helpers');
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(s) {
        s.write('S');
        s.upgradeTLS({ tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data() {} } });
      },
    },
  });
  t.after(() => server.stop(true));
  const r = await runChild(
    `
    const { connect } = require(process.env.PKG);
    const ca = ${JSON.stringify(fx.ca.cert)};
    const keep = setInterval(() => {}, 1000); // alive until the TLS socket opened
    connect({ hostname: '127.0.0.1', port: ${server.port}, socket: {
      open(s) { s.unref(); s.write('?'); },
      data(s) {
        s.upgradeTLS({ tls: { ca, serverName: 'localhost' }, socket: { open() { console.log('tls open'); clearInterval(keep); }, data() {} } });
      },
    } });
    `,
    { timeoutMs: 5000 },
  );
  assert.equal(r.timedOut, false, 'the process exited by itself once the TLS socket opened');
  assert.equal(r.stdout.trim(), 'tls open', r.stderr);
  assert.equal(r.code, 0, r.stderr);
});

test('an upgradeTLS that throws (a ca that does not parse) changes nothing: the raw socket keeps its events, and closing it lets the process exit', { skip }, async () => {
  const { runChild } = require('./helpers');
  const out = await runChild(`
    const net = require('node:net');
    const { connect } = require(process.env.PKG);
    const peer = net.createServer({ allowHalfOpen: true }, (c) => { c.on('error', () => {}); c.on('data', () => c.write('pong')); });
    peer.listen(0, '127.0.0.1', async () => {
      peer.unref();
      const seen = [];
      const raw = await connect({ hostname: '127.0.0.1', port: peer.address().port, socket: {
        data(s, chunk) { seen.push(String(chunk)); s.close(); },
        close() { console.log('RESULT ' + JSON.stringify({ seen, threw, state })); },
      } });
      let threw = null;
      try { raw.upgradeTLS({ tls: { ca: 'not a certificate' }, socket: { data() {} } }); } catch (e) { threw = e.message; }
      const state = raw.readyState;
      raw.write('ping');
    });
  `, { timeoutMs: 8000 });
  assert.equal(out.timedOut, false, 'the process exits by itself once the raw socket is closed');
  const r = JSON.parse(out.stdout.split('RESULT ')[1]);
  assert.match(r.threw, /tls\.ca/);
  assert.equal(r.state, 1, 'the raw socket is still open');
  assert.deepEqual(r.seen, ['pong'], "the raw socket still gets the peer's data");
});

test('pause() then upgradeTLS(): the TLS socket reads its handshake and opens', { skip }, async (t) => {
  const tls = require('node:tls');
  const net = require('node:net');
  const peer = net.createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => {
      c.write('OK\r\n');
      const secure = new tls.TLSSocket(c, { isServer: true, key: fx.server.key, cert: fx.server.cert });
      secure.on('error', () => {});
      secure.on('data', (d) => secure.write(d));
    });
  });
  await new Promise((resolve) => peer.listen(0, '127.0.0.1', resolve));
  t.after(() => peer.close());
  const echoed = deferred();
  const raw = await connect({
    hostname: '127.0.0.1',
    port: peer.address().port,
    socket: {
      data(s, chunk) {
        if (!String(chunk).startsWith('OK')) return;
        s.pause();
        s.upgradeTLS({
          tls: { ca: fx.ca.cert, serverName: 'localhost' },
          socket: {
            open(secure) {
              secure.write('under tls');
            },
            data(secure, d) {
              echoed.resolve(String(d));
              secure.end();
            },
          },
        });
      },
    },
  });
  raw.write('STARTTLS\r\n');
  assert.equal(await withTimeout(echoed.promise, 5000, 'echo under TLS'), 'under tls');
});

// A server that looks at the first bytes to decide (a ClientHello begins with 22) upgrades with
// them as `initialData`: the session reads them first. They are copied when upgradeTLS is called,
// as in Bun: a `tls` getter that then zeroes the chunk changes nothing.
test('upgradeTLS({ isServer, initialData }): a ClientHello already read as plain starts the handshake', { skip }, async (t) => {
  const sniffed = deferred();
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: {
    data(raw, chunk) {
      sniffed.resolve(chunk[0]);
      raw.upgradeTLS({
        isServer: true,
        initialData: chunk,
        get tls() {
          chunk.fill(0);
          return { key: fx.server.key, cert: fx.server.cert };
        },
        socket: { data(s, d) { s.write(d); } },
      });
    },
  } });
  t.after(() => server.stop(true));
  const payload = require('node:crypto').randomBytes(200 << 10);
  const got = [];
  let have = 0;
  const echoed = deferred();
  const client = await withTimeout(connect({ hostname: '127.0.0.1', port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: {
    data(_s, d) {
      got.push(Buffer.from(d));
      have += d.length;
      if (have >= payload.length) echoed.resolve();
    },
  } }), 5000, 'TLS connect');
  t.after(() => client.close());
  assert.equal(await sniffed.promise, 22, 'the raw socket saw a TLS handshake record');
  assert.equal(client.authorized, true);
  let off = 0;
  const pump = () => {
    while (off < payload.length) {
      const n = client.write(payload.subarray(off));
      if (n <= 0) return;
      off += n;
    }
  };
  client.reload({ socket: {
    data(_s, d) {
      got.push(Buffer.from(d));
      have += d.length;
      if (have >= payload.length) echoed.resolve();
    },
    drain: pump,
  } });
  pump();
  await withTimeout(echoed.promise, 5000, 'echo');
  assert.ok(Buffer.concat(got).equals(payload), 'echoed byte-exact');
});

test('upgradeTLS({ isServer: true }) on a connected socket serves the handshake to a node:tls client', { skip }, async (t) => {
  const tls = require('node:tls');
  const net = require('node:net');
  const got = deferred();
  const peer = net.createServer((c) => {
    const secure = tls.connect({ socket: c, ca: fx.ca.cert, servername: 'localhost' }, () => secure.write('hello'));
    secure.on('data', (d) => got.resolve(String(d)));
    secure.on('error', (e) => got.reject(e));
  });
  await new Promise((resolve) => peer.listen(0, '127.0.0.1', resolve));
  t.after(() => peer.close());
  const plain = await connect({ hostname: '127.0.0.1', port: peer.address().port, socket: { data() {} } });
  const [, secure] = plain.upgradeTLS({ isServer: true, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data(s, d) { s.write(`back:${d}`); } } });
  t.after(() => secure.close());
  assert.equal(await withTimeout(got.promise, 5000, 'node:tls client'), 'back:hello');
});

test('upgradeTLS: isServer must be a boolean, initialData bytes or a string, and tls given (TypeError, nothing changes)', { skip }, async (t) => {
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  t.after(() => server.stop(true));
  const plain = await connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } });
  t.after(() => plain.close());
  const tlsOpts = { key: fx.server.key, cert: fx.server.cert };
  assert.throws(() => plain.upgradeTLS({ isServer: 'yes', tls: tlsOpts, socket: { data() {} } }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && /isServer/.test(e.message));
  assert.throws(() => plain.upgradeTLS({ initialData: 5, tls: true, socket: { data() {} } }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && /initialData/.test(e.message));
  // `tls` is required, as in Bun: missing, undefined, null and false are one TypeError.
  for (const options of [{}, { tls: undefined }, { tls: null }, { tls: false }]) {
    assert.throws(() => plain.upgradeTLS({ ...options, socket: { data() {} } }), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && /options\.tls/.test(e.message), JSON.stringify(options));
  }
  assert.equal(plain.readyState, 1, 'still open and plain');
  assert.equal(plain.write('x'), 1);
});
