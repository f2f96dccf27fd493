'use strict';
// Runs each program in examples/ as a user would (`node examples/<name>.js`) against real peers:
// node:net clients for the servers, a real redis-server for the Redis client.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { ROOT, sleep, withTimeout, sha256, freePort } = require('./helpers');

const EXAMPLES = path.join(ROOT, 'examples');

/** Starts `node examples/<name>` with its output split into lines as they come. */
function startExample(name, args = [], env = {}) {
  const child = spawn(process.execPath, [path.join(EXAMPLES, name), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { child, stdout: '', stderr: '', lines: [], waiters: [] };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (proc.stderr += d));
  child.stdout.on('data', (d) => {
    proc.stdout += d;
    const lines = proc.stdout.split('\n');
    proc.lines = lines.slice(0, -1);
    for (const w of [...proc.waiters]) w();
  });
  proc.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  /** Resolves with the first output line matching `re`. */
  proc.line = (re, ms = 10000) =>
    withTimeout(
      new Promise((resolve) => {
        const check = () => {
          const found = proc.lines.find((l) => re.test(l));
          if (found === undefined) return false;
          proc.waiters = proc.waiters.filter((w) => w !== check);
          resolve(found);
          return true;
        };
        if (!check()) proc.waiters.push(check);
      }),
      ms,
      `${name}: a line matching ${re} (stdout so far: ${JSON.stringify(proc.stdout)}, stderr: ${JSON.stringify(proc.stderr)})`,
    );
  proc.kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return proc;
}

/** The port a server example printed in its "listening on host:port" line. */
async function listeningPort(proc) {
  const line = await proc.line(/listening on /);
  return Number(line.slice(line.lastIndexOf(':') + 1));
}

/** A node:net client that collects text lines. */
function lineClient(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const client = { socket, text: '', lines: [], closed: false, waiters: [] };
  const wake = () => {
    for (const w of [...client.waiters]) w();
  };
  socket.on('data', (d) => {
    client.text += d;
    const parts = client.text.split('\n');
    client.text = parts.pop();
    client.lines.push(...parts);
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    client.closed = true;
    wake();
  });
  /** Resolves once `predicate(lines)` holds. */
  client.until = (predicate, what, ms = 10000) =>
    withTimeout(
      new Promise((resolve) => {
        const check = () => {
          if (!predicate(client.lines, client)) return;
          client.waiters = client.waiters.filter((w) => w !== check);
          resolve();
        };
        client.waiters.push(check);
        check();
      }),
      ms,
      `${what} (lines so far: ${JSON.stringify(client.lines.slice(-5))})`,
    );
  client.waitLine = (line) => client.until((lines) => lines.includes(line), `line ${JSON.stringify(line)}`);
  return client;
}

test('echo-server echoes 32 MiB intact through backpressure and exits with --once', { timeout: 60000 }, async (t) => {
  const server = startExample('echo-server.js', ['0', '--once']);
  t.after(server.kill);
  const port = await listeningPort(server);
  assert.ok(port > 0);

  const payload = crypto.randomBytes(32 << 20);
  const received = [];
  const socket = net.connect(port, '127.0.0.1');
  const ended = new Promise((resolve, reject) => {
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  socket.on('data', (d) => received.push(d));
  await new Promise((resolve) => socket.once('connect', resolve));
  // Do not read for a while: the echoes fill the kernel buffers and the server must wait for drain.
  socket.pause();
  socket.write(payload);
  socket.end(); // half-close: the echoes must still all come back
  await sleep(500);
  socket.resume();
  await withTimeout(ended, 30000, 'the echo of 32 MiB');

  const echoed = Buffer.concat(received);
  assert.equal(echoed.length, payload.length);
  assert.equal(sha256(echoed), sha256(payload));

  const { code, signal } = await withTimeout(server.exited, 10000, 'echo-server to exit after --once');
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, server.stderr);
  const summary = await server.line(/client disconnected/);
  const m = /echoed (\d+) bytes, (\d+) short writes finished by drain, (\d+) pauses/.exec(summary);
  assert.ok(m, summary);
  assert.equal(Number(m[1]), payload.length);
  assert.ok(Number(m[2]) > 0, `the drain path was used: ${summary}`);
});

test('echo-server sends every echo to a client that hung up before reading any', { timeout: 60000 }, async (t) => {
  // The kernel buffers take a few MiB of echoes; around that size the server reads the client's FIN
  // while echoes still wait in its queue, and must not end its side before they are out.
  for (const size of [3.5, 4, 4.5, 5].map((mib) => mib * 1024 * 1024)) {
    const server = startExample('echo-server.js', ['0', '--once']);
    t.after(server.kill);
    const port = await listeningPort(server);
    const payload = crypto.randomBytes(size);
    const received = [];
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (d) => received.push(d));
    const closed = new Promise((resolve, reject) => {
      socket.on('close', resolve);
      socket.on('error', reject);
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.end(payload);
    await sleep(300);
    socket.resume();
    await withTimeout(closed, 20000, `the echo of ${size} bytes to finish`);
    const echoed = Buffer.concat(received);
    assert.equal(echoed.length, size, `echoed bytes for a ${size}-byte message`);
    assert.equal(sha256(echoed), sha256(payload));
    assert.deepEqual(await withTimeout(server.exited, 10000, 'echo-server exit'), { code: 0, signal: null });
  }
});

test('echo-server takes its port from PORT and stops on SIGTERM', { timeout: 20000 }, async (t) => {
  const port = await freePort();
  const server = startExample('echo-server.js', [], { PORT: String(port) });
  t.after(server.kill);
  assert.equal(await listeningPort(server), port);
  const client = lineClient(port);
  client.socket.write('one\ntwo\n');
  await client.until((lines) => lines.length === 2, 'two echoed lines');
  assert.deepEqual(client.lines, ['one', 'two']);
  server.child.kill('SIGTERM');
  await client.until((_, c) => c.closed, 'the client to be closed by stop(true)');
  assert.deepEqual(await withTimeout(server.exited, 10000, 'echo-server exit'), { code: 0, signal: null });
});

test('chat-server relays whole lines to everyone else, also when split mid-line or mid-character', { timeout: 30000 }, async (t) => {
  const server = startExample('chat-server.js', ['0']);
  t.after(server.kill);
  const port = await listeningPort(server);

  const a = lineClient(port);
  await a.waitLine('* welcome, you are guest1');
  const b = lineClient(port);
  await b.waitLine('* welcome, you are guest2');
  await a.waitLine('* guest2 joined');
  const c = lineClient(port);
  await c.waitLine('* welcome, you are guest3');
  await a.waitLine('* guest3 joined');
  await b.waitLine('* guest3 joined');

  // One line over three writes, two lines in one write, CRLF, and a UTF-8 character cut in two.
  a.socket.write('hel');
  await sleep(50);
  a.socket.write('lo\nwor');
  await sleep(50);
  a.socket.write('ld\r\nbye\n');
  const utf8 = Buffer.from('héllo ✓\n');
  a.socket.write(utf8.subarray(0, utf8.length - 3));
  await sleep(50);
  a.socket.write(utf8.subarray(utf8.length - 3));
  const expected = ['guest1: hello', 'guest1: world', 'guest1: bye', 'guest1: héllo ✓'];
  for (const client of [b, c]) {
    await client.until((lines) => lines.includes('guest1: héllo ✓'), 'the UTF-8 line');
    assert.deepEqual(
      client.lines.filter((l) => l.startsWith('guest1:')),
      expected,
    );
  }
  b.socket.write('hi from b\n');
  await a.waitLine('guest2: hi from b');
  await c.waitLine('guest2: hi from b');
  // Nobody gets their own lines back.
  assert.ok(!a.lines.some((l) => l.startsWith('guest1:')), a.lines.join('\n'));
  assert.ok(!b.lines.some((l) => l.startsWith('guest2:')), b.lines.join('\n'));

  // A last line without a newline still goes out when its sender hangs up.
  c.socket.end('last words');
  await a.waitLine('guest3: last words');
  await a.waitLine('* guest3 left');
  await b.waitLine('* guest3 left');

  server.child.kill('SIGTERM');
  await a.waitLine('* server shutting down');
  await a.until((_, cl) => cl.closed, 'guest1 closed at shutdown');
  await b.until((_, cl) => cl.closed, 'guest2 closed at shutdown');
  assert.deepEqual(await withTimeout(server.exited, 10000, 'chat-server exit'), { code: 0, signal: null });
});

test('chat-server keeps relaying to readers and disconnects a client that stops reading', { timeout: 60000 }, async (t) => {
  const server = startExample('chat-server.js', ['0'], { CHAT_MAX_BACKLOG: String(256 * 1024) });
  t.after(server.kill);
  const port = await listeningPort(server);
  const sender = lineClient(port);
  await sender.waitLine('* welcome, you are guest1');
  const reader = lineClient(port);
  await reader.waitLine('* welcome, you are guest2');
  const stalled = lineClient(port);
  await stalled.waitLine('* welcome, you are guest3');
  stalled.socket.pause(); // never reads again: the server's queue for it grows until the limit

  // Send 1 MiB batches of numbered lines until the stalled client is dropped (the kernel buffers
  // absorb a few MiB first); the reader must get every line, in order.
  const line = (i) => `${String(i).padStart(8, '0')} ${'x'.repeat(1000)}`;
  let sent = 0;
  for (let batch = 0; batch < 64 && !/guest3 is not reading/.test(server.stdout); batch++) {
    let text = '';
    for (let i = 0; i < 1024; i++) text += `${line(sent++)}\n`;
    sender.socket.write(text);
    await reader.until(
      (lines) => lines.filter((l) => l.startsWith('guest1: ')).length === sent,
      `reader to get ${sent} lines`,
      20000,
    );
  }
  await withTimeout(server.line(/guest3 is not reading/), 10000, 'the slow client to be disconnected');
  stalled.socket.resume(); // reading again, it finds the connection reset
  await stalled.until((_, cl) => cl.closed, 'the stalled client to be closed');
  const relayed = reader.lines.filter((l) => l.startsWith('guest1: ')).map((l) => l.slice('guest1: '.length));
  assert.equal(relayed.length, sent);
  for (let i = 0; i < sent; i++) if (relayed[i] !== line(i)) assert.fail(`line ${i} is ${relayed[i].slice(0, 20)}...`);
  await reader.waitLine('* guest3 left');
  // The server is still healthy for the others.
  reader.socket.write('still here\n');
  await sender.waitLine('guest2: still here');
  server.child.kill('SIGTERM');
  assert.deepEqual(await withTimeout(server.exited, 10000, 'chat-server exit'), { code: 0, signal: null });
});

/** Sends one RESP command over node:net and returns the raw reply text. */
function rawRedis(port, args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      text += d;
      if (text.endsWith('\r\n') && (!text.startsWith('$') || text.split('\r\n').length >= 3)) socket.end();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

test('redis-client pipelines PING, SET, GET against a real redis-server', { timeout: 30000 }, async (t) => {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    t.skip('redis-server not installed');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-bun-tcp-redis-'));
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  redis.stdout.on('data', (d) => (log += d));
  redis.stderr.on('data', (d) => (log += d));
  const redisExited = new Promise((resolve) => redis.on('exit', resolve));
  t.after(async () => {
    redis.kill('SIGTERM');
    await withTimeout(redisExited, 5000, 'redis-server to stop').catch(() => redis.kill('SIGKILL'));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await withTimeout(
    (async () => {
      while (!/ready to accept connections/i.test(log)) {
        if (redis.exitCode !== null) throw new Error(`redis-server exited: ${log}`);
        await sleep(50);
      }
    })(),
    10000,
    'redis-server to start',
  );

  for (const [args, env] of [
    [[String(port)], {}],
    [[], { REDIS_PORT: String(port), REDIS_HOST: '127.0.0.1' }],
  ]) {
    const client = startExample('redis-client.js', args, env);
    t.after(client.kill);
    const { code, signal } = await withTimeout(client.exited, 10000, 'redis-client to exit by itself');
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, client.stderr);
    const lines = client.stdout.trim().split('\n');
    assert.equal(lines.length, 3, client.stdout);
    assert.equal(lines[0], 'PING -> PONG');
    const set = /^SET (\S+) -> OK$/.exec(lines[1]);
    assert.ok(set, lines[1]);
    const key = set[1];
    assert.equal(lines[2], `GET ${key} -> hello from node-bun-tcp ✓`);
    // The value really is in Redis (asked over node:net, not through the example's parser).
    const reply = await rawRedis(port, ['GET', key]);
    const value = Buffer.from('hello from node-bun-tcp ✓');
    assert.equal(reply, `$${value.length}\r\n${value.toString()}\r\n`);
  }
});

test('redis-client reports a refused connection and exits non-zero', { timeout: 20000 }, async (t) => {
  const port = await freePort(); // nothing listens there
  const client = startExample('redis-client.js', [String(port)]);
  t.after(client.kill);
  const { code } = await withTimeout(client.exited, 10000, 'redis-client to exit');
  assert.equal(code, 1);
  assert.match(client.stderr, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
});

test('every example says how to run it', () => {
  for (const name of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.js'))) {
    const text = fs.readFileSync(path.join(EXAMPLES, name), 'utf8');
    assert.match(text, new RegExp(`^// Run[^\\n]*:\\n(//.*\\n)*//\\s+node examples/${name.replace('.', '\\.')}`, 'm'), name);
  }
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const tls = require('node:tls');

/** tls-echo-server with --once on a free port, and the certificate it generated (a client's CA). */
async function startTlsEcho(t) {
  const server = startExample('tls-echo-server.js', ['0', '--once']);
  t.after(() => server.kill());
  const port = await listeningPort(server);
  const certLine = await server.line(/^certificate: /);
  return { server, port, ca: fs.readFileSync(certLine.slice('certificate: '.length)) };
}

test('tls-echo-server echoes over TLS to a node:tls client that trusts its generated certificate', { timeout: 30000 }, async (t) => {
  if (!hasOpenssl) return t.skip('openssl not installed: the example cannot generate its certificate');
  const { server, port, ca } = await startTlsEcho(t);
  const payload = crypto.randomBytes(1 << 20);
  const received = [];
  await withTimeout(
    new Promise((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => c.end(payload));
      c.on('data', (d) => received.push(d));
      c.on('end', resolve);
      c.on('error', reject);
      // The server echoes; once everything is back, close our side.
      let got = 0;
      c.on('data', (d) => {
        got += d.length;
        if (got >= payload.length) c.destroy(), resolve();
      });
    }),
    20000,
    'TLS echo',
  );
  assert.equal(sha256(Buffer.concat(received)), sha256(payload));
  assert.equal((await withTimeout(server.exited, 10000, 'exit after --once')).code, 0);
});

test('tls-echo-server keeps every echo for a client that ends before reading them, then ends too', { timeout: 30000 }, async (t) => {
  if (!hasOpenssl) return t.skip('openssl not installed: the example cannot generate its certificate');
  const { server, port, ca } = await startTlsEcho(t);
  // More than the kernel and the TLS session hold: echoes queue (and the server pauses) while
  // this client does not read, and its FIN arrives behind them.
  const payload = crypto.randomBytes(8 << 20);
  const received = [];
  const ended = await withTimeout(
    new Promise((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        c.pause();
        c.end(payload);
        setTimeout(() => c.resume(), 500);
      });
      c.on('data', (d) => received.push(d));
      c.on('end', () => resolve(true));
      c.on('close', () => resolve(false));
      c.on('error', reject);
    }),
    20000,
    'TLS echo of a client that ended first',
  );
  assert.ok(ended, 'the server ended its side (FIN), not a reset');
  assert.equal(Buffer.concat(received).length, payload.length);
  assert.equal(sha256(Buffer.concat(received)), sha256(payload));
  assert.equal((await withTimeout(server.exited, 10000, 'exit after --once')).code, 0);
});

test('starttls switches a plain conversation to TLS on both ends', { timeout: 30000 }, async (t) => {
  if (!hasOpenssl) return t.skip('openssl not installed: the example cannot generate its certificate');
  const proc = startExample('starttls.js');
  t.after(() => proc.kill());
  await proc.line(/client got \(TLS\): 250 you said, encrypted: hello over TLS/);
  assert.match(proc.stdout, /client: now TLSv1\.3, certificate verified: true/);
  assert.match(proc.stdout, /server: now TLSv1\.3/);
  assert.equal((await withTimeout(proc.exited, 10000, 'starttls exits by itself')).code, 0);
});
