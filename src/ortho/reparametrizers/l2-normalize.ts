// Divides by the L2 norm along the given dims (all dims when omitted).
import { Tensor, isFloatingDType, scope } from '../../torch/index.js';
import type { DType } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

export interface L2NormalizeOptions {
  /**
   * Floating dtype the norm is computed in (Orthogonium's `dtype`, passed to
   * torch.norm): e.g. 'float64' for float32 or float16 weights. The quotient
   * then follows the usual type promotion, as in PyTorch (float32 / float64 →
   * float64). Default: the input's dtype.
   */
  dtype?: DType;
}

export class L2Normalize extends Parametrization {
  readonly dtype: DType | undefined;

  constructor(readonly dim?: number | number[], options: L2NormalizeOptions = {}) {
    super();
    if (options.dtype !== undefined && !isFloatingDType(options.dtype)) {
      throw new TypeError(`L2Normalize: dtype must be a floating dtype, got ${JSON.stringify(options.dtype)}`);
    }
    this.dtype = options.dtype;
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const src = this.dtype === undefined || this.dtype === x.dtype ? x : x.to(this.dtype);
      return x.div(src.norm(2, this.dim ?? [...x.shape.keys()], true).add(1e-8));
    });
  }

  override rightInverse(x: Tensor): Tensor { return this.forward(x); }

  override extraRepr(): string {
    const parts = [];
    if (this.dim !== undefined) parts.push(`dim=${JSON.stringify(this.dim)}`);
    if (this.dtype !== undefined) parts.push(`dtype=${this.dtype}`);
    return parts.join(', ');
  }
}
