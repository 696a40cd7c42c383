// Lightning's StochasticWeightAveraging callback: from `swaEpochStart` on,
// the optimizer's scheduler is replaced by a SWALR (annealing every group's lr
// to `swaLrs`) and, at the start of every epoch up to the last, the module's
// parameters are folded into a running average (Lightning's timing: the
// weights averaged are those each epoch starts from). When fit() has run its
// last epoch, the averaged weights are copied into the module and, if it has
// BatchNorm layers, their running statistics are recomputed with one pass
// over the training data (Lightning runs an extra epoch without backward for
// this; here the callback runs the pass itself, PyTorch's update_bn on the
// module's forward of each batch's input).
//
// Checkpoints: the averaged weights (exactly: raw bytes in base64), the
// number averaged, the last epoch averaged and the SWALR state are the
// callback's state (Lightning's keys), so an interrupted run resumes exactly.
import { Buffer } from 'node:buffer';
import { Tensor, fromTypedArray, keep, noGrad, scope, tensor } from '../../torch/index.js';
import type { DType } from '../../torch/index.js';
import { SWALR, equalAverage } from '../../optim/index.js';
import type { AvgFn, SchedulerStateDict } from '../../optim/index.js';
import { batchNormLayers, recomputeBatchNormStats } from '../../optim/swa-utils.js';
import { Callback, JsonValue } from './callback.js';
import { SchedulerSlot } from '../schedulers.js';
import type { LightningModule, TrainerFn } from '../lightning-module.js';
import type { Loader, PositionedLoader, Trainer } from '../trainer.js';

export interface StochasticWeightAveragingOptions {
  /** The SWA learning rate: one for every parameter group, or one per group (positive numbers). */
  swaLrs: number | number[];
  /**
   * When SWA starts: an integer >= 1 is the (1-based) epoch, a number in
   * [0, 1) the fraction of maxEpochs (epoch trunc(fraction × maxEpochs)). Default 0.8.
   * (Lightning tells 1 from 1.0 by type; here 1 is epoch 1.)
   */
  swaEpochStart?: number;
  /** Epochs over which SWALR anneals the lr to swaLrs (default 10). */
  annealingEpochs?: number;
  /** 'cos' (default) or 'linear'. */
  annealingStrategy?: 'cos' | 'linear';
  /** The averaging rule (default: the equal-weight average), PyTorch's avg_fn. */
  avgFn?: AvgFn;
  /** Where the averaged weights are kept: a device ('cpu', the default, as Lightning), or null for the module's. */
  device?: string | null;
}

/** A tensor in a JSON state: its dtype, shape and raw little-endian bytes (float32 for half types) in base64. */
interface EncodedTensor { dtype: string; shape: number[]; data: string }

export class StochasticWeightAveraging extends Callback {
  readonly swaLrs: number | number[];
  readonly swaEpochStart: number;
  readonly annealingEpochs: number;
  readonly annealingStrategy: 'cos' | 'linear';
  readonly avgFn: AvgFn;
  readonly device: string | null;
  /** The SWALR installed when SWA started (null before). */
  swaScheduler: SWALR | null = null;
  /** Models in the average (null until SWA starts in this fit). */
  nAveraged: number | null = null;

  /** The 1-based start epoch of this fit (swaEpochStart resolved against maxEpochs). */
  private startEpoch = 0;
  private maxEpochs = 0;
  private containsBatchNorm = false;
  private initialized = false;
  private initNAveraged = 0;
  private latestUpdateEpoch = -1;
  private schedulerState: SchedulerStateDict | null = null;
  /** The averaged parameters, by the module's parameter names (null until SWA starts). */
  private averaged: Map<string, Tensor> | null = null;
  /** Averaged parameters read from a checkpoint, made tensors when SWA starts again. */
  private loadedAverage: Record<string, EncodedTensor> | null = null;

