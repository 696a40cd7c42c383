// Channel shuffle (a permutation, so an isometry): channel i·groupOut + j
// moves to j·groupIn + i, mixing the groups of grouped convolutions.
import { Tensor, scope } from '../../torch/index.js';
import { Module } from '../../nn/index.js';

export class ChannelShuffle extends Module {
  constructor(readonly groupIn: number, readonly groupOut: number) { super(); }
  forward(x: Tensor): Tensor {
    const channels = x.shape[1];
    if (channels !== this.groupIn * this.groupOut) {
      throw new RangeError(`ChannelShuffle: input has ${channels} channels, expected groupIn × groupOut = ${this.groupIn * this.groupOut}`);
    }
    return scope(() => x.unflatten(1, [this.groupIn, this.groupOut]).transpose(1, 2).flatten(1, 2).contiguous());
  }
  override extraRepr(): string { return `groupIn=${this.groupIn}, groupOut=${this.groupOut}`; }
}
