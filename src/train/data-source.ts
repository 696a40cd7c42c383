// Where the Trainer's data comes from: loaders (ours or any async-iterable
// with a length), Lightning-like data modules, or the module's own loader
// hooks — and the checks they must pass in a data-parallel run.
import type { Batch, Shard } from '../data/index.js';
import { DataLoader } from '../data/index.js';
import type { ProcessGroup } from '../distributed/index.js';
import type { CheckpointMetadata } from './checkpoint.js';
import type { LightningModule, TrainerFn } from './lightning-module.js';

/** What the Trainer iterates: our DataLoader or anything with a length that yields batches. */
export interface Loader extends AsyncIterable<Batch> {
  readonly length: number;
  close?(): Promise<void>;
}

/** A training loader that can be positioned, for exact resume (our DataLoader is one). */
export interface PositionedLoader extends Loader {
  resumeAt(epoch: number, batch: number): void;
}

/** LightningDataModule-like: the loaders, and what checkpoints should record about the data. */
export interface DataModuleLike {
  trainDataloader(): Loader;
  valDataloader?(): Loader | null;
  testDataloader?(): Loader | null;
  /** The loader of Trainer.predict(). */
  predictDataloader?(): Loader | null;
  /** Input normalization, class names, dataset name, stored in checkpoint metadata. */
  checkpointMetadata?(): CheckpointMetadata;
  /** Called by a data-parallel Trainer before asking for loaders: load only this process's part of each epoch. */
  distribute?(shard: Shard): void;
  /** Lightning's prepare_data: once per node (local rank 0) before setup, e.g. to download; the other ranks wait. */
  prepareData?(): void | Promise<void>;
  /** Lightning's setup / teardown: before the loaders are asked for, and after the stage ran. */
  setup?(stage: TrainerFn): void | Promise<void>;
  teardown?(stage: TrainerFn): void | Promise<void>;
}

/** What fit() trains on, as a data module, and whether its loaders are the fit's to close. */
export interface FitData { data: DataModuleLike; ownsLoaders: boolean }

export function fitData(module: LightningModule, data: DataModuleLike | Loader | undefined, valLoader: Loader | null | undefined): FitData {
  if (data === undefined) {
    const own = module as unknown as Partial<DataModuleLike>;
    if (typeof own.trainDataloader !== 'function') {
      throw new TypeError('Trainer.fit: no data: pass a data module or loaders, or define trainDataloader() (and valDataloader()) on the module');
    }
    // Only the loaders: the module's own setup/teardown hooks run as the module's.
    return { data: { trainDataloader: () => own.trainDataloader!(), valDataloader: () => own.valDataloader?.() ?? null }, ownsLoaders: true };
  }
  if (isLoader(data)) {
    if (valLoader !== null && valLoader !== undefined && !isLoader(valLoader)) throw new TypeError('Trainer.fit: the validation loader must be a loader (async-iterable with a length) or null');
    return { data: { trainDataloader: () => data, valDataloader: () => valLoader ?? null }, ownsLoaders: false };
  }
  if (typeof (data as DataModuleLike).trainDataloader !== 'function') {
    throw new TypeError('Trainer.fit: expected a data module (with trainDataloader()) or a training loader');
  }
  return { data: data as DataModuleLike, ownsLoaders: true };
}

export const isPositioned = (loader: Loader): loader is PositionedLoader => typeof (loader as Partial<PositionedLoader>).resumeAt === 'function';
export const isLoader = (x: unknown): x is Loader => typeof (x as Loader)[Symbol.asyncIterator] === 'function';

/** A data-parallel run needs each loader to hold only this rank's part of the data. */
export function checkSharded(loader: Loader | null, group: ProcessGroup): void {
  if (loader instanceof DataLoader && group.worldSize > 1 && (loader.shard === null || loader.shard.worldSize !== group.worldSize)) {
    throw new Error('Trainer: in a data-parallel run the data module must shard its loaders (implement distribute(shard) and pass `shard` to DataLoader); ' +
      'otherwise every rank would train on the whole dataset');
  }
}
