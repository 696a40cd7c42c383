// Loads the exported ONNX model in onnxruntime-web (single-threaded WASM from
// ./ort/, so no cross-origin isolation is needed), reads its certification
// metadata from the file itself, and runs batches of images given as pixels
// in [0, 1]. Runs are queued: a session runs one inference at a time.
import * as ort from 'onnxruntime-web/wasm';
import { readOnnxMetadataProps } from '../../src/serve/onnx-metadata-reader.js';
import { ModelInfo, modelInfoFromMetadata, modelInput } from '../../src/serve/model-info.js';

export interface ModelRunner {
  info: ModelInfo;
  /** Logits per image for `count` images of pixels in [0, 1] (CHW each, concatenated). */
  run(pixels: Float32Array, count: number): Promise<Float32Array[]>;
}

export async function loadModel(url: string): Promise<ModelRunner> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const info = modelInfoFromMetadata(readOnnxMetadataProps(bytes));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const [c, h, w] = info.inputShape;
  let queue: Promise<unknown> = Promise.resolve();
  const runNow = async (pixels: Float32Array, count: number): Promise<Float32Array[]> => {
    if (pixels.length !== count * c * h * w) throw new Error(`expected ${count}×${c}×${h}×${w} pixels, got ${pixels.length}`);
    const input = new ort.Tensor('float32', modelInput(info, pixels), [count, c, h, w]);
    const outputs = await session.run({ [session.inputNames[0]]: input });
    const logits = outputs[session.outputNames[0]];
    const data = logits.data as Float32Array;
    const k = data.length / count;
    return Array.from({ length: count }, (_, i) => data.slice(i * k, (i + 1) * k));
  };
  return {
    info,
    run(pixels, count) {
      const result = queue.then(() => runNow(pixels, count));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}
