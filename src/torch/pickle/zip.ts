// A reader for the zip archives torch.save writes (stored entries, possibly
// zip64); deflated entries are inflated too, for archives repacked by tools.
import { inflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export interface ZipEntry { name: string; method: number; compressedSize: number; size: number; localOffset: number }

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  constructor(private readonly bytes: Buffer, private readonly label: string) {
    const fail = (why: string): never => { throw new Error(`${label}: not a valid zip archive (${why})`); };
    let eocd = -1;
    for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
      if (bytes.readUInt32LE(i) === EOCD) { eocd = i; break; }
    }
    if (eocd < 0) fail('no end-of-central-directory record; truncated or not a zip file');
    let count = bytes.readUInt16LE(eocd + 10);
    let dirOffset = bytes.readUInt32LE(eocd + 16);
    if (dirOffset === 0xffffffff || count === 0xffff) {
      const locator = eocd - 20;
      if (locator < 0 || bytes.readUInt32LE(locator) !== EOCD64_LOCATOR) fail('zip64 locator missing');
      const at = Number(bytes.readBigUInt64LE(locator + 8));
      if (at + 56 > bytes.length || bytes.readUInt32LE(at) !== EOCD64) fail('zip64 end record missing');
      count = Number(bytes.readBigUInt64LE(at + 32));
      dirOffset = Number(bytes.readBigUInt64LE(at + 48));
    }
    let p = dirOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > bytes.length || bytes.readUInt32LE(p) !== CENTRAL) fail(`central directory entry ${i} is damaged`);
      const method = bytes.readUInt16LE(p + 10);
      let compressedSize = bytes.readUInt32LE(p + 20);
      let size = bytes.readUInt32LE(p + 24);
      const nameLength = bytes.readUInt16LE(p + 28);
      const extraLength = bytes.readUInt16LE(p + 30);
      const commentLength = bytes.readUInt16LE(p + 32);
      let localOffset = bytes.readUInt32LE(p + 42);
      const name = bytes.toString('utf8', p + 46, p + 46 + nameLength);
      // zip64 extra field: the 64-bit values appear in order for each field saturated at 0xffffffff.
      let extra = p + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = bytes.readUInt16LE(extra);
        const length = bytes.readUInt16LE(extra + 2);
        if (id === 0x0001) {
          let q = extra + 4;
          if (size === 0xffffffff) { size = Number(bytes.readBigUInt64LE(q)); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = Number(bytes.readBigUInt64LE(q)); q += 8; }
          if (localOffset === 0xffffffff) { localOffset = Number(bytes.readBigUInt64LE(q)); }
        }
        extra += 4 + length;
      }
      this.entries.set(name, { name, method, compressedSize, size, localOffset });
      p = extraEnd + commentLength;
    }
  }

  read(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.label}: the archive has no entry '${name}'`);
    const p = entry.localOffset;
    if (p + 30 > this.bytes.length || this.bytes.readUInt32LE(p) !== LOCAL) throw new Error(`${this.label}: entry '${name}' is damaged`);
    const start = p + 30 + this.bytes.readUInt16LE(p + 26) + this.bytes.readUInt16LE(p + 28);
    const end = start + entry.compressedSize;
    if (end > this.bytes.length) throw new Error(`${this.label}: entry '${name}' runs past the end of the file (truncated?)`);
    const raw = this.bytes.subarray(start, end);
    if (entry.method === 0) return raw;
    if (entry.method === 8) return inflateRawSync(raw);
    throw new Error(`${this.label}: entry '${name}' uses unsupported compression method ${entry.method}`);
  }
}
