// Stochastic gradient descent with momentum, dampening, Nesterov momentum,
// L2 weight decay and maximization, exactly as torch.optim.SGD.
import { keep } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { check, checkNumber } from './util.js';

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}
export type SGDOptions = Partial<SGDHyper>;

export class SGD extends Optimizer<SGDHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<SGDHyper>>, options: SGDOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected validate(h: SGDHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    checkNumber(h.momentum, 'momentum value', this.name);
    checkNumber(h.dampening, 'dampening value', this.name, -Infinity);
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
    check(!h.nesterov || (h.momentum > 0 && h.dampening === 0), this.name, 'Nesterov momentum requires momentum > 0 and dampening = 0');
  }

  protected updateGroup(group: ParamGroup<SGDHyper>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      let d = p.grad;
      if (d === null) continue;
      if (maximize) d = d.neg();
      if (weightDecay !== 0) d = d.add(p, weightDecay);
      if (momentum !== 0) {
        const state = this.stateOf(p);
        let buf = state.momentum_buffer;
        if (buf instanceof Tensor) buf.mul_(momentum).add_(d, 1 - dampening);
        else buf = state.momentum_buffer = keep(d.clone()); // first buffer: the gradient, undamped (as PyTorch)
        d = nesterov ? d.add(buf, momentum) : buf;
      }
      p.add_(d, -lr);
    }
  }
}
