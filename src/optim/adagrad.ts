// Adagrad (Duchi et al. 2011), exactly as torch.optim.Adagrad: the sum of
// squared gradients scales each coordinate's step, lr decays as
// lr / (1 + (step - 1) lrDecay). As PyTorch, the state (step 0, sum filled
// with initialAccumulatorValue) exists from construction.
import { fullLike } from '../torch/creation.js';
import { keep } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec } from './optimizer.js';
import { checkNumber } from './util.js';

export interface AdagradHyper {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}
export type AdagradOptions = Partial<AdagradHyper>;

export class Adagrad extends Optimizer<AdagradHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdagradHyper>>, options: AdagradOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-2,
      lrDecay: options.lrDecay ?? 0,
      weightDecay: options.weightDecay ?? 0,
      initialAccumulatorValue: options.initialAccumulatorValue ?? 0,
      eps: options.eps ?? 1e-10,
      maximize: options.maximize ?? false,
    });
    for (const group of this.paramGroups) for (const p of group.params) this.initState(p, group);
  }

  protected validate(h: AdagradHyper): void {
    checkNumber(h.lr, 'learning rate', this.name);
    checkNumber(h.lrDecay, 'lrDecay value', this.name);
    checkNumber(h.weightDecay, 'weightDecay value', this.name);
    checkNumber(h.initialAccumulatorValue, 'initialAccumulatorValue value', this.name);
    checkNumber(h.eps, 'epsilon value', this.name);
  }

  private initState(p: Tensor, group: ParamGroup<AdagradHyper>): void {
    const state = this.stateOf(p);
    if (state.sum instanceof Tensor) return;
    state.step = 0;
    state.sum = keep(fullLike(p, group.initialAccumulatorValue));
  }

  protected updateGroup(group: ParamGroup<AdagradHyper>): void {
    const { lr, lrDecay, weightDecay, eps, maximize } = group;
    for (const p of group.params) {
      let g = p.grad;
      if (g === null) continue;
      this.initState(p, group); // groups added later (PyTorch would fail on them)
      const state = this.stateOf(p);
      const step = (state.step as number) + 1;
      state.step = step;
      if (maximize) g = g.neg();
      if (weightDecay !== 0) g = g.add(p, weightDecay);
      const clr = lr / (1 + (step - 1) * lrDecay);
      const sum = (state.sum as Tensor).addcmul_(g, g, 1);
      p.addcdiv_(g, sum.sqrt().add_(eps), -clr);
    }
  }
}
