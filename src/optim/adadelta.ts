// Adadelta (Zeiler 2012), exactly as torch.optim.Adadelta: the step is
// sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g, scaled by lr (default 1).
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { check, checkNumber, isFiniteNumber } from './util.js';

export interface AdadeltaHyper {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}
export type AdadeltaOptions = Partial<AdadeltaHyper>;

export class Adadelta extends Optimizer<AdadeltaHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdadeltaHyper>>, options: AdadeltaOptions = {}) {
    super(params, {
      lr: options.lr ?? 1.0,
      rho: options.rho ?? 0.9,
      eps: options.eps ?? 1e-6,
      weightDecay: options.weightDecay ?? 0,
      maximize: options.maximize ?? false,
    });
  }

  protected validate(h: AdadeltaHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    check(isFiniteNumber(h.rho) && h.rho >= 0 && h.rho <= 1, this.name, `invalid rho value ${String(h.rho)}: expected 0 <= rho <= 1`);
    checkNumber(h.eps, 'epsilon value', this.name);
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
  }

  protected updateGroup(group: ParamGroup<AdadeltaHyper>): void {
    const { lr, rho, eps, weightDecay, maximize } = group;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      const { state } = this.advanceState(p, ['square_avg', 'acc_delta']);
      if (maximize) g = g.neg();
      if (weightDecay !== 0) g = g.add(p, weightDecay);
      const squareAvg = (state.square_avg as Tensor).mul_(rho).addcmul_(g, g, 1 - rho);
      const std = squareAvg.add(eps).sqrt_();
      const accDelta = state.acc_delta as Tensor;
      const delta = accDelta.add(eps).sqrt_().div_(std).mul_(g);
      accDelta.mul_(rho).addcmul_(delta, delta, 1 - rho);
      p.add_(delta, -lr);
    }
  }
}
