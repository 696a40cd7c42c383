// Streaming metrics in the style of torchmetrics: update() once per batch,
// compute() for the value over everything seen since the last reset().
// Counts are kept as exact JS integers, so the result does not depend on how
// the data was split into batches.
import { F, Tensor, isFloatingDType, noGrad, scope } from '../torch/index.js';
import { LastLayer, checkEpsList, checkLabelRange, checkLabels, checkLastLayer, checkLipschitz, checkLogits, checkLogitsAndLabels, checkNoNaN, checkPositiveInt, describe } from './checks.js';
import { certificates } from './certificates.js';

export interface AccuracyOptions {
  /** Number of classes: required for 'macro', and used to check labels and predictions. */
  numClasses?: number;
  /** 'micro' (default): correct / total. 'macro': the mean of per-class recalls over classes seen in labels or predictions. */
  average?: 'micro' | 'macro';
}

/** Multiclass accuracy from logits [N, C] (argmax is taken) or predicted class indices [N]. */
export class Accuracy {
  readonly numClasses: number | undefined;
  readonly average: 'micro' | 'macro';
  private correct = 0;
  private total = 0;
  private perClassCorrect: number[] = [];
  private perClassSupport: number[] = [];
  private perClassPredicted: number[] = [];
  private latest = NaN;

  constructor(options: AccuracyOptions = {}) {
    const { numClasses, average = 'micro' } = options;
    if (numClasses !== undefined) checkPositiveInt('Accuracy', 'numClasses', numClasses, 2);
    if (average !== 'micro' && average !== 'macro') throw new TypeError(`Accuracy: average must be 'micro' or 'macro', got ${describe(average)}`);
    if (average === 'macro' && numClasses === undefined) throw new TypeError("Accuracy: average 'macro' needs numClasses");
    this.numClasses = numClasses;
    this.average = average;
    this.reset();
  }

  /** Adds a batch; returns the batch's own (micro) accuracy. */
  update(logitsOrPreds: Tensor, labels: Tensor): number {
    const where = 'Accuracy.update';
    if (!(logitsOrPreds instanceof Tensor)) throw new TypeError(`${where}: expected logits or predictions as a Tensor, got ${describe(logitsOrPreds)}`);
    const isLogits = logitsOrPreds.ndim === 2 && isFloatingDType(logitsOrPreds.dtype);
    let classes = this.numClasses;
    if (isLogits) {
      checkLogits(where, logitsOrPreds);
      if (classes !== undefined && logitsOrPreds.shape[1] !== classes) {
        throw new RangeError(`${where}: built for ${classes} classes but the logits have ${logitsOrPreds.shape[1]}`);
      }
      classes = logitsOrPreds.shape[1];
      checkNoNaN(where, 'logits', logitsOrPreds);
    } else {
      checkLabels(where + ' (predictions)', logitsOrPreds, logitsOrPreds.ndim === 1 ? logitsOrPreds.shape[0] : -1);
      if (classes !== undefined) checkLabelRange(where + ' (predictions)', logitsOrPreds, classes);
    }
    checkLabels(where, labels, logitsOrPreds.shape[0]);
    if (classes !== undefined) checkLabelRange(where, labels, classes);
    const n = labels.shape[0];
    if (n === 0) return NaN;
    return noGrad(() => scope(() => {
      const preds = (isLogits ? logitsOrPreds.argmax(1) : logitsOrPreds).to({ dtype: 'int64', device: labels.device });
      const target = labels.to('int64');
      const hits = preds.eq(target);
      const correct = hits.sum().item();
      this.correct += correct;
      this.total += n;
      if (this.average === 'macro') {
        const c = this.numClasses!;
        const support = F.oneHot(target, c).sum(0).toFlatArray();
        const predicted = F.oneHot(preds, c).sum(0).toFlatArray();
        const tp = F.oneHot(target, c).mul(hits.unsqueeze(1)).sum(0).toFlatArray();
        for (let k = 0; k < c; k++) {
          this.perClassSupport[k] += support[k];
          this.perClassPredicted[k] += predicted[k];
          this.perClassCorrect[k] += tp[k];
        }
      }
      this.latest = correct / n;
      return this.latest;
    }));
  }

  /** The latest update's own accuracy (what LightningModule.log reports per step; NaN before any). */
  get batchValue(): number { return this.latest; }
  /** Samples behind compute(): the weight of this accuracy when ranks are averaged. */
  get weight(): number { return this.total; }

  /** Accuracy over everything since the last reset (NaN before any sample). */
  compute(): number {
    if (this.total === 0) return NaN;
    if (this.average === 'micro') return this.correct / this.total;
    let sum = 0;
    let classes = 0;
    for (let k = 0; k < this.numClasses!; k++) {
      if (this.perClassSupport[k] === 0 && this.perClassPredicted[k] === 0) continue;
      classes++;
      if (this.perClassSupport[k] > 0) sum += this.perClassCorrect[k] / this.perClassSupport[k];
    }
    return sum / classes;
  }

  /** How many samples have been seen since the last reset. */
  get count(): number { return this.total; }

  reset(): void {
    this.correct = 0;
    this.total = 0;
    this.latest = NaN;
    const c = this.numClasses ?? 0;
    this.perClassCorrect = new Array(c).fill(0);
    this.perClassSupport = new Array(c).fill(0);
    this.perClassPredicted = new Array(c).fill(0);
  }
}

/** Weighted mean of values: Σ w·v / Σ w. NaN values are an error unless nanStrategy is 'ignore'. */
export class MeanMetric {
  private weightedSum = 0;
  private weightTotal = 0;
  private latest = NaN;
  readonly nanStrategy: 'error' | 'ignore';

