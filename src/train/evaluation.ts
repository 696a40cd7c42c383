// Evaluation of a trained classifier on a whole split: accuracy, mean loss
// and certified accuracy at several radii from one forward pass per chunk.
import { Tensor, noGrad, scope, tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { CertifiedAccuracy, LastLayer, certificates, resolveLastLayer } from '../losses/index.js';
import { ArrayImageDataset, datasetTensors } from '../data/index.js';
import type { LossModule } from './classification-module.js';

/** A split as float tensors normalized with (x/255 − mean)/std, and int64 labels; the first `limit` images only when given. */
export function normalizedSplit(ds: ArrayImageDataset, mean: number[], std: number[], limit?: number): { x: Tensor; y: Tensor } {
  if (ds.channels !== mean.length || mean.length !== std.length) {
    throw new Error(`the images have ${ds.channels} channel(s) but the normalization has ${mean.length} mean and ${std.length} std values`);
  }
  return scope(() => {
    let { images, labels } = datasetTensors(ds);
    if (limit !== undefined && limit < images.shape[0]) {
      images = images.narrow(0, 0, limit);
      labels = labels.narrow(0, 0, limit);
    }
    const shape = [1, mean.length, 1, 1];
    return { x: images.float().div(255).sub(tensor(mean).view(shape)).div(tensor(std).view(shape)), y: labels.contiguous() };
  });
}

export interface EvaluationResult {
  samples: number;
  accuracy: number;
  /** Mean loss (null when no loss was given). */
  loss: number | null;
  certified: { eps: number; accuracy: number }[];
  lastLayer: LastLayer;
  lipschitz: number;
  /** Certified radius of every sample (≤ 0 when misclassified), for the certified-accuracy curve. */
  radii: number[];
}

export interface EvaluateOptions {
  eps: number[];
  lipschitz: number;
  lastLayer?: LastLayer | 'auto';
  loss?: LossModule | null;
  batchSize?: number;
  device?: string;
}

/** Runs `model` (in eval mode, no gradients) over the split in chunks. */
export function evaluateSplit(model: Module, split: { x: Tensor; y: Tensor }, o: EvaluateOptions): EvaluationResult {
  const lastLayer = resolveLastLayer(model, o.lastLayer ?? 'auto', 'evaluate');
  const metric = new CertifiedAccuracy({ eps: o.eps, lastLayer, lipschitz: o.lipschitz });
  const batch = o.batchSize ?? 1000;
  const n = split.x.shape[0];
  let lossSum = 0;
  const radii: number[] = [];
  model.eval();
  noGrad(() => {
    for (let start = 0; start < n; start += batch) {
      scope(() => {
        const size = Math.min(batch, n - start);
        let x = split.x.narrow(0, start, size);
        let y = split.y.narrow(0, start, size);
        if (o.device && o.device !== 'cpu') {
          x = x.to({ device: o.device });
          y = y.to({ device: o.device });
        }
        const logits = (model.forward(x) as Tensor).float();
        metric.update(logits, y);
        for (const r of certificates(logits, y, { lastLayer, lipschitz: o.lipschitz }).cpu().toArray() as number[]) radii.push(r);
        if (o.loss) lossSum += (o.loss.forward(logits, y) as Tensor).item() * size;
      });
    }
  });
  const result = metric.compute();
  return { samples: result.samples, accuracy: result.cleanAccuracy, loss: o.loss ? lossSum / Math.max(1, n) : null, certified: result.certified, lastLayer, lipschitz: o.lipschitz, radii };
}

/** "clean accuracy 86.80% · VRA 36/255 68.24% · …" as lines for the console. */
export function formatEvaluation(r: EvaluationResult, label: string): string[] {
  const lines = [`${label}: ${r.samples} images, ${r.lastLayer} head, L = ${r.lipschitz.toFixed(4)}`];
  lines.push(`accuracy               ${(100 * r.accuracy).toFixed(2)}%`);
  if (r.loss !== null) lines.push(`loss                   ${r.loss.toFixed(4)}`);
  for (const { eps, accuracy } of r.certified) {
    lines.push(`VRA at ε = ${`${(eps * 255).toFixed(1).replace(/\.0$/, '')}/255`.padEnd(9)}  ${(100 * accuracy).toFixed(2)}%`);
  }
  return lines;
}
