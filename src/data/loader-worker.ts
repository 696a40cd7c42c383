// A DataLoader worker thread: rebuilds the transform from its spec, then
// builds the batches it is asked for and sends them back (buffers transferred).
import { parentPort, workerData } from 'node:worker_threads';
import { batchRng, buildBatch, ImageSource } from './batch.js';
import { transformFromSpec, TransformSpec } from './transforms.js';

export interface WorkerInit {
  /** Shared pixel and label arrays, or the file list. */
  source: ImageSource;
  transform: TransformSpec | null;
  seed: number;
}

export interface WorkerTask { id: number; epoch: number; batchIndex: number; indices: Int32Array }

const init = workerData as WorkerInit;
const source = init.source;
let transform: ReturnType<typeof transformFromSpec> | null = null;
let setupError: string | null = null;
try {
  transform = init.transform ? transformFromSpec(init.transform) : null;
} catch (error) {
  setupError = (error as Error).message;
}

parentPort!.on('message', (task: WorkerTask) => {
  if (setupError !== null) {
    parentPort!.postMessage({ id: task.id, error: setupError });
    return;
  }
  try {
    const batch = buildBatch(source, task.indices, transform, batchRng(init.seed, task.epoch, task.batchIndex));
    parentPort!.postMessage({ id: task.id, batch }, [batch.x.buffer as ArrayBuffer, batch.y.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id: task.id, error: (error as Error).stack ?? String(error) });
  }
});
