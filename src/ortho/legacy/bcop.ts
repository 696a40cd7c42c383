// Block Convolutional Orthogonal Parametrization (BCOP) of Li et al.,
// "Preventing Gradient Attenuation in Lipschitz Constrained Convolutional
// Networks" (NeurIPS 2019), in the form of their original code, which
// Orthogonium keeps as orthogonium.legacy.block_ortho_conv.BCOP.
//
// Construction (Xiao et al.'s block convolutions). For a symmetric projector
// P (P = P² = Pᵀ), the 2×2 kernel with taps
//   [[P·Q, P·(I − Q)], [(I − P)·Q, (I − P)·(I − Q)]]
// is an orthogonal circular convolution. A k×k kernel is the composition
// (matrix-valued 2-d convolution of the taps) of k − 1 such blocks, then
// multiplied on the left by a matrix H with orthonormal rows, which makes the
// whole operator orthogonal (or row/column-orthonormal when in ≠ out).
//
// Parametrization, as the legacy code does it: 2k − 1 unconstrained square
// matrices of size c = max(in·stride², out) are made orthogonal by Björck
// iterations (after scaling each by its largest singular value, from 20 power
// iterations from a random start, without gradient). The first gives H (its
// top-left in×out block, in = in·stride²); each of the others keeps its first
// ⌊c/2⌋ columns M (the `mask`) and gives the projector P = M·Mᵀ of rank ⌊c/2⌋.
//
// The layer pads circularly by k//2 on every side and cross-correlates with
// the kernel (hence odd kernels only), after a space-to-depth rearrangement
// for stride 2. Note the kernel's layout: the legacy code stores tap (i, j) of
// the composition at spatial position (j, i), with channels as [in, out] in
// the tap matrices (transposed into the kernel's [out, in]) unless in > out.
// It is reproduced exactly, so weights carry over.
import { F, Tensor, empty, linalg, noGrad, ones, randn, scope, zeros, cat } from '../../torch/index.js';
import { DerivedCache, Module, init } from '../../nn/index.js';
import { blockOrthKernels, composeKernels } from '../conv/kernel-ops.js';
import { LegacyConv2dOptions, legacyInput, resolveLegacyConv } from './common.js';

export interface BCOPOptions extends LegacyConv2dOptions {
  /** Björck's β (default 0.5). */
  bjorckBeta?: number;
  /** Björck iterations (default 12). */
  bjorckIters?: number;
  /** Only 1 (first-order Björck), as in the legacy code. */
  bjorckOrder?: number;
  /**
   * Scale each matrix by its largest singular value before Björck (default
   * true); false scales all by 1/√((2k − 1)·c), the legacy "default scaling".
   */
  powerIterationScaling?: boolean;
}

/**
 * Largest singular value of each matrix of a batch [..., m, n] by power
 * iteration from a random start, without gradient (the legacy code's
 * scaling before Björck). `start` [..., m, 1] replaces the random start.
 */
export function legacyPowerIteration(a: Tensor, iterations = 20, start?: Tensor): Tensor {
  return noGrad(() => scope(() => {
    const m = a.shape[a.ndim - 2];
    const batch = a.shape.slice(0, -2);
    let u = start ?? randn([...batch, m, 1], { dtype: a.dtype, device: a.device });
    let v = u;
    const mT = a.mT;
    for (let i = 0; i < iterations; i++) {
      v = mT.matmul(u);
      v = v.div(v.norm(2, -2, true));
      u = a.matmul(v);
      u = u.div(u.norm(2, -2, true));
    }
    return u.mT.matmul(a).matmul(v).reshape(batch);
  }));
}

/** First-order Björck iterations w ← (1 + β)w − β·w wᵀw on a batch of square matrices (fused natively on CPU). */
function bjorck(w: Tensor, beta: number, iterations: number): Tensor {
  if (w.device === 'cpu' && (w.dtype === 'float32' || w.dtype === 'float64')) return linalg.bjorckOrthogonalize(w, { beta, iterations });
  return scope(() => {
    let x = w;
    for (let i = 0; i < iterations; i++) x = x.mul(1 + beta).sub(x.matmul(x.mT.matmul(x)), beta);
    return x;
  });
}

/**
 * Orthogonium's legacy `BCOP` (Li et al.'s code): an orthogonal k×k
 * convolution with circular padding, stride 1 or 2 (space-to-depth).
 * State: parameter `conv_matrices` [2k − 1, c, c] (orthogonal at
 * initialization), buffer `mask` [2k − 2, 1, c] (ones on the first ⌊c/2⌋
 * columns; a frozen parameter in the legacy layer) and parameter `bias`
 * (U(±1/√out)): the legacy state-dict names.
 *
 * `weight` is the explicit kernel [out, in·stride², k, k]; it is recomputed at
 * every training step and cached in evaluation until the parameters change
 * (the legacy layer keeps the last training step's kernel instead).
 * Differences with the legacy code: even kernels are refused (its padding of
 * k//2 on both sides grows the output by one row and column, which repeat
 * the first ones, so the layer is neither orthogonal nor 1-Lipschitz).
 */
