// Small parameter-free layers.
import { F, Tensor } from '../../torch/index.js';
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
