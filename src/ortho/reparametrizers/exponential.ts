// Orthogonalization through the exponential of the skew-symmetric part:
// exp(A) is orthogonal when Aᵀ = −A. Non-square matrices are zero-padded to
// a square, exponentiated by a truncated Taylor series, then cropped.
import { F, Tensor, eye, scope } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export class BatchedExponentialOrthogonalization extends Parametrization {
  readonly iterations: number;

  constructor(readonly weightShape: number[], options: { iterations?: number } = {}) {
    super();
    this.iterations = options.iterations ?? 7;
  }

  forward(w: Tensor): Tensor {
    return scope(() => {
      const rows = w.shape[w.ndim - 2];
      const cols = w.shape[w.ndim - 1];
      const size = Math.max(rows, cols);
      const square = F.pad(w, [0, size - cols, 0, size - rows]);
      const skew = square.sub(square.mT).div(2);
      // Terms I + A + A²/2! + … + A^(n−1)/(n−1)!
      let term = skew;
      let sum = eye(size, size, { dtype: w.dtype, device: w.device }).add(skew);
      for (let i = 2; i < this.iterations; i++) {
        term = term.matmul(skew).div(i);
        sum = sum.add(term);
      }
      return sum.narrow(-2, 0, rows).narrow(-1, 0, cols).contiguous();
    });
  }

  override rightInverse(w: Tensor): Tensor { return w.clone(); }

  override extraRepr(): string { return `iterations=${this.iterations}`; }
}
