// Pooling that keeps the Lipschitz constant at 1 rather than shrinking it.
import { F, Tensor, scope } from '../../torch/index.js';
import { Module } from '../../nn/index.js';
import type { Pair } from '../../torch/functional.js';

const pair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

/**
 * Average pooling times √(kh·kw): non-overlapping averages have norm
 * 1/√(kh·kw), so the rescaled pool is 1-Lipschitz and loses no margin.
 * (With stride < kernel, windows overlap and the constant exceeds 1; refused.)
 */
export class ScaledAvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  constructor(kernelSize: Pair, stride?: Pair) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride ?? kernelSize);
    if (this.stride[0] < this.kernelSize[0] || this.stride[1] < this.kernelSize[1]) {
      throw new RangeError(`ScaledAvgPool2d: stride [${this.stride}] smaller than the kernel [${this.kernelSize}] makes windows overlap and the pool more than 1-Lipschitz`);
    }
  }
  forward(x: Tensor): Tensor {
    return scope(() => F.avgPool2d(x, this.kernelSize, { stride: this.stride }).mul(Math.sqrt(this.kernelSize[0] * this.kernelSize[1])));
  }
  override extraRepr(): string { return `kernelSize=[${this.kernelSize}], stride=[${this.stride}]`; }
}

/** Global version: averages each feature map and rescales by √(H·W). */
export class GlobalScaledAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return scope(() => {
      const [h, w] = x.shape.slice(-2);
      return x.mean([-2, -1], { keepdim: true }).mul(Math.sqrt(h * w));
    });
  }
}
