// Singular values and spectral-norm bounds of 2-d convolution operators.
//
// Two tools, for the two usual boundary conditions:
//
// * Circular padding — exact. A circular convolution on an H x W grid is
//   diagonalised, frequency by frequency, by the 2-d DFT (Sedghi, Gupta &
//   Long, "The singular values of convolutional layers", ICLR 2019): its
//   singular values are the union over the H*W frequencies of the singular
//   values of the small complex matrices M(w) = sum_u kernel[:, :, u] e^{-i w.u}.
//   Strides are reduced to stride 1 by space-to-depth: a stride-s circular
//   convolution on a grid divisible by s equals a stride-1 circular
//   convolution on the pixel-unshuffled input (s*s times more input
//   channels, grid / s), whose kernel is the original one cut into s x s
//   phases. Groups make the operator block diagonal (one block per group).
//
// * Zero padding — a guaranteed upper bound of the largest singular value,
//   by Gram iteration (Delattre, Barthélemy, Araujo & Allauzen, ICML 2023;
//   Delattre, Barthélemy & Allauzen 2024). A zero-padded convolution on any
//   finite input is a compression of the same convolution acting on
//   l2(Z^2), so any bound of the latter's norm holds. With T that operator,
//   ||T||^(2^n) = ||(T T*)^(2^(n-1))||, and the right-hand side, being a
//   self-adjoint convolution, is at most its largest absolute row sum. The
//   bound decreases towards ||T|| as n grows.
//
// Everything is computed in float64 (complex128 in the Fourier domain),
// without autograd, on the kernel's device.
import {
  Tensor, cat, fft, linalg, noGrad, scope, tensor, zeros, F, isComplexDType,
} from '../torch/index.js';

export type Size2 = number | [number, number];

export interface ConvOperatorOptions {
  /** Number of channel groups (default 1); must divide the kernel's first dimension. */
  groups?: number;
  /** Stride of the convolution (default 1). */
  stride?: Size2;
  /** Dilation of the kernel (default 1). */
  dilation?: Size2;
  /**
   * The kernel is a transposed convolution's weight, [in, out/groups, kh, kw].
   * The transposed convolution is the adjoint of the convolution with the same
   * weight, so it has the same singular values; `inputSize` is then the
   * transposed convolution's own input size and its output is inputSize*stride.
   */
  transposed?: boolean;
}

export interface ConvSingularValues {
  /** Smallest singular value of the operator (of the min(rows, columns) it has). */
  min: number;
  /** Largest singular value: the operator's spectral norm (its Lipschitz constant). */
  max: number;
  /** ||A||_F^2 / ||A||_2^2: between 1 and `values.numel()`; equal to the latter for an orthogonal operator. */
  stableRank: number;
  /**
   * stableRank / values.numel(): the stable rank as a fraction of full rank,
   * in (0, 1], 1 for an orthogonal operator. This is the normalization
   * Orthogonium's get_conv_sv reports as its "stable rank" (there computed
   * per position from the kernel, which for a circular convolution is the
   * same number); `stableRank` keeps the classic, unnormalized definition,
   * which grows with the input size.
   */
  normalizedStableRank: number;
  /**
   * Every singular value, float64, shaped [groups, H', W', r]: per group,
   * per frequency (u, v) of the 2-d DFT (torch.fft.fft2 of the kernel padded
   * to the stride-reduced grid H' x W' = inputSize / stride, or inputSize
   * itself for a transposed convolution), the
   * r = min(out/groups, in/groups * sh * sw) values in decreasing order.
   * The caller owns it (dispose it, or let an enclosing scope do so).
   */
  values: Tensor;
}

