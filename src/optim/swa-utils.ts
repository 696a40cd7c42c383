// Stochastic Weight Averaging, torch.optim.swa_utils's three pieces:
// AveragedModel (a copy of a network whose weights follow a running average
// of the trained network's), SWALR (anneals every group's lr to a constant
// SWA lr) and updateBn (recomputes BatchNorm running statistics for the
// averaged weights with one pass over data). Izmailov et al., "Averaging
// Weights Leads to Wider Optima and Better Generalization" (UAI 2018).
//
// Averaging 1-Lipschitz networks: the averaged tensors are the modules'
// registered parameters, so for a parametrized layer (orthogonal weight from
// an unconstrained `original`) it is the unconstrained tensor that is
// averaged, and the averaged network computes its weight through the same
// parametrization: it stays orthogonal.
import { Tensor, getRngState, noGrad, scope, setRngState, tensor } from '../torch/index.js';
import { BatchNorm1d, BatchNorm2d, Module } from '../nn/index.js';
import { FactoryModel, buildModel } from '../models/index.js';
import type { Batch } from '../data/index.js';
import { AnyOptimizer, LRScheduler, SchedulerStateDict, perGroup } from './lr-scheduler.js';
import { check, isFiniteNumber } from './util.js';

/**
 * How a running average absorbs one more model: (current average, the
 * model's tensor, how many models the average holds so far as a 0-d int64
 * tensor) → the new average. PyTorch's avg_fn.
 */
export type AvgFn = (averaged: Tensor, current: Tensor, numAveraged: Tensor) => Tensor;

/** The equal-weight average: averaged + (current − averaged) / (n + 1), as PyTorch's default. */
export const equalAverage: AvgFn = (averaged, current, numAveraged) => averaged.add(current.sub(averaged).div(numAveraged.add(1)));

export interface AveragedModelOptions<M extends Module> {
  /** Where the averaged copy lives (default: where the model's tensors are). */
  device?: string;
  /** The averaging rule (default: the equal-weight average). Not saved in the state dict, as in PyTorch. */
  avgFn?: AvgFn;
  /** Average the buffers too (BatchNorm running statistics…), PyTorch 1.13's use_buffers (default false). */
  useBuffers?: boolean;
  /**
   * Builds a fresh module of the model's architecture; its parameters and
   * buffers are then overwritten with copies of the model's (dtype, device
   * and values). This library has no deep copy of an arbitrary module (a
   * layer's caches and closures refer to the layer they belong to), so this
   * stands for PyTorch's deepcopy. Not needed for the factory's models
   * (FactoryModel), which are rebuilt from their configuration.
   */
  copy?: (model: M) => M;
}

/**
 * PyTorch's AveragedModel: `module` is a copy of the model whose parameters
 * (and, with useBuffers, buffers) updateParameters() moves to the running
 * average of the models it is given; `n_averaged` counts them. Its state dict
 * has PyTorch's keys (`module.<name>`, `n_averaged`), and forward() runs the
 * averaged copy. The first update copies the model's tensors; later ones
 * apply avgFn.
 */
export class AveragedModel<M extends Module = Module> extends Module {
  readonly module: M;
  readonly avgFn: AvgFn;
  readonly useBuffers: boolean;

  constructor(model: M, options: AveragedModelOptions<M> = {}) {
    super();
    if (!(model instanceof Module)) throw new TypeError('AveragedModel: expected a Module to average');
    if (options.avgFn !== undefined && typeof options.avgFn !== 'function') {
      throw new TypeError(`AveragedModel: avgFn must be a function (averaged, current, numAveraged) => Tensor, got ${typeof options.avgFn}`);
    }
    if (options.useBuffers !== undefined && typeof options.useBuffers !== 'boolean') {
      throw new TypeError(`AveragedModel: useBuffers must be a boolean, got ${JSON.stringify(options.useBuffers)}`);
    }
    if (options.copy !== undefined && typeof options.copy !== 'function') {
      throw new TypeError(`AveragedModel: copy must be a function building a module of the model's architecture, got ${typeof options.copy}`);
    }
    this.module = this.registerModule('module', copyModule(model, options.copy, options.device));
    const device = options.device ?? model.parameters()[0]?.device ?? 'cpu';
    this.registerBuffer('n_averaged', tensor(0, { dtype: 'int64', device }));
    this.avgFn = options.avgFn ?? equalAverage;
    this.useBuffers = options.useBuffers ?? false;
  }

  /** How many models the average holds (the `n_averaged` buffer, a 0-d int64 tensor). */
  get nAveraged(): Tensor { return this.getBuffer('n_averaged')!; }

