'use strict';
// listen()/connect(): addresses, ports, bind and connect failures, IPv4/IPv6/unix, reusePort,
// ipv6Only, and many sequential echo round trips.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { listen, connect } = require('..');
const { deferred, withTimeout } = require('./helpers');

const T = 5000; // bound for every single wait

/** An echo server; records accepted and closed server-side sockets. */
function echoServer(opts = {}) {
  const accepted = [];
  const closed = [];
  const listener = listen({
    hostname: '127.0.0.1',
    port: 0,
    ...opts,
    socket: {
      open(s) {
        accepted.push(s);
      },
      data(s, d) {
        s.write(d);
      },
      close(s) {
        closed.push(s);
      },
    },
  });
  return { listener, accepted, closed };
}

/** Connects with `target`, writes `payload`, resolves once the echo of all of it arrived. */
async function echoOnce(target, payload = 'ping') {
  const expected = Buffer.from(payload);
  const got = deferred();
  const closed = deferred();
  const chunks = [];
  const sock = await withTimeout(
    connect({
      ...target,
      socket: {
        data(s, d) {
          chunks.push(Buffer.from(d));
          const all = Buffer.concat(chunks);
          if (all.length >= expected.length) got.resolve(all);
        },
        close() {
          closed.resolve();
        },
      },
    }),
    T,
    'connect',
  );
  assert.equal(sock.write(expected), expected.length);
  const echoed = await withTimeout(got.promise, T, 'echo');
  assert.deepEqual(echoed, expected);
  return { sock, closed: closed.promise };
}

async function waitFor(cond, what, ms = T) {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > ms) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tryListen(opts) {
  try {
    return listen(opts);
  } catch (err) {
    return err;
  }
}

let ipv6Available = null;
function hasIPv6Loopback() {
  if (ipv6Available === null) {
    const l = tryListen({ hostname: '::1', port: 0, socket: { data() {} } });
    ipv6Available = !(l instanceof Error);
    if (ipv6Available) l.stop();
  }
  return ipv6Available;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
function freeIPv4Port() {
  const probe = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop();
  return port;
}

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bun-tcp-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('listen: address and port', () => {
  test('port 0 binds a free port, readable at once as a number', (t) => {
    const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    t.after(() => l.stop(true));
    assert.equal(typeof l.port, 'number');
    assert.ok(l.port > 0 && l.port < 65536, `port ${l.port}`);
    assert.equal(l.hostname, '127.0.0.1');
    assert.equal(l.unix, undefined);
  });

  test("hostname 'localhost' stays 'localhost'", async (t) => {
    const l = listen({ hostname: 'localhost', port: 0, socket: { data(s, d) { s.write(d); } } });
    t.after(() => l.stop(true));
    assert.equal(l.hostname, 'localhost');
    assert.ok(l.port > 0);
    const { sock, closed } = await echoOnce({ hostname: 'localhost', port: l.port });
    sock.close();
    await closed;
  });

  test('a numeric string port is accepted', async (t) => {
    const probe = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop();
    const l = listen({ hostname: '127.0.0.1', port: String(port), socket: { data(s, d) { s.write(d); } } });
    t.after(() => l.stop(true));
    assert.equal(l.port, port);
    assert.equal(typeof l.port, 'number');
    const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port: String(port) });
    sock.close();
    await closed;
  });
});

