// Centering layers: mean removal (a 1-Lipschitz projection) plus a learned
// bias; no division by a variance, which would break the Lipschitz bound.
import { Tensor, noGrad, scope, zeros } from '../../torch/index.js';
import { Module } from '../../nn/index.js';

/** Removes each sample's per-channel spatial mean. */
export class LayerCentering2D extends Module {
  readonly bias: Tensor;
  constructor(readonly numFeatures: number) {
    super();
    this.bias = this.registerParameter('bias', zeros([1, numFeatures, 1, 1]));
  }
  forward(x: Tensor): Tensor {
    return scope(() => x.sub(x.mean([-2, -1], { keepdim: true })).add(this.bias));
  }
}

/**
 * Removes a running per-channel mean (updated from each training batch with
 * `momentum`, as in Orthogonium: training also subtracts the running mean,
 * so train and eval compute the same function of the statistics).
 */
export class BatchCentering2D extends Module {
  readonly bias: Tensor;
  constructor(readonly numFeatures: number, readonly momentum = 0.1) {
    super();
    this.bias = this.registerParameter('bias', zeros([1, numFeatures, 1, 1]));
    this.registerBuffer('running_mean', zeros([1, numFeatures, 1, 1]));
  }
  forward(x: Tensor): Tensor {
    if (this.training) {
      noGrad(() => scope(() => {
        const batchMean = x.mean([0, -2, -1], { keepdim: true });
        this.getBuffer('running_mean')!.mul_(1 - this.momentum).add_(batchMean, this.momentum);
      }));
    }
    return scope(() => x.sub(this.getBuffer('running_mean')!).add(this.bias));
  }
}
