// Metrics averaged over the ranks before logging: each rank measured its own
// shard, so the global value is the mean of the ranks' values weighted by how
// many samples each saw.
import { fromTypedArray } from '../torch/index.js';
import { assertSameOnAllRanks } from './gradients.js';
import { ProcessGroup, getDefaultGroup } from './process-group.js';

/**
 * The weighted mean over all ranks of each metric in `record`:
 * Σ_r w_r v_r / Σ_r w_r. `weights` is one weight for every metric (e.g. the
 * number of samples this rank saw; default 1, a plain mean) or one per
 * metric. Every rank must call it with the same keys.
 */
export function reduceMetrics(record: Record<string, number>, weights: number | Record<string, number> = 1,
  group: ProcessGroup = getDefaultGroup()): Record<string, number> {
  const keys = Object.keys(record).sort();
  const weightOf = (k: string): number => {
    const w = typeof weights === 'number' ? weights : weights[k];
    if (typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w)) throw new RangeError(`reduceMetrics: the weight of '${k}' must be a finite number >= 0, got ${w}`);
    return w;
  };
  for (const k of keys) if (typeof record[k] !== 'number') throw new TypeError(`reduceMetrics: metric '${k}' must be a number, got ${typeof record[k]}`);
  assertSameOnAllRanks(group, keys.join(','), 'reduceMetrics: the ranks logged different metric names');
  const packed = new Float64Array(2 * keys.length);
  keys.forEach((k, i) => {
    const w = weightOf(k);
    packed[i] = w === 0 ? 0 : record[k] * w; // a rank that saw nothing contributes nothing, even a NaN
    packed[keys.length + i] = w;
  });
  const t = fromTypedArray(packed, [packed.length]);
  try {
    const sums = group.allReduce(t, 'sum').toFlatArray();
    const out: Record<string, number> = {};
    keys.forEach((k, i) => { out[k] = sums[keys.length + i] === 0 ? NaN : sums[i] / sums[keys.length + i]; });
    return out;
  } finally {
    t.dispose();
  }
}
