// Image transforms on plain typed arrays (CHW, uint8 or float32), seeded and
// reproducible. They run as well in worker threads as in the main one, and
// each has a JSON spec (`spec()` / `transformFromSpec`) so that a loader can
// rebuild the same pipeline inside its workers.
//
// Semantics follow torchvision's tensor transforms: RandomResizedCrop draws its
// box with torchvision's algorithm (10 attempts with a log-uniform aspect ratio,
// then the center-crop fallback) and resizes bilinearly with
// align_corners=False and no antialiasing (uint8 results are rounded half to
// even, like torch.round). Results agree with libtorch's upsample_bilinear2d to
// float32 rounding (not bit for bit), so a rounded uint8 value on a .5 boundary
// can differ by 1.
// No engine import here: worker threads load this module and must stay light.
import { Rng } from './rng.js';
import { RandAugment } from './randaugment.js';
import { Resize } from './resize.js';

export interface Image {
  data: Uint8Array | Float32Array;
  channels: number;
  height: number;
  width: number;
}

export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

export type TransformSpec =
  | { type: 'Compose'; transforms: TransformSpec[] }
  | { type: 'ToTensor' }
  | { type: 'Normalize'; mean: number[]; std: number[] }
  | { type: 'RandomResizedCrop'; size: [number, number]; scale: [number, number]; ratio: [number, number] }
  | { type: 'RandomHorizontalFlip'; p: number }
  | { type: 'RandomCrop'; size: [number, number]; padding: [number, number, number, number]; paddingMode: PaddingMode; fill: number; padIfNeeded: boolean }
  | { type: 'CenterCrop'; size: [number, number] }
  | { type: 'Resize'; size: number | [number, number]; maxSize: number | null; antialias: boolean }
  | { type: 'RandAugment'; numOps: number; magnitude: number; numMagnitudeBins: number; fill: number[] | null };

export interface Transform {
  apply(image: Image, rng: Rng): Image;
  spec(): TransformSpec;
}

function pair(size: number | [number, number], what: string): [number, number] {
  const s: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  if (!s.every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`${what}: size must be positive integers, got ${JSON.stringify(size)}`);
  return s;
}

export function makeImage(data: Uint8Array | Float32Array, channels: number, height: number, width: number): Image {
  if (data.length !== channels * height * width) {
    throw new RangeError(`makeImage: ${data.length} values for a ${channels}×${height}×${width} image`);
  }
  return { data, channels, height, width };
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

function newLike(img: Image, length: number): Uint8Array | Float32Array {
  return img.data instanceof Uint8Array ? new Uint8Array(length) : new Float32Array(length);
}

/** Copies the box [top, top+h) × [left, left+w), which must lie inside the image. */
export function crop(img: Image, top: number, left: number, h: number, w: number): Image {
  const { channels, height, width, data } = img;
  if (top < 0 || left < 0 || top + h > height || left + w > width || h <= 0 || w <= 0) {
    throw new RangeError(`crop: box (${top}, ${left}, ${h}, ${w}) is not inside a ${height}×${width} image`);
  }
  const out = newLike(img, channels * h * w);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      const src = c * height * width + (top + y) * width + left;
      out.set(data.subarray(src, src + w), (c * h + y) * w);
    }
  }
  return { data: out, channels, height: h, width: w };
}

/**
 * Source indices and weights along one axis, in float32 arithmetic exactly as
 * PyTorch computes them (area_pixel_compute_scale / _source_index with
 * align_corners=False): scale = in / out, src = max(0, scale·(dst + ½) − ½).
 * Indices are relative to the crop's start. Cached: a loader sees few sizes.
 */
