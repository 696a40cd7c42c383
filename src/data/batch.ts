// Builds one batch (transforms + stacking) on plain typed arrays; shared by the
// in-process loader and its worker threads.
//
// Fast path: a pipeline ending in ToTensor (+ one Normalize) is split into its
// uint8 part and a per-channel 256-entry lookup table holding exactly the
// float32 values ToTensor and Normalize would compute, written straight into
// the batch. RandomResizedCrop (+ RandomHorizontalFlip) at its head is fused
// into one resize kernel that reads the dataset in place and flips by
// mirroring the write index. Results are bit-identical to applying the
// transforms one by one (test/data-batch-golden.test.ts pins them).
import { Rng, mixSeed } from './rng.js';
import { Axis, bilinearAxis, CenterCrop, Compose, Image, Normalize, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, ToTensor, Transform } from './transforms.js';
import { RandAugment } from './randaugment.js';
import { Resize } from './resize.js';
import { readImageFile } from './image-files.js';

/** Same-size images held in one array. */
export interface ArraySource {
  images: Uint8Array;
  labels: Int32Array;
  channels: number;
  height: number;
  width: number;
}

/** Image files decoded as batches need them (any sizes; the transform must bring them to one). */
export interface FileSource {
  files: string[];
  labels: Int32Array;
  channels: 1 | 3;
}

export type ImageSource = ArraySource | FileSource;

export const isFileSource = (src: ImageSource): src is FileSource => 'files' in src;

export interface RawBatch {
  /** float32 [B, C, H, W] */
  x: Float32Array;
  /** labels [B] */
  y: Int32Array;
  shape: [number, number, number, number];
}

/** The random stream of one batch depends only on (seed, epoch, batch index), never on which worker builds it. */
export function batchRng(seed: number, epoch: number, batchIndex: number): Rng {
  return new Rng(mixSeed(seed, epoch, batchIndex));
}

/** A pipeline split for the fast path; null when it does not have the shape the fast path handles. */
interface Plan {
  /** RandomResizedCrop fused (with the flip) when it is the whole uint8 part; then `middle` is empty. */
  crop: RandomResizedCrop | null;
  flip: RandomHorizontalFlip | null;
  /** uint8 → uint8 transforms applied one by one. */
  middle: Transform[];
  /** [mean, std] of the final Normalize, if any. */
  normalize: [number[], number[]] | null;
}

function flatten(t: Transform, out: Transform[]): Transform[] {
  if (t instanceof Compose) for (const s of t.transforms) flatten(s, out);
  else out.push(t);
  return out;
}

const UINT8_TRANSFORMS = [RandomResizedCrop, RandomHorizontalFlip, RandomCrop, CenterCrop, RandAugment, Resize];

const plans = new WeakMap<Transform, Plan | null>();

function planOf(transform: Transform | null): Plan | null {
  if (transform === null) return { crop: null, flip: null, middle: [], normalize: null };
  if (plans.has(transform)) return plans.get(transform)!;
  const list = flatten(transform, []);
  let plan: Plan | null = null;
  const t = list.findIndex((s) => s instanceof ToTensor);
  const tail = t < 0 ? [] : list.slice(t + 1);
  const uint8Part = t < 0 ? list : list.slice(0, t);
  // only the built-in uint8 → uint8 transforms (a user's transform may return float images)
  const known = uint8Part.every((s) => UINT8_TRANSFORMS.some((k) => s instanceof k));
  if (known && (tail.length === 0 || (tail.length === 1 && tail[0] instanceof Normalize))) {
    const spec = tail.length === 1 ? tail[0].spec() : null;
    const normalize: [number[], number[]] | null = spec && spec.type === 'Normalize' ? [spec.mean, spec.std] : null;
    // the fused head only when it is the whole uint8 part (the seed's pipeline); otherwise one by one
    const head = uint8Part[0] instanceof RandomResizedCrop && (uint8Part.length === 1 || (uint8Part.length === 2 && uint8Part[1] instanceof RandomHorizontalFlip));
    plan = head
      ? { crop: uint8Part[0] as RandomResizedCrop, flip: (uint8Part[1] as RandomHorizontalFlip | undefined) ?? null, middle: [], normalize }
      : { crop: null, flip: null, middle: uint8Part, normalize };
  }
  plans.set(transform, plan);
  return plan;
}