  /** Runs the averaged copy. */
  forward(input: Tensor, ...rest: unknown[]): unknown {
    return (this.module.forward as (input: Tensor, ...rest: unknown[]) => unknown)(input, ...rest);
  }

  /** Folds `model`'s current parameters (and buffers with useBuffers) into the average. */
  updateParameters(model: Module): void {
    const mine = this.useBuffers ? [...this.module.namedParameters(), ...this.module.namedBuffers()] : [...this.module.namedParameters()];
    const theirs = this.useBuffers ? [...model.namedParameters(), ...model.namedBuffers()] : [...model.namedParameters()];
    const kind = this.useBuffers ? 'parameters and buffers' : 'parameters';
    if (mine.length !== theirs.length) {
      throw new RangeError(`AveragedModel.updateParameters: the model has ${theirs.length} ${kind}, the averaged copy ${mine.length}`);
    }
    mine.forEach(([name, t], i) => {
      const other = theirs[i][1];
      if (!sameShape(t.shape, other.shape)) {
        throw new RangeError(`AveragedModel.updateParameters: '${theirs[i][0]}' has shape [${other.shape.join(', ')}] but the averaged '${name}' has [${t.shape.join(', ')}]`);
      }
    });
    const count = this.nAveraged;
    noGrad(() => scope(() => {
      const first = count.item() === 0;
      for (let i = 0; i < mine.length; i++) {
        const target = mine[i][1];
        const current = theirs[i][1].detach().to({ device: target.device });
        if (first) target.copy_(current);
        else target.copy_(this.avgFn(target.detach(), current, count.to({ device: target.device })));
      }
      count.add_(1);
    }));
  }

  override extraRepr(): string { return `useBuffers=${this.useBuffers}`; }
}

/**
 * A module of `model`'s architecture holding copies of its parameters and
 * buffers (values, dtypes, requiresGrad, training mode), built by `copy` or,
 * for a FactoryModel, from its configuration. The global random state is left
 * as it was (building a layer draws its initial weights), as a deepcopy would.
 */
function copyModule<M extends Module>(model: M, copy: ((model: M) => M) | undefined, device: string | undefined): M {
  let build = copy;
  if (build === undefined && model instanceof FactoryModel) {
    const factoryModel: FactoryModel = model;
    build = () => {
      const rebuilt = buildModel(factoryModel.config);
      rebuilt.memoryFormat = factoryModel.memoryFormat;
      return rebuilt as unknown as M;
    };
  }
  if (build === undefined) {
    throw new TypeError(`AveragedModel: cannot copy a ${model.typeName}: this library has no deep copy of modules; pass options.copy, ` +
      'a function that builds a fresh module of the same architecture (its parameters and buffers are then overwritten with the model\'s)');
  }
  const rng = getRngState();
  let fresh: M;
  try {
    fresh = build(model);
  } finally {
    setRngState(rng);
    rng.dispose();
  }
  if (!(fresh instanceof Module) || fresh === model) {
    throw new TypeError('AveragedModel: options.copy must return a new Module (not the model itself)');
  }
  const pairs = (m: Module) => [...m.namedParameters(), ...m.namedBuffers()];
  const source = new Map(pairs(model));
  const target = new Map(pairs(fresh));
  const missing = [...source.keys()].filter((k) => !target.has(k));
  const extra = [...target.keys()].filter((k) => !source.has(k));
  if (missing.length > 0 || extra.length > 0) {
    fresh.dispose();
    throw new RangeError(`AveragedModel: the module built by copy does not have the model's tensors (${[
      missing.length ? `missing: ${missing.join(', ')}` : '', extra.length ? `unexpected: ${extra.join(', ')}` : ''].filter(Boolean).join('; ')})`);
  }
  const mismatched = [...source].filter(([name, src]) => !sameShape(target.get(name)!.shape, src.shape))
    .map(([name, src]) => `${name}: model [${src.shape.join(', ')}] vs copy [${target.get(name)!.shape.join(', ')}]`);
  if (mismatched.length > 0) {
    fresh.dispose();
    throw new RangeError(`AveragedModel: the module built by copy has other shapes than the model (${mismatched.join('; ')})`);
  }
  noGrad(() => {
    for (const [name, src] of source) {
      const dst = target.get(name)!;
      const where = device ?? src.device;
      if (dst.dtype !== src.dtype || dst.device !== where) {
        const placed = src.detach().to({ device: where, copy: true });
        dst.setData(placed);
        placed.dispose();
      }
      // copy_ also bumps the version counters that derived-tensor caches compare.
      dst.copy_(src);
      if (dst.requiresGrad !== src.requiresGrad) dst.requiresGrad_(src.requiresGrad);
    }
  });
  const modes = new Map(model.namedModules());
  for (const [name, m] of fresh.namedModules()) {
    const mode = modes.get(name)?.training ?? model.training;
    if (m.training !== mode) m.train(mode);
  }
  return fresh;
}

