// Input validation shared by the losses, certificates, metrics and attacks:
// every bad input is reported with a message naming the function and the
// problem (shape, dtype, value), before libtorch sees it.
import { Tensor, isFloatingDType, noGrad, scope, stack } from '../torch/index.js';

export type LastLayer = 'global' | 'classwise';

const INTEGER_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

const shapeText = (t: Tensor): string => `[${t.shape.join(', ')}]`;

/** Logits must be a floating [N, C] tensor with at least two classes. */
export function checkLogits(where: string, logits: unknown): asserts logits is Tensor {
  if (!(logits instanceof Tensor)) throw new TypeError(`${where}: logits must be a Tensor, got ${describe(logits)}`);
  if (logits.ndim !== 2) throw new RangeError(`${where}: logits must have shape [batch, classes], got ${shapeText(logits)}`);
  if (!isFloatingDType(logits.dtype)) throw new TypeError(`${where}: logits must be a floating-point tensor, got ${logits.dtype}`);
  if (logits.shape[1] < 2) throw new RangeError(`${where}: logits need at least 2 classes, got ${logits.shape[1]}`);
}

/** Labels must be a 1-d integer tensor of class indices, one per logits row. */
export function checkLabels(where: string, labels: unknown, batch: number): asserts labels is Tensor {
  if (!(labels instanceof Tensor)) throw new TypeError(`${where}: labels must be a Tensor of class indices, got ${describe(labels)}`);
  if (!INTEGER_DTYPES.has(labels.dtype)) {
    throw new TypeError(`${where}: labels must be an integer tensor of class indices (int64, int32 …), got ${labels.dtype}` +
      (isFloatingDType(labels.dtype) ? ' (one-hot or float labels are not accepted: pass class indices)' : ''));
  }
  if (labels.ndim !== 1) throw new RangeError(`${where}: labels must be 1-d [batch], got shape ${shapeText(labels)}`);
  if (labels.shape[0] !== batch) {
    throw new RangeError(`${where}: batch sizes differ: ${batch} rows of logits but ${labels.shape[0]} labels`);
  }
}

/** Checks that every label lies in [0, nClasses) (one device round trip). */
export function checkLabelRange(where: string, labels: Tensor, nClasses: number): void {
  if (labels.numel() === 0) return;
  const [lo, hi] = noGrad(() => scope(() => stack([labels.amin(), labels.amax()]).toFlatArray()));
  throwIfOutOfRange(where, lo, hi, nClasses);
}

/** Checks that a floating tensor holds no NaN (and, with `finite`, no ±Infinity). */
export function checkNoNaN(where: string, what: string, t: Tensor, finite = false): void {
  const bad = noGrad(() => scope(() => (finite ? t.isfinite().logicalNot() : t.isnan()).sum().item()));
  throwIfNaN(where, what, bad, finite);
}

/** Thrown when logits or values hold NaN/Inf: the Trainer recognizes it as a diverged step. */
export class NonFiniteValueError extends RangeError {}

function throwIfNaN(where: string, what: string, bad: number, finite = false): void {
  if (bad > 0) {
    throw new NonFiniteValueError(`${where}: ${what} contain ${bad} ${finite ? 'non-finite (NaN or infinite)' : 'NaN'} value${bad === 1 ? '' : 's'}` +
      ' (the model diverged or its input is corrupt)');
  }
}

function throwIfOutOfRange(where: string, lo: number, hi: number, nClasses: number): void {
  if (lo < 0 || hi >= nClasses) {
    const bad = lo < 0 ? lo : hi;
    throw new RangeError(`${where}: label ${bad} is out of range for ${nClasses} classes (labels must be in 0..${nClasses - 1})`);
  }
}

/**
 * Logits and labels together: shapes, dtypes, label range and NaN-free logits
 * (both value checks on by default, read back from the device in one round trip).
 */
export function checkLogitsAndLabels(where: string, logits: unknown, labels: unknown, options: { nan?: boolean; range?: boolean } = {}): void {
  checkLogits(where, logits);
  checkLabels(where, labels, logits.shape[0]);
  const range = (options.range ?? true) && labels.numel() > 0;
  const nan = options.nan ?? true;
  if (range && nan && labels.device === logits.device) {
    const [lo, hi, bad] = noGrad(() => scope(() => stack([
      labels.amin().to('float64'), labels.amax().to('float64'), logits.isnan().sum().to('float64'),
    ]).toFlatArray()));
    throwIfOutOfRange(where, lo, hi, logits.shape[1]);
    throwIfNaN(where, 'logits', bad);
    return;
  }
  if (range) checkLabelRange(where, labels, logits.shape[1]);
  if (nan) checkNoNaN(where, 'logits', logits);
}

export function checkLastLayer(where: string, value: unknown): asserts value is LastLayer {
  if (value !== 'global' && value !== 'classwise') {
    throw new TypeError(`${where}: lastLayer must be 'global' (OrthoLinear head) or 'classwise' (UnitNormLinear head), got ${describe(value)}`);
  }
}

export function checkLipschitz(where: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${where}: lipschitz must be a finite number > 0, got ${describe(value)}`);
  }
}

export function checkEps(where: string, value: unknown, name = 'eps'): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${where}: ${name} must be a finite number > 0, got ${describe(value)}`);
  }
}

export function checkEpsList(where: string, value: unknown): asserts value is number[] {
  if (!Array.isArray(value)) throw new TypeError(`${where}: eps must be an array of radii, got ${describe(value)}`);
  value.forEach((v, i) => checkEps(where, v, `eps[${i}]`));
}

export function checkFinite(where: string, name: string, value: unknown, min = -Infinity): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${where}: ${name} must be a finite number${min > -Infinity ? ` ≥ ${min}` : ''}, got ${describe(value)}`);
  }
}

export function checkPositiveInt(where: string, name: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${where}: ${name} must be an integer ≥ ${min}, got ${describe(value)}`);
  }
}

export function describe(value: unknown): string {
  if (value instanceof Tensor) return `a ${value.dtype} tensor of shape ${shapeText(value)}`;
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `an array`;
  return String(value);
}
