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
  /**
   * 'global' (OrthoLinear head: divide by √2·L) or 'classwise' (UnitNormLinear
   * head: 2·L). Default 'classwise', Orthogonium's VRA default: the smaller
   * radius, so it never overstates a certificate whichever head the model has.
   */
  lastLayer?: LastLayer;
  /** Lipschitz constant of the model from its input (default 1); see lipschitzFromStd. */
  lipschitz?: number;
  /**
   * Keep the autograd graph, as Orthogonium's `VRA(..., return_certs=True)`
   * does, so the radii can enter a training loss (e.g. a clamped mean of
   * them). Default false: the radii are detached, which is what evaluation wants.
   */
  differentiable?: boolean;
}

/** Orthogonium's VRA default radius, 36/255. */
export const DEFAULT_CERTIFICATE_EPS = 36 / 255;

/**
 * Per-sample certified L2 radius [N] (same dtype and device as the logits):
 * (f_y − max_{i≠y} f_i) / (√2·L) or / (2·L). Negative for misclassified
 * samples, 0 for ties. Detached unless `differentiable` is set; then the
 * gradient reaches f_y and the runner-up logit (split evenly between tied
 * runners-up).
 */
export function certificates(logits: Tensor, labels: Tensor, options: CertificateOptions = {}): Tensor {
  const where = 'certificates';
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object { lastLayer, lipschitz, differentiable }, got ${String(options)}`);
  const { lastLayer = 'classwise', lipschitz = 1, differentiable = false } = options;
  checkLastLayer(where, lastLayer);
  checkLipschitz(where, lipschitz);
  if (typeof differentiable !== 'boolean') throw new TypeError(`${where}: differentiable must be a boolean, got ${String(differentiable)}`);
  checkLogitsAndLabels(where, logits, labels, { nan: true });
  const compute = (): Tensor => scope(() => {
    const { fy, fOther } = trueAndRunnerUp(logits, labels);
    return fy.sub(fOther).div(certificateDenominator(lastLayer, lipschitz));
  });
  return differentiable ? compute() : noGrad(compute);
}

export interface VRAOptions extends Omit<CertificateOptions, 'differentiable'> {
  /** The radius to verify (> 0; default 36/255, Orthogonium's). */
  eps?: number;
}

/** A bool tensor [N]: true where the certificate exceeds eps (never true for a misclassified sample). */
export function verified(logits: Tensor, labels: Tensor, options: VRAOptions = {}): Tensor {
  const eps = options?.eps ?? DEFAULT_CERTIFICATE_EPS;
  checkEps('vra', eps);
  return noGrad(() => scope(() => certificates(logits, labels, { ...options, differentiable: false }).gt(eps)));
}

/** Verified robust accuracy: the fraction of samples whose certificate exceeds eps. */
export function vra(logits: Tensor, labels: Tensor, options: VRAOptions = {}): number {
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
