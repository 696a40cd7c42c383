// Certificates against an attack, sample by sample: a certified sample that
// the attack misclassifies closer than its certified radius is a violation
// (the certificate was wrong). Also how far the attack is from the
// certificates on the samples it could not certify, which shows whether the
// attack was strong enough for "0 violations" to mean anything.
import { CertifyResult } from './certify.js';
import { checkEpsList, checkFinite } from './checks.js';

export interface SoundnessOptions {
  /** Radii at which certified and empirical robust accuracy are compared (default: the certify result's). */
  eps?: number[];
  /**
   * Slack before a shorter adversarial distance counts as a violation: it must be below
   * radius·(1 − relative) − absolute. Default 1e-4 relative and 1e-5 absolute, which covers
   * float32 rounding of the logits and the orthogonal layers' residual error (~1e-5).
   */
  tolerance?: { relative?: number; absolute?: number };
}

export interface Violation { index: number; label: number; radius: number; attackDistance: number }

export interface SoundnessAtEps {
  eps: number;
  certifiedAccuracy: number;
  /** Accuracy under the attack: no adversarial example of norm ≤ eps found. */
  robustAccuracy: number;
  /** Correctly classified but not certified at eps (radius ≤ eps). */
  uncertified: number;
  /** Of those, how many the attack misclassified within eps. */
  broken: number;
  /** Medians over those uncertified samples: the adversarial distance found (among samples where one was found) and the certified radius. */
  medianAttackDistance: number;
  medianRadius: number;
}

export interface SoundnessReport {
  samples: number;
  cleanAccuracy: number;
  /** Samples with a positive certified radius. */
  certified: number;
  violations: Violation[];
  /** Distances below the radius but within the tolerance: rounding-level, not counted as violations. */
  withinTolerance: number;
  /** Attack distance / certified radius over correctly classified samples where the attack found something (≥ 1 when sound). */
  ratio: { min: number; median: number };
  perEps: SoundnessAtEps[];
  tolerance: { relative: number; absolute: number };
}

const median = (values: number[]): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Compares a certify() result with the smallest adversarial distances an
 * attack found for the same samples (attackL2's `norms`: 0 for misclassified
 * samples, Infinity where nothing was found).
 */
export function soundnessReport(cert: CertifyResult, attackDistances: number[], options: SoundnessOptions = {}): SoundnessReport {
  const where = 'soundnessReport';
  const n = cert.radii.length;
  if (!Array.isArray(attackDistances) || attackDistances.length !== n) {
    throw new RangeError(`${where}: ${n} certified samples but ${Array.isArray(attackDistances) ? attackDistances.length : 'no array of'} attack distances`);
  }
  attackDistances.forEach((d, i) => {
    if (typeof d !== 'number' || Number.isNaN(d) || d < 0) throw new RangeError(`${where}: attack distance ${i} must be a number ≥ 0 (or Infinity), got ${String(d)}`);
  });
  const eps = options.eps ?? cert.certifiedAccuracy.map((c) => c.eps);
  checkEpsList(where, eps);
  const relative = options.tolerance?.relative ?? 1e-4;
  const absolute = options.tolerance?.absolute ?? 1e-5;
  checkFinite(where, 'tolerance.relative', relative, 0);
  checkFinite(where, 'tolerance.absolute', absolute, 0);

  const correct = cert.predictions.map((p, i) => p === cert.labels[i]);
  const violations: Violation[] = [];
  let withinTolerance = 0;
  let certified = 0;
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    const radius = cert.radii[i];
    const distance = attackDistances[i];
    if (correct[i] && Number.isFinite(distance) && radius > 0) ratios.push(distance / radius);
    if (!(radius > 0)) continue;
    certified++;
    if (distance < radius * (1 - relative) - absolute) violations.push({ index: i, label: cert.labels[i], radius, attackDistance: distance });
    else if (distance < radius) withinTolerance++;
  }
  const frac = (k: number): number => (n === 0 ? NaN : k / n);
  const perEps = eps.map((e): SoundnessAtEps => {
    const open: number[] = [];
    for (let i = 0; i < n; i++) if (correct[i] && !(cert.radii[i] > e)) open.push(i);
    return {
      eps: e,
      certifiedAccuracy: frac(cert.radii.filter((r) => r > e).length),
      robustAccuracy: frac(attackDistances.filter((d) => d > e).length),
      uncertified: open.length,
      broken: open.filter((i) => attackDistances[i] <= e).length,
      medianAttackDistance: median(open.map((i) => attackDistances[i]).filter(Number.isFinite)),
      medianRadius: median(open.map((i) => cert.radii[i])),
    };
  });
  ratios.sort((a, b) => a - b);
  return {
    samples: n,
    cleanAccuracy: frac(correct.filter(Boolean).length),
    certified,
    violations,
    withinTolerance,
    ratio: { min: ratios.length ? ratios[0] : NaN, median: median(ratios) },
    perEps,
    tolerance: { relative, absolute },
  };
}
