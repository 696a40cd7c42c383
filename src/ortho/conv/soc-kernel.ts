// The kernel of a skew orthogonal convolution (SOC, Singla & Feizi 2021, in
// the explicit-kernel form of Orthogonium's Adaptive-SOC): a raw kernel A is
// made skew-symmetric as an operator (S = A − Aᵀ, the adjoint taken as the
// channel-transposed, spatially flipped kernel), rescaled so that ‖S‖ ≤ 1,
// and exponentiated. exp(S) is orthogonal when S is skew-symmetric; it is
// computed as the truncated Taylor series I + S + S²/2! + … + Sⁿ/n!, where
// each power of a convolution is itself a convolution whose kernel is the
// composition of the kernels. The result is one explicit kernel of size
// n·(k − 1) + 1, so the layer runs as a single plain convolution.
//
// Truncation: for a skew-symmetric S with ‖S‖ ≤ 1 (eigenvalues iθ, |θ| ≤ 1)
// the truncated series p(S) is normal with singular values |p(iθ)|. See
// socTruncationBounds for the interval they lie in (for n = 3: [0.9718, 1]).
import { F, Tensor, empty, eye, ones, scope } from '../../torch/index.js';
import { Module, Parametrization, init, registerParametrization } from '../../nn/index.js';
import { aolRowDivisors } from '../aol.js';
import { composeKernels, transposeKernel } from './kernel-ops.js';

/** Parameters of the convolution exponential (Orthogonium's ExpParams). */
export interface ExpParams {
  /** Number of Taylor terms after the identity (default 3); the kernel grows to expNiter·(k − 1) + 1. */
  expNiter?: number;
}

export const DEFAULT_EXP_PARAMS: Readonly<Required<ExpParams>> = { expNiter: 3 };

export function resolveExpParams(layer: string, p: ExpParams | undefined): Required<ExpParams> {
  const expNiter = p?.expNiter ?? DEFAULT_EXP_PARAMS.expNiter;
  if (!Number.isInteger(expNiter) || expNiter < 1) throw new RangeError(`${layer}: expParams.expNiter must be an integer ≥ 1, got ${expNiter}`);
  return { expNiter };
}

/** Size of the explicit kernel an exponential of a k×k kernel with expNiter terms has. */
export const socKernelSize = (kernelSize: number, expNiter: number): number => expNiter * (kernelSize - 1) + 1;

/**
 * Interval [min, max] of |p(iθ)| for |θ| ≤ 1, p the Taylor polynomial of exp
 * of degree expNiter: the singular values of the truncated exponential of a
 * skew-symmetric operator of norm ≤ 1 lie in it (max is 1 for expNiter 3, 4,
 * 7, 8, …, above 1 for the others: an even count of terms overshoots).
 */
export function socTruncationBounds(expNiter: number, samples = 2001): { min: number; max: number } {
  let min = Infinity;
  let max = 0;
  for (let s = 0; s < samples; s++) {
    const theta = s / (samples - 1);
    let re = 0;
    let im = 0;
    let term = 1; // θ^j / j!
    for (let j = 0; j <= expNiter; j++) {
      if (j > 0) term *= theta / j;
      // i^j cycles through 1, i, −1, −i.
      const r = j % 4;
      if (r === 0) re += term; else if (r === 1) im += term; else if (r === 2) re -= term; else im -= term;
    }
    const m = Math.hypot(re, im);
    min = Math.min(min, m);
    max = Math.max(max, m);
  }
  return { min, max };
}

/** S = A − Aᵀ as convolution operators: A minus its flipped channel-transpose ([c, c/g, k, k], k odd). */
export class SkewKernel extends Parametrization {
  constructor(readonly groups: number) { super(); }

  forward(kernel: Tensor): Tensor {
    return scope(() => kernel.sub(transposeKernel(kernel, this.groups, true)));
  }

  override rightInverse(kernel: Tensor): Tensor { return kernel.clone(); }

  override extraRepr(): string { return `groups=${this.groups}`; }
}

/**
 * Bounds ‖S‖ by 1 with AOL's Schur-test divisors t (one per channel, from the
 * Gram kernel of S; `q` are its log-weights, [c, 1, 1, 1], starting at 1).
 *
 * Deviation from Orthogonium: it divides the rows by t (D·S, D = diag(1/t)),
 * which is no longer skew-symmetric when t varies over channels, so its
 * exponential is not orthogonal (and not even bounded by 1: exp(D·S) =
 * D^½ exp(D^½ S D^½) D^−½). Here rows and columns are both divided by √t:
 * D^½ S D^½ stays skew-symmetric, and, being normal, its norm is its spectral
 * radius, that of D·S, which AOL bounds by ‖D·S‖ ≤ 1.
 */
