// What the Trainer's two ways of optimizing (automatic-optimization.ts,
// manual-optimization.ts) need from the Trainer running them, and the steps
// they share: a backward pass and the hooks before an optimizer step.
import type { Tensor } from '../torch/index.js';
import type { Optimizer } from '../optim/index.js';
import type { DistributedDataParallel } from '../distributed/index.js';
import type { LightningModule } from './lightning-module.js';
import type { Callback } from './callbacks/callback.js';
import type { PrecisionPlugin } from './precision.js';
import type { Trainer } from './trainer.js';

export interface OptimizationContext {
  /** Passed to the callbacks' hooks. */
  readonly trainer: Trainer;
  readonly precision: PrecisionPlugin;
  readonly callbacks: readonly Callback[];
  /** The data-parallel wrapper of the running fit, if any. */
  ddp(): DistributedDataParallel | null;
}

/** What backward() takes beside the loss (Tensor.backward's options). */
export interface BackwardOptions { retainGraph?: boolean; createGraph?: boolean }

/**
 * `loss`.backward() as the Trainer runs it: onBeforeBackward (callbacks, then
 * the module), the precision's loss scaling, under DDP the reducer armed with
 * the step's `output` (re-armed first for a further backward of the same
 * step, `again`), then onAfterBackward.
 */
export function backwardWithHooks(ctx: OptimizationContext, module: LightningModule, loss: Tensor, output: Tensor,
  options: BackwardOptions & { again?: boolean } = {}): void {
  const { trainer, callbacks, precision } = ctx;
  const { again = false, ...backwardOptions } = options;
  for (const c of callbacks) c.onBeforeBackward(trainer, module, loss);
  module.onBeforeBackward(loss);
  const backwardOn = precision.lossForBackward(loss);
  const ddp = ctx.ddp();
  if (ddp) {
    if (again) ddp.preForward({ syncBuffers: false });
    ddp.postForward(output);
    ddp.backward(backwardOn, backwardOptions);
  } else {
    backwardOn.backward(undefined, backwardOptions);
  }
  for (const c of callbacks) c.onAfterBackward(trainer, module);
  module.onAfterBackward();
}

/** onBeforeOptimizerStep: the callbacks', then the module's. */
export function beforeOptimizerStepHooks(ctx: OptimizationContext, module: LightningModule, optimizer: Optimizer): void {
  for (const c of ctx.callbacks) c.onBeforeOptimizerStep(ctx.trainer, module, optimizer);
  module.onBeforeOptimizerStep(optimizer);
}
