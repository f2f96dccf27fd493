// The TypeScript example in README.md, as written there: it must keep compiling.
import { listen, connect, type Socket } from 'node-bun-tcp';

type Session = { id: string; lines: number };

listen<Session>({
  hostname: '127.0.0.1',
  port: 8080,
  socket: {
    open(socket) {
      socket.data = { id: crypto.randomUUID(), lines: 0 }; // must be a Session
    },
    data(socket, chunk) {
      socket.data.lines++; // chunk: Buffer (the default binaryType)
    },
  },
});

const client: Socket<{ sent: number }> = await connect({
  hostname: '127.0.0.1',
  port: 8080,
  data: { sent: 0 }, // Data inferred: { sent: number }
  socket: {
    binaryType: 'uint8array',
    data(socket, chunk) {}, // chunk: Uint8Array<ArrayBuffer>
  },
});
void client;
