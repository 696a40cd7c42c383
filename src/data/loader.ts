// DataLoader over an image dataset (in memory, or files read per batch): batches, seeded shuffling
// (reshuffled every epoch), drop_last, transforms, and optionally worker
// threads with prefetching. Batches come out as engine tensors:
// x float32 [B, C, H, W], y int64 [B] — the caller owns (and disposes) them.
//
// Reproducibility: the shuffle depends on (seed, epoch) and each batch's
// augmentation on (seed, epoch, batch index) only, so the batches are the same
// whatever the number of workers; different batches (and so different
// workers) always draw from different random streams.
//
// Workers: in-memory images are placed once in a SharedArrayBuffer (no copy
// per worker); image files are read and decoded by the workers; workers are unref'd whenever no batch is in flight, so a forgotten
// loader never keeps the process alive; close() terminates them.
import { Worker } from 'node:worker_threads';
import { Tensor, cuda, fromTypedArray } from '../torch/index.js';
import { batchRng, buildBatch, ImageSource, isFileSource, RawBatch } from './batch.js';
import type { WorkerInit } from './loader-worker.js';
import { Rng, mixSeed } from './rng.js';
import { Transform } from './transforms.js';

/** What a DataLoader reads: same-size images in memory (ArrayImageDataset) or image files (FileImageDataset). */
export type LoaderDataset = ImageSource & { readonly length: number };

/** The dataset's arrays (or file list), checked against its length. */
function sourceOf(dataset: LoaderDataset): ImageSource {
  const n = dataset.length;
  if (isFileSource(dataset)) {
    if (dataset.files.length !== n || dataset.labels.length !== n) {
      throw new RangeError(`DataLoader: the dataset holds ${dataset.files.length} files and ${dataset.labels.length} labels for ${n} images`);
    }
    if (dataset.channels !== 1 && dataset.channels !== 3) throw new RangeError(`DataLoader: a file dataset's channels must be 1 or 3, got ${dataset.channels}`);
    return { files: dataset.files, labels: dataset.labels, channels: dataset.channels };
  }
  const per = dataset.channels * dataset.height * dataset.width;
  if (dataset.labels.length !== n || dataset.images.length !== n * per) {
    throw new RangeError(`DataLoader: the dataset holds ${dataset.labels.length} labels and ${dataset.images.length} pixel bytes for ${n} images of ${per}`);
  }
  return { images: dataset.images, labels: dataset.labels, channels: dataset.channels, height: dataset.height, width: dataset.width };
}

/** The array in a SharedArrayBuffer (itself when it already is): workers then read it without a copy each. */
function shared<T extends Uint8Array | Int32Array>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = new (array.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

/** This process's part of the data in data-parallel training. */
export interface Shard { rank: number; worldSize: number }

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Seed of the shuffle and of the augmentations (default 0). */
  seed?: number;
  /** Applied to each uint8 CHW image; a uint8 result is scaled to [0, 1] float. Must be built from this module's transforms to run in workers. */
  transform?: Transform | null;
  /** Worker threads (default 0: batches are built in this thread). */
  numWorkers?: number;
  /** Batches in flight per worker (default 2). */
  prefetch?: number;
  /** Data-parallel shard, like torch's DistributedSampler: after the (seed, epoch) shuffle, rank r takes samples r, r+W, … of the order padded by wrapping to a multiple of W. */
  shard?: Shard;
  /**
   * Batches in page-locked host memory, so that copying them to a CUDA device does not block (default
   * false). Without CUDA it is ignored with a warning, as in PyTorch.
   */
  pinMemory?: boolean;
}

/** What a data module passes on unchanged to each of its loaders. */
export interface LoaderSettings {
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly seed: number;
  readonly shard: Shard | null;
  readonly pinMemory: boolean;
}

export function loaderSettings(m: LoaderSettings): DataLoaderOptions {
  return { numWorkers: m.numWorkers, prefetch: m.prefetch, seed: m.seed, shard: m.shard ?? undefined, pinMemory: m.pinMemory };
}

export interface Batch {
  /** float32 [B, C, H, W] */
  x: Tensor;
  /** int64 [B] */
  y: Tensor;
}

const SHUFFLE_STREAM = 0x5f3759df;

interface Pending { resolve: (b: RawBatch) => void; reject: (e: Error) => void; worker: WorkerSlot }
interface WorkerSlot { worker: Worker; inFlight: number; dead: Error | null }

