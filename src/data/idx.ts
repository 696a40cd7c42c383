// IDX files (the MNIST / Fashion-MNIST format), gzipped or not: a big-endian
// header (magic: two zero bytes, a type code, the number of dimensions; then
// one uint32 per dimension) followed by the raw row-major data.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Reads an unsigned-byte IDX file, checking the header against the data size. */
export function readIdx(path: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read IDX file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${path}: corrupt gzip data (${(error as Error).message})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${path}: not an IDX file (bad magic number)`);
  if (bytes[2] !== UBYTE) throw new Error(`${path}: IDX element type 0x${bytes[2].toString(16)} is not supported (expected unsigned bytes, 0x08)`);
  const ndim = bytes[3];
  const headerSize = 4 + 4 * ndim;
  if (ndim === 0 || bytes.length < headerSize) throw new Error(`${path}: truncated IDX header`);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(bytes.readUInt32BE(4 + 4 * i));
  const expected = shape.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerSize;
  if (actual !== expected) {
    throw new Error(`${path}: header announces shape [${shape.join(', ')}] (${expected} bytes of data) but the file holds ${actual}`);
  }
  return { shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerSize, expected) };
}
