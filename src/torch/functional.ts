// torch.nn.functional: the stateless building blocks of layers and losses.
import { aten } from './dispatch.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { cat } from './creation.js';
import { scope } from './scope.js';
import { isGradEnabled } from './autograd.js';
import { resample } from './interpolate.js';
import type { InterpolateOptions } from './interpolate.js';

export type Pair = number | [number, number];
export type Reduction = 'none' | 'mean' | 'sum';

const REDUCTIONS: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };
function reductionCode(reduction: Reduction): number {
  const code = REDUCTIONS[reduction];
  if (code === undefined) throw new TypeError(`reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  return code;
}

const pair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

export interface Conv2dOptions {
  bias?: Tensor | null;
  stride?: Pair;
  /** An int, a pair, or 'same' / 'valid' (stride 1 only for 'same', as in PyTorch). */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

export function conv2d(input: Tensor, weight: Tensor, options: Conv2dOptions = {}): Tensor {
  const { bias = null, stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  if (groups > 1 && pairConvKernelApplies(input, weight, bias, stride, padding, dilation, groups)) {
    const out = Tensor._wrap(native.groupedConv3x3ChannelsLast(input.handle, weight.handle));
    if (!bias) return out;
    const biased = out.add(bias.view(1, -1, 1, 1));
    out.dispose();
    return biased;
  }
  if (typeof padding === 'string') {
    if (padding !== 'same' && padding !== 'valid') throw new TypeError(`conv2d: padding must be a number, a pair, 'same' or 'valid', got '${padding}'`);
    return aten('conv2d.padding', input, weight, bias, pair(stride), padding, pair(dilation), groups);
  }
  return aten('conv2d', input, weight, bias, pair(stride), pair(padding), pair(dilation), groups);
}

/**
 * Whether the addon's kernel for 3×3 grouped convolutions with 2 input
 * channels per group applies (the seed's BCOP layers, where oneDNN is slow):
 * no gradient wanted (evaluation, certification), CPU, float32/64,
 * channels-last input, stride and dilation 1, zero 'same' padding, output
 * channels a multiple of 16. Measured 1.4–1.7× faster than oneDNN there.
 */
function pairConvKernelApplies(input: Tensor, weight: Tensor, bias: Tensor | null, stride: Pair, padding: Pair | 'same' | 'valid',
  dilation: Pair, groups: number): boolean {
  if (isGradEnabled() && (input.requiresGrad || weight.requiresGrad || bias?.requiresGrad)) return false;
  const [out, inPerGroup, kh, kw] = weight.shape;
  if (inPerGroup !== 2 || kh !== 3 || kw !== 3 || out! % 16 !== 0 || out! % groups !== 0) return false;
  const ones = (p: Pair) => pair(p)[0] === 1 && pair(p)[1] === 1;
  if (!ones(stride) || !ones(dilation) || !(padding === 'same' || (padding !== 'valid' && ones(padding)))) return false;
  const dtype = input.dtype;
  if ((dtype !== 'float32' && dtype !== 'float64') || weight.dtype !== dtype || input.device !== 'cpu' || weight.device !== 'cpu') return false;
  const shape = input.shape;
  if (shape.length !== 4 || shape[1] !== 2 * groups) return false;
  const [, c, h, w] = shape;
  const channelsLast = [h! * w! * c!, 1, w! * c!, c!];
  const strides = input.strides;
  return shape.every((size, d) => size === 1 || strides[d] === channelsLast[d]); // size-1 dims may have any stride
}

export interface ConvTranspose2dOptions {
  bias?: Tensor | null;
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  dilation?: Pair;
}

export function convTranspose2d(input: Tensor, weight: Tensor, options: ConvTranspose2dOptions = {}): Tensor {
  const { bias = null, stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1 } = options;
  return aten('conv_transpose2d.input', input, weight, bias, pair(stride), pair(padding), pair(outputPadding), groups, pair(dilation));
}

const FUSED_MAXMIN_DTYPES = new Set(['float32', 'float64', 'bfloat16']);

/**
 * MaxMin: splits `dim` into halves a, b and returns [max(a, b), min(a, b)]
 * along it. On CPU floating tensors one fused pass (any dense layout,
 * channels-last included); elsewhere split, maximum, minimum and cat. Ties
 * share the gradient equally in both, as torch.maximum/minimum do.
 */
export function maxMin(input: Tensor, dim = 1): Tensor {
  const size = input.shape.at(dim);
  if (size === undefined || size % 2 !== 0) {
    throw new RangeError(`maxMin: dimension ${dim} must have an even size to be split in two, got shape [${input.shape.join(', ')}]`);
  }
  if (input.device === 'cpu' && FUSED_MAXMIN_DTYPES.has(input.dtype)) return Tensor._wrap(native.maxMin(input.handle, dim));
  return scope(() => {
    const [a, b] = input.chunk(2, dim);
    return cat([a.maximum(b), a.minimum(b)], dim);
  });
}

export const linear = (input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor => aten('linear', input, weight, bias);

export interface PoolOptions { stride?: Pair; padding?: Pair; ceilMode?: boolean }

export function avgPool2d(input: Tensor, kernelSize: Pair, options: PoolOptions & { countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  const k = pair(kernelSize);
  return aten('avg_pool2d', input, k, pair(options.stride ?? k), pair(options.padding ?? 0), options.ceilMode ?? false,
    options.countIncludePad ?? true, options.divisorOverride);
}

export function maxPool2d(input: Tensor, kernelSize: Pair, options: PoolOptions & { dilation?: Pair } = {}): Tensor {
  const k = pair(kernelSize);
  return aten('max_pool2d', input, k, pair(options.stride ?? k), pair(options.padding ?? 0), pair(options.dilation ?? 1), options.ceilMode ?? false);
}

export const adaptiveAvgPool2d = (input: Tensor, outputSize: PairOpt): Tensor => aten('adaptive_avg_pool2d', input, adaptiveSize('adaptiveAvgPool2d', input, outputSize, 2));

// ---- 1-d and 3-d pooling, and the max pools' argmax positions ----------------------

/** One int for every spatial dim, or one per dim (PyTorch's _single / _triple). */
export type Single = number | [number];
export type Triple = number | [number, number, number];
/** `v` as a list of n ints: a number repeated, or the list itself. */
export const ntuple = (v: number | readonly number[], n: number): number[] => (typeof v === 'number' ? new Array<number>(n).fill(v) : [...v]);

export interface Pool1dOptions { stride?: Single; padding?: Single; ceilMode?: boolean }
export interface Pool3dOptions { stride?: Triple; padding?: Triple; ceilMode?: boolean }

/** Average pooling over [N, C, L] or [C, L] (F.avg_pool1d; PyTorch has no divisorOverride here). */
export function avgPool1d(input: Tensor, kernelSize: Single, options: Pool1dOptions & { countIncludePad?: boolean } = {}): Tensor {
  const k = ntuple(kernelSize, 1);
  return aten('avg_pool1d', input, k, ntuple(options.stride ?? k, 1), ntuple(options.padding ?? 0, 1), options.ceilMode ?? false,
    options.countIncludePad ?? true);
}

/** Average pooling over [N, C, D, H, W] or [C, D, H, W] (F.avg_pool3d). */
export function avgPool3d(input: Tensor, kernelSize: Triple, options: Pool3dOptions & { countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  const k = ntuple(kernelSize, 3);
  return aten('avg_pool3d', input, k, ntuple(options.stride ?? k, 3), ntuple(options.padding ?? 0, 3), options.ceilMode ?? false,
    options.countIncludePad ?? true, options.divisorOverride);
}

/** The arguments of max_pool{1,2,3}d[_with_indices] after kernel_size, expanded to n dims. */
function maxPoolArgs(n: number, kernelSize: number | readonly number[], options: { stride?: number | readonly number[]; padding?: number | readonly number[];
  dilation?: number | readonly number[]; ceilMode?: boolean }): unknown[] {
  const k = ntuple(kernelSize, n);
  return [k, ntuple(options.stride ?? k, n), ntuple(options.padding ?? 0, n), ntuple(options.dilation ?? 1, n), options.ceilMode ?? false];
}

export const maxPool1d = (input: Tensor, kernelSize: Single, options: Pool1dOptions & { dilation?: Single } = {}): Tensor =>
  aten('max_pool1d', input, ...maxPoolArgs(1, kernelSize, options));
export const maxPool3d = (input: Tensor, kernelSize: Triple, options: Pool3dOptions & { dilation?: Triple } = {}): Tensor =>
  aten('max_pool3d', input, ...maxPoolArgs(3, kernelSize, options));

function withIndices(op: string, input: Tensor, args: unknown[]): { values: Tensor; indices: Tensor } {
  const [values, indices] = aten(op, input, ...args) as [Tensor, Tensor];
  return { values, indices };
}
/** Max pooling and the flat index of each maximum within its input plane (F.max_pool1d_with_indices). */
export const maxPool1dWithIndices = (input: Tensor, kernelSize: Single, options: Pool1dOptions & { dilation?: Single } = {}): { values: Tensor; indices: Tensor } =>
  withIndices('max_pool1d_with_indices', input, maxPoolArgs(1, kernelSize, options));
export const maxPool2dWithIndices = (input: Tensor, kernelSize: Pair, options: PoolOptions & { dilation?: Pair } = {}): { values: Tensor; indices: Tensor } =>
  withIndices('max_pool2d_with_indices', input, maxPoolArgs(2, kernelSize, options));
export const maxPool3dWithIndices = (input: Tensor, kernelSize: Triple, options: Pool3dOptions & { dilation?: Triple } = {}): { values: Tensor; indices: Tensor } =>
  withIndices('max_pool3d_with_indices', input, maxPoolArgs(3, kernelSize, options));

/** An adaptive pool's output size: one int, or one per spatial dim where null keeps the input's size there (PyTorch's None). */
export type PairOpt = number | [number | null, number | null];
export type TripleOpt = number | [number | null, number | null, number | null];

/**
 * An adaptive pool's output size as `dims` ints, each null replaced by the
 * input's size in that spatial dim. The 1-d pools take no null, as in
 * PyTorch; libtorch checks the rest (count, positivity).
 */
function adaptiveSize(fn: string, input: Tensor, outputSize: number | readonly (number | null)[], dims: number): number[] {
  if (typeof outputSize === 'number') return ntuple(outputSize, dims);
  if (!Array.isArray(outputSize)) {
    throw new TypeError(`${fn}: outputSize must be an integer or a list of ${dims}${dims > 1 ? ' (null keeping the input\'s size)' : ''}, got ${JSON.stringify(outputSize)}`);
  }
  if (!outputSize.includes(null)) return [...outputSize] as number[];
  if (dims === 1) throw new TypeError(`${fn}: outputSize cannot be null for a 1-d pool (as in PyTorch), got ${JSON.stringify(outputSize)}`);
  if (input.ndim <= outputSize.length) {
    throw new RangeError(`${fn}: a null outputSize entry needs an input of at least ${outputSize.length + 1} dims, got shape [${input.shape.join(', ')}]`);
  }
  // Null entries take the trailing (spatial) sizes of the input.
  const spatial = input.shape.slice(-outputSize.length);
  return outputSize.map((s, i) => s ?? spatial[i]);
}

export const adaptiveAvgPool1d = (input: Tensor, outputSize: Single): Tensor => aten('adaptive_avg_pool1d', input, adaptiveSize('adaptiveAvgPool1d', input, outputSize, 1));
export const adaptiveAvgPool3d = (input: Tensor, outputSize: TripleOpt): Tensor => aten('adaptive_avg_pool3d', input, adaptiveSize('adaptiveAvgPool3d', input, outputSize, 3));

export function adaptiveMaxPool1d(input: Tensor, outputSize: Single): Tensor;
export function adaptiveMaxPool1d(input: Tensor, outputSize: Single, returnIndices: true): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool1d(input: Tensor, outputSize: Single, returnIndices = false): Tensor | { values: Tensor; indices: Tensor } {
  return adaptiveMax('adaptive_max_pool1d', input, adaptiveSize('adaptiveMaxPool1d', input, outputSize, 1), returnIndices);
}

export function adaptiveMaxPool3d(input: Tensor, outputSize: TripleOpt): Tensor;
export function adaptiveMaxPool3d(input: Tensor, outputSize: TripleOpt, returnIndices: true): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool3d(input: Tensor, outputSize: TripleOpt, returnIndices = false): Tensor | { values: Tensor; indices: Tensor } {
  return adaptiveMax('adaptive_max_pool3d', input, adaptiveSize('adaptiveMaxPool3d', input, outputSize, 3), returnIndices);
}

function adaptiveMax(op: string, input: Tensor, outputSize: number[], returnIndices: boolean): Tensor | { values: Tensor; indices: Tensor } {
  const result = withIndices(op, input, [outputSize]);
  if (returnIndices) return result;
  result.indices.dispose();
  return result.values;
}

export { INTERPOLATE_MODES } from './interpolate.js';
export type { InterpolateMode, InterpolateOptions } from './interpolate.js';

/**
 * Resizes [N, C, L], [N, C, H, W] or [N, C, D, H, W] inputs to `size` or by
 * `scaleFactor` (F.interpolate): 'nearest' and 'nearest-exact' and 'area'
 * (adaptive average pooling to the output size) for every rank, 'linear'
 * for 3D, 'bilinear' and 'bicubic' (optionally antialiased when
 * downsampling) for 4D, 'trilinear' for 5D; PyTorch's validation rules.
 */
export const interpolate = (input: Tensor, options: InterpolateOptions): Tensor => resample('interpolate', input, options);

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Pads the last dimensions: pads = [left, right, top, bottom, …] as in PyTorch. */
export function pad(input: Tensor, pads: number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new TypeError(`pad: mode must be constant, reflect, replicate or circular, got '${String(mode)}'`);
  }
  return aten('pad', input, pads, mode, mode === 'constant' ? value : undefined);
}

export const oneHot = (labels: Tensor, numClasses = -1): Tensor => aten('one_hot', labels, numClasses);
export const relu = (x: Tensor): Tensor => x.relu();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const softmax = (x: Tensor, dim: number): Tensor => x.softmax(dim);
export const logSoftmax = (x: Tensor, dim: number): Tensor => x.logSoftmax(dim);
export const dropout = (x: Tensor, p = 0.5, training = true): Tensor => {
  if (p < 0 || p > 1) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  return aten('dropout', x, p, training);
};

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross-entropy on logits [N, C] and class indices [N] (or class probabilities [N, C]). */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const smoothing = options.labelSmoothing ?? 0;
  if (smoothing < 0 || smoothing > 1) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  return aten('cross_entropy_loss', logits, target, options.weight ?? null, reductionCode(options.reduction ?? 'mean'),
    options.ignoreIndex ?? -100, smoothing);
}


export const mseLoss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  aten('mse_loss', input, target, reductionCode(reduction));

export const cosineSimilarity = (a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor => aten('cosine_similarity', a, b, dim, eps);

/** Divides by the p-norm along `dim` (never by less than eps). */
export function normalize(x: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  const norm = aten('linalg_vector_norm', x, p, [dim], true) as Tensor;
  const denom = norm.clampMin(eps);
  norm.dispose();
  const out = x.div(denom);
  denom.dispose();
  return out;
}

// ---- normalization ----------------------------------------------------------

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalize with the batch's statistics (and update the running ones, when given). Default false, as in PyTorch. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalization over dim 1 (F.batch_norm). In training the running
 * statistics, when given, are updated in place:
 * running = (1 - momentum) · running + momentum · batch (unbiased variance).
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = options;
  checkEps('batchNorm', eps);
  const shape = input.shape;
  if (shape.length < 2) throw new RangeError(`batchNorm: expected an input with at least 2 dims [N, C, …], got shape [${shape.join(', ')}]`);
  if (training) {
    const perChannel = shape.reduce((a, b) => a * b, 1) / shape[1];
    if (perChannel <= 1) {
      throw new RangeError(`batchNorm: expected more than 1 value per channel when training, got input of shape [${shape.join(', ')}]`);
    }
  } else if (runningMean === null || runningVar === null) {
    throw new TypeError('batchNorm: runningMean and runningVar are required when training is false');
  }
  return aten('batch_norm', input, weight, bias, runningMean, runningVar, training, momentum, eps, true);
}

export interface LayerNormOptions { weight?: Tensor | null; bias?: Tensor | null; eps?: number }

/** Normalizes over the trailing dims given by `normalizedShape` (F.layer_norm). */
export function layerNorm(input: Tensor, normalizedShape: number | number[], options: LayerNormOptions = {}): Tensor {
  const dims = Array.isArray(normalizedShape) ? normalizedShape : [normalizedShape];
  const eps = options.eps ?? 1e-5;
  checkEps('layerNorm', eps);
  const trailing = input.shape.slice(-dims.length);
  if (dims.length === 0 || dims.length > input.ndim || trailing.some((s, i) => s !== dims[i])) {
    throw new RangeError(`layerNorm: normalizedShape [${dims.join(', ')}] must match the last dims of the input, got shape [${input.shape.join(', ')}]`);
  }
  return aten('layer_norm', input, dims, options.weight ?? null, options.bias ?? null, eps, true);
}

/** Normalizes each group of channels of every sample (F.group_norm). */
export function groupNorm(input: Tensor, numGroups: number, options: LayerNormOptions = {}): Tensor {
  const eps = options.eps ?? 1e-5;
  checkEps('groupNorm', eps);
  const shape = input.shape;
  if (shape.length < 2) throw new RangeError(`groupNorm: expected an input with at least 2 dims [N, C, …], got shape [${shape.join(', ')}]`);
  if (!Number.isInteger(numGroups) || numGroups <= 0 || shape[1] % numGroups !== 0) {
    throw new RangeError(`groupNorm: the input's ${shape[1]} channels must be divisible by numGroups (${numGroups})`);
  }
  return aten('group_norm', input, numGroups, options.weight ?? null, options.bias ?? null, eps, true);
}

