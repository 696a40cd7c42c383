// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_:
// applied in place to the .grad of each parameter, between backward and step.
import { Tensor, noGrad, scope, stack } from '../torch/index.js';

const gradsOf = (parameters: Iterable<Tensor>): Tensor[] => [...parameters].map((p) => p.grad).filter((g): g is Tensor => g !== null);

/**
 * Scales all gradients together so that their joint p-norm is at most maxNorm.
 * Returns the norm before clipping (NaN or Infinity when a gradient is not
 * finite, in which case an Error is thrown if errorIfNonfinite).
 */
export function clipGradNorm_(parameters: Iterable<Tensor>, maxNorm: number, options: { normType?: number; errorIfNonfinite?: boolean } = {}): number {
  const normType = options.normType ?? 2;
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new RangeError(`clipGradNorm_: maxNorm must be a finite number > 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new RangeError(`clipGradNorm_: normType must be > 0 or Infinity, got ${normType}`);
  return noGrad(() => scope(() => {
    const grads = gradsOf(parameters);
    if (grads.length === 0) return 0;
    // Each norm in its gradient's own precision, combined in float64.
    const norms = stack(grads.map((g) => g.detach().norm(normType).double()));
    const total = normType === Infinity ? norms.max().item() : norms.norm(normType).item();
    if (!Number.isFinite(total)) {
      if (options.errorIfNonfinite) throw new Error(`clipGradNorm_: the total norm of the gradients is ${total}`);
      return total;
    }
    const coefficient = maxNorm / (total + 1e-6);
    if (coefficient < 1) for (const g of grads) g.mul_(coefficient);
    return total;
  }));
}

/** Clamps every gradient element to [-clipValue, clipValue]. */
export function clipGradValue_(parameters: Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue > 0) || !Number.isFinite(clipValue)) throw new RangeError(`clipGradValue_: clipValue must be a finite number > 0, got ${clipValue}`);
  noGrad(() => scope(() => { for (const g of gradsOf(parameters)) g.clamp_(-clipValue, clipValue); }));
}
