// The Trainer: Lightning's fit/validate/test loop for a LightningModule.
// Every step runs in a memory scope; the loop yields to the event loop after
// each step (so finalizers, workers and signals get their turn); metrics are
// aggregated per step and per epoch and handed to loggers, callbacks and the
// progress bar. Checkpoints carry everything a resumed run needs to continue
// exactly: weights, optimizer and scheduler state, the data position, the RNG
// state, callback states and the metric history.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Tensor, cuda, keep, manualSeed, ncclAvailable, noGrad, scope, setNumThreads, tensor } from '../torch/index.js';
import { Module, clipGradNorm_, clipGradValue_ } from '../nn/index.js';
import { NonFiniteValueError } from '../losses/index.js';
import type { LRScheduler, Optimizer } from '../optim/index.js';
import { DataLoader } from '../data/index.js';
import type { Batch, Shard } from '../data/index.js';
import { DistributedDataParallel, ProcessGroup, getDefaultGroup, initProcessGroup, isInitialized, launchPeers, reduceMetrics } from '../distributed/index.js';
import { Callback } from './callbacks/callback.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { CSVLogger } from './loggers/csv-logger.js';
import { JSONLLogger } from './loggers/jsonl-logger.js';
import type { Logger } from './loggers/logger.js';
import { CheckpointMetadata, disposeDeep, readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { TrainingParts, checkpointModel, encodeTrainingState, restoreTrainingState } from './training-state.js';
import { LightningModule, Stage, isLoggableMetric } from './lightning-module.js';
import { MetricCollector } from './epoch-metrics.js';
import { ProgressBar, ProgressOutput, formatMetrics } from './progress.js';
import { metricsTable } from './metrics-table.js';
import { writeTrainingCurves } from './metric-plots.js';
import { PrecisionPlugin } from './precision.js';
import { fitSummary } from './fit-summary.js';
import { applyGlobalSwitches, checkLimit, ddpPlacement, limitBatches, resolveAccelerator, resolveDevices, resolveStrategy } from './trainer-options.js';
import type { DeviceSelection } from './trainer-options.js';
import type { TrainerOptions } from './trainer-options.js';
export type { Accelerator, Strategy, TrainerOptions } from './trainer-options.js';
import type { Precision } from './precision.js';
export type { Precision } from './precision.js';

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
  /** Input normalization, class names, dataset name, stored in checkpoint metadata. */
  checkpointMetadata?(): CheckpointMetadata;
  /** Called by a data-parallel Trainer before asking for loaders: load only this process's part of each epoch. */
  distribute?(shard: Shard): void;
}

export interface FitResult {
  /** Epochs completed (all of them, counting those before a resume). */
  epochs: number;
  globalStep: number;
  /** The last epoch's metrics (training and validation). */
  metrics: Record<string, number>;
  history: Record<string, number>[];
  /** 'completed', 'max_steps', 'early_stopping' / callback reason, or 'interrupted'. */
  stopReason: string;
  interrupted: boolean;
  /** Checkpoint written on interruption, if any. */
  interruptedCheckpoint: string | null;
  seconds: number;
  skippedBatches: number;
}

/** Thrown when training meets a NaN/Inf loss and onNonFiniteLoss is 'error'. */
export class NonFiniteLossError extends Error {}

export class Trainer {
  readonly maxEpochs: number;
  readonly maxSteps: number;
  /** Autocast for the forward passes, and loss scaling under '16-mixed'. */
  readonly precisionPlugin: PrecisionPlugin;
  readonly device: 'cpu' | 'cuda';
  /** Processes per node and, on CUDA, each local rank's GPU (from `devices`). */
  private readonly devices: DeviceSelection;
  /** Where this process computes: 'cpu', or on CUDA its GPU ('cuda:<devices[LOCAL_RANK]>'). */
  private computeDevice: string;
  readonly callbacks: Callback[];
  readonly loggers: Logger[];
  readonly defaultRootDir: string;
  private readonly options: TrainerOptions;
  private readonly out: ProgressOutput;
  private readonly progress: ProgressBar | null;

