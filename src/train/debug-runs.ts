// Lightning's debugging runs, resolved into the Trainer's ordinary options:
// fastDevRun (a few batches of every loop, nothing written) and
// overfitBatches (train and validate on the same few batches).
import type { TrainerOptions } from './trainer-options.js';

export interface DebugRuns {
  /** The options the Trainer then runs with. */
  options: TrainerOptions;
  /** Batches of each loop under fastDevRun (null: not a fast dev run). */
  fastDevRun: number | null;
  /** overfitBatches when set (a count, or a fraction of the training loader). */
  overfitBatches: number | null;
}

export function resolveDebugRuns(options: TrainerOptions): DebugRuns {
  const fast = options.fastDevRun;
  if (fast !== undefined && fast !== false && !(fast === true || (Number.isInteger(fast) && (fast as number) >= 1))) {
    throw new RangeError(`Trainer: fastDevRun must be true, false or a positive number of batches, got ${JSON.stringify(fast)}`);
  }
  const overfit = options.overfitBatches;
  if (overfit !== undefined && overfit !== 0 && !(typeof overfit === 'number' && overfit > 0 && (Number.isInteger(overfit) || overfit <= 1))) {
    throw new RangeError(`Trainer: overfitBatches must be a positive batch count or a fraction in (0, 1], got ${JSON.stringify(overfit)}`);
  }
  if (fast !== undefined && fast !== false) {
    const n = fast === true ? 1 : (fast as number);
    // As Lightning: n batches of every loop, one epoch, no sanity check, no logger, no checkpoint.
    return {
      options: {
        ...options, maxEpochs: 1, maxSteps: n, limitTrainBatches: n, limitValBatches: n, limitTestBatches: n, limitPredictBatches: n,
        numSanityValSteps: 0, valCheckInterval: 1, checkValEveryNEpoch: 1, logger: false, enableCheckpointing: false, maxTime: undefined,
      },
      fastDevRun: n,
      overfitBatches: null,
    };
  }
  if (overfit !== undefined && overfit !== 0) {
    return { options: { ...options, limitTrainBatches: overfit, limitValBatches: overfit }, fastDevRun: null, overfitBatches: overfit };
  }
  return { options, fastDevRun: null, overfitBatches: null };
}
