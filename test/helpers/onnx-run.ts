// Runs ONNX bytes in onnxruntime-node on a tensor of ours and returns the
// first output as a tensor (float32, CPU).
import { createRequire } from 'node:module';
import * as torch from '../../src/torch/index.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

export async function runOnnx(bytes: Uint8Array, x: torch.Tensor, inputName = 'input'): Promise<torch.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const data = x.float().contiguous().dataSync() as Float32Array;
    const result = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(data), x.shape) });
    const out = result[session.outputNames[0]];
    return torch.fromTypedArray(Float32Array.from(out.data as Float32Array), out.dims.map(Number));
  } finally {
    await session.release();
  }
}
