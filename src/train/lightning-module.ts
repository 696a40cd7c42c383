// The LightningModule of this library: a Module that also says how to train
// itself (trainingStep), how to evaluate (validationStep / testStep) and with
// which optimizer (configureOptimizers). The Trainer owns the loop; the
// module only computes and `log()`s values, which the Trainer aggregates per
// step and per epoch like Lightning's `self.log`.
import { Tensor } from '../torch/index.js';
import { Module } from '../nn/index.js';
import type { Optimizer, LRScheduler, ReduceLROnPlateau } from '../optim/index.js';
import type { Batch } from '../data/index.js';
import type { Callback, JsonValue } from './callbacks/callback.js';

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

/**
 * A metric object log() takes as Lightning takes a torchmetrics Metric (the
 * seed logs `self.train_acc`): its latest batch value per step, compute() per
 * epoch, then reset(). Accuracy and MeanMetric are such metrics.
 */
export interface LoggableMetric {
  compute(): number;
  reset(): void;
  /** The latest update's own value. */
  readonly batchValue: number;
  /** What stands behind compute() (samples, total weight): its weight when ranks are averaged. */
  readonly weight: number;
}

export function isLoggableMetric(value: unknown): value is LoggableMetric {
  const m = value as LoggableMetric | null;
  return typeof m === 'object' && m !== null && typeof m.compute === 'function' && typeof m.reset === 'function' && typeof m.batchValue === 'number';
}

/** Where logged values go; set by the Trainer while it runs the module. */
export interface LogSink {
  log(name: string, value: number, options: LogOptions): void;
  /** A metric object logged per epoch: the sink reads compute() at the epoch's end and resets it. */
  logMetric(name: string, metric: LoggableMetric, options: LogOptions): void;
}

/** Lightning's lr_scheduler dict. */
export interface SchedulerConfig {
  scheduler: LRScheduler | ReduceLROnPlateau;
  /** Step after every optimizer step or at each epoch's end (default 'epoch', as Lightning). */
  interval?: 'step' | 'epoch';
  /** Step every this many intervals (default 1). */
  frequency?: number;
  /** The logged metric a ReduceLROnPlateau is stepped with (required for it), e.g. 'val_loss'. */
  monitor?: string;
  /** A missing monitored metric is an error (default true) or a skipped step (false). */
  strict?: boolean;
}

export interface OptimizerConfig {
  optimizer: Optimizer;
  /** A scheduler, or Lightning's scheduler config { scheduler, interval, frequency, monitor }. */
  scheduler?: LRScheduler | ReduceLROnPlateau | SchedulerConfig;
  /** Lightning's key for `scheduler`. */
  lrScheduler?: LRScheduler | ReduceLROnPlateau | SchedulerConfig;
  /** When a plain scheduler steps: after every optimizer step or at each epoch's end (default 'epoch', as Lightning). */
  schedulerInterval?: 'step' | 'epoch';
}

export type Stage = 'train' | 'validate' | 'test';

/** The stage setup()/teardown() receive, as Lightning's: 'fit', 'validate', 'test' or 'predict'. */
export type TrainerFn = 'fit' | 'validate' | 'test' | 'predict';

/** What onSaveCheckpoint fills and onLoadCheckpoint gets back: JSON-able values, stored in the checkpoint's training state. */
export type CheckpointHookState = { [key: string]: JsonValue };

export abstract class LightningModule extends Module {
  /** What saveHyperparameters() recorded (Lightning's hparams): stored in checkpoints' metadata and given to loggers at fit start. */
  hparams: Record<string, JsonValue> = {};
  /** Set by the Trainer during fit/validate/test. */
  logSink: LogSink | null = null;
  /** The size of the batch being processed, used as the default weight of logged values. */
  currentBatchSize = 1;
  /** The stage the Trainer is running, so that log() picks Lightning's defaults. */
  stage: Stage = 'train';

  /** Returns the loss to minimize for one training batch. */
  abstract trainingStep(batch: Batch, batchIndex: number): Tensor;

  /** Evaluates one validation batch and logs its metrics; what it returns goes to onValidationBatchEnd. */
  validationStep(_batch: Batch, _batchIndex: number): unknown { return undefined; }

  /** Evaluates one test batch; by default the same as a validation step. */
  testStep(batch: Batch, batchIndex: number): unknown { return this.validationStep(batch, batchIndex); }