export interface InstanceNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalize with each instance's statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  momentum?: number;
  eps?: number;
}

/** Normalizes every channel of every sample over its spatial dims (F.instance_norm). */
export function instanceNorm(input: Tensor, options: InstanceNormOptions = {}): Tensor {
  const { runningMean = null, runningVar = null, weight = null, bias = null, useInputStats = true, momentum = 0.1, eps = 1e-5 } = options;
  checkEps('instanceNorm', eps);
  const shape = input.shape;
  if (shape.length < 3) throw new RangeError(`instanceNorm: expected an input with at least 3 dims [N, C, …], got shape [${shape.join(', ')}]`);
  if (useInputStats && shape.slice(2).reduce((a, b) => a * b, 1) <= 1) {
    throw new RangeError(`instanceNorm: expected more than 1 spatial element when training, got input of shape [${shape.join(', ')}]`);
  }
  if (!useInputStats && (runningMean === null || runningVar === null)) {
    throw new TypeError('instanceNorm: runningMean and runningVar are required when useInputStats is false');
  }
  return aten('instance_norm', input, weight, bias, runningMean, runningVar, useInputStats, momentum, eps, true);
}

function checkEps(fn: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`${fn}: eps must be a finite number > 0, got ${eps}`);
}

// ---- activations ----------------------------------------------------------------

