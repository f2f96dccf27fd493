'use strict';
// socket.setVerifyMode(requestCert, rejectUnauthorized) on server sockets, as Bun applies it: in
// `open` (with a `handshake` handler in the table, `open` runs before the handshake, which waits
// for it), it decides whether this connection's handshake asks for a client certificate and fails
// without a trusted one, as listen's TLS options with the same values would. The peers are
// node:tls clients.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, cleanup } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();
const skip = fx ? false : skipReason();

/**
 * A TLS echo server whose `open` calls `setVerifyMode(...mode)` (when `mode` is given); resolves
 * `handshakes` entries { ok, code, authorized, cn } as the server's handshakes end.
 */
function server(t, tlsOptions, mode, extra = {}) {
  const handshakes = [];
  let notify = null;
  const l = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, ...tlsOptions },
    socket: {
      open(s) {
        if (mode) s.setVerifyMode(...mode);
      },
      data(s, chunk) {
        s.write(chunk);
      },
      handshake(s, ok, err) {
        const peer = s.getPeerCertificate();
        handshakes.push({ ok, code: err ? err.code : null, authorized: s.authorized, cn: peer && peer.subject ? peer.subject.CN : undefined });
        if (notify) notify();
      },
      ...extra,
    },
  });
  cleanup(t, () => l.stop(true));
  const next = async () => {
    while (handshakes.length === 0) {
      const d = deferred();
      notify = d.resolve;
      await withTimeout(d.promise, 5000, 'server handshake');
    }
    return handshakes.shift();
  };
  return { l, next };
}

/** A node:tls client: resolves { ok: true, c } after an echo round trip, or { ok: false, code }. */
function client(t, port, options = {}) {
  return withTimeout(
    new Promise((resolve) => {
      const c = tls.connect({ host: HOST, port, ca: fx.ca.cert, servername: 'localhost', ...options });
      cleanup(t, () => c.destroy());
      c.on('error', (err) => resolve({ ok: false, code: err.code }));
      c.once('secureConnect', () => {
        c.write('ping');
        c.once('data', (d) => resolve({ ok: d.toString() === 'ping', c }));
      });
      c.once('close', () => resolve({ ok: false, code: 'closed' }));
    }),
    5000,
    'node:tls client',
  );
}

const withCert = { key: fx && fx.client.key, cert: fx && fx.client.cert };
const withOtherCert = { key: fx && fx.otherClient.key, cert: fx && fx.otherClient.cert };

test('setVerifyMode(true, true) in open: a trusted client certificate is asked for and required', { skip }, async (t) => {
  const { l, next } = server(t, { ca: fx.ca.cert }, [true, true]);

  const good = await client(t, l.port, withCert);
  assert.equal(good.ok, true, 'the client with a certificate from the ca echoes');
  assert.deepEqual(await next(), { ok: true, code: null, authorized: true, cn: 'client.test' });

  const none = await client(t, l.port);
  assert.equal(none.ok, false, 'a client without a certificate is refused');
  const refused = await next();
  assert.equal(refused.ok, false);
  assert.equal(refused.authorized, false);
  assert.ok(refused.code, 'the server handshake fails with a code');

  const other = await client(t, l.port, withOtherCert);
  assert.equal(other.ok, false, 'a certificate from another CA is refused');
  assert.equal((await next()).ok, false);
});

test('setVerifyMode(true, false) in open: the certificate is asked for, its absence or distrust only unauthorizes', { skip }, async (t) => {
  const { l, next } = server(t, { ca: fx.ca.cert }, [true, false]);

  assert.equal((await client(t, l.port, withCert)).ok, true);
  assert.deepEqual(await next(), { ok: true, code: null, authorized: true, cn: 'client.test' });

  assert.equal((await client(t, l.port, withOtherCert)).ok, true);
  const other = await next();
  assert.equal(other.ok, true);
  assert.equal(other.authorized, false);
  assert.ok(other.code, 'the authorization error is reported');
  assert.equal(other.cn, 'other-client.test', 'the server sees the untrusted certificate');

  assert.equal((await client(t, l.port)).ok, true);
  const none = await next();
  assert.equal(none.ok, true);
  assert.equal(none.authorized, false);
});