describe('listen failures', () => {
  test('EADDRINUSE throws synchronously, shaped like Node, and leaves nothing bound', async (t) => {
    const first = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
    let firstStopped = false;
    t.after(() => firstStopped || first.stop(true));
    const port = first.port;
    let err;
    try {
      listen({ hostname: '127.0.0.1', port, socket: { data() {} } });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error, 'second listen must throw synchronously');
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(typeof err.errno, 'number');
    assert.ok(err.errno < 0, `errno ${err.errno}`);
    if (process.platform === 'linux') assert.equal(err.errno, -98);
    assert.equal(err.syscall, 'listen');
    assert.equal(err.address, '127.0.0.1');
    assert.equal(err.port, port);
    assert.equal(err.message, `listen EADDRINUSE: address already in use 127.0.0.1:${port}`);

    // The first listener still works after the failed attempt.
    const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port });
    sock.close();
    await closed;

    // Nothing of the failed attempt stays bound: once the first stops, the port is free again.
    first.stop();
    firstStopped = true;
    const again = listen({ hostname: '127.0.0.1', port, socket: { data(s, d) { s.write(d); } } });
    t.after(() => again.stop(true));
    assert.equal(again.port, port);
    const r = await echoOnce({ hostname: '127.0.0.1', port });
    r.sock.close();
    await r.closed;
  });

  test("EADDRINUSE on 'localhost' names the address, as Node does", (t) => {
    const first = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    t.after(() => first.stop(true));
    const err = tryListen({ hostname: 'localhost', port: first.port, socket: { data() {} } });
    if (!(err instanceof Error)) err.stop();
    assert.ok(err instanceof Error, 'must throw');
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.port, first.port);
    // node:net: `listen EADDRINUSE: address already in use 127.0.0.1:PORT`, address '127.0.0.1'.
    assert.ok(net.isIP(err.address), `err.address should be an IP address, got ${JSON.stringify(err.address)}`);
    assert.equal(err.message, `listen EADDRINUSE: address already in use ${err.address}:${first.port}`);
  });

  test('EADDRNOTAVAIL for an address that is not local', async () => {
    // Only a bind: nothing is ever sent to this (TEST-NET-1) address.
    let err;
    try {
      const l = listen({ hostname: '192.0.2.1', port: 0, socket: { data() {} } });
      l.stop();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error, 'listen on 192.0.2.1 must throw');
    assert.equal(err.code, 'EADDRNOTAVAIL');
    assert.ok(err.errno < 0);
    if (process.platform === 'linux') assert.equal(err.errno, -99);
    assert.equal(err.syscall, 'listen');
    assert.equal(err.address, '192.0.2.1');
    // As node:net: port 0 is in neither the error nor its message.
    assert.equal('port' in err, false);
    assert.match(err.message, /^listen EADDRNOTAVAIL: .* 192\.0\.2\.1$/);
    const node = await new Promise((resolve) => {
      const s = require('node:net').createServer();
      s.on('error', resolve);
      s.listen(0, '192.0.2.1', () => s.close(() => resolve(null)));
    });
    if (node) assert.equal(err.message, node.message);
  });
});

describe('connect failures', () => {
  test('connect to a closed port rejects with ECONNREFUSED', async () => {
    const probe = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop();
    const events = [];
    const p = connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open() {
          events.push('open');
        },
        data() {},
        close() {
          events.push('close');
        },
      },
    });
    assert.ok(p instanceof Promise);
    const err = await withTimeout(p.then(() => null, (e) => e), T, 'connect');
    assert.ok(err instanceof Error, 'connect must reject');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
    assert.ok(err.errno < 0, `errno ${err.errno}`);
    if (process.platform === 'linux') assert.equal(err.errno, -111);
    assert.equal(err.address, '127.0.0.1');
    assert.equal(err.port, port);
    assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
    assert.deepEqual(events, [], 'no open/close for a failed connect');
  });

  test('port 0 is not an option error: it rejects with ECONNREFUSED', async () => {
    let p;
    assert.doesNotThrow(() => {
      p = connect({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    });
    const err = await withTimeout(p.then(() => null, (e) => e), T, 'connect');
    assert.ok(err instanceof Error, 'connect must reject');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
  });

  test("refused on 'localhost': the error names the address tried, as Node does", async () => {
    const port = freeIPv4Port();
    const err = await withTimeout(
      connect({ hostname: 'localhost', port, socket: { data() {} } }).then(
        () => null,
        (e) => e,
      ),
      T,
      'connect',
    );
    assert.ok(err instanceof Error, 'connect must reject');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'connect');
    assert.equal(err.port, port);
    // node:net: `connect ECONNREFUSED 127.0.0.1:PORT`, err.address '127.0.0.1' (an IP, never the name).
    assert.ok(net.isIP(err.address), `err.address should be an IP address, got ${JSON.stringify(err.address)}`);
    assert.equal(err.message, `connect ECONNREFUSED ${err.address}:${port}`);
  });

  test('a name that does not resolve rejects with ENOTFOUND', async () => {
    const err = await withTimeout(
      connect({ hostname: 'does-not-exist.invalid', port: 80, socket: { data() {} } }).then(
        () => null,
        (e) => e,
      ),
      T,
      'connect',
    );
    assert.ok(err instanceof Error, 'connect must reject');
    assert.equal(err.code, 'ENOTFOUND');
    assert.match(err.message, /ENOTFOUND/);
  });
});