export function bilinearAxis(inSize: number, outSize: number): Axis {
  const key = inSize * 65536 + outSize;
  let axis = axisCache.get(key);
  if (axis !== undefined) return axis;
  const f = Math.fround;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  const scale = f(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    let src = f(f(scale * f(o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    const lambda = Math.min(Math.max(f(src - lo), 0), 1);
    l1[o] = lambda;
    l0[o] = f(1 - lambda);
  }
  axis = { i0, i1, l0, l1 };
  if (axisCache.size > 4096) axisCache.clear();
  axisCache.set(key, axis);
  return axis;
}

const axisCache = new Map<number, Axis>();

export type Axis = { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array };

/** w0·a + w1·b rounded to float32 at each step, like PyTorch's float kernel. */
function lerp32(w0: number, w1: number, a: number, b: number): number {
  return Math.fround(Math.fround(a * w0) + Math.fround(b * w1));
}

function bilinearU8(data: Uint8Array, out: Uint8Array, channels: number, height: number, width: number, top: number, left: number, outH: number, outW: number, ys: Axis, xs: Axis): void {
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width + left;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = plane + (top + ys.i0[oy]) * width;
      const r1 = plane + (top + ys.i1[oy]) * width;
      const ly1 = ys.l1[oy];
      const ly0 = ys.l0[oy];
      const base = (c * outH + oy) * outW;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = xs.i0[ox];
        const x1 = xs.i1[ox];
        const lx1 = xs.l1[ox];
        const lx0 = xs.l0[ox];
        const v = lerp32(ly0, ly1, lerp32(lx0, lx1, data[r0 + x0], data[r0 + x1]), lerp32(lx0, lx1, data[r1 + x0], data[r1 + x1]));
        let r = Math.floor(v + 0.5);
        if (r - v === 0.5 && (r & 1) !== 0) r -= 1; // half to even, like torch.round
        out[base + ox] = r;
      }
    }
  }
}

function bilinearF32(data: Float32Array, out: Float32Array, channels: number, height: number, width: number, top: number, left: number, outH: number, outW: number, ys: Axis, xs: Axis): void {
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width + left;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = plane + (top + ys.i0[oy]) * width;
      const r1 = plane + (top + ys.i1[oy]) * width;
      const ly1 = ys.l1[oy];
      const ly0 = ys.l0[oy];
      const base = (c * outH + oy) * outW;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = xs.i0[ox];
        const x1 = xs.i1[ox];
        const lx1 = xs.l1[ox];
        const lx0 = xs.l0[ox];
        out[base + ox] = lerp32(ly0, ly1, lerp32(lx0, lx1, data[r0 + x0], data[r0 + x1]), lerp32(lx0, lx1, data[r1 + x0], data[r1 + x1]));
      }
    }
  }
}

/**
 * Bilinear resize (align_corners=False, no antialiasing) of the box
 * [top, top+h) × [left, left+w) to outH × outW, without copying the box first.
 */
export function resizedCrop(img: Image, top: number, left: number, h: number, w: number, outH: number, outW: number): Image {
  const { channels, height, width, data } = img;
  if (top < 0 || left < 0 || top + h > height || left + w > width || h <= 0 || w <= 0) {
    throw new RangeError(`resizedCrop: box (${top}, ${left}, ${h}, ${w}) is not inside a ${height}×${width} image`);
  }
  if (h === outH && w === outW) return crop(img, top, left, h, w);
  const ys = bilinearAxis(h, outH);
  const xs = bilinearAxis(w, outW);
  const out = newLike(img, channels * outH * outW);
  // two monomorphic kernels: mixing uint8 and float32 arrays in one loop is several times slower in V8
  if (data instanceof Uint8Array) bilinearU8(data, out as Uint8Array, channels, height, width, top, left, outH, outW, ys, xs);
  else bilinearF32(data, out as Float32Array, channels, height, width, top, left, outH, outW, ys, xs);
  return { data: out, channels, height: outH, width: outW };
}

function padIndex(i: number, n: number, mode: PaddingMode): number {
  if (i >= 0 && i < n) return i;
  if (mode === 'edge') return i < 0 ? 0 : n - 1;
  if (mode === 'reflect') {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    let k = ((i % period) + period) % period;
    if (k >= n) k = period - k;
    return k;
  }
  // symmetric: the edge pixel is repeated
  const period = 2 * n;
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - 1 - k;
  return k;
}