  currentEpoch = 0;
  globalStep = 0;
  /** Batches of the current epoch already trained (non-zero only while resuming mid-epoch). */
  private batchInEpoch = 0;
  /** True between an epoch's end and the next epoch's start. */
  private epochDone = false;
  /** The latest epoch-level values (and step values of step-only metrics), by name. */
  callbackMetrics = new Map<string, number>();
  history: Record<string, number>[] = [];
  optimizer: Optimizer | null = null;
  scheduler: LRScheduler | null = null;
  private schedulerInterval: 'step' | 'epoch' = 'epoch';
  private module: LightningModule | null = null;
  private metadata: CheckpointMetadata = {};
  private stopMessage: string | null = null;
  private interruptRequested = false;
  private skipped = 0;
  private readonly distributed: boolean;
  /** A plain script asked for several devices: fit() starts the other ranks and this process becomes rank 0. */
  private launchPeersAtFit: boolean;
  private group: ProcessGroup | null = null;
  /** The training loader of the running fit(). */
  private trainLoader: Loader | null = null;
  private ddp: DistributedDataParallel | null = null;

  constructor(options: TrainerOptions = {}) {
    this.options = options;
    this.maxEpochs = options.maxEpochs ?? 1;
    if (!Number.isInteger(this.maxEpochs) || this.maxEpochs < 1) throw new RangeError(`Trainer: maxEpochs must be a positive integer, got ${options.maxEpochs}`);
    this.maxSteps = options.maxSteps ?? Infinity;
    if (!(this.maxSteps > 0)) throw new RangeError(`Trainer: maxSteps must be > 0, got ${options.maxSteps}`);
    this.device = resolveAccelerator(options.accelerator ?? 'cpu');
    this.devices = resolveDevices(this.device, options.devices, this.device === 'cuda' ? cuda.deviceCount() : 0);
    this.computeDevice = this.devices.gpus ? `cuda:${this.devices.gpus[0]}` : 'cpu';
    this.precisionPlugin = new PrecisionPlugin(options.precision ?? '32', this.device);
    for (const key of ['limitTrainBatches', 'limitValBatches', 'limitTestBatches'] as const) checkLimit(key, options[key]);
    if (options.gradientClipVal !== undefined && !(options.gradientClipVal > 0)) throw new RangeError(`Trainer: gradientClipVal must be > 0, got ${options.gradientClipVal}`);
    if (options.gradientClipAlgorithm !== undefined && !['norm', 'value'].includes(options.gradientClipAlgorithm)) {
      throw new TypeError(`Trainer: gradientClipAlgorithm must be 'norm' or 'value', got ${JSON.stringify(options.gradientClipAlgorithm)}`);
    }
    if (options.onNonFiniteLoss !== undefined && !['error', 'skip'].includes(options.onNonFiniteLoss)) {
      throw new TypeError(`Trainer: onNonFiniteLoss must be 'error' or 'skip', got ${JSON.stringify(options.onNonFiniteLoss)}`);
    }
    const mode = resolveStrategy(options, this.devices.count);
    this.distributed = mode !== 'single';
    this.launchPeersAtFit = mode === 'launch-peers';
    this.defaultRootDir = options.defaultRootDir ?? '';
    this.callbacks = [...(options.callbacks ?? [])];
    for (const c of this.callbacks) if (!(c instanceof Callback)) throw new TypeError('Trainer: every callback must extend Callback');
    if (this.defaultRootDir && (options.enableCheckpointing ?? true) && !this.callbacks.some((c) => c instanceof ModelCheckpoint)) {
      this.callbacks.push(new ModelCheckpoint());
    }
    const logger = options.logger;
    this.loggers = logger === false ? [] : logger === undefined ? (this.defaultRootDir ? [new CSVLogger(this.defaultRootDir), new JSONLLogger(this.defaultRootDir)] : []) : Array.isArray(logger) ? logger : [logger];
    // In data-parallel runs only rank 0 prints, logs and writes files.
    const quiet = this.distributed && Number(process.env.RANK ?? 0) !== 0;
    if (quiet) this.loggers.length = 0;
    this.out = quiet ? { write: () => true } : (options.output ?? process.stdout);
    this.progress = (options.enableProgressBar ?? true) && !quiet ? new ProgressBar(this.out) : null;
    applyGlobalSwitches(options);  // last: a Trainer refused for another option changes nothing
  }

