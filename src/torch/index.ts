// The `torch` namespace: the typed tensor engine of orthogonium-ts.
export { Tensor, isDTypeName } from './tensor.js';
export type { Scalar, TensorOrScalar, NestedArray, ReduceOptions, ToOptions, ShapeArgs } from './tensor.js';
export type { DType, TypedArray } from './dtype.js';
export { isFloatingDType, isComplexDType } from './dtype.js';
export * from './creation.js';
export { scope, keep, dispose, scopeDepth } from './scope.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, autocast, withoutAutocast } from './autograd.js';
export type { AutocastOptions, GradOptions } from './autograd.js';
export * as autograd from './autograd.js';
export * from './runtime.js';
export { profile, formatProfile } from './profiler.js';
export type { Profile, OpProfile } from './profiler.js';
export { save, load, loadStateDictFile, saveSafetensors, loadSafetensors } from './serialization.js';
export type { Saveable, Loaded, SafetensorsFile } from './serialization.js';
export { aten, atenSchema } from './dispatch.js';
export * as F from './functional.js';
export * as linalg from './linalg.js';
export * as fft from './fft.js';
