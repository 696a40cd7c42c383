// torchvision's Resize on plain CHW arrays: the output size rule (an int
// matches the shorter edge, keeping the aspect ratio; maxSize bounds the
// longer one) and bilinear interpolation with antialiasing, the default for
// tensors since torchvision 0.17 and what PIL always does. Antialiasing widens
// the triangle filter by the downscaling factor, so every input pixel counts
// (plain bilinear reads 2 taps and aliases when shrinking by more than 2×).
// The weights and the separable passes (width first, then height; a pass is
// skipped when its size does not change) follow libtorch's
// _upsample_bilinear2d_aa in float32; uint8 images are computed in float32 and
// rounded half to even, as torchvision does for uint8 tensors. The passes run
// in the native image module when it is built (bit-identical; see
// native/image/resize.cpp), here otherwise.
// No engine import: loader workers run this.
import type { Image, Transform, TransformSpec } from './transforms.js';
import { resizedCrop } from './transforms.js';
import { nativeImageModule } from './native-image.js';

/** Output [height, width] of torchvision's Resize for an input of height × width. */
export function resizedSize(height: number, width: number, size: number | [number, number], maxSize: number | null = null): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  const wide = width > height;
  const short = wide ? height : width;
  const long = wide ? width : height;
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (maxSize !== null && newLong > maxSize) {
    newShort = Math.trunc((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return wide ? [newShort, newLong] : [newLong, newShort];
}

/** Taps of each output pixel along one axis: its first input index, tap count and normalized weights. */
export interface AaAxis { start: Int32Array; count: Int32Array; weights: Float32Array; taps: number }

const f = Math.fround;

/** The antialiased bilinear taps for inSize → outSize (libtorch's _compute_weights_aa in float32). */
function antialiasAxis(inSize: number, outSize: number): AaAxis {
  const key = inSize * 65536 + outSize;
  const cached = aaCache.get(key);
  if (cached !== undefined) return cached;
  const scale = f(inSize / outSize);
  const support = scale >= 1 ? f(scale) : 1; // bilinear: half the 2-tap window, stretched when shrinking
  const invScale = scale >= 1 ? f(1 / scale) : 1;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = f(scale * f(o + 0.5));
    const lo = Math.max(Math.trunc(f(f(center - support) + 0.5)), 0);
    const n = Math.min(Math.trunc(f(f(center + support) + 0.5)), inSize) - lo;
    start[o] = lo;
    count[o] = n;
    let total = 0;
    for (let j = 0; j < n; j++) {
      const x = Math.abs(f(f(f(j + lo) - center + 0.5) * invScale));
      const w = x < 1 ? f(1 - x) : 0;
      weights[o * taps + j] = w;
      total = f(total + w);
    }
    if (total !== 0) for (let j = 0; j < n; j++) weights[o * taps + j] = f(weights[o * taps + j] / total);
  }
  const axis = { start, count, weights, taps };
  if (aaCache.size > 4096) aaCache.clear();
  aaCache.set(key, axis);
  return axis;
}

const aaCache = new Map<number, AaAxis>();

/** Resamples each of `rows` rows of `inSize` samples to `outSize` (the width pass). */
function resampleRows(src: Float32Array, dst: Float32Array, axis: AaAxis, rows: number, inSize: number, outSize: number): void {
  const { start, count, weights, taps } = axis;
  for (let r = 0; r < rows; r++) {
    const srcRow = r * inSize;
    const dstRow = r * outSize;
    for (let o = 0; o < outSize; o++) {
      const base = srcRow + start[o];
      const w = o * taps;
      let acc = 0;
      for (let j = 0, n = count[o]; j < n; j++) acc = f(acc + f(src[base + j] * weights[w + j]));
      dst[dstRow + o] = acc;
    }
  }
}

/**
 * Resamples the `inSize` rows of each plane to `outSize` rows of `width` samples (the height pass):
 * whole rows are accumulated tap by tap, reading memory in order; each sample still sums its taps
 * in ascending order in float32 (dst is float32), as the column-by-column loop would.
 */
function resampleColumns(src: Float32Array, dst: Float32Array, axis: AaAxis, planes: number, inSize: number, outSize: number, width: number): void {
  const { start, count, weights, taps } = axis;
  for (let p = 0; p < planes; p++) {
    for (let o = 0; o < outSize; o++) {
      const dstRow = (p * outSize + o) * width;
      for (let j = 0, n = count[o]; j < n; j++) {
        const w = weights[o * taps + j];
        const srcRow = (p * inSize + start[o] + j) * width;
        if (j === 0) for (let x = 0; x < width; x++) dst[dstRow + x] = src[srcRow + x] * w;
        else for (let x = 0; x < width; x++) dst[dstRow + x] += f(src[srcRow + x] * w);
      }
    }
  }
}

/** Antialiased bilinear resize of a whole image to outH × outW (the native passes when built: same bits, ~5× faster). */
export function resizeAntialiased(img: Image, outH: number, outW: number, useNative = true): Image {
  const { channels, height, width } = img;
  const native = useNative ? nativeImageModule() : null;
  if (native !== null) {
    const xs = outW !== width ? antialiasAxis(width, outW) : null;
    const ys = outH !== height ? antialiasAxis(height, outH) : null;
    return { data: native.resampleAntialiased(img.data, channels, height, width, outH, outW, xs, ys), channels, height: outH, width: outW };
  }
  let data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
  let w = width;
  if (outW !== width) {
    const next = new Float32Array(channels * height * outW);
    resampleRows(data, next, antialiasAxis(width, outW), channels * height, width, outW);
    data = next;
    w = outW;
  }
  if (outH !== height) {
    const next = new Float32Array(channels * outH * w);
    resampleColumns(data, next, antialiasAxis(height, outH), channels, height, outH, w);
    data = next;
  }
  if (img.data instanceof Float32Array) return { data, channels, height: outH, width: outW };
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    let r = Math.floor(v + 0.5);
    if (r - v === 0.5 && (r & 1) !== 0) r -= 1; // half to even, like torch.round
    out[i] = r < 0 ? 0 : r > 255 ? 255 : r;
  }
  return { data: out, channels, height: outH, width: outW };
}

