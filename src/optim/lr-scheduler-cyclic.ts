// Cyclic schedulers: OneCycleLR, CyclicLR and CosineAnnealingWarmRestarts.
// They set absolute lrs (no recursive form), so inside a ChainedScheduler
// they override what the schedulers before them did, as in PyTorch.
import { AnyOptimizer, LRScheduler, perGroup } from './lr-scheduler.js';
import { check, checkNumber, isFiniteNumber } from './util.js';

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
    const maxLrs = perGroup(options.maxLr, groups.length, 'maxLr', where);
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
      const maxMomentums = perGroup(options.maxMomentum ?? 0.95, groups.length, 'maxMomentum', where);
      const baseMomentums = perGroup(options.baseMomentum ?? 0.85, groups.length, 'baseMomentum', where);
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


export interface CyclicLROptions {
  /** Lower lr of the cycle (the initial lr), one value or one per group. */
  baseLr: number | number[];
  /** Upper lr of the cycle, one value or one per group. */
  maxLr: number | number[];
  /** Steps in the increasing half of a cycle (default 2000). */
  stepSizeUp?: number;
  /** Steps in the decreasing half (default stepSizeUp). */
  stepSizeDown?: number;
  /** 'triangular' (constant amplitude), 'triangular2' (halved every cycle), 'exp_range' (times gamma^step). */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** Decay of 'exp_range' (default 1). */
  gamma?: number;
  /** A custom amplitude scale of the cycle number or step (overrides mode; not saved in state dicts). */
  scaleFn?: (x: number) => number;
  /** What scaleFn takes: 'cycle' (default) or 'iterations'. */
  scaleMode?: 'cycle' | 'iterations';
  /** Cycle momentum (SGD's momentum, or beta1 with betas) inversely to the lr (default true, as PyTorch). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
}

/**
 * Cyclical learning rates (Smith 2017), as torch.optim.lr_scheduler.CyclicLR:
 * the lr goes from baseLr to maxLr and back every stepSizeUp + stepSizeDown
 * steps, and momentum the other way between maxMomentum and baseMomentum.
 * As PyTorch, cycleMomentum (the default) sets the optimizer's momentum even
 * when it was 0 and needs an optimizer with momentum or betas (beta1 cycles,
 * as in PyTorch 2; PyTorch 1.13 accepts momentum only).
 */
export class CyclicLR extends LRScheduler {
  maxLrs: number[];
  totalSize: number;
  stepRatio: number;
  mode: string;
  gamma: number;
  scaleMode: 'cycle' | 'iterations';
  cycleMomentum: boolean;
  useBeta1: boolean;
  baseMomentums: number[] = [];
  maxMomentums: number[] = [];
  private readonly scaleFn: (x: number) => number;