// ---- SWALR -----------------------------------------------------------------------

export interface SWALROptions {
  /** The lr to anneal to: one for every group, or one per group (stored as each group's `swaLr`). */
  swaLr: number | number[];
  /** Steps over which the lr goes from its value to swaLr (default 10; 0: at once). */
  annealEpochs?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /**
   * The step count to continue from (PyTorch's last_epoch, default -1: a
   * fresh start). Another value needs every group's `initialLr`, as in
   * PyTorch; it does not change the lrs SWALR sets, which follow its own
   * step count.
   */
  lastEpoch?: number;
}

const cosineAnneal = (t: number): number => (1 - Math.cos(Math.PI * t)) / 2;
const linearAnneal = (t: number): number => t;

/**
 * PyTorch's SWALR: anneals each group's lr from its value when SWALR starts
 * to the group's swaLr over annealEpochs steps, then keeps it there. Each
 * step mixes the swaLr with the lr the group had before annealing (recovered
 * from the current lr), so like PyTorch it continues from whatever lr the
 * optimizer holds — another scheduler may run before it. It has no closed
 * form: step(epoch) sets lastEpoch but the lr follows the steps taken.
 */
export class SWALR extends LRScheduler {
  annealEpochs: number;
  annealStrategy: 'cos' | 'linear';
  /** Steps taken including the one at construction (PyTorch's _step_count). */
  stepCount = 0;

  constructor(optimizer: AnyOptimizer, options: SWALROptions) {
    const lastEpoch = options?.lastEpoch ?? -1;
    // PyTorch resumes (last_epoch != -1) only from groups that already hold initial_lr.
    const lacking = lastEpoch !== -1 ? (optimizer?.paramGroups ?? []).findIndex((g) => g.initialLr === undefined) : -1;
    super(optimizer);
    const where = 'SWALR';
    check(lacking === -1, where, `lastEpoch ${lastEpoch} continues a schedule, but param group ${lacking} has no 'initialLr' (set it, or leave lastEpoch at -1)`);
    check(Number.isInteger(lastEpoch) && lastEpoch >= -1, where, `lastEpoch must be an integer >= -1, got ${String(lastEpoch)}`);
    const swaLrs = perGroup(options?.swaLr, this.groups.length, 'swaLr', where);
    swaLrs.forEach((lr, i) => check(isFiniteNumber(lr), where, `swaLr must be a finite number (or one per parameter group), got ${String(lr)}${swaLrs.length > 1 ? ` for group ${i}` : ''}`));
    const strategy = options.annealStrategy ?? 'cos';
    check(strategy === 'cos' || strategy === 'linear', where, `annealStrategy must be 'cos' or 'linear', got ${JSON.stringify(strategy)}`);
    const annealEpochs = options.annealEpochs ?? 10;
    check(Number.isInteger(annealEpochs) && annealEpochs >= 0, where, `annealEpochs must be an integer >= 0, got ${String(annealEpochs)}`);
    this.groups.forEach((group, i) => { group.swaLr = swaLrs[i]; });
    this.annealStrategy = strategy;
    this.annealEpochs = annealEpochs;
    if (lastEpoch !== -1) this.lastEpoch = lastEpoch;
    this.initialStep();
  }

  /** True for a state dict SWALR.stateDict() wrote (the Trainer loads it only into a SWALR). */
  static isStateDict(state: unknown): boolean {
    return typeof state === 'object' && state !== null && (state as Record<string, unknown>).scheduler === 'SWALR';
  }

  override step(epoch?: number): void {
    this.stepCount += 1;
    super.step(epoch);
  }

  /** @internal */
  override stepChained(): void {
    this.stepCount += 1;
    super.stepChained();
  }

  protected computeLrs(): number[] {
    const anneal = this.annealStrategy === 'cos' ? cosineAnneal : linearAnneal;
    let step = this.stepCount - 1;
    if (this.annealEpochs === 0) step = Math.max(1, step);
    const span = Math.max(1, this.annealEpochs);
    const prevAlpha = anneal(Math.max(0, Math.min(1, (step - 1) / span)));
    const alpha = anneal(Math.max(0, Math.min(1, step / span)));
    return this.groups.map((group) => {
      const swaLr = group.swaLr as number;
      // The lr the group had before annealing, recovered from the current one (PyTorch's _get_initial_lr).
      const before = prevAlpha === 1 ? swaLr : (group.lr - prevAlpha * swaLr) / (1 - prevAlpha);
      return swaLr * alpha + before * (1 - alpha);
    });
  }

