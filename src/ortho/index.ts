// The Orthogonium part of orthogonium-ts: reparametrizers, orthogonal
// convolutions (AOC, Adaptive-SOC) and orthogonal linear layers.
export { L2Normalize } from './reparametrizers/l2-normalize.js';
export type { L2NormalizeOptions } from './reparametrizers/l2-normalize.js';
export { BatchedPowerIteration } from './reparametrizers/power-iteration.js';
export type { PowerIterationOptions } from './reparametrizers/power-iteration.js';
export { BatchedBjorckOrthogonalization } from './reparametrizers/bjorck.js';
export type { BjorckOptions } from './reparametrizers/bjorck.js';
export { BatchedQROrthogonalization } from './reparametrizers/qr.js';
export { BatchedCholeskyOrthogonalization } from './reparametrizers/cholesky.js';
export { BatchedExponentialOrthogonalization } from './reparametrizers/exponential.js';
export { BatchedIdentity } from './reparametrizers/identity.js';
export {
  ORTHO_PARAMS_PRESETS, DEFAULT_ORTHO_PARAMS, DEFAULT_TEST_ORTHO_PARAMS, BJORCK_PASS_THROUGH_ORTHO_PARAMS, EXP_ORTHO_PARAMS, QR_ORTHO_PARAMS,
  CHOLESKY_ORTHO_PARAMS, CHOLESKY_STABLE_ORTHO_PARAMS, resolveOrthoParams, orthoParamsFromSpec, canonicalOrthoParamsSpec,
} from './reparametrizers/ortho-params.js';
export type {
  OrthoParams, OrthoParamsName, OrthoParamsLike, OrthoParamsSpec, ReparametrizerFactory, ReparametrizerSpec, ReparametrizerType,
} from './reparametrizers/ortho-params.js';
export { BCOPTrivializer, attachBcopWeight } from './conv/bcop.js';
export { RKOParametrizer, attachRkoWeight } from './conv/rko.js';
export { composeKernels, composeKernelsBatched, blockOrthKernels, transposeKernel } from './conv/kernel-ops.js';
export { OrthoConv2dBase, FastBlockConv2d, RKOConv2d, BcopRkoConv2d } from './conv/ortho-conv.js';
export { OrthoConvTranspose2dBase, FastBlockConvTranspose2d, RkoConvTranspose2d, BcopRkoConvTranspose2d } from './conv/ortho-conv-transpose.js';
export { AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d } from './conv/adaptive.js';
export type { OrthoConv2dOptions, OrthoConvTranspose2dOptions } from './conv/options.js';
export {
  ConvExponential, DEFAULT_EXP_PARAMS, SkewAOLRescale, SkewKernel, attachSocWeight, resolveExpParams, socKernelSize, socTruncationBounds,
} from './conv/soc-kernel.js';
export type { ExpParams } from './conv/soc-kernel.js';
export { FastSOC, SOCRkoConv2d } from './conv/soc.js';
export { SOCTranspose, SOCRkoConvTranspose2d } from './conv/soc-transpose.js';
export { AdaptiveSOCConv2d, AdaptiveSOCConvTranspose2d } from './conv/soc-adaptive.js';
export type { SOCConv2dOptions, SOCConvTranspose2dOptions } from './conv/soc-options.js';
export { OrthoLinear, UnitNormLinear } from './linear/ortho-linear.js';
export type { OrthoLinearOptions } from './linear/ortho-linear.js';
export { toPlainModel } from './plain.js';
export { MaxMin, GroupSort2, Abs, SoftHuber, HouseHolder, HouseHolderOrder2 } from './blocks/activations.js';
export { AdditiveResidual, PrescaledAdditiveResidual, ConcatResidual, L2NormResidual } from './blocks/residual.js';
export type { Branch } from './blocks/residual.js';
export { ScaledAvgPool2d, GlobalScaledAvgPool2d } from './blocks/pooling.js';
export { LayerCentering2D, BatchCentering2D } from './blocks/normalization.js';
export { ChannelShuffle } from './blocks/channel-shuffle.js';
export { aolRescaleRows, aolRowDivisors, AOLReparametrizer, MultiStepAOLReparametrizer, AOLConv2D, AOLConvTranspose2D, AOLLinear } from './aol.js';
export type { AOLReparametrizerOptions, AOLConv2DOptions, AOLConvTranspose2DOptions, AOLLinearOptions } from './aol.js';
export { SDPBasedLipschitzResBlock, SDPBasedLipschitzDense, SLLxAOCLipschitzResBlock, AOCLipschitzResBlock } from './sll.js';
export type { SDPBasedLipschitzResBlockOptions, SDPBasedLipschitzDenseOptions, SLLxAOCLipschitzResBlockOptions, AOCLipschitzResBlockOptions } from './sll.js';
export { convOrthogonal_ } from './conv/init.js';
export type { ConvOrthogonalOptions } from './conv/init.js';
export { linearSingularValues } from './linear/ortho-linear.js';
export type { LinearSingularValues } from './linear/ortho-linear.js';
export {
  convSingularValues, convSpectralNormBound, layerSingularValues, layerSpectralNormBound, getConvSv, operatorMatrix, denseSingularValues,
} from './singular-values.js';
export type {
  ConvSingularValues, ConvOperatorOptions, ConvSpectralNormBoundOptions, ConvLayerLike, ConvLayerWithPadding, GetConvSvOptions, ConvGroupSv, ConvLayerSv,
  OperatorMatrixOptions,
} from './singular-values.js';
// Orthogonium's orthogonium.legacy layers, as ortho.legacy.Cayley, ortho.legacy.SOC, …
export * as legacy from './legacy/index.js';