export interface ConvSpectralNormBoundOptions extends ConvOperatorOptions {
  /**
   * Gram iterations. Each one squares the Gram operator, doubles the span of
   * its taps and multiplies time and memory by about 4. By default: 6, or
   * fewer when 6 would need more than min(maxBytes, 1 GiB) — measured on
   * random 3x3 kernels, 5 iterations give a bound within 1-5 % of the
   * operator norm on large inputs and 6 within 0.5-2 %.
   */
  iterations?: number;
  /** Refuse explicit `iterations` whose estimated peak memory exceeds this many bytes (default 2^32 = 4 GiB). */
  maxBytes?: number;
}

/** Anything convolution-like: AOC layers, Conv2d, ConvTranspose2d, ... */
export interface ConvLayerLike {
  readonly weight: Tensor;
  readonly groups?: number;
  readonly stride?: Size2;
  readonly dilation?: Size2;
  /** True when `weight` is laid out as a transposed convolution's [in, out/groups, kh, kw]. */
  readonly transposed?: boolean;
}

export interface OperatorMatrixOptions {
  /**
   * Basis vectors sent to `forward` per call (default 1). Above 1, inputShape[0]
   * must be 1 (a batch dimension) and `forward` receives up to `batch` basis
   * vectors stacked along it, so it must treat batch entries independently.
   */
  batch?: number;
  /** Element type of the basis vectors handed to `forward` (default float64); the matrix is float64 anyway. */
  dtype?: 'float32' | 'float64';
  /** Device of the basis vectors (default 'cpu'). */
  device?: string;
}

// ---------------------------------------------------------------------------
// Argument checks

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function pairOption(fn: string, name: string, value: Size2 | undefined, fallback: number): [number, number] {
  const v = value ?? fallback;
  const p: unknown[] = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every(isPositiveInt)) {
    throw new RangeError(`${fn}: ${name} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`);
  }
  return p as [number, number];
}

function checkKernel(fn: string, kernel: unknown): Tensor {
  if (!(kernel instanceof Tensor)) throw new TypeError(`${fn}: kernel must be a Tensor`);
  if (kernel.isDisposed) throw new TypeError(`${fn}: kernel has been disposed`);
  if (kernel.ndim !== 4) {
    throw new RangeError(`${fn}: kernel must be 4-d [out, in/groups, kh, kw], got shape [${kernel.shape.join(', ')}]`);
  }
  if (isComplexDType(kernel.dtype) || kernel.dtype === 'bool') {
    throw new TypeError(`${fn}: kernel must hold real numbers, got dtype ${kernel.dtype}`);
  }
  if (kernel.numel() === 0) throw new RangeError(`${fn}: kernel is empty (shape [${kernel.shape.join(', ')}])`);
  const finite = noGrad(() => scope(() => kernel.isfinite().all().item() !== 0));
  if (!finite) throw new RangeError(`${fn}: kernel contains NaN or infinite values`);
  return kernel;
}

function checkGroups(fn: string, kernel: Tensor, groups: number | undefined, transposed: boolean): number {
  const g = groups ?? 1;
  if (!isPositiveInt(g)) throw new RangeError(`${fn}: groups must be a positive integer, got ${String(groups)}`);
  const rows = kernel.shape[0];
  if (rows % g !== 0) {
    const what = transposed ? 'input channels (kernel dim 0 of a transposed convolution)' : 'output channels (kernel dim 0)';
    throw new RangeError(`${fn}: groups (${g}) must divide the number of ${what}, ${rows}`);
  }
  return g;
}

function checkInputSize(fn: string, inputSize: unknown): [number, number] {
  if (!Array.isArray(inputSize) || inputSize.length !== 2 || !inputSize.every(isPositiveInt)) {
    throw new RangeError(`${fn}: inputSize must be [height, width] with positive integers, got ${JSON.stringify(inputSize)}`);
  }
  return inputSize as [number, number];
}

interface Geometry {
  groups: number;
  stride: [number, number];
  dilation: [number, number];
  /** Spatial extent of the dilated kernel. */
  extent: [number, number];
  /** Size of the grid the (non-transposed) convolution reads. */
  grid: [number, number];
}