export class BCOP extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: 1 | 2;
  readonly convInChannels: number;
  readonly maxChannels: number;
  readonly numKernels: number;
  readonly bjorckBeta: number;
  readonly bjorckIters: number;
  readonly powerIterationScaling: boolean;
  readonly bias: Tensor | null;
  private readonly kernelCache = this.registerCache(new DerivedCache(this));

  constructor(options: BCOPOptions) {
    super();
    const s = resolveLegacyConv('BCOP', options, true);
    this.inChannels = s.inChannels;
    this.outChannels = s.outChannels;
    this.kernelSize = s.kernelSize;
    this.stride = s.stride;
    this.convInChannels = s.convInChannels;
    this.maxChannels = Math.max(s.convInChannels, s.outChannels);
    this.numKernels = 2 * s.kernelSize - 1;
    this.bjorckBeta = options.bjorckBeta ?? 0.5;
    if (typeof this.bjorckBeta !== 'number' || !Number.isFinite(this.bjorckBeta)) throw new RangeError(`BCOP: bjorckBeta must be a number, got ${JSON.stringify(this.bjorckBeta)}`);
    this.bjorckIters = options.bjorckIters ?? 12;
    if (!Number.isInteger(this.bjorckIters) || this.bjorckIters < 0) throw new RangeError(`BCOP: bjorckIters must be an integer ≥ 0, got ${JSON.stringify(this.bjorckIters)}`);
    if ((options.bjorckOrder ?? 1) !== 1) throw new RangeError(`BCOP: only first-order Björck is supported (bjorckOrder 1), got ${JSON.stringify(options.bjorckOrder)}`);
    this.powerIterationScaling = options.powerIterationScaling ?? true;

    const c = this.maxChannels;
    const matrices = empty([this.numKernels, c, c]);
    for (let i = 0; i < this.numKernels; i++) init.orthogonal_(matrices.select(0, i));
    this.registerParameter('conv_matrices', matrices);
    const bound = 1 / Math.sqrt(s.outChannels);
    this.bias = s.bias ? this.registerParameter('bias', init.uniform_(empty([s.outChannels]), -bound, bound)) : null;
    const half = Math.floor(c / 2);
    this.registerBuffer('mask', scope(() => cat([ones([this.numKernels - 1, 1, half]), zeros([this.numKernels - 1, 1, c - half])], -1)));
  }

  /** The explicit kernel [out, in·stride², k, k]. */
  get weight(): Tensor {
    return this.kernelCache.get(() => this.computeKernel());
  }

  private computeKernel(): Tensor {
    return scope(() => {
      const raw = this.getParameter('conv_matrices')!;
      const c = this.maxChannels;
      const k = this.kernelSize;
      const cin = this.convInChannels;
      const cout = this.outChannels;
      const scaled = this.powerIterationScaling
        ? raw.div(legacyPowerIteration(raw).view(this.numKernels, 1, 1))
        : raw.div(Math.sqrt(this.numKernels * c));
      const ortho = bjorck(scaled, this.bjorckBeta, this.bjorckIters);
      const h = ortho.select(0, 0).narrow(0, 0, cin).narrow(1, 0, cout); // [in, out]
      if (k === 1) return h.mT.reshape([cout, cin, 1, 1]);
      const columns = ortho.narrow(0, 1, this.numKernels - 1).mul(this.getBuffer('mask')!);
      const projectors = columns.matmul(columns.mT); // [2k − 2, c, c]
      // The k − 1 blocks from the projector pairs (0, 1), (2, 3), …, each [c, c, 2, 2] with tap (i, j) at [:, :, i, j].
      const pairs = projectors.view(k - 1, 2, c, c);
      const blocks = blockOrthKernels(pairs.select(1, 0).unsqueeze(0), pairs.select(1, 1).unsqueeze(0));
      // Taps of B₀ ⊛ B₁ ⊛ … (matrix products, left to right): composing "B_t after the product so far" multiplies it on the right.
      let taps = blocks.select(0, 0);
      for (let t = 1; t < k - 1; t++) taps = composeKernels(blocks.select(0, t), taps);
      const flipped = cin > cout;
      const left = flipped ? h.mT : h; // [min, max]
      const product = left.matmul(taps.permute(2, 3, 0, 1)); // tap (i, j) at [i, j]: [k, k, min, max]
      // The legacy layout: kernel[o, i, y, x] = tap(x, y)[i, o], or tap(x, y)[o, i] when in > out.
      return (flipped ? product.permute(2, 3, 1, 0) : product.permute(3, 2, 1, 0)).contiguous();
    });
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const input = legacyInput('BCOP', x, this.inChannels, this.stride);
      const p = this.kernelSize >> 1;
      const padded = p > 0 ? F.pad(input, [p, p, p, p], 'circular') : input;
      return F.conv2d(padded, this.weight, { bias: this.bias });
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, bias=${this.bias !== null}`;
  }
}
