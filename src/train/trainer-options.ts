// The Trainer's options, and their checks: which device, which data-parallel
// mode, how many batches per epoch.
import { backends, cuda, useDeterministicAlgorithms } from '../torch/index.js';
import type { Backend, DistributedDataParallelOptions } from '../distributed/index.js';
import type { Callback } from './callbacks/callback.js';
import type { Logger } from './loggers/logger.js';
import type { CheckpointMetadata } from './checkpoint.js';
import type { ProgressOutput } from './progress.js';
import type { PrecisionInput } from './precision.js';
import type { Duration } from './callbacks/timer.js';

/** 'gpu' is Lightning's name of 'cuda'. */
export type Accelerator = 'cpu' | 'cuda' | 'gpu' | 'auto';
/** 'ddp_spawn' is taken as 'ddp': Node.js cannot fork a function, so the script itself starts again per rank. */
export type Strategy = 'auto' | 'ddp' | 'ddp_spawn';
const STRATEGIES: readonly Strategy[] = ['auto', 'ddp', 'ddp_spawn'];

export interface TrainerOptions {
  /**
   * Epochs to train; -1: no limit. Default as Lightning: no limit when maxSteps is given, else 1000
   * (set it, or maxSteps, to train for less).
   */
  maxEpochs?: number;
  /** Stop after this many optimizer steps (default: no limit). */
  maxSteps?: number;
  /** Default 'auto' (as Lightning): CUDA when available, else the CPU. 'gpu' is taken as 'cuda'. */
  accelerator?: Accelerator;
  /** '32' (default), 'bf16-mixed', '16-mixed' (CUDA), '64-true', or Lightning's aliases (32, '32-true', 16, 'bf16', 64…). */
  precision?: PrecisionInput;
  /** Lightning's accumulate_grad_batches: one optimizer step every N batches, each loss divided by N (default 1). */
  accumulateGradBatches?: number;
  /**
   * Lightning's val_check_interval: validate every this fraction (0, 1] of the training epoch, or every N
   * training batches (an integer > 1). Default 1.0: once, at the epoch's end.
   */
  valCheckInterval?: number;
  /** Batches per epoch: an integer count, or a fraction in (0, 1] of the loader. */
  limitTrainBatches?: number;
  limitValBatches?: number;
  limitTestBatches?: number;
  limitPredictBatches?: number;
  /** Train at least this many epochs: a stop request (EarlyStopping, Timer) before then is put off (Lightning's min_epochs). */
  minEpochs?: number;
  /** Train at least this many optimizer steps before a stop request is honoured (Lightning's min_steps). */
  minSteps?: number;
  /** Stop once training has run this long: seconds, "DD:HH:MM:SS" or { days, hours, minutes, seconds } (adds a Timer). */
  maxTime?: Duration;
  /**
   * Validation batches run before training starts, to catch a broken validation step before hours of training
   * (Lightning's num_sanity_val_steps; default 2, -1: the whole loader, 0: none). Nothing is logged or monitored.
   */
  numSanityValSteps?: number;
  /** Lightning's fast_dev_run: true (1) or N batches of training, validation, test and predict; one epoch; no logger, checkpoint or sanity check. */
  fastDevRun?: boolean | number;
  /** Lightning's overfit_batches: train and validate on this many batches (or fraction) only, the training loader unshuffled. */
  overfitBatches?: number;
  /** Ask the data module for new loaders every N epochs (Lightning's reload_dataloaders_every_n_epochs; default 0: never). */
  reloadDataloadersEveryNEpochs?: number;
  /** Clip gradients before each step (default: no clipping). */
  gradientClipVal?: number;
  gradientClipAlgorithm?: 'norm' | 'value';
  callbacks?: Callback[];
  /** Loggers; default with a defaultRootDir: CSV and JSON lines in it. false: none. */
  logger?: Logger | Logger[] | false;
  enableProgressBar?: boolean;
  /** Adds a ModelCheckpoint (latest epoch) when none is given and there is a defaultRootDir (default true). */
  enableCheckpointing?: boolean;
  /** The run folder: logs, checkpoints, plots. Without it, nothing is written unless a callback or logger asks. */
  defaultRootDir?: string | null;
  /** Step metrics go to loggers every N steps (default 50). */
  logEveryNSteps?: number;
  /** Validate every N epochs (default 1); null: validate every valCheckInterval batches counted across epochs. */
  checkValEveryNEpoch?: number | null;
  /** Seeds torch's generator at the start of fit (model initialization should be seeded by the caller). */
  seed?: number;
  /** What a NaN or infinite loss does: 'error' stops with a message naming the step (default); 'skip' skips the batch. */
  onNonFiniteLoss?: 'error' | 'skip';
  /** Ctrl-C finishes the current step, writes `interrupted.ckpt` and returns (default true). */
  handleSignals?: boolean;
  /**
   * 'ddp': one process per device, gradients averaged during backward by libtorch's DDP reducer over a c10d
   * gloo group. The processes are started by `orthogonium train --devices N`, `orthogonium launch` or
   * distributed.launch() (which set RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT), or else by fit() itself,
   * which runs this script again for the other ranks. Default 'auto': ddp when devices × numNodes > 1.
   */
  strategy?: Strategy;
  /**
   * DistributedDataParallel's options under 'ddp' (bucketCapMB, findUnusedParameters, gradientAsBucketView,
   * broadcastBuffers), and the process group's backend (Lightning's process_group_backend): default gloo on CPU;
   * on CUDA, NCCL when the addon has it and every local rank has a GPU of its own, else gloo.
   */
  ddp?: Omit<DistributedDataParallelOptions, 'group'> & { processGroupBackend?: Backend };
  /** Print Lightning's table of the module's children and parameter counts when fit starts (default true, as Lightning). */
  enableModelSummary?: boolean;
  /** Sets torch.backends.cudnn.benchmark (cuDNN picks the fastest algorithm per shape); unset: left as it is. */
  benchmark?: boolean;
  /** torch.useDeterministicAlgorithms: true, false, or 'warn' (warn instead of throwing); unset: left as it is. */
  deterministic?: boolean | 'warn';
  /**
   * Processes per node (default 1), as Lightning: a count; on CUDA also a list of GPU indices (`[1]`: one
   * process on GPU 1, as the seed's `devices=[1]`; an index repeated puts ranks on a shared GPU, over gloo),
   * or -1 / 'auto' for every GPU ('auto' is 1 on CPU).
   */
  devices?: number | number[] | 'auto';
  numNodes?: number;
  /** Extra metadata stored in every checkpoint (e.g. the run's configuration). */
  checkpointMetadata?: CheckpointMetadata;
  /** Where the epoch lines, the progress bar and the final table go (default process.stdout). */
  output?: ProgressOutput;
}

