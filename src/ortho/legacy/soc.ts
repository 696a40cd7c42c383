// The skew orthogonal convolution of Singla & Feizi, "Skew Orthogonal
// Convolutions" (ICML 2021), in the form of their original code, which
// Orthogonium keeps as orthogonium.legacy.skew_ortho_conv.SOC.
//
// A convolution L with kernel A is skew-symmetric (Lᵀ = −L) when A equals
// minus its "transposed filter" (channels swapped, kernel flipped): with zero
// padding of k//2 the adjoint of a convolution is the convolution with the
// transposed filter, so S = (A − Aᵀ)/2 gives a skew-symmetric operator and
// exp(S) is orthogonal. The layer applies exp(S) to its input as the Taylor
// series x + Sx + S²x/2! + … (terms applied one convolution at a time,
// `trainTerms` in training and `evalTerms` in evaluation).
//
// Scaling. Before exponentiating, S is divided by σ, the smallest of four
// spectral norms of reshapings of its kernel (Singla & Feizi's "Fantastic
// Four" bounds, tracked by power iteration on persistent vectors u1…u4,
// v1…v4), and multiplied by `correction` (0.7, 1 for 1×1 kernels). The
// reshapings' norms bound ‖S‖ only up to a factor √(k·k), so ‖S‖ ≤ 1 is not
// guaranteed; the correction is the authors' empirical compromise. Exactness
// therefore rests on the number of terms: the truncation error on an
// eigenvalue iθ is about |θ|^(n+1)/(n+1)!, negligible with the 12 terms of
// evaluation for the norms met in practice, not with the 5 of training.
//
// Channels. The operator acts on max(in·stride², out) channels: a smaller
// input is padded with zero channels, a larger output is cut to `out`
// channels, so the layer has orthonormal columns (rows) when out > in (out < in).
// Stride 2 is a space-to-depth rearrangement of the input first.
import { F, Tensor, empty, noGrad, randn, scope, tensor } from '../../torch/index.js';
import { Module, init } from '../../nn/index.js';
import { transposeKernel } from '../conv/kernel-ops.js';
import { LegacyConv2dOptions, legacyInput, positiveInteger, resolveLegacyConv } from './common.js';

export interface SOCOptions extends Omit<LegacyConv2dOptions, 'kernelSize'> {
  /** Odd (default 3). */
  kernelSize?: number;
  /** Taylor terms after the identity in training (default 5). */
  trainTerms?: number;
  /** Taylor terms after the identity in evaluation (default 12). */
  evalTerms?: number;
  /** Power iterations at construction and every `updateFreq` training steps (default 50). */
  initIters?: number;
  /** Power iterations at the other training steps (default 1; none in evaluation). */
  updateIters?: number;
  /** Default 200. */
  updateFreq?: number;
  /** Factor applied to S/σ (default 0.7, or 1 for kernelSize 1). */
  correction?: number;
}

/** The four (u, v) pairs: each u·v broadcasts to the kernel's shape [c, c, k, k]; these are the dims each is summed over. */
const PAIRS: { u: string; v: string; sumForV: number[]; sumForU: number[] }[] = [
  { u: 'u1', v: 'v1', sumForV: [1, 3], sumForU: [0, 2] },
  { u: 'u2', v: 'v2', sumForV: [1, 2], sumForU: [0, 3] },
  { u: 'u3', v: 'v3', sumForV: [1, 2, 3], sumForU: [0] },
  { u: 'u4', v: 'v4', sumForV: [0, 2, 3], sumForU: [1] },
];

const unitNorm = (t: Tensor): Tensor => t.div(t.norm().clampMin(1e-12));

/**
 * Orthogonium's legacy `SOC` (Singla & Feizi's code): exp(S) of a
 * skew-symmetric convolution S, zero padding, stride 1 or 2 (space-to-depth).
 * State: parameters `unconstrained_conv_filter` [c, c, k, k] (c =
 * max(in·stride², out), N(0, 1/c)) and `bias` (U(±1/√out)); buffers
 * u1, v1, …, u4, v4 (the power-iteration vectors) and `correction`, the
 * legacy layer's state-dict names (there the vectors are frozen parameters).
 *
 * Differences with the legacy code: the vectors' first power iterations run
 * on the initial kernel (the legacy layer runs them on a kernel it then
 * redraws, so it is only right after its first training step), vectors are
 * normalised in their own precision (the legacy code takes the norm in
 * float32), and an explicit `correction` is kept for 1×1 kernels (the legacy
 * layer always uses 1 there; it remains the default).
 */