function geometry(fn: string, kernel: Tensor, inputSize: unknown, options: ConvOperatorOptions): Geometry {
  const size = checkInputSize(fn, inputSize);
  const transposed = options.transposed ?? false;
  const groups = checkGroups(fn, kernel, options.groups, transposed);
  const stride = pairOption(fn, 'stride', options.stride, 1);
  const dilation = pairOption(fn, 'dilation', options.dilation, 1);
  const [, , kh, kw] = kernel.shape;
  const extent: [number, number] = [dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1];
  // A transposed convolution with stride s maps an n-grid to an (n*s)-grid;
  // its adjoint, the ordinary convolution, reads the (n*s)-grid.
  const grid: [number, number] = transposed ? [size[0] * stride[0], size[1] * stride[1]] : [size[0], size[1]];
  if (grid[0] < extent[0] || grid[1] < extent[1]) {
    const dil = dilation[0] > 1 || dilation[1] > 1 ? ` (dilated to ${extent[0]}x${extent[1]})` : '';
    const where = transposed ? `the ${grid[0]}x${grid[1]} output grid of the transposed convolution` : `the ${grid[0]}x${grid[1]} input`;
    throw new RangeError(`${fn}: the ${kh}x${kw} kernel${dil} is larger than ${where}; inputSize must be at least the kernel size`);
  }
  return { groups, stride, dilation, extent, grid };
}

// ---------------------------------------------------------------------------
// Kernel preparation

/**
 * The float64 kernel of the equivalent stride-1, dilation-1 convolution,
 * shaped [groups, out/groups, in/groups * sh * sw, ceil(eh/sh), ceil(ew/sw)]
 * (eh x ew: the dilated kernel's extent). Channel c of the input becomes the
 * sh*sw channels c*sh*sw + rh*sw + rw of the unshuffled input (the order
 * pixel_unshuffle uses), holding the pixels whose row is rh mod sh and
 * whose column is rw mod sw.
 */
function strideOneKernel(kernel: Tensor, geo: Geometry): Tensor {
  const [sh, sw] = geo.stride;
  const [dh, dw] = geo.dilation;
  let k = kernel.detach().to('float64');
  const [co, ci, kh, kw] = k.shape;
  if (dh > 1 || dw > 1) {
    // Spread the taps: [co, ci, kh, 1, kw, 1] padded to [co, ci, kh, dh, kw, dw],
    // flattened and cut to the dilated extent.
    const spread = F.pad(k.reshape([co, ci, kh, 1, kw, 1]), [0, dw - 1, 0, 0, 0, dh - 1]);
    k = spread.reshape([co, ci, kh * dh, kw * dw]).narrow(2, 0, geo.extent[0]).narrow(3, 0, geo.extent[1]);
  }
  const [eh, ew] = geo.extent;
  const qh = Math.ceil(eh / sh);
  const qw = Math.ceil(ew / sw);
  if (sh > 1 || sw > 1) {
    // Tap (u, v) = (sh*a + rh, sw*b + rw) moves to channel (c, rh, rw), position (a, b).
    const padded = F.pad(k, [0, qw * sw - ew, 0, qh * sh - eh]);
    k = padded.reshape([co, ci, qh, sh, qw, sw]).permute([0, 1, 3, 5, 2, 4]).reshape([co, ci * sh * sw, qh, qw]);
  }
  return k.reshape([geo.groups, co / geo.groups, ci * sh * sw, qh, qw]);
}

// ---------------------------------------------------------------------------
// Exact singular values (circular padding)

/**
 * Exact singular values of the circular-padding convolution with `kernel`
 * ([out, in/groups, kh, kw]; [in, out/groups, kh, kw] with `transposed`) on
 * inputs of spatial size `inputSize`. With a stride, each side of the grid
 * must be divisible by it (the grid the convolution reads: inputSize, or
 * inputSize*stride for a transposed convolution). The padding offset does not
 * matter: shifting the input circularly is orthogonal.
 */
