// Export of trained networks: plain weights (safetensors, .pt) with a JSON
// description of the architecture, and ONNX graphs for other runtimes.
export { exportOnnx, saveOnnx, readOnnxMetadata, supportedOnnxModules, ONNX_OPSET } from './onnx-export.js';
export type { OnnxExportOptions } from './onnx-export.js';
