// Small parameter-free layers.
import { F, Tensor } from '../../torch/index.js';
import type { Pair } from '../../torch/functional.js';
import { Module } from '../module.js';

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
  override extraRepr(): string { return `startDim=${this.startDim}, endDim=${this.endDim}`; }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout(x, this.p, this.training); }
  override extraRepr(): string { return `p=${this.p}`; }
}

export interface AvgPool2dOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Count zero padding in the divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead of its size (PyTorch's divisor_override). */
  divisorOverride?: number;
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: AvgPool2dOptions = {}) {
    super();
    const d = options.divisorOverride;
    if (d !== undefined && !(Number.isInteger(d) && d > 0)) throw new RangeError(`AvgPool2d: divisorOverride must be a positive integer, got ${d}`);
  }
  forward(x: Tensor): Tensor { return F.avgPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string {
    const d = this.options.divisorOverride;
    return `kernelSize=${JSON.stringify(this.kernelSize)}${d === undefined ? '' : `, divisorOverride=${d}`}`;
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {}) { super(); }
  forward(x: Tensor): Tensor { return F.maxPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernelSize=${JSON.stringify(this.kernelSize)}`; }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) { super(); }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool2d(x, this.outputSize); }
}
