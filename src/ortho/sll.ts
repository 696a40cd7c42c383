// SLL — SDP-based Lipschitz layers (Araujo, Havens, Delattre, Allauzen & Hu,
// ICLR 2023) and Orthogonium's strided / channel-changing extension.
//
// The residual map  h(x) = x − 2 Kᵀ T σ(K x + b)  with σ = ReLU (slopes in
// [0, 1]) has the symmetric Jacobian  I − 2 Kᵀ T Δ K,  Δ diagonal in [0, 1].
// Whenever Kᵀ T K ⪯ I its eigenvalues lie in [−1, 1], so h is 1-Lipschitz.
// Two ways of getting Kᵀ T K ⪯ I are used here:
//   - dense block: T_ii = 1 / Σ_j |K Kᵀ|_ij q_j / q_i  (Schur test with weights q);
//   - convolutional blocks: T = I and K itself AOL-rescaled so that ‖K‖ ≤ 1.
// Both are exact guarantees.
//
// SLLxAOCLipschitzResBlock wraps the SLL map between two orthogonal (AOC)
// convolutions, Post ∘ SLL ∘ Pre, and fuses the kernels so that it runs as
// three convolutions: (Pre·K) then (Kᵀ·Post) on the residual branch and
// (Pre·Post) on the skip branch. The paddings are chosen so that both branches
// see the same sampling grid of the composed operator, which keeps the block
// exactly a composition of 1-Lipschitz maps.
import { F, Tensor, empty, randn } from '../torch/index.js';
import { Module, init, registerParametrization } from '../nn/index.js';
import { AdaptiveOrthoConv2d } from './conv/adaptive.js';
import { composeKernels, transposeKernel } from './conv/kernel-ops.js';
import type { OrthoParamsLike } from './reparametrizers/ortho-params.js';
import { AOLReparametrizer } from './aol.js';

/** A child convolution as the blocks read it: an orthogonal layer, or the plain Conv2d toPlainModel puts in its place. */
type WeightedConv = Module & { readonly weight: Tensor; readonly bias: Tensor | null };

function checkInt(layer: string, values: Record<string, number>, min = 1): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${layer}: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
}

