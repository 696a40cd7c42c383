// The Trainer: Lightning's fit/validate/test loop for a LightningModule.
// Every step runs in a memory scope; the loop yields to the event loop after
// each step (so finalizers, workers and signals get their turn); metrics are
// aggregated per step and per epoch and handed to loggers, callbacks and the
// progress bar. Checkpoints carry everything a resumed run needs to continue
// exactly: weights, optimizer and scheduler state, the data position, the RNG
// state, callback states and the metric history.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Tensor, cat, cuda, manualSeed } from '../torch/index.js';
import type { Optimizer } from '../optim/index.js';
import { DataLoader } from '../data/index.js';
import type { Batch } from '../data/index.js';
import type { Callback } from './callbacks/callback.js';
import type { Logger, LoggerStatus } from './loggers/logger.js';
import { resolveCallbacks, resolveLoggers } from './default-callbacks.js';
import type { CheckpointMetadata } from './checkpoint.js';
import { loadModuleWeights } from './training-state.js';
import type { LoopRecord, TrainingParts } from './training-state.js';
import { readTrainingCheckpoint, writeTrainingCheckpoint } from './trainer-checkpoint.js';
import { LightningModule, Stage, TrainerFn } from './lightning-module.js';
import { attachModelCallbacks } from './hooks.js';
import { MetricCollector } from './epoch-metrics.js';
import { runEvaluationLoop } from './evaluation-loop.js';
import { ProgressBar, ProgressOutput, formatMetrics } from './progress.js';
import { metricsTable } from './metrics-table.js';
import { writeTrainingCurves } from './metric-plots.js';
import { PrecisionPlugin } from './precision.js';
import { fitSummary } from './fit-summary.js';
import { applyGlobalSwitches, checkLoopOptions, checkRunOptions, limitBatches, resolveAccelerator, resolveDevices, resolveMaxEpochs, resolveStrategy } from './trainer-options.js';
import { accumulationWindow, isValCheckBatch, valCheckBatch } from './accumulation.js';
import { AnyScheduler, SchedulerSlot } from './schedulers.js';
import { readConfiguredOptimizers } from './configured-optimizers.js';
import { ManualOptimization } from './manual-optimization.js';
import { AutomaticOptimization } from './automatic-optimization.js';
import { runLrRangeTest } from './lr-range-test.js';
import { ParallelStrategy } from './parallel-strategy.js';
import { runSanityCheck } from './sanity-check.js';
import { StopRequest } from './stop-request.js';
import { concatPredictions, resolveCkptPath, runPredictLoop } from './predict.js';
import { catchInterrupt } from './interrupt.js';
import { resolveDebugRuns } from './debug-runs.js';
import { checkSharded, fitData, isLoader, isPositioned } from './data-source.js';
import type { DataModuleLike, FitData, Loader } from './data-source.js';
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
  private readonly epochLimit: number;
  /** Autocast for the forward passes, and loss scaling under '16-mixed'. */
  readonly precisionPlugin: PrecisionPlugin;
  readonly device: 'cpu' | 'cuda';
  /** Where this process computes and, in data-parallel runs, its process group and DDP wrapper. */
  private readonly strategy: ParallelStrategy;
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
  /** A callback's request to stop, honoured once minEpochs and minSteps are reached. */
  private readonly stopRequest: StopRequest;
  private interruptRequested = false;
  private readonly distributed: boolean;
  /** A plain script asked for several devices: fit() starts the other ranks and this process becomes rank 0. */
  private launchPeersAtFit: boolean;
  /** The training loader of the running fit(). */
  private trainLoader: Loader | null = null;

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
    const devices = resolveDevices(this.device, options.devices, this.device === 'cuda' ? cuda.deviceCount() : 0);
    this.strategy = new ParallelStrategy(this.device, devices, options, (line) => this.print(line));
    this.precisionPlugin = new PrecisionPlugin(options.precision ?? '32', this.device);
    checkRunOptions(options);
    const mode = resolveStrategy(options, devices.count);
    this.distributed = mode !== 'single';
    this.launchPeersAtFit = mode === 'launch-peers';
    this.defaultRootDir = options.defaultRootDir ?? '';
    this.stopRequest = new StopRequest({ epochs: options.minEpochs ?? 0, steps: options.minSteps ?? 0 }, (line) => this.print(line));
    this.callbacks = resolveCallbacks(options, this.defaultRootDir);
    this.loggers = resolveLoggers(options.logger, this.defaultRootDir);
    // In data-parallel runs only rank 0 prints, logs and writes files.
    const quiet = this.distributed && Number(process.env.RANK ?? 0) !== 0;
    if (quiet) this.loggers.length = 0;
    this.out = quiet ? { write: () => true } : (options.output ?? process.stdout);
    this.progress = (options.enableProgressBar ?? true) && !quiet ? new ProgressBar(this.out) : null;
    this.automatic = new AutomaticOptimization({
      trainer: this, precision: this.precisionPlugin, callbacks: this.callbacks, ddp: () => this.strategy.ddp, print: (line) => this.print(line),
      anyRank: (flag) => this.strategy.anyRank(flag),
      averageOverRanks: (value) => this.strategy.averageOverRanks(value),
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

  /** Asks the loop to stop after the current epoch (used by EarlyStopping). */
  requestStop(reason: string): void {
    this.stopRequest.request(reason);
  }

  get shouldStop(): boolean { return this.stopRequest.reason !== null; }

  /**
   * Whether the current training batch's values go to the loggers (every
   * logEveryNSteps batches, or when stopping), Lightning's should_update_logs:
   * callbacks that log per batch (DeviceStatsMonitor) follow it.
   */
  get shouldUpdateLogs(): boolean { return this.logsThisBatch || this.shouldStop; }

  /** This process's rank (0 when not data-parallel). */
  get globalRank(): number { return this.strategy.globalRank; }

  get worldSize(): number { return this.strategy.worldSize; }

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
      trainer: this, precision: this.precisionPlugin, callbacks: this.callbacks, ddp: () => this.strategy.ddp, countOptimizerStep: () => { this.globalStep++; },
      averageOverRanks: (value) => this.strategy.averageOverRanks(value),
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
    const optimizer = this.optimizer;
    if (!optimizer || !loader) throw new Error('Trainer.lrRangeTest: runs while fit() starts (from a callback\'s onFitStart)');
    await runLrRangeTest({
      loader, optimizer, automatic: this.automatic, precision: this.precisionPlugin, toDevice: (batch) => this.toDevice(batch),
      averageOverRanks: (value) => this.strategy.averageOverRanks(value), anyRank: (flag) => this.strategy.anyRank(flag),
      reconfigureOptimizers: () => this.configureOptimizers(module),
    }, module, steps, lrAt, record);
  }

  /**
   * setup(stage) or teardown(stage) in Lightning's order: the data module's
   * (its prepareData first, on local rank 0 while the other ranks wait), the callbacks', then the module's.
   */
  private async stageHook(module: LightningModule, which: 'setup' | 'teardown', stage: TrainerFn, data: DataModuleLike | null = null): Promise<void> {
    if (which === 'setup' && data?.prepareData) {
      if (!this.strategy.group || Number(process.env.LOCAL_RANK ?? 0) === 0) await data.prepareData();
      this.strategy.group?.barrier();
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
      if (this.launchPeersAtFit) {
        await this.strategy.startPeers(this.out);
        this.launchPeersAtFit = false;
      }
      const group = this.strategy.joinProcessGroup();
      data.distribute?.({ rank: group.rank, worldSize: group.worldSize });
    }
    this.strategy.placeModule(module, this.precisionPlugin.parameterDtype);
    attachModelCallbacks(this.callbacks, module);
    await this.stageHook(module, 'setup', 'fit', data);
    this.configureOptimizers(module);
    this.checkOptimizationMode(module);
    if (options.ckptPath) this.restore(options.ckptPath);
    // Every rank starts from rank 0's weights; backward averages the gradients over the ranks.
    if (this.strategy.group) this.strategy.wrapDataParallel(module);
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
    this.print(`training on ${this.strategy.rootDevice} (precision ${this.precision}): ${limitBatches(trainLoader.length, this.options.limitTrainBatches)} batches per epoch, ` +
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
        if (this.stopAllowed()) { stopReason = this.stopRequest.reason!; this.print(`stopping: ${stopReason}`); break; }
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
    const group = this.strategy.group;
    if (group) for (const loader of [trainLoader, valLoader]) checkSharded(loader, group);
    if (this.overfitBatches !== null && trainLoader instanceof DataLoader && trainLoader.shuffle) {
      this.print('overfitBatches: the training loader shuffles; it runs unshuffled so that every epoch sees the same batches');
      trainLoader.shuffle = false;
    }
    return { trainLoader, valLoader };
  }

  /** Lightning's sanity check (sanity-check.ts) on numSanityValSteps validation batches (-1: all of them) before training. */
  private async sanityCheck(module: LightningModule, valLoader: Loader | null): Promise<void> {
    const wanted = this.options.numSanityValSteps ?? 2;
    if (wanted === 0 || valLoader === null || !this.hasValidation) return;
    const available = limitBatches(valLoader.length, this.options.limitValBatches);
    await runSanityCheck({ trainer: this, callbacks: this.callbacks, validate: (batches) => this.evaluate(module, valLoader, 'validate', batches) },
      module, wanted === -1 ? available : Math.min(wanted, available));
  }

  /**
   * Whether a stop request may end training now: not before minEpochs epochs
   * and minSteps steps (the request waits until then, as in Lightning).
   */
  private stopAllowed(): boolean {
    return this.stopRequest.allowed(this.currentEpoch, this.globalStep);
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
    this.strategy.followTrainableParameters(module);
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
        this.interruptRequested = this.strategy.anyRank(this.interruptRequested);
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
    const epochValues = this.strategy.reduceEpochMetrics(collector);
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
    const device = this.strategy.rootDevice;
    // Asynchronous when the loader pinned the batch; a pageable batch is copied synchronously either way.
    const moved = device === 'cpu' ? batch : { ...batch, x: batch.x.to({ device, nonBlocking: true }), y: batch.y?.to({ device, nonBlocking: true }) };
    return { ...moved, x: this.precisionPlugin.castInput(moved.x) };
  }

  // ---- evaluation ------------------------------------------------------------------
  /** The validation or test loop on `limit` batches (a count or fraction) of the loader. */
  private evaluate(module: LightningModule, loader: Loader, stage: Stage, limit: number | undefined): Promise<Map<string, number>> {
    return runEvaluationLoop({
      trainer: this, callbacks: this.callbacks, precision: this.precisionPlugin, progress: this.progress,
      toDevice: (batch) => this.toDevice(batch), reduce: (collector) => this.strategy.reduceEpochMetrics(collector),
    }, module, loader, stage, limitBatches(loader.length, limit));
  }

  /**
   * `tensor` from every rank stacked into [worldSize, ...shape]; in one
   * process `tensor` itself (LightningModule.allGather, Lightning's all_gather).
   */
  allGather(tensor: Tensor): Tensor { return this.strategy.allGather(tensor); }

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
      const total = this.options.limitPredictBatches === undefined ? Infinity : limitBatches(loader.length, this.options.limitPredictBatches);
      outputs = await runPredictLoop({ precision: this.precisionPlugin, progress: this.progress, toDevice: (batch) => this.toDevice(batch) }, module, loader, total);
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
    this.strategy.placeModule(module, this.precisionPlugin.parameterDtype);
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

  /** What the loop has recorded, positioned where a resumed run continues (after an epoch's end: the next epoch's first batch). */
  private loopRecord(): LoopRecord {
    const position = {
      epoch: this.epochDone ? this.currentEpoch + 1 : this.currentEpoch,
      batchInEpoch: this.epochDone ? 0 : this.batchInEpoch,
      globalStep: this.globalStep,
      loggingStep: this.loggingStep,
    };
    return { position, history: this.history, callbackMetrics: this.callbackMetrics };
  }

  /**
   * Writes a training checkpoint (atomically) of the state at this point of
   * the loop; with `weightsOnly` the model and metadata only (Lightning's weights_only).
   */
  async saveCheckpoint(path: string, options: { weightsOnly?: boolean } = {}): Promise<void> {
    if (this.globalRank !== 0) return; // one writer in data-parallel runs
    const module = this.module;
    if (!module || !this.optimizer) throw new Error('Trainer.saveCheckpoint: nothing to save before fit() has started');
    writeTrainingCheckpoint(path, {
      trainer: this, module, parts: this.trainingParts(), metadata: this.metadata, epoch: this.currentEpoch, record: this.loopRecord(),
    }, options.weightsOnly);
    this.lastSavedPath = path;
  }

  /** Loads a training checkpoint into the module, optimizer, scheduler, callbacks and loop counters. */
  private restore(path: string): void {
    const record = readTrainingCheckpoint(path, this, this.module!, this.trainingParts());
    this.history = record.history;
    this.callbackMetrics = record.callbackMetrics;
    this.currentEpoch = record.position.epoch;
    this.batchInEpoch = record.position.batchInEpoch;
    this.globalStep = record.position.globalStep;
    this.loggingStep = record.position.loggingStep;
    this.print(`resumed from ${path}: epoch ${this.currentEpoch + 1}, batch ${this.batchInEpoch}, step ${this.globalStep}`);
  }

  /** Frees the optimizer's state (the module stays the caller's to dispose). */
  dispose(): void {
    this.strategy.teardown();
    for (const o of this.optimizers) o.dispose();
    this.optimizers = [];
    this.schedulerSlots = [];
    if (this.module?.trainerHost === this.optimization) this.module!.trainerHost = null;
    this.optimization = null;
  }

  [Symbol.dispose](): void { this.dispose(); }
}
