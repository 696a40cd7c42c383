// A trained model seen from raw pixels in [0, 1]: the input normalization
// (x − mean) / std it was trained behind is applied first. Certificates and
// attacks on this wrapper are in pixel units, so their radii compare
// directly (the certificate's L = 1/min(std) accounts for the normalization).
import { Tensor, scope, tensor } from '../torch/index.js';
import { Module } from '../nn/index.js';

export class PixelSpaceModel extends Module {
  readonly inner: Module;

  constructor(inner: Module, mean: number[], std: number[]) {
    super();
    if (!Array.isArray(mean) || !Array.isArray(std) || mean.length === 0 || mean.length !== std.length) {
      throw new RangeError(`PixelSpaceModel: mean and std must be non-empty arrays of the same length, got ${mean?.length} and ${std?.length} values`);
    }
    std.forEach((s, i) => {
      if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) throw new RangeError(`PixelSpaceModel: std[${i}] must be a finite number > 0, got ${String(s)}`);
    });
    mean.forEach((m, i) => {
      if (typeof m !== 'number' || !Number.isFinite(m)) throw new RangeError(`PixelSpaceModel: mean[${i}] must be a finite number, got ${String(m)}`);
    });
    this.inner = this.registerModule('inner', inner);
    const shape = [1, mean.length, 1, 1];
    // Not persistent: they come from the checkpoint's metadata, not its weights.
    this.registerBuffer('mean', scope(() => tensor(mean).view(shape)), false);
    this.registerBuffer('std', scope(() => tensor(std).view(shape)), false);
  }

  forward(x: Tensor): Tensor {
    return this.inner.forward(x.sub(this.getBuffer('mean')!).div(this.getBuffer('std')!)) as Tensor;
  }
}