/** value → float32 table per channel, exactly ToTensor's x / 255 then Normalize's (x − mean) / std. */
function lookupTable(channels: number, normalize: [number[], number[]] | null): Float32Array {
  const lut = new Float32Array(channels * 256);
  if (normalize !== null && normalize[0].length !== channels && normalize[0].length !== 1) {
    throw new RangeError(`Normalize: ${normalize[0].length} means for a ${channels}-channel image`);
  }
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) {
      const scaled = Math.fround(v / 255);
      if (normalize === null) { lut[c * 256 + v] = scaled; continue; }
      const m = normalize[0][normalize[0].length === 1 ? 0 : c];
      const s = normalize[1][normalize[1].length === 1 ? 0 : c];
      lut[c * 256 + v] = Math.fround(scaled - m) / s;
    }
  }
  return lut;
}

function shapeError(src: ImageSource, idx: number, c: number, h: number, w: number, shape: number[]): RangeError {
  const what = isFileSource(src) ? `image ${idx} (${src.files[idx]})` : `image ${idx}`;
  const hint = isFileSource(src) ? ' (images of different sizes need a Resize, CenterCrop or RandomResizedCrop to one size in the transform)' : '';
  return new RangeError(`DataLoader: ${what} came out of the transform as ${c}×${h}×${w}, ` +
    `but the batch's first image is ${shape[1]}×${shape[2]}×${shape[3]}${hint}`);
}

/** A uint8 image where it lies: `data` from `base` (an array dataset is read in place). */
interface Pixels { data: Uint8Array; base: number; channels: number; height: number; width: number }

export function buildBatch(src: ImageSource, indices: ArrayLike<number>, transform: Transform | null, rng: Rng): RawBatch {
  const pixelsAt = pixelReader(src);
  const plan = planOf(transform);
  if (plan !== null) return buildPlanned(src, indices, plan, rng, pixelsAt);
  return buildGeneric(src, indices, transform!, rng, (idx) => {
    const p = pixelsAt(idx);
    return { data: p.data.subarray(p.base, p.base + p.channels * p.height * p.width), channels: p.channels, height: p.height, width: p.width };
  });
}

function pixelReader(src: ImageSource): (idx: number) => Pixels {
  if (isFileSource(src)) return (idx) => ({ ...readImageFile(src.files[idx], src.channels), base: 0 });
  const per = src.channels * src.height * src.width;
  return (idx) => ({ data: src.images, base: idx * per, channels: src.channels, height: src.height, width: src.width });
}

/** Image by image: imageAt(idx) read, the transform applied, stacked as float32. */
function buildGeneric(src: ImageSource, indices: ArrayLike<number>, transform: Transform, rng: Rng, imageAt: (idx: number) => Image): RawBatch {
  const B = indices.length;
  let x: Float32Array | null = null;
  let shape: [number, number, number, number] = [B, 0, 0, 0];
  let size = 0;
  const y = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const idx = indices[b];
    const image = imageAt(idx);
    const out = transform.apply(image, rng);
    if (x === null) {
      shape = [B, out.channels, out.height, out.width];
      size = out.channels * out.height * out.width;
      x = new Float32Array(B * size);
    } else if (out.channels !== shape[1] || out.height !== shape[2] || out.width !== shape[3]) {
      throw shapeError(src, idx, out.channels, out.height, out.width, shape);
    }
    const offset = b * size;
    if (out.data instanceof Float32Array) x.set(out.data, offset);
    else for (let k = 0; k < size; k++) x[offset + k] = out.data[k] / 255; // uint8 → float on the fly
    y[b] = src.labels[idx];
  }
  return { x: x ?? new Float32Array(0), y, shape };
}

function buildPlanned(src: ImageSource, indices: ArrayLike<number>, plan: Plan, rng: Rng, pixelsAt: (idx: number) => Pixels): RawBatch {
  const B = indices.length;
  const y = new Int32Array(B);
  let x: Float32Array | null = null;
  let shape: [number, number, number, number] = [B, 0, 0, 0];
  let size = 0;
  let lut: Float32Array | null = null;
  for (let b = 0; b < B; b++) {
    const idx = indices[b];
    y[b] = src.labels[idx];
    const pixels = pixelsAt(idx);
    let { data, base, channels: c, height: h, width: w } = pixels;
    if (plan.crop !== null) {
      // the fused head is the whole uint8 part: write straight into the batch
      const [top, left, ch, cw] = RandomResizedCrop.getParams(h, w, plan.crop.scale, plan.crop.ratio, rng);
      const flip = plan.flip !== null && rng.random() < plan.flip.p;
      const [outH, outW] = plan.crop.size;
      if (x === null) { shape = [B, c, outH, outW]; size = c * outH * outW; x = new Float32Array(B * size); lut = lookupTable(c, plan.normalize); }
      resizedCropInto(data, base, c, h, w, top, left, ch, cw, outH, outW, flip, x, b * size, lut!);
      continue;
    }
    if (plan.middle.length > 0) {
      let img: Image = { data: data.subarray(base, base + c * h * w), channels: c, height: h, width: w };
      for (const t of plan.middle) img = t.apply(img, rng);
      data = img.data as Uint8Array; base = 0; c = img.channels; h = img.height; w = img.width;
    }
    if (x === null) { shape = [B, c, h, w]; size = c * h * w; x = new Float32Array(B * size); lut = lookupTable(c, plan.normalize); }
    else if (c !== shape[1] || h !== shape[2] || w !== shape[3]) throw shapeError(src, idx, c, h, w, shape);
    const plane = h * w;
    const offset = b * size;
    for (let ci = 0; ci < c; ci++) {
      const l = ci * 256;
      const o = offset + ci * plane;
      const s = base + ci * plane;
      for (let k = 0; k < plane; k++) x[o + k] = lut![l + data[s + k]];
    }
  }
  return { x: x ?? new Float32Array(0), y, shape };
}