export class SOC extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: 1 | 2;
  /** in·stride²: the channels after space-to-depth. */
  readonly convInChannels: number;
  readonly maxChannels: number;
  readonly trainTerms: number;
  readonly evalTerms: number;
  readonly initIters: number;
  readonly updateIters: number;
  readonly updateFreq: number;
  readonly bias: Tensor | null;
  /** Training forwards so far (the schedule of the power iterations). */
  totalIters = 0;

  constructor(options: SOCOptions) {
    super();
    const s = resolveLegacyConv('SOC', { ...options, kernelSize: options?.kernelSize ?? 3 }, true);
    this.inChannels = s.inChannels;
    this.outChannels = s.outChannels;
    this.kernelSize = s.kernelSize;
    this.stride = s.stride;
    this.convInChannels = s.convInChannels;
    this.maxChannels = Math.max(s.convInChannels, s.outChannels);
    const count = (name: keyof SOCOptions, fallback: number, min: number): number => {
      const v = options[name] ?? fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`SOC: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
      return v;
    };
    this.trainTerms = count('trainTerms', 5, 1);
    this.evalTerms = count('evalTerms', 12, 1);
    this.initIters = count('initIters', 50, 0);
    this.updateIters = count('updateIters', 1, 0);
    this.updateFreq = positiveInteger('SOC', 'updateFreq', options.updateFreq ?? 200);
    const correction = options.correction ?? (s.kernelSize === 1 ? 1 : 0.7);
    if (typeof correction !== 'number' || !(correction > 0) || !Number.isFinite(correction)) {
      throw new RangeError(`SOC: correction must be a positive number, got ${JSON.stringify(correction)}`);
    }

    const c = this.maxChannels;
    const k = s.kernelSize;
    this.registerParameter('unconstrained_conv_filter', init.normal_(empty([c, c, k, k]), 0, 1 / Math.sqrt(c)));
    const bound = 1 / Math.sqrt(s.outChannels);
    this.bias = s.bias ? this.registerParameter('bias', init.uniform_(empty([s.outChannels]), -bound, bound)) : null;
    const shapes: Record<string, number[]> = {
      u1: [1, c, 1, k], v1: [c, 1, k, 1], u2: [1, c, k, 1], v2: [c, 1, 1, k],
      u3: [1, c, k, k], v3: [c, 1, 1, 1], u4: [c, 1, k, k], v4: [1, c, 1, 1],
    };
    for (const p of PAIRS) {
      for (const name of [p.u, p.v]) this.registerBuffer(name, noGrad(() => scope(() => unitNorm(randn(shapes[name])))));
    }
    this.registerBuffer('correction', tensor([correction]));
    noGrad(() => scope(() => this.powerIterations(this.skewKernel(), this.initIters)));
  }

  /** S's kernel: (A − Aᵀ)/2, Aᵀ the transposed filter (channels swapped, flipped). */
  skewKernel(): Tensor {
    return scope(() => {
      const a = this.getParameter('unconstrained_conv_filter')!;
      return a.sub(transposeKernel(a, 1, true)).mul(0.5);
    });
  }

  private powerIterations(skew: Tensor, iterations: number): void {
    if (iterations === 0) return;
    noGrad(() => scope(() => {
      const kernel = skew.detach();
      const current = new Map(PAIRS.flatMap((p) => [p.u, p.v]).map((name) => [name, this.getBuffer(name)!]));
      for (let i = 0; i < iterations; i++) {
        for (const p of PAIRS) {
          current.set(p.v, unitNorm(kernel.mul(current.get(p.u)!).sum(p.sumForV, { keepdim: true })));
          current.set(p.u, unitNorm(kernel.mul(current.get(p.v)!).sum(p.sumForU, { keepdim: true })));
        }
      }
      for (const [name, value] of current) this.getBuffer(name)!.copy_(value);
    }));
  }

  /**
   * σ: the smallest of the four bounds Σ kernel·uᵢ·vᵢ, differentiable in the
   * kernel. In training, first refines the vectors (updateIters power
   * iterations, or initIters every updateFreq steps) and counts the step.
   */
  spectralBound(skew: Tensor): Tensor {
    if (this.training) {
      const iterations = this.totalIters % this.updateFreq === 0 ? this.initIters : this.updateIters;
      this.totalIters++;
      this.powerIterations(skew, iterations);
    }
    // u·v first: the graph then holds that product, not the buffers a later training step refines in place.
    return scope(() => PAIRS.map((p) => skew.mul(this.getBuffer(p.u)!.mul(this.getBuffer(p.v)!)).sum())
      .reduce((a, b) => a.minimum(b)));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      let input = legacyInput('SOC', x, this.inChannels, this.stride);
      const skew = this.skewKernel();
      const kernel = skew.mul(this.getBuffer('correction')!).div(this.spectralBound(skew));
      if (this.outChannels > this.convInChannels) input = F.pad(input, [0, 0, 0, 0, 0, this.outChannels - this.convInChannels]);
      const terms = this.training ? this.trainTerms : this.evalTerms;
      const padding = this.kernelSize >> 1;
      let term = input;
      let sum = input;
      for (let i = 1; i <= terms; i++) {
        term = F.conv2d(term, kernel, { padding }).div(i);
        sum = sum.add(term);
      }
      if (this.outChannels < this.convInChannels) sum = sum.narrow(1, 0, this.outChannels);
      return this.bias ? sum.add(this.bias.view(1, -1, 1, 1)) : sum;
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, trainTerms=${this.trainTerms}, ` +
      `evalTerms=${this.evalTerms}, bias=${this.bias !== null}`;
  }
}
