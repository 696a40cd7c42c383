// The validation and test loop: the module's validationStep / testStep on
// each batch without gradients, in eval mode, its logged values averaged
// over the epoch (and over the ranks in data-parallel runs).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { noGrad, scope } from '../torch/index.js';
import type { Batch } from '../data/index.js';
import { MetricCollector } from './epoch-metrics.js';
import type { LightningModule, Stage } from './lightning-module.js';
import type { OptimizationContext } from './optimization-context.js';
import type { ProgressBar } from './progress.js';
import type { Loader } from './trainer.js';

/** What the loop needs from the Trainer running it. */
export interface EvaluationContext extends Omit<OptimizationContext, 'ddp'> {
  readonly progress: ProgressBar | null;
  toDevice(batch: Batch): Batch;
  /** The epoch means of the collector, reduced over the ranks when data-parallel. */
  reduce(collector: MetricCollector): Map<string, number>;
}

/** Runs `total` batches of `loader` through the module's `stage` step; returns the epoch values logged. */
export async function runEvaluationLoop(ctx: EvaluationContext, module: LightningModule, loader: Loader, stage: Stage, total: number): Promise<Map<string, number>> {
  const { trainer, callbacks, precision, progress } = ctx;
  const collector = new MetricCollector();
  module.logSink = collector;
  module.stage = stage;
  module.eval();
  const testing = stage === 'test';
  if (testing) module.onTestEpochStart();
  else module.onValidationEpochStart();
  progress?.begin(testing ? 'testing' : 'validating', total);
  let index = 0;
  if (total > 0) {
    for await (const batch of loader) {
      noGrad(() => scope(() => {
        const onDevice = ctx.toDevice(batch);
        module.currentBatchSize = onDevice.y.shape[0];
        const run = () => (testing ? module.testStep(onDevice, index) : module.validationStep(onDevice, index));
        const outputs = precision.forward(run);
        if (testing) {
          for (const c of callbacks) c.onTestBatchEnd(trainer, module, outputs, onDevice, index);
          module.onTestBatchEnd(outputs, onDevice, index);
        } else {
          for (const c of callbacks) c.onValidationBatchEnd(trainer, module, outputs, onDevice, index);
          module.onValidationBatchEnd(outputs, onDevice, index);
        }
      }));
      batch.x.dispose();
      batch.y.dispose();
      index++;
      progress?.update(index, {});
      await yieldToEventLoop();
      if (index >= total) break;
    }
  }
  progress?.end();
  if (testing) module.onTestEpochEnd();
  else module.onValidationEpochEnd();
  module.logSink = null;
  const values = ctx.reduce(collector);
  collector.resetMetrics();
  return values;
}