export function resolveAccelerator(accelerator: Accelerator): 'cpu' | 'cuda' {
  if (accelerator === 'cpu') return 'cpu';
  if (accelerator === 'gpu') return resolveAccelerator('cuda');
  if (accelerator === 'auto') return cuda.isAvailable() ? 'cuda' : 'cpu';
  if (accelerator === 'cuda') {
    if (!cuda.isAvailable()) throw new Error("Trainer: accelerator 'cuda' asked for, but CUDA is not available (libtorch built without CUDA, or no GPU); use 'cpu' or 'auto'");
    return 'cuda';
  }
  throw new TypeError(`Trainer: accelerator must be 'cpu', 'cuda' (or 'gpu') or 'auto', got ${JSON.stringify(accelerator)}`);
}

/** maxEpochs as Lightning resolves it: Infinity for -1 (or for unset with maxSteps given), 1000 when neither is set. */
export function resolveMaxEpochs(o: Pick<TrainerOptions, 'maxEpochs' | 'maxSteps'>): number {
  const value = o.maxEpochs ?? (o.maxSteps !== undefined && o.maxSteps !== -1 ? -1 : 1000);
  if (value === -1) return Infinity;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`Trainer: maxEpochs must be a positive integer or -1 (no limit), got ${o.maxEpochs}`);
  return value;
}