/** Pads by (left, top, right, bottom) with the given mode (fill for 'constant'). */
export function pad(img: Image, left: number, top: number, right: number, bottom: number, mode: PaddingMode = 'constant', fill = 0): Image {
  const { channels, height, width, data } = img;
  if (mode === 'reflect' && (left >= width || right >= width || top >= height || bottom >= height)) {
    throw new RangeError(`pad: reflect padding (${left}, ${top}, ${right}, ${bottom}) must be smaller than the ${height}×${width} image`);
  }
  const H = height + top + bottom;
  const W = width + left + right;
  const out = newLike(img, channels * H * W);
  const xs = new Int32Array(W);
  for (let x = 0; x < W; x++) xs[x] = mode === 'constant' ? (x - left >= 0 && x - left < width ? x - left : -1) : padIndex(x - left, width, mode);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < H; y++) {
      const sy = y - top;
      const base = (c * H + y) * W;
      if (mode === 'constant') {
        if (sy < 0 || sy >= height) { out.fill(fill, base, base + W); continue; }
      }
      const row = c * height * width + (mode === 'constant' ? sy : padIndex(sy, height, mode)) * width;
      for (let x = 0; x < W; x++) out[base + x] = xs[x] < 0 ? fill : data[row + xs[x]];
    }
  }
  return { data: out, channels, height: H, width: W };
}

export function horizontalFlip(img: Image): Image {
  const { channels, height, width, data } = img;
  const out = data instanceof Uint8Array ? flipRows(data, new Uint8Array(data.length), channels * height, width) : flipRows(data, new Float32Array(data.length), channels * height, width);
  return { data: out, channels, height, width };
}

function flipRows<A extends Uint8Array | Float32Array>(data: A, out: A, rows: number, width: number): A {
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    const last = base + width - 1;
    for (let x = 0; x < width; x++) out[base + x] = data[last - x];
  }
  return out;
}

export class Compose implements Transform {
  constructor(readonly transforms: Transform[]) {}
  apply(image: Image, rng: Rng): Image {
    let img = image;
    for (const t of this.transforms) img = t.apply(img, rng);
    return img;
  }
  spec(): TransformSpec { return { type: 'Compose', transforms: this.transforms.map((t) => t.spec()) }; }
}

/** uint8 → float32 in [0, 1] (x / 255); float images pass through. */
export class ToTensor implements Transform {
  apply(img: Image): Image {
    if (!(img.data instanceof Uint8Array)) return img;
    const src = img.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] / 255;
    return { data: out, channels: img.channels, height: img.height, width: img.width };
  }
  spec(): TransformSpec { return { type: 'ToTensor' }; }
}

/** (x − mean[c]) / std[c] per channel, in float32 like torchvision (float input required). */
export class Normalize implements Transform {
  private readonly mean: Float32Array;
  private readonly std: Float32Array;
  constructor(mean: number[], std: number[]) {
    if (mean.length !== std.length || mean.length === 0) throw new RangeError(`Normalize: mean and std must have the same, non-zero length (${mean.length} vs ${std.length})`);
    if (std.some((s) => !(s !== 0 && Number.isFinite(s)))) throw new RangeError(`Normalize: std must be finite and non-zero, got [${std.join(', ')}]`);
    this.mean = Float32Array.from(mean);
    this.std = Float32Array.from(std);
  }
  apply(img: Image): Image {
    if (img.data instanceof Uint8Array) throw new TypeError('Normalize: expects a float image; put ToTensor before it');
    const { channels, height, width, data } = img;
    if (this.mean.length !== channels && this.mean.length !== 1) throw new RangeError(`Normalize: ${this.mean.length} means for a ${channels}-channel image`);
    const plane = height * width;
    const out = new Float32Array(data.length);
    for (let c = 0; c < channels; c++) {
      const m = this.mean[this.mean.length === 1 ? 0 : c];
      const s = this.std[this.std.length === 1 ? 0 : c];
      for (let k = c * plane, end = k + plane; k < end; k++) out[k] = Math.fround(data[k] - m) / s;
    }
    return { data: out, channels, height, width };
  }
  spec(): TransformSpec { return { type: 'Normalize', mean: Array.from(this.mean), std: Array.from(this.std) }; }
}