describe('localhost', () => {
  test('connect to localhost reaches a server on 127.0.0.1', async (t) => {
    const { listener, accepted } = echoServer({ hostname: '127.0.0.1' });
    t.after(() => listener.stop(true));
    const { sock, closed } = await echoOnce({ hostname: 'localhost', port: listener.port });
    assert.equal(sock.remoteAddress, '127.0.0.1');
    assert.equal(accepted.length, 1);
    sock.close();
    await closed;
  });

  test('connect to localhost reaches a server on ::1', async (t) => {
    if (!hasIPv6Loopback()) return t.skip('IPv6 loopback unavailable');
    // A port whose IPv4 side was just free, so ::1 must be the one reached.
    const { listener, accepted } = echoServer({ hostname: '::1', port: freeIPv4Port() });
    t.after(() => listener.stop(true));
    const { sock, closed } = await echoOnce({ hostname: 'localhost', port: listener.port });
    assert.equal(sock.remoteAddress, '::1');
    assert.equal(sock.remoteFamily, 'IPv6');
    assert.equal(accepted.length, 1);
    sock.close();
    await closed;
  });
});

describe('connect: host forms', () => {
  test("'LOCALHOST', 'Localhost' and 'localhost.' are localhost too (a server on ::1 is reached)", async (t) => {
    if (!hasIPv6Loopback()) return t.skip('IPv6 loopback unavailable');
    const { listener } = echoServer({ hostname: '::1', port: freeIPv4Port() });
    t.after(() => listener.stop(true));
    for (const hostname of ['LOCALHOST', 'Localhost', 'localhost.']) {
      const { sock, closed } = await echoOnce({ hostname, port: listener.port }, hostname);
      assert.equal(sock.remoteAddress, '::1', hostname);
      sock.close();
      await closed;
    }
  });

  test("IPv6 literals in brackets ('[::1]') and with a zone ('::1%lo') connect", async (t) => {
    if (!hasIPv6Loopback()) return t.skip('IPv6 loopback unavailable');
    const { listener } = echoServer({ hostname: '::1' });
    t.after(() => listener.stop(true));
    const zone = os.networkInterfaces().lo ? 'lo' : '1';
    for (const hostname of ['[::1]', `::1%${zone}`]) {
      const { sock, closed } = await echoOnce({ hostname, port: listener.port }, hostname);
      assert.equal(sock.remoteAddress, '::1', hostname);
      sock.close();
      await closed;
    }
  });

  test("unix: '' beside a hostname is ignored (TCP), alone it throws", async (t) => {
    const { listener } = echoServer({ unix: '', hostname: '127.0.0.1' });
    t.after(() => listener.stop(true));
    assert.equal(typeof listener.port, 'number');
    const { sock, closed } = await echoOnce({ unix: '', hostname: '127.0.0.1', port: listener.port });
    sock.close();
    await closed;
    assert.throws(() => listen({ unix: '', socket: { data() {} } }), (err) => err instanceof TypeError && /options\.unix/.test(err.message));
  });

  test("hostname '' throws a TypeError naming options.hostname, for listen and connect", () => {
    for (const call of [
      () => listen({ hostname: '', port: 0, socket: { data() {} } }),
      () => connect({ hostname: '', port: 1, socket: { data() {} } }),
    ]) {
      assert.throws(call, (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE' && /options\.hostname/.test(err.message));
    }
  });

  test('a unix path that fills sun_path (108 bytes, no NUL) listens and connects, as in node:net', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-len-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const full = path.join(dir, 'L'.repeat(108 - dir.length - 1));
    assert.equal(Buffer.byteLength(full), 108);
    const { listener } = echoServer({ unix: full });
    t.after(() => listener.stop(true));
    assert.ok(fs.statSync(full).isSocket(), 'the socket file has the whole name');
    const { sock, closed } = await echoOnce({ unix: full });
    sock.close();
    await closed;
    const abstract = '\0' + 'a'.repeat(107);
    const { listener: abs } = echoServer({ unix: abstract });
    t.after(() => abs.stop(true));
    const second = await echoOnce({ unix: abstract });
    second.sock.close();
    await second.closed;
    // An abstract name has no folder to go through: one byte more is too long.
    assert.throws(() => listen({ unix: abstract + 'x', socket: { data() {} } }), (err) => err.code === 'EINVAL' && err.syscall === 'listen');
  });

  test('a unix path longer than sun_path (109 and 150 bytes) listens, connects and is removed by stop(), as in Bun', async (t) => {
    for (const total of [109, 150]) {
      const top = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-long-'));
      t.after(() => fs.rmSync(top, { recursive: true, force: true }));
      const dir = path.join(top, 'd'.repeat(total - top.length - 12));
      fs.mkdirSync(dir);
      const file = path.join(dir, 'L'.repeat(total - dir.length - 1));
      assert.equal(Buffer.byteLength(file), total);
      const { listener } = echoServer({ unix: file });
      assert.equal(listener.unix, file);
      assert.ok(fs.statSync(file).isSocket(), `the socket file is at the ${total}-byte path`);
      const { sock, closed } = await echoOnce({ unix: file }, `hello ${total}`);
      sock.close();
      await closed;
      listener.stop(true);
      assert.equal(fs.existsSync(file), false, 'stop() removes the socket file');
    }
  });

  test('EADDRINUSE on a unix path has the fields of node:net\'s, port -1 among them', async (t) => {
    const file = path.join(os.tmpdir(), `nbt-inuse-${process.pid}.sock`);
    const first = listen({ unix: file, socket: { data() {} } });
    t.after(() => first.stop());
    let ours;
    assert.throws(() => listen({ unix: file, socket: { data() {} } }), (err) => ((ours = err), true));
    const theirs = await new Promise((resolve) => {
      const server = net.createServer();
      server.on('error', resolve);
      server.listen(file, () => server.close(() => resolve(null)));
    });
    assert.ok(theirs, 'node:net failed too');
    const fields = (e) => ({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port });
    assert.deepEqual(fields(ours), fields(theirs));
    assert.equal(ours.port, -1);
  });

  test('a long unix path in a missing folder fails with ENOENT; a name too long even through its folder, with EINVAL', async (t) => {
    const missing = path.join(os.tmpdir(), 'nbt-no-such-folder', 'x'.repeat(120));
    assert.throws(() => listen({ unix: missing, socket: { data() {} } }), (err) => err.code === 'ENOENT' && err.syscall === 'listen' && err.address === missing);
    await assert.rejects(connect({ unix: missing, socket: { data() {}, connectError() {} } }), (err) => err.code === 'ENOENT' && err.errno === -os.constants.errno.ENOENT && err.syscall === 'connect');
    const tooLong = '/tmp/' + 'y'.repeat(200);
    assert.throws(() => listen({ unix: tooLong, socket: { data() {} } }), (err) => err.code === 'EINVAL' && err.syscall === 'listen');
  });

  test('a unix path too long for the kernel fails through connectError and the promise (EINVAL), and lets the process exit', async (t) => {
    const { runChild } = require('./helpers');
    const out = await runChild(`
      const { connect } = require(process.env.PKG);
      const path = '/tmp/' + 'y'.repeat(200);
      const order = [];
      let seen;
      const p = connect({ unix: path, socket: { data() {}, connectError(s, err) { order.push('connectError'); seen = err; } } });
      order.push('returned');
      p.then(() => console.log('RESOLVED'), (err) => {
        console.log('RESULT ' + JSON.stringify({ order, same: err === seen, code: err.code, errno: err.errno, syscall: err.syscall, address: err.address }));
      });
    `, { timeoutMs: 10000 });
    assert.ok(!out.timedOut, 'the process exits by itself after the failed connect');
    assert.equal(out.code, 0, out.stderr);
    const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, out.stdout + out.stderr);
    const r = JSON.parse(line.slice(7));
    assert.deepEqual(r.order, ['returned', 'connectError'], 'connectError runs after connect() returned');
    assert.equal(r.same, true, 'the promise rejects with the error connectError got');
    assert.equal(r.code, 'EINVAL');
    assert.equal(r.errno, -os.constants.errno.EINVAL);
    assert.equal(r.syscall, 'connect');
    assert.equal(r.address, '/tmp/' + 'y'.repeat(200));
  });
});

