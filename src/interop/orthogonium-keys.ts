// How Orthogonium's (Python) state-dict names map to ours. Both sides use
// torch's parametrization layout (`<layer>.parametrizations.<name>.original`,
// steps at `.<name>.<i>.…`), so nearly every key is the same. The exception is
// BatchedPowerIteration: Orthogonium keeps its vectors u, v as parameters that
// are themselves parametrized by an L2 normalization (stored at
// `….parametrizations.u.original`), where ours are plain buffers `….u`.
// What Orthogonium's power iteration reads is normalize(original), so that is
// the value our buffer receives.

/**
 * How a value is brought in: copied; columns normalized (power-iteration
 * vectors); or replaced by zeros (AOL's Schur-test weights, see below).
 */
export type KeyTransform = 'copy' | 'normalize-columns' | 'neutral-aol-weights';

export interface MappedKey {
  /** Our name for the tensor. */
  key: string;
  transform: KeyTransform;
}

const POWER_ITERATION_VECTOR = /^(.*\.)?parametrizations\.(u|v)\.original$/;
// AOL reparametrizers (AOLConv2D, AOLLinear, the SLL blocks' kernel) are step 0 of `weight` or `kernel`;
// in the Adaptive-SOC layers they are step 1 (after the skew step) of `weight` or `weight_1`.
const AOL_WEIGHTS = /^(.*\.)?parametrizations\.((weight|kernel)\.0|(weight|weight_1)\.1)\.q$/;

/**
 * Our state-dict name for an Orthogonium one, and how its value comes in.
 *
 * AOL's q: Orthogonium multiplies the Gram row sums by exp(q) and exp(−q)
 * along the same axis, so its q cancels and never changes the layer; ours
 * uses q as the Schur test's weights (q_j / q_i). Zeros — any constant
 * would do — make ours compute what Orthogonium computes whatever q it saved.
 */
export function orthogoniumKeyToOurs(key: string): MappedKey {
  const vector = POWER_ITERATION_VECTOR.exec(key);
  if (vector) return { key: `${vector[1] ?? ''}${vector[2]}`, transform: 'normalize-columns' };
  if (AOL_WEIGHTS.test(key)) return { key, transform: 'neutral-aol-weights' };
  return { key, transform: 'copy' };
}

/**
 * Tensors Orthogonium saves but never reads in forward: AOLConv2D's `kernel`
 * (an alias of the initial weight, left by its reset_parameters) and the
 * convolutional SLL blocks' own `q` (the one used is the reparametrizer's,
 * `parametrizations.kernel.0.q`). Recognized by their sibling keys; the
 * reason is returned, or null for a key that is not one of them.
 */
export function unusedOrthogoniumEntry(key: string, keys: Set<string>): string | null {
  const match = /^(.*\.)?(kernel|q)$/.exec(key);
  if (!match) return null;
  const prefix = match[1] ?? '';
  if (match[2] === 'kernel' && keys.has(`${prefix}parametrizations.weight.original`)) {
    return "AOLConv2D's leftover 'kernel', unused by its forward";
  }
  if (match[2] === 'q' && keys.has(`${prefix}parametrizations.kernel.0.q`)) {
    return "an SLL block's own 'q', unused by its forward (the reparametrizer's q is)";
  }
  return null;
}

/** Wrappers that prefix every key: nn.DataParallel / DistributedDataParallel and torch.compile. */
const WRAPPER_PREFIXES = ['module.', '_orig_mod.'];

/** The prefix every key carries when the model was saved through a wrapper, if any. */
export function commonWrapperPrefix(keys: string[]): string | null {
  if (keys.length === 0) return null;
  return WRAPPER_PREFIXES.find((p) => keys.every((k) => k.startsWith(p))) ?? null;
}
