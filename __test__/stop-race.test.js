'use strict';
// stop() right after peers connected: a connection the kernel has established is one the peer may
// already be using, so it is served (stop()) or closed gracefully (stop(true)), never reset, even
// when the addon had not yet handed it to JS (or accepted it from the backlog) when stop() ran.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { listen } = require('..');
const { HOST, withTimeout, runChild, CHILD_PRELUDE } = require('./helpers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-stop-race-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const kind of ['tcp', 'unix']) {
  test(`${kind}: stop() just after a peer connected: the connection is served, not reset (20 tries)`, async () => {
    const outcomes = {};
    for (let i = 0; i < 20; i++) {
      const where = kind === 'tcp' ? { hostname: HOST, port: 0 } : { unix: path.join(dir, `s${i}.sock`) };
      const server = listen({ ...where, socket: { data(s, d) { s.write(d); } } });
      const client = kind === 'tcp' ? net.connect(server.port, HOST) : net.connect(where.unix);
      client.on('error', () => {});
      await new Promise((r) => client.once('connect', r));
      server.stop();
      client.write('hi');
      const outcome = await withTimeout(new Promise((resolve) => {
        client.once('data', () => resolve('echo'));
        client.once('close', () => resolve('closed'));
      }), 5000, 'echo or close');
      outcomes[outcome] = (outcomes[outcome] || 0) + 1;
      client.destroy();
      server.stop(true);
    }
    assert.deepEqual(outcomes, { echo: 20 });
  });
}

test('stop(true) just after peers connected: every peer sees end then close, none a reset', async () => {
  const seen = {};
  for (let i = 0; i < 10; i++) {
    const server = listen({ hostname: HOST, port: 0, socket: { data() {} } });
    const clients = [0, 1, 2].map(() => net.connect(server.port, HOST));
    const events = clients.map((c) => {
      const e = [];
      c.on('end', () => e.push('end'));
      c.on('error', (err) => e.push(err.code));
      return { e, closed: new Promise((r) => c.on('close', () => r())) };
    });
    await Promise.all(clients.map((c) => new Promise((r) => c.once('connect', r))));
    server.stop(true);
    await withTimeout(Promise.all(events.map((x) => x.closed)), 5000, 'peers closed');
    for (const { e } of events) seen[e.join('+')] = (seen[e.join('+')] || 0) + 1;
  }
  assert.deepEqual(seen, { end: 30 });
});

test('a process that stops its listener with connections on their way serves them, then exits', async () => {
  const out = await runChild(
    `${CHILD_PRELUDE}
    const net = require('node:net');
    const server = listen({ hostname: HOST, port: 0, socket: { data(s, d) { s.end(d); } } });
    const c = net.connect(server.port, HOST);
    c.on('connect', () => {
      server.stop();
      c.end('last words');
    });
    let got = '';
    c.on('data', (d) => { got += d; });
    c.on('close', () => result({ got }));`,
    { timeoutMs: 8000 },
  );
  assert.equal(out.timedOut, false);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /"got":"last words"/);
});