  /** One batch of Trainer.predict(); by default the module's forward of batch.x. Tensors it returns are kept for the caller. */
  predictStep(batch: Batch, _batchIndex: number): unknown {
    return (this as unknown as { forward(x: Tensor): unknown }).forward(batch.x);
  }

  abstract configureOptimizers(): OptimizerConfig;

  /** The configuration that rebuilds this module's network, stored in checkpoints (null if it cannot be rebuilt). */
  modelConfig(): unknown { return null; }

  /**
   * Lightning's save_hyperparameters: records JSON-able values (numbers,
   * strings, booleans, null, arrays and plain objects of them) as `hparams`.
   */
  saveHyperparameters(params: Record<string, unknown>): void {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new TypeError('saveHyperparameters: expected an object of values');
    let copy: Record<string, JsonValue>;
    try {
      copy = JSON.parse(JSON.stringify(params)) as Record<string, JsonValue>;
    } catch (error) {
      throw new TypeError(`saveHyperparameters: the values must be JSON-able (${(error as Error).message})`);
    }
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || (typeof value === 'number' && !Number.isFinite(value))) {
        throw new TypeError(`saveHyperparameters: '${key}' is ${String(value)}, which JSON cannot hold`);
      }
    }
    this.hparams = { ...this.hparams, ...copy };
  }

  /**
   * Hooks, in Lightning's order (see the README's Training section). Callbacks
   * see most of them first, then the module.
   */
  /** Before fit / validate / test / predict, once the module is placed on its device. */
  setup(_stage: TrainerFn): void {}
  /** After fit / validate / test / predict. */
  teardown(_stage: TrainerFn): void {}
  /** Callbacks the module brings (Lightning's configure_callbacks): they replace the Trainer's callbacks of the same class. */
  configureCallbacks(): Callback[] { return []; }
  onFitStart(): void {}
  onFitEnd(): void {}
  onTrainEpochStart(_epoch: number): void {}
  onTrainEpochEnd(_epoch: number): void {}
  /** Before a training batch; returning -1 skips the rest of the epoch (as Lightning). */
  onTrainBatchStart(_batch: Batch, _batchIndex: number): number | void {}
  /** After a trained batch (not one skipped for a non-finite loss); `loss` is its loss value. */
  onTrainBatchEnd(_loss: number, _batch: Batch, _batchIndex: number): void {}
  /** With the loss about to be backpropagated (divided by accumulateGradBatches). */
  onBeforeBackward(_loss: Tensor): void {}
  onAfterBackward(): void {}
  /** Before each optimizer step, with the gradients unscaled under '16-mixed' and not yet clipped. */
  onBeforeOptimizerStep(_optimizer: Optimizer): void {}
  onValidationEpochStart(): void {}
  onValidationEpochEnd(): void {}
  /** After a validation batch; `outputs` is what validationStep returned. */
  onValidationBatchEnd(_outputs: unknown, _batch: Batch, _batchIndex: number): void {}
  onTestEpochStart(): void {}
  onTestEpochEnd(): void {}
  onTestBatchEnd(_outputs: unknown, _batch: Batch, _batchIndex: number): void {}
  /** Adds JSON-able values to a training checkpoint being written; onLoadCheckpoint gets them back on resume. */
  onSaveCheckpoint(_checkpoint: CheckpointHookState): void {}
  onLoadCheckpoint(_checkpoint: CheckpointHookState): void {}

  /**
   * Records a scalar (a number or a one-element tensor, read at once), or a
   * metric object (Accuracy, MeanMetric…: its batch value per step, its
   * compute() per epoch, after which it is reset).
   */
  log(name: string, value: number | Tensor | LoggableMetric, options: LogOptions = {}): void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('log: the name must be a non-empty string');
    const training = this.stage === 'train';
    const resolved: LogOptions = {
      onStep: options.onStep ?? training,
      onEpoch: options.onEpoch ?? !training,
      progBar: options.progBar ?? false,
      batchSize: options.batchSize ?? this.currentBatchSize,
    };
    if (isLoggableMetric(value)) {
      if (resolved.onStep) this.logSink?.log(name, value.batchValue, { ...resolved, onEpoch: false });
      if (resolved.onEpoch) this.logSink?.logMetric(name, value, resolved);
      return;
    }
    const scalar = value instanceof Tensor ? value.item() : value;
    if (typeof scalar !== 'number') throw new TypeError(`log('${name}'): expected a number, a one-element tensor or a metric, got ${typeof value}`);
    this.logSink?.log(name, scalar, resolved);
  }
}
