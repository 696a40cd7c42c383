// Schedule-Free AdamW (Defazio et al. 2024, facebookresearch/schedule_free).
// No learning-rate schedule: the iterate z takes AdamW-like steps, x is a
// weighted running average of z, and gradients are taken at the
// interpolation y = (1 - beta1) z + beta1 x. The parameters hold y while
// training and x while evaluating, so train() / eval() must be called
// together with the model's own train() / eval().
import { zerosLike } from '../torch/creation.js';
import { noGrad } from '../torch/autograd.js';
import { keep, scope } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { check, checkBetas, checkNumber } from './util.js';

export interface AdamWScheduleFreeHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Linear warmup of the learning rate over this many steps. */
  warmupSteps: number;
  /** Power r of the polynomial step weighting (k+1)^r in the average. */
  rPower: number;
  /** The averaging weight of a step is lr_max^weightLrPower (0: plain weighting). */
  weightLrPower: number;
  /** Optional first-moment EMA of the gradient inside the Adam step (0: none). */
  innerMomentum: number;
  // Bookkeeping, part of the group so that state dicts carry it (as upstream):
  k: number;
  trainMode: boolean;
  weightSum: number;
  lrMax: number;
  /** The warmed-up lr used by the last step, for logging. */
  scheduledLr: number;
}
export type AdamWScheduleFreeOptions = Partial<Pick<AdamWScheduleFreeHyper,
  'lr' | 'betas' | 'eps' | 'weightDecay' | 'warmupSteps' | 'rPower' | 'weightLrPower' | 'innerMomentum'>>;

export class AdamWScheduleFree extends Optimizer<AdamWScheduleFreeHyper> {
  protected override readonly keyAliases: Record<string, string> = { rPower: 'r' };

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamWScheduleFreeHyper>>, options: AdamWScheduleFreeOptions = {}) {
    super(params, {
      lr: options.lr ?? 0.0025,
      betas: options.betas ? ([...options.betas] as [number, number]) : [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      warmupSteps: options.warmupSteps ?? 0,
      rPower: options.rPower ?? 0,
      weightLrPower: options.weightLrPower ?? 2,
      innerMomentum: options.innerMomentum ?? 0,
      k: 0,
      trainMode: false,
      weightSum: 0,
      lrMax: -1,
      scheduledLr: 0,
    });
  }

  protected validate(h: AdamWScheduleFreeHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    checkNumber(h.eps, 'epsilon value', this.name);
    checkBetas(h.betas, this.name);
    // eval() extrapolates with weight 1 - 1/beta1.
    check(h.betas[0] > 0, this.name, 'beta1 must be > 0 (eval() divides by it)');
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
    check(Number.isInteger(h.warmupSteps) && h.warmupSteps >= 0, this.name, `invalid warmupSteps ${h.warmupSteps}: expected an integer >= 0`);
    checkNumber(h.rPower, 'rPower value', this.name);
    checkNumber(h.weightLrPower, 'weightLrPower value', this.name);
    check(h.innerMomentum >= 0 && h.innerMomentum < 1, this.name, `invalid innerMomentum ${h.innerMomentum}: expected 0 <= innerMomentum < 1`);
  }

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
        const beta1 = group.betas[0];
        // y = x + (1 - beta1)(z - x) and its inverse x = y + (1 - 1/beta1)(z - y).
        const weight = train ? 1 - beta1 : 1 - 1 / beta1;
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

  protected updateGroup(group: ParamGroup<AdamWScheduleFreeHyper>): void {
    const { eps, weightDecay, k, rPower, warmupSteps, weightLrPower, innerMomentum } = group;
    const [beta1, beta2] = group.betas;
    const lr = group.lr * (k < warmupSteps ? (k + 1) / warmupSteps : 1);
    group.scheduledLr = lr;
    group.lrMax = Math.max(lr, group.lrMax);
    // Later steps weigh more in the average when lr is larger (weightLrPower) or k is larger (rPower).
    const weight = (k + 1) ** rPower * group.lrMax ** weightLrPower;
    group.weightSum += weight;
    const ckp1 = group.weightSum === 0 ? 0 : weight / group.weightSum;
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
