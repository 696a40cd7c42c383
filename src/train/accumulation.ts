// Where a training batch falls in the loop's schedule: its gradient
// accumulation window (Lightning's accumulate_grad_batches) and whether a
// validation follows it (val_check_interval, check_val_every_n_epoch).

/**
 * Batch `index` (0-based) of an epoch of `total` batches, with windows of `n`:
 * `first` zeroes the gradients, `step` steps the optimizer (every n-th batch
 * and the epoch's last, so a remainder still steps). Windows restart each epoch, as in Lightning.
 */
export function accumulationWindow(index: number, total: number, n: number): { first: boolean; step: boolean } {
  return { first: index % n === 0, step: (index + 1) % n === 0 || index + 1 >= total };
}

/**
 * Lightning's val_check_batch: training batches between validations, for an
 * epoch of `total` batches. A fraction f gives ⌊total · f⌋ (at least 1); 1 (= 1.0) the whole epoch.
 */
export function valCheckBatch(total: number, interval: number | undefined, acrossEpochs: boolean): number {
  if (interval === undefined || interval === 1) return Math.max(1, total);
  if (!Number.isInteger(interval)) return Math.max(1, Math.floor(total * interval));
  if (!acrossEpochs && interval > total) {
    throw new RangeError(`Trainer: valCheckInterval (${interval}) must be at most the number of training batches per epoch (${total}); ` +
      'pass checkValEveryNEpoch: null to count batches across epochs');
  }
  return interval;
}

/** Whether a validation runs after the batch: every `every` batches (of the epoch, or of the run when counted across epochs). */
export function isValCheckBatch(batchInEpoch: number, batchInRun: number, every: number, acrossEpochs: boolean): boolean {
  return ((acrossEpochs ? batchInRun : batchInEpoch) + 1) % every === 0;
}
