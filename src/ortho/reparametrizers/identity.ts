// The no-op normalizer, for orthogonalizers that need no spectral preconditioning.
import { Tensor } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export class BatchedIdentity extends Parametrization {
  constructor(readonly weightShape: number[] = []) { super(); }
  forward(w: Tensor): Tensor { return w; }
  override rightInverse(w: Tensor): Tensor { return w.clone(); }
}
