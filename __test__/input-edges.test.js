'use strict';
// Inputs at the edges: methods called on strangers, options whose getters throw, NUL bytes in names
// and paths, and numeric arguments out of range. Each fails cleanly, synchronously, and leaves
// nothing behind (no bound port, no started session, no ref that keeps the process alive).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { listen, connect, ArrayBufferSink } = require('..');
const { HOST, deferred, withTimeout, runChild, CHILD_PRELUDE } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();

function throwingGetter(object, key) {
  Object.defineProperty(object, key, { enumerable: true, get() { throw new Error(`getter ${key}`); } });
  return object;
}

async function pair(t) {
  const server = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  t.after(() => server.stop(true));
  const client = await connect({ hostname: HOST, port: server.port, socket: { data() {} } });
  t.after(() => client.terminate());
  return { server, client };
}

test('methods and getters called on something else throw TypeError ERR_INVALID_THIS', async (t) => {
  const { server, client } = await pair(t);
  const isInvalidThis = (err) => err instanceof TypeError && err.code === 'ERR_INVALID_THIS';
  const listenerProto = Object.getPrototypeOf(server);
  for (const name of ['ref', 'unref', 'stop', 'reload']) {
    assert.throws(() => listenerProto[name].call({}), isInvalidThis, `listener.${name}`);
  }
  assert.throws(() => Object.getOwnPropertyDescriptor(listenerProto, 'port').get.call({}), isInvalidThis);
  const socketProto = Object.getPrototypeOf(client);
  for (const name of ['write', 'end', 'close', 'terminate', 'ref', 'unref', 'timeout', 'setNoDelay', 'setKeepAlive', 'pause', 'resume', 'flush', 'shutdown', 'getPeerCertificate']) {
    assert.throws(() => socketProto[name].call({}, 1), isInvalidThis, `socket.${name}`);
    assert.throws(() => socketProto[name].call(Object.create(socketProto), 1), isInvalidThis, `socket.${name} on a fake`);
  }
  assert.throws(() => Object.getOwnPropertyDescriptor(socketProto, 'readyState').get.call({}), isInvalidThis);
  // The real ones still work.
  assert.equal(client.write('x'), 1);
  assert.equal(server.ref(), server);
});

test('the classes cannot be constructed from outside: new socket.constructor() throws ERR_ILLEGAL_CONSTRUCTOR, and the process still exits (child)', async () => {
  // Once, a socket made this way took a live connection's id: the process then never exited, or
  // died of a TypeError in the real socket's end.
  const r = await runChild(`
    const { listen, connect } = require(process.env.PKG);
    const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    connect({ hostname: '127.0.0.1', port: l.port, socket: { data() {} } }).then((c) => {
      for (const make of [() => new c.constructor(), () => new c.constructor(c._id), () => new l.constructor(), () => Reflect.construct(c.constructor, [c._id, c])]) {
        try { make(); console.log('constructed'); } catch (e) { console.log(e.name + ' ' + e.code); }
      }
      c.terminate();
      l.stop(true);
    });`, { timeoutMs: 10000 });
  assert.equal(r.timedOut, false, r.stdout + r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), Array(4).fill('TypeError ERR_ILLEGAL_CONSTRUCTOR'));
});

test('write() of a Proxy around a Uint8Array throws ERR_INVALID_ARG_TYPE, as end() does and node:net does', async (t) => {
  const { client } = await pair(t);
  const isArgType = (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE';
  const proxy = new Proxy(new Uint8Array(4), {});
  assert.throws(() => client.write(proxy), isArgType);
  assert.throws(() => client.end(proxy), isArgType);
  assert.equal(client.write(new Uint8Array(4)), 4);
});

test('listener.ref() called on a stranger takes no ref: the process exits after stop()', async () => {
  const out = await runChild(
    `${CHILD_PRELUDE}
    const l = listen({ hostname: HOST, port: 0, socket: { data() {} } });
    try { Object.getPrototypeOf(l).ref.call({}); } catch (e) { console.log('threw ' + e.code); }
    l.stop(true);`,
    { timeoutMs: 8000 },
  );
  assert.equal(out.timedOut, false);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /threw ERR_INVALID_THIS/);
});