  override stateDict(): SchedulerStateDict { return { ...super.stateDict(), scheduler: 'SWALR' }; }

  override loadStateDict(state: SchedulerStateDict): void {
    check(isFiniteNumber(state?.stepCount), 'SWALR.loadStateDict', "the state dict has no numeric 'stepCount' (not a SWALR state?)");
    super.loadStateDict(state);
  }
}

// ---- updateBn ----------------------------------------------------------------------

/** What updateBn reads: batches ({ x, y }), tensors, or lists whose first item is the input. */
export type BnLoaderItem = Batch | Tensor | Tensor[];

/** The BatchNorm layers of `model` that keep running statistics. */
export function batchNormLayers(model: Module): (BatchNorm1d | BatchNorm2d)[] {
  return model.modules().filter((m): m is BatchNorm1d | BatchNorm2d =>
    (m instanceof BatchNorm1d || m instanceof BatchNorm2d) && m.runningMean !== null && m.runningVar !== null);
}

/**
 * Resets the running statistics of `model`'s BatchNorm layers (mean 0,
 * variance 1, no batches), makes them cumulative averages (momentum null),
 * runs `pass` with the model in training mode, then gives the layers their
 * momenta back and the model its mode (train(wasTraining), as PyTorch), even
 * when `pass` throws. Returns
 * false, without running `pass`, when the model has no such layer.
 */
export async function recomputeBatchNormStats(model: Module, pass: () => Promise<void>): Promise<boolean> {
  const layers = batchNormLayers(model);
  if (layers.length === 0) return false;
  const momenta = layers.map((bn) => bn.momentum);
  const wasTraining = model.training;
  for (const bn of layers) bn.resetRunningStats();
  model.train();
  for (const bn of layers) bn.momentum = null;
  try {
    await pass();
  } finally {
    layers.forEach((bn, i) => { bn.momentum = momenta[i]; });
    // As PyTorch: the whole model takes the mode the model itself had.
    model.train(wasTraining);
  }
  return true;
}

/**
 * PyTorch's update_bn: one pass over `loader` in training mode to estimate
 * the running mean and variance of every BatchNorm layer as plain averages
 * over the batches (momentum null), as averaged weights need; then the
 * layers' momenta and the model's train/eval mode are restored. Items are
 * batches (`x` is the input), tensors, or lists whose first tensor is the
 * input; with `device`, inputs are moved there first. Batches from an async
 * loader (the library's DataLoader) are disposed after use, as the Trainer
 * does; tensors in a list you pass stay yours. Layers without running
 * statistics are left alone (PyTorch fails on them).
 */
export async function updateBn(loader: AsyncIterable<BnLoaderItem> | Iterable<BnLoaderItem>, model: Module, options: { device?: string } = {}): Promise<void> {
  if (!(model instanceof Module)) throw new TypeError('updateBn: expected a Module');
  const isAsync = typeof (loader as AsyncIterable<BnLoaderItem>)?.[Symbol.asyncIterator] === 'function';
  if (!isAsync && typeof (loader as Iterable<BnLoaderItem>)?.[Symbol.iterator] !== 'function') {
    throw new TypeError('updateBn: expected a loader (an async iterable such as DataLoader) or an iterable of batches or tensors');
  }
  const run = (item: BnLoaderItem): void => {
    noGrad(() => scope(() => {
      let input = inputOf(item);
      if (options.device !== undefined) input = input.to({ device: options.device });
      model.forward(input);
    }));
  };
  await recomputeBatchNormStats(model, async () => {
    if (isAsync) {
      for await (const item of loader as AsyncIterable<BnLoaderItem>) {
        try {
          run(item);
        } finally {
          disposeItem(item);
        }
      }
    } else {
      for (const item of loader as Iterable<BnLoaderItem>) run(item);
    }
  });
}

function inputOf(item: BnLoaderItem): Tensor {
  if (item instanceof Tensor) return item;
  if (Array.isArray(item)) {
    if (item[0] instanceof Tensor) return item[0];
  } else if (item !== null && typeof item === 'object' && (item as Batch).x instanceof Tensor) {
    return (item as Batch).x;
  }
  throw new TypeError('updateBn: each item must be a batch { x, y }, a tensor, or a list whose first item is the input tensor');
}

function disposeItem(item: BnLoaderItem): void {
  if (item instanceof Tensor) item.dispose();
  else if (Array.isArray(item)) item.forEach((t) => { if (t instanceof Tensor) t.dispose(); });
  else if (item !== null && typeof item === 'object') for (const t of Object.values(item)) if (t instanceof Tensor) t.dispose();
}

const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
