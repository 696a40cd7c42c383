// Learning-rate schedulers with torch.optim.lr_scheduler's behaviour. Each
// computes the lr of step `lastEpoch` in closed form (the values PyTorch's
// recursive forms give when nothing else changes the lr) and writes it into
// the optimizer's parameter groups. The chainable ones also have PyTorch's
// recursive form (lr from the group's current lr), which ChainedScheduler
// composes. This file holds the base class and LambdaLR, LinearLR,
// CosineAnnealingLR; the other families are in lr-scheduler-*.ts.
import { BaseHyper, Optimizer, ParamGroup } from './optimizer.js';
import { check, checkNumber, isFiniteNumber } from './util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any>;

/** A JSON-like snapshot of a scheduler's fields (everything but the optimizer and functions). */
export type SchedulerStateDict = Record<string, unknown>;

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Steps taken: 0 after construction, +1 per step(). */
  lastEpoch = -1;
  /** Each group's lr at the start (its `initialLr`, set by the first scheduler attached). */
  baseLrs: number[];
  protected lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${this.constructor.name}: expected an Optimizer`);
    this.optimizer = optimizer;
    // Like PyTorch's setdefault: a second scheduler on the same optimizer starts from the original lr.
    for (const group of optimizer.paramGroups) if (group.initialLr === undefined) group.initialLr = group.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  protected get groups(): ParamGroup<BaseHyper>[] { return this.optimizer.paramGroups; }

  /** The lr of every group at step `epoch`. */
  protected abstract computeLrs(epoch: number): number[];

  /** Subclasses call this at the end of their constructor: sets the lr of step 0. */
  protected initialStep(): void { this.step(); }

  /** Advances one step (call after optimizer.step()); `epoch` jumps to that step instead. */
  step(epoch?: number): void {
    const next = epoch ?? this.lastEpoch + 1;
    const lrs = this.computeLrs(next);
    this.lastEpoch = next;
    this.writeLrs(lrs);
    this.lastLr = lrs;
  }

  /**
   * Sets the lrs of the groups the scheduler knows (one per entry of `lrs`).
   * As PyTorch's zip over the groups: a group added to the optimizer after the
   * scheduler was made (BaseFinetuning's) keeps the lr it is given.
   */
  protected writeLrs(lrs: readonly number[]): void {
    const groups = this.groups;
    for (let i = 0; i < Math.min(lrs.length, groups.length); i++) groups[i].lr = lrs[i];
  }

  /**
   * PyTorch's recursive (chainable) form: the lr of step `epoch` computed from
   * the groups' current lrs `current`. Schedulers that set absolute lrs
   * (LambdaLR, the cyclic ones) keep their closed form, as in PyTorch.
   */
  protected chainedLrs(epoch: number, current: number[]): number[] {
    void current;
    return this.computeLrs(epoch);
  }

  /** Sets the lrs of step `epoch` with the chainable form (ChainedScheduler's way of stepping). @internal */
  applyChained(epoch: number): void {
    const lrs = this.chainedLrs(epoch, this.groups.slice(0, this.baseLrs.length).map((g) => g.lr));
    this.lastEpoch = epoch;
    this.writeLrs(lrs);
    this.lastLr = lrs;
  }

  /** One step inside a ChainedScheduler: the chainable form of the next step. @internal */
  stepChained(): void { this.applyChained(this.lastEpoch + 1); }

  /** The lr of every group set by the last step. */
  getLastLr(): number[] { return [...this.lastLr]; }

  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [key, value] of Object.entries(this)) if (isPlainData(value)) out[key] = structuredClone(value);
    return out;
  }

  /** Restores the fields saved by stateDict() (progress and options). */
  loadStateDict(state: SchedulerStateDict): void {
    const where = `${this.constructor.name}.loadStateDict`;
    check(isFiniteNumber(state?.lastEpoch), where, "the state dict has no numeric 'lastEpoch'");
    const base = state.baseLrs;
    // Groups added to the optimizer after the scheduler was made are not the scheduler's (as in PyTorch).
    check(Array.isArray(base) && base.length === this.baseLrs.length, where,
      `'baseLrs' must list one lr per parameter group (${this.baseLrs.length}) the scheduler was made with, got ${JSON.stringify(base)}`);
    for (const [key, value] of Object.entries(state)) {
      const self = this as unknown as Record<string, unknown>;
      if (key in this && isPlainData(self[key]) && isPlainData(value)) self[key] = structuredClone(value);
    }
  }
}

/** One value per parameter group: a single number is repeated, a list must have one entry per group. */
export function perGroup(value: number | number[], n: number, name: string, where: string): number[] {
  if (!Array.isArray(value)) return Array.from({ length: n }, () => value);
  check(value.length === n, where, `expected ${n} values of ${name} (one per parameter group), got ${value.length}`);
  return [...value];
}

/** Python's modulo (the result has the sign of the divisor). */
export const pyMod = (a: number, b: number): number => ((a % b) + b) % b;

/** Numbers, strings, booleans, null, and arrays / plain objects of these: what a scheduler state dict holds. */
function isPlainData(value: unknown): boolean {
  if (value === null || ['number', 'string', 'boolean'].includes(typeof value)) return true;
  if (Array.isArray(value)) return value.every(isPlainData);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(isPlainData);
  return false;
}

/** lr = baseLr * lambda(epoch), one function for all groups or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];

  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    super(optimizer);
    const n = this.groups.length;
    const lambdas = Array.isArray(lrLambda) ? lrLambda : Array.from({ length: n }, () => lrLambda);
    check(lambdas.length === n, 'LambdaLR', `expected ${n} lr lambdas (one per parameter group), got ${lambdas.length}`);
    this.lambdas = lambdas;
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    return this.baseLrs.map((base, i) => base * this.lambdas[i](epoch));
  }
}

export interface LinearLROptions { startFactor?: number; endFactor?: number; totalIters?: number }

/** Multiplies the lr by a factor going linearly from startFactor to endFactor over totalIters steps (warmup). */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: AnyOptimizer, options: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    check(this.startFactor > 0 && this.startFactor <= 1, 'LinearLR', `startFactor must be in (0, 1], got ${this.startFactor}`);
    check(this.endFactor >= 0 && this.endFactor <= 1, 'LinearLR', `endFactor must be in [0, 1], got ${this.endFactor}`);
    check(Number.isInteger(this.totalIters) && this.totalIters > 0, 'LinearLR', `totalIters must be a positive integer, got ${this.totalIters}`);
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    const t = Math.min(this.totalIters, epoch) / this.totalIters;
    return this.baseLrs.map((base) => base * (this.startFactor + (this.endFactor - this.startFactor) * t));
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    if (epoch === 0) return current.map((lr) => lr * this.startFactor);
    if (epoch > this.totalIters) return current;
    const d = this.endFactor - this.startFactor;
    return current.map((lr) => lr * (1 + d / (this.totalIters * this.startFactor + (epoch - 1) * d)));
  }
}

export interface CosineAnnealingLROptions { tMax: number; etaMin?: number }

/** lr = etaMin + (baseLr - etaMin)(1 + cos(pi epoch / tMax)) / 2 (periodic past tMax, as PyTorch). */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
    checkNumber(this.tMax, 'tMax', 'CosineAnnealingLR', 0, true);
    checkNumber(this.etaMin, 'etaMin', 'CosineAnnealingLR');
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    const c = (1 + Math.cos((Math.PI * epoch) / this.tMax)) / 2;
    return this.baseLrs.map((base) => this.etaMin + (base - this.etaMin) * c);
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    const { tMax, etaMin } = this;
    if (epoch === 0) return current;
    if (pyMod(epoch - 1 - tMax, 2 * tMax) === 0) {
      return current.map((lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * epoch) / tMax)) / (1 + Math.cos((Math.PI * (epoch - 1)) / tMax));
    return current.map((lr) => ratio * (lr - etaMin) + etaMin);
  }
}