export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  /** Whether each epoch reshuffles (settable: the Trainer's overfitBatches turns it off). */
  shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly transform: Transform | null;
  readonly shard: { rank: number; worldSize: number } | null;
  /** True when batches really are pinned (pinMemory asked for and CUDA present). */
  readonly pinMemory: boolean;
  /** The epoch the next iteration will use; incremented when an iteration starts. */
  epoch = 0;
  private readonly source: ImageSource;
  private readonly size: number;
  private slots: WorkerSlot[] | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private iterating = false;
  private closed = false;
  private startBatch = 0;

  constructor(dataset: LoaderDataset, opts: DataLoaderOptions = {}) {
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.seed = opts.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new RangeError(`DataLoader: seed must be an integer, got ${opts.seed}`);
    this.numWorkers = opts.numWorkers ?? 0;
    if (!Number.isInteger(this.numWorkers) || this.numWorkers < 0) throw new RangeError(`DataLoader: numWorkers must be a non-negative integer, got ${opts.numWorkers}`);
    this.prefetch = opts.prefetch ?? 2;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1) throw new RangeError(`DataLoader: prefetch must be a positive integer, got ${opts.prefetch}`);
    this.transform = opts.transform ?? null;
    this.shard = opts.shard ?? null;
    if (this.shard !== null && !(Number.isInteger(this.shard.worldSize) && this.shard.worldSize >= 1 && Number.isInteger(this.shard.rank) && this.shard.rank >= 0 && this.shard.rank < this.shard.worldSize)) {
      throw new RangeError(`DataLoader: shard must have an integer worldSize >= 1 and rank in [0, worldSize), got ${JSON.stringify(opts.shard)}`);
    }
    this.pinMemory = (opts.pinMemory ?? false) && pinningAvailable();
    this.size = dataset.length;
    this.source = sourceOf(dataset);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.shard === null ? this.size : Math.ceil(this.size / this.shard.worldSize);
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of an epoch (this rank's part of it when sharded). */
  order(epoch: number): Int32Array {
    if (this.shuffle) return this.sharded(new Rng(mixSeed(this.seed, epoch, SHUFFLE_STREAM)).permutation(this.size));
    const p = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) p[i] = i;
    return this.sharded(p);
  }

  /** Positions rank, rank + W, … of `order` padded by wrapping to a multiple of W (DistributedSampler's split). */
  private sharded(order: Int32Array): Int32Array {
    if (this.shard === null || this.size === 0) return order;
    const { rank, worldSize } = this.shard;
    const mine = new Int32Array(Math.ceil(this.size / worldSize));
    for (let i = 0; i < mine.length; i++) mine[i] = order[(rank + i * worldSize) % this.size];
    return mine;
  }

  /** Makes the next iteration be epoch `epoch` from batch `batch` on (to continue an interrupted epoch exactly). */
  resumeAt(epoch: number, batch = 0): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader.resumeAt: epoch must be a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(batch) || batch < 0 || batch > this.length) throw new RangeError(`DataLoader.resumeAt: batch must be an integer in [0, ${this.length}], got ${batch}`);
    this.epoch = epoch;
    this.startBatch = batch;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.iterate();
  }

  private async *iterate(): AsyncGenerator<Batch> {
    if (this.closed) throw new Error('DataLoader: iterated after close()');
    if (this.iterating) throw new Error('DataLoader: already being iterated (one epoch at a time)');
    this.iterating = true;
    const epoch = this.epoch++;
    const first = this.startBatch;
    this.startBatch = 0;
    const order = this.order(epoch);
    const count = this.length;
    const indicesOf = (b: number) => order.subarray(b * this.batchSize, Math.min(this.size, (b + 1) * this.batchSize));
    try {
      if (this.numWorkers === 0) {
        for (let b = first; b < count; b++) {
          yield this.toTensors(buildBatch(this.source, indicesOf(b), this.transform, batchRng(this.seed, epoch, b)));
        }
        return;
      }
      this.startWorkers();
      const inFlight = new Map<number, Promise<RawBatch>>();
      const limit = this.numWorkers * this.prefetch;
      let next = first;
      try {
        for (let b = first; b < count; b++) {
          while (next < count && next < b + limit) {
            const p = this.submit(epoch, next, indicesOf(next));
            p.catch(() => {}); // an abandoned batch's failure is not an unhandled rejection
            inFlight.set(next++, p);
          }
          const raw = await inFlight.get(b)!;
          inFlight.delete(b);
          yield this.toTensors(raw);
        }
      } finally {
        inFlight.clear(); // results still coming are dropped when they arrive
      }
    } finally {
      this.iterating = false;
    }
  }

  private startWorkers(): void {
    if (this.slots !== null) return;
    this.source.labels = shared(this.source.labels);
    // an array source's pixels are shared with the workers; a file source sends its paths once
    if (!isFileSource(this.source)) this.source.images = shared(this.source.images);
    const workerData: WorkerInit = { source: this.source, transform: this.transform ? this.transform.spec() : null, seed: this.seed };
    this.slots = [];
    for (let w = 0; w < this.numWorkers; w++) {
      const worker = new Worker(new URL('./loader-worker.js', import.meta.url), {
        workerData,
        // flags that only make sense for the main script (node --input-type=module -e …) would kill the worker
        execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
      });
      const slot: WorkerSlot = { worker, inFlight: 0, dead: null };
      worker.unref();
      worker.on('message', (msg: { id: number; batch?: RawBatch; error?: string }) => this.onMessage(slot, msg));
      worker.on('error', (error) => this.onDeath(slot, new Error(`DataLoader worker ${w} failed: ${error.message}`)));
      worker.on('exit', (code) => this.onDeath(slot, new Error(`DataLoader worker ${w} exited (code ${code})`)));
      this.slots.push(slot);
    }
  }

  private toTensors(raw: RawBatch): Batch {
    const batch = toTensors(raw);
    return this.pinMemory ? pinned(batch) : batch;
  }

  private submit(epoch: number, batchIndex: number, indices: Int32Array): Promise<RawBatch> {
    const slots = this.slots!;
    let slot = slots[0];
    for (const s of slots) if (s.dead === null && (slot.dead !== null || s.inFlight < slot.inFlight)) slot = s;
    if (slot.dead !== null) return Promise.reject(slot.dead);
    const id = this.nextId++;
    return new Promise<RawBatch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: slot });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, epoch, batchIndex, indices: Int32Array.from(indices) });
    });
  }

  private settle(slot: WorkerSlot, id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    if (--slot.inFlight === 0) slot.worker.unref();
    return p;
  }

  private onMessage(slot: WorkerSlot, msg: { id: number; batch?: RawBatch; error?: string }): void {
    const p = this.settle(slot, msg.id);
    if (p === undefined) return;
    if (msg.error !== undefined) p.reject(new Error(`DataLoader worker: ${msg.error}`));
    else p.resolve(msg.batch!);
  }

  private onDeath(slot: WorkerSlot, error: Error): void {
    if (slot.dead !== null) return;
    slot.dead = this.closed ? new Error('DataLoader: closed') : error;
    for (const [id, p] of [...this.pending]) if (p.worker === slot) this.settle(slot, id)!.reject(slot.dead);
  }

  /** Terminates the workers (idempotent). The loader cannot be iterated afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots ?? [];
    this.slots = null;
    if (slots.length === 0) return;
    // A worker that was unref'd does not keep the event loop alive while it terminates, so the process
    // could exit with close() still pending: a ref'd timer (also a 5 s safety limit) holds it open.
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => { timer = setTimeout(resolve, 5000); });
    try {
      await Promise.race([Promise.all(slots.map((s) => s.worker.terminate())), limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.close(); }
}

function toTensors(raw: RawBatch): Batch {
  const x = fromTypedArray(raw.x, raw.shape);
  try {
    return { x, y: fromTypedArray(raw.y, [raw.shape[0]], { dtype: 'int64' }) };
  } catch (error) {
    x.dispose();
    throw error;
  }
}

/** The batch's tensors moved into pinned memory (the pageable originals are freed). */
function pinned(batch: Batch): Batch {
  let x: Tensor | null = null;
  try {
    x = batch.x.pinMemory();
    return { x, y: batch.y.pinMemory() };
  } catch (error) {
    x?.dispose();
    throw error;
  } finally {
    batch.x.dispose();
    batch.y.dispose();
  }
}

let warnedNoPinning = false;

/** Whether pinned memory can be used; warns once when it was asked for without CUDA. */
function pinningAvailable(): boolean {
  if (cuda.isAvailable()) return true;
  if (!warnedNoPinning) {
    warnedNoPinning = true;
    process.emitWarning('DataLoader: pinMemory is set but CUDA is not available, so batches stay in pageable memory', { code: 'ORTHOGONIUM_NO_PINNED_MEMORY' });
  }
  return false;
}