export function convSingularValues(kernel: Tensor, inputSize: [number, number], options: ConvOperatorOptions = {}): ConvSingularValues {
  const fn = 'convSingularValues';
  checkKernel(fn, kernel);
  const geo = geometry(fn, kernel, inputSize, options);
  const [sh, sw] = geo.stride;
  if (geo.grid[0] % sh !== 0 || geo.grid[1] % sw !== 0) {
    throw new RangeError(`${fn}: the ${geo.grid[0]}x${geo.grid[1]} grid is not divisible by the stride ${sh}x${sw}; ` +
      'a strided circular convolution is only defined here when it is');
  }
  const freq: [number, number] = [geo.grid[0] / sh, geo.grid[1] / sw];
  return noGrad(() => scope(() => {
    const k = strideOneKernel(kernel, geo); // [g, co, ci', qh, qw]
    // The kernel is real, so M(-w) is the complex conjugate of M(w) and has
    // the same singular values: decompose the half spectrum only
    // (frequencies 0 .. W'/2 along the width), [g, H', W'/2+1, co, ci'] ...
    const [fh, fw] = freq;
    const halfWidth = Math.floor(fw / 2) + 1;
    const half = linalg.svdvals(fft.rfft2(k, freq).permute([0, 3, 4, 1, 2]));
    // ... and fill in (u, v) for v >= W'/2+1 from (-u mod H', W' - v).
    let values = half;
    if (fw > halfWidth) {
      const device = half.device;
      const rows = tensor(Array.from({ length: fh }, (_, u) => (fh - u) % fh), { dtype: 'int64', device });
      const cols = tensor(Array.from({ length: fw - halfWidth }, (_, j) => fw - halfWidth - j), { dtype: 'int64', device });
      values = cat([half, half.indexSelect(1, rows).indexSelect(2, cols)], 2);
    }
    const max = values.max() as Tensor;
    const min = values.min() as Tensor;
    const sumSquares = values.square().sum();
    const top = max.item();
    const stableRank = top > 0 ? sumSquares.item() / (top * top) : 0;
    return {
      min: min.item(),
      max: top,
      stableRank,
      normalizedStableRank: stableRank / values.numel(),
      values,
    };
  }));
}

// ---------------------------------------------------------------------------
// Spectral-norm upper bound (zero padding)

/**
 * A guaranteed upper bound of the largest singular value of the zero-padding
 * convolution with `kernel` (any padding amount, any input size; see the file
 * comment), by `iterations` Gram iterations carried out in the Fourier domain
 * on a grid large enough that nothing aliases. The bound only tightens with
 * more iterations; cost and memory grow by 4x per iteration (the kernel's
 * support doubles on each side). Kernels that reduce to a single tap after
 * the stride reduction (1x1, or kernel size == stride) get the exact norm.
 * `inputSize` is checked against the kernel but does not enter the bound.
 */
export function convSpectralNormBound(kernel: Tensor, inputSize: [number, number], options: ConvSpectralNormBoundOptions = {}): number {
  return Math.max(...spectralNormBoundPerGroup('convSpectralNormBound', kernel, inputSize, options));
}