  constructor(options: StochasticWeightAveragingOptions) {
    super();
    const where = 'StochasticWeightAveraging';
    if (options === null || typeof options !== 'object') throw new TypeError(`${where}: expected options { swaLrs, … }`);
    const { swaLrs } = options;
    const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
    if (!(positive(swaLrs) || (Array.isArray(swaLrs) && swaLrs.length > 0 && swaLrs.every(positive)))) {
      throw new RangeError(`${where}: swaLrs must be a positive number or a list of positive numbers (one per parameter group), got ${JSON.stringify(swaLrs)}`);
    }
    this.swaLrs = Array.isArray(swaLrs) ? [...swaLrs] : swaLrs;
    const start = options.swaEpochStart ?? 0.8;
    if (typeof start !== 'number' || !((Number.isInteger(start) && start >= 1) || (start >= 0 && start < 1))) {
      throw new RangeError(`${where}: swaEpochStart must be an integer >= 1 (an epoch) or a number in [0, 1) (a fraction of maxEpochs), got ${JSON.stringify(start)}`);
    }
    this.swaEpochStart = start;
    const annealing = options.annealingEpochs ?? 10;
    if (!Number.isInteger(annealing) || annealing < 0) throw new RangeError(`${where}: annealingEpochs must be an integer >= 0, got ${JSON.stringify(annealing)}`);
    this.annealingEpochs = annealing;
    const strategy = options.annealingStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new TypeError(`${where}: annealingStrategy must be 'cos' or 'linear', got ${JSON.stringify(strategy)}`);
    this.annealingStrategy = strategy;
    if (options.avgFn !== undefined && typeof options.avgFn !== 'function') throw new TypeError(`${where}: avgFn must be a function (averaged, current, numAveraged) => Tensor, got ${typeof options.avgFn}`);
    this.avgFn = options.avgFn ?? equalAverage;
    const device = options.device === undefined ? 'cpu' : options.device;
    if (device !== null && (typeof device !== 'string' || !/^(cpu|cuda|cuda:\d+)$/.test(device))) {
      throw new TypeError(`${where}: device must be 'cpu', 'cuda', 'cuda:<n>' or null (the module's device), got ${JSON.stringify(device)}`);
    }
    this.device = device;
  }

  /** The 0-based epoch SWA starts at (Lightning's swa_start). */
  get swaStart(): number { return Math.max(this.startEpoch - 1, 0); }
  /** The 0-based last epoch (Lightning's swa_end). */
  get swaEnd(): number { return this.maxEpochs - 1; }

  /** The averaged parameters by name (copies on the callback's device; null before SWA started). */
  get averagedParameters(): ReadonlyMap<string, Tensor> | null { return this.averaged; }

  /** A fresh fit starts from nothing (a resume then loads the saved state). */
  override setup(_trainer: Trainer, _module: LightningModule, stage: TrainerFn): void {
    if (stage !== 'fit') return;
    this.initialized = false;
    this.nAveraged = null;
    this.initNAveraged = 0;
    this.latestUpdateEpoch = -1;
    this.schedulerState = null;
    this.swaScheduler = null;
    this.loadedAverage = null;
    this.disposeAverage();
  }

  override onFitStart(trainer: Trainer, module: LightningModule): void {
    const where = 'StochasticWeightAveraging';
    if (!module.automaticOptimization) {
      throw new Error(`${where}: needs automatic optimization (under manual optimization the module steps its own schedulers and would never step the SWALR); ` +
        'average by hand with optim.AveragedModel and optim.SWALR instead');
    }
    if (trainer.optimizers.length !== 1) throw new Error(`${where}: works with 1 optimizer, got ${trainer.optimizers.length}`);
    if (trainer.lrSchedulerConfigs.length > 1) throw new Error(`${where}: works with at most 1 lr scheduler, got ${trainer.lrSchedulerConfigs.length}`);
    if (trainer.maxEpochs === -1) throw new Error(`${where}: needs the Trainer's maxEpochs (SWA runs up to the last epoch)`);
    const groups = trainer.optimizers[0].paramGroups.length;
    if (Array.isArray(this.swaLrs) && this.swaLrs.length !== groups) {
      throw new RangeError(`${where}: swaLrs lists ${this.swaLrs.length} learning rates but the optimizer has ${groups} parameter groups`);
    }
    this.maxEpochs = trainer.maxEpochs;
    this.startEpoch = this.swaEpochStart >= 1 ? this.swaEpochStart : Math.trunc(this.maxEpochs * this.swaEpochStart);
    this.containsBatchNorm = batchNormLayers(module).length > 0;
    // Resuming after SWA had started: the configured scheduler gives way now, SWALR comes back at the epoch's start.
    if (this.schedulerState !== null) this.slots(trainer).length = 0;
  }

  override onTrainEpochStart(trainer: Trainer, module: LightningModule): void {
    const epoch = trainer.currentEpoch;
    const inWindow = this.swaStart <= epoch && epoch <= this.swaEnd;
    if (!this.initialized && inWindow) this.start(trainer, module, epoch);
    if (inWindow && epoch > this.latestUpdateEpoch) {
      this.update(module);
      this.latestUpdateEpoch = epoch;
    }
  }

