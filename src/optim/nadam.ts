// NAdam (Dozat 2016, Adam with Nesterov momentum and a momentum schedule),
// exactly as torch.optim.NAdam of PyTorch 1.13: mu_t = beta1 (1 - 0.5 *
// 0.96^(t momentumDecay)), L2 weight decay added to the gradient, no
// maximize (PyTorch 1.13 has none). mu_product (the running product of the
// mu_t) is a number in the state, a 0-d tensor in PyTorch's files.
// As 1.13, the momentum term's bias correction uses mu_product * mu_t *
// mu_{t+1} (mu_t counted twice); PyTorch 2 uses mu_product * mu_{t+1}, so
// trajectories differ slightly from PyTorch 2's NAdam.
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { checkAdamFamily, checkNumber } from './util.js';

export interface NAdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  momentumDecay: number;
}
export type NAdamOptions = Partial<NAdamHyper>;

export class NAdam extends Optimizer<NAdamHyper> {
  protected override readonly scalarStateKeys: ReadonlySet<string> = new Set(['step', 'mu_product']);

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<NAdamHyper>>, options: NAdamOptions = {}) {
    super(params, {
      lr: options.lr ?? 2e-3,
      betas: options.betas ? ([...options.betas] as [number, number]) : [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentumDecay: options.momentumDecay ?? 4e-3,
    });
  }

  protected validate(h: NAdamHyper): void {
    checkAdamFamily(h, this.name);
    checkNumber(h.momentumDecay, 'momentumDecay value', this.name);
  }

  protected updateGroup(group: ParamGroup<NAdamHyper>): void {
    const { lr, eps, weightDecay, momentumDecay } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      const { state, step } = this.advanceState(p, ['exp_avg', 'exp_avg_sq']);
      if (state.mu_product === undefined) state.mu_product = 1;
      const biasCorrection2 = 1 - beta2 ** step;
      if (weightDecay !== 0) g = g.add(p, weightDecay);
      const mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentumDecay));
      const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentumDecay));
      const muProduct = (state.mu_product as number) * mu;
      state.mu_product = muProduct;
      const muProductNext = muProduct * mu * muNext; // PyTorch 1.13's form (see the header)
      const expAvg = (state.exp_avg as Tensor).mul_(beta1).add_(g, 1 - beta1);
      const expAvgSq = (state.exp_avg_sq as Tensor).mul_(beta2).addcmul_(g, g, 1 - beta2);
      const denom = expAvgSq.div(biasCorrection2).sqrt_().add_(eps);
      p.addcdiv_(g, denom, (-lr * (1 - mu)) / (1 - muProduct));
      p.addcdiv_(expAvg, denom, (-lr * muNext) / (1 - muProductNext));
    }
  }
}
