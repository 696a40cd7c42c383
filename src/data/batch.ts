// Builds one batch (transforms + stacking) on plain typed arrays; shared by the
// in-process loader and its worker threads.
import { Rng, mixSeed } from './rng.js';
import { Image, Transform } from './transforms.js';

export interface ImageSource {
  images: Uint8Array;
  labels: Int32Array;
  channels: number;
  height: number;
  width: number;
}

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

export function buildBatch(src: ImageSource, indices: ArrayLike<number>, transform: Transform | null, rng: Rng): RawBatch {
  const per = src.channels * src.height * src.width;
  const B = indices.length;
  let x: Float32Array | null = null;
  let shape: [number, number, number, number] = [B, 0, 0, 0];
  let size = 0;
  const y = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const idx = indices[b];
    const image: Image = { data: src.images.subarray(idx * per, (idx + 1) * per), channels: src.channels, height: src.height, width: src.width };
    const out = transform ? transform.apply(image, rng) : image;
    if (x === null) {
      shape = [B, out.channels, out.height, out.width];
      size = out.channels * out.height * out.width;
      x = new Float32Array(B * size);
    } else if (out.channels !== shape[1] || out.height !== shape[2] || out.width !== shape[3]) {
      throw new RangeError(`DataLoader: image ${idx} came out of the transform as ${out.channels}×${out.height}×${out.width}, ` +
        `but the batch's first image is ${shape[1]}×${shape[2]}×${shape[3]}`);
    }
    const offset = b * size;
    if (out.data instanceof Float32Array) x.set(out.data, offset);
    else for (let k = 0; k < size; k++) x[offset + k] = out.data[k] / 255; // uint8 → float on the fly
    y[b] = src.labels[idx];
  }
  return { x: x ?? new Float32Array(0), y, shape };
}
