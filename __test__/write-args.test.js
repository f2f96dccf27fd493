'use strict';
// Bad input, table-driven: write/end data types and offsets, timeout(), listen()/connect() options.
// Every error must be thrown synchronously, with the right class and a Node-style `code`.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { listen, connect } = require('..');
const { withTimeout } = require('./helpers');

const HOST = '127.0.0.1';

let server;
let open; // a connected client socket
let closed; // a client socket after close()
let accepted; // the server side of `open`

before(async () => {
  let gotAccepted;
  const acceptedP = new Promise((r) => (gotAccepted = r));
  server = listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(s) {
        gotAccepted(s);
      },
      data() {},
    },
  });
  open = await withTimeout(connect({ hostname: HOST, port: server.port, socket: { data() {} } }), 3000, 'connect');
  accepted = await withTimeout(acceptedP, 3000, 'accept');
  // Wait for the second connection's accept too, so closing it cannot race anything.
  let gotSecond;
  const secondAccepted = new Promise((r) => (gotSecond = r));
  server.reload({ socket: { open: (s) => gotSecond(s), data() {} } });
  closed = await withTimeout(connect({ hostname: HOST, port: server.port, socket: { data() {} } }), 3000, 'connect');
  await withTimeout(secondAccepted, 3000, 'accept 2');
  closed.close();
  assert.equal(closed.readyState, -1);
});

after(async () => {
  if (open) open.close();
  if (server) server.stop(true);
  await new Promise((r) => setTimeout(r, 30));
});

function detachedArrayBuffer() {
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  assert.equal(ab.byteLength, 0);
  return ab;
}

function viewOnDetached() {
  const ab = new ArrayBuffer(8);
  const view = new Uint8Array(ab, 2, 4);
  structuredClone(ab, { transfer: [ab] });
  return view;
}

/** [label, value, alsoForEnd] */
const badData = [
  ['number 42', () => 42, true],
  ['number 0', () => 0, true],
  ['NaN', () => NaN, true],
  ['bigint', () => 1n, true],
  ['plain object', () => ({}), true],
  ['array-like object', () => ({ length: 3, 0: 1, 1: 2, 2: 3 }), true],
  ['array of numbers', () => [1, 2, 3], true],
  ['true', () => true, true],
  ['false', () => false, true],
  ['null (write only: end(null) means no data)', () => null, false],
  ['symbol', () => Symbol('x'), true],
  ['function', () => () => {}, true],
  ['String object', () => new String('abc'), true], // eslint-disable-line no-new-wrappers
  ['detached ArrayBuffer', detachedArrayBuffer, true],
  ['Uint8Array on a detached ArrayBuffer', viewOnDetached, true],
];

const invalidArgType = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
const outOfRange = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

for (const [which, getSocket] of [
  ['an open client socket', () => open],
  ['an accepted server socket', () => accepted],
  ['a closed socket', () => closed],
]) {
  test(`write()/end() with wrong data types throw TypeError ERR_INVALID_ARG_TYPE on ${which}`, () => {
    const socket = getSocket();
    const stateBefore = socket.readyState;
    for (const [label, make, alsoEnd] of badData) {
      assert.throws(() => socket.write(make()), invalidArgType, `write(${label})`);
      assert.throws(() => socket.write(make(), 0), invalidArgType, `write(${label}, 0)`);
      if (alsoEnd) assert.throws(() => socket.end(make()), invalidArgType, `end(${label})`);
    }
    assert.equal(socket.readyState, stateBefore, 'a rejected end(data) did not end the socket');
    assert.equal(socket.bytesWritten, 0, 'nothing was written');
  });
}

test('end(null) and end(undefined) are end() without data (not type errors)', async () => {
  const a = await withTimeout(connect({ hostname: HOST, port: server.port, socket: { data() {} } }), 3000, 'connect');
  const b = await withTimeout(connect({ hostname: HOST, port: server.port, socket: { data() {} } }), 3000, 'connect');
  try {
    assert.equal(a.end(null), 0);
    assert.equal(b.end(undefined), 0);
  } finally {
    a.close();
    b.close();
  }
});

