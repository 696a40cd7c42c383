// The LightningModule of this library: a Module that also says how to train
// itself (trainingStep), how to evaluate (validationStep / testStep) and with
// which optimizer (configureOptimizers). The Trainer owns the loop; the
// module only computes and `log()`s values, which the Trainer aggregates per
// step and per epoch like Lightning's `self.log`.
import { Tensor } from '../torch/index.js';
import { Module } from '../nn/index.js';
import type { Optimizer, LRScheduler } from '../optim/index.js';
import type { Batch } from '../data/index.js';

export interface LogOptions {
  /** Report the value at this step (default: true in training, false in validation/test). */
  onStep?: boolean;
  /** Aggregate over the epoch as a batch-size-weighted mean (default: false in training, true in validation/test). */
  onEpoch?: boolean;
  /** Show it in the progress bar (default false). */
  progBar?: boolean;
  /** Weight of the value in the epoch mean (default: the batch's size). */
  batchSize?: number;
}

/** Where logged values go; set by the Trainer while it runs the module. */
export interface LogSink {
  log(name: string, value: number, options: LogOptions): void;
}

export interface OptimizerConfig {
  optimizer: Optimizer;
  scheduler?: LRScheduler;
  /** When the scheduler steps: after every optimizer step or at each epoch's end (default 'epoch', as Lightning). */
  schedulerInterval?: 'step' | 'epoch';
}

export type Stage = 'train' | 'validate' | 'test';

export abstract class LightningModule extends Module {
  /** Set by the Trainer during fit/validate/test. */
  logSink: LogSink | null = null;
  /** The size of the batch being processed, used as the default weight of logged values. */
  currentBatchSize = 1;
  /** The stage the Trainer is running, so that log() picks Lightning's defaults. */
  stage: Stage = 'train';

  /** Returns the loss to minimize for one training batch. */
  abstract trainingStep(batch: Batch, batchIndex: number): Tensor;

  /** Evaluates one validation batch and logs its metrics. */
  validationStep(_batch: Batch, _batchIndex: number): void {}

  /** Evaluates one test batch; by default the same as a validation step. */
  testStep(batch: Batch, batchIndex: number): void { this.validationStep(batch, batchIndex); }

  abstract configureOptimizers(): OptimizerConfig;

  /** The configuration that rebuilds this module's network, stored in checkpoints (null if it cannot be rebuilt). */
  modelConfig(): unknown { return null; }

  /** Hooks, in Lightning's order. */
  onTrainEpochStart(_epoch: number): void {}
  onTrainEpochEnd(_epoch: number): void {}
  onValidationEpochStart(): void {}
  onValidationEpochEnd(): void {}

  /** Records a scalar (a number or a one-element tensor, read at once). */
  log(name: string, value: number | Tensor, options: LogOptions = {}): void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('log: the name must be a non-empty string');
    const scalar = value instanceof Tensor ? value.item() : value;
    if (typeof scalar !== 'number') throw new TypeError(`log('${name}'): expected a number or a one-element tensor, got ${typeof value}`);
    const training = this.stage === 'train';
    this.logSink?.log(name, scalar, {
      onStep: options.onStep ?? training,
      onEpoch: options.onEpoch ?? !training,
      progBar: options.progBar ?? false,
      batchSize: options.batchSize ?? this.currentBatchSize,
    });
  }
}
