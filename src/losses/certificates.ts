// Robustness certificates of Lipschitz classifiers. If every logit
// difference f_y − f_i is K-Lipschitz in the input (L2), no perturbation of
// norm below (f_y − max_{i≠y} f_i) / K can change the prediction. For a
// model that is L-Lipschitz as a whole (OrthoLinear head) K = √2·L; when only
// each logit is L-Lipschitz (UnitNormLinear head) K = 2·L. Everything here
// runs on the logits' own device.
import { Tensor, noGrad, scope } from '../torch/index.js';
import { Linear, Module } from '../nn/index.js';
import { OrthoLinear, UnitNormLinear } from '../ortho/index.js';
import { LastLayer, checkEps, checkLastLayer, checkLipschitz, checkLogitsAndLabels } from './checks.js';
import { certificateDenominator, trueAndRunnerUp } from './losses.js';

export type { LastLayer } from './checks.js';

export interface CertificateOptions {
  /** 'global' (OrthoLinear head: divide by √2·L) or 'classwise' (UnitNormLinear head: 2·L). */
  lastLayer: LastLayer;
  /** Lipschitz constant of the model from its input (default 1); see lipschitzFromStd. */
  lipschitz?: number;
}

/**
 * Per-sample certified L2 radius [N] (same dtype and device as the logits):
 * (f_y − max_{i≠y} f_i) / (√2·L) or / (2·L). Negative for misclassified
 * samples, 0 for ties. Carries no gradient.
 */
export function certificates(logits: Tensor, labels: Tensor, options: CertificateOptions): Tensor {
  const where = 'certificates';
  if (options === undefined || options === null) throw new TypeError(`${where}: options { lastLayer: 'global' | 'classwise' } are required`);
  const { lastLayer, lipschitz = 1 } = options;
  checkLastLayer(where, lastLayer);
  checkLipschitz(where, lipschitz);
  checkLogitsAndLabels(where, logits, labels, { nan: true });
  return noGrad(() => scope(() => {
    const { fy, fOther } = trueAndRunnerUp(logits, labels);
    return fy.sub(fOther).div(certificateDenominator(lastLayer, lipschitz));
  }));
}

export interface VRAOptions extends CertificateOptions {
  /** The radius to verify (> 0). */
  eps: number;
}

/** A bool tensor [N]: true where the certificate exceeds eps (never true for a misclassified sample). */
export function verified(logits: Tensor, labels: Tensor, options: VRAOptions): Tensor {
  checkEps('vra', options?.eps);
  return noGrad(() => scope(() => certificates(logits, labels, options).gt(options.eps)));
}

/** Verified robust accuracy: the fraction of samples whose certificate exceeds eps. */
export function vra(logits: Tensor, labels: Tensor, options: VRAOptions): number {
  const n = logits instanceof Tensor ? logits.shape[0] : 0;
  const count = noGrad(() => scope(() => verified(logits, labels, options).sum().item()));
  return n === 0 ? 0 : count / n;
}

/**
 * The Lipschitz constant added by input normalization (x − mean) / std: the
 * map scales by at most 1/min(std), so a 1-Lipschitz network behind it is
 * (1/min(std))-Lipschitz in the raw input.
 */
export function lipschitzFromStd(std: number[] | number): number {
  const values = typeof std === 'number' ? [std] : std;
  if (!Array.isArray(values) || values.length === 0) throw new TypeError('lipschitzFromStd: std must be a non-empty array of positive numbers');
  values.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) throw new RangeError(`lipschitzFromStd: std[${i}] must be a finite number > 0, got ${String(s)}`);
  });
  return 1 / Math.min(...values);
}

/**
 * Which certificate a model's head allows: 'global' when the last linear
 * layer (in registration order, searching the whole module tree) is an
 * OrthoLinear, 'classwise' for a UnitNormLinear, 'unknown' for a plain
 * Linear or when there is no linear layer.
 */
export function lastLayerType(model: Module): LastLayer | 'unknown' {
  if (!(model instanceof Module)) throw new TypeError('lastLayerType: expected a Module');
  let last: Module | null = null;
  for (const m of model.modules()) if (m instanceof Linear) last = m;
  if (last instanceof OrthoLinear) return 'global';
  if (last instanceof UnitNormLinear) return 'classwise';
  return 'unknown';
}

export { parseEps } from './eps.js';
