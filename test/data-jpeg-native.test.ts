// The native JPEG decoder (libjpeg-turbo, native/image) beside jpeg-js: the
// same images within JPEG's decoder latitude, and damaged files refused with
// an error naming them — never a crash of the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { decodeJpeg } from '../src/data/jpeg.js';
import { nativeImageModule } from '../src/data/native-image.js';

const native = nativeImageModule();
const skip = native === null ? 'the native image module is not built (needs libjpeg62-turbo-dev)' : false;

/** A smooth colour test card with mild texture, encoded by jpeg-js. */
function card(width: number, height: number, quality: number): { bytes: Uint8Array; rgb: (c: number, y: number, x: number) => number } {
  const rgb = (c: number, y: number, x: number) => Math.round([30 + (180 * x) / width, 40 + (160 * y) / height, 200 - (100 * (x + y)) / (width + height)][c] + 6 * Math.sin(x / 3 + c) * Math.cos(y / 4));
  const rgba = new Uint8Array(4 * width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    for (let c = 0; c < 3; c++) rgba[4 * (y * width + x) + c] = rgb(c, y, x);
    rgba[4 * (y * width + x) + 3] = 255;
  }
  return { bytes: jpeg.encode({ data: rgba, width, height }, quality).data, rgb };
}

function withDecoder<T>(which: 'native' | 'js', fn: () => T): T {
  const saved = process.env.ORTHOGONIUM_NATIVE_IMAGE;
  if (which === 'js') process.env.ORTHOGONIUM_NATIVE_IMAGE = 'off';
  else delete process.env.ORTHOGONIUM_NATIVE_IMAGE;
  try { return fn(); } finally { if (saved === undefined) delete process.env.ORTHOGONIUM_NATIVE_IMAGE; else process.env.ORTHOGONIUM_NATIVE_IMAGE = saved; }
}

test('native JPEG decoding: the same image as jpeg-js (within a few levels: IDCT and chroma upsampling differ) and close to the source', { skip }, () => {
  for (const [w, h] of [[64, 48], [37, 29], [1, 1], [300, 7]]) {
    const { bytes, rgb } = card(w, h, 92);
    const ours = withDecoder('native', () => decodeJpeg(bytes, 'card.jpg'));
    const js = withDecoder('js', () => decodeJpeg(bytes, 'card.jpg'));
    assert.deepEqual([ours.channels, ours.height, ours.width], [3, h, w]);
    assert.deepEqual([js.channels, js.height, js.width], [3, h, w]);
    let worstJs = 0;
    let sumSource = 0;
    for (let i = 0; i < ours.data.length; i++) worstJs = Math.max(worstJs, Math.abs(ours.data[i] - js.data[i]));
    const plane = w * h;
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) sumSource += Math.abs(ours.data[c * plane + y * w + x] - rgb(c, y, x));
    assert.ok(worstJs <= 12, `${w}×${h}: native vs jpeg-js differ by up to ${worstJs}`);
    assert.ok(sumSource / ours.data.length < 3, `${w}×${h}: mean error to the source ${sumSource / ours.data.length}`);
  }
});

test('native JPEG decoding: truncated and corrupt streams are errors naming the file; bad arguments are TypeErrors', { skip }, () => {
  const { bytes } = card(48, 40, 90);
  const truncated = bytes.subarray(0, Math.floor(bytes.length * 0.6));
  assert.throws(() => decodeJpeg(truncated, 'cut.jpg'), /^Error: cut\.jpg: corrupt or unsupported baseline JPEG \(.*(Premature end|truncated|Corrupt)/i);
  const corrupt = Uint8Array.from(bytes);
  for (let i = Math.floor(corrupt.length / 2); i < corrupt.length - 2; i += 7) corrupt[i] ^= 0x5a;
  try {
    const img = decodeJpeg(corrupt, 'noise.jpg');
    assert.fail(`decoded a corrupted stream to ${img.height}×${img.width} without an error`);
  } catch (error) {
    assert.match((error as Error).message, /noise\.jpg: corrupt or unsupported baseline JPEG/);
  }
  assert.throws(() => native!.decodeJpeg(new Float32Array(4) as unknown as Uint8Array), /decodeJpeg: expects a Uint8Array/);
  assert.throws(() => native!.decodeJpeg(new Uint8Array(0)), Error);
});

test('native JPEG decoding: a header claiming a huge image is refused before anything is allocated', { skip }, () => {
  const { bytes } = card(16, 16, 90);
  const huge = Uint8Array.from(bytes);
  // the SOF0 segment: FF C0, length, precision, height (2 bytes), width (2 bytes)
  const sof = huge.findIndex((b, i) => b === 0xff && huge[i + 1] === 0xc0);
  assert.ok(sof > 0, 'the test image has a baseline frame header');
  huge[sof + 5] = 0xea; huge[sof + 6] = 0x60; // height 60000
  huge[sof + 7] = 0xea; huge[sof + 8] = 0x60; // width 60000
  assert.throws(() => decodeJpeg(huge, 'bomb.jpg'), /bomb\.jpg: .*60000×60000 JPEG is over the 100-megapixel limit/);
});

test('native resize passes: sizes and taps that do not match are RangeErrors, never reads out of bounds', { skip }, () => {
  const data = new Uint8Array(2 * 3 * 4);
  const axis = { start: Int32Array.from([0, 2]), count: Int32Array.from([2, 2]), weights: new Float32Array(4).fill(0.5), taps: 2 };
  assert.equal(native!.resampleAntialiased(data, 2, 3, 4, 3, 2, axis, null).length, 2 * 3 * 2);
  const outOfRange = { ...axis, start: Int32Array.from([0, 3]) };
  assert.throws(() => native!.resampleAntialiased(data, 2, 3, 4, 3, 2, outOfRange, null), /an axis does not match the sizes/);
  const short = { ...axis, weights: new Float32Array(3) };
  assert.throws(() => native!.resampleAntialiased(data, 2, 3, 4, 3, 2, short, null), /an axis does not match the sizes/);
  assert.throws(() => native!.resampleAntialiased(data, 2, 3, 4, 3, 2, null, null), /an axis must be given exactly for a size that changes/);
  assert.throws(() => native!.resampleAntialiased(data, 2, 3, 5, 3, 2, axis, null), /data length does not match/);
  assert.throws(() => native!.resampleAntialiased(data, 0, 3, 4, 3, 2, axis, null), /sizes must be positive/);
});
