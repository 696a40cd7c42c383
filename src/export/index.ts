// Export of trained networks: plain weights (safetensors, .pt) with a JSON
// description of the architecture, and ONNX graphs for other runtimes.
export { exportOnnx, saveOnnx, readOnnxMetadata, supportedOnnxModules, ONNX_OPSET } from './onnx-export.js';
export type { OnnxExportOptions } from './onnx-export.js';
export { describePlainModel, PLAIN_TYPE_DOCS } from './plain-describe.js';
export type { PlainNode, PlainDescription } from './plain-describe.js';
export { savePlainModel, architecturePathFor, PLAIN_FORMAT } from './plain-export.js';
export type { PlainExportOptions, PlainArchitecture, PlainWeightsFormat } from './plain-export.js';
export { DATASET_CLASS_NAMES, classNamesFor } from './class-names.js';
