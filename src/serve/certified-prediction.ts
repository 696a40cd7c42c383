// The prediction of a Lipschitz classifier and its certificate from one row
// of logits: margin f_y − max_{i≠y} f_i with y the predicted class, and the
// radius margin / (√2·L) (global head) or / (2·L) (class-wise head), the
// same formula as certificates() in src/losses. Browser-safe.

export interface CertifiedPrediction {
  predicted: number;
  runnerUp: number;
  margin: number;
  /** Certified L2 radius in the units the Lipschitz constant refers to (pixels in [0, 1] for exported models). */
  radius: number;
}

export function certifiedPrediction(logits: ArrayLike<number>, lipschitz: number, lastLayer: 'global' | 'classwise'): CertifiedPrediction {
  if (logits.length < 2) throw new RangeError(`certifiedPrediction: need at least 2 logits, got ${logits.length}`);
  if (!(lipschitz > 0)) throw new RangeError(`certifiedPrediction: lipschitz must be > 0, got ${lipschitz}`);
  let predicted = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[predicted]) predicted = i;
  let runnerUp = predicted === 0 ? 1 : 0;
  for (let i = 0; i < logits.length; i++) if (i !== predicted && logits[i] > logits[runnerUp]) runnerUp = i;
  const margin = logits[predicted] - logits[runnerUp];
  const radius = margin / ((lastLayer === 'global' ? Math.SQRT2 : 2) * lipschitz);
  return { predicted, runnerUp, margin, radius };
}
