// AdaptiveOrthoConv2d / AdaptiveOrthoConvTranspose2d: pick the construction
// that is orthogonal for the requested kernel size and stride, as Orthogonium does.
import { BcopRkoConv2d, FastBlockConv2d, OrthoConv2dBase, RKOConv2d } from './ortho-conv.js';
import { BcopRkoConvTranspose2d, FastBlockConvTranspose2d, OrthoConvTranspose2dBase, RkoConvTranspose2d } from './ortho-conv-transpose.js';
import { OrthoConv2dOptions, OrthoConvTranspose2dOptions, resolveCommon } from './options.js';

/**
 * kernel == stride → RKO; stride 1 (or in ≥ out with dilation > 1) → BCOP;
 * otherwise BCOP composed with RKO. kernel < stride is an error: no
 * orthogonal convolution exists there.
 */
export function AdaptiveOrthoConv2d(options: OrthoConv2dOptions): OrthoConv2dBase {
  const { kernelSize: k, stride: s, inChannels, outChannels, dilation } = resolveCommon('AdaptiveOrthoConv2d', options);
  if (k === s) return new RKOConv2d(options);
  if (s === 1 || (inChannels >= outChannels && dilation > 1)) return new FastBlockConv2d(options);
  return new BcopRkoConv2d(options);
}

export function AdaptiveOrthoConvTranspose2d(options: OrthoConvTranspose2dOptions): OrthoConvTranspose2dBase {
  const { kernelSize: k, stride: s } = resolveCommon('AdaptiveOrthoConvTranspose2d', options);
  if (k === s) return new RkoConvTranspose2d(options);
  if (s === 1) return new FastBlockConvTranspose2d(options);
  return new BcopRkoConvTranspose2d(options);
}
