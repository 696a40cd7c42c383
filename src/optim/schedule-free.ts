// Schedule-Free AdamW and SGD (Defazio et al. 2024, facebookresearch/schedule_free).
// No learning-rate schedule: the iterate z takes AdamW-like (or plain SGD)
// steps, x is a weighted running average of z, and gradients are taken at the
// interpolation y = (1 - beta) z + beta x (beta: AdamW's beta1, SGD's
// momentum). The parameters hold y while training and x while evaluating, so
// train() / eval() must be called together with the model's own train() / eval().
import { zerosLike } from '../torch/creation.js';
import { noGrad } from '../torch/autograd.js';
import { keep, scope } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { BaseHyper, Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { check, checkBetas, checkNumber } from './util.js';

/** The step schedule and bookkeeping both schedule-free optimizers keep in each group (so that state dicts carry it, as upstream). */
export interface ScheduleFreeBook extends BaseHyper {
  /** Linear warmup of the learning rate over this many steps. */
  warmupSteps: number;
  /** Power r of the polynomial step weighting (k+1)^r in the average. */
  rPower: number;
  /** The averaging weight of a step is lr_max^weightLrPower (0: plain weighting). */
  weightLrPower: number;
  // Bookkeeping:
  k: number;
  trainMode: boolean;
  weightSum: number;
  lrMax: number;
  /** The warmed-up lr used by the last step, for logging. */
  scheduledLr: number;
}

type ScheduleOptions = Partial<Pick<ScheduleFreeBook, 'warmupSteps' | 'rPower' | 'weightLrPower'>>;

/** The schedule options with upstream's defaults, and fresh bookkeeping. */
function scheduleDefaults(o: ScheduleOptions): Omit<ScheduleFreeBook, 'lr'> {
  return {
    warmupSteps: o.warmupSteps ?? 0, rPower: o.rPower ?? 0, weightLrPower: o.weightLrPower ?? 2,
    k: 0, trainMode: false, weightSum: 0, lrMax: -1, scheduledLr: 0,
  };
}

/** train() / eval() switching and the step schedule shared by AdamWScheduleFree and SGDScheduleFree. */
abstract class ScheduleFree<H extends ScheduleFreeBook> extends Optimizer<H> {
  protected override readonly keyAliases: Record<string, string> = { rPower: 'r' };

  /** The interpolation weight beta of y = (1 - beta) z + beta x. */
  protected abstract interpolation(group: ParamGroup<H>): number;

  /** True when the parameters hold y (training point) rather than x (average). */
  get trainMode(): boolean { return this.paramGroups.every((g) => g.trainMode); }

  /** Moves the parameters to y, where gradients are taken. Call with model.train(). */
  train(): void { this.switchMode(true); }

  /** Moves the parameters to the average x, used for evaluation and checkpoints. Call with model.eval(). */
  eval(): void { this.switchMode(false); }

  private switchMode(train: boolean): void {
    this.assertAlive();
    noGrad(() => scope(() => {
      for (const group of this.paramGroups) {
        if (group.trainMode === train) continue;
        const beta = this.interpolation(group);
        // y = x + (1 - beta)(z - x) and its inverse x = y + (1 - 1/beta)(z - y).
        const weight = train ? 1 - beta : 1 - 1 / beta;
        for (const p of group.params) {
          const z = this.state.get(p)?.z;
          if (z instanceof Tensor) p.lerp_(z, weight);
        }
        group.trainMode = train;
      }
    }));
  }

  override step<T = void>(closure?: () => T): T | undefined {
    const idle = this.paramGroups.findIndex((g) => !g.trainMode);
    if (idle >= 0) {
      throw new Error(`${this.name}: step() called in eval mode (parameter group ${idle}); call optimizer.train() ` +
        'before training steps and optimizer.eval() before evaluation or saving');
    }
    return super.step(closure);
  }

  protected validateSchedule(h: H): void {
    check(Number.isInteger(h.warmupSteps) && h.warmupSteps >= 0, this.name, `invalid warmupSteps ${h.warmupSteps}: expected an integer >= 0`);
    checkNumber(h.rPower, 'rPower value', this.name);
    checkNumber(h.weightLrPower, 'weightLrPower value', this.name);
  }

  /** Advances the group's schedule: the warmed-up lr of this step and the averaging weight ckp1 of x. */
  protected schedule(group: ParamGroup<H>): { lr: number; ckp1: number } {
    const { k, rPower, warmupSteps, weightLrPower } = group;
    const lr = group.lr * (k < warmupSteps ? (k + 1) / warmupSteps : 1);
    group.scheduledLr = lr;
    group.lrMax = Math.max(lr, group.lrMax);
    // Later steps weigh more in the average when lr is larger (weightLrPower) or k is larger (rPower).
    const weight = (k + 1) ** rPower * group.lrMax ** weightLrPower;
    group.weightSum += weight;
    return { lr, ckp1: group.weightSum === 0 ? 0 : weight / group.weightSum };
  }
}

export interface AdamWScheduleFreeHyper extends ScheduleFreeBook {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Optional first-moment EMA of the gradient inside the Adam step (0: none). */
  innerMomentum: number;
}
export type AdamWScheduleFreeOptions = Partial<Pick<AdamWScheduleFreeHyper,
  'lr' | 'betas' | 'eps' | 'weightDecay' | 'warmupSteps' | 'rPower' | 'weightLrPower' | 'innerMomentum'>>;

export class AdamWScheduleFree extends ScheduleFree<AdamWScheduleFreeHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamWScheduleFreeHyper>>, options: AdamWScheduleFreeOptions = {}) {
    super(params, {
      lr: options.lr ?? 0.0025,
      betas: options.betas ? ([...options.betas] as [number, number]) : [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      innerMomentum: options.innerMomentum ?? 0,
      ...scheduleDefaults(options),
    });
  }

