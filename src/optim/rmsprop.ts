// RMSprop (Hinton's lecture 6e; centered form from Graves 2013), exactly as
// torch.optim.RMSprop: square_avg = alpha square_avg + (1 - alpha) g^2, the
// step g / (sqrt(square_avg - grad_avg^2 if centered) + eps), optionally
// through a momentum buffer.
import { zerosLike } from '../torch/creation.js';
import { keep } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { checkNumber } from './util.js';

export interface RMSpropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}
export type RMSpropOptions = Partial<RMSpropHyper>;

export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<RMSpropHyper>>, options: RMSpropOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-2,
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected validate(h: RMSpropHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    checkNumber(h.eps, 'epsilon value', this.name);
    checkNumber(h.momentum, 'momentum value', this.name);
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
    checkNumber(h.alpha, 'alpha value', this.name);
  }

  protected updateGroup(group: ParamGroup<RMSpropHyper>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      const { state } = this.advanceState(p, ['square_avg']);
      // Created when first needed, so momentum or centering turned on later (e.g. by CyclicLR) works.
      if (momentum > 0 && !(state.momentum_buffer instanceof Tensor)) state.momentum_buffer = keep(zerosLike(p));
      if (centered && !(state.grad_avg instanceof Tensor)) state.grad_avg = keep(zerosLike(p));

      if (maximize) g = g.neg();
      if (weightDecay !== 0) g = g.add(p, weightDecay);
      const squareAvg = (state.square_avg as Tensor).mul_(alpha).addcmul_(g, g, 1 - alpha);
      let avg: Tensor;
      if (centered) {
        const gradAvg = (state.grad_avg as Tensor).mul_(alpha).add_(g, 1 - alpha);
        avg = squareAvg.clone().addcmul_(gradAvg, gradAvg, -1).sqrt_();
      } else {
        avg = squareAvg.sqrt();
      }
      avg.add_(eps);
      if (momentum > 0) {
        const buf = (state.momentum_buffer as Tensor).mul_(momentum).addcdiv_(g, avg);
        p.add_(buf, -lr);
      } else {
        p.addcdiv_(g, avg, -lr);
      }
    }
  }
}
