'use strict';
// The benchmark's RESP server core (benchmark/servers/resp.js), which every RESP server in the
// suite shares: replies as redis-server gives them, commands split anywhere across chunks, and
// the CONFIG GET answers redis-benchmark asks for at start.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { RespSession } = require('../benchmark/servers/resp');

const command = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

function replies(session, ...chunks) {
  return chunks.map((c) => Buffer.from(session.feed(Buffer.from(c, 'latin1'))).toString('latin1')).join('');
}

test('PING, SET and GET answer as redis-server does, also split across chunks', () => {
  const s = new RespSession();
  const stream = command('PING') + command('SET', 'bench-key', 'v\r\n1') + command('GET', 'bench-key') + command('GET', 'bench-none');
  const want = '+PONG\r\n+OK\r\n$4\r\nv\r\n1\r\n$-1\r\n';
  assert.equal(replies(s, stream), want);
  for (let cut = 1; cut < stream.length; cut++) {
    assert.equal(replies(new RespSession(), stream.slice(0, cut), stream.slice(cut)), want, `cut at ${cut}`);
  }
  assert.equal(replies(s, 'PING\r\n'), '+PONG\r\n', 'inline command');
});

test('CONFIG GET answers save and appendonly, and an empty array for anything else', () => {
  const s = new RespSession();
  assert.equal(replies(s, command('CONFIG', 'GET', 'save')), '*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
  assert.equal(replies(s, command('config', 'get', 'APPENDONLY')), '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  // An inherited property name is not a parameter (it used to throw inside the server).
  assert.equal(replies(s, command('CONFIG', 'GET', 'constructor')), '*0\r\n');
  assert.equal(replies(s, command('CONFIG', 'GET', 'maxmemory')), '*0\r\n');
});

test('unknown commands get -ERR; a protocol error is answered and closes the connection', () => {
  const s = new RespSession();
  assert.match(replies(s, command('FLUSHALL')), /^-ERR unknown command 'FLUSHALL'/);
  assert.equal(s.closeAfterReply, false);
  assert.match(replies(s, '*1\r\n+PING\r\n'), /^-ERR Protocol error/);
  assert.equal(s.closeAfterReply, true);
});

test('values are binary-safe and any length; inline commands split on runs of spaces', () => {
  const s = new RespSession();
  const all = Buffer.alloc(256 * 3);
  for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
  const set = Buffer.concat([Buffer.from('*3\r\n$3\r\nset\r\n$1\r\nk\r\n$768\r\n'), all, Buffer.from('\r\n')]);
  assert.equal(Buffer.from(s.feed(set)).toString('latin1'), '+OK\r\n');
  const got = Buffer.from(s.feed(Buffer.from(command('GET', 'k'))));
  assert.deepEqual(got, Buffer.concat([Buffer.from('$768\r\n'), all, Buffer.from('\r\n')]));
  assert.equal(replies(s, command('SET', 'short', 'v'.repeat(12)), command('get', 'short')), `+OK\r\n$12\r\n${'v'.repeat(12)}\r\n`);
  for (const size of [0, 9, 10, 99, 100, 999, 1000, 10000, 123456]) {
    const value = 'abcdefghij'.repeat(Math.ceil(size / 10)).slice(0, size);
    assert.equal(replies(s, command('SET', 'n', value), command('GET', 'n')), `+OK\r\n$${size}\r\n${value}\r\n`, `length ${size}`);
  }
  assert.equal(replies(s, 'PING   hello\r\n'), '$5\r\nhello\r\n');
  assert.equal(replies(s, ' ping \r\n'), '+PONG\r\n');
  assert.equal(replies(s, '\r\n'), '', 'an empty inline line is no command');
  assert.equal(replies(s, command('PING', 'x'.repeat(40))), `$40\r\n${'x'.repeat(40)}\r\n`);
  // A command name that only looks like GET once its case is folded byte-wise is not GET.
  assert.match(replies(s, '*2\r\n$3\r\n\xc7ET\r\n$1\r\nk\r\n'), /^-ERR unknown command/);
});