  get precision(): Precision { return this.precisionPlugin.precision; }

  /**
   * Joins (or adopts) the process group and picks this rank's device: on CUDA
   * its GPU of `devices`, with NCCL when possible (ddpPlacement).
   */
  private joinProcessGroup(): ProcessGroup {
    const placement = ddpPlacement(this.device, {
      localRank: Number(process.env.LOCAL_RANK ?? 0), gpus: this.devices.gpus, nccl: ncclAvailable(),
    }, this.options.ddp?.processGroupBackend);
    const deviceIndex = placement.device.startsWith('cuda:') ? Number(placement.device.slice(5)) : undefined;
    const group = isInitialized() ? getDefaultGroup() : initProcessGroup({ backend: placement.backend, deviceIndex });
    this.group = group;
    this.computeDevice = group.backend === 'nccl' ? group.device : placement.device;
    return group;
  }

  /** Moves the module to this process's device; a GPU becomes current, so tensors made on 'cuda' land there too. */
  private placeModule(module: Module): void {
    if (this.computeDevice.startsWith('cuda:')) cuda.setDevice(Number(this.computeDevice.slice(5)));
    module.to(this.computeDevice);
  }

  /** Starts local ranks 1 … devices − 1 running this same script; this process takes local rank 0 (NODE_RANK picks the node). */
  private async startPeers(): Promise<void> {
    const devices = this.devices.count;
    const nodeRank = Number(process.env.NODE_RANK ?? 0);
    const { threads } = await launchPeers({ nprocs: devices, numNodes: this.options.numNodes ?? 1, nodeRank, stdout: this.out });
    if (threads !== undefined) setNumThreads(threads);
    this.launchPeersAtFit = false;
    this.print(`started ${devices - 1} more process${devices > 2 ? 'es' : ''} running this script as ranks ` +
      `${nodeRank * devices + 1}–${nodeRank * devices + devices - 1} (world size ${process.env.WORLD_SIZE})`);
  }

  /** Asks the loop to stop after the current epoch (used by EarlyStopping). */
  requestStop(reason: string): void {
    this.stopMessage ??= reason;
  }

  get shouldStop(): boolean { return this.stopMessage !== null; }

  /** This process's rank (0 when not data-parallel). */
  get globalRank(): number { return this.group?.rank ?? 0; }

  get worldSize(): number { return this.group?.worldSize ?? 1; }

  /** What Ctrl-C does: finish the current step, write `checkpoints/interrupted.ckpt` and return from fit. */
  interrupt(): void {
    this.interruptRequested = true;
  }

  /** Sends values straight to the loggers at the current step (LearningRateMonitor). */
  logMetrics(metrics: Record<string, number>): void {
    for (const l of this.loggers) l.logMetrics(metrics, this.globalStep);
  }

  /** Writes a line where the Trainer reports (rank 0 only in data-parallel runs). */
  print(line: string): void {
    this.out.write(line + '\n');
  }

  /** (Re)creates the optimizer and scheduler from module.configureOptimizers(), freeing earlier ones. */
  private configureOptimizers(module: LightningModule): void {
    this.optimizer?.dispose();
    const config = module.configureOptimizers();
    this.optimizer = config.optimizer;
    this.scheduler = config.scheduler ?? null;
    this.schedulerInterval = config.schedulerInterval ?? 'epoch';
  }

  /**
   * The learning rate a tuner chose, as Lightning sets it: the module's `lr`
   * when it has one, then fresh optimizers from configureOptimizers(); else
   * every parameter group's lr.
   */
  setLearningRate(module: LightningModule, lr: number): void {
    if (!(lr > 0) || !Number.isFinite(lr)) throw new RangeError(`Trainer.setLearningRate: expected a learning rate > 0, got ${lr}`);
    const holder = module as unknown as { lr?: unknown };
    if (typeof holder.lr === 'number') {
      holder.lr = lr;
      this.configureOptimizers(module);
    } else if (this.optimizer) {
      for (const group of this.optimizer.paramGroups) group.lr = lr;
    }
  }

