// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight
// decay applied to the parameters), exactly as torch.optim.Adam / AdamW.
import { zerosLike } from '../torch/creation.js';
import { keep } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { checkAdamFamily } from './util.js';

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}
export type AdamOptions = Partial<AdamHyper>;
type Params = Iterable<Tensor> | Iterable<ParamGroupSpec<AdamHyper>>;

const defaultsFrom = (o: AdamOptions, weightDecay: number): AdamHyper => ({
  lr: o.lr ?? 1e-3,
  betas: o.betas ? ([...o.betas] as [number, number]) : [0.9, 0.999],
  eps: o.eps ?? 1e-8,
  weightDecay: o.weightDecay ?? weightDecay,
  amsgrad: o.amsgrad ?? false,
  maximize: o.maximize ?? false,
});

export class Adam extends Optimizer<AdamHyper> {
  /** Whether weight decay is decoupled (AdamW) instead of added to the gradient. */
  protected readonly decoupled: boolean = false;

  constructor(params: Params, options: AdamOptions = {}) {
    super(params, defaultsFrom(options, 0));
  }

  protected validate(h: AdamHyper): void {
    checkAdamFamily(h, this.name);
  }

  protected updateGroup(group: ParamGroup<AdamHyper>): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      if (maximize) g = g.neg();
      const { state, step } = this.advanceState(p, ['exp_avg', 'exp_avg_sq']);
      if (amsgrad && !(state.max_exp_avg_sq instanceof Tensor)) state.max_exp_avg_sq = keep(zerosLike(p));

      if (weightDecay !== 0) {
        if (this.decoupled) p.mul_(1 - lr * weightDecay);
        else g = g.add(p, weightDecay);
      }
      const expAvg = (state.exp_avg as Tensor).lerp_(g, 1 - beta1);
      const expAvgSq = (state.exp_avg_sq as Tensor).mul_(beta2).addcmul_(g, g, 1 - beta2);

      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
      let second = expAvgSq;
      if (amsgrad) {
        // The running maximum of the second moment keeps the step size from growing back.
        second = (state.max_exp_avg_sq as Tensor).copy_(expAvgSq.maximum(state.max_exp_avg_sq as Tensor));
      }
      const denom = second.sqrt().div_(biasCorrection2Sqrt).add_(eps);
      p.addcdiv_(expAvg, denom, -lr / biasCorrection1);
    }
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: Params, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 });
  }
}