/** GELU: x Φ(x), exactly ('none', the default) or with the tanh approximation. */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new TypeError(`gelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  return aten('gelu', x, approximate);
}
export const silu = (x: Tensor): Tensor => aten('silu', x);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => aten('leaky_relu', x, negativeSlope);
export const elu = (x: Tensor, alpha = 1): Tensor => aten('elu', x, alpha, 1, 1);
export const tanh = (x: Tensor): Tensor => x.tanh();
export const hardswish = (x: Tensor): Tensor => aten('hardswish', x);
export const mish = (x: Tensor): Tensor => aten('mish', x);
/** log(1 + exp(βx)) / β, linear above `threshold` (βx > threshold), as in PyTorch. */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  if (!(beta !== 0) || !Number.isFinite(beta)) throw new RangeError(`softplus: beta must be a finite non-zero number, got ${beta}`);
  return aten('softplus', x, beta, threshold);
}
/** max(0, x) + weight · min(0, x), with one weight or one per channel (dim 1). */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  const n = weight.numel();
  if (n !== 1) {
    const channels = x.ndim >= 2 ? x.shape[1] : x.ndim === 1 ? x.shape[0] : 1;
    if (channels !== n) throw new RangeError(`prelu: the weight has ${n} parameters but the input has ${channels} channels (dim 1 of shape [${x.shape.join(', ')}])`);
  }
  return aten('prelu', x, weight);
}

// ---- layers ------------------------------------------------------------------------

/** Zeroes whole channels of [N, C, H, W] (or unbatched [C, H, W]) with probability p, scaling the rest by 1/(1-p). */
export function dropout2d(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout2d: p must be in [0, 1], got ${p}`);
  const nd = x.ndim;
  if (nd !== 3 && nd !== 4) throw new RangeError(`dropout2d: expected an input [N, C, H, W] or [C, H, W], got shape [${x.shape.join(', ')}]`);
  if (nd === 4) return aten('feature_dropout', x, p, training);
  return scope(() => (aten('feature_dropout', x.unsqueeze(0), p, training) as Tensor).squeeze(0));
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: PairOpt): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: PairOpt, returnIndices: true): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(input: Tensor, outputSize: PairOpt, returnIndices = false): Tensor | { values: Tensor; indices: Tensor } {
  return adaptiveMax('adaptive_max_pool2d', input, adaptiveSize('adaptiveMaxPool2d', input, outputSize, 2), returnIndices);
}