describe('socket addresses', () => {
  test('IPv4: families, addresses and ports agree between client and server', async (t) => {
    const { listener, accepted } = echoServer();
    t.after(() => listener.stop(true));
    const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port: listener.port });
    assert.equal(accepted.length, 1);
    const server = accepted[0];
    assert.equal(sock.remoteFamily, 'IPv4');
    assert.equal(sock.localFamily, 'IPv4');
    assert.equal(sock.remoteAddress, '127.0.0.1');
    assert.equal(sock.localAddress, '127.0.0.1');
    assert.equal(sock.remotePort, listener.port);
    assert.equal(typeof sock.localPort, 'number');
    assert.ok(sock.localPort > 0);
    assert.equal(server.remoteFamily, 'IPv4');
    assert.equal(server.localFamily, 'IPv4');
    assert.equal(server.remoteAddress, '127.0.0.1');
    assert.equal(server.localAddress, '127.0.0.1');
    assert.equal(server.localPort, listener.port);
    assert.equal(sock.localPort, server.remotePort);
    sock.close();
    await closed;
  });

  test('IPv6 loopback: listen on ::1, connect, echo', async (t) => {
    if (!hasIPv6Loopback()) return t.skip('IPv6 loopback unavailable');
    const { listener, accepted } = echoServer({ hostname: '::1' });
    t.after(() => listener.stop(true));
    assert.equal(listener.hostname, '::1');
    const { sock, closed } = await echoOnce({ hostname: '::1', port: listener.port }, 'hello over v6');
    const server = accepted[0];
    assert.equal(sock.remoteFamily, 'IPv6');
    assert.equal(sock.localFamily, 'IPv6');
    assert.equal(sock.remoteAddress, '::1');
    assert.equal(sock.localAddress, '::1');
    assert.equal(sock.remotePort, listener.port);
    assert.equal(server.remoteFamily, 'IPv6');
    assert.equal(server.localFamily, 'IPv6');
    assert.equal(server.remoteAddress, '::1');
    assert.equal(server.localPort, listener.port);
    assert.equal(sock.localPort, server.remotePort);
    sock.close();
    await closed;
  });
});