  /**
   * A learning-rate range test (for LearningRateFinder's onFitStart): up to
   * `steps` optimizer steps on the training data, step i at rate lrAt(i), each
   * loss (null when not finite; averaged over the ranks) handed to `record`,
   * which returns false to stop. Then the module's weights and buffers come
   * back and the optimizer and scheduler are made afresh, as Lightning does.
   */
  async lrRangeTest(module: LightningModule, steps: number, lrAt: (step: number) => number,
    record: (lr: number, loss: number | null) => boolean): Promise<void> {
    const loader = this.trainLoader;
    if (!this.optimizer || !loader) throw new Error('Trainer.lrRangeTest: runs while fit() starts (from a callback\'s onFitStart)');
    const saved = new Map([...module.stateDict()].map(([name, t]) => {
      const copy = keep(t.clone());
      t.dispose();
      return [name, copy];
    }));
    const skipped = this.skipped;
    const scalerState = this.precisionPlugin.scaler?.stateDict();
    const sink = module.logSink;
    module.logSink = null;
    module.train();
    try {
      let step = 0;
      while (step < steps) {
        let batches = 0;
        for await (const batch of loader) {
          batches++;
          const lr = lrAt(step);
          for (const group of this.optimizer.paramGroups) group.lr = lr;
          let loss: number | null;
          try {
            loss = this.trainingStep(module, batch, step);
          } catch (error) {
            if (!(error instanceof NonFiniteLossError)) throw error;
            loss = null;
          } finally {
            batch.x.dispose();
            batch.y.dispose();
          }
          if (this.group) loss = scope(() => this.group!.allReduce(tensor([loss ?? NaN], { dtype: 'float64' }), 'avg').item());
          if (loss !== null && !Number.isFinite(loss)) loss = null;
          step++;
          const goOn = record(lr, loss);
          const stop = this.anyRank(!goOn);
          await yieldToEventLoop();
          if (stop || step >= steps) {
            step = steps;
            break;
          }
        }
        if (batches === 0) break;
      }
    } finally {
      noGrad(() => module.loadStateDict(saved));
      for (const t of saved.values()) t.dispose();
      this.skipped = skipped;
      // Metric objects the module updated during the test (the seed's self.train_acc) start the run empty.
      for (const value of Object.values(module)) if (isLoggableMetric(value)) value.reset();
      if (scalerState) this.precisionPlugin.scaler!.loadStateDict(scalerState);
      module.logSink = sink;
      this.configureOptimizers(module);
    }
  }

