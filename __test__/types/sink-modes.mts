// ArrayBufferSink: flush()/end() typed by the sink's mode (run time: lib/sink.js), and the seed's buffering examples.
import { ArrayBufferSink, type Socket, type ArrayBufferSinkOptions } from 'node-bun-tcp';
import { type Equal, expectType } from './util.js';
declare const socket: Socket;
declare const o: ArrayBufferSinkOptions;
declare const b: boolean;
// The newest revision of the seed's example, with the mode as the type argument (start() sets it at
// run time; its options must match) and asUint8Array, without which flush() gives an ArrayBuffer.
{
  const sink = new ArrayBufferSink<{ stream: true; asUint8Array: true }>();
  sink.start({ stream: true, highWaterMark: 1024, asUint8Array: true });
  sink.write('hello');
  queueMicrotask(() => {
    const data = sink.flush();
    expectType<Equal<typeof data, Uint8Array<ArrayBuffer>>>(true);
    const wrote = socket.write(data);
    if (wrote < data.byteLength) sink.write(data.subarray(wrote));
  });
  // @ts-expect-error a different mode
  sink.start({ stream: true });
  // @ts-expect-error a different mode
  sink.start();
}
// The seed's first example, as written: `{ stream: true }` flushes ArrayBuffers.
{
  const sink = new ArrayBufferSink({ stream: true, highWaterMark: 1024 });
  var data = sink.flush();
  expectType<Equal<typeof data, ArrayBuffer>>(true);
  if (!socket.write(data)) sink.write(data);
  sink.start({ stream: true, highWaterMark: 5 });
  // @ts-expect-error a different mode
  sink.start({ stream: true, asUint8Array: true });
}
{
  const s = new ArrayBufferSink({});
  expectType<Equal<ReturnType<typeof s.flush>, number>>(true);
  expectType<Equal<ReturnType<typeof s.end>, ArrayBuffer>>(true);
  s.start(); s.start({ highWaterMark: 1 }); s.start(null);
  const u = new ArrayBufferSink({ asUint8Array: true });
  expectType<Equal<ReturnType<typeof u.flush>, number>>(true);
  expectType<Equal<ReturnType<typeof u.end>, Uint8Array<ArrayBuffer>>>(true);
  const v = new ArrayBufferSink(o);
  expectType<Equal<ReturnType<typeof v.flush>, number | ArrayBuffer | Uint8Array<ArrayBuffer>>>(true);
  expectType<Equal<ReturnType<typeof v.end>, ArrayBuffer | Uint8Array<ArrayBuffer>>>(true);
  const w = new ArrayBufferSink({ stream: b });
  expectType<Equal<ReturnType<typeof w.flush>, number | ArrayBuffer>>(true);
  const n = new ArrayBufferSink();
  expectType<Equal<ReturnType<typeof n.flush>, number | ArrayBuffer | Uint8Array<ArrayBuffer>>>(true);
  n.start(); n.start({ stream: true, asUint8Array: b });
  const t: ArrayBufferSink = new ArrayBufferSink({ stream: true });
  void t;
}
// The newest revision as written does not compile: the sink's mode is not known from start()
// (flush() may be a count), and in that mode flush() returns an ArrayBuffer, which has no
// subarray() (a TypeError at run time).
{
  const sink = new ArrayBufferSink();
  sink.start({ stream: true, highWaterMark: 1024 });
  const data = sink.flush();
  // @ts-expect-error may be a number
  const wrote = socket.write(data);
  void wrote;
  const known = new ArrayBufferSink({ stream: true, highWaterMark: 1024 }).flush();
  // @ts-expect-error an ArrayBuffer has no subarray()
  known.subarray(1);
}
