// RAdam (Liu et al. 2020, rectified Adam), as torch.optim.RAdam of PyTorch
// 1.13: plain momentum SGD while the variance estimate is unreliable
// (rho_t <= 5), rectified Adam steps after. Weight decay is L2 (added to the
// gradient) as in 1.13; decoupledWeightDecay: true multiplies the parameters
// by 1 - lr weightDecay instead, as PyTorch 2's decoupled_weight_decay. No
// maximize (PyTorch 1.13 has none).
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { checkAdamFamily } from './util.js';

export interface RAdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: boolean;
}
export type RAdamOptions = Partial<RAdamHyper>;

export class RAdam extends Optimizer<RAdamHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<RAdamHyper>>, options: RAdamOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ? ([...options.betas] as [number, number]) : [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      decoupledWeightDecay: options.decoupledWeightDecay ?? false,
    });
  }

  protected validate(h: RAdamHyper): void {
    checkAdamFamily(h, this.name);
  }

  protected updateGroup(group: ParamGroup<RAdamHyper>): void {
    const { lr, eps, weightDecay, decoupledWeightDecay } = group;
    const [beta1, beta2] = group.betas;
    const rhoInf = 2 / (1 - beta2) - 1;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      const { state, step } = this.advanceState(p, ['exp_avg', 'exp_avg_sq']);
      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      if (weightDecay !== 0) {
        if (decoupledWeightDecay) p.mul_(1 - lr * weightDecay);
        else g = g.add(p, weightDecay);
      }
      const expAvg = (state.exp_avg as Tensor).mul_(beta1).add_(g, 1 - beta1);
      const expAvgSq = (state.exp_avg_sq as Tensor).mul_(beta2).addcmul_(g, g, 1 - beta2);
      const corrected = expAvg.div(biasCorrection1);
      const rhoT = rhoInf - (2 * step * beta2 ** step) / biasCorrection2;
      if (rhoT > 5) {
        // Variance rectification term.
        const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
        p.addcdiv_(corrected, expAvgSq.sqrt().add_(eps), -lr * rect * Math.sqrt(biasCorrection2));
      } else {
        p.sub_(corrected.mul_(lr));
      }
    }
  }
}
