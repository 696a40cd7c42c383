// Lightning's sanity check: a few validation batches before the first
// training batch, so that a broken validation step fails at once rather than
// after an epoch of training. It leaves no trace: nothing is logged or
// monitored, and the weights, the train/eval mode and the RNG come back
// exactly (a resumed run stays exact).
import { getRngState, keep, setRngState } from '../torch/index.js';
import type { Callback } from './callbacks/callback.js';
import type { LightningModule } from './lightning-module.js';
import type { Trainer } from './trainer.js';
import { snapshotState } from './state-snapshot.js';

/** What the sanity check needs from the Trainer running it. */
export interface SanityCheckContext {
  /** Passed to the callbacks' hooks; its sanityChecking is true meanwhile. */
  readonly trainer: Trainer;
  readonly callbacks: readonly Callback[];
  /** Runs the validation loop on its first `batches` batches. */
  validate(batches: number): Promise<unknown>;
}

/** `batches` validation batches between the callbacks' onSanityCheckStart and onSanityCheckEnd. */
export async function runSanityCheck(ctx: SanityCheckContext, module: LightningModule, batches: number): Promise<void> {
  const { trainer, callbacks } = ctx;
  const rng = keep(getRngState());
  // Switching to eval and back is not exact for every module (a schedule-free optimizer moves the weights):
  // the mode comes back first (so such an optimizer knows where it is), then the exact weights.
  const wasTraining = module.training;
  const restoreWeights = snapshotState(module);
  trainer.sanityChecking = true;
  try {
    for (const c of callbacks) await c.onSanityCheckStart(trainer, module);
    await ctx.validate(batches);
    for (const c of callbacks) await c.onSanityCheckEnd(trainer, module);
  } finally {
    trainer.sanityChecking = false;
    module.train(wasTraining);
    restoreWeights();
    setRngState(rng);
    rng.dispose();
  }
}
