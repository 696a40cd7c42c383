// Evaluation of a trained classifier on a whole split: accuracy, mean loss
// and certified accuracy at several radii from one forward pass per chunk
// (certify() with the loss added up on the side).
import { Tensor, scope, tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { LastLayer, certify } from '../losses/index.js';
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

/** certify() over the split in chunks, adding up the loss from the same forward passes. */
export function evaluateSplit(model: Module, split: { x: Tensor; y: Tensor }, o: EvaluateOptions): EvaluationResult {
  const loss = o.loss ?? null;
  let lossSum = 0;
  const report = certify(model, split, {
    eps: o.eps, lipschitz: o.lipschitz, lastLayer: o.lastLayer ?? 'auto', batchSize: o.batchSize ?? 1000, device: o.device,
    onLogits: loss ? (logits, y) => { lossSum += (loss.forward(logits, y.to({ device: logits.device })) as Tensor).item() * y.shape[0]; } : undefined,
  });
  const n = report.labels.length;
  return {
    samples: n, accuracy: report.cleanAccuracy, loss: loss ? lossSum / Math.max(1, n) : null, certified: report.certifiedAccuracy,
    lastLayer: report.lastLayer, lipschitz: report.lipschitz, radii: report.radii,
  };
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
