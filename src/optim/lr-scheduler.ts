// Learning-rate schedulers with torch.optim.lr_scheduler's behaviour. Each
// computes the lr of step `lastEpoch` in closed form (the values PyTorch's
// recursive forms give when nothing else changes the lr) and writes it into
// the optimizer's parameter groups.
import { BaseHyper, Optimizer, ParamGroup } from './optimizer.js';
import { check, checkNumber, isFiniteNumber } from './util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;

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
    this.groups.forEach((group, i) => { group.lr = lrs[i]; });
    this.lastLr = lrs;
  }

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
    check(Array.isArray(base) && base.length === this.groups.length, where,
      `'baseLrs' must list one lr per parameter group (${this.groups.length}), got ${JSON.stringify(base)}`);
    for (const [key, value] of Object.entries(state)) {
      const self = this as unknown as Record<string, unknown>;
      if (key in this && isPlainData(self[key]) && isPlainData(value)) self[key] = structuredClone(value);
    }
  }
}

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
}

export interface SequentialLROptions { schedulers: LRScheduler[]; milestones: number[] }

/**
 * Runs schedulers one after another: schedulers[i] from milestones[i-1] on,
 * restarted at its step 0 there. Warmup then cosine:
 * `new SequentialLR(opt, { schedulers: [new LinearLR(opt, { startFactor: 0.01, totalIters: w }),
 *   new CosineAnnealingLR(opt, { tMax: total - w })], milestones: [w] })`.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  milestones: number[];

  constructor(optimizer: AnyOptimizer, options: SequentialLROptions) {
    super(optimizer);
    const { schedulers, milestones } = options;
    check(Array.isArray(schedulers) && schedulers.length >= 1, 'SequentialLR', 'expects at least one scheduler');
    schedulers.forEach((s, i) => check(s.optimizer === optimizer, 'SequentialLR',
      `scheduler ${i} (${s.constructor.name}) belongs to a different optimizer`));
    check(Array.isArray(milestones) && milestones.length === schedulers.length - 1, 'SequentialLR',
      `expects ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${JSON.stringify(milestones)}`);
    check(milestones.every((m, i) => Number.isInteger(m) && m > 0 && (i === 0 || m > milestones[i - 1])), 'SequentialLR',
      `milestones must be increasing positive integers, got ${JSON.stringify(milestones)}`);
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    // Constructing the children moved the lr: start over from the first one's step 0.
    for (const group of this.groups) group.lr = group.initialLr as number;
    this.lastEpoch = 0;
    schedulers[0].step(0);
    this.lastLr = schedulers[0].getLastLr();
  }

  protected computeLrs(): number[] { return this.getLastLr(); }

  override step(epoch?: number): void {
    check(epoch === undefined, 'SequentialLR', 'step(epoch) is not supported; call step() once per step');
    this.lastEpoch += 1;
    let index = 0;
    while (index < this.milestones.length && this.milestones[index] <= this.lastEpoch) index++;
    const current = this.schedulers[index];
    if (index > 0 && this.milestones[index - 1] === this.lastEpoch) current.step(0);
    else current.step();
    this.lastLr = current.getLastLr();
  }

  override stateDict(): SchedulerStateDict {
    const out = super.stateDict();
    out.schedulers = this.schedulers.map((s) => s.stateDict());
    return out;
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const saved = state.schedulers;
    check(Array.isArray(saved) && saved.length === this.schedulers.length, 'SequentialLR.loadStateDict',
      `expected the states of ${this.schedulers.length} schedulers`);
    const { schedulers: _, ...own } = state;
    super.loadStateDict(own);
    this.schedulers.forEach((s, i) => s.loadStateDict((saved as SchedulerStateDict[])[i]));
  }
}

export interface OneCycleLROptions {
  /** Peak lr, one value for all groups or one per group. */
  maxLr: number | number[];
  /** Length of the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum or Adam's beta1) inversely to the lr (default true, as PyTorch). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** Initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** Final lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, back down, annihilate) instead of two. */
  threePhase?: boolean;
}