test('setVerifyMode(false, false) in open turns off the listener\'s requestCert for that connection', { skip }, async (t) => {
  const { l, next } = server(t, { ca: fx.ca.cert, requestCert: true, rejectUnauthorized: true }, [false, false]);
  const none = await client(t, l.port);
  assert.equal(none.ok, true, 'no certificate is required any more');
  const hs = await next();
  assert.equal(hs.ok, true);
  assert.equal(hs.authorized, false, 'nothing was asked, so nothing is authorized');
  assert.equal(hs.cn, undefined, 'and no certificate was sent');
});

test('without setVerifyMode the listener\'s options apply unchanged (requestCert off: no certificate is seen)', { skip }, async (t) => {
  const { l, next } = server(t, { ca: fx.ca.cert }, null);
  assert.equal((await client(t, l.port, withCert)).ok, true);
  assert.deepEqual(await next(), { ok: true, code: null, authorized: false, cn: undefined });
});

test('setVerifyMode after the handshake started is recorded only: the connection goes on', { skip }, async (t) => {
  let opened = null;
  // No handshake handler: open follows the handshake, so the call comes too late to matter.
  const l = listen({
    hostname: HOST,
    port: 0,
    tls: { key: fx.server.key, cert: fx.server.cert, ca: fx.ca.cert },
    socket: {
      open(s) {
        opened = s.setVerifyMode(true, true);
      },
      data(s, chunk) {
        s.write(chunk);
      },
    },
  });
  cleanup(t, () => l.stop(true));
  assert.equal((await client(t, l.port)).ok, true, 'echo works without a client certificate');
  assert.equal(opened, undefined, 'returns undefined, as Bun');
});

test('a socket paused in open keeps its handshake waiting until resume()', { skip }, async (t) => {
  let paused = null;
  const { l, next } = server(t, {}, null, {
    open(s) {
      s.pause();
      paused = s;
    },
  });
  let settled = false;
  const result = client(t, l.port).then((r) => {
    settled = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(paused, 'open ran');
  assert.equal(settled, false, 'no handshake while paused');
  paused.resume();
  assert.equal((await result).ok, true);
  assert.equal((await next()).ok, true);
});

test('many handshakes at once with a handshake handler all finish, before and after reload()', { skip }, async (t) => {
  const { l, next } = server(t, {}, null);
  const round = async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => client(t, l.port)));
    assert.deepEqual(results.map((r) => r.ok), results.map(() => true));
    for (let i = 0; i < 40; i++) assert.equal((await next()).ok, true);
  };
  await round();
  // Without a handshake handler open waits for the handshake, which then must not wait for open.
  l.reload({ socket: { data: (s, chunk) => s.write(chunk) } });
  const plain = await Promise.all(Array.from({ length: 20 }, () => client(t, l.port)));
  assert.deepEqual(plain.map((r) => r.ok), plain.map(() => true));
});

test('on a client after its handshake, and on plain sockets, setVerifyMode is a harmless no-op returning undefined', { skip }, async (t) => {
  const echo = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data: (s, c) => s.write(c) } });
  cleanup(t, () => echo.stop(true));
  const got = deferred();
  const s = await connect({
    hostname: 'localhost',
    port: echo.port,
    tls: { ca: fx.ca.cert },
    socket: { data: (_s, chunk) => got.resolve(Buffer.from(chunk).toString()) },
  });
  cleanup(t, () => s.terminate());
  assert.equal(s.setVerifyMode(true, true), undefined);
  s.write('still here');
  assert.equal(await withTimeout(got.promise, 5000, 'echo'), 'still here');

  const plain = listen({ hostname: HOST, port: 0, socket: { data: (s, c) => s.write(c) } });
  cleanup(t, () => plain.stop(true));
  const p = await connect({ hostname: HOST, port: plain.port, socket: { data() {} } });
  cleanup(t, () => p.terminate());
  assert.equal(p.setVerifyMode(true, true), undefined);
});

