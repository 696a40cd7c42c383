// The learning-rate range test behind LearningRateFinder: optimizer steps on
// the training data at a rising learning rate, each loss reported, then the
// module put back exactly as it was and its optimizers made afresh, so that
// training starts as if the test had never run (as Lightning's lr_find).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Optimizer } from '../optim/index.js';
import type { Batch } from '../data/index.js';
import { isLoggableMetric } from './lightning-module.js';
import type { LightningModule } from './lightning-module.js';
import { AutomaticOptimization, NonFiniteLossError } from './automatic-optimization.js';
import type { PrecisionPlugin } from './precision.js';
import type { Loader } from './data-source.js';
import { snapshotState } from './state-snapshot.js';

/** What the test needs from the Trainer running it (while fit() starts). */
export interface RangeTestContext {
  /** The training loader of the starting fit. */
  readonly loader: Loader;
  readonly optimizer: Optimizer;
  readonly automatic: AutomaticOptimization;
  readonly precision: PrecisionPlugin;
  toDevice(batch: Batch): Batch;
  /** The mean of `value` over the ranks (`value` itself in one process). */
  averageOverRanks(value: number): number;
  /** True on every rank when `flag` is true on any. */
  anyRank(flag: boolean): boolean;
  /** Fresh optimizers and schedulers from module.configureOptimizers(). */
  reconfigureOptimizers(): void;
}

/**
 * Up to `steps` optimizer steps, step i at rate lrAt(i), looping over the
 * loader as often as needed; each loss (null when not finite; averaged over
 * the ranks) goes to `record`, which returns false to stop (on every rank).
 */
export async function runLrRangeTest(ctx: RangeTestContext, module: LightningModule, steps: number, lrAt: (step: number) => number,
  record: (lr: number, loss: number | null) => boolean): Promise<void> {
  if (!module.automaticOptimization) throw new Error('Trainer.lrRangeTest: the learning-rate range test needs automatic optimization (it steps the optimizer itself)');
  const { loader, optimizer, automatic, precision } = ctx;
  const restoreWeights = snapshotState(module);
  const skipped = automatic.skipped;
  const scalerState = precision.scaler?.stateDict();
  const sink = module.logSink;
  module.logSink = null;
  module.train();
  try {
    let step = 0;
    while (step < steps) {
      let batches = 0;
      for await (const batch of loader) {
        batches++;
        const lr = lrAt(step);
        for (const group of optimizer.paramGroups) group.lr = lr;
        let loss: number | null;
        try {
          loss = automatic.trainBatch(module, optimizer, () => ctx.toDevice(batch), step, { first: true, step: true, divisor: 1 }).loss;
        } catch (error) {
          if (!(error instanceof NonFiniteLossError)) throw error;
          loss = null;
        } finally {
          batch.x.dispose();
          batch.y.dispose();
        }
        // A skipped batch averages as NaN, so a rank without a loss makes the step's loss non-finite on all ranks.
        loss = ctx.averageOverRanks(loss ?? NaN);
        const reported = Number.isFinite(loss) ? loss : null;
        step++;
        const goOn = record(lr, reported);
        const stop = ctx.anyRank(!goOn);
        await yieldToEventLoop();
        if (stop || step >= steps) {
          step = steps;
          break;
        }
      }
      if (batches === 0) break;
    }
  } finally {
    restoreWeights();
    automatic.skipped = skipped;
    // Metric objects the module updated during the test (the seed's self.train_acc) start the run empty.
    for (const value of Object.values(module)) if (isLoggableMetric(value)) value.reset();
    if (scalerState) precision.scaler!.loadStateDict(scalerState);
    module.logSink = sink;
    ctx.reconfigureOptimizers();
  }
}
