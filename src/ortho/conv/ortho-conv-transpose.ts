// Orthogonal transposed convolutions: the same three constructions, with the
// kernel laid out as ConvTranspose2d expects ([in, out/groups, k, k]).
import { F, Tensor, empty, scope } from '../../torch/index.js';
import { DerivedCache, Module, init } from '../../nn/index.js';
import { attachBcopWeight } from './bcop.js';
import { composeKernels } from './kernel-ops.js';
import { OrthoConvTranspose2dOptions, ResolvedConvSettings, checkDilation, checkInnerChannels, resolveCommon } from './options.js';
import { attachRkoWeight } from './rko.js';

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

export abstract class OrthoConvTranspose2dBase extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly bias: Tensor | null;
  protected readonly settings: ResolvedConvSettings;

  /** explicitKernelSize: the size of `weight` when it differs from the requested kernelSize (see OrthoConv2dBase). */
  constructor(layer: string, options: OrthoConvTranspose2dOptions, explicitKernelSize?: (s: ResolvedConvSettings) => number) {
    super();
    this.settings = resolveCommon(layer, options);
    const s = this.settings;
    this.inChannels = s.inChannels;
    this.outChannels = s.outChannels;
    const k = explicitKernelSize ? explicitKernelSize(s) : s.kernelSize;
    this.kernelSize = [k, k];
    this.stride = [s.stride, s.stride];
    this.padding = pair(options.padding ?? 0);
    this.outputPadding = pair(options.outputPadding ?? 0);
    this.dilation = [s.dilation, s.dilation];
    this.groups = s.groups;
    // Orthogonium refuses this only when out <= in; with out > in it builds a layer whose
    // largest singular value exceeds 1 (measured: 1.6 for 8 → 16, k3 s2 d2), so refuse it always.
    checkDilation(layer, s, true);
    // PyTorch's default bias init, U(±1/√fanIn) with fanIn = (outChannels / groups) * kernelSize * kernelSize, which
    // Orthogonium keeps: its layers are nn.ConvTranspose2d subclasses whose reset_parameters runs before the weight is replaced.
    const bound = 1 / Math.sqrt((s.outChannels / s.groups) * s.kernelSize * s.kernelSize);
    this.bias = s.bias ? this.registerParameter('bias', init.uniform_(empty([s.outChannels]), -bound, bound)) : null;
  }

  /** The explicit kernel [in, out/groups, k, k]. */
  abstract get weight(): Tensor;

  forward(x: Tensor): Tensor {
    const shape = x.shape;
    if (shape.length !== 4 || shape[1] !== this.inChannels) {
      throw new RangeError(`${this.typeName}: expected input [N, ${this.inChannels}, H, W], got [${shape.join(', ')}]`);
    }
    return scope(() => F.convTranspose2d(x, this.weight, {
      bias: this.bias, stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    }));
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize[0]}, stride=${this.stride[0]}, padding=[${this.padding}]` +
      `${this.groups > 1 ? `, groups=${this.groups}` : ''}, bias=${this.bias !== null}`;
  }
}

export class FastBlockConvTranspose2d extends OrthoConvTranspose2dBase {
  constructor(options: OrthoConvTranspose2dOptions) {
    super('FastBlockConvTranspose2d', options);
    const s = this.settings;
    checkInnerChannels('FastBlockConvTranspose2d', s);
    attachBcopWeight(this, 'weight', [s.inChannels, s.outChannels / s.groups, s.kernelSize, s.kernelSize], s.groups, s.orthoParams);
  }

  get weight(): Tensor { return this.weightOf('weight'); }
}

export class RkoConvTranspose2d extends OrthoConvTranspose2dBase {
  constructor(options: OrthoConvTranspose2dOptions) {
    super('RkoConvTranspose2d', options);
    const s = this.settings;
    const scale = s.kernelSize === s.stride ? 1 : 1 / Math.ceil(s.kernelSize / s.stride);
    attachRkoWeight(this, 'weight', [s.inChannels, s.outChannels / s.groups, s.kernelSize, s.kernelSize], s.groups, scale, s.orthoParams);
  }

  get weight(): Tensor { return this.weightOf('weight'); }
}

export class BcopRkoConvTranspose2d extends OrthoConvTranspose2dBase {
  readonly intermediateChannels: number;
  private readonly kernelCache = this.registerCache(new DerivedCache(this));

  constructor(options: OrthoConvTranspose2dOptions) {
    super('BcopRkoConvTranspose2d', options);
    const s = this.settings;
    checkInnerChannels('BcopRkoConvTranspose2d', s);
    const area = s.stride * s.stride;
    this.intermediateChannels = s.outChannels * area >= s.inChannels ? Math.max(Math.floor(s.inChannels / area), s.outChannels) : s.outChannels;
    const inner = Math.max(1, s.kernelSize - (s.stride - 1));
    attachBcopWeight(this, 'weight_1', [this.intermediateChannels, s.outChannels / s.groups, inner, inner], s.groups, s.orthoParams);
    attachRkoWeight(this, 'weight_2', [s.inChannels, this.intermediateChannels / s.groups, s.stride, s.stride], s.groups, 1, s.orthoParams);
  }

  get weight(): Tensor {
    return this.kernelCache.get(() => scope(() => composeKernels(this.weightOf('weight_1'), this.weightOf('weight_2'), this.groups).contiguous()));
  }
}
