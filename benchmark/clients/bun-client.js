// The benchmark client on Bun's own Bun.connect(), for `BUN=/path/to/bun`; see common.js.
const { run, fail, socketTable } = require('./common');

run(async (hostname, port, handlers) => {
  const socket = await Bun.connect({ hostname, port, socket: socketTable(handlers) });
  return (bytes) => socket.write(bytes);
}).catch(fail);
