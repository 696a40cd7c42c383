// torch.nn for orthogonium-ts: modules, containers, layers, initializers, parametrizations.
export { Module, StateDictError } from './module.js';
export type { StateDict, LoadResult } from './module.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { Linear } from './layers/linear.js';
export type { LinearOptions } from './layers/linear.js';
export { Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, checkPaddingMode, conv2dWithMode, explicitPads, explicitPadsNd } from './layers/conv.js';
export type { Conv1dOptions, Conv2dOptions, Conv3dOptions, ConvTranspose1dOptions, ConvTranspose2dOptions, ConvTranspose3dOptions, PaddingMode } from './layers/conv.js';
export { BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm, GroupNorm } from './layers/normalization.js';
export type { BatchNormOptions, InstanceNormOptions, LayerNormOptions, GroupNormOptions } from './layers/normalization.js';
export { GELU, SiLU, LeakyReLU, ELU, PReLU, Tanh, Sigmoid, Softplus, Hardswish, Mish, Softmax, LogSoftmax } from './layers/activation.js';
export { Dropout2d, Upsample, Unflatten, ZeroPad2d, PixelShuffle, PixelUnshuffle } from './layers/reshape.js';
export type { UpsampleOptions } from './layers/reshape.js';
export { MSELoss, L1Loss, SmoothL1Loss, HuberLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss } from './layers/losses.js';
export { Identity, Flatten, ReLU, Dropout } from './layers/basic.js';
export {
  AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d,
  AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d,
} from './layers/pooling.js';
export type { AvgPool1dOptions, AvgPool2dOptions, AvgPool3dOptions, MaxPoolOptions } from './layers/pooling.js';
export * as init from './init.js';
export * as parametrize from './parametrize.js';
export { Parametrization, registerParametrization, removeParametrization, cached } from './parametrize.js';
export { DerivedCache } from './derived-cache.js';
export { clipGradNorm_, clipGradValue_ } from './clip-grad.js';
