// Transposed SOC convolutions: the same two constructions as soc.ts, with the
// kernel laid out as ConvTranspose2d expects ([in, out/groups, K, K]).
import { Tensor, scope } from '../../torch/index.js';
import { DerivedCache } from '../../nn/index.js';
import { composeKernels } from './kernel-ops.js';
import { OrthoConvTranspose2dBase } from './ortho-conv-transpose.js';
import { checkInnerChannels } from './options.js';
import { attachRkoWeight } from './rko.js';
import { attachSocWeight, resolveExpParams, socKernelSize } from './soc-kernel.js';
import { SOCConvTranspose2dOptions, socInnerKernelSize } from './soc-options.js';

const warned = new Set<string>();

/** Transposed SOC convolution (meant for stride 1; kernelSize odd). */
export class SOCTranspose extends OrthoConvTranspose2dBase {
  readonly expNiter: number;

  constructor(options: SOCConvTranspose2dOptions) {
    const { expNiter } = resolveExpParams('SOCTranspose', options.expParams);
    super('SOCTranspose', options, (s) => socKernelSize(s.kernelSize, expNiter));
    this.expNiter = expNiter;
    const s = this.settings;
    checkInnerChannels('SOCTranspose', s);
    if (s.kernelSize % 2 !== 1) {
      throw new RangeError(`SOCTranspose: kernelSize must be odd (a skew-symmetric kernel needs a centre), got ${s.kernelSize}`);
    }
    if (s.outChannels * s.stride * s.stride < s.inChannels) {
      const key = `${s.inChannels}:${s.outChannels}:${s.stride}`;
      if (!warned.has(key)) {
        warned.add(key);
        process.emitWarning(`SOCTranspose: ${s.inChannels} → ${s.outChannels} channels with stride ${s.stride} is not orthogonal ` +
          '(transposed convolutions cannot pad circularly); it stays 1-Lipschitz', 'OrthogoniumWarning');
      }
    }
    attachSocWeight(this, 'weight', [s.inChannels, s.outChannels / s.groups, s.kernelSize, s.kernelSize], s.groups, { expNiter });
  }

  get weight(): Tensor { return this.weightOf('weight'); }
}

/** A transposed SOC ∘ RKO convolution: any stride ≤ kernel (see SOCRkoConv2d). */
export class SOCRkoConvTranspose2d extends OrthoConvTranspose2dBase {
  readonly intermediateChannels: number;
  readonly expNiter: number;
  private readonly kernelCache = this.registerCache(new DerivedCache(this));

  constructor(options: SOCConvTranspose2dOptions) {
    const { expNiter } = resolveExpParams('SOCRkoConvTranspose2d', options.expParams);
    let inner = 0;
    super('SOCRkoConvTranspose2d', options, (s) => {
      inner = socInnerKernelSize('SOCRkoConvTranspose2d', s.kernelSize, s.stride);
      return socKernelSize(inner, expNiter) + s.stride - 1;
    });
    this.expNiter = expNiter;
    const s = this.settings;
    checkInnerChannels('SOCRkoConvTranspose2d', s);
    const area = s.stride * s.stride;
    this.intermediateChannels = s.outChannels * area >= s.inChannels ? Math.max(Math.floor(s.inChannels / area), s.outChannels) : s.outChannels;
    if (this.intermediateChannels % s.groups !== 0) {
      throw new RangeError(`SOCRkoConvTranspose2d: the intermediate channels (${this.intermediateChannels}) must be divisible by groups (${s.groups})`);
    }
    attachSocWeight(this, 'weight_1', [this.intermediateChannels, s.outChannels / s.groups, inner, inner], s.groups, { expNiter });
    attachRkoWeight(this, 'weight_2', [s.inChannels, this.intermediateChannels / s.groups, s.stride, s.stride], s.groups, 1, s.orthoParams);
  }

  get weight(): Tensor {
    return this.kernelCache.get(() => scope(() => composeKernels(this.weightOf('weight_1'), this.weightOf('weight_2'), this.groups).contiguous()));
  }
}
