// Options shared by the orthogonal convolutions, with Orthogonium's defaults
// (circular 'same' padding for convolutions, zeros for transposed ones), and
// the checks that reject settings where no orthogonal convolution exists.
import type { PaddingMode } from '../../nn/index.js';
import { OrthoParams, OrthoParamsLike, resolveOrthoParams } from '../reparametrizers/ortho-params.js';

export interface OrthoConv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  /** An int, a pair, 'same' or 'valid' (default 'same'; 'same' needs stride 1, as in PyTorch). */
  padding?: number | [number, number] | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  bias?: boolean;
  /**
   * Default 'circular': the layer is then exactly orthogonal; with 'zeros' it is 1-Lipschitz.
   * 'reflect' and 'replicate' repeat border pixels, which makes the layer more than 1-Lipschitz.
   */
  paddingMode?: PaddingMode;
  /** A preset name ('default', 'test', 'qr', 'exp', 'cholesky', …) or OrthoParams. */
  orthoParams?: OrthoParamsLike;
}

export interface OrthoConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  padding?: number | [number, number];
  outputPadding?: number | [number, number];
  dilation?: number;
  groups?: number;
  bias?: boolean;
  orthoParams?: OrthoParamsLike;
}

export interface ResolvedConvSettings {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  dilation: number;
  groups: number;
  bias: boolean;
  orthoParams: OrthoParams;
}

const positiveInt = (layer: string, name: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${layer}: ${name} must be a positive integer${Array.isArray(v) ? ' (square kernels and strides only)' : ''}, got ${JSON.stringify(v)}`);
  }
  return v;
};

export function resolveCommon(layer: string, o: OrthoConv2dOptions | OrthoConvTranspose2dOptions): ResolvedConvSettings {
  const settings: ResolvedConvSettings = {
    inChannels: positiveInt(layer, 'inChannels', o.inChannels),
    outChannels: positiveInt(layer, 'outChannels', o.outChannels),
    kernelSize: positiveInt(layer, 'kernelSize', o.kernelSize),
    stride: positiveInt(layer, 'stride', o.stride ?? 1),
    dilation: positiveInt(layer, 'dilation', o.dilation ?? 1),
    groups: positiveInt(layer, 'groups', o.groups ?? 1),
    bias: o.bias ?? true,
    orthoParams: resolveOrthoParams(o.orthoParams),
  };
  const { inChannels, outChannels, groups, kernelSize, stride } = settings;
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new RangeError(`${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${groups})`);
  }
  if (kernelSize < stride) {
    throw new RangeError(`${layer}: kernelSize (${kernelSize}) < stride (${stride}): no orthogonal convolution exists in this setting`);
  }
  return settings;
}

/** Orthogonium's rule: a strided layer whose dilation is a multiple of the stride cannot be orthogonal. */
export function checkDilation(layer: string, s: ResolvedConvSettings, applies: boolean): void {
  if (applies && s.stride > 1 && s.dilation % s.stride === 0) {
    throw new RangeError(`${layer}: dilation (${s.dilation}) must not be a multiple of stride (${s.stride}) here: no orthogonal convolution exists in this setting`);
  }
}

export function checkInnerChannels(layer: string, s: ResolvedConvSettings): void {
  if (Math.max(s.inChannels, s.outChannels) / s.groups < 2 && s.kernelSize !== s.stride) {
    throw new RangeError(`${layer}: the inner convolution needs at least 2 channels per group (got ${Math.max(s.inChannels, s.outChannels) / s.groups})`);
  }
}
