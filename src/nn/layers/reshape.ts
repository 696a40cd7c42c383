// Parameter-free layers that reshape, pad or resample: Dropout2d, Upsample,
// Unflatten, ZeroPad2d, PixelShuffle, PixelUnshuffle (the pools are in pooling.ts).
import { F, Tensor } from '../../torch/index.js';
import { checkInterpolateOptions, resample } from '../../torch/interpolate.js';
import type { InterpolateOptions } from '../../torch/interpolate.js';
import type { InterpolateMode } from '../../torch/interpolate.js';
import { Module } from '../module.js';

/** Zeroes whole channels with probability p in training (nn.Dropout2d). */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout2d: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout2d(x, this.p, this.training); }
  override extraRepr(): string { return `p=${this.p}`; }
}

/** F.interpolate's options (antialias too, which PyTorch 1.13's nn.Upsample lacks). */
export type UpsampleOptions = InterpolateOptions;

/**
 * Resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W] inputs to `size` or by
 * `scaleFactor` (nn.Upsample), as F.interpolate: the options are checked
 * here, the input's rank against the mode in forward.
 */
export class Upsample extends Module {
  readonly size?: number | number[];
  readonly scaleFactor?: number | number[];
  readonly mode: InterpolateMode;
  readonly alignCorners?: boolean;
  readonly recomputeScaleFactor?: boolean;
  readonly antialias: boolean;
  constructor(options: UpsampleOptions) {
    super();
    checkInterpolateOptions('Upsample', options);
    this.size = options.size;
    this.scaleFactor = options.scaleFactor;
    this.mode = options.mode ?? 'nearest';
    this.alignCorners = options.alignCorners;
    this.recomputeScaleFactor = options.recomputeScaleFactor;
    this.antialias = options.antialias ?? false;
  }
  forward(x: Tensor): Tensor {
    return resample('Upsample', x, {
      size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners,
      recomputeScaleFactor: this.recomputeScaleFactor, antialias: this.antialias,
    });
  }
  override extraRepr(): string {
    return `${this.size !== undefined ? `size=${JSON.stringify(this.size)}` : `scaleFactor=${JSON.stringify(this.scaleFactor)}`}, mode='${this.mode}'` +
      `${this.alignCorners !== undefined ? `, alignCorners=${this.alignCorners}` : ''}${this.antialias ? ', antialias=true' : ''}`;
  }
}

/** Splits dim `dim` into `unflattenedSize` (nn.Unflatten). */
export class Unflatten extends Module {
  constructor(readonly dim: number, readonly unflattenedSize: number[]) {
    super();
    if (!Number.isInteger(dim)) throw new TypeError(`Unflatten: dim must be an integer, got ${dim}`);
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0 || unflattenedSize.some((s) => !Number.isInteger(s) || (s <= 0 && s !== -1))) {
      throw new RangeError(`Unflatten: unflattenedSize must be a non-empty list of positive integers (one may be -1), got ${JSON.stringify(unflattenedSize)}`);
    }
  }
  forward(x: Tensor): Tensor {
    const size = x.shape.at(this.dim);
    const known = this.unflattenedSize.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
    if (size === undefined || (this.unflattenedSize.includes(-1) ? size % known !== 0 : size !== known)) {
      throw new RangeError(`Unflatten: dim ${this.dim} of shape [${x.shape.join(', ')}] cannot be split into [${this.unflattenedSize.join(', ')}]`);
    }
    return x.unflatten(this.dim, this.unflattenedSize);
  }
  override extraRepr(): string { return `dim=${this.dim}, unflattenedSize=[${this.unflattenedSize}]`; }
}

/** Zero padding of the last two dims: one int for all sides or [left, right, top, bottom] (nn.ZeroPad2d). */
export class ZeroPad2d extends Module {
  readonly padding: [number, number, number, number];
  constructor(padding: number | [number, number, number, number]) {
    super();
    const p = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
    if (!Array.isArray(p) || p.length !== 4 || p.some((v) => !Number.isInteger(v))) {
      throw new RangeError(`ZeroPad2d: padding must be an integer or 4 integers [left, right, top, bottom], got ${JSON.stringify(padding)}`);
    }
    this.padding = p as [number, number, number, number];
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 && x.ndim !== 4) throw new RangeError(`ZeroPad2d: expected 3D or 4D input, got shape [${x.shape.join(', ')}]`);
    return F.pad(x, this.padding, 'constant', 0);
  }
  override extraRepr(): string { return `[${this.padding}]`; }
}

/** [*, C·r², H, W] → [*, C, H·r, W·r] (nn.PixelShuffle). */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
    if (!Number.isInteger(upscaleFactor) || upscaleFactor <= 0) throw new RangeError(`PixelShuffle: upscaleFactor must be a positive integer, got ${upscaleFactor}`);
  }
  forward(x: Tensor): Tensor { return F.pixelShuffle(x, this.upscaleFactor); }
  override extraRepr(): string { return `upscaleFactor=${this.upscaleFactor}`; }
}

/** [*, C, H·r, W·r] → [*, C·r², H, W] (nn.PixelUnshuffle). */
export class PixelUnshuffle extends Module {
  constructor(readonly downscaleFactor: number) {
    super();
    if (!Number.isInteger(downscaleFactor) || downscaleFactor <= 0) throw new RangeError(`PixelUnshuffle: downscaleFactor must be a positive integer, got ${downscaleFactor}`);
  }
  forward(x: Tensor): Tensor { return F.pixelUnshuffle(x, this.downscaleFactor); }
  override extraRepr(): string { return `downscaleFactor=${this.downscaleFactor}`; }
}
