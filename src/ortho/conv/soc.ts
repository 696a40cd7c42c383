// The SOC convolutions of Orthogonium's Adaptive-SOC: FastSOC (stride 1, or
// strided with in ≥ out) and SOCRkoConv2d (an SOC convolution composed with an
// RKO one of kernel == stride, for native striding). Like their AOC siblings
// they expose the explicit kernel as `weight` (here larger than kernelSize:
// see soc-kernel.ts), so they run — and export — as one plain convolution.
import { Tensor, scope } from '../../torch/index.js';
import { DerivedCache } from '../../nn/index.js';
import { composeKernels } from './kernel-ops.js';
import { OrthoConv2dBase } from './ortho-conv.js';
import { checkDilation, checkInnerChannels } from './options.js';
import { attachRkoWeight } from './rko.js';
import { attachSocWeight, resolveExpParams, socKernelSize } from './soc-kernel.js';
import { SOCConv2dOptions, socInnerKernelSize } from './soc-options.js';

function checkOddKernel(layer: string, kernelSize: number): void {
  if (kernelSize % 2 !== 1) {
    throw new RangeError(`${layer}: kernelSize must be odd (a skew-symmetric kernel needs a centre), got ${kernelSize}; ` +
      'use AdaptiveOrthoConv2d for even kernels');
  }
}

/**
 * SOC convolution with stride 1 (or a stride ≤ kernelSize when in ≥ out):
 * exp(S) truncated after expParams.expNiter terms, S skew-symmetric of norm ≤ 1.
 * kernelSize must be odd; `weight` is [out, in/groups, K, K], K = expNiter·(kernelSize − 1) + 1.
 */
export class FastSOC extends OrthoConv2dBase {
  readonly expNiter: number;

  constructor(options: SOCConv2dOptions) {
    const { expNiter } = resolveExpParams('FastSOC', options.expParams);
    super('FastSOC', options, (s) => socKernelSize(s.kernelSize, expNiter));
    this.expNiter = expNiter;
    const s = this.settings;
    if ((s.stride > 1 && s.outChannels > s.inChannels) || s.stride > s.kernelSize) {
      throw new RangeError('FastSOC: stride > 1 with outChannels > inChannels is not supported; use AdaptiveSOCConv2d, which picks SOCRkoConv2d');
    }
    checkOddKernel('FastSOC', s.kernelSize);
    checkDilation('FastSOC', s, s.outChannels >= s.inChannels);
    attachSocWeight(this, 'weight', [s.outChannels, s.inChannels / s.groups, s.kernelSize, s.kernelSize], s.groups, { expNiter });
  }

  get weight(): Tensor { return this.weightOf('weight'); }
}

/**
 * An SOC convolution (stride 1, kernel k − s + 1 made odd) composed with an
 * RKO one (kernel == stride s, orthoParams): any stride ≤ kernel.
 * `weight` is [out, in/groups, K + s − 1, K + s − 1], K the SOC factor's explicit size.
 */
export class SOCRkoConv2d extends OrthoConv2dBase {
  readonly intermediateChannels: number;
  readonly expNiter: number;
  private readonly kernelCache = this.registerCache(new DerivedCache(this));

  constructor(options: SOCConv2dOptions) {
    const { expNiter } = resolveExpParams('SOCRkoConv2d', options.expParams);
    let inner = 0;
    super('SOCRkoConv2d', options, (s) => {
      inner = socInnerKernelSize('SOCRkoConv2d', s.kernelSize, s.stride);
      return socKernelSize(inner, expNiter) + s.stride - 1;
    });
    this.expNiter = expNiter;
    const s = this.settings;
    checkInnerChannels('SOCRkoConv2d', s);
    checkDilation('SOCRkoConv2d', s, s.outChannels >= s.inChannels);
    this.intermediateChannels = Math.max(s.inChannels, Math.floor(s.outChannels / (s.stride * s.stride)));
    if (this.intermediateChannels % s.groups !== 0) {
      throw new RangeError(`SOCRkoConv2d: the intermediate channels (${this.intermediateChannels}) must be divisible by groups (${s.groups})`);
    }
    attachSocWeight(this, 'weight_1', [this.intermediateChannels, s.inChannels / s.groups, inner, inner], s.groups, { expNiter });
    attachRkoWeight(this, 'weight_2', [s.outChannels, this.intermediateChannels / s.groups, s.stride, s.stride], s.groups, 1, s.orthoParams);
  }

  get weight(): Tensor {
    return this.kernelCache.get(() => scope(() => composeKernels(this.weightOf('weight_1'), this.weightOf('weight_2'), this.groups).contiguous()));
  }
}