  // ---- fit --------------------------------------------------------------------
  async fit(module: LightningModule, data: DataModuleLike, options: { ckptPath?: string } = {}): Promise<FitResult> {
    if (!(module instanceof LightningModule)) throw new TypeError('Trainer.fit: expected a LightningModule');
    const start = performance.now();
    this.module = module;
    this.metadata = { ...(data.checkpointMetadata?.() ?? {}), ...(this.options.checkpointMetadata ?? {}) };
    if (this.options.seed !== undefined) manualSeed(this.options.seed);
    if (this.distributed) {
      if (this.launchPeersAtFit) await this.startPeers();
      const group = this.joinProcessGroup();
      data.distribute?.({ rank: group.rank, worldSize: group.worldSize });
    }
    this.placeModule(module);
    this.configureOptimizers(module);
    if (options.ckptPath) this.restore(options.ckptPath);
    if (this.group) {
      // Every rank starts from rank 0's weights; backward averages the gradients over the ranks.
      this.ddp?.destroy();
      const { processGroupBackend: _backend, ...ddpOptions } = this.options.ddp ?? {};
      this.ddp = new DistributedDataParallel(module, { ...ddpOptions, group: this.group });
    }
    for (const l of this.loggers) l.resume(this.globalStep);
    if (this.options.enableModelSummary ?? true) this.print(fitSummary(module));
    const trainLoader = data.trainDataloader();
    this.trainLoader = trainLoader;
    const valLoader = data.valDataloader?.() ?? null;
    if (this.group) for (const loader of [trainLoader, valLoader]) checkSharded(loader, this.group);
    const stopSignals = (this.options.handleSignals ?? true) ? this.catchInterrupt() : () => {};
    let interruptedCheckpoint: string | null = null;
    let stopReason = 'completed';
    this.print(`training on ${this.computeDevice} (precision ${this.precision}): ${limitBatches(trainLoader.length, this.options.limitTrainBatches)} batches per epoch, ` +
      `epochs ${this.currentEpoch + 1}–${this.maxEpochs}${this.defaultRootDir ? `, run folder ${this.defaultRootDir}` : ''}`);
    try {
      for (const c of this.callbacks) await c.onFitStart(this, module);
      while (this.currentEpoch < this.maxEpochs) {
        const finished = await this.trainEpoch(module, trainLoader);
        if (finished) {
          const validate = valLoader !== null && (this.currentEpoch + 1) % (this.options.checkValEveryNEpoch ?? 1) === 0;
          if (validate) {
            const values = await this.evaluate(module, valLoader, 'validate', this.options.limitValBatches);
            for (const [k, v] of values) this.callbackMetrics.set(k, v);
            for (const c of this.callbacks) await c.onValidationEnd(this, module);
          }
          if (this.scheduler && this.schedulerInterval === 'epoch') this.scheduler.step();
          this.endEpoch(start);
          if (this.defaultRootDir && this.globalRank === 0) writeTrainingCurves(join(this.defaultRootDir, 'plots'), this.history);
          // From here a checkpoint resumes at the next epoch's first batch.
          this.epochDone = true;
          for (const c of this.callbacks) await c.onTrainEpochEnd(this, module);
          for (const l of this.loggers) l.save();
          this.currentEpoch++;
          this.batchInEpoch = 0;
          this.epochDone = false;
        }
        if (this.interruptRequested) {
          interruptedCheckpoint = join(this.defaultRootDir || '.', 'checkpoints', 'interrupted.ckpt');
          await this.saveCheckpoint(interruptedCheckpoint);
          this.print(`interrupted at epoch ${this.currentEpoch + 1}, batch ${this.batchInEpoch}, step ${this.globalStep}: wrote ${interruptedCheckpoint}; continue with ckptPath (--resume)`);
          stopReason = 'interrupted';
          break;
        }
        if (this.globalStep >= this.maxSteps) { stopReason = 'max_steps'; break; }
        if (this.stopMessage !== null) { stopReason = this.stopMessage; this.print(`stopping: ${this.stopMessage}`); break; }
      }
      module.eval();
      for (const c of this.callbacks) await c.onFitEnd(this, module);
      if (stopReason !== 'interrupted') this.printFinalTable();
    } finally {
      stopSignals();
      this.progress?.end();
      for (const l of this.loggers) l.finalize();
      await trainLoader.close?.();
      await valLoader?.close?.();
      this.trainLoader = null;
    }
    return {
      epochs: this.currentEpoch, globalStep: this.globalStep, metrics: Object.fromEntries(this.callbackMetrics), history: this.history,
      stopReason, interrupted: stopReason === 'interrupted', interruptedCheckpoint, seconds: (performance.now() - start) / 1000, skippedBatches: this.skipped,
    };
  }

