// A minimal reader for (gzipped) ustar / GNU tar archives: enough to read the
// official CIFAR archives without extracting them.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function text(block: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + start, end - start).toString('utf8');
}

function octal(block: Uint8Array, start: number, length: number, where: string): number {
  if (block[start] & 0x80) { // GNU base-256 for large sizes
    let v = 0;
    for (let i = start + 1; i < start + length; i++) v = v * 256 + block[i];
    return v;
  }
  const s = text(block, start, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`${where}: corrupt tar header (size field "${s}" is not octal)`);
  return parseInt(s, 8);
}

/** Lists the regular files of an uncompressed tar image. `where` names the archive in errors. */
export function parseTar(bytes: Uint8Array, where: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (offset + 512 <= bytes.length) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return entries; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    const stored = octal(header, 148, 8, where);
    if (stored !== sum) throw new Error(`${where}: corrupt tar header at byte ${offset} (checksum ${stored}, computed ${sum})`);
    const size = octal(header, 124, 12, where);
    const type = String.fromCharCode(header[156] || 0x30);
    let name = text(header, 0, 100);
    if (text(header, 257, 6) === 'ustar') {
      const prefix = text(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const start = offset + 512;
    if (start + size > bytes.length) {
      throw new Error(`${where}: truncated tar archive (entry "${name}" needs ${size} bytes at byte ${start}, archive has ${bytes.length})`);
    }
    const data = bytes.subarray(start, start + size);
    if (type === 'L') {
      longName = text(data, 0, data.length);
    } else if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(data).toString('utf8'));
      paxPath = m ? m[1] : null;
    } else {
      if (type === '0' || type === '\0' || type === '7') entries.push({ name: paxPath ?? longName ?? name, data });
      longName = null;
      paxPath = null;
    }
    offset = start + Math.ceil(size / 512) * 512;
  }
  if (offset !== bytes.length || entries.length === 0) {
    throw new Error(`${where}: truncated tar archive (no end-of-archive marker after byte ${offset})`);
  }
  return entries;
}

/** Reads a .tar or .tar.gz file into memory and lists its regular files. */
export function readTarFile(path: string): TarEntry[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read archive ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${path}: corrupt or truncated gzip data (${(error as Error).message})`);
    }
  }
  return parseTar(bytes, path);
}