describe('listen options', () => {
  test('reusePort: two listeners on one port both bind and serve', async (t) => {
    const counts = [0, 0];
    const mk = (i, port) =>
      listen({
        hostname: '127.0.0.1',
        port,
        reusePort: true,
        socket: {
          open() {
            counts[i]++;
          },
          data(s, d) {
            s.write(d);
          },
        },
      });
    const a = mk(0, 0);
    t.after(() => a.stop(true));
    const b = mk(1, a.port);
    t.after(() => b.stop(true));
    assert.equal(b.port, a.port);
    const N = 40;
    for (let i = 0; i < N; i++) {
      const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port: a.port }, `n${i}`);
      sock.close();
      await closed;
    }
    assert.equal(counts[0] + counts[1], N);
    assert.ok(counts[0] > 0 || counts[1] > 0);
    t.diagnostic(`connections per listener: ${counts.join(' / ')}`);
    // Stopping one leaves the other serving the port.
    a.stop(true);
    const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port: b.port }, 'after stop');
    sock.close();
    await closed;
  });

  test('reusePort is not implied: without it a second listen fails', (t) => {
    const a = listen({ hostname: '127.0.0.1', port: 0, reusePort: true, socket: { data() {} } });
    t.after(() => a.stop(true));
    const err = tryListen({ hostname: '127.0.0.1', port: a.port, socket: { data() {} } });
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'EADDRINUSE');
  });

  test('exclusive: true wins over reusePort, as in Bun: the port is not shared', (t) => {
    const a = listen({ hostname: '127.0.0.1', port: 0, reusePort: true, exclusive: true, socket: { data() {} } });
    t.after(() => a.stop(true));
    const err = tryListen({ hostname: '127.0.0.1', port: a.port, reusePort: true, socket: { data() {} } });
    if (!(err instanceof Error)) err.stop();
    assert.ok(err instanceof Error, 'a second reusePort listener bound beside an exclusive one');
    assert.equal(err.code, 'EADDRINUSE');
  });

  test('backlog never throws, as in node:net and Bun: numbers and numeric strings are used, 0, negatives and junk get 511', (t) => {
    let ss = true;
    try {
      require('node:child_process').execFileSync('ss', ['-V'], { stdio: 'ignore' });
    } catch {
      ss = false;
    }
    // A listening socket's Send-Q in `ss -ltn` is its backlog, as the kernel capped it.
    const somaxconn = Number(require('node:fs').readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const queueOf = (port) => {
      const out = require('node:child_process').execFileSync('ss', ['-Hltn', `sport = :${port}`]).toString().trim();
      return Number(out.split(/\s+/)[2]);
    };
    const throwing = { valueOf() { throw new Error('not a number'); } };
    for (const [backlog, want] of [[100, 100], ['64', 64], [0, 511], [-1, 511], ['abc', 511], [{}, 511], [null, 511], [Symbol('b'), 511], [throwing, 511], [2 ** 40, null]]) {
      const l = listen({ hostname: '127.0.0.1', port: 0, backlog, socket: { data() {} } });
      try {
        if (ss && want !== null) assert.equal(queueOf(l.port), Math.min(want, somaxconn), `backlog ${String(backlog)}`);
      } finally {
        l.stop();
      }
    }
    if (!ss) t.diagnostic('ss not found: the queue lengths were not read back');
  });

  test("ipv6Only is accepted on '::' and takes effect", async (t) => {
    if (!hasIPv6Loopback()) return t.skip('IPv6 loopback unavailable');
    // A port whose IPv4 side was just free (other processes may hold 127.0.0.1 ports).
    const v6 = listen({ hostname: '::', port: freeIPv4Port(), ipv6Only: true, socket: { data(s, d) { s.write(d); } } });
    t.after(() => v6.stop(true));
    assert.ok(v6.port > 0);
    assert.equal(v6.hostname, '::');
    const { sock, closed } = await echoOnce({ hostname: '::1', port: v6.port });
    sock.close();
    await closed;
    // IPv6 only: the IPv4 side of the same port is still free.
    const v4 = tryListen({ hostname: '127.0.0.1', port: v6.port, socket: { data() {} } });
    assert.ok(!(v4 instanceof Error), `IPv4 bind next to an ipv6Only listener failed: ${v4 && v4.message}`);
    v4.stop();
  });

  test("without ipv6Only, '::' is dual-stack", async (t) => {
    if (!hasIPv6Loopback()) return t.skip('IPv6 loopback unavailable');
    const dual = tryListen({ hostname: '::', port: 0, ipv6Only: false, socket: { data(s, d) { s.write(d); } } });
    assert.ok(!(dual instanceof Error), dual && dual.message);
    t.after(() => dual.stop(true));
    const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port: dual.port });
    assert.equal(sock.remoteAddress, '127.0.0.1');
    sock.close();
    await closed;
    // The IPv4 side of the port is taken by the dual-stack listener.
    const v4 = tryListen({ hostname: '127.0.0.1', port: dual.port, socket: { data() {} } });
    if (!(v4 instanceof Error)) v4.stop();
    assert.ok(v4 instanceof Error, 'IPv4 bind next to a dual-stack listener must fail');
    assert.equal(v4.code, 'EADDRINUSE');
  });
});

