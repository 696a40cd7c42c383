// What the three legacy convolutions (Cayley, SOC, BCOP: the layers of the
// papers' own code bases, kept by Orthogonium in orthogonium.legacy) share:
// their options, the checks on them and on inputs, and their "emulated"
// stride 2 — a space-to-depth rearrangement (each 2×2 block of pixels becomes
// 4 channels, a permutation, hence orthogonal) followed by a stride-1 layer
// on 4× the input channels.
import { F, Tensor } from '../../torch/index.js';
import type { PaddingMode } from '../../nn/index.js';

export interface LegacyConv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** 1 or 2 (default 1); 2 is emulated by a space-to-depth rearrangement of the input, H and W must then be even. */
  stride?: number;
  /** Default true. */
  bias?: boolean;
  /**
   * Accepted, as the legacy layers accept them, so that the architectures can
   * pass their usual convolution options; ignored: each legacy layer fixes
   * its own padding (circular for Cayley and BCOP, zeros for SOC).
   */
  padding?: number | [number, number] | 'same' | 'valid';
  /** Accepted and ignored, see `padding`. */
  paddingMode?: PaddingMode;
  /** Only 1: the legacy layers have no groups. */
  groups?: number;
  /** Only 1: the legacy layers have no dilation. */
  dilation?: number;
}

export interface ResolvedLegacyConv {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: 1 | 2;
  bias: boolean;
  /** Channels the stride-1 layer sees: inChannels · stride². */
  convInChannels: number;
}

export function positiveInteger(layer: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${layer}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Validates the options shared by the legacy convolutions. `oddKernel`: the
 * layer needs a kernel with a centre (SOC's skew symmetry; BCOP's padding of
 * kernelSize // 2 on every side, which otherwise grows the output by one).
 */
export function resolveLegacyConv(layer: string, o: LegacyConv2dOptions, oddKernel: boolean): ResolvedLegacyConv {
  if (o === null || typeof o !== 'object') throw new TypeError(`${layer}: expected an options object { inChannels, outChannels, kernelSize, … }`);
  const inChannels = positiveInteger(layer, 'inChannels', o.inChannels);
  const outChannels = positiveInteger(layer, 'outChannels', o.outChannels);
  const kernelSize = positiveInteger(layer, 'kernelSize', o.kernelSize);
  const stride = o.stride ?? 1;
  if (stride !== 1 && stride !== 2) {
    throw new RangeError(`${layer}: stride must be 1 or 2 (stride 2 is emulated by a space-to-depth rearrangement), got ${JSON.stringify(stride)}`);
  }
  if ((o.groups ?? 1) !== 1) throw new RangeError(`${layer}: groups are not supported by the legacy layers, got groups=${JSON.stringify(o.groups)}`);
  if ((o.dilation ?? 1) !== 1) throw new RangeError(`${layer}: dilation is not supported by the legacy layers, got dilation=${JSON.stringify(o.dilation)}`);
  if (oddKernel && kernelSize % 2 !== 1) {
    throw new RangeError(`${layer}: kernelSize must be odd, got ${kernelSize}`);
  }
  return { inChannels, outChannels, kernelSize, stride, bias: o.bias ?? true, convInChannels: inChannels * stride * stride };
}

/** Checks x is [N, inChannels, H, W] (H, W even for stride 2) and applies the space-to-depth step of stride 2. */
export function legacyInput(layer: string, x: Tensor, inChannels: number, stride: 1 | 2): Tensor {
  const shape = x.shape;
  if (shape.length !== 4 || shape[1] !== inChannels) {
    throw new RangeError(`${layer}: expected input [N, ${inChannels}, H, W], got [${shape.join(', ')}]`);
  }
  if (stride === 1) return x;
  if (shape[2] % 2 !== 0 || shape[3] % 2 !== 0) {
    throw new RangeError(`${layer}: stride 2 needs an even height and width (2×2 blocks of pixels become channels), got ${shape[2]}×${shape[3]}`);
  }
  // Channel c·4 + 2·i + j of the result holds pixel (2h + i, 2w + j) of channel c: einops' "b c (w k1) (h k2) -> b (c k1 k2) w h".
  return F.pixelUnshuffle(x, 2);
}