export interface ResizeOptions {
  /** Bound on the longer edge when `size` is one number (torchvision's max_size). */
  maxSize?: number | null;
  /** Antialiased bilinear (default true, torchvision's default); false: plain 2-tap bilinear. */
  antialias?: boolean;
}

/**
 * torchvision's Resize (bilinear): a number resizes the shorter edge to it
 * keeping the aspect ratio, [h, w] resizes to exactly that. An image already
 * at the target size passes through untouched.
 */
export class Resize implements Transform {
  readonly size: number | [number, number];
  readonly maxSize: number | null;
  readonly antialias: boolean;
  constructor(size: number | [number, number], options: ResizeOptions = {}) {
    const sizes = typeof size === 'number' ? [size] : size;
    if (!Array.isArray(sizes) || sizes.length < 1 || sizes.length > 2 || !sizes.every((v) => Number.isInteger(v) && v > 0)) {
      throw new RangeError(`Resize: size must be a positive integer or [height, width] of positive integers, got ${JSON.stringify(size)}`);
    }
    this.size = typeof size === 'number' ? size : [size[0], size[1] ?? size[0]];
    this.maxSize = options.maxSize ?? null;
    if (this.maxSize !== null) {
      if (typeof size !== 'number') throw new RangeError('Resize: maxSize applies only when size is a single number (the shorter edge)');
      if (!(Number.isInteger(this.maxSize) && this.maxSize > size)) throw new RangeError(`Resize: maxSize must be an integer greater than size ${size}, got ${this.maxSize}`);
    }
    this.antialias = options.antialias ?? true;
  }
  apply(img: Image): Image {
    const [h, w] = resizedSize(img.height, img.width, this.size, this.maxSize);
    if (h === img.height && w === img.width) return img;
    if (h < 1 || w < 1) throw new RangeError(`Resize: a ${img.height}×${img.width} image would become ${h}×${w}`);
    return this.antialias ? resizeAntialiased(img, h, w) : resizedCrop(img, 0, 0, img.height, img.width, h, w);
  }
  spec(): TransformSpec { return { type: 'Resize', size: this.size, maxSize: this.maxSize, antialias: this.antialias }; }
}