  /** Trains one epoch; false when it stopped early (interrupt or maxSteps). */
  private async trainEpoch(module: LightningModule, loader: Loader): Promise<boolean> {
    const collector = new MetricCollector();
    module.logSink = collector;
    module.stage = 'train';
    module.train();
    module.onTrainEpochStart(this.currentEpoch);
    for (const c of this.callbacks) await c.onTrainEpochStart(this, module);
    const total = limitBatches(loader.length, this.options.limitTrainBatches);
    const first = this.batchInEpoch;
    if (isPositioned(loader)) loader.resumeAt(this.currentEpoch, first);
    else if (first > 0) throw new Error('Trainer: resuming needs a loader with resumeAt(epoch, batch) (the library\'s DataLoader has it)');
    this.progress?.begin(`epoch ${this.currentEpoch + 1}/${this.maxEpochs}`, total, first);
    const epochStart = performance.now();
    let seen = 0;
    let index = first;
    if (index < total) {
      for await (const batch of loader) {
        const loss = this.trainingStep(module, batch, index);
        seen += batch.y.shape[0];
        batch.x.dispose();
        batch.y.dispose();
        index++;
        this.batchInEpoch = index;
        if (loss !== null) {
          this.globalStep++;
          if (this.globalStep % (this.options.logEveryNSteps ?? 50) === 0) this.logMetrics(collector.stepForLoggers());
          for (const c of this.callbacks) await c.onTrainBatchEnd(this, module, loss, index - 1);
        }
        this.progress?.update(index, collector.stepForProgressBar());
        collector.clearStep();
        await yieldToEventLoop();
        // Ranks must stop at the same step: a Ctrl-C seen by any of them stops all.
        this.interruptRequested = this.anyRank(this.interruptRequested);
        if (index >= total || this.globalStep >= this.maxSteps || this.interruptRequested) break;
      }
    }
    this.progress?.end();
    module.logSink = null;
    if (index < total) {
      collector.resetMetrics();
      return false;
    }
    module.onTrainEpochEnd(this.currentEpoch);
    const epochValues = this.reduced(collector);
    this.callbackMetrics = new Map(epochValues);
    this.callbackMetrics.set('epoch_seconds', (performance.now() - epochStart) / 1000);
    this.callbackMetrics.set('images_per_second', (seen * this.worldSize) / Math.max(1e-9, (performance.now() - epochStart) / 1000));
    this.logMetrics({ ...collector.epochForLoggers(epochValues), epoch: this.currentEpoch });
    collector.resetMetrics();
    return true;
  }

  /** One optimizer step in a scope; returns the loss value, or null when the batch was skipped. */
  private trainingStep(module: LightningModule, batch: Batch, index: number): number | null {
    const optimizer = this.optimizer!;
    return scope(() => {
      const onDevice = this.toDevice(batch);
      module.currentBatchSize = onDevice.y.shape[0];
      let loss: Tensor;
      this.ddp?.preForward();
      try {
        loss = this.precisionPlugin.forward(() => module.trainingStep(onDevice, index));
      } catch (error) {
        // The library's losses refuse NaN logits: that is the same diverged step as a NaN loss.
        if (error instanceof NonFiniteValueError) return this.nonFiniteLoss(index, `NaN (${error.message})`);
        throw error;
      }
      if (!(loss instanceof Tensor) || loss.numel() !== 1) throw new TypeError('trainingStep must return the loss as a one-element tensor');
      const value = loss.item();
      // All ranks skip (or stop) together, or the others would wait for this one's gradients.
      if (this.anyRank(!Number.isFinite(value))) return this.nonFiniteLoss(index, String(value));
      optimizer.zeroGrad();
      const backwardOn = this.precisionPlugin.lossForBackward(loss);
      if (this.ddp) {
        this.ddp.postForward(loss);
        this.ddp.backward(backwardOn);
      } else {
        backwardOn.backward();
      }
      this.clipGradients(module, optimizer);
      this.precisionPlugin.optimizerStep(optimizer);
      if (this.scheduler && this.schedulerInterval === 'step') this.scheduler.step();
      return value;
    });
  }

  /** A NaN/Inf loss: stop with the step named, or skip the batch (returns null) when asked to. */
  private nonFiniteLoss(index: number, value: string): null {
    const where = `epoch ${this.currentEpoch}, batch ${index} (global step ${this.globalStep + 1})`;
    if ((this.options.onNonFiniteLoss ?? 'error') === 'error') {
      throw new NonFiniteLossError(`the training loss is ${value} at ${where}; training stopped. Lower the learning rate, check the data, ` +
        "or pass onNonFiniteLoss: 'skip' (--on-nan skip) to skip such batches");
    }
    this.skipped++;
    this.print(`warning: skipped the batch at ${where}: the loss is ${value}`);
    return null;
  }

  private clipGradients(module: Module, optimizer: Optimizer): void {
    const clip = this.options.gradientClipVal;
    if (clip === undefined) return;
    this.precisionPlugin.unscaleGradients(optimizer);  // clip the true gradients, not the loss-scaled ones
    if ((this.options.gradientClipAlgorithm ?? 'norm') === 'norm') clipGradNorm_(module.parameters(), clip);
    else clipGradValue_(module.parameters(), clip);
  }

