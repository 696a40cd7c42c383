// Lightning's manual optimization: with `automaticOptimization = false` the
// module's trainingStep zeroes the gradients, calls this.manualBackward(loss)
// and steps the optimizers it gets from this.optimizers() itself (several
// optimizers, as a GAN's, need this mode). The Trainer still supplies the
// device, the precision (autocast, loss scaling), the data-parallel gradient
// averaging, the hooks and the step count; it neither accumulates, clips nor
// steps schedulers (the module calls this.lrSchedulers() when it wants to).
import { Tensor, scope } from '../torch/index.js';
import { clipGradNorm_, clipGradValue_ } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Batch } from '../data/index.js';
import type { LightningModule, ManualOptimizationHost } from './lightning-module.js';
import { LightningOptimizer } from './lightning-optimizer.js';
import { backwardWithHooks, beforeOptimizerStepHooks } from './optimization-context.js';
import type { BackwardOptions, OptimizationContext } from './optimization-context.js';
import type { AnyScheduler } from './schedulers.js';

/** What manual optimization needs from the Trainer running it. */
export interface ManualStepContext extends OptimizationContext {
  /** Counts one optimizer step (Lightning's global step counts every optimizer's steps). */
  countOptimizerStep(): void;
  /** The mean of `value` over the ranks (`value` itself in one process). */
  averageOverRanks(value: number): number;
}

export class ManualOptimization implements ManualOptimizationHost {
  private readonly wrapped: LightningOptimizer[];
  /** Inside the module's trainingStep: manualBackward and optimizer steps are allowed. */
  private inStep = false;
  private backwardsThisStep = 0;

  constructor(private readonly ctx: ManualStepContext, private readonly module: LightningModule,
    optimizers: readonly Optimizer[], private readonly schedulers: readonly AnyScheduler[]) {
    this.wrapped = optimizers.map((o) => new LightningOptimizer(o, this));
  }

  optimizers(): LightningOptimizer[] { return [...this.wrapped]; }

  lrSchedulers(): AnyScheduler[] { return [...this.schedulers]; }

  /**
   * Runs the module's trainingStep on one batch in a scope (`load` brings the
   * batch to the device inside it). Returns the loss it returned when a
   * one-element tensor or a number (for callbacks and the progress bar), else null.
   */
  trainBatch(load: () => Batch, index: number): number | null {
    return scope(() => {
      const batch = load();
      this.module.currentBatchSize = batch.y.shape[0];
      this.ctx.ddp()?.preForward();
      this.inStep = true;
      this.backwardsThisStep = 0;
      let returned: unknown;
      try {
        returned = this.ctx.precision.forward(() => this.module.trainingStep(batch, index));
      } finally {
        this.inStep = false;
        // A scale update still owed (gradients unscaled but never stepped) happens before the next batch.
        this.ctx.precision.updateScale();
      }
      if (returned instanceof Tensor) return returned.numel() === 1 ? returned.item() : null;
      return typeof returned === 'number' ? returned : null;
    });
  }

  /** loss.backward() with the Trainer's hooks, loss scaling and (data-parallel) gradient averaging. */
  manualBackward(loss: Tensor, options: BackwardOptions = {}): void {
    this.checkInStep('manualBackward');
    if (!(loss instanceof Tensor)) throw new TypeError('manualBackward: expected the loss as a Tensor');
    // Under DDP each backward of the step averages its gradients over the ranks; every rank makes the same calls.
    backwardWithHooks(this.ctx, this.module, loss, loss, { ...options, again: this.backwardsThisStep > 0 });
    this.backwardsThisStep++;
  }

  /** Steps `optimizer` as Lightning's precision plugins do: closure, unscale, onBeforeOptimizerStep, step. */
  stepOptimizer<T>(optimizer: Optimizer, closure?: () => T): T | undefined {
    this.checkInStep('optimizer.step');
    const { precision } = this.ctx;
    const beforeStep = (): void => beforeOptimizerStepHooks(this.ctx, this.module, optimizer);
    let result: T | undefined;
    if (precision.scaler) {
      if (optimizer.requiresClosure) throw new TypeError(`${optimizer.name} re-evaluates its closure within a step, which loss scaling ('16-mixed') cannot follow; use precision '32' or 'bf16-mixed'`);
      result = closure?.();
      precision.unscaleGradients(optimizer);
      beforeStep();
      precision.optimizerStep(optimizer);
    } else {
      const wrapped = (): T | number | undefined => {
        const value = closure?.();
        beforeStep();
        // A line search reads the loss: under DDP every rank must follow the same (averaged) one, as it has the same gradients.
        if (optimizer.requiresClosure && this.ctx.ddp()) return this.ctx.averageOverRanks(value instanceof Tensor ? value.item() : Number(value));
        return value;
      };
      result = optimizer.step(wrapped) as T | undefined;
    }
    this.ctx.countOptimizerStep();
    return result;
  }

  /** Clips the gradients of `optimizer`'s parameters (first brought back to their true scale under '16-mixed'). */
  clipGradients(optimizer: Optimizer, gradientClipVal: number, gradientClipAlgorithm: 'norm' | 'value'): void {
    this.ctx.precision.unscaleGradients(optimizer);
    const params = optimizer.paramGroups.flatMap((g) => g.params);
    if (gradientClipAlgorithm === 'norm') clipGradNorm_(params, gradientClipVal);
    else clipGradValue_(params, gradientClipVal);
  }

  private checkInStep(what: string): void {
    if (this.module.automaticOptimization) throw new Error(`${what}: only under manual optimization (set automaticOptimization = false); the Trainer steps the optimizer otherwise`);
    if (!this.inStep) throw new Error(`${what}: call it inside trainingStep (manual optimization runs within the Trainer's training step)`);
  }
}
