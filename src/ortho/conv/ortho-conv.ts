// The three orthogonal convolutions of AOC: BCOP (FastBlockConv2d), RKO
// (kernel == stride) and their composition for other strides. Each exposes
// its explicit kernel as `weight`, so it can be replaced by a plain Conv2d.
import { Tensor, empty, scope } from '../../torch/index.js';
import type { Pair } from '../../torch/functional.js';
import { DerivedCache, Module, checkPaddingMode, conv2dWithMode, init } from '../../nn/index.js';
import type { PaddingMode } from '../../nn/index.js';
import { attachBcopWeight } from './bcop.js';
import { composeKernels } from './kernel-ops.js';
import { OrthoConv2dOptions, ResolvedConvSettings, checkDilation, checkInnerChannels, resolveCommon } from './options.js';
import { attachRkoWeight } from './rko.js';

const warnedPaddingModes = new Set<string>();

/** What every orthogonal 2-d convolution shares: settings, bias and the convolution itself. */
export abstract class OrthoConv2dBase extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly padding: Pair | 'same' | 'valid';
  readonly paddingMode: PaddingMode;
  readonly bias: Tensor | null;
  protected readonly settings: ResolvedConvSettings;

  /**
   * explicitKernelSize: the size of `weight` when it differs from the requested
   * kernelSize (SOC's exponential grows the kernel); `kernelSize` then reports it, as in Orthogonium.
   */
  constructor(layer: string, options: OrthoConv2dOptions, explicitKernelSize?: (s: ResolvedConvSettings) => number) {
    super();
    this.settings = resolveCommon(layer, options);
    const s = this.settings;
    this.inChannels = s.inChannels;
    this.outChannels = s.outChannels;
    const k = explicitKernelSize ? explicitKernelSize(s) : s.kernelSize;
    this.kernelSize = [k, k];
    this.stride = [s.stride, s.stride];
    this.dilation = [s.dilation, s.dilation];
    this.groups = s.groups;
    this.padding = options.padding ?? 'same';
    this.paddingMode = options.paddingMode ?? 'circular';
    checkPaddingMode(layer, this.paddingMode);
    if ((this.paddingMode === 'reflect' || this.paddingMode === 'replicate') && !warnedPaddingModes.has(this.paddingMode)) {
      warnedPaddingModes.add(this.paddingMode);
      process.emitWarning(`${layer}: paddingMode '${this.paddingMode}' repeats border pixels, so the layer is not 1-Lipschitz ` +
        '(measured up to 1.9× for reflect, 2.5× for replicate); certificates assume circular or zeros padding', 'OrthogoniumWarning');
    }
    if (this.padding === 'same' && s.stride > 1) {
      throw new RangeError(`${layer}: padding 'same' is only supported with stride 1; give an explicit padding such as ${Math.floor((k - 1) / 2)}`);
    }
    // PyTorch's default bias init, U(±1/√fanIn) with fanIn = (inChannels / groups) * kernelSize * kernelSize, which
    // Orthogonium keeps: its layers are nn.Conv2d subclasses whose reset_parameters runs before the weight is replaced.
    const bound = 1 / Math.sqrt((s.inChannels / s.groups) * s.kernelSize * s.kernelSize);
    this.bias = s.bias ? this.registerParameter('bias', init.uniform_(empty([s.outChannels]), -bound, bound)) : null;
  }

  /** The explicit convolution kernel [out, in/groups, k, k]. */
  abstract get weight(): Tensor;

  forward(x: Tensor): Tensor {
    const shape = x.shape;
    if (shape.length !== 4 || shape[1] !== this.inChannels) {
      throw new RangeError(`${this.typeName}: expected input [N, ${this.inChannels}, H, W], got [${shape.join(', ')}]`);
    }
    return scope(() => conv2dWithMode(x, this.weight, this.bias, this));
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize[0]}, stride=${this.stride[0]}, ` +
      `padding=${JSON.stringify(this.padding)}, paddingMode=${this.paddingMode}` +
      `${this.groups > 1 ? `, groups=${this.groups}` : ''}${this.dilation[0] > 1 ? `, dilation=${this.dilation[0]}` : ''}, bias=${this.bias !== null}`;
  }
}

/** BCOP convolution: stride 1 (or in ≥ out with dilation > 1). */
export class FastBlockConv2d extends OrthoConv2dBase {
  constructor(options: OrthoConv2dOptions) {
    super('FastBlockConv2d', options);
    const s = this.settings;
    if ((s.stride > 1 && s.outChannels > s.inChannels) || s.stride > s.kernelSize) {
      throw new RangeError('FastBlockConv2d: stride > 1 with outChannels > inChannels is not supported; use AdaptiveOrthoConv2d, which picks BcopRkoConv2d');
    }
    checkDilation('FastBlockConv2d', s, s.outChannels >= s.inChannels);
    attachBcopWeight(this, 'weight', [s.outChannels, s.inChannels / s.groups, s.kernelSize, s.kernelSize], s.groups, s.orthoParams);
  }

  get weight(): Tensor { return this.weightOf('weight'); }
}

/** RKO convolution: exactly orthogonal when kernel == stride, 1-Lipschitz otherwise. */
export class RKOConv2d extends OrthoConv2dBase {
  constructor(options: OrthoConv2dOptions) {
    super('RKOConv2d', options);
    const s = this.settings;
    checkDilation('RKOConv2d', s, true);
    const scale = 1 / Math.ceil(s.kernelSize / s.stride);
    attachRkoWeight(this, 'weight', [s.outChannels, s.inChannels / s.groups, s.kernelSize, s.kernelSize], s.groups, scale, s.orthoParams);
  }

  get weight(): Tensor { return this.weightOf('weight'); }
}

/** A BCOP convolution (stride 1) composed with an RKO one (kernel == stride): any stride ≤ kernel. */
export class BcopRkoConv2d extends OrthoConv2dBase {
  readonly intermediateChannels: number;
  private readonly kernelCache = this.registerCache(new DerivedCache(this));

  constructor(options: OrthoConv2dOptions) {
    super('BcopRkoConv2d', options);
    const s = this.settings;
    checkInnerChannels('BcopRkoConv2d', s);
    checkDilation('BcopRkoConv2d', s, s.outChannels >= s.inChannels);
    this.intermediateChannels = Math.max(s.inChannels, Math.floor(s.outChannels / (s.stride * s.stride)));
    const inner = Math.max(1, s.kernelSize - (s.stride - 1));
    attachBcopWeight(this, 'weight_1', [this.intermediateChannels, s.inChannels / s.groups, inner, inner], s.groups, s.orthoParams);
    attachRkoWeight(this, 'weight_2', [s.outChannels, this.intermediateChannels / s.groups, s.stride, s.stride], s.groups, 1, s.orthoParams);
  }

  get weight(): Tensor {
    return this.kernelCache.get(() => scope(() => composeKernels(this.weightOf('weight_1'), this.weightOf('weight_2'), this.groups).contiguous()));
  }
}