describe('unix sockets', () => {
  test('listen on a path, connect, echo; addresses undefined; stop() removes the file', async (t) => {
    const dir = tmpDir(t);
    const p = path.join(dir, 'echo.sock');
    const accepted = [];
    const l = listen({
      unix: p,
      socket: {
        open(s) {
          accepted.push(s);
        },
        data(s, d) {
          s.write(d);
        },
      },
    });
    t.after(() => l.stop(true));
    assert.equal(l.unix, p);
    assert.equal(l.port, undefined);
    assert.equal(l.hostname, undefined);
    assert.ok(fs.statSync(p).isSocket(), 'socket file exists while listening');

    const { sock, closed } = await echoOnce({ unix: p }, 'unix hello');
    for (const s of [sock, accepted[0]]) {
      assert.equal(s.remoteAddress, undefined);
      assert.equal(s.remotePort, undefined);
      assert.equal(s.remoteFamily, undefined);
      assert.equal(s.localAddress, undefined);
      assert.equal(s.localPort, undefined);
      assert.equal(s.localFamily, undefined);
    }
    sock.close();
    await closed;

    l.stop();
    assert.equal(fs.existsSync(p), false, 'stop() removes the socket file');
    l.stop(); // idempotent
    // The path can be listened on again at once.
    const again = listen({ unix: p, socket: { data(s, d) { s.write(d); } } });
    t.after(() => again.stop(true));
    const r = await echoOnce({ unix: p });
    r.sock.close();
    await r.closed;
  });

  test('listening on a path that exists throws EADDRINUSE', (t) => {
    const dir = tmpDir(t);
    const p = path.join(dir, 'taken.sock');
    const l = listen({ unix: p, socket: { data() {} } });
    t.after(() => l.stop(true));
    const err = tryListen({ unix: p, socket: { data() {} } });
    assert.ok(err instanceof Error, 'second listen on the same path must throw');
    assert.equal(err.code, 'EADDRINUSE');
    assert.ok(err.errno < 0);
    assert.equal(err.syscall, 'listen');
    assert.equal(err.address, p);
    assert.match(err.message, /^listen EADDRINUSE/);
    assert.ok(err.message.includes(p), err.message);

    // A plain file at the path is "in use" too, and is left alone.
    const plain = path.join(dir, 'plain-file');
    fs.writeFileSync(plain, 'keep me');
    const err2 = tryListen({ unix: plain, socket: { data() {} } });
    assert.ok(err2 instanceof Error, 'listen on an existing file must throw');
    assert.equal(err2.code, 'EADDRINUSE');
    assert.equal(fs.readFileSync(plain, 'utf8'), 'keep me');
  });

  test('a path in a missing folder throws ENOENT', (t) => {
    const dir = tmpDir(t);
    const p = path.join(dir, 'no', 'such', 'dir', 'x.sock');
    const err = tryListen({ unix: p, socket: { data() {} } });
    assert.ok(err instanceof Error, 'must throw');
    assert.equal(err.code, 'ENOENT');
    assert.ok(err.errno < 0);
    assert.equal(err.syscall, 'listen');
    assert.equal(err.address, p);
  });

  test('connect to a missing path rejects with ENOENT', async (t) => {
    const dir = tmpDir(t);
    const p = path.join(dir, 'missing.sock');
    const err = await withTimeout(
      connect({ unix: p, socket: { data() {} } }).then(
        () => null,
        (e) => e,
      ),
      T,
      'connect',
    );
    assert.ok(err instanceof Error, 'must reject');
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.syscall, 'connect');
    assert.ok(err.errno < 0);
    assert.equal(err.address, p);
  });

  test('abstract socket name "\\0name" (Linux)', async (t) => {
    if (process.platform !== 'linux') return t.skip('abstract names are Linux only');
    const name = `\0node-bun-tcp-test-${process.pid}-${Date.now()}`;
    const accepted = [];
    const l = listen({
      unix: name,
      socket: {
        open(s) {
          accepted.push(s);
        },
        data(s, d) {
          s.write(d);
        },
      },
    });
    t.after(() => l.stop(true));
    assert.equal(l.unix, name);
    assert.equal(l.port, undefined);
    const err = tryListen({ unix: name, socket: { data() {} } });
    assert.ok(err instanceof Error, 'the abstract name is in use');
    assert.equal(err.code, 'EADDRINUSE');
    const { sock, closed } = await echoOnce({ unix: name }, 'abstract');
    assert.equal(sock.remoteAddress, undefined);
    assert.equal(accepted.length, 1);
    sock.close();
    await closed;
    l.stop();
    // Once stopped, the name is free again.
    const again = listen({ unix: name, socket: { data() {} } });
    again.stop();
  });
});