export class SkewAOLRescale extends Parametrization {
  constructor(readonly nbFeatures: number, readonly groups: number) {
    super();
    if (nbFeatures % groups !== 0) throw new RangeError(`SkewAOLRescale: nbFeatures (${nbFeatures}) must be divisible by groups (${groups})`);
    this.registerParameter('q', ones([nbFeatures, 1, 1, 1]));
  }

  get q(): Tensor { return this.getParameter('q')!; }

  forward(kernel: Tensor): Tensor {
    const [c, perGroup] = kernel.shape;
    if (c !== this.nbFeatures) throw new RangeError(`SkewAOLRescale: kernel has ${c} output channels, expected ${this.nbFeatures}`);
    return scope(() => {
      const root = aolRowDivisors(kernel, this.groups, this.q).rsqrt(); // 1/√t per channel
      const rows = root.view(c, 1, 1, 1);
      // Column j of group g is channel g·perGroup + j.
      const cols = root.view(this.groups, 1, perGroup).expand([this.groups, perGroup, perGroup]).reshape([c, perGroup, 1, 1]);
      return kernel.mul(rows).mul(cols);
    });
  }

  override extraRepr(): string { return `nbFeatures=${this.nbFeatures}, groups=${this.groups}`; }
}

/**
 * The explicit kernel of the truncated exponential of a skew kernel S
 * [c, c/g, k, k] (c = max(in, out)): Σ_{j ≤ expNiter} Sʲ / j!, then the first
 * out/g rows and in/g columns of every group: [out, in/g, K, K] with
 * K = expNiter·(k − 1) + 1. Buffer `identity_kernel` holds I as a k×k kernel.
 */
export class ConvExponential extends Parametrization {
  readonly maxChannels: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly groups: number,
    readonly expNiter: number) {
    super();
    if (kernelSize % 2 !== 1) throw new RangeError(`ConvExponential: kernelSize must be odd (the skew kernel needs a centre), got ${kernelSize}`);
    this.maxChannels = Math.max(inChannels, outChannels);
    const perGroup = this.maxChannels / groups;
    const half = (kernelSize - 1) / 2;
    const identity = scope(() => F.pad(eye(perGroup, perGroup).view(1, perGroup, perGroup, 1, 1).expand([groups, perGroup, perGroup, 1, 1])
      .reshape([this.maxChannels, perGroup, 1, 1]), [half, half, half, half]));
    this.registerBuffer('identity_kernel', identity);
  }

  forward(skew: Tensor): Tensor {
    return scope(() => {
      const g = this.groups;
      const half = (this.kernelSize - 1) / 2;
      let total = skew.add(this.getBuffer('identity_kernel')!);
      let power = skew;
      for (let j = 2; j <= this.expNiter; j++) {
        power = composeKernels(power, skew, g).div(j); // Sʲ / j!
        total = F.pad(total, [half, half, half, half]).add(power);
      }
      const size = total.shape[2];
      const perGroup = this.maxChannels / g;
      return total.view(g, perGroup, perGroup, size, size)
        .narrow(1, 0, this.outChannels / g).narrow(2, 0, this.inChannels / g)
        .reshape([this.outChannels, this.inChannels / g, size, size]);
    });
  }

  override extraRepr(): string {
    return `${this.inChannels} → ${this.outChannels}, kernelSize=${this.kernelSize}, groups=${this.groups}, expNiter=${this.expNiter}`;
  }
}

/**
 * Registers `name` on `layer` as an SOC kernel: kernelShape [out, in/groups,
 * k, k] is that of the small kernel (k odd); the weight read back with the
 * layer's weightOf(name) is [out, in/groups, K, K], K = expNiter·(k − 1) + 1.
 * Raw parameter [max, max/groups, k, k] (max = max(in, out)), orthogonal at
 * initialization as in Orthogonium; steps: SkewKernel, SkewAOLRescale (q),
 * ConvExponential — the state-dict names Orthogonium's attach_soc_weight gives.
 */
export function attachSocWeight(layer: Module, name: string, kernelShape: [number, number, number, number], groups: number,
  expParams: ExpParams = DEFAULT_EXP_PARAMS): void {
  const [out, inPerGroup, k, k2] = kernelShape;
  if (k !== k2) throw new RangeError(`SOC supports square kernels only (skew symmetry needs one), got ${k}×${k2}`);
  if (k % 2 !== 1) throw new RangeError(`SOC needs an odd kernel size (the skew kernel needs a centre), got ${k}`);
  const { expNiter } = resolveExpParams('attachSocWeight', expParams);
  const inChannels = inPerGroup * groups;
  const maxChannels = Math.max(inChannels, out);
  const raw = init.orthogonal_(empty([maxChannels, maxChannels / groups, k, k]));
  layer.registerParameter(name, raw);
  registerParametrization(layer, name, new SkewKernel(groups), new SkewAOLRescale(maxChannels, groups),
    new ConvExponential(inChannels, out, k, groups, expNiter));
}