function checkConvInput(layer: string, x: Tensor, channels: number): void {
  if (x.shape.length !== 4) throw new RangeError(`${layer}: expected input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  if (x.shape[1] !== channels) throw new RangeError(`${layer}: input has ${x.shape[1]} channels, expected ${channels}`);
}

function innerChannels(layer: string, channels: number, factor: number, groups: number): number {
  if (!(typeof factor === 'number' && factor > 0 && Number.isFinite(factor))) throw new RangeError(`${layer}: innerDimFactor must be a positive number, got ${factor}`);
  const inner = Math.trunc(channels * factor);
  if (inner < 1) throw new RangeError(`${layer}: innerDimFactor ${factor} gives no inner channel for ${channels} channels`);
  if (inner % groups !== 0) throw new RangeError(`${layer}: inner dimension ${inner} (channels × innerDimFactor) must be divisible by groups (${groups})`);
  return inner;
}

/** Xavier-normal kernel and a bias uniform in ±1/√fanIn, as Orthogonium initializes its SLL blocks. */
function initKernelAndBias(module: Module, kernelShape: number[], biasShape: number[]): void {
  const kernel = init.xavierNormal_(empty(kernelShape));
  const bound = 1 / Math.sqrt(init.calculateFanInAndFanOut(kernel).fanIn);
  module.registerParameter('kernel', kernel);
  module.registerParameter('bias', init.uniform_(empty(biasShape), -bound, bound));
}

export interface SDPBasedLipschitzResBlockOptions {
  /** Channels in (= channels out). Orthogonium: `cin`. */
  inChannels: number;
  /** Inner channels = trunc(inChannels × innerDimFactor). */
  innerDimFactor: number;
  /** Default 3. */
  kernelSize?: number;
  /** Default 1. */
  groups?: number;
}

/**
 * Convolutional SLL block: x − 2 convT(ReLU(conv(x, K) + b), K), with K
 * [inner, inChannels/groups, k, k] AOL-rescaled (`kernel`, parameters
 * `parametrizations.kernel.original`, `….0.q`, and `bias` [1, inner, 1, 1]).
 * Keeps the spatial size (padding ⌊k/2⌋ on both convolutions).
 */
export class SDPBasedLipschitzResBlock extends Module {
  readonly inChannels: number;
  readonly innerDim: number;
  readonly kernelSize: number;
  readonly groups: number;
  readonly padding: number;

  constructor(options: SDPBasedLipschitzResBlockOptions) {
    super();
    const { inChannels, innerDimFactor, kernelSize = 3, groups = 1 } = options;
    checkInt('SDPBasedLipschitzResBlock', { inChannels, kernelSize, groups });
    if (inChannels % groups !== 0) throw new RangeError(`SDPBasedLipschitzResBlock: inChannels (${inChannels}) must be divisible by groups (${groups})`);
    this.innerDim = innerChannels('SDPBasedLipschitzResBlock', inChannels, innerDimFactor, groups);
    this.inChannels = inChannels;
    this.kernelSize = kernelSize;
    this.groups = groups;
    this.padding = Math.floor(kernelSize / 2);
    initKernelAndBias(this, [this.innerDim, inChannels / groups, kernelSize, kernelSize], [1, this.innerDim, 1, 1]);
    registerParametrization(this, 'kernel', new AOLReparametrizer(this.innerDim, { groups }));
  }

  /** The AOL-rescaled kernel [inner, inChannels/groups, k, k]. */
  get kernel(): Tensor { return this.weightOf('kernel'); }
  /** Alias of `kernel`. */
  get weight(): Tensor { return this.kernel; }
  get bias(): Tensor { return this.getParameter('bias')!; }

  forward(x: Tensor): Tensor {
    checkConvInput('SDPBasedLipschitzResBlock', x, this.inChannels);
    const k = this.kernel;
    const opts = { padding: this.padding, groups: this.groups };
    const inner = F.conv2d(x, k, opts).add(this.bias).relu();
    return x.sub(F.convTranspose2d(inner, k, opts).mul(2));
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, innerDim=${this.innerDim}, kernelSize=${this.kernelSize}, groups=${this.groups}`;
  }
}

export interface SDPBasedLipschitzDenseOptions {
  inFeatures: number;
  /** Must equal inFeatures (the block is residual); default inFeatures. */
  outFeatures?: number;
  /** Inner width; −1 (the default) means inFeatures. */
  innerDim?: number;
}

/**
 * Dense SLL block: x − 2 Wᵀ (t ⊙ ReLU(W x + b)), t_i = 1 / Σ_j |W Wᵀ|_ij q_j/q_i
 * with q = exp(`q`). Parameters: `weight` [inner, in], `bias` [1, inner], `q` [inner].
 */
export class SDPBasedLipschitzDense extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly innerDim: number;

  constructor(options: SDPBasedLipschitzDenseOptions) {
    super();
    const inFeatures = options.inFeatures;
    const outFeatures = options.outFeatures ?? inFeatures;
    const innerDim = options.innerDim === undefined || options.innerDim === -1 ? inFeatures : options.innerDim;
    checkInt('SDPBasedLipschitzDense', { inFeatures, outFeatures, innerDim });
    if (outFeatures !== inFeatures) throw new RangeError(`SDPBasedLipschitzDense: outFeatures (${outFeatures}) must equal inFeatures (${inFeatures}): the block is residual`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.innerDim = innerDim;
    const weight = init.xavierNormal_(empty([innerDim, inFeatures]));
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('weight', weight);
    this.registerParameter('bias', init.uniform_(empty([1, innerDim]), -bound, bound));
    this.registerParameter('q', randn([innerDim]));
  }

  get weight(): Tensor { return this.getParameter('weight')!; }
  get bias(): Tensor { return this.getParameter('bias')!; }
  get q(): Tensor { return this.getParameter('q')!; }

  /** The rescaling vector t [inner]. */
  computeT(): Tensor {
    const w = this.weight;
    const q = this.q.exp();
    const gram = w.matmul(w.t()).abs();
    const rowSums = gram.mul(q.view(1, -1)).sum(1).div(q);
    return rowSums.clampMin(w.dtype === 'float64' ? 1e-300 : 1e-30).reciprocal();
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== this.inFeatures) {
      throw new RangeError(`SDPBasedLipschitzDense: expected input [..., ${this.inFeatures}], got shape [${x.shape.join(', ')}]`);
    }
    const w = this.weight;
    const inner = F.linear(x, w).add(this.bias).relu().mul(this.computeT());
    return x.sub(inner.matmul(w).mul(2));
  }

  override extraRepr(): string { return `inFeatures=${this.inFeatures}, innerDim=${this.innerDim}`; }
}

