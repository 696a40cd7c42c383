// torch.nn.functional: the stateless building blocks of layers and losses.
import { aten } from './dispatch.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { cat } from './creation.js';
import { scope } from './scope.js';
import { isGradEnabled } from './autograd.js';

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

export const adaptiveAvgPool2d = (input: Tensor, outputSize: Pair): Tensor => aten('adaptive_avg_pool2d', input, pair(outputSize));

export interface InterpolateOptions {
  size?: Pair;
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

export function interpolate(input: Tensor, options: InterpolateOptions): Tensor {
  const size = options.size === undefined ? undefined : pair(options.size);
  const scale = options.scaleFactor === undefined ? undefined
    : Array.isArray(options.scaleFactor) ? options.scaleFactor : [options.scaleFactor, options.scaleFactor];
  if ((size === undefined) === (scale === undefined)) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  const mode = options.mode ?? 'nearest';
  if (mode === 'nearest') return aten('upsample_nearest2d.vec', input, size, scale);
  if (mode === 'bilinear') return aten('upsample_bilinear2d.vec', input, size, options.alignCorners ?? false, scale);
  throw new TypeError(`interpolate: mode must be 'nearest' or 'bilinear', got '${String(mode)}'`);
}

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

export const nllLoss = (logProbs: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  aten('nll_loss', logProbs, target, null, reductionCode(reduction), -100);

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