  protected validate(h: AdamWScheduleFreeHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    checkNumber(h.eps, 'epsilon value', this.name);
    checkBetas(h.betas, this.name);
    // eval() extrapolates with weight 1 - 1/beta1.
    check(h.betas[0] > 0, this.name, 'beta1 must be > 0 (eval() divides by it)');
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
    this.validateSchedule(h);
    check(h.innerMomentum >= 0 && h.innerMomentum < 1, this.name, `invalid innerMomentum ${h.innerMomentum}: expected 0 <= innerMomentum < 1`);
  }

  protected interpolation(group: ParamGroup<AdamWScheduleFreeHyper>): number { return group.betas[0]; }

  protected updateGroup(group: ParamGroup<AdamWScheduleFreeHyper>): void {
    const { eps, weightDecay, k, innerMomentum } = group;
    const [beta1, beta2] = group.betas;
    const { lr, ckp1 } = this.schedule(group);
    const biasCorrection2 = 1 - beta2 ** (k + 1);
    const biasCorrection1 = 1 - innerMomentum ** (k + 1);

    for (const y of group.params) {
      const g = y.grad;
      if (g === null) continue;
      const state = this.stateOf(y);
      if (!(state.z instanceof Tensor)) {
        state.z = keep(y.clone());
        state.exp_avg_sq = keep(zerosLike(y));
      }
      if (innerMomentum !== 0 && !(state.exp_avg instanceof Tensor)) state.exp_avg = keep(zerosLike(y));
      const z = state.z;
      const expAvgSq = (state.exp_avg_sq as Tensor).mul_(beta2).addcmul_(g, g, 1 - beta2);
      const denom = expAvgSq.div(biasCorrection2).sqrt_().add_(eps);
      // Upstream divides the .grad buffer in place; a new tensor leaves the user's gradient intact.
      let normalized: Tensor;
      if (innerMomentum !== 0) {
        const expAvg = (state.exp_avg as Tensor).mul_(innerMomentum).add_(g, 1 - innerMomentum);
        normalized = expAvg.div(biasCorrection1).div_(denom);
      } else {
        normalized = g.div(denom);
      }
      if (weightDecay !== 0) normalized.add_(y, weightDecay); // decay evaluated at y
      // y moves as if x and z had been updated, without storing x.
      y.lerp_(z, ckp1).add_(normalized, lr * (beta1 * (1 - ckp1) - 1));
      z.sub_(normalized, lr);
    }
    group.k = k + 1;
  }
}

export interface SGDScheduleFreeHyper extends ScheduleFreeBook {
  /** The interpolation weight beta of y = (1 - beta) z + beta x, in (0, 1). */
  momentum: number;
  weightDecay: number;
}
export type SGDScheduleFreeOptions = Partial<Pick<SGDScheduleFreeHyper, 'lr' | 'momentum' | 'weightDecay' | 'warmupSteps' | 'rPower' | 'weightLrPower'>>;

/** Schedule-Free SGD (upstream's SGDScheduleFree, defaults lr 1 and momentum 0.9): z takes plain gradient steps. */
export class SGDScheduleFree extends ScheduleFree<SGDScheduleFreeHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<SGDScheduleFreeHyper>>, options: SGDScheduleFreeOptions = {}) {
    super(params, {
      lr: options.lr ?? 1.0,
      momentum: options.momentum ?? 0.9,
      weightDecay: options.weightDecay ?? 0,
      ...scheduleDefaults(options),
    });
  }

  protected validate(h: SGDScheduleFreeHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    check(h.momentum > 0 && h.momentum < 1, this.name, `invalid momentum ${h.momentum}: expected 0 < momentum < 1`);
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
    this.validateSchedule(h);
  }

  protected interpolation(group: ParamGroup<SGDScheduleFreeHyper>): number { return group.momentum; }

  protected updateGroup(group: ParamGroup<SGDScheduleFreeHyper>): void {
    const { momentum, weightDecay, k } = group;
    const { lr, ckp1 } = this.schedule(group);
    for (const y of group.params) {
      let g = y.grad;
      if (g === null) continue;
      const state = this.stateOf(y);
      if (!(state.z instanceof Tensor)) state.z = keep(y.clone());
      const z = state.z;
      // Upstream adds the decay into the .grad buffer; a new tensor leaves the user's gradient intact.
      if (weightDecay !== 0) g = g.add(y, weightDecay);
      y.lerp_(z, ckp1).add_(g, lr * (momentum * (1 - ckp1) - 1));
      z.sub_(g, lr);
    }
    group.k = k + 1;
  }
}