  /** Installs the SWALR in place of the configured scheduler and makes the averaged copies. */
  private start(trainer: Trainer, module: LightningModule, epoch: number): void {
    this.initialized = true;
    this.averaged = this.makeAverage(module);
    const optimizer = trainer.optimizers[0];
    const swaLrs = Array.isArray(this.swaLrs) ? this.swaLrs : optimizer.paramGroups.map(() => this.swaLrs as number);
    optimizer.paramGroups.forEach((group, i) => { group.initialLr = swaLrs[i]; });
    this.swaScheduler = new SWALR(optimizer, {
      swaLr: swaLrs, annealEpochs: this.annealingEpochs, annealStrategy: this.annealingStrategy,
      lastEpoch: this.annealingStrategy === 'cos' ? this.maxEpochs : -1,
    });
    if (this.schedulerState !== null) {
      this.swaScheduler.loadStateDict(this.schedulerState);
    } else if (epoch !== this.swaStart) {
      trainer.print('warning: StochasticWeightAveraging: SWA starts after swaEpochStart without a checkpoint holding its state');
    }
    const slot = SchedulerSlot.from({ optimizer, scheduler: this.swaScheduler })!;
    const slots = this.slots(trainer);
    if (slots.length > 0) {
      const replaced = slots[0];
      if (replaced.interval !== 'epoch' || replaced.frequency !== 1) {
        trainer.print(`warning: StochasticWeightAveraging: SWA steps its scheduler every epoch; the configured one stepped every ${replaced.frequency} ${replaced.interval}(s)`);
      }
      trainer.print(`StochasticWeightAveraging: swapping scheduler ${replaced.scheduler.constructor.name} for SWALR`);
      slots[0] = slot;
    } else {
      slots.push(slot);
    }
    this.nAveraged ??= this.initNAveraged;
  }

  /**
   * The Trainer's scheduler list, which the callback edits in place as
   * Lightning edits trainer.lr_scheduler_configs (the getter returns the
   * Trainer's own array; it is typed readonly for everyone else).
   */
  private slots(trainer: Trainer): SchedulerSlot[] {
    return trainer.lrSchedulerConfigs as SchedulerSlot[];
  }

  /** Copies of the module's parameters (or of the saved average) on the callback's device. */
  private makeAverage(module: LightningModule): Map<string, Tensor> {
    const params = [...module.namedParameters()];
    const saved = this.loadedAverage;
    this.loadedAverage = null;
    if (saved !== null) {
      const names = new Set(params.map(([name]) => name));
      const missing = params.map(([name]) => name).filter((name) => !(name in saved));
      const unexpected = Object.keys(saved).filter((name) => !names.has(name));
      if (missing.length > 0 || unexpected.length > 0) {
        throw new Error(`StochasticWeightAveraging: the checkpoint's averaged weights do not match the module's parameters (${[
          missing.length ? `missing: ${missing.join(', ')}` : '', unexpected.length ? `unexpected: ${unexpected.join(', ')}` : ''].filter(Boolean).join('; ')})`);
      }
    }
    return new Map(params.map(([name, p]) => {
      const device = this.device ?? p.device;
      const copy = noGrad(() => (saved !== null ? decodeTensor(saved[name], device, name) : p.detach().to({ device, copy: true })));
      if (!sameShape(copy.shape, p.shape)) {
        copy.dispose();
        throw new Error(`StochasticWeightAveraging: the checkpoint's averaged '${name}' has shape [${copy.shape.join(', ')}] but the parameter has [${p.shape.join(', ')}]`);
      }
      return [name, keep(copy)];
    }));
  }

  /** Folds the module's parameters into the average (Lightning's update_parameters). */
  private update(module: LightningModule): void {
    const averaged = this.averaged!;
    const n = this.nAveraged!;
    noGrad(() => scope(() => {
      for (const [name, p] of module.namedParameters()) {
        const target = averaged.get(name);
        if (target === undefined) throw new Error(`StochasticWeightAveraging: the module has a parameter '${name}' that SWA did not start with`);
        const current = p.detach().to({ device: target.device });
        target.copy_(n === 0 ? current : this.avgFn(target.detach(), current, tensor(n, { dtype: 'int64', device: target.device })));
      }
    }));
    this.nAveraged = n + 1;
  }

  /**
   * Once the last epoch has run (not after an early stop or an interrupt, as
   * Lightning): the averaged weights go into the module, then its BatchNorm
   * statistics are recomputed over the training data.
   */
  override async onFitEnd(trainer: Trainer, module: LightningModule): Promise<void> {
    if (trainer.currentEpoch - 1 !== this.swaEnd) return;
    // A resume from the checkpoint of a finished fit runs no epoch: the saved average is still what it ends on.
    if (this.averaged === null && this.loadedAverage !== null) {
      this.averaged = this.makeAverage(module);
      this.nAveraged ??= this.initNAveraged;
    }
    if (this.averaged === null || !this.nAveraged) return;
    this.transferWeights(module);
    if (!this.containsBatchNorm) return;
    const loader = trainer.trainDataloader;
    if (loader === null) throw new Error('StochasticWeightAveraging: the training loader is gone, so BatchNorm statistics cannot be recomputed');
    await this.recomputeBatchNorm(trainer, module, loader);
  }