  constructor(optimizer: AnyOptimizer, options: CyclicLROptions) {
    const where = 'CyclicLR';
    check(options !== null && typeof options === 'object', where, 'expects options { baseLr, maxLr, ... }');
    const groups = optimizer.paramGroups;
    const baseLrs = perGroup(options.baseLr, groups.length, 'baseLr', where);
    const maxLrs = perGroup(options.maxLr, groups.length, 'maxLr', where);
    baseLrs.forEach((lr) => checkNumber(lr, 'baseLr', where));
    maxLrs.forEach((lr) => checkNumber(lr, 'maxLr', where));
    const up = options.stepSizeUp ?? 2000;
    const down = options.stepSizeDown ?? up;
    checkNumber(up, 'stepSizeUp', where, 0, true);
    checkNumber(down, 'stepSizeDown', where, 0, true);
    const mode = options.mode ?? 'triangular';
    check(options.scaleFn !== undefined || ['triangular', 'triangular2', 'exp_range'].includes(mode), where,
      `mode must be 'triangular', 'triangular2' or 'exp_range' (or pass scaleFn), got '${String(mode)}'`);
    const gamma = options.gamma ?? 1;
    checkNumber(gamma, 'gamma', where);
    const scaleMode = options.scaleFn ? options.scaleMode ?? 'cycle' : mode === 'exp_range' ? 'iterations' : 'cycle';
    check(scaleMode === 'cycle' || scaleMode === 'iterations', where, `scaleMode must be 'cycle' or 'iterations', got '${String(scaleMode)}'`);
    const cycleMomentum = options.cycleMomentum ?? true;
    const useBeta1 = 'betas' in optimizer.defaults;
    let baseMomentums: number[] = [];
    let maxMomentums: number[] = [];
    if (cycleMomentum) {
      check('momentum' in optimizer.defaults || useBeta1, where,
        'the optimizer has neither momentum nor betas; pass cycleMomentum: false');
      baseMomentums = perGroup(options.baseMomentum ?? 0.8, groups.length, 'baseMomentum', where);
      maxMomentums = perGroup(options.maxMomentum ?? 0.9, groups.length, 'maxMomentum', where);
      [...baseMomentums, ...maxMomentums].forEach((m) => check(isFiniteNumber(m), where, `momentum values must be finite numbers, got ${m}`));
      groups.forEach((group, i) => {
        if (useBeta1) group.betas = [maxMomentums[i], (group.betas as number[])[1]];
        else group.momentum = maxMomentums[i];
      });
    }
    groups.forEach((group, i) => { group.lr = baseLrs[i]; });
    super(optimizer);
    this.baseLrs = baseLrs;
    this.maxLrs = maxLrs;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    this.mode = mode;
    this.gamma = gamma;
    this.scaleMode = scaleMode;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.baseMomentums = baseMomentums;
    this.maxMomentums = maxMomentums;
    this.scaleFn = options.scaleFn
      ?? (mode === 'triangular2' ? (x) => 1 / 2 ** (x - 1) : mode === 'exp_range' ? (x) => this.gamma ** x : () => 1);
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    const cycle = Math.floor(1 + epoch / this.totalSize);
    const x = 1 + epoch / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const scale = this.scaleFn(this.scaleMode === 'cycle' ? cycle : epoch);
    if (this.cycleMomentum) {
      this.groups.forEach((group, i) => {
        const m = this.maxMomentums[i] - (this.maxMomentums[i] - this.baseMomentums[i]) * scaleFactor * scale;
        if (this.useBeta1) group.betas = [m, (group.betas as number[])[1]];
        else group.momentum = m;
      });
    }
    return this.baseLrs.map((base, i) => base + (this.maxLrs[i] - base) * scaleFactor * scale);
  }
}

export interface CosineAnnealingWarmRestartsOptions {
  /** Length of the first period, in steps (a positive integer). */
  t0: number;
  /** Each period is tMult times the previous one (an integer >= 1, default 1). */
  tMult?: number;
  etaMin?: number;
}

/**
 * SGDR (Loshchilov & Hutter): cosine annealing from baseLr to etaMin over
 * periods of t0, t0 tMult, t0 tMult^2, ... steps, restarting at baseLr.
 * step(epoch) accepts fractional epochs (e.g. epoch + i / iters per batch),
 * as PyTorch's CosineAnnealingWarmRestarts.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  t0: number;
  tI: number;
  tMult: number;
  etaMin: number;
  /** Steps (possibly fractional) since the last restart. */
  tCur: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingWarmRestartsOptions) {
    const where = 'CosineAnnealingWarmRestarts';
    const t0 = options?.t0;
    const tMult = options?.tMult ?? 1;
    check(Number.isInteger(t0) && t0 > 0, where, `t0 must be a positive integer, got ${String(t0)}`);
    check(Number.isInteger(tMult) && tMult >= 1, where, `tMult must be an integer >= 1, got ${String(tMult)}`);
    super(optimizer);
    this.t0 = t0;
    this.tI = t0;
    this.tMult = tMult;
    this.etaMin = options.etaMin ?? 0;
    checkNumber(this.etaMin, 'etaMin', where);
    this.tCur = -1;
    this.initialStep();
  }

  protected computeLrs(): number[] {
    const c = 1 + Math.cos((Math.PI * this.tCur) / this.tI);
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * c) / 2);
  }

  /** Inside a ChainedScheduler: its own step (it keeps the period position). @internal */
  override stepChained(): void { this.step(); }

  /** Advances one step, or jumps to `epoch` (fractional allowed; lastEpoch becomes floor(epoch)). */
  override step(epoch?: number): void {
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      epoch = this.lastEpoch + 1;
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= this.tMult;
      }
    } else {
      check(isFiniteNumber(epoch) && epoch >= 0, 'CosineAnnealingWarmRestarts', `expected a non-negative epoch, got ${epoch}`);
      if (epoch >= this.t0) {
        if (this.tMult === 1) {
          this.tCur = epoch % this.t0;
        } else {
          const n = Math.trunc(Math.log((epoch / this.t0) * (this.tMult - 1) + 1) / Math.log(this.tMult));
          this.tCur = epoch - (this.t0 * (this.tMult ** n - 1)) / (this.tMult - 1);
          this.tI = this.t0 * this.tMult ** n;
        }
      } else {
        this.tI = this.t0;
        this.tCur = epoch;
      }
    }
    this.lastEpoch = Math.floor(epoch);
    const lrs = this.computeLrs();
    this.writeLrs(lrs);
    this.lastLr = lrs;
  }
}
