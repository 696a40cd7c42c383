// JPEG decoding for image folders: baseline and progressive Huffman-coded
// JPEGs with 1 (grey) or 3 (YCbCr/RGB) components, through libjpeg-turbo (the
// native image module, ~8× faster, and the pixels PIL gives) when it was
// built, else jpeg-js (pure JavaScript). Arithmetic coding, lossless and
// 12-bit JPEGs are refused up front, whichever decoder; they, and corrupt or
// truncated files, give an error naming the file.
// Output: uint8 CHW with 1 or 3 channels, like the PNG decoder. Encoding: RGB
// images as baseline JPEGs through jpeg-js (for saveImage).
import jpeg from 'jpeg-js';
import type { DecodedImage } from './png.js';
import { nativeImageModule } from './native-image.js';

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

const SOF_NAMES: Record<number, string> = {
  0xc0: 'baseline', 0xc1: 'extended sequential', 0xc2: 'progressive', 0xc3: 'lossless',
  0xc5: 'differential sequential', 0xc6: 'differential progressive', 0xc7: 'differential lossless',
  0xc9: 'arithmetic-coded sequential', 0xca: 'arithmetic-coded progressive', 0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded differential sequential', 0xce: 'arithmetic-coded differential progressive', 0xcf: 'arithmetic-coded differential lossless',
};

/** The frame header: coding process, sample precision and component count (walking the marker segments). */
function frameInfo(bytes: Uint8Array, where: string): { marker: number; precision: number; components: number } {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) throw new Error(`${where}: corrupt JPEG (no marker at byte ${offset})`);
    const marker = bytes[offset + 1];
    if (marker === 0xff) { offset++; continue; } // fill byte
    const length = (bytes[offset + 2] << 8) | bytes[offset + 3];
    if (marker in SOF_NAMES) {
      if (offset + 10 > bytes.length) break;
      return { marker, precision: bytes[offset + 4], components: bytes[offset + 9] };
    }
    if (marker === 0xda || marker === 0xd9) break; // scan or end before any frame header
    offset += 2 + length;
  }
  throw new Error(`${where}: corrupt or truncated JPEG (no frame header)`);
}

export function decodeJpeg(bytes: Uint8Array, where = 'JPEG'): DecodedImage {
  if (!isJpeg(bytes)) throw new Error(`${where}: not a JPEG file (no SOI marker)`);
  const frame = frameInfo(bytes, where);
  const kind = SOF_NAMES[frame.marker];
  if (![0xc0, 0xc1, 0xc2].includes(frame.marker) || frame.precision !== 8) {
    throw new Error(`${where}: ${frame.precision}-bit ${kind} JPEG is not supported (only 8-bit baseline, extended and progressive Huffman JPEGs); convert it to PNG or a baseline JPEG`);
  }
  if (frame.components !== 1 && frame.components !== 3) {
    throw new Error(`${where}: JPEG with ${frame.components} components (CMYK?) is not supported; only grey (1) and colour (3)`);
  }
  const native = nativeImageModule();
  if (native !== null) {
    try {
      return native.decodeJpeg(bytes);
    } catch (error) {
      throw new Error(`${where}: corrupt or unsupported ${kind} JPEG (${(error as Error).message})`);
    }
  }
  let rgb: { width: number; height: number; data: Uint8Array };
  try {
    rgb = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (error) {
    throw new Error(`${where}: corrupt or unsupported ${kind} JPEG (${(error as Error).message})`);
  }
  const { width, height, data } = rgb;
  const plane = width * height;
  if (width === 0 || height === 0 || data.length !== 3 * plane) throw new Error(`${where}: corrupt JPEG (decoded ${width}×${height} image with ${data.length} bytes)`);
  const channels = frame.components === 1 ? 1 : 3;
  const out = new Uint8Array(channels * plane);
  // jpeg-js gives interleaved RGB (grey repeated three times): to CHW
  for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) out[c * plane + p] = data[3 * p + c];
  return { data: out, channels, height, width };
}

/**
 * A baseline JPEG of a uint8 CHW image with 3 channels (RGB), through jpeg-js
 * (which writes YCbCr only, so grey and alpha images are refused: expand grey to RGB first).
 */
export function encodeJpeg(image: DecodedImage, quality = 75, where = 'encodeJpeg'): Uint8Array {
  const { data, channels, height, width } = image;
  if (channels !== 3) throw new RangeError(`${where}: a JPEG image is written from 3 channels (RGB), got ${channels}`);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new RangeError(`${where}: quality must be an integer from 1 to 100, got ${quality}`);
  const plane = width * height;
  if (!(data instanceof Uint8Array) || data.length !== 3 * plane) throw new RangeError(`${where}: 3×${height}×${width} needs ${3 * plane} bytes`);
  // jpeg-js reads interleaved RGBA.
  const rgba = new Uint8Array(4 * plane);
  for (let p = 0; p < plane; p++) {
    rgba[4 * p] = data[p];
    rgba[4 * p + 1] = data[plane + p];
    rgba[4 * p + 2] = data[2 * plane + p];
    rgba[4 * p + 3] = 255;
  }
  const encoded = jpeg.encode({ data: rgba, width, height }, quality);
  return new Uint8Array(encoded.data.buffer, encoded.data.byteOffset, encoded.data.byteLength);
}