export interface SLLxAOCLipschitzResBlockOptions {
  /** Orthogonium: `cin`. */
  inChannels: number;
  /** Orthogonium: `cout`. */
  outChannels: number;
  /** Inner channels = trunc(outChannels × innerDimFactor). */
  innerDimFactor: number;
  /** Size of the fused residual-branch kernels (default 3); must be ≥ stride. */
  kernelSize?: number;
  /** Downsampling stride (default 2). */
  stride?: number;
  groups?: number;
  /** Orthogonalization settings of the two AOC convolutions (default: the library default). */
  orthoParams?: OrthoParamsLike;
}

/**
 * SLL block between two AOC convolutions, for strides and channel changes:
 * Post ∘ (I − 2 Kᵀ ReLU(K · + b)) ∘ Pre, with Pre an orthogonal stride×stride
 * convolution (inChannels → inChannels), K AOL-rescaled (inner channels,
 * kernel kernelSize − stride + 1), Post an orthogonal stride×stride
 * convolution with stride `stride` (inChannels → outChannels). Output spatial
 * size ⌈H / stride⌉ for odd kernelSize, ⌊(H + 1) / stride⌋ + 1… for even.
 */
export class SLLxAOCLipschitzResBlock extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly innerDim: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly groups: number;
  /** Padding of the two residual-branch convolutions. */
  readonly padding: number;
  /** Padding of the skip-branch convolution (kernel 2·stride − 1). */
  readonly skipPadding: number;

  constructor(options: SLLxAOCLipschitzResBlockOptions) {
    super();
    const { inChannels, outChannels, innerDimFactor, kernelSize = 3, stride = 2, groups = 1 } = options;
    const layer = 'SLLxAOCLipschitzResBlock';
    checkInt(layer, { inChannels, outChannels, kernelSize, stride, groups });
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(`${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${groups})`);
    }
    if (kernelSize < stride) throw new RangeError(`${layer}: kernelSize (${kernelSize}) must be ≥ stride (${stride})`);
    this.innerDim = innerChannels(layer, outChannels, innerDimFactor, groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.groups = groups;
    this.padding = Math.floor(kernelSize / 2);
    // Aligns the skip branch on the grid the residual branch samples:
    // equal to Orthogonium's (s + ⌊s/2⌋) / 2 for odd kernels and strides ≤ 4.
    this.skipPadding = 2 * this.padding - kernelSize + stride;
    const innerKernel = kernelSize - stride + 1;
    initKernelAndBias(this, [this.innerDim, inChannels / groups, innerKernel, innerKernel], [1, this.innerDim, 1, 1]);
    registerParametrization(this, 'kernel', new AOLReparametrizer(this.innerDim, { groups }));
    const common = { kernelSize: stride, bias: false, padding: 0, groups, orthoParams: options.orthoParams };
    this.registerModule('pre_conv', AdaptiveOrthoConv2d({ inChannels, outChannels: inChannels, stride: 1, ...common }));
    this.registerModule('post_conv', AdaptiveOrthoConv2d({ inChannels, outChannels, stride, ...common }));
  }

  // Looked up each time, so that the plain Conv2d toPlainModel swaps in is seen.
  /** Registered as `pre_conv` (Orthogonium's state-dict name). */
  get preConv(): WeightedConv { return this.getSubmodule('pre_conv') as unknown as WeightedConv; }
  /** Registered as `post_conv`. */
  get postConv(): WeightedConv { return this.getSubmodule('post_conv') as unknown as WeightedConv; }

  /** The AOL-rescaled inner kernel [inner, inChannels/groups, k − s + 1, k − s + 1]. */
  get kernel(): Tensor { return this.weightOf('kernel'); }
  get bias(): Tensor { return this.getParameter('bias')!; }

  /** The three fused kernels: residual in (Pre·K), residual out (Kᵀ·Post), skip (Pre·Post). */
  fusedKernels(): { residualIn: Tensor; residualOut: Tensor; skip: Tensor } {
    const k = this.kernel;
    const pre = this.preConv.weight;
    const post = this.postConv.weight;
    return {
      residualIn: composeKernels(pre, k, this.groups),
      residualOut: composeKernels(transposeKernel(k, this.groups, true), post, this.groups),
      skip: composeKernels(pre, post, this.groups),
    };
  }

  forward(x: Tensor): Tensor {
    checkConvInput('SLLxAOCLipschitzResBlock', x, this.inChannels);
    const { residualIn, residualOut, skip } = this.fusedKernels();
    const inner = F.conv2d(x, residualIn, { padding: this.padding, groups: this.groups }).add(this.bias).relu();
    const res = F.conv2d(inner, residualOut, { padding: this.padding, stride: this.stride, groups: this.groups });
    const id = F.conv2d(x, skip, { padding: this.skipPadding, stride: this.stride, groups: this.groups });
    return id.sub(res.mul(2));
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, outChannels=${this.outChannels}, innerDim=${this.innerDim}, kernelSize=${this.kernelSize}, stride=${this.stride}, groups=${this.groups}`;
  }
}

export interface AOCLipschitzResBlockOptions {
  /** Channels in (= channels out). */
  inChannels: number;
  /** Inner channels = trunc(inChannels × innerDimFactor). */
  innerDimFactor: number;
  /** Square kernel size of the orthogonal convolution (no default, as in Orthogonium). */
  kernelSize: number;
  /** Dilation of the convolution (default 1). */
  dilation?: number;
  /** Default 1. */
  groups?: number;
  /** Learnable bias before the ReLU (default true). */
  bias?: boolean;
  /** 'circular' (default) or 'zeros'. */
  paddingMode?: 'circular' | 'zeros';
  /** Orthogonalization settings of the AOC convolution (default: the library default). */
  orthoParams?: OrthoParamsLike;
}

/**
 * SLL block whose inner convolution is an orthogonal AOC convolution
 * (Orthogonium's AOCLipschitzResBlock): x − 2 Kᵀ ReLU(K x + b), with K the
 * 'same'-padded (circular or zero) convolution by `inConv.weight`
 * [inner, inChannels/groups, k, k] and Kᵀ its exact adjoint. ‖K‖ ≤ 1 (= 1 with
 * circular padding), so Kᵀ Δ K ⪯ I for any ReLU pattern Δ and the block is
 * 1-Lipschitz; it keeps the spatial size. The convolution is registered as
 * `in_conv` (Orthogonium's state-dict name) and its bias is b.
 *
 * Deliberate deviation: Orthogonium's forward pads by 0 in both modes and
 * drops the dilation, i.e. it runs a 'valid' convolution followed by a full
 * transposed one whatever paddingMode and dilation say (still 1-Lipschitz,
 * but the border pixels are treated differently and dilation has no effect).
 * Here paddingMode and dilation mean what they say: circular padding gives
 * the circular convolution and its circular adjoint, zeros gives the
 * zero-padded 'same' convolution and its adjoint. A converted Orthogonium
 * checkpoint therefore gives the same outputs away from the borders only.
 */
export class AOCLipschitzResBlock extends Module {
  readonly inChannels: number;
  readonly innerDim: number;
  readonly kernelSize: number;
  readonly dilation: number;
  readonly groups: number;
  readonly paddingMode: 'circular' | 'zeros';
  /** [left, right, top, bottom] padding of K ('same': ⌊d(k−1)/2⌋ before, the rest after). */
  readonly pads: [number, number, number, number];
  constructor(options: AOCLipschitzResBlockOptions) {
    super();
    const layer = 'AOCLipschitzResBlock';
    const { inChannels, innerDimFactor, kernelSize, dilation = 1, groups = 1, bias = true, paddingMode = 'circular' } = options;
    checkInt(layer, { inChannels, kernelSize, dilation, groups });
    if (paddingMode !== 'circular' && paddingMode !== 'zeros') {
      throw new TypeError(`${layer}: paddingMode must be 'circular' or 'zeros', got ${JSON.stringify(paddingMode)}`);
    }
    if (inChannels % groups !== 0) throw new RangeError(`${layer}: inChannels (${inChannels}) must be divisible by groups (${groups})`);
    this.innerDim = innerChannels(layer, inChannels, innerDimFactor, groups);
    this.inChannels = inChannels;
    this.kernelSize = kernelSize;
    this.dilation = dilation;
    this.groups = groups;
    this.paddingMode = paddingMode;
    const total = dilation * (kernelSize - 1);
    const before = Math.floor(total / 2);
    this.pads = [before, total - before, before, total - before];
    this.registerModule('in_conv', AdaptiveOrthoConv2d({
      inChannels, outChannels: this.innerDim, kernelSize, stride: 1, padding: 'same', dilation, groups, bias, paddingMode, orthoParams: options.orthoParams,
    }));
  }

  /**
   * The convolution registered as `in_conv`: an AOC layer, or the plain
   * Conv2d toPlainModel swaps in (looked up each time, so that swap is seen).
   */
  get inConv(): WeightedConv { return this.getSubmodule('in_conv') as unknown as WeightedConv; }

  /** The orthogonal kernel K [inner, inChannels/groups, k, k]. */
  get kernel(): Tensor { return this.inConv.weight; }
  /** The bias added before the ReLU ([inner]), or null. */
  get bias(): Tensor | null { return this.inConv.bias; }

  forward(x: Tensor): Tensor {
    const layer = 'AOCLipschitzResBlock';
    checkConvInput(layer, x, this.inChannels);
    const [left, right, top, bottom] = this.pads;
    const d = this.dilation;
    const k = this.kernel;
    if (this.paddingMode === 'circular') {
      if (x.shape[2] < Math.max(top, bottom) || x.shape[3] < Math.max(left, right)) {
        throw new RangeError(`${layer}: circular padding of ${Math.max(top, bottom, left, right)} needs an input of at least that size, got ${x.shape[2]}×${x.shape[3]}`);
      }
      const inner = F.conv2d(F.pad(x, this.pads, 'circular'), k, { bias: this.bias, dilation: d, groups: this.groups }).relu();
      // Adjoint of a circular correlation: the circular correlation with the
      // flipped, channel-transposed kernel, the padding sides swapped.
      const back = F.conv2d(F.pad(inner, [right, left, bottom, top], 'circular'), transposeKernel(k, this.groups, true), { dilation: d, groups: this.groups });
      return x.sub(back.mul(2));
    }
    const inner = F.conv2d(F.pad(x, this.pads), k, { bias: this.bias, dilation: d, groups: this.groups }).relu();
    // Adjoint of zero-pad-then-valid-convolution: full transposed convolution, then crop the pad away.
    const full = F.convTranspose2d(inner, k, { dilation: d, groups: this.groups });
    const back = full.narrow(2, top, x.shape[2]).narrow(3, left, x.shape[3]);
    return x.sub(back.mul(2));
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, innerDim=${this.innerDim}, kernelSize=${this.kernelSize}, dilation=${this.dilation}, ` +
      `groups=${this.groups}, paddingMode=${this.paddingMode}, bias=${this.bias !== null}`;
  }
}