/** Checks accumulateGradBatches, valCheckInterval and checkValEveryNEpoch. */
export function checkLoopOptions(o: Pick<TrainerOptions, 'accumulateGradBatches' | 'valCheckInterval' | 'checkValEveryNEpoch'>): void {
  const n = o.accumulateGradBatches;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new RangeError(`Trainer: accumulateGradBatches must be a positive integer, got ${n}`);
  const v = o.valCheckInterval;
  if (v !== undefined && !(typeof v === 'number' && v > 0 && (v <= 1 || Number.isInteger(v)))) {
    throw new RangeError(`Trainer: valCheckInterval must be a fraction in (0, 1] of the epoch or a whole number of batches, got ${v}`);
  }
  const e = o.checkValEveryNEpoch;
  if (e !== undefined && e !== null && !(Number.isInteger(e) && e >= 1)) throw new RangeError(`Trainer: checkValEveryNEpoch must be a positive integer or null, got ${e}`);
  if (e === null && (v === undefined || (v <= 1 && !Number.isInteger(v)) || v === 1)) {
    throw new RangeError('Trainer: checkValEveryNEpoch null counts valCheckInterval batches across epochs, so valCheckInterval must then be a whole number of batches > 1');
  }
}

/** Lightning's `benchmark` and `deterministic`: global switches, set when the Trainer is made. */
export function applyGlobalSwitches(o: Pick<TrainerOptions, 'benchmark' | 'deterministic'>): void {
  if (o.deterministic !== undefined && o.deterministic !== true && o.deterministic !== false && o.deterministic !== 'warn') {
    throw new TypeError(`Trainer: deterministic must be true, false or 'warn', got ${JSON.stringify(o.deterministic)}`);
  }
  if (o.benchmark !== undefined && typeof o.benchmark !== 'boolean') {
    throw new TypeError(`Trainer: benchmark must be true or false, got ${JSON.stringify(o.benchmark)}`);
  }
  if (o.deterministic !== undefined) useDeterministicAlgorithms(o.deterministic !== false, { warnOnly: o.deterministic === 'warn' });
  if (o.benchmark !== undefined) backends.cudnn.benchmark = o.benchmark;
}

/** Checks the batch limits, the training minimums, the sanity check, gradient clipping and onNonFiniteLoss. */
export function checkRunOptions(o: TrainerOptions): void {
  for (const key of ['limitTrainBatches', 'limitValBatches', 'limitTestBatches', 'limitPredictBatches'] as const) checkLimit(key, o[key]);
  for (const key of ['minEpochs', 'minSteps', 'reloadDataloadersEveryNEpochs'] as const) {
    const value = o[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new RangeError(`Trainer: ${key} must be a whole number ≥ 0, got ${value}`);
  }
  const sanity = o.numSanityValSteps;
  if (sanity !== undefined && !(Number.isInteger(sanity) && sanity >= -1)) throw new RangeError(`Trainer: numSanityValSteps must be a whole number ≥ 0 or -1 (every batch), got ${sanity}`);
  if (o.gradientClipVal !== undefined && !(o.gradientClipVal > 0)) throw new RangeError(`Trainer: gradientClipVal must be > 0, got ${o.gradientClipVal}`);
  if (o.gradientClipAlgorithm !== undefined && !['norm', 'value'].includes(o.gradientClipAlgorithm)) {
    throw new TypeError(`Trainer: gradientClipAlgorithm must be 'norm' or 'value', got ${JSON.stringify(o.gradientClipAlgorithm)}`);
  }
  if (o.onNonFiniteLoss !== undefined && !['error', 'skip'].includes(o.onNonFiniteLoss)) {
    throw new TypeError(`Trainer: onNonFiniteLoss must be 'error' or 'skip', got ${JSON.stringify(o.onNonFiniteLoss)}`);
  }
}

export function checkLimit(name: string, value: number | undefined): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' && value > 0 && (Number.isInteger(value) || value <= 1);
  if (!ok) throw new RangeError(`Trainer: ${name} must be a positive batch count or a fraction in (0, 1], got ${value}`);
}

export function limitBatches(length: number, limit: number | undefined): number {
  if (limit === undefined) return length;
  return Number.isInteger(limit) && limit >= 1 ? Math.min(length, limit) : Math.max(1, Math.floor(length * limit));
}


/** How many processes per node, and on CUDA the GPU of each local rank. */
export interface DeviceSelection { count: number; gpus: number[] | null }

