// The Cayley layers of Trockman & Kolter, "Orthogonalizing Convolutional
// Layers with the Cayley Transform" (ICLR 2021), as Orthogonium keeps them in
// orthogonium.legacy.cayley_ortho_conv.
//
// Cayley transform. For a skew-Hermitian A, Q = (I + A)⁻¹(I − A) is unitary.
// For a tall m×n matrix W = [U; V] (U its top n×n block) the first n columns
// of the Cayley transform of the m×m skew-Hermitian matrix [[U − Uᴴ, −Vᴴ], [V, 0]]
// reduce, by a Schur complement, to
//   A = U − Uᴴ + VᴴV,   Q = [(I + A)⁻¹(I − A); −2V(I + A)⁻¹],
// an m×n matrix with orthonormal columns (only an n×n inverse is needed). A
// wide W is handled through its (plain, not conjugate) transpose, whose
// result then has orthonormal rows.
//
// Convolution. A circular convolution on h×w images is diagonalised by the 2-d
// DFT: at each frequency f it multiplies the channel vector x̂(f) by a
// cout×cin matrix Ŵ(f). The layer makes every Ŵ(f) unitary by a Cayley
// transform, so the whole operator is orthogonal. Ŵ(f) is the conjugated DFT
// of the kernel (the layer cross-correlates), multiplied by the phase that
// centres a k×k kernel at offset s = ⌊(k − 1)/2⌋ ('same' padding). The rfft's
// half spectrum suffices: the Cayley transform commutes with conjugation, so
// the matrices keep the Hermitian symmetry of the spectrum of a real kernel
// and the output is real. The matrices are scaled by α/‖Ŵ‖ (Frobenius norm
// over all frequencies) first, with α a learnt scale initialised to ‖Ŵ‖ at
// 32×32, so that the initial scale is the kernel's own.
import { F, Tensor, empty, eye, fft, fromTypedArray, cat, linalg, noGrad, scope, aten, isComplexDType } from '../../torch/index.js';
import type { DType } from '../../torch/index.js';
import { DerivedCache, Module, init } from '../../nn/index.js';
import { LegacyConv2dOptions, legacyInput, positiveInteger, resolveLegacyConv } from './common.js';

/**
 * Cayley transform of a real or complex matrix, or of a batch of them
 * [..., m, n]: an m×n matrix with orthonormal columns when m ≥ n, orthonormal
 * rows when m < n (see the file's header). Differentiable.
 */
export function cayleyTransform(w: Tensor): Tensor {
  if (!(w instanceof Tensor) || w.ndim < 2) throw new RangeError('cayleyTransform: expected a matrix or a batch of matrices [..., m, n]');
  const m = w.shape[w.ndim - 2];
  const n = w.shape[w.ndim - 1];
  if (n > m) return scope(() => cayleyTransform(w.mT).mT);
  return scope(() => {
    const adjoint = (t: Tensor): Tensor => (isComplexDType(t.dtype) ? t.mT.conj() : t.mT);
    const u = w.narrow(-2, 0, n);
    const v = w.narrow(-2, n, m - n);
    const identity = eye(n, n, { dtype: w.dtype, device: w.device });
    const a = u.sub(adjoint(u)).add(adjoint(v).matmul(v));
    const inverse = linalg.inv(identity.add(a));
    return cat([inverse.matmul(identity.sub(a)), v.matmul(inverse).mul(-2)], -2);
  });
}

/** The complex dtype of a real one's spectrum. */
const complexOf = (dtype: DType): DType => (dtype === 'float64' ? 'complex128' : 'complex64');

/**
 * exp(−2πi·s·(r/h + c/w)) for the rfft2 frequencies (r, c) of an h×w image,
 * r < h, c ≤ w/2, as [h·(⌊w/2⌋ + 1), 1, 1]: the phase that moves a kernel
 * stored at the top-left corner to offset s. Computed in double precision
 * (the integer products are reduced modulo h and w first).
 */