test('200 sequential echo round trips: nothing leaks or hangs', async (t) => {
  const { listener, accepted, closed } = echoServer();
  t.after(() => listener.stop(true));
  const N = 200;
  for (let i = 0; i < N; i++) {
    const payload = `message ${i} ${'x'.repeat(i)}`;
    const { sock, closed: clientClosed } = await echoOnce({ hostname: '127.0.0.1', port: listener.port }, payload);
    if (i % 2 === 0) sock.close();
    else sock.end();
    await withTimeout(clientClosed, T, `client close #${i}`);
    assert.equal(sock.readyState, -1);
  }
  assert.equal(accepted.length, N);
  await waitFor(() => closed.length === N, `server-side close for all ${N} sockets (got ${closed.length})`);
  assert.equal(new Set(closed).size, N, 'each server socket closed exactly once');
});

test('100 concurrent clients each get exactly their own echo', async (t) => {
  const { listener, accepted, closed } = echoServer();
  t.after(() => listener.stop(true));
  const N = 100;
  const results = await withTimeout(
    Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const payload = `client-${i}-`.repeat(50);
        const { sock, closed: clientClosed } = await echoOnce({ hostname: '127.0.0.1', port: listener.port }, payload);
        sock.end();
        await clientClosed;
        return i;
      }),
    ),
    15000,
    'concurrent echoes',
  );
  assert.equal(results.length, N);
  assert.equal(accepted.length, N);
  await waitFor(() => closed.length === N, `server-side close for all ${N} sockets (got ${closed.length})`);
});