test('a write in open before setVerifyMode still lets it apply, and the written bytes still arrive', { skip }, async (t) => {
  const { l, next } = server(t, { ca: fx.ca.cert }, null, {
    open(s) {
      s.write('220 hello\n');
      s.setVerifyMode(true, true);
    },
  });
  const none = await client(t, l.port);
  assert.equal(none.ok, false, 'a client without a certificate is refused');
  assert.equal((await next()).ok, false);

  const got = deferred();
  const c = tls.connect({ host: HOST, port: l.port, ca: fx.ca.cert, servername: 'localhost', ...withCert });
  cleanup(t, () => c.destroy());
  c.on('error', got.reject);
  c.once('data', (d) => got.resolve(d.toString()));
  assert.equal(await withTimeout(got.promise, 5000, 'greeting'), '220 hello\n');
  assert.equal((await next()).authorized, true);
});

test('setVerifyMode takes booleans only on TLS sockets (TypeError ERR_INVALID_ARG_TYPE), as Bun rejects others', { skip }, async (t) => {
  const thrown = deferred();
  const { l } = server(t, {}, null, {
    open(s) {
      const codes = [[], [true], ['yes', 0], [1, 1], ['false', 'false']].map((args) => {
        try {
          s.setVerifyMode(...args);
          return 'no throw';
        } catch (err) {
          return `${err.name} ${err.code}`;
        }
      });
      thrown.resolve(codes);
    },
  });
  assert.equal((await client(t, l.port)).ok, true, 'the connection goes on with the listener\'s options');
  assert.deepEqual(await thrown.promise, Array(5).fill('TypeError ERR_INVALID_ARG_TYPE'));
});

test('a tls.ca that holds no certificate throws at listen, also without requestCert (setVerifyMode needs it)', { skip }, () => {
  for (const ca of ['this is not PEM', fx.client.key]) {
    assert.throws(() => {
      const l = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert, ca }, socket: { data() {} } });
      l.stop(true); // not reached when it throws, as it must
    }, /tls\.ca/);
  }
});

test('reload() between accept and handshake: open runs once, before handshake, and close follows', { skip }, async (t) => {
  // addHandshake: the table gains a handshake handler after the accept (open was left for the end
  // of the handshake); else open, run at the accept, reloads to a table without one.
  for (const addHandshake of [true, false]) {
    const seen = [];
    const closed = deferred();
    const base = {
      open: () => seen.push('open'),
      data(s, chunk) {
        s.write(chunk);
      },
      close() {
        seen.push('close');
        closed.resolve();
      },
    };
    const withHs = { ...base, handshake: () => seen.push('handshake') };
    const l = listen({
      hostname: HOST,
      port: 0,
      tls: { key: fx.server.key, cert: fx.server.cert },
      socket: addHandshake
        ? base
        : {
            ...withHs,
            open() {
              seen.push('open');
              l.reload({ socket: base });
            },
          },
    });
    cleanup(t, () => l.stop(true));
    // TCP first; the TLS handshake starts over it once the table has changed.
    const raw = net.connect(l.port, HOST);
    cleanup(t, () => raw.destroy());
    await new Promise((resolve) => raw.once('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (addHandshake) l.reload({ socket: withHs });
    const r = await client(t, l.port, { socket: raw });
    assert.equal(r.ok, true);
    r.c.end();
    await withTimeout(closed.promise, 5000, 'server close');
    assert.deepEqual(seen, addHandshake ? ['open', 'handshake', 'close'] : ['open', 'close']);
  }
});

test("a client's open that reloads to a table without a handshake handler runs once, not again when the handshake ends", { skip }, async (t) => {
  const echo = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data: (s, c) => s.write(c) } });
  cleanup(t, () => echo.stop(true));
  const seen = [];
  const got = deferred();
  const plain = {
    open: () => seen.push('open again'),
    data(s, chunk) {
      seen.push(`data ${chunk}`);
      got.resolve();
    },
  };
  const c = await connect({
    hostname: HOST,
    port: echo.port,
    tls: { ca: fx.ca.cert, serverName: 'localhost' },
    socket: {
      data() {},
      handshake: () => seen.push('handshake'),
      open(s) {
        seen.push('open');
        s.reload({ socket: plain });
        s.write('hi');
      },
    },
  });
  cleanup(t, () => c.terminate());
  await withTimeout(got.promise, 5000, 'echo');
  assert.deepEqual(seen, ['open', 'data hi']);
});