function centringPhases(h: number, w: number, s: number, dtype: DType, device: string): Tensor {
  const wf = Math.floor(w / 2) + 1;
  const re = new Float64Array(h * wf);
  const im = new Float64Array(h * wf);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < wf; c++) {
      const turns = ((s * r) % h) / h + ((s * c) % w) / w;
      re[r * wf + c] = Math.cos(-2 * Math.PI * turns);
      im[r * wf + c] = Math.sin(-2 * Math.PI * turns);
    }
  }
  return scope(() => {
    const real = dtype === 'float64' ? 'float64' : 'float32';
    const parts = [re, im].map((data) => fromTypedArray(data, [h * wf, 1, 1]).to({ dtype: real, device }));
    return aten('complex', parts[0], parts[1]) as Tensor;
  });
}

/** One DerivedCache per input size (the frequency matrices depend on it). */
class PerSizeCache {
  private readonly caches = new Map<string, DerivedCache>();
  constructor(private readonly owner: Module) {}

  get(key: string, compute: () => Tensor): Tensor {
    let cache = this.caches.get(key);
    if (!cache) {
      cache = new DerivedCache(this.owner);
      this.caches.set(key, cache);
    }
    return cache.get(compute);
  }

  clear(): void {
    for (const cache of this.caches.values()) cache.clear();
    this.caches.clear();
  }
}

export type CayleyOptions = LegacyConv2dOptions;

/**
 * Trockman & Kolter's orthogonal convolution (Orthogonium's legacy `Cayley`):
 * circular, 'same' size, exactly orthogonal (orthonormal rows or columns when
 * the channel counts differ) on any input size ≥ the kernel. Stride 2 is
 * emulated as the legacy StridedConv does: space-to-depth on the input, then
 * a kernel of max(1, ⌊kernelSize/2⌋) on 4·inChannels channels.
 *
 * Parameters: `weight` [out, convInChannels, k', k'] and `bias` (PyTorch's
 * Conv2d initialisation), and the scale `alpha` (a scalar). Differences with
 * the legacy code: rectangular inputs are accepted (the phase uses h and w
 * separately; for square inputs it is theirs), the phases are computed in the
 * weight's precision (theirs are complex64 whatever the weight), a different
 * input size after the first call is handled (theirs keeps the first size's
 * phases), and in evaluation the frequency matrices are cached per input
 * size until the parameters change.
 */
