// Björck orthogonalization: w ← (1 + β)w − β·w wᵀw repeated, which converges
// to the nearest orthogonal matrix when the spectral norm is ≤ 1 (hence the
// power iteration before it). The cubic term is taken on the smaller side.
import { Tensor, linalg, noGrad, scope } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export interface BjorckOptions {
  beta?: number;
  iterations?: number;
  /**
   * Run all but the last iteration without recording gradients and pass the
   * gradient of the last one straight to the input: much less memory, a
   * slightly biased gradient. (Orthogonium's own pass-through detaches the
   * input entirely, so no gradient reaches the raw weights; this one trains.)
   */
  passThrough?: boolean;
  /**
   * On CPU in float32/float64, run the iterations as one native autograd node
   * (hand-written backward, matrix products on every intra-op thread): the same
   * values and gradients, about 2× faster on two cores. Differentiable once;
   * set false for higher-order gradients. Default true.
   */
  fused?: boolean;
}

export class BatchedBjorckOrthogonalization extends Parametrization {
  readonly beta: number;
  readonly iterations: number;
  readonly passThrough: boolean;
  readonly fused: boolean;
  private readonly wideMatrices: boolean;

  constructor(readonly weightShape: number[], options: BjorckOptions = {}) {
    super();
    this.beta = options.beta ?? 0.5;
    this.iterations = options.iterations ?? 12;
    this.passThrough = options.passThrough ?? false;
    this.fused = options.fused ?? true;
    if (!Number.isInteger(this.iterations) || this.iterations < 0) {
      throw new RangeError(`BatchedBjorckOrthogonalization: iterations must be a non-negative integer, got ${this.iterations}`);
    }
    this.wideMatrices = weightShape[weightShape.length - 2] < weightShape[weightShape.length - 1];
  }

  private step(w: Tensor): Tensor {
    const cubic = this.wideMatrices ? w.matmul(w.mT).matmul(w) : w.matmul(w.mT.matmul(w));
    return w.mul(1 + this.beta).sub(cubic, this.beta);
  }

  forward(w: Tensor): Tensor {
    if (this.fused && !this.passThrough && w.device === 'cpu' && (w.dtype === 'float32' || w.dtype === 'float64')) {
      return linalg.bjorckOrthogonalize(w, { beta: this.beta, iterations: this.iterations });
    }
    return scope(() => {
      if (!this.passThrough) {
        let x = w;
        for (let i = 0; i < this.iterations; i++) x = this.step(x);
        return x;
      }
      const settled = noGrad(() => {
        let x = w.detach();
        for (let i = 0; i < this.iterations; i++) x = this.step(x);
        return x;
      });
      // Value of `settled`, gradient of the identity: the last step sees the input's gradient.
      return this.step(settled.add(w.sub(w.detach())));
    });
  }

  override rightInverse(w: Tensor): Tensor { return w.clone(); }

  override extraRepr(): string {
    return `beta=${this.beta}, iterations=${this.iterations}${this.passThrough ? ', passThrough' : ''}${this.fused ? '' : ', fused=false'}`;
  }
}