/** convSpectralNormBound for each group's block of the (block-diagonal) operator. */
function spectralNormBoundPerGroup(fn: string, kernel: Tensor, inputSize: [number, number], options: ConvSpectralNormBoundOptions): number[] {
  checkKernel(fn, kernel);
  const geo = geometry(fn, kernel, inputSize, options);
  if (options.iterations !== undefined && !isPositiveInt(options.iterations)) {
    throw new RangeError(`${fn}: iterations must be a positive integer, got ${String(options.iterations)}`);
  }
  const maxBytes = options.maxBytes ?? 2 ** 32;
  if (!(typeof maxBytes === 'number' && maxBytes > 0)) throw new RangeError(`${fn}: maxBytes must be a positive number, got ${String(maxBytes)}`);
  return noGrad(() => scope(() => {
    const k = strideOneKernel(kernel, geo);
    const [g, co, ci, qh, qw] = k.shape;
    if (qh === 1 && qw === 1) {
      // No spatial coupling left: the operator is the matrix k[:, :, :, 0, 0] repeated at every position.
      return linalg.matrixNorm(k.reshape([g, co, ci]), 2).toFlatArray() as number[];
    }
    // Taps of (T T*)^(2^(j-1)) span 2^j (q - 1) + 1 positions per side; the
    // last iterate is the largest. Peak working set: the last taps (real)
    // plus two half spectra (complex).
    const c = Math.min(co, ci);
    const lastGrid = (n: number): [number, number] => [2 ** n * (qh - 1) + 1, 2 ** n * (qw - 1) + 1];
    const bytesFor = (n: number): number => {
      const [lh, lw] = lastGrid(n);
      return g * c * c * 8 * (lh * lw + 4 * lh * (Math.floor(lw / 2) + 1));
    };
    let iterations = options.iterations ?? 6;
    if (options.iterations === undefined) {
      const budget = Math.min(maxBytes, 2 ** 30);
      while (iterations > 1 && bytesFor(iterations) > budget) iterations--;
    }
    const bytes = bytesFor(iterations);
    if (!Number.isFinite(bytes) || bytes > maxBytes) {
      const last = lastGrid(iterations);
      throw new RangeError(`${fn}: ${iterations} iteration(s) on this ${co}x${ci}-channel kernel need about ${(bytes / 2 ** 30).toFixed(1)} GiB ` +
        `(a ${last[0]}x${last[1]} grid of ${c}x${c} matrices per group), over maxBytes = ${maxBytes}; use fewer iterations or raise maxBytes`);
    }
    const scale = 2 ** iterations;
    // Each iterate is kept as its taps, rescaled to unit Frobenius norm per
    // group: the true iterate is exp(logScale[g]) times them. Every product is
    // taken in the Fourier domain on a grid just large enough for the result,
    // so the circular products there are the exact (linear) ones. The kernel
    // is real, so all taps are real and half spectra (rfft2 / irfft2) suffice.
    // (Norms are floored so that an all-zero group gives 0 instead of 0/0.)
    const frob0 = linalg.vectorNorm(k, 2, [1, 2, 3, 4]).clampMin(1e-300); // [g]
    let logScale = frob0.log().mul(2);
    let size: [number, number] = [2 * qh - 1, 2 * qw - 1];
    const m = fft.rfft2(k.div(frob0.reshape([g, 1, 1, 1, 1])), size).permute([0, 3, 4, 1, 2]); // [g, H, W/2+1, co, ci]
    const mH = m.transpose(-2, -1).conj();
    // T T* (or T* T when that is smaller): taps at offsets -(q-1)..(q-1),
    // rolled to 0..2q-2 so that every later square stays inside its grid
    // (a shift changes neither norms nor absolute row sums).
    let taps = fft.irfft2(co <= ci ? m.matmul(mH) : mH.matmul(m), size, [1, 2]).roll([qh - 1, qw - 1], [1, 2]); // [g, H, W, c, c]
    for (let i = 1; i < iterations; i++) {
      const nu = linalg.vectorNorm(taps, 2, [1, 2, 3, 4]).clampMin(1e-300);
      logScale = logScale.add(nu.log()).mul(2);
      size = [2 * size[0] - 1, 2 * size[1] - 1];
      const spectrum = fft.rfft2(taps.div(nu.reshape([g, 1, 1, 1, 1])), size, [1, 2]);
      taps = fft.irfft2(spectrum.matmul(spectrum), size, [1, 2]);
    }
    // The last iterate is a self-adjoint convolution: its norm is at most its
    // largest absolute row sum (over input channels and taps).
    const rowSums = taps.abs().sum([1, 2, 4]).amax(1); // [g]
    const perGroup = logScale.add(rowSums.log()).div(scale).exp();
    return perGroup.toFlatArray() as number[];
  }));
}

