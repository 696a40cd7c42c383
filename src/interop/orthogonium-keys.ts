// How Orthogonium's (Python) state-dict names map to ours. Both sides use
// torch's parametrization layout (`<layer>.parametrizations.<name>.original`,
// steps at `.<name>.<i>.…`), so nearly every key is the same. The exception is
// BatchedPowerIteration: Orthogonium keeps its vectors u, v as parameters that
// are themselves parametrized by an L2 normalization (stored at
// `….parametrizations.u.original`), where ours are plain buffers `….u`.
// What Orthogonium's power iteration reads is normalize(original), so that is
// the value our buffer receives.

export interface MappedKey {
  /** Our name for the tensor. */
  key: string;
  /** Normalize columns (dim −2) on the way in, as Orthogonium's L2Normalize does on reading. */
  normalizeColumns: boolean;
}

const POWER_ITERATION_VECTOR = /^(.*\.)?parametrizations\.(u|v)\.original$/;

/** Our state-dict name for an Orthogonium one. */
export function orthogoniumKeyToOurs(key: string): MappedKey {
  const match = POWER_ITERATION_VECTOR.exec(key);
  if (match) return { key: `${match[1] ?? ''}${match[2]}`, normalizeColumns: true };
  return { key, normalizeColumns: false };
}

/** Wrappers that prefix every key: nn.DataParallel / DistributedDataParallel and torch.compile. */
const WRAPPER_PREFIXES = ['module.', '_orig_mod.'];

/** The prefix every key carries when the model was saved through a wrapper, if any. */
export function commonWrapperPrefix(keys: string[]): string | null {
  if (keys.length === 0) return null;
  return WRAPPER_PREFIXES.find((p) => keys.every((k) => k.startsWith(p))) ?? null;
}
