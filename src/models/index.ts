// Model construction: ClassParam, the architecture factory and named presets.
export { ClassParam, registerLayer, registeredLayers } from './class-param.js';
export type { ClassParamSpec, LayerFactory, LayerOptions } from './class-param.js';
export { FactoryModel, PatchBasedExpandedCNN, ConvMixerInspired, buildModel, architectureNames } from './architectures.js';
export type { ModelConfig, PatchBasedExpandedCNNOptions, ConvMixerInspiredOptions } from './architectures.js';
export { MODEL_PRESETS, buildPreset } from './presets.js';
export { summary, SummaryError, SUMMARY_COLUMNS } from './summary.js';
export type { SummaryOptions, SummaryLayer, SummaryTotals, ModelSummary, SummaryColumn } from './summary.js';
