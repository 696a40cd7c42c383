// Model construction: ClassParam, the architecture factory and named presets.
export { ClassParam, registerLayer, registeredLayers, flattenConfig } from './class-param.js';
export type { ClassParamSpec, FlatValue, LayerFactory, LayerOptions } from './class-param.js';
export { FactoryModel } from './factory-model.js';
export type { ModelConfig, LayerParam } from './factory-model.js';
export { PatchBasedExpandedCNN, ConvMixerInspired } from './architectures.js';
export type { PatchBasedExpandedCNNOptions, ConvMixerInspiredOptions } from './architectures.js';
export * from './architectures-staged.js';
export { SLLxBCOPResNet50 } from './architectures-sll.js';
export type { SLLxBCOPResNet50Options } from './architectures-sll.js';
export { buildModel, architectureNames } from './registry.js';
export { MODEL_PRESETS, buildPreset } from './presets.js';
export { summary, SummaryError, SUMMARY_COLUMNS } from './summary.js';
export type { SummaryOptions, SummaryLayer, SummaryTotals, ModelSummary, SummaryColumn } from './summary.js';
export { readModelConfigFile } from './config-file.js';