// ---------------------------------------------------------------------------
// Layers

function layerOptions(fn: string, layer: ConvLayerLike, transposed: boolean | undefined): ConvOperatorOptions {
  if (layer === null || typeof layer !== 'object' || !(layer.weight instanceof Tensor)) {
    throw new TypeError(`${fn}: layer must have a \`weight\` Tensor`);
  }
  return { groups: layer.groups ?? 1, stride: layer.stride ?? 1, dilation: layer.dilation ?? 1, transposed: transposed ?? layer.transposed ?? false };
}

/**
 * Exact singular values of a convolution layer's linear part, taken as a
 * circular-padding convolution on `inputSize` inputs (what orthogonal
 * convolutions are orthogonal for). Reads `weight`, `groups`, `stride`,
 * `dilation` and `transposed` from the layer; `options.transposed` overrides
 * the latter (for ConvTranspose2d-like layers that carry no flag).
 */
export function layerSingularValues(layer: ConvLayerLike, inputSize: [number, number], options: { transposed?: boolean } = {}): ConvSingularValues {
  return convSingularValues(layer.weight, inputSize, layerOptions('layerSingularValues', layer, options.transposed));
}

/** convSpectralNormBound for a layer's weight, groups, stride and dilation (zero padding). */
export function layerSpectralNormBound(layer: ConvLayerLike, inputSize: [number, number],
  options: { transposed?: boolean; iterations?: number; maxBytes?: number } = {}): number {
  return convSpectralNormBound(layer.weight, inputSize, { ...layerOptions('layerSpectralNormBound', layer, options.transposed), iterations: options.iterations, maxBytes: options.maxBytes });
}

/** A layer as getConvSv reads it: ConvLayerLike plus the padding mode it uses. */
export interface ConvLayerWithPadding extends ConvLayerLike {
  /** 'circular' → exact singular values; 'zeros' (or absent) → Gram-iteration bound. */
  readonly paddingMode?: string;
  /** Present on transposed convolutions (ours and the AOC ones): marks the layer as transposed. */
  readonly outputPadding?: unknown;
}

export interface GetConvSvOptions {
  /**
   * Spatial input size the exact (circular) singular values are computed on.
   * Default: the kernel's (dilated) size rounded up to a multiple of the
   * stride (Orthogonium's default is the kernel size). A small grid samples
   * few DFT frequencies, so its largest value can be below the one of larger
   * inputs: give the real input size when it matters. Ignored by the bound.
   */
  inputSize?: number | [number, number];
  /** Override the layer's padding mode (layers without one are taken as zero-padded, like Conv2d). */
  paddingMode?: 'circular' | 'zeros';
  /** Override the transposed flag (by default: the layer's `transposed`, else whether it has `outputPadding`). */
  transposed?: boolean;
  /** Gram iterations of the zero-padding bound (see convSpectralNormBound). */
  iterations?: number;
  maxBytes?: number;
}

/** Per-group part of a getConvSv result (the operator is block diagonal over groups). */
export interface ConvGroupSv {
  /** Largest singular value (circular) or its guaranteed upper bound (zeros). */
  max: number;
  /** Smallest singular value (circular only; null for the zero-padding bound). */
  min: number | null;
  /** ||A_g||_F^2 / ||A_g||_2^2 on the inputSize grid (circular only, else null). */
  stableRank: number | null;
  /**
   * Stable rank as a fraction of full rank: ||K_g||_F^2 / (max^2 · min(out/g, in/g · sh · sw)),
   * from the kernel per output position — exact for circular padding; for zero padding,
   * with max an upper bound, a lower estimate.
   */
  normalizedStableRank: number;
}

export interface ConvLayerSv extends ConvGroupSv {
  /** 'exact' (circular padding, FFT) or 'bound' (zero padding, Gram iteration). */
  method: 'exact' | 'bound';
  /** The grid the exact values were computed on (the default or the given one). */
  inputSize: [number, number];
  /** One entry per group. */
  perGroup: ConvGroupSv[];
}

