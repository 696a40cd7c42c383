// F.interpolate and nn.Upsample's shared core: PyTorch 1.13's option rules
// and its dispatch to the ATen upsampling operators by mode and input rank.
import { aten } from './dispatch.js';
import type { Tensor } from './tensor.js';

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area';
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'];

/** PyTorch's interpolating modes (the only ones with alignCorners) and the one input rank each takes; the others take 3D, 4D and 5D. */
const INTERPOLATING_RANK: Partial<Record<InterpolateMode, number>> = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };
const LAYOUTS: Record<number, string> = { 3: '[N, C, L]', 4: '[N, C, H, W]', 5: '[N, C, D, H, W]' };

export interface InterpolateOptions {
  /** The output's spatial size: one int for every spatial dim, or one per dim. */
  size?: number | number[];
  /** Multiplies each spatial size (the output size is floor(size · scale)): one number for every dim, or one per dim. */
  scaleFactor?: number | number[];
  /** Default 'nearest'; 'area' is adaptive average pooling to the output size. */
  mode?: InterpolateMode;
  /** 'linear', 'bilinear', 'bicubic' and 'trilinear' only; default false. */
  alignCorners?: boolean;
  /**
   * With scaleFactor: compute the output size first and interpolate as if it
   * had been given as size (the scale actually used is then output / input),
   * instead of using scaleFactor itself for the coordinate mapping. Not
   * allowed with size. 'area' always does this.
   */
  recomputeScaleFactor?: boolean;
  /** Antialiased downsampling (PyTorch's _upsample_bilinear2d_aa / _upsample_bicubic2d_aa): 'bilinear' and 'bicubic' only. */
  antialias?: boolean;
}

const list = (v: number | number[]): number[] => (Array.isArray(v) ? v : [v]);

/** The checks that need no input: `fn` names the caller in messages (interpolate, Upsample). */
export function checkInterpolateOptions(fn: string, options: InterpolateOptions): void {
  const { size, scaleFactor } = options;
  if ((size === undefined) === (scaleFactor === undefined)) throw new TypeError(`${fn}: give exactly one of size and scaleFactor`);
  const mode = options.mode ?? 'nearest';
  if (!INTERPOLATE_MODES.includes(mode)) {
    throw new TypeError(`${fn}: mode must be one of ${INTERPOLATE_MODES.map((m) => `'${m}'`).join(', ')}, got '${String(mode)}'`);
  }
  if (options.alignCorners !== undefined && INTERPOLATING_RANK[mode] === undefined) {
    throw new TypeError(`${fn}: alignCorners can only be set with the interpolating modes 'linear', 'bilinear', 'bicubic' and 'trilinear', got mode '${mode}'`);
  }
  if (size !== undefined && (list(size).length === 0 || list(size).some((s) => !Number.isInteger(s) || s <= 0))) {
    throw new RangeError(`${fn}: size must be a positive integer or a list of them, got ${JSON.stringify(size)}`);
  }
  if (scaleFactor !== undefined && (list(scaleFactor).length === 0 || list(scaleFactor).some((s) => typeof s !== 'number' || !(s > 0) || !Number.isFinite(s)))) {
    throw new RangeError(`${fn}: scaleFactor must be finite and > 0 (a number or a list of them), got ${JSON.stringify(scaleFactor)}`);
  }
  if (options.recomputeScaleFactor && size !== undefined) throw new TypeError(`${fn}: recomputeScaleFactor is not meaningful with an explicit size`);
  if (options.antialias && mode !== 'bilinear' && mode !== 'bicubic') {
    throw new TypeError(`${fn}: antialias is only supported with modes 'bilinear' and 'bicubic', got mode '${mode}'`);
  }
}

/** F.interpolate, its messages naming `fn`. */
export function resample(fn: string, input: Tensor, options: InterpolateOptions): Tensor {
  checkInterpolateOptions(fn, options);
  const mode = options.mode ?? 'nearest';
  const shape = input.shape;
  const rank = shape.length;
  if (rank < 3 || rank > 5) {
    throw new RangeError(`${fn}: expected a 3D, 4D or 5D input [N, C, L], [N, C, H, W] or [N, C, D, H, W], got ${rank}D input of shape [${shape.join(', ')}]`);
  }
  const needed = INTERPOLATING_RANK[mode];
  if (needed !== undefined && needed !== rank) {
    throw new RangeError(`${fn}: mode '${mode}' needs a ${needed}D input ${LAYOUTS[needed]}, got ${rank}D input of shape [${shape.join(', ')}]`);
  }
  const spatial = shape.slice(2);
  const dims = spatial.length;
  const perDim = (name: string, v: number | number[]): number[] => {
    if (!Array.isArray(v)) return new Array<number>(dims).fill(v);
    if (v.length !== dims) {
      throw new RangeError(`${fn}: ${name} [${v.join(', ')}] must have one entry per spatial dimension of the input, which has ${dims} ([${spatial.join(', ')}] of shape [${shape.join(', ')}])`);
    }
    return v;
  };
  let outputSize = options.size === undefined ? null : perDim('size', options.size);
  let scales = options.scaleFactor === undefined ? null : perDim('scaleFactor', options.scaleFactor);
  // 'area' always pools to an explicit size; recomputeScaleFactor asks for one (Python floors size · scale in double, as here).
  if (scales !== null && (mode === 'area' || options.recomputeScaleFactor)) {
    const s = scales;
    outputSize = spatial.map((n, i) => Math.floor(n * s[i]));
    scales = null;
  }
  const alignCorners = options.alignCorners ?? false;
  switch (mode) {
    case 'nearest': return aten(`upsample_nearest${dims}d.vec`, input, outputSize, scales);
    case 'nearest-exact': return aten(`_upsample_nearest_exact${dims}d.vec`, input, outputSize, scales);
    case 'area': return aten(`adaptive_avg_pool${dims}d`, input, outputSize);
    case 'linear': return aten('upsample_linear1d.vec', input, outputSize, alignCorners, scales);
    case 'trilinear': return aten('upsample_trilinear3d.vec', input, outputSize, alignCorners, scales);
    case 'bilinear':
    case 'bicubic':
      return aten(options.antialias ? `_upsample_${mode}2d_aa.vec` : `upsample_${mode}2d.vec`, input, outputSize, alignCorners, scales);
  }
}
