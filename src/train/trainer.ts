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
import { Tensor, cat, cuda, getRngState, keep, manualSeed, ncclAvailable, noGrad, scope, setNumThreads, setRngState, stack, tensor } from '../torch/index.js';
import { Module } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import { DataLoader } from '../data/index.js';
import type { Batch } from '../data/index.js';
import { DistributedDataParallel, ProcessGroup, getDefaultGroup, initProcessGroup, isInitialized, launchPeers, reduceMetrics } from '../distributed/index.js';
import { Callback } from './callbacks/callback.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { CSVLogger } from './loggers/csv-logger.js';
import { JSONLLogger } from './loggers/jsonl-logger.js';
import type { Logger, LoggerStatus } from './loggers/logger.js';
import { CheckpointMetadata, disposeDeep, readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { TrainingParts, checkpointModel, encodeTrainingState, loadModuleWeights, restoreTrainingState } from './training-state.js';
import { LightningModule, Stage, TrainerFn, isLoggableMetric } from './lightning-module.js';
import { attachModelCallbacks, loadHookState, saveHookState } from './hooks.js';
import { MetricCollector } from './epoch-metrics.js';
import { runEvaluationLoop } from './evaluation-loop.js';
import { ProgressBar, ProgressOutput, formatMetrics } from './progress.js';
import { metricsTable } from './metrics-table.js';
import { writeTrainingCurves } from './metric-plots.js';
import { PrecisionPlugin } from './precision.js';
import { fitSummary } from './fit-summary.js';
import { applyGlobalSwitches, checkLimit, checkLoopOptions, ddpPlacement, limitBatches, resolveAccelerator, resolveDevices, resolveMaxEpochs, resolveStrategy } from './trainer-options.js';
import { accumulationWindow, isValCheckBatch, valCheckBatch } from './accumulation.js';
import { AnyScheduler, SchedulerSlot } from './schedulers.js';
import { readConfiguredOptimizers } from './configured-optimizers.js';
import { ManualOptimization } from './manual-optimization.js';
import { AutomaticOptimization, NonFiniteLossError } from './automatic-optimization.js';
import { concatPredictions, predictBatches, resolveCkptPath } from './predict.js';
import { catchInterrupt } from './interrupt.js';
import { resolveDebugRuns } from './debug-runs.js';
import { checkSharded, fitData, isLoader, isPositioned } from './data-source.js';
import type { DataModuleLike, FitData, Loader } from './data-source.js';
import { Timer } from './callbacks/timer.js';
import type { DeviceSelection } from './trainer-options.js';
import type { TrainerOptions } from './trainer-options.js';
export type { Accelerator, Strategy, TrainerOptions } from './trainer-options.js';
import type { Precision } from './precision.js';
export type { Precision } from './precision.js';

export type { Loader, PositionedLoader, DataModuleLike } from './data-source.js';

export interface FitResult {
  /** Epochs completed (all of them, counting those before a resume; one cut short by maxSteps counts). */
  epochs: number;
  globalStep: number;
  /** The last epoch's training metrics and the latest validation metrics. */
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

export { NonFiniteLossError } from './automatic-optimization.js';

export class Trainer {
  /** Epochs to train; -1: no limit (Lightning's max_epochs). */
  readonly maxEpochs: number;
  readonly maxSteps: number;
  /** Batches per optimizer step (Lightning's accumulate_grad_batches). */
  private accumulate: number;
  /** Lightning's val_check_interval: a fraction of the epoch, or a batch count (default 1.0: at the epoch's end). */
  readonly valCheckInterval: number;
  /** Validate every N epochs (null: every valCheckInterval batches across epochs). */
  readonly checkValEveryNEpoch: number | null;
  /** During fit: whether there is a validation loader with batches to run. */
  hasValidation = false;
  /** During fit: whether a validation has run yet. */
  validationHasRun = false;
  /** True while the validation after an epoch's last batch runs (a checkpoint then is written at the epoch's end instead). */
  isLastBatch = false;
  /** True while the sanity check's validation batches run before training (Lightning's sanity_checking). */
  sanityChecking = false;
  /** Batches per loop of a fastDevRun (null otherwise): checkpoints and early stopping stand aside. */
  readonly fastDevRun: number | null;
  /** overfitBatches when set. */
  readonly overfitBatches: number | null;
  /** Whether the training batch under way is one whose step metrics go to the loggers. */
  private logsThisBatch = false;
  /** Whether the stop-request-before-minimum line was printed. */
  private minimumNoticePrinted = false;
  private readonly epochLimit: number;
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
  /** Optimizer steps taken (every optimizer's, under manual optimization), Lightning's global_step. */
  globalStep = 0;
  /**
   * The loggers' step, Lightning's batches-that-stepped: one per optimizer
   * step under automatic optimization (= globalStep), one per batch under
   * manual optimization, however many optimizers stepped in it.
   */
  private loggingStep = 0;
  /** Batches of the current epoch already trained (non-zero only while resuming mid-epoch). */
  private batchInEpoch = 0;
  /** True between an epoch's end and the next epoch's start. */
  private epochDone = false;
  /** The latest epoch-level values by name: this epoch's training values, the latest validation's values. */
  callbackMetrics = new Map<string, number>();
  /** The names in callbackMetrics computed during the current epoch (training epoch values, validations run in it). */
  private freshMetrics = new Set<string>();
  /** The last checkpoint this Trainer wrote (ckptPath 'last' falls back to it). */
  private lastSavedPath = '';
  history: Record<string, number>[] = [];
  /** The optimizers configureOptimizers() returned, in order (several only under manual optimization). */
  optimizers: Optimizer[] = [];
  /** Their schedulers, with when the Trainer steps them (under automatic optimization). */
  private schedulerSlots: SchedulerSlot[] = [];
  /** The module's manual-optimization host (also what this.optimizers() answers in automatic mode). */
  private optimization: ManualOptimization | null = null;
  private readonly automatic: AutomaticOptimization;
  private module: LightningModule | null = null;
  private metadata: CheckpointMetadata = {};
  private stopMessage: string | null = null;
  private interruptRequested = false;
  private readonly distributed: boolean;
  /** A plain script asked for several devices: fit() starts the other ranks and this process becomes rank 0. */
  private launchPeersAtFit: boolean;
  private group: ProcessGroup | null = null;
  /** The training loader of the running fit(). */
  private trainLoader: Loader | null = null;
  private ddp: DistributedDataParallel | null = null;

  constructor(given: TrainerOptions = {}) {
    const debug = resolveDebugRuns(given);
    const options = debug.options;
    this.fastDevRun = debug.fastDevRun;
    this.overfitBatches = debug.overfitBatches;
    this.options = options;
    this.epochLimit = resolveMaxEpochs(options);
    this.maxEpochs = Number.isFinite(this.epochLimit) ? this.epochLimit : -1;
    this.maxSteps = options.maxSteps === undefined || options.maxSteps === -1 ? Infinity : options.maxSteps;
    if (!(Number.isInteger(this.maxSteps) && this.maxSteps > 0) && this.maxSteps !== Infinity) throw new RangeError(`Trainer: maxSteps must be a positive integer or -1, got ${options.maxSteps}`);
    checkLoopOptions(options);
    this.accumulate = options.accumulateGradBatches ?? 1;
    this.valCheckInterval = options.valCheckInterval ?? 1;
    this.checkValEveryNEpoch = options.checkValEveryNEpoch === undefined ? 1 : options.checkValEveryNEpoch;
    this.device = resolveAccelerator(options.accelerator ?? 'auto');
    this.devices = resolveDevices(this.device, options.devices, this.device === 'cuda' ? cuda.deviceCount() : 0);
    this.computeDevice = this.devices.gpus ? `cuda:${this.devices.gpus[0]}` : 'cpu';
    this.precisionPlugin = new PrecisionPlugin(options.precision ?? '32', this.device);
    for (const key of ['limitTrainBatches', 'limitValBatches', 'limitTestBatches', 'limitPredictBatches'] as const) checkLimit(key, options[key]);
    for (const key of ['minEpochs', 'minSteps', 'reloadDataloadersEveryNEpochs'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new RangeError(`Trainer: ${key} must be a whole number ≥ 0, got ${value}`);
    }
    const sanity = options.numSanityValSteps;
    if (sanity !== undefined && !(Number.isInteger(sanity) && sanity >= -1)) throw new RangeError(`Trainer: numSanityValSteps must be a whole number ≥ 0 or -1 (every batch), got ${sanity}`);
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
    // Lightning's max_time: a Timer checking after every batch (a Timer already given keeps its own duration).
    if (options.maxTime !== undefined && !this.callbacks.some((c) => c instanceof Timer)) this.callbacks.push(new Timer({ duration: options.maxTime }));
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
    this.automatic = new AutomaticOptimization({
      trainer: this, precision: this.precisionPlugin, callbacks: this.callbacks, ddp: () => this.ddp, print: (line) => this.print(line),
      anyRank: (flag) => this.anyRank(flag),
      averageOverRanks: (value) => this.averageOverRanks(value),
      describePosition: (index) => `epoch ${this.currentEpoch}, batch ${index} (global step ${this.globalStep + 1})`,
    }, options);
    applyGlobalSwitches(options);  // last: a Trainer refused for another option changes nothing
  }

  get precision(): Precision { return this.precisionPlugin.precision; }

  /** Batches per optimizer step (Lightning's accumulate_grad_batches); GradientAccumulationScheduler changes it at epoch starts. */
  get accumulateGradBatches(): number { return this.accumulate; }

  set accumulateGradBatches(n: number) {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`Trainer: accumulateGradBatches must be a positive integer, got ${n}`);
    if (n !== 1 && this.module !== null && !this.module.automaticOptimization) {
      throw new Error('Trainer: accumulateGradBatches is not supported with manual optimization; accumulate in trainingStep (step the optimizer every N batches)');
    }
    const closureOptimizer = this.optimizers.find((o) => o.requiresClosure);
    if (n !== 1 && closureOptimizer) throw new Error(`Trainer: accumulateGradBatches is not supported with ${closureOptimizer.name}, which re-evaluates the loss within a step`);
    this.accumulate = n;
  }

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

  /** Wraps the module in DistributedDataParallel over its trainable parameters (a wrapper made before is destroyed). */
  private wrapDataParallel(module: LightningModule): void {
    this.ddp?.destroy();
    const { processGroupBackend: _backend, ...ddpOptions } = this.options.ddp ?? {};
    this.ddp = new DistributedDataParallel(module, { ...ddpOptions, group: this.group! });
  }

  /**
   * Under DDP, parameters made trainable after the wrapper was built (a
   * backbone unfrozen by BackboneFinetuning) would train on each rank's own
   * gradients: the wrapper is rebuilt over the new set. (PyTorch's DDP leaves
   * them unsynchronized.) Every rank unfreezes at the same epoch, so all rebuild together.
   */
  private followTrainableParameters(module: LightningModule): void {
    if (!this.ddp) return;
    const trainable = module.parameters().filter((p) => p.requiresGrad);
    const reduced = new Set(this.ddp.reducedParameters);
    if (trainable.length === reduced.size && trainable.every((p) => reduced.has(p))) return;
    this.print(`the trainable parameters changed (${reduced.size} → ${trainable.length} tensors): DistributedDataParallel rebuilt over them`);
    this.wrapDataParallel(module);
  }

  /** Moves the module to this process's device; a GPU becomes current, so tensors made on 'cuda' land there too. */
  private placeModule(module: Module): void {
    if (this.computeDevice.startsWith('cuda:')) cuda.setDevice(Number(this.computeDevice.slice(5)));
    module.to(this.computeDevice);
    const dtype = this.precisionPlugin.parameterDtype;
    if (dtype) module.to(dtype);
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

  /**
   * Whether the current training batch's values go to the loggers (every
   * logEveryNSteps batches, or when stopping), Lightning's should_update_logs:
   * callbacks that log per batch (DeviceStatsMonitor) follow it.
   */
  get shouldUpdateLogs(): boolean { return this.logsThisBatch || this.shouldStop; }

  /** This process's rank (0 when not data-parallel). */
  get globalRank(): number { return this.group?.rank ?? 0; }

  get worldSize(): number { return this.group?.worldSize ?? 1; }

  /** What Ctrl-C does: finish the current step, write `checkpoints/interrupted.ckpt` and return from fit. */
  interrupt(): void {
    this.interruptRequested = true;
  }

  /** Sends values straight to the loggers at the current step (LearningRateMonitor). */
  logMetrics(metrics: Record<string, number>): void {
    for (const l of this.loggers) l.logMetrics(metrics, this.loggingStep);
  }

  /** Writes a line where the Trainer reports (rank 0 only in data-parallel runs). */
  print(line: string): void {
    this.out.write(line + '\n');
  }

  /** The first (usually the only) optimizer, null before fit. */
  get optimizer(): Optimizer | null { return this.optimizers[0] ?? null; }

  /** The first scheduler, null when none. */
  get scheduler(): AnyScheduler | null { return this.schedulerSlots[0]?.scheduler ?? null; }

  /** The schedulers with their configs (interval, frequency, monitor, name), in configureOptimizers() order. */
  get lrSchedulerConfigs(): readonly SchedulerSlot[] { return this.schedulerSlots; }

  /** The training loader of the running fit() (Lightning's train_dataloader); null outside fit. */
  get trainDataloader(): Loader | null { return this.trainLoader; }

  /** (Re)creates the optimizers and schedulers from module.configureOptimizers(), freeing earlier ones. */
  private configureOptimizers(module: LightningModule): void {
    for (const o of this.optimizers) o.dispose();
    const { optimizers, schedulers } = readConfiguredOptimizers(module.configureOptimizers(), module.automaticOptimization);
    this.optimizers = optimizers;
    this.schedulerSlots = schedulers;
    this.optimization = new ManualOptimization({
      trainer: this, precision: this.precisionPlugin, callbacks: this.callbacks, ddp: () => this.ddp, countOptimizerStep: () => { this.globalStep++; },
      averageOverRanks: (value) => this.averageOverRanks(value),
    }, module, optimizers, schedulers.map((slot) => slot.scheduler));
    module.trainerHost = this.optimization;
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
    if (!module.automaticOptimization) throw new Error('Trainer.lrRangeTest: the learning-rate range test needs automatic optimization (it steps the optimizer itself)');
    const restoreWeights = snapshotState(module);
    const skipped = this.automatic.skipped;
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
            loss = this.automatic.trainBatch(module, this.optimizer, () => this.toDevice(batch), step, { first: true, step: true, divisor: 1 }).loss;
          } catch (error) {
            if (!(error instanceof NonFiniteLossError)) throw error;
            loss = null;
          } finally {
            batch.x.dispose();
            batch.y.dispose();
          }
          if (this.group) loss = this.averageOverRanks(loss ?? NaN);
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
      restoreWeights();
      this.automatic.skipped = skipped;
      // Metric objects the module updated during the test (the seed's self.train_acc) start the run empty.
      for (const value of Object.values(module)) if (isLoggableMetric(value)) value.reset();
      if (scalerState) this.precisionPlugin.scaler!.loadStateDict(scalerState);
      module.logSink = sink;
      this.configureOptimizers(module);
    }
  }

  /**
   * setup(stage) or teardown(stage) in Lightning's order: the data module's
   * (its prepareData first, on local rank 0 while the other ranks wait), the callbacks', then the module's.
   */
  private async stageHook(module: LightningModule, which: 'setup' | 'teardown', stage: TrainerFn, data: DataModuleLike | null = null): Promise<void> {
    if (which === 'setup' && data?.prepareData) {
      if (!this.group || Number(process.env.LOCAL_RANK ?? 0) === 0) await data.prepareData();
      this.group?.barrier();
    }
    await data?.[which]?.(stage);
    for (const c of this.callbacks) await c[which](this, module, stage);
    module[which](stage);
  }

  // ---- fit --------------------------------------------------------------------
  /**
   * Trains the module, as Lightning's fit: on a data module, on a training
   * loader and an optional validation loader (`fit(module, train, val)`), or,
   * with no data, on the loaders the module defines (trainDataloader() /
   * valDataloader()). Loaders passed in stay open for the caller.
   */
  fit(module: LightningModule, data?: DataModuleLike, options?: { ckptPath?: string }): Promise<FitResult>;
  fit(module: LightningModule, trainLoader: Loader, valLoader?: Loader | null, options?: { ckptPath?: string }): Promise<FitResult>;
  async fit(module: LightningModule, data?: DataModuleLike | Loader, third?: Loader | null | { ckptPath?: string }, fourth?: { ckptPath?: string }): Promise<FitResult> {
    if (!(module instanceof LightningModule)) throw new TypeError('Trainer.fit: expected a LightningModule');
    const loaders = data !== undefined && isLoader(data);
    const options = (loaders ? fourth : third as { ckptPath?: string } | undefined) ?? {};
    const source = fitData(module, data, loaders ? (third as Loader | null | undefined) ?? null : undefined);
    try {
      return await this.runFit(module, source, options);
    } catch (error) {
      // Lightning's on_exception: every callback hears of the failure, then it propagates.
      for (const c of this.callbacks) await c.onException(this, module, error);
      throw error;
    }
  }

  private async runFit(module: LightningModule, { data, ownsLoaders }: FitData, options: { ckptPath?: string }): Promise<FitResult> {
    const start = performance.now();
    this.module = module;
    module.trainer = this;
    this.metadata = { ...(data.checkpointMetadata?.() ?? {}), ...(this.options.checkpointMetadata ?? {}) };
    if (this.options.seed !== undefined) manualSeed(this.options.seed);
    if (this.distributed) {
      if (this.launchPeersAtFit) await this.startPeers();
      const group = this.joinProcessGroup();
      data.distribute?.({ rank: group.rank, worldSize: group.worldSize });
    }
    this.placeModule(module);
    attachModelCallbacks(this.callbacks, module);
    await this.stageHook(module, 'setup', 'fit', data);
    this.configureOptimizers(module);
    this.checkOptimizationMode(module);
    if (options.ckptPath) this.restore(options.ckptPath);
    // Every rank starts from rank 0's weights; backward averages the gradients over the ranks.
    if (this.group) this.wrapDataParallel(module);
    for (const l of this.loggers) l.resume(this.loggingStep);
    if (Object.keys(module.hparams).length > 0) for (const l of this.loggers) l.logHyperparams(module.hparams);
    if (this.options.enableModelSummary ?? true) this.print(fitSummary(module));
    let { trainLoader, valLoader } = this.loadData(data);
    let loadedAtEpoch = this.currentEpoch;
    if (this.fastDevRun !== null) {
      this.print(`fastDevRun: ${this.fastDevRun} batch${this.fastDevRun > 1 ? 'es' : ''} of each loop; logging, checkpoints and early stopping stand aside`);
    }
    const stopSignals = (this.options.handleSignals ?? true)
      ? catchInterrupt(this.out, () => this.interruptRequested, () => { this.interruptRequested = true; }) : () => {};
    let interruptedCheckpoint: string | null = null;
    let stopReason = 'completed';
    // Lightning's logger.finalize status: 'failed' after an error or an interrupt.
    let loggerStatus: LoggerStatus = 'failed';
    if (this.options.maxEpochs === undefined && this.options.maxSteps === undefined) {
      this.print('maxEpochs was not set: training for up to 1000 epochs (as Lightning); pass maxEpochs (-1: no limit) or maxSteps');
    }
    this.print(`training on ${this.computeDevice} (precision ${this.precision}): ${limitBatches(trainLoader.length, this.options.limitTrainBatches)} batches per epoch, ` +
      `epochs ${this.currentEpoch + 1}–${this.maxEpochs === -1 ? '∞' : this.maxEpochs}${this.defaultRootDir ? `, run folder ${this.defaultRootDir}` : ''}`);
    try {
      for (const c of this.callbacks) await c.onFitStart(this, module);
      module.onFitStart();
      await this.sanityCheck(module, valLoader);
      while (this.currentEpoch < this.epochLimit) {
        const reloadEvery = this.options.reloadDataloadersEveryNEpochs ?? 0;
        if (reloadEvery > 0 && this.currentEpoch - loadedAtEpoch >= reloadEvery) {
          if (ownsLoaders) {
            await trainLoader.close?.();
            await valLoader?.close?.();
          }
          ({ trainLoader, valLoader } = this.loadData(data));
          loadedAtEpoch = this.currentEpoch;
        }
        // 'partial': cut short by maxSteps or a stop request; its epoch end still runs, as in Lightning.
        const outcome = await this.trainEpoch(module, trainLoader, this.hasValidation ? valLoader : null);
        if (outcome !== 'interrupted') await this.finishEpoch(module, start);
        if (this.interruptRequested) {
          interruptedCheckpoint = join(this.defaultRootDir || '.', 'checkpoints', 'interrupted.ckpt');
          await this.saveCheckpoint(interruptedCheckpoint);
          this.print(`interrupted at epoch ${this.currentEpoch + 1}, batch ${this.batchInEpoch}, step ${this.globalStep}: wrote ${interruptedCheckpoint}; continue with ckptPath (--resume)`);
          stopReason = 'interrupted';
          break;
        }
        if (this.globalStep >= this.maxSteps) { stopReason = 'max_steps'; break; }
        if (this.stopAllowed()) { stopReason = this.stopMessage!; this.print(`stopping: ${this.stopMessage}`); break; }
      }
      module.eval();
      for (const c of this.callbacks) await c.onFitEnd(this, module);
      module.onFitEnd();
      if (stopReason !== 'interrupted') {
        this.printFinalTable();
        loggerStatus = 'success';
      }
    } finally {
      stopSignals();
      this.progress?.end();
      for (const l of this.loggers) l.finalize(loggerStatus);
      if (ownsLoaders) {
        await trainLoader.close?.();
        await valLoader?.close?.();
      }
      this.trainLoader = null;
    }
    await this.stageHook(module, 'teardown', 'fit', data);
    return {
      epochs: this.currentEpoch, globalStep: this.globalStep, metrics: Object.fromEntries(this.callbackMetrics), history: this.history,
      stopReason, interrupted: stopReason === 'interrupted', interruptedCheckpoint, seconds: (performance.now() - start) / 1000, skippedBatches: this.automatic.skipped,
    };
  }

  /** The epoch's end after its training batches: schedulers, history, callbacks, loggers; then the next epoch. */
  private async finishEpoch(module: LightningModule, fitStart: number): Promise<void> {
    // Under manual optimization the module steps its schedulers itself (Lightning ignores interval and frequency there).
    if (module.automaticOptimization) {
      for (const slot of this.schedulerSlots) slot.atEpochEnd(this.currentEpoch, this.callbackMetrics, this.freshMetrics, this.validationHasRun || !this.hasValidation);
    }
    this.endEpoch(fitStart);
    if (this.defaultRootDir && this.globalRank === 0 && this.fastDevRun === null) writeTrainingCurves(join(this.defaultRootDir, 'plots'), this.history);
    // From here a checkpoint resumes at the next epoch's first batch.
    this.epochDone = true;
    for (const c of this.callbacks) await c.onTrainEpochEnd(this, module);
    for (const l of this.loggers) l.save();
    this.currentEpoch++;
    this.batchInEpoch = 0;
    this.epochDone = false;
  }

  /**
   * The data module's training and validation loaders (again, when
   * reloadDataloadersEveryNEpochs asks), checked for data-parallel sharding.
   */
  private loadData(data: DataModuleLike): { trainLoader: Loader; valLoader: Loader | null } {
    const trainLoader = data.trainDataloader();
    const valLoader = data.valDataloader?.() ?? null;
    this.trainLoader = trainLoader;
    this.hasValidation = valLoader !== null && limitBatches(valLoader.length, this.options.limitValBatches) > 0;
    if (this.group) for (const loader of [trainLoader, valLoader]) checkSharded(loader, this.group);
    if (this.overfitBatches !== null && trainLoader instanceof DataLoader && trainLoader.shuffle) {
      this.print('overfitBatches: the training loader shuffles; it runs unshuffled so that every epoch sees the same batches');
      trainLoader.shuffle = false;
    }
    return { trainLoader, valLoader };
  }

  /**
   * Lightning's sanity check: numSanityValSteps validation batches before the
   * first training batch, so that a broken validation step fails at once.
   * Nothing is logged or monitored, and the weights and the RNG are left
   * exactly as they were (a resumed run stays exact).
   */
  private async sanityCheck(module: LightningModule, valLoader: Loader | null): Promise<void> {
    const wanted = this.options.numSanityValSteps ?? 2;
    if (wanted === 0 || valLoader === null || !this.hasValidation) return;
    const available = limitBatches(valLoader.length, this.options.limitValBatches);
    const rng = keep(getRngState());
    // Switching to eval and back is not exact for every module (a schedule-free optimizer moves the weights):
    // the mode comes back first (so such an optimizer knows where it is), then the exact weights.
    const wasTraining = module.training;
    const restoreWeights = snapshotState(module);
    this.sanityChecking = true;
    try {
      for (const c of this.callbacks) await c.onSanityCheckStart(this, module);
      await this.evaluate(module, valLoader, 'validate', wanted === -1 ? available : Math.min(wanted, available));
      for (const c of this.callbacks) await c.onSanityCheckEnd(this, module);
    } finally {
      this.sanityChecking = false;
      module.train(wasTraining);
      restoreWeights();
      setRngState(rng);
      rng.dispose();
    }
  }

  /**
   * Whether a stop request may end training now: not before minEpochs epochs
   * and minSteps steps (the request waits until then, as in Lightning).
   */
  private stopAllowed(): boolean {
    if (this.stopMessage === null) return false;
    const minEpochs = this.options.minEpochs ?? 0;
    const minSteps = this.options.minSteps ?? 0;
    if (this.currentEpoch >= minEpochs && this.globalStep >= minSteps) return true;
    if (!this.minimumNoticePrinted) {
      this.minimumNoticePrinted = true;
      this.print(`asked to stop (${this.stopMessage}), but minEpochs=${minEpochs} / minSteps=${minSteps} are not reached: training continues until they are`);
    }
    return false;
  }

  /** Options that only automatic optimization honours are refused under manual optimization, as Lightning does. */
  private checkOptimizationMode(module: LightningModule): void {
    const closureOptimizer = this.optimizers.find((o) => o.requiresClosure);
    if (closureOptimizer && this.precisionPlugin.scaler) {
      throw new Error(`Trainer: ${closureOptimizer.name} re-evaluates the loss within a step, which loss scaling ('16-mixed') cannot follow; use precision '32' or 'bf16-mixed'`);
    }
    // The setter's checks (manual optimization, closure optimizers), now that the module and its optimizers are known.
    this.accumulateGradBatches = this.accumulate;
    if (!module.automaticOptimization && this.options.gradientClipVal !== undefined) {
      throw new Error('Trainer: gradientClipVal is not supported with manual optimization; call this.clipGradients(optimizer, value) in trainingStep');
    }
  }

  private epochLabel(): string {
    return `epoch ${this.currentEpoch + 1}${this.maxEpochs === -1 ? '' : `/${this.maxEpochs}`}`;
  }

  /**
   * Trains one epoch, validating where valCheckInterval says; then its epoch
   * metrics. 'partial' when maxSteps or a stop request ended it early,
   * 'interrupted' (no epoch end) on Ctrl-C / interrupt(). The loop leaves only
   * at accumulation-window boundaries, so an interrupted checkpoint never
   * holds half-accumulated gradients.
   */
  private async trainEpoch(module: LightningModule, loader: Loader, valLoader: Loader | null): Promise<'completed' | 'partial' | 'interrupted'> {
    const collector = new MetricCollector();
    this.freshMetrics = new Set();
    module.logSink = collector;
    module.stage = 'train';
    module.train();
    // Lightning's order: the callbacks, then the module.
    for (const c of this.callbacks) await c.onTrainEpochStart(this, module);
    module.onTrainEpochStart(this.currentEpoch);
    this.followTrainableParameters(module);
    const total = limitBatches(loader.length, this.options.limitTrainBatches);
    const first = this.batchInEpoch;
    if (isPositioned(loader)) loader.resumeAt(this.currentEpoch, first);
    else if (first > 0) throw new Error('Trainer: resuming needs a loader with resumeAt(epoch, batch) (the library\'s DataLoader has it)');
    const acrossEpochs = this.checkValEveryNEpoch === null;
    const validateThisEpoch = valLoader !== null && (acrossEpochs || (this.currentEpoch + 1) % this.checkValEveryNEpoch! === 0);
    const every = validateThisEpoch ? valCheckBatch(total, this.valCheckInterval, acrossEpochs) : Infinity;
    this.progress?.begin(this.epochLabel(), total, first);
    const epochStart = performance.now();
    let seen = 0;
    let index = first;
    if (index < total) {
      for await (const batch of loader) {
        let skipRest = false;
        try {
          this.logsThisBatch = (this.loggingStep + 1) % (this.options.logEveryNSteps ?? 50) === 0;
          for (const c of this.callbacks) await c.onTrainBatchStart(this, module, batch, index);
          // Lightning: on_train_batch_start returning -1 skips the rest of the epoch (its end still runs).
          skipRest = module.onTrainBatchStart(batch, index) === -1;
          if (!skipRest) {
            const logStepBefore = this.loggingStep;
            let loss: number | null;
            if (module.automaticOptimization) {
              const window = accumulationWindow(index, total, this.accumulateGradBatches);
              const result = this.automatic.trainBatch(module, this.optimizer!, () => this.toDevice(batch), index, { ...window, divisor: this.accumulateGradBatches });
              loss = result.loss;
              if (result.stepped) {
                this.globalStep++;
                this.loggingStep++;
                for (const slot of this.schedulerSlots) slot.afterOptimizerStep(this.globalStep, this.callbackMetrics);
              }
            } else {
              // The module steps (and counts) its optimizers itself; a step that returned no loss reports NaN to the hooks.
              loss = this.optimization!.trainBatch(() => this.toDevice(batch), index) ?? NaN;
              this.loggingStep++;
            }
            seen += batch.y.shape[0];
            index++;
            this.batchInEpoch = index;
            const logEvery = this.options.logEveryNSteps ?? 50;
            if (this.loggingStep > logStepBefore && this.loggingStep % logEvery === 0) this.logMetrics(collector.stepForLoggers());
            if (loss !== null) {
              for (const c of this.callbacks) await c.onTrainBatchEnd(this, module, loss, index - 1, batch);
              module.onTrainBatchEnd(loss, batch, index - 1);
            }
          }
        } finally {
          batch.x.dispose();
          batch.y.dispose();
        }
        if (skipRest) break;
        const window = accumulationWindow(index - 1, total, this.accumulateGradBatches);
        this.progress?.update(index, collector.stepForProgressBar());
        collector.clearStep();
        await yieldToEventLoop();
        // Ranks must stop at the same step: a Ctrl-C seen by any of them stops all.
        this.interruptRequested = this.anyRank(this.interruptRequested);
        const last = index >= total;
        if (validateThisEpoch && isValCheckBatch(index - 1, this.currentEpoch * total + index - 1, every, acrossEpochs)) {
          await this.validateInFit(module, valLoader, last);
          module.logSink = collector;
          module.stage = 'train';
          module.train();
          if (!last) this.progress?.begin(this.epochLabel(), total, index);
        }
        if (last) break;
        if (window.step && (this.globalStep >= this.maxSteps || this.interruptRequested || this.stopAllowed())) break;
      }
    }
    this.progress?.end();
    module.logSink = null;
    if (index < total && this.interruptRequested) {
      collector.resetMetrics();
      return 'interrupted';
    }
    module.onTrainEpochEnd(this.currentEpoch);
    const seconds = (performance.now() - epochStart) / 1000;
    const epochValues = this.reduced(collector);
    epochValues.set('epoch_seconds', seconds);
    epochValues.set('images_per_second', (seen * this.worldSize) / Math.max(1e-9, seconds));
    for (const [k, v] of epochValues) {
      this.callbackMetrics.set(k, v);
      this.freshMetrics.add(k);
    }
    epochValues.delete('epoch_seconds');
    epochValues.delete('images_per_second');
    this.logMetrics({ ...collector.epochForLoggers(epochValues), epoch: this.currentEpoch });
    collector.resetMetrics();
    return index < total ? 'partial' : 'completed';
  }

  /** A validation during fit: its values join callbackMetrics and go to the loggers, then onValidationEnd. */
  private async validateInFit(module: LightningModule, valLoader: Loader, last: boolean): Promise<void> {
    this.isLastBatch = last;
    try {
      const values = await this.evaluate(module, valLoader, 'validate', this.options.limitValBatches);
      for (const [k, v] of values) {
        this.callbackMetrics.set(k, v);
        this.freshMetrics.add(k);
      }
      this.validationHasRun = true;
      if (values.size > 0) this.logMetrics({ ...Object.fromEntries(values), epoch: this.currentEpoch });
      for (const c of this.callbacks) await c.onValidationEnd(this, module);
    } finally {
      this.isLastBatch = false;
    }
  }

  private toDevice(batch: Batch): Batch {
    const device = this.computeDevice;
    // Asynchronous when the loader pinned the batch; a pageable batch is copied synchronously either way.
    const moved = device === 'cpu' ? batch : { ...batch, x: batch.x.to({ device, nonBlocking: true }), y: batch.y?.to({ device, nonBlocking: true }) };
    return { ...moved, x: this.precisionPlugin.castInput(moved.x) };
  }

  // ---- evaluation ------------------------------------------------------------------
  /** The validation or test loop on `limit` batches (a count or fraction) of the loader. */
  private evaluate(module: LightningModule, loader: Loader, stage: Stage, limit: number | undefined): Promise<Map<string, number>> {
    return runEvaluationLoop({
      trainer: this, callbacks: this.callbacks, precision: this.precisionPlugin, progress: this.progress,
      toDevice: (batch) => this.toDevice(batch), reduce: (collector) => this.reduced(collector),
    }, module, loader, stage, limitBatches(loader.length, limit));
  }

  /** Epoch means, averaged over the ranks (weighted by the samples each saw) in data-parallel runs. */
  private reduced(collector: MetricCollector): Map<string, number> {
    const local = collector.epoch();
    if (!this.group) return local;
    return new Map(Object.entries(reduceMetrics(Object.fromEntries(local), collector.weights(), this.group)));
  }

  /**
   * `tensor` from every rank stacked into [worldSize, ...shape]; in one
   * process `tensor` itself (LightningModule.allGather, Lightning's all_gather).
   */
  allGather(tensor: Tensor): Tensor {
    const group = this.group;
    if (!group || group.worldSize === 1) return tensor;
    return scope(() => stack(group.allGather(tensor), 0));
  }

  /** The mean of `value` over the ranks (`value` itself when not data-parallel). */
  private averageOverRanks(value: number): number {
    const group = this.group;
    return group ? scope(() => group.allReduce(tensor([value], { dtype: 'float64' }), 'avg').item()) : value;
  }

  /** True on every rank when `flag` is true on any (`flag` itself when not data-parallel). */
  private anyRank(flag: boolean): boolean {
    const group = this.group;
    if (!group) return flag;
    return scope(() => group.allReduce(tensor([flag ? 1 : 0]), 'max').item() > 0);
  }

  /**
   * Runs the validation loop alone; prints and returns its metrics. `ckptPath`
   * first loads a checkpoint's weights: 'best' (the ModelCheckpoint's best), 'last', or a file.
   */
  async validate(module: LightningModule, data: DataModuleLike | Loader, options: { stage?: 'validate' | 'test'; ckptPath?: string } = {}): Promise<Record<string, number>> {
    const stage = options.stage ?? 'validate';
    const dataModule = isLoader(data) ? null : data;
    let loader: Loader | null = null;
    try {
      this.prepareForEvaluation(module, options.ckptPath, `Trainer.${stage}`);
      await this.stageHook(module, 'setup', stage, dataModule);
      loader = dataModule === null ? data as Loader
        : stage === 'test' ? (dataModule.testDataloader?.() ?? dataModule.valDataloader?.() ?? null) : (dataModule.valDataloader?.() ?? null);
      if (loader === null) throw new Error(`Trainer.${stage}: the data module has no ${stage === 'test' ? 'test or validation' : 'validation'} loader`);
      const values = await this.evaluate(module, loader, stage, stage === 'test' ? this.options.limitTestBatches : this.options.limitValBatches);
      await this.stageHook(module, 'teardown', stage, dataModule);
      const result = Object.fromEntries(values);
      this.print(metricsTable(stage === 'test' ? 'Test metric' : 'Validate metric', result));
      return result;
    } finally {
      if (dataModule !== null) await loader?.close?.();
    }
  }

  /** Runs the test loop (module.testStep); prints and returns its metrics. */
  test(module: LightningModule, data: DataModuleLike | Loader, options: { ckptPath?: string } = {}): Promise<Record<string, number>> {
    return this.validate(module, data, { stage: 'test', ckptPath: options.ckptPath });
  }

  /**
   * Lightning's predict: module.predictStep (default: forward of batch.x) on
   * every batch of the loader (or the data module's predictDataloader), in
   * eval mode without gradients. Returns the per-batch outputs, as Lightning
   * does, or with `concat` one tensor of them joined along dimension 0.
   */
  predict(module: LightningModule, data: DataModuleLike | Loader, options: { ckptPath?: string; concat: true }): Promise<Tensor>;
  predict(module: LightningModule, data: DataModuleLike | Loader, options?: { ckptPath?: string; concat?: false }): Promise<unknown[]>;
  async predict(module: LightningModule, data: DataModuleLike | Loader, options: { ckptPath?: string; concat?: boolean } = {}): Promise<unknown[] | Tensor> {
    if (!(module instanceof LightningModule)) throw new TypeError('Trainer.predict: expected a LightningModule');
    const dataModule = isLoader(data) ? null : data;
    const sink = module.logSink;
    let outputs: unknown[];
    let loader: Loader | null = null;
    try {
      this.prepareForEvaluation(module, options.ckptPath, 'Trainer.predict');
      await this.stageHook(module, 'setup', 'predict', dataModule);
      loader = dataModule === null ? data as Loader : (dataModule.predictDataloader?.() ?? null);
      if (loader === null) throw new Error('Trainer.predict: the data module has no predict loader (implement predictDataloader(), or pass a loader)');
      module.logSink = null;
      module.eval();
      this.progress?.begin('predicting', loader.length);
      outputs = await predictBatches(loader, (batch, index) => {
        const onDevice = this.toDevice(batch);
        module.currentBatchSize = onDevice.x.shape[0];
        return this.precisionPlugin.forward(() => module.predictStep(onDevice, index));
      }, (index) => this.progress?.update(index, {}),
      this.options.limitPredictBatches === undefined ? Infinity : limitBatches(loader.length, this.options.limitPredictBatches));
      this.progress?.end();
      await this.stageHook(module, 'teardown', 'predict', dataModule);
    } finally {
      module.logSink = sink;
      if (dataModule !== null) await loader?.close?.();
    }
    return options.concat ? concatPredictions(outputs, cat) : outputs;
  }

  /** Places the module (and its precision) and loads the weights of `ckptPath` when given. */
  private prepareForEvaluation(module: LightningModule, ckptPath: string | undefined, where: string): void {
    module.trainer = this;
    this.placeModule(module);
    if (ckptPath === undefined) return;
    const path = resolveCkptPath(ckptPath, this.callbacks, this.lastSavedPath, where);
    loadModuleWeights(path, module);
    this.print(`${where}: loaded the weights of ${path}`);
  }

  // ---- epoch bookkeeping -------------------------------------------------------------
  /** The epoch's row of the history and its printed line: the values computed in this epoch (validation only where it ran). */
  private endEpoch(fitStart: number): void {
    // Training values first, then validation values (the order of the epoch line and the history's columns).
    const entries = [...this.callbackMetrics].filter(([k]) => this.freshMetrics.has(k));
    const fresh = Object.fromEntries([...entries.filter(([k]) => !k.startsWith('val_')), ...entries.filter(([k]) => k.startsWith('val_'))]);
    const row: Record<string, number> = { epoch: this.currentEpoch + 1, step: this.globalStep, ...fresh };
    row.seconds = (performance.now() - fitStart) / 1000;
    this.history.push(row);
    const shown = Object.fromEntries(Object.entries(fresh).filter(([k]) => k !== 'epoch_seconds' && k !== 'images_per_second'));
    const timing = `${(fresh.epoch_seconds ?? 0).toFixed(1)} s (${(fresh.images_per_second ?? 0).toFixed(1)} img/s)`;
    this.print([this.epochLabel(), `step ${this.globalStep}`, formatMetrics(shown), timing].filter((part) => part !== '').join(' · '));
  }

  private printFinalTable(): void {
    const val = Object.fromEntries([...this.callbackMetrics].filter(([k]) => k.startsWith('val_')));
    if (Object.keys(val).length > 0) this.print(metricsTable('Validate metric', val));
  }

  // ---- checkpoints -------------------------------------------------------------------
  /** The optimizer, scheduler, loss scaler and callbacks whose state a checkpoint carries. */
  private trainingParts(): TrainingParts {
    return { optimizers: this.optimizers, schedulers: this.schedulerSlots.map((slot) => slot.scheduler), precision: this.precisionPlugin, callbacks: this.callbacks };
  }

  /**
   * Writes a training checkpoint (atomically) of the state at this point of
   * the loop; with `weightsOnly` the model and metadata only (Lightning's weights_only).
   */
  async saveCheckpoint(path: string, options: { weightsOnly?: boolean } = {}): Promise<void> {
    if (this.globalRank !== 0) return; // one writer in data-parallel runs
    const module = this.module;
    if (!module || !this.optimizer) throw new Error('Trainer.saveCheckpoint: nothing to save before fit() has started');
    mkdirSync(dirname(path), { recursive: true });
    const metadata: CheckpointMetadata = { ...this.metadata, epoch: this.currentEpoch, global_step: this.globalStep, metrics: Object.fromEntries(this.callbackMetrics) };
    // Lightning's checkpoint["hyper_parameters"].
    if (Object.keys(module.hparams).length > 0) metadata.hyper_parameters = module.hparams;
    if (options.weightsOnly) {
      saveCheckpoint(path, checkpointModel(module).model, metadata);
      this.lastSavedPath = path;
      return;
    }
    const position = {
      epoch: this.epochDone ? this.currentEpoch + 1 : this.currentEpoch,
      batchInEpoch: this.epochDone ? 0 : this.batchInEpoch,
      globalStep: this.globalStep,
      loggingStep: this.loggingStep,
    };
    const hookState = saveHookState(this, module, this.callbacks);
    const { entries, owned } = encodeTrainingState(module, this.trainingParts(), { position, history: this.history, callbackMetrics: this.callbackMetrics });
    entries.set('hook_state', hookState);
    try {
      saveCheckpoint(path, checkpointModel(module).model, metadata, entries);
      this.lastSavedPath = path;
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  /** Loads a training checkpoint into the module, optimizer, scheduler, callbacks and loop counters. */
  private restore(path: string): void {
    const { state, training } = readCheckpoint(path);
    try {
      const record = restoreTrainingState(path, this.module!, state, training, this.trainingParts());
      loadHookState(this, this.module!, this.callbacks, training?.get('hook_state'));
      this.history = record.history;
      this.callbackMetrics = record.callbackMetrics;
      this.currentEpoch = record.position.epoch;
      this.batchInEpoch = record.position.batchInEpoch;
      this.globalStep = record.position.globalStep;
      this.loggingStep = record.position.loggingStep;
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
    for (const o of this.optimizers) o.dispose();
    this.optimizers = [];
    this.schedulerSlots = [];
    if (this.module?.trainerHost === this.optimization) this.module!.trainerHost = null;
    this.optimization = null;
  }

  [Symbol.dispose](): void { this.dispose(); }
}

/** Copies the module's weights and buffers; the returned function puts them back exactly and frees the copies. */
function snapshotState(module: Module): () => void {
  const saved = new Map([...module.stateDict()].map(([name, t]) => {
    const copy = keep(t.clone());
    t.dispose();
    return [name, copy];
  }));
  return () => {
    noGrad(() => module.loadStateDict(saved));
    for (const t of saved.values()) t.dispose();
  };
}
