// convOrthogonal_: fill a convolution weight in place with a random kernel
// that is orthogonal as a (circular) convolution operator — the counterpart
// of Orthogonium's conv_orthogonal_, and the convolutional analogue of
// init.orthogonal_.
//
// The kernel is built the way BcopRkoConv2d builds its weight: a BCOP kernel
// of size k' = k − s + 1 (stride 1, in → mid channels) composed with an RKO
// kernel of size s × s (stride s, mid → out channels), mid = max(in, ⌊out / s²⌋).
// Both factors are orthogonal for circular padding, so their composition is
// too; for stride s the composed kernel is orthogonal as a stride-s
// convolution on grids divisible by s (row-orthogonal when out < in·s²,
// column-orthogonal otherwise).
//
// Deviations from Orthogonium, on purpose:
// - the random matrices are drawn orthonormal (QR of a Gaussian, as
//   init.orthogonal_) before going through `orthoParams`; Orthogonium sends
//   raw Gaussians through the orthogonalizer, which does not always converge
//   for the RKO factor (see attachRkoWeight), so its kernels can be only
//   approximately orthogonal;
// - no Generator objects exist in this engine: `seed` gives a reproducible
//   draw instead, without disturbing the global random stream;
// - when k == s the BCOP factor is a 1×1 orthogonal matrix that the RKO
//   factor absorbs, so only the RKO factor is drawn (same distribution class,
//   half the work);
// - strides must be square (the kernel is square, so Orthogonium's
//   rectangular strides could not give a kernel of the tensor's shape anyway).
import { Tensor, empty, getRngState, manualSeed, noGrad, scope, setRngState } from '../../torch/index.js';
import { init } from '../../nn/index.js';
import { OrthoParamsLike, resolveOrthoParams } from '../reparametrizers/ortho-params.js';
import { L2Normalize } from '../reparametrizers/l2-normalize.js';
import { BCOPTrivializer } from './bcop.js';
import { RKOParametrizer } from './rko.js';
import { composeKernels } from './kernel-ops.js';

export interface ConvOrthogonalOptions {
  /** Stride the convolution will use (default 1): the kernel is orthogonal for that stride. A pair must be square. */
  stride?: number | [number, number];
  /** Groups of the convolution (default 1): one orthogonal block per group. */
  groups?: number;
  /** Scale of the result (default 1), as in init.orthogonal_. */
  gain?: number;
  /** Normalizer and orthogonalizer the drawn matrices go through (preset name or OrthoParams; default the library default). */
  orthoParams?: OrthoParamsLike;
  /** Draw from this seed (reproducible) and leave the global random stream as it was. Default: the global stream. */
  seed?: number;
}

const FN = 'convOrthogonal_';

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${FN}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Orthonormal matrices (columns when tall, rows when wide) in every [rows, cols] slice of `shape` [..., rows, cols], float64. */
function orthonormalSlices(shape: number[]): Tensor {
  const t = empty(shape, { dtype: 'float64' });
  const [rows, cols] = shape.slice(-2);
  const flat = t.view(-1, rows, cols);
  for (let i = 0; i < flat.shape[0]; i++) init.orthogonal_(flat.select(0, i));
  return t;
}

/**
 * Fills `tensor` — a convolution weight [out, in/groups, k, k] — with a random
 * kernel whose convolution with stride `stride` and circular padding is
 * orthogonal (all singular values 1), times `gain`. Returns `tensor`.
 * Needs k ≥ stride, and at least 2 channels per group in the intermediate
 * layer when k > stride (a k×k orthogonal kernel with one channel is a pure
 * shift, which BCOP cannot draw).
 */
