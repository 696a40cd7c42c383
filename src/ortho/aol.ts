// AOL — almost-orthogonal layers (Prach & Lampert, ECCV 2022).
//
// A weight W is rescaled by a diagonal D with
//   D_ii = (Σ_j |WᵀW|_ij · q_j / q_i)^(-1/2)          (q > 0 free weights)
// which, by the Schur test, guarantees ‖W D‖₂ ≤ 1: an exact bound, not an
// estimate. For convolutions the Gram matrix of the (zero-padded or
// circular) convolution operator is built from the kernel of "K then Kᵀ", so
// the same row sums over that Gram kernel bound the whole operator.
//
// The rescaled side is always the smaller one: for a wide weight (more input
// than output channels) the kernel is transposed first, so D scales rows
// (output channels) instead of columns. With `niter` > 1 the Gram matrix is
// squared niter − 1 more times and the (2^niter)-th root of its row sums is
// used, which tightens the bound (the multi-step variant of Orthogonium).
import { Tensor, noGrad, ones } from '../torch/index.js';
import { Conv2d, ConvTranspose2d, Linear, Parametrization, registerParametrization } from '../nn/index.js';
import type { Conv2dOptions, ConvTranspose2dOptions } from '../nn/index.js';
import { composeKernels, transposeKernel } from './conv/kernel-ops.js';
import { convOrthogonal_ } from './conv/init.js';