/** Lightning's `devices` for an accelerator; `gpuCount` is the machine's (cuda.deviceCount()). */
export function resolveDevices(accelerator: 'cpu' | 'cuda', devices: TrainerOptions['devices'], gpuCount: number): DeviceSelection {
  const shown = JSON.stringify(devices);
  if (accelerator === 'cpu') {
    if (devices === undefined || devices === 'auto') return { count: 1, gpus: null };
    if (typeof devices === 'number' && Number.isInteger(devices) && devices >= 1) return { count: devices, gpus: null };
    throw new RangeError(`Trainer: devices on the CPU must be a positive integer (processes) or 'auto', got ${shown}`);
  }
  const all = Array.from({ length: gpuCount }, (_, i) => i);
  if (devices === 'auto' || devices === -1) return { count: gpuCount, gpus: all };
  const n = devices ?? 1;
  if (typeof n === 'number') {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Trainer: devices must be a positive integer, a list of GPU indices, -1 or 'auto', got ${shown}`);
    if (n > gpuCount) {
      throw new RangeError(`Trainer: devices ${n} asks for ${n} GPUs, this machine has ${gpuCount} ` +
        `(a list such as [${Array(n).fill(0).join(', ')}] puts several ranks on one GPU)`);
    }
    return { count: n, gpus: all.slice(0, n) };
  }
  if (!Array.isArray(n) || n.length === 0 || !n.every((i) => Number.isInteger(i) && i >= 0 && i < gpuCount)) {
    throw new RangeError(`Trainer: devices ${shown} must list GPU indices in [0, ${gpuCount - 1}]`);
  }
  return { count: n.length, gpus: [...n] };
}

/**
 * Where one rank of a 'ddp' run computes and which backend its process group
 * uses. On CUDA local rank r takes the r-th GPU of `devices`, as Lightning
 * does; ranks share a GPU only when `devices` repeats an index, and then only
 * gloo can serve them (NCCL refuses two ranks on one GPU).
 */
export function ddpPlacement(accelerator: 'cpu' | 'cuda', env: { localRank: number; gpus: number[] | null; nccl: boolean },
  requested?: Backend): { backend: Backend; device: string } {
  if (requested !== undefined && requested !== 'gloo' && requested !== 'nccl') {
    throw new TypeError(`Trainer: ddp.processGroupBackend must be 'gloo' or 'nccl', got ${JSON.stringify(requested)}`);
  }
  if (accelerator === 'cpu' || env.gpus === null) {
    if (requested === 'nccl') throw new Error("Trainer: ddp.processGroupBackend 'nccl' works on CUDA tensors: use accelerator 'cuda' or the 'gloo' backend");
    return { backend: 'gloo', device: 'cpu' };
  }
  const gpu = env.gpus[env.localRank];
  if (gpu === undefined) throw new RangeError(`Trainer: local rank ${env.localRank} has no GPU in devices [${env.gpus.join(', ')}]`);
  const ownGpu = new Set(env.gpus).size === env.gpus.length;
  if (requested === 'nccl' && !ownGpu) {
    throw new Error(`Trainer: ddp.processGroupBackend 'nccl' needs a GPU per local rank, and devices [${env.gpus.join(', ')}] ` +
      "share one; list distinct GPUs or use the 'gloo' backend");
  }
  return { backend: requested ?? (env.nccl && ownGpu ? 'nccl' : 'gloo'), device: `cuda:${gpu}` };
}

/**
 * How this Trainer runs: alone, as one rank of a launched data-parallel job,
 * or as rank 0 of one it starts itself (a plain script with devices > 1, as Lightning does).
 */
export function resolveStrategy(o: TrainerOptions, devices: number): 'single' | 'rank' | 'launch-peers' {
  const strategy = o.strategy ?? 'auto';
  if (!STRATEGIES.includes(strategy)) throw new TypeError(`Trainer: strategy must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(o.strategy)}`);
  const nodes = o.numNodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw new RangeError(`Trainer: numNodes must be a positive integer, got ${o.numNodes}`);
  const distributed = strategy !== 'auto' || devices * nodes > 1;
  if (!distributed) return 'single';
  const world = process.env.WORLD_SIZE;
  if (world === undefined) {
    if (devices * nodes === 1) {
      throw new Error(`Trainer: strategy '${strategy}' with one device: give devices (processes per node) to start them, ` +
        'or start the ranks with `orthogonium train --devices N` / `orthogonium launch --nproc N script.js`');
    }
    return 'launch-peers';
  }
  if (strategy === 'auto' || o.devices !== undefined) {
    if (Number(world) !== devices * nodes) throw new Error(`Trainer: WORLD_SIZE is ${world} but devices × numNodes is ${devices} × ${nodes}`);
  }
  return 'rank';
}
