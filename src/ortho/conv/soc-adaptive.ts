// AdaptiveSOCConv2d / AdaptiveSOCConvTranspose2d: Orthogonium's Adaptive-SOC
// factories — the same dispatch as the AOC ones, with SOC in place of BCOP.
import { RKOConv2d } from './ortho-conv.js';
import type { OrthoConv2dBase } from './ortho-conv.js';
import { RkoConvTranspose2d } from './ortho-conv-transpose.js';
import type { OrthoConvTranspose2dBase } from './ortho-conv-transpose.js';
import { resolveCommon } from './options.js';
import { FastSOC, SOCRkoConv2d } from './soc.js';
import { SOCRkoConvTranspose2d, SOCTranspose } from './soc-transpose.js';
import type { SOCConv2dOptions, SOCConvTranspose2dOptions } from './soc-options.js';

/**
 * kernel == stride → RKOConv2d; stride 1 → FastSOC; otherwise SOCRkoConv2d.
 * kernel < stride is an error. Deviations from Orthogonium, whose factory
 * drops them: orthoParams reaches the RKO parts, and expParams is accepted
 * (Orthogonium's factory always uses the default expNiter 3).
 */
export function AdaptiveSOCConv2d(options: SOCConv2dOptions): OrthoConv2dBase {
  const { kernelSize: k, stride: s } = resolveCommon('AdaptiveSOCConv2d', options);
  if (k === s) return new RKOConv2d(options);
  if (s === 1) return new FastSOC(options);
  return new SOCRkoConv2d(options);
}

export function AdaptiveSOCConvTranspose2d(options: SOCConvTranspose2dOptions): OrthoConvTranspose2dBase {
  const { kernelSize: k, stride: s } = resolveCommon('AdaptiveSOCConvTranspose2d', options);
  if (k === s) return new RkoConvTranspose2d(options);
  if (s === 1) return new SOCTranspose(options);
  return new SOCRkoConvTranspose2d(options);
}
