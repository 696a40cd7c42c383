// torch.nn for orthogonium-ts: modules, containers, layers, initializers, parametrizations.
export { Module, StateDictError } from './module.js';
export type { StateDict, LoadResult } from './module.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { Linear } from './layers/linear.js';
export type { LinearOptions } from './layers/linear.js';
export { Conv2d, ConvTranspose2d, conv2dWithMode, explicitPads } from './layers/conv.js';
export type { Conv2dOptions, ConvTranspose2dOptions, PaddingMode } from './layers/conv.js';
export { Identity, Flatten, ReLU, Dropout, AvgPool2d, MaxPool2d, AdaptiveAvgPool2d } from './layers/basic.js';
export type { AvgPool2dOptions } from './layers/basic.js';
export * as init from './init.js';
export * as parametrize from './parametrize.js';
export { Parametrization, registerParametrization, removeParametrization, cached } from './parametrize.js';
export { DerivedCache } from './derived-cache.js';
export { clipGradNorm_, clipGradValue_ } from './clip-grad.js';