test('events still queued for a closed socket never reach a new socket that reuses its id', async (t) => {
  // JS is kept busy while the loop reads A's data and FIN; then A is closed and B connects at once,
  // before JS has taken A's queued events. B's id is then likely A's (ids are reused).
  const spin = (ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
  };
  const serverSockets = [];
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        serverSockets.push(s);
      },
      data() {},
    },
  });
  t.after(() => server.stop(true));
  const a = await withTimeout(
    connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } }),
    T,
    'connect A',
  );
  await waitFor(() => serverSockets.length === 1, 'server accepted A');
  serverSockets[0].write('secret for A');
  serverSockets[0].end();
  spin(150);
  a.close();
  spin(150);
  const bData = [];
  const bEvents = [];
  const p = connect({
    hostname: '127.0.0.1',
    port: server.port,
    socket: {
      open() {
        bEvents.push('open');
      },
      data(s, d) {
        bData.push(String(d));
      },
      end() {
        bEvents.push('end');
      },
      close() {
        bEvents.push('close');
      },
    },
  });
  let b;
  try {
    b = await withTimeout(p, 2000, "B's connect (id reused from A)");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(bData, [], "B must not receive A's bytes");
    assert.deepEqual(bEvents, ['open'], 'B is open and nothing else happened to it');
    assert.equal(b.readyState, 1);
  } finally {
    if (b) b.close();
  }
});

// A stopped listener's id slot is reused (with a new generation), so listen/stop cycles do not
// grow the id tables, and a listener on a reused slot accepts as a fresh one.
test('listen/stop cycles reuse id slots; a listener on a reused slot accepts', async (t) => {
  const INDEX = (1 << 22) - 1;
  const seen = new Set();
  let highest = 0;
  for (let i = 0; i < 2000; i++) {
    const l = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    seen.add(l._id);
    highest = Math.max(highest, l._id & INDEX);
    l.stop();
    // Let the loop drop it (the slot goes back once every holder let go).
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(seen.size, 2000, 'every listener had an id of its own');
  // Slots come back: 2000 listeners used a few hundred slots at most (how many were in flight at
  // once depends on how far behind the loop was, and on what else the process has open).
  assert.ok(highest < 1000, `slot ${highest} used in 2000 listen/stop cycles`);
  const { listener, accepted } = echoServer();
  t.after(() => listener.stop(true));
  assert.ok((listener._id & INDEX) < 1000, `slot ${listener._id & INDEX} after 2000 listen/stop cycles`);
  const { sock, closed } = await echoOnce({ hostname: '127.0.0.1', port: listener.port }, 'reused slot');
  assert.equal(accepted.length, 1);
  sock.close();
  await closed;
});

test('listen on a name that does not resolve throws ENOTFOUND as node:net reports it', () => {
  assert.throws(() => listen({ hostname: 'no.such.host.invalid', port: 0, socket: { data() {} } }), (err) => {
    assert.equal(err.code, 'ENOTFOUND');
    assert.equal(err.errno, -3008);
    assert.equal(err.syscall, 'getaddrinfo');
    assert.equal(err.hostname, 'no.such.host.invalid');
    assert.equal(err.message, 'getaddrinfo ENOTFOUND no.such.host.invalid');
    return true;
  });
});

test('stop() from a handler: connections accepted but not yet opened are reset, no open runs after it', async () => {
  let opens = 0;
  let opensAfterStop = 0;
  const server = listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        if (server._stopped) opensAfterStop++;
        if (++opens === 5) server.stop();
        s.write('hi');
      },
      data() {},
    },
  });
  const outcomes = await withTimeout(
    Promise.all(
      Array.from({ length: 200 }, () => new Promise((resolve) => {
        const c = net.connect(server.port, '127.0.0.1');
        c.on('data', () => {
          c.destroy();
          resolve('served');
        });
        c.on('error', (err) => resolve(err.code));
        c.on('close', () => resolve('closed'));
      })),
    ),
    T,
    'every client settled',
  );
  server.stop(true);
  assert.equal(opensAfterStop, 0, 'no open after stop()');
  assert.equal(outcomes.filter((o) => o === 'served').length, opens);
  assert.ok(outcomes.every((o) => o === 'served' || o === 'ECONNRESET' || o === 'ECONNREFUSED'), JSON.stringify([...new Set(outcomes)]));
});

test("connect to 'localhost' where both loopbacks refuse: the error names the first address tried, 127.0.0.1, as node:net's", async () => {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address();
      probe.close(() => resolve(p));
    });
  });
  const err = await connect({ hostname: 'localhost', port, socket: { data() {}, connectError() {} } }).then(
    () => assert.fail('connected'),
    (e) => e,
  );
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.address, '127.0.0.1');
  assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
});
