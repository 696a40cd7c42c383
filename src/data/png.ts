// A small PNG decoder (zlib from node:zlib): 8-bit greyscale, grey+alpha, RGB,
// RGBA and palette images (1/2/4/8-bit palette or greyscale), non-interlaced.
// Output: uint8 CHW with 1 (grey) or 3 (colour) channels; alpha is dropped.
// And an encoder for 8-bit grey, grey+alpha, RGB and RGBA images (CHW in).
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from '../util/crc32.js';

export interface DecodedImage {
  data: Uint8Array;
  channels: number;
  height: number;
  width: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

export function decodePng(bytes: Uint8Array, where = 'PNG'): DecodedImage {
  if (!isPng(bytes)) throw new Error(`${where}: not a PNG file (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const start = offset + 8;
    if (start + length + 4 > bytes.length) throw new Error(`${where}: truncated PNG (chunk ${type} needs ${length} bytes at byte ${start})`);
    const body = bytes.subarray(start, start + length);
    if (type === 'IHDR') {
      width = view.getUint32(start);
      height = view.getUint32(start + 4);
      depth = bytes[start + 8];
      colorType = bytes[start + 9];
      interlace = bytes[start + 12];
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') { ended = true; break; }
    offset = start + length + 4;
  }
  if (colorType < 0) throw new Error(`${where}: PNG without an IHDR chunk`);
  if (!ended) throw new Error(`${where}: truncated PNG (no IEND chunk)`);
  if (interlace !== 0) throw new Error(`${where}: interlaced PNG is not supported`);
  const samplesPer = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (samplesPer === undefined) throw new Error(`${where}: PNG colour type ${colorType} is not valid`);
  const depthOk = colorType === 0 || colorType === 3 ? [1, 2, 4, 8].includes(depth) : depth === 8;
  if (!depthOk) throw new Error(`${where}: PNG bit depth ${depth} with colour type ${colorType} is not supported (8-bit images, or 1/2/4/8-bit grey and palette)`);
  if (colorType === 3 && palette === null) throw new Error(`${where}: palette PNG without a PLTE chunk`);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (error) {
    throw new Error(`${where}: corrupt PNG image data (${(error as Error).message})`);
  }
  const bitsPerPixel = samplesPer * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < height * (stride + 1)) throw new Error(`${where}: truncated PNG image data (${raw.length} bytes for ${height} rows of ${stride + 1})`);
  const rows = new Uint8Array(height * stride);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = rows.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let pred: number;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`${where}: corrupt PNG (unknown filter ${filter} on row ${y})`);
      }
      cur[i] = (line[i] + pred) & 0xff;
    }
    prev = cur;
  }
  const colour = colorType === 2 || colorType === 6 || colorType === 3;
  const channels = colour ? 3 : 1;
  const plane = width * height;
  const out = new Uint8Array(channels * plane);
  const sample = (row: Uint8Array, index: number): number => { // index-th sample of `depth` bits
    if (depth === 8) return row[index];
    const bit = index * depth;
    return (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (colorType === 3) {
        const k = sample(row, x);
        if (3 * k + 2 >= palette!.length) throw new Error(`${where}: palette index ${k} beyond the ${palette!.length / 3}-colour palette`);
        out[p] = palette![3 * k]; out[plane + p] = palette![3 * k + 1]; out[2 * plane + p] = palette![3 * k + 2];
      } else if (colour) {
        for (let ch = 0; ch < 3; ch++) out[ch * plane + p] = row[x * samplesPer + ch];
      } else {
        const v = sample(row, x * samplesPer);
        out[p] = depth === 8 ? v : Math.round((v * 255) / ((1 << depth) - 1));
      }
    }
  }
  return { data: out, channels, height, width };
}

// ---- encoder ---------------------------------------------------------------
function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  const name = Uint8Array.from(type, (c) => c.charCodeAt(0));
  view.setUint32(0, body.length);
  out.set(name, 4);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32([name, body]));
  return out;
}

/** PNG colour type per channel count: grey, grey+alpha, RGB, RGBA. */
const COLOUR_TYPES: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/**
 * An 8-bit PNG of a uint8 CHW image with 1 (grey), 2 (grey + alpha), 3 (RGB) or
 * 4 (RGBA) channels: non-interlaced, each row's filter chosen by the usual
 * minimum-sum-of-absolute-differences heuristic, deflated with node:zlib.
 */
export function encodePng(image: DecodedImage, where = 'encodePng'): Uint8Array {
  const { data, channels, height, width } = image;
  if (COLOUR_TYPES[channels] === undefined) throw new RangeError(`${where}: a PNG image has 1, 2, 3 or 4 channels, got ${channels}`);
  for (const [name, n] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new RangeError(`${where}: ${name} must be an integer from 1 to 2^31 - 1, got ${n}`);
  }
  if (!(data instanceof Uint8Array)) throw new TypeError(`${where}: data must be a Uint8Array`);
  const plane = width * height;
  if (data.length !== channels * plane) throw new RangeError(`${where}: ${channels}×${height}×${width} needs ${channels * plane} bytes, got ${data.length}`);
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) cur[x * channels + c] = data[c * plane + y * width + x];
    let bestScore = Infinity;
    for (let filter = 0; filter <= 4; filter++) {
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? cur[i - channels] : 0;
        const b = prev[i];
        const c = i >= channels ? prev[i - channels] : 0;
        let pred = 0;
        if (filter === 1) pred = a;
        else if (filter === 2) pred = b;
        else if (filter === 3) pred = (a + b) >> 1;
        else if (filter === 4) {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const v = (cur[i] - pred) & 0xff;
        candidate[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        raw[y * (stride + 1)] = filter;
        raw.set(candidate, y * (stride + 1) + 1);
      }
    }
    [prev, cur] = [cur, prev];
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = COLOUR_TYPES[channels];
  // compression 0, filter method 0, no interlace
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) { out.set(p, offset); offset += p.length; }
  return out;
}