test('listen(): a throwing options.data getter throws and leaves the port free', async () => {
  const probe = listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const options = throwingGetter({ hostname: HOST, port, socket: { data() {} } }, 'data');
  assert.throws(() => listen(options), /getter data/);
  const again = listen({ hostname: HOST, port, socket: { data() {} } });
  assert.equal(again.port, port);
  again.stop(true);
});

test('connect(): a throwing options.data getter throws synchronously, before connecting', async (t) => {
  let accepted = 0;
  const server = net.createServer((c) => { accepted++; c.destroy(); });
  await new Promise((r) => server.listen(0, HOST, r));
  t.after(() => server.close());
  const options = throwingGetter({ hostname: HOST, port: server.address().port, socket: { data() {} } }, 'data');
  assert.throws(() => connect(options), /getter data/);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(accepted, 0);
});

test('upgradeTLS(): a throwing options.data getter throws and the raw socket carries on in plain text', { skip: fx ? false : skipReason() }, async (t) => {
  const got = deferred();
  const conns = new Set();
  const peer = net.createServer((c) => {
    conns.add(c);
    c.on('error', () => {});
    c.on('data', (d) => got.resolve(String(d)));
  });
  await new Promise((r) => peer.listen(0, HOST, r));
  t.after(() => {
    for (const c of conns) c.destroy();
    peer.close();
  });
  const raw = await connect({ hostname: HOST, port: peer.address().port, socket: { data() {} } });
  t.after(() => raw.terminate());
  const options = throwingGetter({ tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } }, 'data');
  assert.throws(() => raw.upgradeTLS(options), /getter data/);
  assert.equal(raw.readyState, 1);
  assert.equal(raw.write('PLAINTEXT'), 9);
  // No ClientHello went before it: the peer reads our plain text first.
  assert.equal(await withTimeout(got.promise, 5000), 'PLAINTEXT');
});

test('a hostname with a NUL byte throws TypeError ERR_INVALID_ARG_TYPE (connect and listen)', () => {
  const bad = (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE';
  assert.throws(() => connect({ hostname: 'localhost\0.evil.example', port: 1, socket: { data() {} } }), bad);
  assert.throws(() => listen({ hostname: '127.0.0.1\0', port: 0, socket: { data() {} } }), bad);
});

test('a unix path with a NUL byte ends there, as node:net reads it: that file is made, and removed at stop()', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-nul-'));
  const file = path.join(dir, 's');
  const server = listen({ unix: `${file}\0tail`, socket: { data() {} } });
  assert.ok(fs.existsSync(file));
  server.stop(true);
  assert.equal(fs.existsSync(file), false, 'the socket file is removed');
  const again = listen({ unix: file, socket: { data() {} } });
  again.stop(true);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('setKeepAlive(on, initialDelay) validates the delay as Bun does', async (t) => {
  const { client } = await pair(t);
  const type = (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE';
  const range = (err) => err instanceof RangeError && err.code === 'ERR_OUT_OF_RANGE';
  assert.throws(() => client.setKeepAlive(true, 'x'), type);
  assert.throws(() => client.setKeepAlive(true, null), type);
  assert.throws(() => client.setKeepAlive(true, 1.5), type);
  assert.throws(() => client.setKeepAlive(true, -1), range);
  assert.throws(() => client.setKeepAlive(true, Infinity), range);
  assert.throws(() => client.setKeepAlive(true, 2 ** 31), range);
  assert.equal(client.setKeepAlive(true, NaN), true);
  assert.equal(client.setKeepAlive(true), true);
  assert.equal(client.setKeepAlive(true, 1000), true);
  // Longer than Linux's 32767 s: the longest the kernel takes, and true (keep-alive is on).
  assert.equal(client.setKeepAlive(true, 2 ** 31 - 1), true);
  assert.equal(client.setKeepAlive(false), true);
});

test('exportKeyingMaterial(length): TypeError for a non-number, RangeError ERR_OUT_OF_RANGE for 0, -1 and 1.5, as node:tls', { skip: fx ? false : skipReason() }, async (t) => {
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data() {} } });
  t.after(() => server.stop(true));
  const client = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: { data() {} } });
  t.after(() => client.terminate());
  assert.throws(() => client.exportKeyingMaterial('32', 'EXPORTER-x'), (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE');
  for (const length of [0, -1, 1.5]) {
    assert.throws(() => client.exportKeyingMaterial(length, 'EXPORTER-x'), (e) => e instanceof RangeError && e.code === 'ERR_OUT_OF_RANGE', String(length));
  }
  assert.equal(client.exportKeyingMaterial(16, 'EXPORTER-x').length, 16);
});