function checkInt(layer: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${layer}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * Rescales kernel [c, cin/groups, kh, kw] along dim 0 so that the operator it
 * defines (and its adjoint) has spectral norm ≤ 1. qLog holds log q ([c]
 * values); niter is the number of Gram squarings (1 = plain AOL).
 */
export function aolRescaleRows(kernel: Tensor, groups: number, qLog: Tensor, niter = 1): Tensor {
  return kernel.div(aolRowDivisors(kernel, groups, qLog, niter).view(kernel.shape[0], 1, 1, 1));
}

/**
 * The per-row divisors t [c] of aolRescaleRows (the kernel's rows divided by
 * them give an operator of norm ≤ 1), for callers that apply them otherwise
 * (the skew-symmetric kernels of SOC split them over rows and columns).
 */
export function aolRowDivisors(kernel: Tensor, groups: number, qLog: Tensor, niter = 1): Tensor {
  const c = kernel.shape[0];
  const perGroup = c / groups;
  let gram = kernel;
  // log of the factor the normalized Gram powers were divided by (kept out of the graph: it cancels).
  let logScale = 0;
  for (let i = 0; i < niter; i++) {
    const n = gram.norm().item();
    const normalized = n > 0 ? gram.div(n) : gram;
    logScale = 2 * (logScale + (n > 0 ? Math.log(n) : 0));
    gram = composeKernels(transposeKernel(normalized, groups, true), normalized, groups);
  }
  // gram: [c, c/groups, *, *] — the Gram (power) of the operator on the c channels of dim 0.
  const a = gram.abs().sum([2, 3]).view(groups, perGroup, perGroup);
  const q = qLog.exp().view(groups, 1, perGroup);
  const rowSums = a.mul(q).sum(-1).div(q.view(groups, perGroup)).reshape([c]);
  const power = 2 ** -niter;
  const t = rowSums.pow(power).mul(Math.exp(logScale * power));
  // Zero rows stay zero: guard the division only.
  return t.clampMin(kernel.dtype === 'float64' ? 1e-300 : 1e-30);
}

export interface AOLReparametrizerOptions {
  /** Groups of the convolution the kernel belongs to (default 1). */
  groups?: number;
  /** Number of Gram squarings (default 1: the original AOL). */
  niter?: number;
}

/**
 * AOL on dim 0 (output channels) of a kernel [nbFeatures, cin/groups, kh, kw]:
 * the single-sided rescaling the SLL blocks use. Parameter `q` ([nbFeatures,
 * 1, 1, 1], log-scale weights of the Schur test, starting at 1 as in Orthogonium).
 */
export class AOLReparametrizer extends Parametrization {
  readonly nbFeatures: number;
  readonly groups: number;
  readonly niter: number;
  constructor(nbFeatures: number, options: AOLReparametrizerOptions = {}) {
    super();
    this.groups = options.groups ?? 1;
    this.niter = options.niter ?? 1;
    checkInt('AOLReparametrizer', 'nbFeatures', nbFeatures, 1);
    checkInt('AOLReparametrizer', 'groups', this.groups, 1);
    checkInt('AOLReparametrizer', 'niter', this.niter, 1);
    if (nbFeatures % this.groups !== 0) throw new RangeError(`AOLReparametrizer: nbFeatures (${nbFeatures}) must be divisible by groups (${this.groups})`);
    this.nbFeatures = nbFeatures;
    this.registerParameter('q', ones([nbFeatures, 1, 1, 1]));
  }

  get q(): Tensor { return this.getParameter('q')!; }

  /** Puts the Schur-test weights `q` back to their initial value, 1 (Orthogonium's reset_parameters). */
  resetParameters(): void {
    noGrad(() => this.q.fill_(1));
  }

  forward(kernel: Tensor): Tensor {
    if (kernel.shape[0] !== this.nbFeatures) throw new RangeError(`AOLReparametrizer: kernel has ${kernel.shape[0]} output channels, expected ${this.nbFeatures}`);
    return aolRescaleRows(kernel, this.groups, this.q, this.niter);
  }

  override extraRepr(): string { return `nbFeatures=${this.nbFeatures}, groups=${this.groups}, niter=${this.niter}`; }
}

/**
 * AOL on the smaller side of a kernel [cout, cin/groups, kh, kw] (or a
 * linear weight viewed as [cout, cin, 1, 1]): columns when cout/groups ≥
 * cin/groups, rows otherwise. nbFeatures = min(cout, cin). niter defaults to
 * 4 here, as in Orthogonium (the layers pass their own, 1 by default).
 */
export class MultiStepAOLReparametrizer extends AOLReparametrizer {
  constructor(nbFeatures: number, options: AOLReparametrizerOptions = {}) {
    super(nbFeatures, { ...options, niter: options.niter ?? 4 });
  }

  override forward(kernel: Tensor): Tensor {
    const shape = kernel.shape;
    const k4 = shape.length === 2 ? kernel.view(shape[0], shape[1], 1, 1) : kernel;
    const [co, cig] = k4.shape;
    const tall = co / this.groups >= cig;
    const side = tall ? transposeKernel(k4, this.groups, true) : k4;
    if (side.shape[0] !== this.nbFeatures) throw new RangeError(`MultiStepAOLReparametrizer: rescaled side has ${side.shape[0]} channels, expected ${this.nbFeatures}`);
    const scaled = aolRescaleRows(side, this.groups, this.q, this.niter);
    const back = tall ? transposeKernel(scaled, this.groups, true) : scaled;
    return shape.length === 2 ? back.view(shape[0], shape[1]) : back;
  }
}

export interface AOLConv2DOptions extends Omit<Conv2dOptions, 'dtype'> {
  inChannels: number;
  outChannels: number;
  kernelSize: number | [number, number];
  /** Gram squarings of the rescaling (default 1). */
  niter?: number;
}

function checkAolPadding(layer: string, mode: string | undefined): void {
  if (mode !== undefined && mode !== 'zeros' && mode !== 'circular') {
    throw new TypeError(`${layer}: paddingMode must be 'zeros' or 'circular' (reflect/replicate padding is not 1-Lipschitz), got '${mode}'`);
  }
}

/**
 * Starts an AOLConv2D's raw kernel from an orthogonal convolution kernel, as
 * Orthogonium's AOLConv2D.reset_parameters does (for an orthogonal stride-1
 * kernel the Gram kernel is the identity, so the AOL rescaling leaves it
 * unchanged: the layer starts orthogonal). Where no such kernel exists
 * (kernel < stride, or a single channel per group with kernel > stride)
 * Orthogonium's initializer raises; we keep the Conv2d default init there
 * instead, since AOL itself is valid in those settings. Orthogonium also
 * stores the returned tensor as an extra `kernel` attribute (an alias of the
 * weight, saved in its state dict); we do not.
 */
function orthogonalStart(weight: Tensor, stride: [number, number], groups: number): void {
  if (stride[0] !== stride[1] || weight.shape[2] !== weight.shape[3] || weight.shape[2] < stride[0]) return;
  const mid = Math.max(weight.shape[1] * groups, Math.floor(weight.shape[0] / (stride[0] * stride[0])));
  const kBcop = weight.shape[2] - stride[0] + 1;
  if (mid % groups !== 0 || (kBcop > 1 && mid / groups < 2)) return;
  convOrthogonal_(weight, { stride: stride[0], groups });
}

/**
 * Convolution whose kernel is AOL-rescaled (Orthogonium's AOLConv2D):
 * 1-Lipschitz for any stride, dilation, groups and zero or circular padding.
 * `weight` is the rescaled kernel; the raw one is `parametrizations.weight.original`,
 * which starts from convOrthogonal_ (see orthogonalStart). The bias keeps
 * Conv2d's default init, U(±1/√fanIn).
 */
export class AOLConv2D extends Conv2d {
  readonly niter: number;
  constructor(options: AOLConv2DOptions) {
    checkAolPadding('AOLConv2D', options.paddingMode);
    const niter = options.niter ?? 1;
    checkInt('AOLConv2D', 'niter', niter, 1);
    const { inChannels, outChannels, kernelSize, niter: _n, ...rest } = options;
    super(inChannels, outChannels, kernelSize, rest);
    this.niter = niter;
    orthogonalStart(this.getParameter('weight')!, this.stride, this.groups);
    registerParametrization(this, 'weight', new MultiStepAOLReparametrizer(Math.min(inChannels, outChannels), { groups: this.groups, niter }));
  }
}

export interface AOLConvTranspose2DOptions extends Omit<ConvTranspose2dOptions, 'dtype'> {
  inChannels: number;
  outChannels: number;
  kernelSize: number | [number, number];
  niter?: number;
}

/**
 * Transposed convolution with an AOL-rescaled kernel (Orthogonium's
 * AOLConvTranspose2D). Its raw kernel keeps ConvTranspose2d's default init:
 * Orthogonium's AOLConvTranspose2D does not override reset_parameters.
 */
export class AOLConvTranspose2D extends ConvTranspose2d {
  readonly niter: number;
  constructor(options: AOLConvTranspose2DOptions) {
    const niter = options.niter ?? 1;
    checkInt('AOLConvTranspose2D', 'niter', niter, 1);
    const { inChannels, outChannels, kernelSize, niter: _n, ...rest } = options;
    super(inChannels, outChannels, kernelSize, rest);
    this.niter = niter;
    registerParametrization(this, 'weight', new MultiStepAOLReparametrizer(Math.min(inChannels, outChannels), { groups: this.groups, niter }));
  }
}

export interface AOLLinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  niter?: number;
}

/** Linear layer with an AOL-rescaled weight [out, in]: ‖W‖₂ ≤ 1. */
export class AOLLinear extends Linear {
  readonly niter: number;
  constructor(options: AOLLinearOptions) {
    const niter = options.niter ?? 1;
    checkInt('AOLLinear', 'niter', niter, 1);
    super(options.inFeatures, options.outFeatures, { bias: options.bias ?? true });
    this.niter = niter;
    registerParametrization(this, 'weight', new MultiStepAOLReparametrizer(Math.min(options.inFeatures, options.outFeatures), { niter }));
  }
}
