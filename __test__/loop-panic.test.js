'use strict';
// A panic inside the loop thread fails only the socket it was handling: that socket's `error`
// handler hears of it, then `close`; the process and every other socket carry on.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runChild } = require('./helpers');

test('a loop-thread panic is reported to the socket and the process survives', async () => {
  const child = await runChild(
    `const { listen, connect } = require(process.env.PKG);
     const binding = require(process.env.PKG + '/lib/binding.js');
     const events = [];
     const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, d) { s.write(d); } } });
     (async () => {
       const victim = await connect({ hostname: '127.0.0.1', port: server.port, socket: {
         data() {},
         error(s, err) { events.push('error ' + err.code); },
         close(s, err) { events.push('close ' + (err && err.code)); },
       } });
       binding.injectPanic(victim._id);
       await new Promise((r) => setTimeout(r, 300));
       // Another connection still echoes.
       const echoed = await new Promise((resolve) => {
         connect({ hostname: '127.0.0.1', port: server.port, socket: {
           open(s) { s.write('still here'); },
           data(s, d) { resolve(String(d)); s.close(); },
         } });
       });
       console.log(JSON.stringify({ events, echoed }));
       server.stop(true);
     })();`,
    { timeoutMs: 10000 },
  );
  assert.equal(child.timedOut, false, child.stderr);
  assert.equal(child.code, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop());
  assert.deepEqual(result.events, ['error ERR_SOCKET_LOOP_FAILURE', 'close ERR_SOCKET_LOOP_FAILURE']);
  assert.equal(result.echoed, 'still here');
});