  private transferWeights(module: LightningModule): void {
    const averaged = this.averaged!;
    noGrad(() => scope(() => {
      for (const [name, p] of module.namedParameters()) p.copy_(averaged.get(name)!.to({ device: p.device }));
    }));
  }

  /** One pass over the training data through the module's forward, BatchNorm layers as cumulative averages (update_bn). */
  private async recomputeBatchNorm(trainer: Trainer, module: LightningModule, loader: Loader): Promise<void> {
    const device = module.parameters()[0]?.device ?? 'cpu';
    const precision = trainer.precisionPlugin;
    // The epoch Lightning's extra BatchNorm epoch would be: the one after the last.
    if (typeof (loader as Partial<PositionedLoader>).resumeAt === 'function') (loader as PositionedLoader).resumeAt(trainer.currentEpoch, 0);
    await recomputeBatchNormStats(module, async () => {
      for await (const batch of loader) {
        try {
          noGrad(() => scope(() => {
            const x = precision.castInput(batch.x.to({ device }));
            precision.forward(() => module.forward(x));
          }));
        } finally {
          batch.x.dispose();
          batch.y.dispose();
        }
      }
    });
    trainer.print('StochasticWeightAveraging: recomputed the BatchNorm statistics for the averaged weights over the training data');
  }

  override stateDict(): JsonValue {
    let average: Record<string, EncodedTensor> | null = this.loadedAverage;
    if (this.averaged !== null) average = Object.fromEntries([...this.averaged].map(([name, t]) => [name, encodeTensor(t)]));
    return {
      n_averaged: this.nAveraged ?? this.initNAveraged,
      latest_update_epoch: this.latestUpdateEpoch,
      scheduler_state: (this.swaScheduler?.stateDict() ?? this.schedulerState) as JsonValue,
      average_model_state: average as unknown as JsonValue,
    };
  }

  override loadStateDict(state: JsonValue): void {
    const s = state as { n_averaged?: unknown; latest_update_epoch?: unknown; scheduler_state?: unknown; average_model_state?: unknown } | null;
    const where = 'StochasticWeightAveraging.loadStateDict';
    if (s === null || typeof s !== 'object' || !Number.isInteger(s.n_averaged) || !Number.isInteger(s.latest_update_epoch)) {
      throw new TypeError(`${where}: expected { n_averaged, latest_update_epoch, scheduler_state, average_model_state }, got ${JSON.stringify(state)?.slice(0, 200)}`);
    }
    this.initNAveraged = s.n_averaged as number;
    this.latestUpdateEpoch = s.latest_update_epoch as number;
    this.schedulerState = (s.scheduler_state ?? null) as SchedulerStateDict | null;
    this.loadedAverage = (s.average_model_state ?? null) as Record<string, EncodedTensor> | null;
    this.initialized = false;
    this.nAveraged = null;
    this.swaScheduler = null;
    this.disposeAverage();
  }

  private disposeAverage(): void {
    for (const t of this.averaged?.values() ?? []) t.dispose();
    this.averaged = null;
  }
}

const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** A floating tensor's exact bytes (half types widened to float32, which holds them exactly). */
function encodeTensor(t: Tensor): EncodedTensor {
  const dtype = t.dtype;
  if (dtype !== 'float64' && dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') {
    throw new TypeError(`StochasticWeightAveraging: cannot store an averaged tensor of dtype ${dtype} (floating parameters only)`);
  }
  const data = scope(() => {
    const host = t.to({ device: 'cpu', dtype: dtype === 'float64' ? 'float64' : 'float32' }).contiguous();
    return host.dataSync();
  });
  return { dtype, shape: t.shape, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

function decodeTensor(encoded: EncodedTensor, device: string, name: string): Tensor {
  const where = `StochasticWeightAveraging: the checkpoint's averaged '${name}'`;
  if (encoded === null || typeof encoded !== 'object' || typeof encoded.data !== 'string' || !Array.isArray(encoded.shape)) {
    throw new TypeError(`${where} is not a stored tensor`);
  }
  const dtype = encoded.dtype as DType;
  if (dtype !== 'float64' && dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') throw new TypeError(`${where} has dtype ${String(encoded.dtype)}`);
  const bytes = Buffer.from(encoded.data, 'base64');
  const aligned = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(aligned).set(bytes);
  const data = dtype === 'float64' ? new Float64Array(aligned) : new Float32Array(aligned);
  return scope(() => fromTypedArray(data, encoded.shape, { dtype }).to({ device }));
}