  private toDevice(batch: Batch): Batch {
    if (this.computeDevice === 'cpu') return batch;
    // Asynchronous when the loader pinned the batch; a pageable batch is copied synchronously either way.
    const device = this.computeDevice;
    return { x: batch.x.to({ device, nonBlocking: true }), y: batch.y.to({ device, nonBlocking: true }) };
  }

  // ---- evaluation ------------------------------------------------------------------
  private async evaluate(module: LightningModule, loader: Loader, stage: Stage, limit: number | undefined): Promise<Map<string, number>> {
    const collector = new MetricCollector();
    module.logSink = collector;
    module.stage = stage;
    module.eval();
    module.onValidationEpochStart();
    const total = limitBatches(loader.length, limit);
    this.progress?.begin(stage === 'test' ? 'testing' : 'validating', total);
    let index = 0;
    if (total > 0) {
      for await (const batch of loader) {
        noGrad(() => scope(() => {
          const onDevice = this.toDevice(batch);
          module.currentBatchSize = onDevice.y.shape[0];
          const run = () => (stage === 'test' ? module.testStep(onDevice, index) : module.validationStep(onDevice, index));
          this.precisionPlugin.forward(run);
        }));
        batch.x.dispose();
        batch.y.dispose();
        index++;
        this.progress?.update(index, {});
        await yieldToEventLoop();
        if (index >= total) break;
      }
    }
    this.progress?.end();
    module.onValidationEpochEnd();
    module.logSink = null;
    const values = this.reduced(collector);
    collector.resetMetrics();
    return values;
  }

  /** Epoch means, averaged over the ranks (weighted by the samples each saw) in data-parallel runs. */
  private reduced(collector: MetricCollector): Map<string, number> {
    const local = collector.epoch();
    if (!this.group) return local;
    return new Map(Object.entries(reduceMetrics(Object.fromEntries(local), collector.weights(), this.group)));
  }

  /** True on every rank when `flag` is true on any (`flag` itself when not data-parallel). */
  private anyRank(flag: boolean): boolean {
    const group = this.group;
    if (!group) return flag;
    return scope(() => group.allReduce(tensor([flag ? 1 : 0]), 'max').item() > 0);
  }

  /** Runs the validation loop alone; prints and returns its metrics. */
  async validate(module: LightningModule, data: DataModuleLike | Loader, options: { stage?: 'validate' | 'test' } = {}): Promise<Record<string, number>> {
    const stage = options.stage ?? 'validate';
    const loader = isLoader(data) ? data : stage === 'test' ? (data.testDataloader?.() ?? data.valDataloader?.() ?? null) : (data.valDataloader?.() ?? null);
    if (loader === null) throw new Error(`Trainer.${stage}: the data module has no ${stage === 'test' ? 'test or validation' : 'validation'} loader`);
    this.placeModule(module);
    try {
      const values = await this.evaluate(module, loader, stage, stage === 'test' ? this.options.limitTestBatches : this.options.limitValBatches);
      const result = Object.fromEntries(values);
      this.print(metricsTable(stage === 'test' ? 'Test metric' : 'Validate metric', result));
      return result;
    } finally {
      if (!isLoader(data)) await loader.close?.();
    }
  }

  /** Runs the test loop (module.testStep); prints and returns its metrics. */
  test(module: LightningModule, data: DataModuleLike | Loader): Promise<Record<string, number>> {
    return this.validate(module, data, { stage: 'test' });
  }

  // ---- epoch bookkeeping -------------------------------------------------------------
  private endEpoch(fitStart: number): void {
    const row: Record<string, number> = { epoch: this.currentEpoch + 1, step: this.globalStep, ...Object.fromEntries(this.callbackMetrics) };
    row.seconds = (performance.now() - fitStart) / 1000;
    this.history.push(row);
    const shown = Object.fromEntries([...this.callbackMetrics].filter(([k]) => k !== 'epoch_seconds' && k !== 'images_per_second'));
    this.print(`epoch ${this.currentEpoch + 1}/${this.maxEpochs} · step ${this.globalStep} · ${formatMetrics(shown)} · ` +
      `${(this.callbackMetrics.get('epoch_seconds') ?? 0).toFixed(1)} s (${(this.callbackMetrics.get('images_per_second') ?? 0).toFixed(1)} img/s)`);
    const valMetrics = Object.fromEntries([...this.callbackMetrics].filter(([k]) => k.startsWith('val_')));
    if (Object.keys(valMetrics).length > 0) this.logMetrics({ ...valMetrics, epoch: this.currentEpoch });
  }