/**
 * Singular values of a convolution layer, choosing the method from its
 * padding mode as Orthogonium's get_conv_sv does: exact values for circular
 * padding (convSingularValues), a guaranteed upper bound of the largest for
 * zero padding (convSpectralNormBound). Reads weight, groups, stride,
 * dilation, paddingMode and transposed-ness from the layer.
 *
 * Differences from get_conv_sv, on purpose:
 * - groups are combined the way a block-diagonal operator's singular values
 *   are: max of the maxima, min of the minima, and the whole operator's
 *   stable ranks (Orthogonium multiplies the per-group maxima and averages
 *   the stable ranks); the per-group values are in `perGroup`;
 * - layers built from two kernels (BcopRkoConv2d) are measured on their
 *   composed `weight` with the real stride, which is exact, instead of
 *   multiplying the two factors' norms (an upper bound);
 * - `stableRank` is the classic ||A||_F^2 / ||A||_2^2 (as in
 *   convSingularValues) and `normalizedStableRank` Orthogonium's fraction of
 *   full rank; reflect / replicate padding are refused (as there).
 */
export function getConvSv(layer: ConvLayerWithPadding, options: GetConvSvOptions = {}): ConvLayerSv {
  const fn = 'getConvSv';
  const transposed = options.transposed ?? layer?.transposed ?? (layer !== null && typeof layer === 'object' && 'outputPadding' in layer);
  const op = layerOptions(fn, layer, transposed);
  const mode = options.paddingMode ?? layer.paddingMode ?? 'zeros';
  if (mode !== 'circular' && mode !== 'zeros') {
    throw new RangeError(`${fn}: padding mode '${mode}' is not supported (only 'circular', exact, and 'zeros', bounded): ` +
      'reflect and replicate padding have no convolution-operator spectrum to compute');
  }
  const kernel = checkKernel(fn, layer.weight);
  const stride = pairOption(fn, 'stride', op.stride, 1);
  const dilation = pairOption(fn, 'dilation', op.dilation, 1);
  let inputSize: [number, number];
  if (options.inputSize === undefined) {
    // Smallest grid (that the convolution reads) holding the dilated kernel and divisible by the stride.
    const extent = [0, 1].map((i) => dilation[i] * (kernel.shape[2 + i] - 1) + 1);
    const grid = extent.map((e, i) => Math.ceil(e / stride[i]) * stride[i]);
    inputSize = (transposed ? [grid[0] / stride[0], grid[1] / stride[1]] : grid) as [number, number];
  } else {
    inputSize = pairOption(fn, 'inputSize', options.inputSize, 1);
  }
  const groups = op.groups ?? 1;
  // Per output position: ||K_g||_F^2 and the full rank min(rows, columns) of one stride-reduced block.
  const [rows, cols] = [kernel.shape[0] / groups, kernel.shape[1] * stride[0] * stride[1]];
  const fullRank = Math.min(rows, cols);
  const frob = noGrad(() => scope(() => kernel.detach().to('float64').reshape([groups, -1]).square().sum(1).toFlatArray() as number[]));
  const normalized = (max: number, g: number): number => (max > 0 ? frob[g] / (max * max * fullRank) : 0);
  let perGroup: ConvGroupSv[];
  let whole: ConvGroupSv;
  if (mode === 'circular') {
    const sv = convSingularValues(kernel, inputSize, op);
    try {
      perGroup = noGrad(() => scope(() => {
        const v = sv.values.reshape([groups, -1]);
        const maxs = v.amax(1).toFlatArray() as number[];
        const mins = v.amin(1).toFlatArray() as number[];
        const sums = v.square().sum(1).toFlatArray() as number[];
        const count = v.shape[1];
        return maxs.map((max, g) => {
          const stableRank = max > 0 ? sums[g] / (max * max) : 0;
          return { max, min: mins[g], stableRank, normalizedStableRank: stableRank / count };
        });
      }));
    } finally {
      sv.values.dispose();
    }
    whole = { max: sv.max, min: sv.min, stableRank: sv.stableRank, normalizedStableRank: sv.normalizedStableRank };
  } else {
    const bounds = spectralNormBoundPerGroup(fn, kernel, inputSize, { ...op, iterations: options.iterations, maxBytes: options.maxBytes });
    perGroup = bounds.map((max, g) => ({ max, min: null, stableRank: null, normalizedStableRank: normalized(max, g) }));
    const max = Math.max(...bounds);
    const total = frob.reduce((a, b) => a + b, 0);
    whole = { max, min: null, stableRank: null, normalizedStableRank: max > 0 ? total / (max * max * fullRank * groups) : 0 };
  }
  return { method: mode === 'circular' ? 'exact' : 'bound', inputSize, ...whole, perGroup };
}

