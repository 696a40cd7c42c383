// Multiplicative decay schedulers (torch.optim.lr_scheduler StepLR,
// MultiStepLR, ExponentialLR, ConstantLR, MultiplicativeLR, PolynomialLR).
// Standalone steps use PyTorch's closed forms (_get_closed_form_lr); inside a
// ChainedScheduler the recursive forms (get_lr) multiply the current lr.
import { AnyOptimizer, LRScheduler } from './lr-scheduler.js';
import { check, checkNumber, isFiniteNumber } from './util.js';

const positiveInteger = (value: unknown, name: string, where: string, min = 1): void =>
  check(Number.isInteger(value) && (value as number) >= min, where, `${name} must be an integer >= ${min}, got ${String(value)}`);

export interface StepLROptions { stepSize: number; gamma?: number }

/** lr = baseLr * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    super(optimizer);
    this.stepSize = options?.stepSize;
    this.gamma = options?.gamma ?? 0.1;
    positiveInteger(this.stepSize, 'stepSize', 'StepLR');
    checkNumber(this.gamma, 'gamma', 'StepLR');
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(epoch / this.stepSize));
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    if (epoch === 0 || epoch % this.stepSize !== 0) return current;
    return current.map((lr) => lr * this.gamma);
  }
}

export interface MultiStepLROptions { milestones: number[]; gamma?: number }

/** lr = baseLr * gamma^(number of milestones <= epoch); a milestone listed twice counts twice (as PyTorch's Counter). */
export class MultiStepLR extends LRScheduler {
  /** Sorted, with repeats. */
  milestones: number[];
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: MultiStepLROptions) {
    super(optimizer);
    const milestones = options?.milestones;
    check(Array.isArray(milestones) && milestones.every((m) => Number.isInteger(m) && m >= 0), 'MultiStepLR',
      `milestones must be a list of integers >= 0, got ${JSON.stringify(milestones)}`);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    checkNumber(this.gamma, 'gamma', 'MultiStepLR');
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    const passed = this.milestones.filter((m) => m <= epoch).length; // bisect_right
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    const count = this.milestones.filter((m) => m === epoch).length;
    return count === 0 ? current : current.map((lr) => lr * this.gamma ** count);
  }
}

export interface ExponentialLROptions { gamma: number }

/** lr = baseLr * gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    super(optimizer);
    this.gamma = options?.gamma;
    checkNumber(this.gamma, 'gamma', 'ExponentialLR');
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** epoch);
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    return epoch === 0 ? current : current.map((lr) => lr * this.gamma);
  }
}

export interface ConstantLROptions { factor?: number; totalIters?: number }

/** lr = baseLr * factor until step totalIters, then baseLr (defaults 1/3 and 5, as PyTorch). */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;

  constructor(optimizer: AnyOptimizer, options: ConstantLROptions = {}) {
    super(optimizer);
    this.factor = options.factor ?? 1 / 3;
    this.totalIters = options.totalIters ?? 5;
    check(isFiniteNumber(this.factor) && this.factor >= 0 && this.factor <= 1, 'ConstantLR',
      `factor must be in [0, 1], got ${String(this.factor)}`);
    positiveInteger(this.totalIters, 'totalIters', 'ConstantLR', 0);
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    const f = epoch >= this.totalIters ? 1 : this.factor;
    return this.baseLrs.map((base) => base * f);
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    if (epoch === 0) return current.map((lr) => lr * this.factor);
    if (epoch !== this.totalIters) return current;
    return current.map((lr) => lr * (1 / this.factor));
  }
}

/**
 * Multiplies each group's current lr by lambda(epoch) at every step after the
 * first: lr_t = lr_{t-1} * lambda(t). Recursive only (as PyTorch), so the lr
 * it continues from after a resume is the optimizer's, restored by its
 * loadStateDict; step(epoch) applies lambda(epoch) once.
 */
export class MultiplicativeLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];

  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    super(optimizer);
    const n = this.groups.length;
    const lambdas = Array.isArray(lrLambda) ? lrLambda : Array.from({ length: n }, () => lrLambda);
    check(lambdas.length === n, 'MultiplicativeLR', `expected ${n} lr lambdas (one per parameter group), got ${lambdas.length}`);
    check(lambdas.every((f) => typeof f === 'function'), 'MultiplicativeLR', 'lrLambda must be a function or one function per parameter group');
    this.lambdas = lambdas;
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    // One lambda per group the scheduler was made with (PyTorch's zip): a group added later is left alone.
    return this.chainedLrs(epoch, this.groups.slice(0, this.lambdas.length).map((g) => g.lr));
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    return epoch > 0 ? current.map((lr, i) => lr * this.lambdas[i](epoch)) : current;
  }
}

export interface PolynomialLROptions { totalIters?: number; power?: number }

/** lr = baseLr * (1 - min(epoch, totalIters) / totalIters)^power (defaults 5 and 1, as PyTorch). */
export class PolynomialLR extends LRScheduler {
  totalIters: number;
  power: number;

  constructor(optimizer: AnyOptimizer, options: PolynomialLROptions = {}) {
    super(optimizer);
    this.totalIters = options.totalIters ?? 5;
    this.power = options.power ?? 1;
    positiveInteger(this.totalIters, 'totalIters', 'PolynomialLR');
    checkNumber(this.power, 'power', 'PolynomialLR');
    this.initialStep();
  }

  protected computeLrs(epoch: number): number[] {
    const f = (1 - Math.min(this.totalIters, epoch) / this.totalIters) ** this.power;
    return this.baseLrs.map((base) => base * f);
  }

  protected override chainedLrs(epoch: number, current: number[]): number[] {
    if (epoch === 0 || epoch > this.totalIters) return current;
    const f = ((1 - epoch / this.totalIters) / (1 - (epoch - 1) / this.totalIters)) ** this.power;
    return current.map((lr) => lr * f);
  }
}
