// Orthogonalization by Cholesky: W = L⁻¹X with L = chol(XXᵀ + εI). Cheap and
// memory-light, but only approximately orthogonal (ε). Tall matrices are
// handled through their transpose, so columns come out orthonormal.
import { Tensor, linalg, scope } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export class BatchedCholeskyOrthogonalization extends Parametrization {
  readonly stable: boolean;

  constructor(readonly weightShape: number[] = [], options: { stable?: boolean } = {}) {
    super();
    this.stable = options.stable ?? false;
  }

  forward(w: Tensor): Tensor {
    return scope(() => {
      const tall = w.shape[w.ndim - 2] > w.shape[w.ndim - 1];
      const out = linalg.choleskyOrthogonalize(tall ? w.mT : w, { stable: this.stable });
      return (tall ? out.mT : out).contiguous();
    });
  }

  override rightInverse(w: Tensor): Tensor { return w.clone(); }

  override extraRepr(): string { return this.stable ? 'stable' : ''; }
}