/** Python's round(): half to even. */
const pyRound = roundHalfEven;

export class RandomResizedCrop implements Transform {
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  constructor(size: number | [number, number], scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]) {
    this.size = pair(size, 'RandomResizedCrop');
    if (!(scale[0] <= scale[1] && scale[0] > 0)) throw new RangeError(`RandomResizedCrop: scale must satisfy 0 < min ≤ max, got [${scale.join(', ')}]`);
    if (!(ratio[0] <= ratio[1] && ratio[0] > 0)) throw new RangeError(`RandomResizedCrop: ratio must satisfy 0 < min ≤ max, got [${ratio.join(', ')}]`);
    this.scale = [scale[0], scale[1]];
    this.ratio = [ratio[0], ratio[1]];
  }

  /** torchvision's RandomResizedCrop.get_params: returns [top, left, h, w]. */
  static getParams(height: number, width: number, scale: [number, number], ratio: [number, number], rng: Rng): [number, number, number, number] {
    const area = height * width;
    const logLo = Math.log(ratio[0]);
    const logHi = Math.log(ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * rng.uniform(scale[0], scale[1]);
      const aspect = Math.exp(rng.uniform(logLo, logHi));
      const w = pyRound(Math.sqrt(targetArea * aspect));
      const h = pyRound(Math.sqrt(targetArea / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        const i = rng.int(0, height - h + 1);
        const j = rng.int(0, width - w + 1);
        return [i, j, h, w];
      }
    }
    const inRatio = width / height;
    let w: number;
    let h: number;
    if (inRatio < Math.min(ratio[0], ratio[1])) {
      w = width;
      h = pyRound(w / Math.min(ratio[0], ratio[1]));
    } else if (inRatio > Math.max(ratio[0], ratio[1])) {
      h = height;
      w = pyRound(h * Math.max(ratio[0], ratio[1]));
    } else {
      w = width;
      h = height;
    }
    return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
  }

  apply(img: Image, rng: Rng): Image {
    const [top, left, h, w] = RandomResizedCrop.getParams(img.height, img.width, this.scale, this.ratio, rng);
    return resizedCrop(img, top, left, h, w, this.size[0], this.size[1]);
  }
  spec(): TransformSpec { return { type: 'RandomResizedCrop', size: this.size, scale: this.scale, ratio: this.ratio }; }
}

export class RandomHorizontalFlip implements Transform {
  constructor(readonly p = 0.5) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`RandomHorizontalFlip: p must be in [0, 1], got ${p}`);
  }
  apply(img: Image, rng: Rng): Image {
    return rng.random() < this.p ? horizontalFlip(img) : img;
  }
  spec(): TransformSpec { return { type: 'RandomHorizontalFlip', p: this.p }; }
}

export interface RandomCropOptions {
  /** One value for all sides, [left/right, top/bottom], or [left, top, right, bottom]. */
  padding?: number | [number, number] | [number, number, number, number];
  paddingMode?: PaddingMode;
  fill?: number;
  padIfNeeded?: boolean;
}

