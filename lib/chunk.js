'use strict';
// The chunk a `data` handler gets: bytes of a read batch in the table's binaryType.

/** `length` bytes at `offset` in `data` (a Buffer), as `binaryType` asks. */
function chunkOf(data, offset, length, binaryType) {
  if (binaryType === 'buffer') return data.subarray(offset, offset + length);
  const start = data.byteOffset + offset;
  // A plain Uint8Array owns its bytes, as Bun's do (`chunk.buffer` is the chunk), where a Buffer
  // may be a view of a shared pool, as Node's Buffers are.
  if (binaryType === 'uint8array') {
    if (start === 0 && length === data.buffer.byteLength) return new Uint8Array(data.buffer);
    return new Uint8Array(data.buffer.slice(start, start + length));
  }
  return data.buffer.slice(start, start + length);
}

module.exports = { chunkOf };