test('a closed TLS socket: getServername() and exportKeyingMaterial() are undefined, as in Bun', { skip: fx ? false : skipReason() }, async (t) => {
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data() {} } });
  t.after(() => server.stop(true));
  const inClose = deferred();
  const client = await connect({ hostname: HOST, port: server.port, tls: { ca: fx.ca.cert, serverName: 'localhost' }, socket: {
    data() {},
    close(s) { inClose.resolve([s.getServername(), s.exportKeyingMaterial(32, 'EXPORTER-x')]); },
  } });
  assert.equal(client.getServername(), 'localhost');
  client.terminate();
  assert.deepEqual(await inClose.promise, [undefined, undefined]);
  assert.equal(client.getServername(), undefined);
  assert.equal(client.exportKeyingMaterial(32, 'EXPORTER-x', Buffer.from('ctx')), undefined);
  // Whatever the arguments, as Bun.
  assert.equal(client.exportKeyingMaterial('32', 5), undefined);
});

test('ArrayBufferSink: a huge highWaterMark is a hint, not gigabytes reserved up front', () => {
  const before = process.memoryUsage().arrayBuffers;
  const sinks = [];
  for (let i = 0; i < 4; i++) {
    const sink = new ArrayBufferSink();
    sink.start({ highWaterMark: 2 ** 40 });
    sink.write('abc');
    sinks.push(sink);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
  assert.equal(Buffer.from(sinks[0].end()).toString(), 'abc');
});

test('listen({ tls: [...] }): an array is not a TLS configuration: TypeError naming options.tls', { skip: fx ? false : skipReason() }, () => {
  assert.throws(
    () => listen({ hostname: HOST, port: 0, tls: [{ key: fx.server.key, cert: fx.server.cert }], socket: { data() {} } }),
    (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE' && /options\.tls/.test(err.message),
  );
});

test('a TLS server socket whose client sent no SNI: getServername() is undefined, as in Bun', { skip: fx ? false : skipReason() }, async (t) => {
  const seen = deferred();
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: {
    open(s) { seen.resolve(s.getServername()); },
    data() {},
  } });
  t.after(() => server.stop(true));
  const c = require('node:tls').connect({ host: HOST, port: server.port, rejectUnauthorized: false }); // an IP: no SNI
  c.on('error', () => {});
  t.after(() => c.destroy());
  assert.equal(await withTimeout(seen.promise, 5000), undefined);
});

test('util.inspect of an object made from a socket or a listener prints, not throws', async (t) => {
  const { server, client } = await pair(t);
  const util = require('node:util');
  assert.match(util.inspect(Object.create(client)), /Socket/);
  assert.match(util.inspect(Object.create(server)), /Listener/);
  assert.match(util.inspect(client), /readyState/);
});

test('connect to port 0: the error names no port, as node:net words it', async () => {
  const ours = await connect({ hostname: HOST, port: 0, socket: { data() {} } }).catch((e) => e);
  const node = await new Promise((resolve) => net.connect(0, HOST).on('error', resolve));
  assert.equal(ours.code, node.code);
  assert.equal(ours.message, node.message);
  assert.equal('port' in ours, 'port' in node);
});