test('write()/end() with out-of-range or non-integer offsets throw RangeError ERR_OUT_OF_RANGE', () => {
  const buf = () => Buffer.from('0123456789'); // 10 bytes
  const str = () => 'aé€'; // 6 UTF-8 bytes, 3 characters
  const u16 = () => new Uint16Array(new ArrayBuffer(16), 4, 4); // 8 bytes at byteOffset 4
  const ab = () => new ArrayBuffer(8);
  const dv = () => new DataView(new ArrayBuffer(12), 2, 6); // 6 bytes
  const sab = () => new SharedArrayBuffer(4);
  const cases = [
    ['Buffer, byteOffset -1', buf, [-1]],
    ['Buffer, byteOffset beyond length', buf, [11]],
    ['Buffer, byteLength -1', buf, [0, -1]],
    ['Buffer, byteLength beyond length', buf, [0, 11]],
    ['Buffer, byteOffset + byteLength beyond length', buf, [5, 6]],
    ['Buffer, byteOffset at end + byteLength 1', buf, [10, 1]],
    ['Buffer, byteOffset 1.5', buf, [1.5]],
    ['Buffer, byteLength 2.5', buf, [0, 2.5]],
    ['Buffer, byteOffset NaN', buf, [NaN]],
    ['Buffer, byteOffset Infinity', buf, [Infinity]],
    ['Buffer, byteLength Infinity', buf, [0, Infinity]],
    ['Buffer, byteOffset -0.5', buf, [-0.5]],
    ['string, byteOffset beyond its UTF-8 length', str, [7]],
    ['string, byteLength beyond its UTF-8 length', str, [0, 7]],
    ['string, byteOffset + byteLength beyond its UTF-8 length', str, [4, 3]],
    ['string, byteOffset -1', str, [-1]],
    ['string, byteOffset 0.5', str, [0.5]],
    ['Uint16Array view, byteOffset beyond its 8 view bytes', u16, [9]],
    ['Uint16Array view, byteLength beyond its 8 view bytes (though inside the buffer)', u16, [0, 9]],
    ['Uint16Array view, byteOffset + byteLength beyond the view', u16, [6, 3]],
    ['ArrayBuffer, byteOffset beyond', ab, [9]],
    ['ArrayBuffer, byteOffset + byteLength beyond', ab, [4, 5]],
    ['ArrayBuffer, byteLength -3', ab, [0, -3]],
    ['DataView, byteOffset + byteLength beyond its view', dv, [2, 5]],
    ['SharedArrayBuffer, byteLength beyond', sab, [0, 5]],
  ];
  for (const [label, make, offsets] of cases) {
    assert.throws(() => open.write(make(), ...offsets), outOfRange, `write: ${label}`);
    assert.throws(() => open.end(make(), ...offsets), outOfRange, `end: ${label}`);
  }
  assert.equal(open.readyState, 1, 'a rejected end(data, ...) did not end the socket');
  assert.equal(open.bytesWritten, 0, 'nothing was written');
});

test('write() with non-number offsets throws synchronously with a code', () => {
  for (const offsets of [['1'], [0, '1'], [{}], [0, {}], [true]]) {
    let err;
    try {
      open.write(Buffer.from('abc'), ...offsets);
    } catch (e) {
      err = e;
    }
    assert.ok(err, `write(buf, ${offsets.map((o) => JSON.stringify(o)).join(', ')}) throws`);
    assert.ok(err instanceof TypeError || err instanceof RangeError, `${err}`);
    assert.equal(typeof err.code, 'string');
  }
  assert.equal(open.bytesWritten, 0);
});

test('timeout() rejects negative and non-finite values (RangeError) and non-numbers (TypeError); once closed it is a no-op', () => {
  for (const v of [-1, -0.001, NaN, Infinity, -Infinity]) {
    assert.throws(() => open.timeout(v), { name: 'RangeError' }, `timeout(${v})`);
    try {
      open.timeout(v);
    } catch (e) {
      assert.equal(typeof e.code, 'string', `timeout(${v}) error has a code`);
    }
  }
  for (const [label, v] of [
    ["'1'", '1'],
    ['null', null],
    ['undefined', undefined],
    ['true', true],
    ['{}', {}],
    ['1n', 1n],
  ]) {
    assert.throws(() => open.timeout(v), { name: 'TypeError' }, `timeout(${label})`);
    try {
      open.timeout(v);
    } catch (e) {
      assert.equal(typeof e.code, 'string', `timeout(${label}) error has a code`);
    }
  }
  open.timeout(0); // valid: disables
  open.timeout(30);
  open.timeout(0);
  assert.equal(open.readyState, 1);
  // SPEC lists timeout among the silent no-ops of a closed socket; Bun checks nothing there either.
  for (const v of [-1, NaN, Infinity, '1', null, undefined, {}, 1n, 5]) assert.equal(closed.timeout(v), undefined);
});

