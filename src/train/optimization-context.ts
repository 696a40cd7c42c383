// What the Trainer's two ways of optimizing (automatic-optimization.ts,
// manual-optimization.ts) need from the Trainer running them.
import type { DistributedDataParallel } from '../distributed/index.js';
import type { Callback } from './callbacks/callback.js';
import type { PrecisionPlugin } from './precision.js';
import type { Trainer } from './trainer.js';

export interface OptimizationContext {
  /** Passed to the callbacks' hooks. */
  readonly trainer: Trainer;
  readonly precision: PrecisionPlugin;
  readonly callbacks: readonly Callback[];
  /** The data-parallel wrapper of the running fit, if any. */
  ddp(): DistributedDataParallel | null;
}

/** What backward() takes beside the loss (Tensor.backward's options). */
export interface BackwardOptions { retainGraph?: boolean; createGraph?: boolean }