export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  checkFactor('pixelShuffle', 'upscaleFactor', upscaleFactor);
  const c = input.shape.at(-3);
  if (input.ndim < 3 || c! % (upscaleFactor * upscaleFactor) !== 0) {
    throw new RangeError(`pixelShuffle: the channels (dim -3) of shape [${input.shape.join(', ')}] must be divisible by upscaleFactor² = ${upscaleFactor * upscaleFactor}`);
  }
  return aten('pixel_shuffle', input, upscaleFactor);
}

export function pixelUnshuffle(input: Tensor, downscaleFactor: number): Tensor {
  checkFactor('pixelUnshuffle', 'downscaleFactor', downscaleFactor);
  const [h, w] = input.shape.slice(-2);
  if (input.ndim < 3 || h % downscaleFactor !== 0 || w % downscaleFactor !== 0) {
    throw new RangeError(`pixelUnshuffle: height and width of shape [${input.shape.join(', ')}] must be divisible by downscaleFactor ${downscaleFactor}`);
  }
  return aten('pixel_unshuffle', input, downscaleFactor);
}

function checkFactor(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${v}`);
}

export interface Conv1dOptions {
  bias?: Tensor | null;
  stride?: number;
  /** An int, or 'same' / 'valid' (stride 1 only for 'same', as in PyTorch). */
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
}

export function conv1d(input: Tensor, weight: Tensor, options: Conv1dOptions = {}): Tensor {
  return convNd('conv1d', 1, input, weight, options);
}

/** conv1d / conv3d: the options as int tuples of the convolution's rank, or PyTorch's 'same' / 'valid' padding. */
function convNd(fn: 'conv1d' | 'conv3d', dims: number, input: Tensor, weight: Tensor, options: Conv1dOptions | Conv3dOptions): Tensor {
  const { bias = null, stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  if (typeof padding === 'string') {
    if (padding !== 'same' && padding !== 'valid') {
      throw new TypeError(`${fn}: padding must be a number${dims > 1 ? `, a ${dims}-tuple` : ''}, 'same' or 'valid', got '${padding}'`);
    }
    return aten(`${fn}.padding`, input, weight, bias, ntuple(stride, dims), padding, ntuple(dilation, dims), groups);
  }
  return aten(fn, input, weight, bias, ntuple(stride, dims), ntuple(padding, dims), ntuple(dilation, dims), groups);
}

export interface Conv3dOptions {
  bias?: Tensor | null;
  stride?: Triple;
  /** An int, a triple, or 'same' / 'valid' (stride 1 only for 'same', as in PyTorch). */
  padding?: Triple | 'same' | 'valid';
  dilation?: Triple;
  groups?: number;
}

/** 3-d convolution of [N, C, D, H, W] (or [C, D, H, W]) with a weight [out, in / groups, kd, kh, kw] (F.conv3d). */
export function conv3d(input: Tensor, weight: Tensor, options: Conv3dOptions = {}): Tensor {
  return convNd('conv3d', 3, input, weight, options);
}

export interface ConvTranspose1dOptions {
  bias?: Tensor | null;
  stride?: Single;
  padding?: Single;
  outputPadding?: Single;
  groups?: number;
  dilation?: Single;
}

/** Transposed 1-d convolution of [N, C, L] (or [C, L]) with a weight [in, out / groups, k] (F.conv_transpose1d). */
export function convTranspose1d(input: Tensor, weight: Tensor, options: ConvTranspose1dOptions = {}): Tensor {
  const { bias = null, stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1 } = options;
  return aten('conv_transpose1d', input, weight, bias, ntuple(stride, 1), ntuple(padding, 1), ntuple(outputPadding, 1), groups, ntuple(dilation, 1));
}

export interface ConvTranspose3dOptions {
  bias?: Tensor | null;
  stride?: Triple;
  padding?: Triple;
  outputPadding?: Triple;
  groups?: number;
  dilation?: Triple;
}

/** Transposed 3-d convolution of [N, C, D, H, W] (or [C, D, H, W]) with a weight [in, out / groups, kd, kh, kw] (F.conv_transpose3d). */
export function convTranspose3d(input: Tensor, weight: Tensor, options: ConvTranspose3dOptions = {}): Tensor {
  const { bias = null, stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1 } = options;
  return aten('conv_transpose3d.input', input, weight, bias, ntuple(stride, 3), ntuple(padding, 3), ntuple(outputPadding, 3), groups, ntuple(dilation, 3));
}

// ---- losses ----------------------------------------------------------------------------

function checkSameShape(fn: string, input: Tensor, target: Tensor): void {
  const a = input.shape;
  const b = target.shape;
  if (a.length !== b.length || a.some((s, i) => s !== b[i])) {
    throw new RangeError(`${fn}: input shape [${a.join(', ')}] and target shape [${b.join(', ')}] must be the same`);
  }
}

export const l1Loss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor => {
  checkSameShape('l1Loss', input, target);
  return aten('l1_loss', input, target, reductionCode(reduction));
};

/** Quadratic below beta (0.5 d²/β), linear above (|d| - β/2); beta 0 is L1. */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) throw new RangeError(`smoothL1Loss: beta must be ≥ 0, got ${beta}`);
  checkSameShape('smoothL1Loss', input, target);
  return aten('smooth_l1_loss', input, target, reductionCode(options.reduction ?? 'mean'), beta);
}

/** Quadratic below delta (0.5 d²), linear above (δ(|d| - δ/2)). */
export function huberLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction; delta?: number } = {}): Tensor {
  const delta = options.delta ?? 1;
  if (!(delta > 0)) throw new RangeError(`huberLoss: delta must be > 0, got ${delta}`);
  checkSameShape('huberLoss', input, target);
  return aten('huber_loss', input, target, reductionCode(options.reduction ?? 'mean'), delta);
}

export interface NllLossOptions { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction }

/**
 * Negative log-likelihood of class indices under log-probabilities [N, C]
 * or [N, C, d1, …] (or [C]); the third argument is the reduction or the
 * options { weight, ignoreIndex, reduction }.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: Reduction | NllLossOptions = {}): Tensor {
  if (typeof options === 'string') options = { reduction: options };
  const weight = options.weight ?? null;
  const c = logProbs.ndim === 1 ? logProbs.shape[0] : logProbs.shape[1];
  if (weight !== null && (weight.ndim !== 1 || weight.shape[0] !== c)) {
    throw new RangeError(`nllLoss: weight must have one entry per class (${c}), got shape [${weight.shape.join(', ')}]`);
  }
  return aten('nll_loss_nd', logProbs, target, weight, reductionCode(options.reduction ?? 'mean'), options.ignoreIndex ?? -100);
}

export interface BceOptions { weight?: Tensor | null; reduction?: Reduction }

/** Binary cross-entropy on probabilities in [0, 1] (log clamped at -100, as in PyTorch). */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  checkSameShape('binaryCrossEntropy', input, target);
  return aten('binary_cross_entropy', input, target, options.weight ?? null, reductionCode(options.reduction ?? 'mean'));
}

/** Binary cross-entropy on logits, computed stably; posWeight weighs the positive term per class (last dim). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BceOptions & { posWeight?: Tensor | null } = {}): Tensor {
  checkSameShape('binaryCrossEntropyWithLogits', input, target);
  return aten('binary_cross_entropy_with_logits', input, target, options.weight ?? null, options.posWeight ?? null,
    reductionCode(options.reduction ?? 'mean'));
}

export type KlReduction = Reduction | 'batchmean';

/**
 * KL divergence with `input` in log space: target · (log target - input)
 * (or exp(target) · (target - input) with logTarget). 'batchmean' divides
 * the sum by the batch size, the mathematically correct mean.
 */
export function klDiv(input: Tensor, target: Tensor, options: { reduction?: KlReduction; logTarget?: boolean } = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  if (!['none', 'mean', 'sum', 'batchmean'].includes(reduction)) {
    throw new TypeError(`klDiv: reduction must be 'none', 'mean', 'sum' or 'batchmean', got '${String(reduction)}'`);
  }
  const logTarget = options.logTarget ?? false;
  if (reduction === 'batchmean') {
    const sum = aten('kl_div', input, target, REDUCTIONS.sum, logTarget) as Tensor;
    if (input.ndim === 0) return sum;
    const out = sum.div(input.shape[0]);
    sum.dispose();
    return out;
  }
  return aten('kl_div', input, target, reductionCode(reduction), logTarget);
}