// ---- listen() / connect() option validation -------------------------------------------------

const handlers = () => ({ data() {} });
/** Valid options; `port` filled in per call so connect targets the live server. */
const base = (port) => ({ hostname: HOST, port, socket: handlers() });

const optionCases = [
  // [label, build(port) -> options argument, expected { name?, names?, code?, codes?, message? }]
  ['options undefined', () => undefined, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
  ['options null', () => null, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
  ['options a number', () => 42, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
  ['options a string', () => 'localhost:80', { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
  ['options true', () => true, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
  ['socket missing', (port) => ({ hostname: HOST, port }), { name: 'TypeError', message: /socket/ }],
  ['socket null', (port) => ({ ...base(port), socket: null }), { name: 'TypeError', message: /socket/ }],
  ['socket a number', (port) => ({ ...base(port), socket: 1 }), { name: 'TypeError', message: /socket/ }],
  ['socket a string', (port) => ({ ...base(port), socket: 'data' }), { name: 'TypeError', message: /socket/ }],
  ['socket true', (port) => ({ ...base(port), socket: true }), { name: 'TypeError', message: /socket/ }],
  ['socket {} (no data, no drain)', (port) => ({ ...base(port), socket: {} }), { name: 'TypeError', message: /data|drain/ }],
  [
    'socket with only open/close (no data, no drain)',
    (port) => ({ ...base(port), socket: { open() {}, close() {} } }),
    { name: 'TypeError', message: /data|drain/ },
  ],
  [
    'socket with data: null and drain: undefined',
    (port) => ({ ...base(port), socket: { data: null, drain: undefined } }),
    { name: 'TypeError', message: /data|drain/ },
  ],
  ...[
    ['open', 42],
    ['data', 'fn'],
    ['drain', {}],
    ['end', true],
    ['close', 1],
    ['error', []],
    ['timeout', 'x'],
    ['connectError', 5],
    ['handshake', Symbol('h')],
  ].map(([key, value]) => [
    `socket.${key} not a function`,
    (port) => ({ ...base(port), socket: { data() {}, drain() {}, [key]: value } }),
    { name: 'TypeError', message: new RegExp(`socket\\.${key}\\b`) },
  ]),
  // 'nodebuffer' is neither documented nor taken by Bun 1.4.5; 'toString' and 'constructor' are
  // names an object of spellings inherits.
  ...['blob', 'text', '', 'array', 'nodebuffer', 'toString', 'constructor', 'BUFFER', 5, true, {}].map((binaryType) => [
    `binaryType ${typeof binaryType === 'string' ? `'${binaryType}'` : String(binaryType)}`,
    (port) => ({ ...base(port), socket: { data() {}, binaryType } }),
    { name: 'TypeError', message: /binaryType/ },
  ]),
  ['no hostname and no unix', (port) => ({ port, socket: handlers() }), { name: 'TypeError', message: /hostname|unix/ }],
  ['port missing', () => ({ hostname: HOST, socket: handlers() }), { name: 'TypeError', message: /port/ }],
  ...[-1, 65536, 70000, -0.5].map((port) => [
    `port ${port}`,
    () => ({ hostname: HOST, port, socket: handlers() }),
    { name: 'RangeError', codes: ['ERR_SOCKET_BAD_PORT', 'ERR_OUT_OF_RANGE'], message: /port/ },
  ]),
  ...[
    ['1.5', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ["'abc'", 'abc'],
    ["'65536'", '65536'],
    ["'-1'", '-1'],
    ["''", ''],
  ].map(([label, port]) => [
    `port ${label}`,
    () => ({ hostname: HOST, port, socket: handlers() }),
    { names: ['RangeError', 'TypeError'], message: /port/ },
  ]),
  // Neither a number nor a string: a TypeError, as net.connect throws.
  ...[
    ['{}', {}],
    ['[]', []],
    ['true', true],
    ['null', null],
    ['10n', 10n],
    ['a symbol', Symbol('port')],
  ].map(([label, port]) => [
    `port ${label}`,
    () => ({ hostname: HOST, port, socket: handlers() }),
    { name: 'TypeError', codes: ['ERR_INVALID_ARG_TYPE'], message: /"options\.port" property must be one of type number or string/ },
  ]),
  ...[
    ['42', 42],
    ['{}', {}],
    ['true', true],
    ['[host]', [HOST]],
  ].map(([label, hostname]) => [
    `hostname ${label}`,
    (port) => ({ hostname, port, socket: handlers() }),
    { name: 'TypeError', message: /hostname/ },
  ]),
  ['unix a number', () => ({ unix: 42, socket: handlers() }), { name: 'TypeError', message: /unix/ }],
];

/**
 * Calls `fn(options)` and returns what it threw synchronously. If it did not throw, cleans up what it
 * made (listener, or a connect promise that may resolve or reject) and returns undefined.
 */
function syncThrow(fn, options) {
  let result;
  try {
    result = fn(options);
  } catch (err) {
    return err;
  }
  if (result && typeof result.then === 'function') {
    result.then(
      (s) => s.close(),
      () => {},
    );
  } else if (result && typeof result.stop === 'function') {
    result.stop(true);
  }
  return undefined;
}

function checkError(err, expected, what) {
  assert.ok(err !== undefined, `${what}: must throw synchronously`);
  assert.ok(err instanceof Error, `${what}: throws an Error (got ${String(err)})`);
  if (expected.name) assert.equal(err.name, expected.name, `${what}: ${err.name}: ${err.message}`);
  if (expected.names) assert.ok(expected.names.includes(err.name), `${what}: ${err.name}: ${err.message}`);
  assert.equal(typeof err.code, 'string', `${what}: has a code (${err.message})`);
  assert.match(err.code, /^ERR_/, `${what}: code ${err.code}`);
  if (expected.code) assert.equal(err.code, expected.code, `${what}: code`);
  if (expected.codes) assert.ok(expected.codes.includes(err.code), `${what}: code ${err.code}`);
  if (expected.message) assert.match(err.message, expected.message, `${what}: message names the option`);
}

for (const [fnName, fn] of [
  ['listen', listen],
  ['connect', connect],
]) {
  test(`${fnName}() option validation throws synchronously with a code`, () => {
    for (const [label, build, expected] of optionCases) {
      const err = syncThrow(fn, build(server.port));
      checkError(err, expected, `${fnName}(${label})`);
    }
  });
}

test("listen() accepts a numeric string port ('0' binds a free port)", (t) => {
  const l = listen({ hostname: HOST, port: '0', socket: handlers() });
  t.after(() => l.stop(true));
  assert.equal(typeof l.port, 'number');
  assert.ok(l.port > 0 && l.port < 65536, `port ${l.port}`);
});

test('connect() with a valid port 0 does not throw (it rejects with ECONNREFUSED)', async () => {
  let p;
  assert.doesNotThrow(() => {
    p = connect({ hostname: HOST, port: 0, socket: handlers() });
  });
  await assert.rejects(withTimeout(p, 3000, 'connect to port 0'), { code: 'ECONNREFUSED' });
});

// A view whose byteLength getter lies (a subclass) cannot make write() read outside it: it
// throws, and the socket stays open and usable.
test('a typed-array subclass that lies about byteLength: write and end throw RangeError, the socket stays open', async (t) => {
  class Lying extends Uint8Array {
    get byteLength() {
      return 65536;
    }
  }
  const got = [];
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { got.push(Buffer.from(d)); } } });
  t.after(() => server.stop(true));
  const client = await connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } });
  t.after(() => client.close());
  for (const call of [() => client.write(new Lying(4)), () => client.end(new Lying(4))]) {
    assert.throws(call, (err) => err instanceof RangeError && err.code === 'ERR_OUT_OF_RANGE');
    assert.equal(client.readyState, 1);
  }
  assert.equal(client.write('ok'), 2);
  const until = Date.now() + 3000;
  while (Buffer.concat(got).toString() !== 'ok' && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  assert.equal(Buffer.concat(got).toString(), 'ok', 'only the honest write arrives');
});

// Timeouts too long to ever fire must not wrap around and fire at once.
test('timeout(1e17) and connect({ timeout: 1e300 }) never fire', async (t) => {
  const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  t.after(() => server.stop(true));
  const fired = [];
  const client = await connect({ hostname: '127.0.0.1', port: server.port, timeout: 1e300, socket: { data() {}, timeout() { fired.push('timeout'); } } });
  t.after(() => client.close());
  client.timeout(1e17);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(fired, []);
  assert.equal(client.readyState, 1);
});
