// The LightningModule of this library: a Module that also says how to train
// itself (trainingStep), how to evaluate (validationStep / testStep) and with
// which optimizer (configureOptimizers). The Trainer owns the loop; the
// module only computes and `log()`s values, which the Trainer aggregates per
// step and per epoch like Lightning's `self.log`.
import { Tensor, noGrad } from '../torch/index.js';
import { Module } from '../nn/index.js';
import type { Optimizer, LRScheduler, ReduceLROnPlateau } from '../optim/index.js';
import type { Batch } from '../data/index.js';
import type { Callback, JsonValue } from './callbacks/callback.js';
import type { ConfigureOptimizersResult } from './configured-optimizers.js';
import type { BackwardOptions } from './optimization-context.js';
import type { Loader, Trainer } from './trainer.js';
import { LightningOptimizer } from './lightning-optimizer.js';

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
  /** The key LearningRateMonitor logs this scheduler's optimizer under (default `lr-<Optimizer>`). */
  name?: string;
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

/** What the Trainer gives a module during fit for manual optimization (manual-optimization.ts). */
export interface ManualOptimizationHost {
  optimizers(): LightningOptimizer[];
  lrSchedulers(): Array<LRScheduler | ReduceLROnPlateau>;
  manualBackward(loss: Tensor, options?: BackwardOptions): void;
  clipGradients(optimizer: Optimizer, gradientClipVal: number, gradientClipAlgorithm: 'norm' | 'value'): void;
}

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
  /**
   * Lightning's automatic_optimization. Set it to false for manual
   * optimization: trainingStep then zeroes the gradients, calls
   * this.manualBackward(loss) and steps this.optimizers() itself.
   */
  automaticOptimization = true;
  /** Set by the Trainer fitting this module: what optimizers(), manualBackward() and the like ask. */
  trainerHost: ManualOptimizationHost | null = null;
  /** The Trainer running this module (fit, validate, test or predict), Lightning's self.trainer; null before. */
  trainer: Trainer | null = null;
  /** requiresGrad of the parameters toggleOptimizer() switched off, to restore. */
  private toggledOff: Tensor[] = [];

  /**
   * Returns the loss to minimize for one training batch. Under manual
   * optimization it steps the optimizers itself and may return the loss
   * (shown and passed to onTrainBatchEnd) or nothing.
   */
  abstract trainingStep(batch: Batch, batchIndex: number): Tensor | void;

  /** Evaluates one validation batch and logs its metrics; what it returns goes to onValidationBatchEnd. */
  validationStep(_batch: Batch, _batchIndex: number): unknown { return undefined; }

  /** Evaluates one test batch; by default the same as a validation step. */
  testStep(batch: Batch, batchIndex: number): unknown { return this.validationStep(batch, batchIndex); }

  /** One batch of Trainer.predict(); by default the module's forward of batch.x. Tensors it returns are kept for the caller. */
  predictStep(batch: Batch, _batchIndex: number): unknown {
    return (this as unknown as { forward(x: Tensor): unknown }).forward(batch.x);
  }

  /**
   * The optimizer(s) and scheduler(s), in any of Lightning's forms: an
   * Optimizer, `{ optimizer, lrScheduler }`, a list of either, or
   * `[optimizers, schedulers]`. Several optimizers need manual optimization.
   */
  abstract configureOptimizers(): ConfigureOptimizersResult;

  /** Lightning's data hooks: a module that defines them can be fitted without a data module (`trainer.fit(module)`). */
  trainDataloader?(): Loader;
  valDataloader?(): Loader | null;

  // ---- what Lightning's module knows of its run -------------------------------------
  /** The Trainer's current epoch (0 without a Trainer). */
  get currentEpoch(): number { return this.trainer?.currentEpoch ?? 0; }

  /** Optimizer steps taken so far (0 without a Trainer). */
  get globalStep(): number { return this.trainer?.globalStep ?? 0; }

  /** This process's rank in a data-parallel run (0 otherwise). */
  get globalRank(): number { return this.trainer?.globalRank ?? 0; }

  /** The device of the module's parameters ('cpu' when it has none). */
  get device(): string { return this.parameters()[0]?.device ?? 'cpu'; }

  /** Prints a line where the Trainer reports (rank 0 only in data-parallel runs), or on stdout without a Trainer. */
  print(...values: unknown[]): void {
    const line = values.map((v) => (typeof v === 'string' ? v : String(v))).join(' ');
    if (this.trainer) this.trainer.print(line);
    else process.stdout.write(line + '\n');
  }

  /** Several log() calls at once, with the same options (Lightning's log_dict). */
  logDict(values: Record<string, number | Tensor | LoggableMetric>, options: LogOptions = {}): void {
    if (values === null || typeof values !== 'object') throw new TypeError('logDict: expected an object of name → value');
    for (const [name, value] of Object.entries(values)) this.log(name, value, options);
  }

  /**
   * Gathers `tensor` from every rank into one tensor [worldSize, ...shape]
   * (Lightning's all_gather, without gradients); in one process the tensor
   * itself comes back, without the extra dimension, as in Lightning.
   */
  allGather(tensor: Tensor): Tensor {
    if (!(tensor instanceof Tensor)) throw new TypeError('allGather: expected a Tensor');
    return this.trainer ? noGrad(() => this.trainer!.allGather(tensor)) : tensor;
  }

  /** Lightning's freeze(): eval mode, and no parameter requires a gradient. */
  freeze(): void {
    for (const p of this.parameters()) p.requiresGrad_(false);
    this.eval();
  }

  /** Lightning's unfreeze(): train mode, and every parameter requires a gradient. */
  unfreeze(): void {
    for (const p of this.parameters()) p.requiresGrad_(true);
    this.train();
  }

  // ---- manual optimization -------------------------------------------------------
  private host(what: string): ManualOptimizationHost {
    if (this.trainerHost === null) throw new Error(`${what}: available while a Trainer fits this module`);
    return this.trainerHost;
  }

  /**
   * The configured optimizers wrapped for manual stepping, in
   * configureOptimizers() order. Always an array (Lightning returns a single
   * one bare) so that the types stay exact: `const [opt] = this.optimizers()`.
   */
  optimizers(): LightningOptimizer[] { return this.host('optimizers()').optimizers(); }

  /** The configured schedulers in order (empty when none); in manual optimization the module steps them. */
  lrSchedulers(): Array<LRScheduler | ReduceLROnPlateau> { return this.host('lrSchedulers()').lrSchedulers(); }

  /**
   * loss.backward() as the Trainer would run it: hooks, loss scaling,
   * data-parallel averaging; `retainGraph` / `createGraph` as Tensor.backward. Manual optimization only.
   */
  manualBackward(loss: Tensor, options: BackwardOptions = {}): void {
    if (this.automaticOptimization) throw new Error('manualBackward: only with manual optimization (set automaticOptimization = false); the Trainer runs backward itself otherwise');
    this.host('manualBackward').manualBackward(loss, options);
  }

  /** Clips the gradients of an optimizer's parameters by norm (default) or value, Lightning's clip_gradients. */
  clipGradients(optimizer: LightningOptimizer | Optimizer, gradientClipVal: number, gradientClipAlgorithm: 'norm' | 'value' = 'norm'): void {
    if (gradientClipAlgorithm !== 'norm' && gradientClipAlgorithm !== 'value') {
      throw new TypeError(`clipGradients: gradientClipAlgorithm must be 'norm' or 'value', got ${JSON.stringify(gradientClipAlgorithm)}`);
    }
    if (!(gradientClipVal > 0) || !Number.isFinite(gradientClipVal)) throw new RangeError(`clipGradients: gradientClipVal must be a finite number > 0, got ${gradientClipVal}`);
    this.host('clipGradients').clipGradients(unwrap(optimizer), gradientClipVal, gradientClipAlgorithm);
  }

  /**
   * Lightning's toggle_optimizer: the other optimizers' parameters stop
   * requiring gradients until untoggleOptimizer(), so a backward for one
   * network of several (a GAN's generator) leaves the others' gradients alone.
   */
  toggleOptimizer(optimizer: LightningOptimizer | Optimizer): void {
    this.untoggleOptimizer();
    const own = new Set(unwrap(optimizer).paramGroups.flatMap((g) => g.params));
    // As Lightning: the other optimizers' parameters; those no optimizer owns are left alone.
    const others = this.host('toggleOptimizer').optimizers().flatMap((o) => o.paramGroups.flatMap((g) => g.params));
    this.toggledOff = others.filter((p) => p.requiresGrad && !own.has(p));
    for (const p of this.toggledOff) p.requiresGrad_(false);
  }

  /** Restores the parameters toggleOptimizer() switched off. */
  untoggleOptimizer(_optimizer?: LightningOptimizer | Optimizer): void {
    for (const p of this.toggledOff) p.requiresGrad_(true);
    this.toggledOff = [];
  }

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

/** The optimizer itself, from a LightningOptimizer or as given. */
const unwrap = (optimizer: LightningOptimizer | Optimizer): Optimizer => (optimizer instanceof LightningOptimizer ? optimizer.optimizer : optimizer);
