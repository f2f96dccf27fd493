// The benchmark client on Bun's own Bun.connect(), for `BUN=/path/to/bun`; see common.js.
const { run, fail } = require('./common');

run(async (hostname, port, handlers) => {
  const socket = await Bun.connect({
    hostname,
    port,
    socket: {
      data: (_socket, chunk) => handlers.data(chunk),
      drain: () => handlers.drain(),
      error: (_socket, err) => fail(err),
      close: (_socket, err) => err && fail(err),
    },
  });
  return (bytes) => socket.write(bytes);
}).catch(fail);