export class RandomCrop implements Transform {
  readonly size: [number, number];
  readonly padding: [number, number, number, number];
  readonly paddingMode: PaddingMode;
  readonly fill: number;
  readonly padIfNeeded: boolean;
  constructor(size: number | [number, number], opts: RandomCropOptions = {}) {
    this.size = pair(size, 'RandomCrop');
    const p = opts.padding ?? 0;
    this.padding = typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : [p[0], p[1], p[2], p[3]];
    if (!this.padding.every((v) => Number.isInteger(v) && v >= 0)) throw new RangeError(`RandomCrop: padding must be non-negative integers, got ${JSON.stringify(p)}`);
    this.paddingMode = opts.paddingMode ?? 'constant';
    if (!['constant', 'edge', 'reflect', 'symmetric'].includes(this.paddingMode)) throw new RangeError(`RandomCrop: unknown padding mode ${this.paddingMode}`);
    this.fill = opts.fill ?? 0;
    this.padIfNeeded = opts.padIfNeeded ?? false;
  }
  apply(image: Image, rng: Rng): Image {
    let img = image;
    const [l, t, r, b] = this.padding;
    if (l || t || r || b) img = pad(img, l, t, r, b, this.paddingMode, this.fill);
    const [th, tw] = this.size;
    if (this.padIfNeeded && img.width < tw) img = pad(img, tw - img.width, 0, tw - img.width, 0, this.paddingMode, this.fill);
    if (this.padIfNeeded && img.height < th) img = pad(img, 0, th - img.height, 0, th - img.height, this.paddingMode, this.fill);
    if (img.height < th || img.width < tw) {
      throw new RangeError(`RandomCrop: crop ${th}×${tw} is larger than the (padded) ${img.height}×${img.width} image`);
    }
    if (img.height === th && img.width === tw) return img;
    const i = rng.int(0, img.height - th + 1);
    const j = rng.int(0, img.width - tw + 1);
    return crop(img, i, j, th, tw);
  }
  spec(): TransformSpec {
    return { type: 'RandomCrop', size: this.size, padding: this.padding, paddingMode: this.paddingMode, fill: this.fill, padIfNeeded: this.padIfNeeded };
  }
}

/** torchvision's CenterCrop: offsets round((H − h) / 2); pads with zeros when the crop is larger. */
export class CenterCrop implements Transform {
  readonly size: [number, number];
  constructor(size: number | [number, number]) { this.size = pair(size, 'CenterCrop'); }
  apply(image: Image): Image {
    let img = image;
    const [th, tw] = this.size;
    if (th > img.height || tw > img.width) {
      const padL = tw > img.width ? Math.floor((tw - img.width) / 2) : 0;
      const padT = th > img.height ? Math.floor((th - img.height) / 2) : 0;
      const padR = tw > img.width ? Math.floor((tw - img.width + 1) / 2) : 0;
      const padB = th > img.height ? Math.floor((th - img.height + 1) / 2) : 0;
      img = pad(img, padL, padT, padR, padB, 'constant', 0);
      if (img.height === th && img.width === tw) return img;
    }
    const top = pyRound((img.height - th) / 2);
    const left = pyRound((img.width - tw) / 2);
    return crop(img, top, left, th, tw);
  }
  spec(): TransformSpec { return { type: 'CenterCrop', size: this.size }; }
}

/** Rebuilds a transform from its spec (used by loader workers). */
export function transformFromSpec(spec: TransformSpec): Transform {
  switch (spec.type) {
    case 'Compose': return new Compose(spec.transforms.map(transformFromSpec));
    case 'ToTensor': return new ToTensor();
    case 'Normalize': return new Normalize(spec.mean, spec.std);
    case 'RandomResizedCrop': return new RandomResizedCrop(spec.size, spec.scale, spec.ratio);
    case 'RandomHorizontalFlip': return new RandomHorizontalFlip(spec.p);
    case 'RandomCrop': return new RandomCrop(spec.size, { padding: spec.padding, paddingMode: spec.paddingMode, fill: spec.fill, padIfNeeded: spec.padIfNeeded });
    case 'CenterCrop': return new CenterCrop(spec.size);
    case 'Resize': return new Resize(spec.size, { maxSize: spec.maxSize, antialias: spec.antialias });
    case 'RandAugment': return new RandAugment({ numOps: spec.numOps, magnitude: spec.magnitude, numMagnitudeBins: spec.numMagnitudeBins, fill: spec.fill });
    default: throw new TypeError(`transformFromSpec: unknown transform ${JSON.stringify((spec as { type?: unknown }).type)}`);
  }
}