  private printFinalTable(): void {
    const val = Object.fromEntries([...this.callbackMetrics].filter(([k]) => k.startsWith('val_')));
    if (Object.keys(val).length > 0) this.print(metricsTable('Validate metric', val));
  }

  // ---- checkpoints -------------------------------------------------------------------
  /** The optimizer, scheduler, loss scaler and callbacks whose state a checkpoint carries. */
  private trainingParts(): TrainingParts {
    return { optimizer: this.optimizer!, scheduler: this.scheduler, precision: this.precisionPlugin, callbacks: this.callbacks };
  }

  /** Writes a training checkpoint (atomically) of the state at this point of the loop. */
  async saveCheckpoint(path: string): Promise<void> {
    if (this.globalRank !== 0) return; // one writer in data-parallel runs
    const module = this.module;
    if (!module || !this.optimizer) throw new Error('Trainer.saveCheckpoint: nothing to save before fit() has started');
    mkdirSync(dirname(path), { recursive: true });
    const position = {
      epoch: this.epochDone ? this.currentEpoch + 1 : this.currentEpoch,
      batchInEpoch: this.epochDone ? 0 : this.batchInEpoch,
      globalStep: this.globalStep,
    };
    const { entries, owned } = encodeTrainingState(module, this.trainingParts(), { position, history: this.history, callbackMetrics: this.callbackMetrics });
    const metadata: CheckpointMetadata = { ...this.metadata, epoch: this.currentEpoch, global_step: this.globalStep, metrics: Object.fromEntries(this.callbackMetrics) };
    try {
      saveCheckpoint(path, checkpointModel(module).model, metadata, entries);
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  /** Loads a training checkpoint into the module, optimizer, scheduler, callbacks and loop counters. */
  private restore(path: string): void {
    const { state, training } = readCheckpoint(path);
    try {
      const record = restoreTrainingState(path, this.module!, state, training, this.trainingParts());
      this.history = record.history;
      this.callbackMetrics = record.callbackMetrics;
      this.currentEpoch = record.position.epoch;
      this.batchInEpoch = record.position.batchInEpoch;
      this.globalStep = record.position.globalStep;
      this.print(`resumed from ${path}: epoch ${this.currentEpoch + 1}, batch ${this.batchInEpoch}, step ${this.globalStep}`);
    } finally {
      for (const t of state.values()) t.dispose();
      disposeDeep(training);
    }
  }

  /** Frees the optimizer's state (the module stays the caller's to dispose). */
  dispose(): void {
    this.ddp?.destroy();
    this.ddp = null;
    this.optimizer?.dispose();
    this.optimizer = null;
    this.scheduler = null;
  }

  [Symbol.dispose](): void { this.dispose(); }

  // ---- signals -----------------------------------------------------------------------
  /** The first Ctrl-C asks for a clean stop after the current step; a second one exits at once. Returns the uninstaller. */
  private catchInterrupt(): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.interruptRequested) {
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      this.interruptRequested = true;
      this.out.write(`\n${signal}: finishing the current step, then writing a checkpoint (press Ctrl-C again to quit at once)\n`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
}

const isPositioned = (loader: Loader): loader is PositionedLoader => typeof (loader as Partial<PositionedLoader>).resumeAt === 'function';
const isLoader = (x: unknown): x is Loader => typeof (x as Loader)[Symbol.asyncIterator] === 'function';

/** A data-parallel run needs each loader to hold only this rank's part of the data. */
function checkSharded(loader: Loader | null, group: ProcessGroup): void {
  if (loader instanceof DataLoader && group.worldSize > 1 && (loader.shard === null || loader.shard.worldSize !== group.worldSize)) {
    throw new Error('Trainer: in a data-parallel run the data module must shard its loaders (implement distribute(shard) and pass `shard` to DataLoader); ' +
      'otherwise every rank would train on the whole dataset');
  }
}
