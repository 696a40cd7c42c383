// Adamax (Kingma & Ba 2015, the infinity-norm variant of Adam), exactly as
// torch.optim.Adamax: exp_inf = max(beta2 exp_inf, |g| + eps), step
// lr / (1 - beta1^t) * exp_avg / exp_inf.
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { checkAdamFamily } from './util.js';

export interface AdamaxHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
}
export type AdamaxOptions = Partial<AdamaxHyper>;

export class Adamax extends Optimizer<AdamaxHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamaxHyper>>, options: AdamaxOptions = {}) {
    super(params, {
      lr: options.lr ?? 2e-3,
      betas: options.betas ? ([...options.betas] as [number, number]) : [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      maximize: options.maximize ?? false,
    });
  }

  protected validate(h: AdamaxHyper): void {
    checkAdamFamily(h, this.name);
  }

  protected updateGroup(group: ParamGroup<AdamaxHyper>): void {
    const { lr, eps, weightDecay, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      const { state, step } = this.advanceState(p, ['exp_avg', 'exp_inf']);
      if (maximize) g = g.neg();
      if (weightDecay !== 0) g = g.add(p, weightDecay);
      const expAvg = (state.exp_avg as Tensor).mul_(beta1).add_(g, 1 - beta1);
      const expInf = state.exp_inf as Tensor;
      expInf.copy_(expInf.mul_(beta2).maximum(g.abs().add_(eps)));
      p.addcdiv_(expAvg, expInf, -lr / (1 - beta1 ** step));
    }
  }
}
