// Orthogonalization by QR decomposition, with the signs of R's diagonal moved
// into Q so the map is continuous (and Q = X when X is already orthogonal).
import { Tensor, linalg, scope } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export class BatchedQROrthogonalization extends Parametrization {
  constructor(readonly weightShape: number[] = []) { super(); }

  forward(w: Tensor): Tensor {
    return scope(() => {
      const wide = w.shape[w.ndim - 2] < w.shape[w.ndim - 1];
      const tall = wide ? w.mT : w;
      const { Q, R } = linalg.qr(tall, 'reduced');
      const q = Q.mul(R.diagonal(0, -2, -1).sign().unsqueeze(-2));
      return (wide ? q.mT : q).contiguous();
    });
  }

  override rightInverse(w: Tensor): Tensor { return w.clone(); }
}