/** w0·a + w1·b rounded to float32 at each step, like PyTorch's float kernel (same as transforms.ts). */
function lerp32(w0: number, w1: number, a: number, b: number): number {
  return Math.fround(Math.fround(a * w0) + Math.fround(b * w1));
}

/** Bilinear value (uint8, rounded half to even) of the crop, or the plain copy when the crop has the output size. */
function resizedCropInto(
  data: Uint8Array, base: number, channels: number, height: number, width: number,
  top: number, left: number, h: number, w: number, outH: number, outW: number, flip: boolean,
  x: Float32Array, offset: number, lut: Float32Array,
): void {
  const plane = height * width;
  if (h === outH && w === outW) {
    for (let c = 0; c < channels; c++) {
      const l = c * 256;
      for (let oy = 0; oy < outH; oy++) {
        const row = base + c * plane + (top + oy) * width + left;
        const dst = offset + (c * outH + oy) * outW;
        if (flip) for (let ox = 0; ox < outW; ox++) x[dst + outW - 1 - ox] = lut[l + data[row + ox]];
        else for (let ox = 0; ox < outW; ox++) x[dst + ox] = lut[l + data[row + ox]];
      }
    }
    return;
  }
  const ys = rowsOf(bilinearAxis(h, outH));
  const xs = bilinearAxis(w, outW);
  const xi0 = xs.i0, xi1 = xs.i1, xl0 = xs.l0, xl1 = xs.l1;
  const ly0 = ys.axis.l0, ly1 = ys.axis.l1, s0 = ys.s0, s1 = ys.s1;
  const rows = ys.rows.length;
  if (scratch.length < rows * outW) scratch = new Float32Array(rows * outW);
  const tmp = scratch;
  for (let c = 0; c < channels; c++) {
    const l = c * 256;
    const p = base + c * plane + left;
    // separable: each source row is interpolated horizontally once (the same float32 values as per pixel)
    for (let r = 0; r < rows; r++) {
      const row = p + (top + ys.rows[r]) * width;
      const t = r * outW;
      for (let ox = 0; ox < outW; ox++) tmp[t + ox] = lerp32(xl0[ox], xl1[ox], data[row + xi0[ox]], data[row + xi1[ox]]);
    }
    for (let oy = 0; oy < outH; oy++) {
      const a = s0[oy] * outW;
      const b = s1[oy] * outW;
      const w0 = ly0[oy];
      const w1 = ly1[oy];
      const dst = offset + (c * outH + oy) * outW;
      const step = flip ? -1 : 1;
      let o = flip ? dst + outW - 1 : dst;
      for (let ox = 0; ox < outW; ox++, o += step) {
        const v = lerp32(w0, w1, tmp[a + ox], tmp[b + ox]);
        let r = (v + 0.5) | 0; // floor, as v ≥ 0
        if (r - v === 0.5 && (r & 1) !== 0) r -= 1; // half to even, like torch.round
        x[o] = lut[l + r];
      }
    }
  }
}

/** Scratch rows of the separable resize (one per thread, reused across images). */
let scratch = new Float32Array(0);

interface Rows { axis: Axis; rows: Int32Array; s0: Int32Array; s1: Int32Array }
const rowCache = new WeakMap<Axis, Rows>();

/** The distinct source rows an axis reads, and for each output row the slots of its two rows. */
function rowsOf(axis: Axis): Rows {
  let r = rowCache.get(axis);
  if (r !== undefined) return r;
  const distinct = [...new Set([...axis.i0, ...axis.i1])].sort((a, b) => a - b);
  const slot = new Map(distinct.map((v, k) => [v, k]));
  r = { axis, rows: Int32Array.from(distinct), s0: axis.i0.map((v) => slot.get(v)!), s1: axis.i1.map((v) => slot.get(v)!) };
  rowCache.set(axis, r);
  return r;
}