export class Cayley extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  /** The requested kernel size. */
  readonly kernelSize: number;
  readonly stride: 1 | 2;
  /** Channels and kernel size of the stride-1 convolution (4·inChannels and max(1, ⌊kernelSize/2⌋) for stride 2). */
  readonly convInChannels: number;
  readonly convKernelSize: number;
  readonly bias: Tensor | null;
  private readonly responses = this.registerCache(new PerSizeCache(this));

  constructor(options: CayleyOptions) {
    super();
    const s = resolveLegacyConv('Cayley', options, false);
    this.inChannels = s.inChannels;
    this.outChannels = s.outChannels;
    this.kernelSize = s.kernelSize;
    this.stride = s.stride;
    this.convInChannels = s.convInChannels;
    this.convKernelSize = s.stride === 2 ? Math.max(1, Math.floor(s.kernelSize / 2)) : s.kernelSize;
    const k = this.convKernelSize;
    // PyTorch's Conv2d initialisation: U(±1/√fanIn) for weight and bias.
    const weight = init.kaimingUniform_(empty([s.outChannels, s.convInChannels, k, k]), { a: Math.sqrt(5) });
    this.registerParameter('weight', weight);
    const bound = 1 / Math.sqrt(s.convInChannels * k * k);
    this.bias = s.bias ? this.registerParameter('bias', init.uniform_(empty([s.outChannels]), -bound, bound)) : null;
    // α starts at the norm of the kernel's spectrum on 32×32 images.
    const alpha = noGrad(() => scope(() => linalg.vectorNorm(fft.rfft2(weight, [32, 32])).reshape([])));
    this.registerParameter('alpha', alpha);
  }

  get weight(): Tensor { return this.getParameter('weight')!; }
  get alpha(): Tensor { return this.getParameter('alpha')!; }

  /**
   * The unitary matrices the layer applies at each frequency of an h×w
   * (after space-to-depth) input: [h·(⌊w/2⌋ + 1), out, convInChannels],
   * complex, rows ordered by (r, c) of rfft2's output.
   */
  frequencyMatrices(h: number, w: number): Tensor {
    positiveInteger('Cayley.frequencyMatrices', 'h', h);
    positiveInteger('Cayley.frequencyMatrices', 'w', w);
    return scope(() => {
      const weight = this.weight;
      const frequencies = h * (Math.floor(w / 2) + 1);
      const shift = (this.convKernelSize - 1) >> 1;
      const phases = centringPhases(h, w, shift, weight.dtype, weight.device);
      const spectrum = fft.rfft2(weight, [h, w]).reshape([this.outChannels, this.convInChannels, frequencies]).permute(2, 0, 1)
        .conj().mul(phases);
      const scale = this.alpha.div(linalg.vectorNorm(spectrum));
      return cayleyTransform(spectrum.mul(scale));
    });
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      let input = legacyInput('Cayley', x, this.inChannels, this.stride);
      const [batch, channels, h, w] = input.shape;
      if (h < this.convKernelSize || w < this.convKernelSize) {
        throw new RangeError(`Cayley: the input (${h}×${w}${this.stride === 2 ? ' after space-to-depth' : ''}) is smaller than the kernel (${this.convKernelSize})`);
      }
      // The transforms run in the weight's precision (an input in another floating dtype, e.g. under autocast, is cast).
      if (input.dtype !== this.weight.dtype) input = input.to(this.weight.dtype);
      const wf = Math.floor(w / 2) + 1;
      const q = this.responses.get(`${h}x${w}`, () => this.frequencyMatrices(h, w));
      const xf = fft.rfft2(input).permute(2, 3, 1, 0).reshape([h * wf, channels, batch]);
      const yf = q.matmul(xf).reshape([h, wf, this.outChannels, batch]).permute(3, 2, 0, 1);
      const y = fft.irfft2(yf, [h, w]);
      return this.bias ? y.add(this.bias.view(1, -1, 1, 1)) : y;
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, bias=${this.bias !== null}`;
  }
}

export interface CayleyLinearOptions { bias?: boolean }

/**
 * Orthogonium's legacy `CayleyLinear`: y = Q x + b with Q the Cayley
 * transform of α·W/‖W‖F (orthonormal columns, or rows when in > out).
 * Inputs are flattened to [N, inFeatures] as in the legacy layer. Parameters
 * `weight` [out, in] and `bias`, both U(±1/√in), and the scalar `alpha`,
 * initialised to ‖W‖F. Q is recomputed at every training step and cached in
 * evaluation (detached, as the legacy layer does) until the parameters change
 * (the legacy layer keeps the last training step's Q, stale by one optimizer step).
 */
export class CayleyLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: Tensor | null;
  private readonly qCache = this.registerCache(new DerivedCache(this));

  constructor(inFeatures: number, outFeatures: number, options: CayleyLinearOptions = {}) {
    super();
    this.inFeatures = positiveInteger('CayleyLinear', 'inFeatures', inFeatures);
    this.outFeatures = positiveInteger('CayleyLinear', 'outFeatures', outFeatures);
    const bound = 1 / Math.sqrt(inFeatures);
    const weight = this.registerParameter('weight', init.uniform_(empty([outFeatures, inFeatures]), -bound, bound));
    this.bias = options.bias ?? true ? this.registerParameter('bias', init.uniform_(empty([outFeatures]), -bound, bound)) : null;
    this.registerParameter('alpha', noGrad(() => weight.norm()));
  }

  get weight(): Tensor { return this.getParameter('weight')!; }
  get alpha(): Tensor { return this.getParameter('alpha')!; }

  /** The orthogonal matrix the layer applies, [out, in]. */
  get Q(): Tensor {
    return this.qCache.get(() => scope(() => cayleyTransform(this.weight.mul(this.alpha.div(this.weight.norm())))));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      if (x.ndim < 1) throw new RangeError('CayleyLinear: expected an input [N, …]');
      const batch = x.shape[0];
      const features = x.numel() / Math.max(batch, 1);
      if (features !== this.inFeatures) {
        throw new RangeError(`CayleyLinear(${this.inFeatures} → ${this.outFeatures}): input [${x.shape.join(', ')}] has ${features} features per sample, expected ${this.inFeatures}`);
      }
      return F.linear(x.reshape([batch, this.inFeatures]), this.Q, this.bias);
    });
  }

  override extraRepr(): string { return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`; }
}