  constructor(options: { nanStrategy?: 'error' | 'ignore' } = {}) {
    const { nanStrategy = 'error' } = options;
    if (nanStrategy !== 'error' && nanStrategy !== 'ignore') throw new TypeError(`MeanMetric: nanStrategy must be 'error' or 'ignore', got ${describe(nanStrategy)}`);
    this.nanStrategy = nanStrategy;
  }

  /**
   * Adds values (a number, an array, or a tensor of any shape) with a weight
   * (a number applied to every value, or one weight per value).
   */
  update(value: number | number[] | Tensor, weight: number | number[] | Tensor = 1): void {
    const where = 'MeanMetric.update';
    const values = toNumbers(where, 'value', value);
    let weights = toNumbers(where, 'weight', weight);
    if (weights.length === 1 && values.length !== 1) weights = new Array(values.length).fill(weights[0]);
    if (weights.length !== values.length) {
      throw new RangeError(`${where}: ${values.length} values but ${weights.length} weights (give one weight, or one per value)`);
    }
    let sum = 0;
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const w = weights[i];
      if (!Number.isFinite(w) || w < 0) throw new RangeError(`${where}: weights must be finite and ≥ 0, got ${w}`);
      if (Number.isNaN(v)) {
        if (this.nanStrategy === 'ignore') continue;
        throw new RangeError(`${where}: value ${i} is NaN (pass { nanStrategy: 'ignore' } to skip NaN values)`);
      }
      sum += v * w;
      total += w;
    }
    this.weightedSum += sum;
    this.weightTotal += total;
    this.latest = total === 0 ? NaN : sum / total;
  }

  /** The weighted mean since the last reset (NaN when the total weight is 0). */
  compute(): number { return this.weightTotal === 0 ? NaN : this.weightedSum / this.weightTotal; }
  get totalWeight(): number { return this.weightTotal; }
  /** The latest update's own weighted mean (what LightningModule.log reports per step; NaN before any). */
  get batchValue(): number { return this.latest; }
  /** The total weight behind compute(), used when ranks are averaged. */
  get weight(): number { return this.weightTotal; }
  reset(): void {
    this.weightedSum = 0;
    this.weightTotal = 0;
    this.latest = NaN;
  }
}

function toNumbers(where: string, name: string, value: number | number[] | Tensor): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) {
    value.forEach((v, i) => { if (typeof v !== 'number') throw new TypeError(`${where}: ${name}[${i}] is not a number: ${describe(v)}`); });
    return value;
  }
  if (value instanceof Tensor) {
    if (value.dtype === 'bool') return noGrad(() => scope(() => value.to('float64').toFlatArray()));
    return noGrad(() => value.detach().toFlatArray());
  }
  throw new TypeError(`${where}: ${name} must be a number, an array of numbers or a Tensor, got ${describe(value)}`);
}

export interface CertifiedAccuracyOptions {
  /** Radii at which to report certified accuracy (each > 0). */
  eps: number[];
  /** 'global' (OrthoLinear head) or 'classwise' (UnitNormLinear head). */
  lastLayer: LastLayer;
  /** Lipschitz constant of the model from its input (default 1). */
  lipschitz?: number;
}

export interface CertifiedAccuracyResult {
  /** Samples seen since the last reset. */
  samples: number;
  /** Fraction predicted correctly (argmax). */
  cleanAccuracy: number;
  /** Fraction whose certificate exceeds each eps (certified and correct). */
  certified: { eps: number; accuracy: number }[];
}

/** Clean and certified accuracy at a list of radii, accumulated over batches. */
export class CertifiedAccuracy {
  readonly eps: number[];
  readonly lastLayer: LastLayer;
  readonly lipschitz: number;
  private samples = 0;
  private correct = 0;
  private certifiedCounts: number[];

  constructor(options: CertifiedAccuracyOptions) {
    const where = 'CertifiedAccuracy';
    if (options === undefined || options === null) throw new TypeError(`${where}: options { eps, lastLayer } are required`);
    const { eps, lastLayer, lipschitz = 1 } = options;
    checkEpsList(where, eps);
    checkLastLayer(where, lastLayer);
    checkLipschitz(where, lipschitz);
    this.eps = [...eps];
    this.lastLayer = lastLayer;
    this.lipschitz = lipschitz;
    this.certifiedCounts = this.eps.map(() => 0);
  }

  update(logits: Tensor, labels: Tensor): void {
    checkLogitsAndLabels('CertifiedAccuracy.update', logits, labels, { nan: true });
    const n = logits.shape[0];
    if (n === 0) return;
    const { correct, counts } = noGrad(() => scope(() => {
      const certs = certificates(logits, labels, { lastLayer: this.lastLayer, lipschitz: this.lipschitz });
      const hits = logits.argmax(1).eq(labels.to({ dtype: 'int64', device: logits.device })).sum().item();
      const epsList = this.eps;
      const counted = epsList.map((e) => certs.gt(e).sum().item());
      return { correct: hits, counts: counted };
    }));
    this.samples += n;
    this.correct += correct;
    counts.forEach((c, i) => { this.certifiedCounts[i] += c; });
  }

  compute(): CertifiedAccuracyResult {
    const frac = (k: number): number => (this.samples === 0 ? NaN : k / this.samples);
    return {
      samples: this.samples,
      cleanAccuracy: frac(this.correct),
      certified: this.eps.map((eps, i) => ({ eps, accuracy: frac(this.certifiedCounts[i]) })),
    };
  }

  reset(): void {
    this.samples = 0;
    this.correct = 0;
    this.certifiedCounts = this.eps.map(() => 0);
  }
}