// A client's setVerifyMode in `open` (with a `handshake` handler, before its hello goes) decides,
// as in Bun, whether a server certificate that does not verify fails the handshake: its
// rejectUnauthorized, as the connect option would.
test("setVerifyMode(_, rejectUnauthorized) in a client's open overrides the connect's rejectUnauthorized", { skip }, async (t) => {
  const echo = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data: (s, c) => s.write(c) } });
  cleanup(t, () => echo.stop(true));
  /** A client for a name the certificate lacks; resolves with its handshake and first echo. */
  const attempt = async (tlsOptions, mode) => {
    const shook = deferred();
    const got = deferred();
    const closed = deferred();
    const s = await connect({
      hostname: HOST,
      port: echo.port,
      tls: { ca: fx.ca.cert, serverName: 'wrong.example', ...tlsOptions },
      socket: {
        open(x) { x.setVerifyMode(...mode); },
        handshake(x, ok, err) {
          shook.resolve({ ok, code: err ? err.code : null, authorized: x.authorized });
          if (ok) x.write('through');
        },
        data: (_x, chunk) => got.resolve(Buffer.from(chunk).toString()),
        close: () => closed.resolve(),
      },
    });
    cleanup(t, () => s.terminate());
    const hs = await withTimeout(shook.promise, 5000, 'handshake');
    if (hs.ok) hs.echo = await withTimeout(got.promise, 5000, 'echo');
    else await withTimeout(closed.promise, 5000, 'close after the failed handshake');
    return hs;
  };
  // Rejecting by default; (false, false) lets the handshake finish, unauthorized.
  assert.deepEqual(await attempt({}, [false, false]), { ok: true, code: 'ERR_TLS_CERT_ALTNAME_INVALID', authorized: false, echo: 'through' });
  // Not rejecting by the option; (true, true) and (false, true) fail the handshake.
  for (const mode of [[true, true], [false, true]]) {
    assert.deepEqual(await attempt({ rejectUnauthorized: false }, mode), { ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID', authorized: false }, String(mode));
  }
  // The same mode as the option changes nothing.
  assert.deepEqual(await attempt({ rejectUnauthorized: false }, [false, false]), { ok: true, code: 'ERR_TLS_CERT_ALTNAME_INVALID', authorized: false, echo: 'through' });
});

// An async `open` that awaits before calling them: the hello waits for its promise jobs, as Bun
// runs them before it goes out.
test("setVerifyMode() and setServername() after an await in a client's async open still apply", { skip }, async (t) => {
  const echo = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data: (s, c) => s.write(c) } });
  cleanup(t, () => echo.stop(true));
  const attempt = async (tlsOptions, inOpen) => {
    const shook = deferred();
    const s = await connect({
      hostname: HOST,
      port: echo.port,
      tls: { ca: fx.ca.cert, ...tlsOptions },
      socket: {
        async open(x) {
          await null;
          inOpen(x);
        },
        handshake(x, ok, err) { shook.resolve({ ok, code: err ? err.code : null }); },
        data() {},
      },
    });
    cleanup(t, () => s.terminate());
    return withTimeout(shook.promise, 5000, 'handshake');
  };
  assert.deepEqual(await attempt({ serverName: 'wrong.example' }, (x) => x.setVerifyMode(false, false)), { ok: true, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  assert.deepEqual(await attempt({ serverName: 'wrong.example' }, (x) => x.setServername('localhost')), { ok: true, code: null });
});
