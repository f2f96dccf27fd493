'use strict';
// What handlers do to their own socket: an `end` or `timeout` handler still replies after `await`,
// returned or not (its promise jobs run before the automatic close, as in Bun), a handler that paused to
// answer later still can when the peer's FIN comes meanwhile, upgradeTLS() inside `end` does not
// leave a TLS socket waiting for ever, and close() inside the handler that reports a TLS failure
// closes with that failure.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const tls = require('node:tls');
const { listen, connect } = require('..');
const { HOST, deferred, withTimeout, cleanup, sleep } = require('./helpers');
const { fixtures, skipReason } = require('./tls-fixtures');

const fx = fixtures();

/** A node:net client that sends `request` and its FIN together, and resolves with what it got. */
async function askAndEnd(port, request) {
  const got = deferred();
  const chunks = [];
  const c = net.connect({ port, host: HOST, allowHalfOpen: true }, () => c.end(request));
  c.on('data', (d) => chunks.push(d));
  c.on('error', () => {});
  c.on('close', () => got.resolve(Buffer.concat(chunks).toString()));
  return withTimeout(got.promise, 5000, 'client close');
}

// Returned: `async end(s) { await null; s.write() }`. Started: `end(s) { later(s) }` with an async
// `later` whose promise nobody returns; Bun runs its jobs after the handler too.
const styles = {
  returned: (work) => async function (s) {
    await work(s);
  },
  started: (work) => function (s) {
    work(s);
  },
};

for (const [style, wrap] of Object.entries(styles)) {
  test(`an end handler replies after await, before the automatic close (async work ${style})`, async (t) => {
    const server = listen({ hostname: HOST, port: 0, socket: {
      data() {},
      end: wrap(async (s) => {
        await null;
        await Promise.resolve();
        s.write('bye');
      }),
    } });
    cleanup(t, () => server.stop(true));
    assert.equal(await askAndEnd(server.port, 'hi'), 'bye');
  });

  test(`a timeout handler writes after await, and that is delivered before the close (async work ${style})`, async (t) => {
    const server = listen({ hostname: HOST, port: 0, socket: {
      open(s) { s.timeout(0.2); },
      data() {},
      timeout: wrap(async (s) => {
        await null;
        await Promise.resolve();
        s.write('idle');
      }),
    } });
    cleanup(t, () => server.stop(true));
    const got = deferred();
    const chunks = [];
    const c = net.connect(server.port, HOST);
    c.on('data', (d) => chunks.push(d));
    c.on('error', () => {});
    c.on('close', () => got.resolve(Buffer.concat(chunks).toString()));
    assert.equal(await withTimeout(got.promise, 5000, 'close after the timeout'), 'idle');
  });
}

test('a handler that paused to answer later still answers when the FIN came with the request (end waits for resume, as in Bun)', async (t) => {
  const events = [];
  const server = listen({ hostname: HOST, port: 0, socket: {
    data(s, d) {
      events.push(`data ${d}`);
      s.pause();
      setTimeout(() => {
        events.push(`write ${s.write(`reply:${d}`)}`);
        s.resume();
      }, 100);
    },
    end() { events.push('end'); },
    close() { events.push('close'); },
  } });
  cleanup(t, () => server.stop(true));
  assert.equal(await askAndEnd(server.port, 'req'), 'reply:req');
  await sleep(20);
  assert.deepEqual(events, ['data req', 'write 9', 'end', 'close']);
});

test('upgradeTLS() inside end: the TLS socket learns of the FIN (its handshake fails, it closes)', { skip: fx ? false : skipReason() }, async (t) => {
  const events = [];
  const closed = deferred();
  const server = listen({ hostname: HOST, port: 0, socket: {
    data() {},
    end(s) {
      s.upgradeTLS({ tls: { key: fx.server.key, cert: fx.server.cert }, socket: {
        data() {},
        handshake(_s, ok, err) { events.push(`handshake ${ok} ${err && err.code}`); },
        close(_s, err) {
          events.push(`close ${err && err.code}`);
          closed.resolve();
        },
      } });
    },
  } });
  cleanup(t, () => server.stop(true));
  const c = net.connect({ port: server.port, host: HOST, allowHalfOpen: true }, () => c.end());
  c.on('error', () => {});
  cleanup(t, () => c.destroy());
  await withTimeout(closed.promise, 5000, 'the upgraded socket closes');
  assert.deepEqual(events, ['handshake false ECONNRESET', 'close ECONNRESET']);
});

test("close() inside the handler that reports a TLS failure closes with that failure", { skip: fx ? false : skipReason() }, async (t) => {
  // A client that does not trust the server: handshake(s, false, err) calls close() itself.
  const server = listen({ hostname: HOST, port: 0, tls: { key: fx.server.key, cert: fx.server.cert }, socket: { data() {} } });
  cleanup(t, () => server.stop(true));
  const closed = deferred();
  connect({ hostname: HOST, port: server.port, tls: { serverName: 'localhost' }, socket: {
    data() {},
    handshake(s, ok) {
      if (!ok) s.close();
    },
    close(_s, err) { closed.resolve(err); },
  } }).catch(() => {});
  const err = await withTimeout(closed.promise, 5000, 'close');
  assert.ok(err instanceof Error, 'close got the verification error');
  assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});