// ---------------------------------------------------------------------------
// Dense matrices of linear maps

/**
 * The dense float64 matrix A of the linear part of `forward` on inputs of
 * shape `inputShape`: column j is forward(e_j) - forward(0), flattened, so
 * that A @ x.flatten() = (forward(x) - forward(0)).flatten() (a bias is thus
 * left out). Meant for tests and for checking small layers: it costs one call
 * per input element (or per `batch` of them) and rows x columns memory.
 */
export function operatorMatrix(forward: (x: Tensor) => Tensor, inputShape: number[], options: OperatorMatrixOptions = {}): Tensor {
  const fn = 'operatorMatrix';
  if (typeof forward !== 'function') throw new TypeError(`${fn}: forward must be a function`);
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every(isPositiveInt)) {
    throw new RangeError(`${fn}: inputShape must be a non-empty list of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const batch = options.batch ?? 1;
  if (!isPositiveInt(batch)) throw new RangeError(`${fn}: batch must be a positive integer, got ${String(options.batch)}`);
  if (batch > 1 && inputShape[0] !== 1) {
    throw new RangeError(`${fn}: batch > 1 needs a leading batch dimension of 1 in inputShape, got [${inputShape.join(', ')}]`);
  }
  const dtype = options.dtype ?? 'float64';
  const device = options.device ?? 'cpu';
  const n = inputShape.reduce((a, b) => a * b, 1);
  const rest = inputShape.slice(1);
  return noGrad(() => scope(() => {
    const apply = (x: Tensor, what: string): Tensor => {
      const y = forward(x);
      if (!(y instanceof Tensor)) throw new TypeError(`${fn}: forward returned ${typeof y}, not a Tensor (${what})`);
      return y.to('float64');
    };
    const offset = apply(zeros(inputShape, { dtype, device }), 'at zero').reshape([-1]);
    const columns: Tensor[] = [];
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      columns.push(scope(() => {
        // Basis vectors start .. start+count-1 as the rows of a [count, n] block.
        const block = zeros([count, n], { dtype, device });
        block.diagonal(start, 0, 1).fill_(1);
        const y = apply(block.reshape(batch > 1 ? [count, ...rest] : inputShape), `basis vectors ${start}..${start + count - 1}`);
        if (y.numel() !== count * offset.numel()) {
          throw new RangeError(`${fn}: forward gave ${y.numel()} outputs for ${count} input(s) but ${offset.numel()} for one ` +
            '(at zero); with batch > 1 it must treat the leading dimension as a batch');
        }
        return y.reshape([count, -1]).sub(offset);
      }));
    }
    // Row j of the stack is the image of basis vector j: transpose into columns.
    return cat(columns, 0).transpose(0, 1).contiguous();
  }));
}

/** Singular values (decreasing, float64) of operatorMatrix(forward, inputShape, options). */
export function denseSingularValues(forward: (x: Tensor) => Tensor, inputShape: number[], options: OperatorMatrixOptions = {}): Tensor {
  return scope(() => linalg.svdvals(operatorMatrix(forward, inputShape, options)));
}
