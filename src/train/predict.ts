// Trainer.predict's loop and outputs, and the checkpoint a validate / test /
// predict run loads (Lightning's ckpt_path: 'best', 'last' or a file).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Tensor, keep, noGrad, scope } from '../torch/index.js';
import type { Batch } from '../data/index.js';
import type { Callback } from './callbacks/callback.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { disposeDeep } from './checkpoint.js';
import type { LightningModule } from './lightning-module.js';
import type { PrecisionPlugin } from './precision.js';
import type { ProgressBar } from './progress.js';
import type { Loader } from './data-source.js';

/** What the predict loop needs from the Trainer running it. */
export interface PredictContext {
  readonly precision: PrecisionPlugin;
  readonly progress: ProgressBar | null;
  toDevice(batch: Batch): Batch;
}

/** module.predictStep on the first `total` batches of the loader, in eval mode under the precision's autocast; the outputs per batch. */
export async function runPredictLoop(ctx: PredictContext, module: LightningModule, loader: Loader, total: number): Promise<unknown[]> {
  const { precision, progress } = ctx;
  module.eval();
  progress?.begin('predicting', loader.length);
  const outputs = await predictBatches(loader, (batch, index) => {
    const onDevice = ctx.toDevice(batch);
    module.currentBatchSize = onDevice.x.shape[0];
    return precision.forward(() => module.predictStep(onDevice, index));
  }, (index) => progress?.update(index, {}), total);
  progress?.end();
  return outputs;
}

/**
 * What predictStep returned, kept out of the batch's scope: its tensors
 * (alone, or in arrays and plain objects) survive; one that is the batch's own
 * input, which the Trainer frees, is copied.
 */
export function collectPrediction(value: unknown, batch: Batch): unknown {
  if (value instanceof Tensor) return keep(value === batch.x || value === batch.y ? value.clone() : value);
  if (Array.isArray(value)) return value.map((v) => collectPrediction(v, batch));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, collectPrediction(v, batch)]));
  }
  return value;
}

/**
 * Runs `step` on every batch without gradients, each in a scope of its own
 * (the batch freed after it), keeping what it returns; `afterBatch` sees each
 * index. On an error the outputs so far are freed.
 */
export async function predictBatches(batches: AsyncIterable<Batch>, step: (batch: Batch, index: number) => unknown,
  afterBatch: (index: number) => void, total = Infinity): Promise<unknown[]> {
  const outputs: unknown[] = [];
  try {
    let index = 0;
    if (total <= 0) return outputs;
    for await (const batch of batches) {
      try {
        outputs.push(noGrad(() => scope(() => collectPrediction(step(batch, index), batch))));
      } finally {
        batch.x.dispose();
        batch.y?.dispose();
      }
      index++;
      afterBatch(index);
      await yieldToEventLoop();
      if (index >= total) break;
    }
    return outputs;
  } catch (error) {
    disposeDeep(outputs);
    throw error;
  }
}

/** The per-batch outputs joined along dimension 0 (they must all be tensors); the parts are freed. */
export function concatPredictions(outputs: unknown[], cat: (tensors: Tensor[], dim: number) => Tensor): Tensor {
  const bad = outputs.findIndex((o) => !(o instanceof Tensor));
  if (bad >= 0) {
    for (const o of outputs) if (o instanceof Tensor) o.dispose();
    throw new TypeError(`Trainer.predict: concat needs predictStep to return a tensor per batch; batch ${bad} gave ${typeof outputs[bad]}`);
  }
  if (outputs.length === 0) throw new Error('Trainer.predict: concat of no batches (the loader is empty)');
  const parts = outputs as Tensor[];
  const joined = keep(cat(parts, 0));
  for (const t of parts) t.dispose();
  return joined;
}

/** The file a ckptPath names: 'best' (a ModelCheckpoint's best), 'last' (its last.ckpt, else the Trainer's last save), or a path. */
export function resolveCkptPath(ckptPath: string, callbacks: readonly Callback[], lastSaved: string, where: string): string {
  if (typeof ckptPath !== 'string' || ckptPath.length === 0) throw new TypeError(`${where}: ckptPath must be 'best', 'last' or a file path, got ${JSON.stringify(ckptPath)}`);
  const checkpoints = callbacks.filter((c): c is ModelCheckpoint => c instanceof ModelCheckpoint);
  if (ckptPath === 'best') {
    if (checkpoints.length === 0) throw new Error(`${where}: ckptPath 'best' needs a ModelCheckpoint callback on this Trainer (or pass a file path)`);
    const best = checkpoints.find((c) => c.bestModelPath)?.bestModelPath;
    if (!best) throw new Error(`${where}: ckptPath 'best': the ModelCheckpoint has not saved a checkpoint yet (run fit first, or pass a file path)`);
    return best;
  }
  if (ckptPath === 'last') {
    const last = checkpoints.find((c) => c.lastModelPath)?.lastModelPath || lastSaved;
    if (!last) throw new Error(`${where}: ckptPath 'last': this Trainer has saved no checkpoint yet (run fit first, or pass a file path)`);
    return last;
  }
  return ckptPath;
}
