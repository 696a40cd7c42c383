// Certification of a whole data set: run the model in eval mode without
// gradients, batch by batch (each in its own scope), and report each
// sample's prediction, label and certified radius, plus clean and certified
// accuracy at a list of radii.
import { Tensor, noGrad, scope, withFullFloat32Precision } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { LastLayer, checkEpsList, checkLipschitz, checkLogitsAndLabels, checkPositiveInt, describe } from './checks.js';
import { certificates, lastLayerType } from './certificates.js';

export interface Batch { x: Tensor; y: Tensor }

export interface CertifyOptions {
  /** Radii at which certified accuracy is reported (each > 0). */
  eps: number[];
  /** Lipschitz constant of the model from its input (default 1; see lipschitzFromStd). */
  lipschitz?: number;
  /** The head type; 'auto' (default) finds it with lastLayerType and fails when it is unknown. */
  lastLayer?: LastLayer | 'auto';
  /** Splits each given batch into chunks of at most this many samples (default: as given). */
  batchSize?: number;
  /** Moves each input batch to this device before the forward pass (default: leave it where it is). */
  device?: string;
  /** Called with each chunk's logits and labels inside the chunk's scope (e.g. to add up a loss from the same forward pass). */
  onLogits?: (logits: Tensor, labels: Tensor) => void;
}

export interface CertifyResult {
  predictions: number[];
  labels: number[];
  /** Certified L2 radius per sample; ≤ 0 for misclassified samples. */
  radii: number[];
  cleanAccuracy: number;
  certifiedAccuracy: { eps: number; accuracy: number }[];
  /** The head type and Lipschitz constant the radii were computed with. */
  lastLayer: LastLayer;
  lipschitz: number;
}

/** Resolves 'auto' (or undefined) to the model's head type, with a clear error when it cannot be told. */
export function resolveLastLayer(model: Module, lastLayer: LastLayer | 'auto' | undefined, where = 'certify'): LastLayer {
  if (lastLayer === 'global' || lastLayer === 'classwise') return lastLayer;
  if (lastLayer !== undefined && lastLayer !== 'auto') {
    throw new TypeError(`${where}: lastLayer must be 'global', 'classwise' or 'auto', got ${describe(lastLayer)}`);
  }
  const found = lastLayerType(model);
  if (found === 'unknown') {
    throw new Error(`${where}: cannot tell the model's head type: its last linear layer is neither an OrthoLinear ('global' certificates) ` +
      `nor a UnitNormLinear ('classwise'), so no certificate is valid for it by construction; pass lastLayer explicitly only if you know the model is 1-Lipschitz`);
  }
  return found;
}

/** A batch, or a slice [start, start + length) of one, narrowed only when taken (inside the caller's scope). */
interface Piece { batch: Batch; start: number; length: number; whole: boolean }

const take = (p: Piece): Batch => (p.whole ? p.batch : { x: p.batch.x.narrow(0, p.start, p.length), y: p.batch.y.narrow(0, p.start, p.length) });

function* batchesOf(data: Iterable<Batch> | Batch, batchSize: number | undefined): Generator<Piece> {
  const isSingle = data !== null && typeof data === 'object' && 'x' in data && 'y' in data;
  const source: Iterable<Batch> = isSingle ? [data as Batch] : (data as Iterable<Batch>);
  if (source === null || typeof (source as Iterable<Batch>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`certify: data must be { x, y } or an iterable of { x, y } batches, got ${describe(data)}`);
  }
  let index = 0;
  for (const batch of source) {
    if (batch === null || typeof batch !== 'object' || !(batch.x instanceof Tensor) || !(batch.y instanceof Tensor)) {
      throw new TypeError(`certify: batch ${index} must be { x: Tensor, y: Tensor }, got ${describe(batch)}`);
    }
    const n = batch.x.shape[0];
    if (batch.y.shape[0] !== n) throw new RangeError(`certify: batch ${index} has ${n} inputs but ${batch.y.shape[0]} labels`);
    if (batchSize === undefined || n <= batchSize) yield { batch, start: 0, length: n, whole: true };
    else {
      for (let start = 0; start < n; start += batchSize) yield { batch, start, length: Math.min(batchSize, n - start), whole: false };
    }
    index++;
  }
}

/**
 * Certifies a model on data. The model is put in eval mode for the run and
 * its previous mode restored afterwards (an AdamWScheduleFree optimizer must
 * be switched to eval by the caller, as for any evaluation).
 */
export function certify(model: Module, data: Iterable<Batch> | Batch, options: CertifyOptions): CertifyResult {
  const where = 'certify';
  if (!(model instanceof Module)) throw new TypeError(`${where}: model must be a Module, got ${describe(model)}`);
  if (options === undefined || options === null) throw new TypeError(`${where}: options { eps: [...] } are required`);
  const { eps, lipschitz = 1, batchSize, device } = options;
  checkEpsList(where, eps);
  checkLipschitz(where, lipschitz);
  if (batchSize !== undefined) checkPositiveInt(where, 'batchSize', batchSize);
  const lastLayer = resolveLastLayer(model, options.lastLayer, where);

  const predictions: number[] = [];
  const labels: number[] = [];
  const radii: number[] = [];
  const certifyPiece = (piece: Piece) => scope(() => noGrad(() => {
    const batch = take(piece);
    const x = device === undefined ? batch.x : batch.x.to({ device });
    const logits = model.forward(x) as Tensor;
    const y = batch.y;
    checkLogitsAndLabels(`${where} (batch ${predictions.length}..)`, logits, y, { nan: true });
    const r = certificates(logits, y, { lastLayer, lipschitz });
    predictions.push(...logits.argmax(1).toFlatArray());
    labels.push(...y.toFlatArray());
    radii.push(...r.toFlatArray());
    options.onLogits?.(logits, y);
  }));
  const wasTraining = model.training;
  model.eval();
  try {
    // Full float32 on a GPU: TF32 logits are off by ~1e-3, enough to overstate a radius.
    withFullFloat32Precision(() => { for (const piece of batchesOf(data, batchSize)) certifyPiece(piece); });
  } finally {
    model.train(wasTraining);
  }
  const n = labels.length;
  const frac = (k: number): number => (n === 0 ? NaN : k / n);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === labels[i]) correct++;
  return {
    predictions,
    labels,
    radii,
    cleanAccuracy: frac(correct),
    certifiedAccuracy: eps.map((e) => ({ eps: e, accuracy: frac(radii.filter((r) => r > e).length) })),
    lastLayer,
    lipschitz,
  };
}