interface Phase { endStep: number; startLr: string; endLr: string; startMomentum: string; endMomentum: string }

/** The 1cycle policy (Smith & Topin): warm up to maxLr, then anneal far below the initial lr. */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;
  phases: Phase[];

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const where = 'OneCycleLR';
    const totalSteps = options.totalSteps ?? (options.epochs ?? NaN) * (options.stepsPerEpoch ?? NaN);
    check(Number.isInteger(totalSteps) && totalSteps > 0, where,
      `totalSteps must be a positive integer (or give positive integer epochs and stepsPerEpoch), got ${totalSteps}`);
    const pctStart = options.pctStart ?? 0.3;
    check(isFiniteNumber(pctStart) && pctStart >= 0 && pctStart <= 1, where, `pctStart must be in [0, 1], got ${pctStart}`);
    const anneal = options.annealStrategy ?? 'cos';
    check(anneal === 'cos' || anneal === 'linear', where, `annealStrategy must be 'cos' or 'linear', got '${String(anneal)}'`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    checkNumber(divFactor, 'divFactor', where, 0, true);
    checkNumber(finalDivFactor, 'finalDivFactor', where, 0, true);
    const groups = optimizer.paramGroups;
    const maxLrs = perGroup(options.maxLr, groups.length, 'maxLr');
    // The group keys follow PyTorch, so state dicts carry the same names.
    groups.forEach((group, i) => {
      checkNumber(maxLrs[i], 'maxLr', where);
      group.initialLr = maxLrs[i] / divFactor;
      group.maxLr = maxLrs[i];
      group.minLr = group.initialLr / finalDivFactor;
    });
    const cycleMomentum = options.cycleMomentum ?? true;
    const useBeta1 = 'betas' in optimizer.defaults;
    if (cycleMomentum) {
      check('momentum' in optimizer.defaults || useBeta1, where,
        'the optimizer has neither momentum nor betas; pass cycleMomentum: false');
      const maxMomentums = perGroup(options.maxMomentum ?? 0.95, groups.length, 'maxMomentum');
      const baseMomentums = perGroup(options.baseMomentum ?? 0.85, groups.length, 'baseMomentum');
      groups.forEach((group, i) => {
        if (useBeta1) group.betas = [maxMomentums[i], (group.betas as number[])[1]];
        else group.momentum = maxMomentums[i];
        group.maxMomentum = maxMomentums[i];
        group.baseMomentum = baseMomentums[i];
      });
    }
    super(optimizer);
    this.totalSteps = totalSteps;
    this.annealStrategy = anneal;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    const up = pctStart * totalSteps - 1;
    this.phases = options.threePhase
      ? [
        { endStep: up, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ]
      : [
        { endStep: up, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos'
      ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
      : (end - start) * pct + start;
  }

  protected computeLrs(epoch: number): number[] {
    check(epoch <= this.totalSteps, 'OneCycleLR', `tried to step ${epoch} times but totalSteps is ${this.totalSteps}`);
    return this.groups.map((group) => {
      let start = 0;
      let index = 0;
      // The phase containing `epoch`; past the end the last phase extrapolates (as PyTorch).
      while (epoch > this.phases[index].endStep && index < this.phases.length - 1) start = this.phases[index++].endStep;
      const phase = this.phases[index];
      const pct = (epoch - start) / (phase.endStep - start);
      if (this.cycleMomentum) {
        const m = this.anneal(group[phase.startMomentum] as number, group[phase.endMomentum] as number, pct);
        if (this.useBeta1) group.betas = [m, (group.betas as number[])[1]];
        else group.momentum = m;
      }
      return this.anneal(group[phase.startLr] as number, group[phase.endLr] as number, pct);
    });
  }
}

function perGroup(value: number | number[], n: number, name: string): number[] {
  if (!Array.isArray(value)) return Array.from({ length: n }, () => value);
  check(value.length === n, 'OneCycleLR', `expected ${n} values of ${name} (one per parameter group), got ${value.length}`);
  return [...value];
}