export function convOrthogonal_(tensor: Tensor, options: ConvOrthogonalOptions = {}): Tensor {
  if (!(tensor instanceof Tensor)) throw new TypeError(`${FN}: expected a Tensor to fill`);
  if (tensor.ndim !== 4) throw new RangeError(`${FN}: expected a 4-d convolution weight [out, in/groups, k, k], got shape [${tensor.shape.join(', ')}]`);
  const [co, ciPerGroup, kh, kw] = tensor.shape;
  if (kh !== kw) throw new RangeError(`${FN}: only square kernels are supported, got ${kh}×${kw}`);
  const groups = positiveInt('groups', options.groups ?? 1);
  const strideOption = options.stride ?? 1;
  const [s, s2] = Array.isArray(strideOption) ? strideOption : [strideOption, strideOption];
  positiveInt('stride', s);
  positiveInt('stride', s2);
  if (s !== s2) throw new RangeError(`${FN}: only square strides are supported, got ${s}×${s2}`);
  const gain = options.gain ?? 1;
  if (typeof gain !== 'number' || !Number.isFinite(gain)) throw new RangeError(`${FN}: gain must be a finite number, got ${String(gain)}`);
  if (co % groups !== 0) throw new RangeError(`${FN}: groups (${groups}) must divide the ${co} output channels (dim 0)`);
  const k = kh;
  if (k < s) throw new RangeError(`${FN}: kernel size (${k}) < stride (${s}): no orthogonal convolution exists in this setting`);
  const orthoParams = resolveOrthoParams(options.orthoParams);
  const ci = ciPerGroup * groups;
  const mid = Math.max(ci, Math.floor(co / (s * s)));
  const kBcop = k - s + 1;
  // mid ≥ ci is a multiple of groups only if ⌊co / s²⌋ is; otherwise the layer cannot be split into groups.
  if (mid % groups !== 0) throw new RangeError(`${FN}: the intermediate width ${mid} (max(in, ⌊out / stride²⌋)) is not divisible by groups (${groups})`);
  const midPerGroup = mid / groups;
  if (kBcop > 1 && midPerGroup < 2) {
    throw new RangeError(`${FN}: a ${kBcop}×${kBcop} orthogonal factor needs at least 2 channels per group, got ${midPerGroup} ` +
      `(in/groups = ${ciPerGroup}, out/groups = ${co / groups}, stride ${s})`);
  }

  const draw = (): Tensor => {
    // RKO factor: [out, (in or mid)/groups, s, s], orthogonal as a matrix [out/g, cols·s²] per group.
    const rkoIn = kBcop === 1 ? ciPerGroup : midPerGroup;
    const rkoShape: [number, number, number, number] = [co, rkoIn, s, s];
    const rkoRaw = orthonormalSlices([groups, co / groups, rkoIn * s * s]).view(rkoShape);
    const rko = new RKOParametrizer(rkoShape, groups, 1, orthoParams).to('float64').forward(rkoRaw);
    if (kBcop === 1) return rko;
    // BCOP factor: 2k' matrices [mid/g, ⌊mid/g / 2⌋] with orthonormal columns per group.
    const pqShape = [groups, 2 * kBcop, midPerGroup, Math.floor(midPerGroup / 2)];
    let pq = orthonormalSlices(pqShape);
    if (pqShape[3] === 1) pq = new L2Normalize(-2).forward(pq);
    else {
      pq = orthoParams.spectralNormalizer(pqShape).to('float64').forward(pq);
      pq = orthoParams.orthogonalizer(pqShape).to('float64').forward(pq);
    }
    const bcop = new BCOPTrivializer(ci, mid, kBcop, groups).forward(pq); // [mid, in/g, k', k']
    return composeKernels(bcop, rko, groups);
  };

  noGrad(() => scope(() => {
    let kernel: Tensor;
    if (options.seed === undefined) kernel = draw();
    else {
      if (!Number.isInteger(options.seed)) throw new RangeError(`${FN}: seed must be an integer, got ${String(options.seed)}`);
      const saved = getRngState();
      manualSeed(options.seed);
      try { kernel = draw(); } finally { setRngState(saved); }
    }
    tensor.copy_(kernel.mul(gain));
  }));
  return tensor;
}
