// Divides by the L2 norm along the given dims (all dims when omitted).
import { Tensor, scope } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export class L2Normalize extends Parametrization {
  constructor(readonly dim?: number | number[]) { super(); }

  forward(x: Tensor): Tensor {
    return scope(() => x.div(x.norm(2, this.dim ?? [...x.shape.keys()], true).add(1e-8)));
  }

  override rightInverse(x: Tensor): Tensor { return this.forward(x); }

  override extraRepr(): string { return this.dim === undefined ? '' : `dim=${JSON.stringify(this.dim)}`; }
}
