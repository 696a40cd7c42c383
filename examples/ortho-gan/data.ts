// The GAN's training images: Fashion-MNIST (the machine has no CelebA)
// prepared once as the script's transforms would — pixels to [0, 1], resized
// to the chosen side (bilinear, antialiased like torchvision's Resize), then
// Normalize((0.5,), (0.5,)) to [-1, 1] — and a loader that batches those
// tensors with a seeded shuffle per epoch.
import { F, Tensor, fromTypedArray, noGrad, scope } from '../../src/torch/index.js';
import { DEBIAN_FASHION_MNIST_DIR, Rng, loadMnistArrays, mixSeed } from '../../src/data/index.js';
import type { Batch } from '../../src/data/index.js';
import type { PositionedLoader } from '../../src/train/index.js';

export interface GanImages {
  /** float32 [N, 1, S, S] in [-1, 1]. */
  images: Tensor;
  /** int64 [N]: the Fashion-MNIST classes (unused by the GAN, kept for the Trainer's batches). */
  labels: Tensor;
}

/** The first `count` training images of Fashion-MNIST at `imageSize`×`imageSize`, scaled to [-1, 1]. */
export function loadGanImages(options: { imageSize: number; count?: number; dataDir?: string }): GanImages {
  const { images, labels, chw } = loadMnistArrays(options.dataDir ?? DEBIAN_FASHION_MNIST_DIR, true);
  const available = labels.length;
  const count = options.count ?? available;
  if (!Number.isInteger(count) || count < 1 || count > available) throw new RangeError(`--train must be an integer from 1 to ${available}, got ${count}`);
  const size = options.imageSize;
  return noGrad(() => scope(() => {
    const pixels = fromTypedArray(images.subarray(0, count * chw[0] * chw[1] * chw[2]), [count, ...chw]).float().div(255);
    const resized = size === chw[1] && size === chw[2] ? pixels : F.interpolate(pixels, { size: [size, size], mode: 'bilinear', antialias: true, alignCorners: false });
    return {
      images: resized.sub(0.5).div(0.5).contiguous(),
      labels: fromTypedArray(labels.subarray(0, count), [count], { dtype: 'int64' }),
    };
  }));
}

/**
 * Batches of in-memory tensors, reshuffled every epoch from (seed, epoch)
 * alone (so a resumed run sees the same order), the last batch smaller
 * unless dropLast. Each batch is a fresh tensor the Trainer disposes.
 */
export class TensorLoader implements PositionedLoader {
  private epoch = 0;
  private startBatch = 0;

  constructor(private readonly data: GanImages, readonly batchSize: number, readonly options: { shuffle?: boolean; seed?: number; dropLast?: boolean } = {}) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`--batch-size must be a positive integer, got ${batchSize}`);
    if (data.images.shape[0] !== data.labels.shape[0]) throw new RangeError(`TensorLoader: ${data.images.shape[0]} images but ${data.labels.shape[0]} labels`);
  }

  get size(): number { return this.data.labels.shape[0]; }

  get length(): number {
    return this.options.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  resumeAt(epoch: number, batch: number): void {
    this.epoch = epoch;
    this.startBatch = batch;
  }

  private order(epoch: number): Int32Array {
    if (this.options.shuffle ?? true) return new Rng(mixSeed(this.options.seed ?? 0, epoch)).permutation(this.size);
    return Int32Array.from({ length: this.size }, (_, i) => i);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const epoch = this.epoch++;
    const first = this.startBatch;
    this.startBatch = 0;
    const order = this.order(epoch);
    for (let b = first; b < this.length; b++) {
      const indices = order.subarray(b * this.batchSize, Math.min(this.size, (b + 1) * this.batchSize));
      yield scope(() => {
        const index = fromTypedArray(indices, [indices.length], { dtype: 'int64' });
        return { x: this.data.images.indexSelect(0, index), y: this.data.labels.indexSelect(0, index) };
      });
    }
  }
}
