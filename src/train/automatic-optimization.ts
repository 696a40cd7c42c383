// Lightning's automatic optimization: for each batch the Trainer runs the
// module's trainingStep, backpropagates its loss (divided over an
// accumulation window, averaged over the ranks at the window's end) and,
// at the window's end, unscales, runs onBeforeOptimizerStep, clips and steps
// the optimizer. Non-finite losses stop the run or skip the batch.
import { Tensor, scope } from '../torch/index.js';
import { clipGradNorm_, clipGradValue_ } from '../nn/index.js';
import { NonFiniteValueError } from '../losses/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Batch } from '../data/index.js';
import type { LightningModule } from './lightning-module.js';
import { backwardWithHooks, beforeOptimizerStepHooks } from './optimization-context.js';
import type { OptimizationContext } from './optimization-context.js';

/** Thrown when training meets a NaN/Inf loss and onNonFiniteLoss is 'error'. */
export class NonFiniteLossError extends Error {}

export interface AutomaticStepContext extends OptimizationContext {
  /** True on every rank when `flag` is true on any. */
  anyRank(flag: boolean): boolean;
  /** The mean of `value` over the ranks (`value` itself in one process). */
  averageOverRanks(value: number): number;
  /** Where the loop is (epoch, batch, step), for messages. */
  describePosition(index: number): string;
  print(line: string): void;
}

export interface AutomaticOptions {
  gradientClipVal?: number;
  gradientClipAlgorithm?: 'norm' | 'value';
  onNonFiniteLoss?: 'error' | 'skip';
}

/** Where a batch falls in its accumulation window, and the divisor of its loss. */
export interface StepWindow { first: boolean; step: boolean; divisor: number }

export class AutomaticOptimization {
  /** Batches skipped for a non-finite loss (onNonFiniteLoss 'skip'). */
  skipped = 0;
  /** Whether the current accumulation window has gradients to step with. */
  private windowHasGradients = false;

  constructor(private readonly ctx: AutomaticStepContext, private readonly options: AutomaticOptions) {}

  /**
   * Forward and backward of one batch in a scope (`load` brings it to the
   * device inside), the loss divided by the window's divisor; at the window's
   * first batch the gradients are zeroed, at its last the optimizer steps
   * (clipping the accumulated gradients). Returns the loss value (null when
   * the batch was skipped) and whether the optimizer stepped.
   */
  trainBatch(module: LightningModule, optimizer: Optimizer, load: () => Batch, index: number, window: StepWindow): { loss: number | null; stepped: boolean } {
    const { precision } = this.ctx;
    const ddp = this.ctx.ddp();
    return scope(() => {
      if (window.first) {
        optimizer.zeroGrad();
        this.windowHasGradients = false;
      }
      const batch = load();
      module.currentBatchSize = batch.y.shape[0];
      // One forward and backward; null when the loss is not finite and the batch is skipped (`skippable`).
      const pass = (skippable = true): number | null => {
        let returned: Tensor | void = undefined;
        let nonFinite: string | null = null;
        ddp?.preForward();
        try {
          returned = precision.forward(() => module.trainingStep(batch, index));
        } catch (error) {
          // The library's losses refuse NaN logits: that is the same diverged step as a NaN loss.
          if (!(error instanceof NonFiniteValueError)) throw error;
          nonFinite = `NaN (${error.message})`;
        }
        if (nonFinite === null && (!(returned instanceof Tensor) || returned.numel() !== 1)) {
          throw new TypeError('trainingStep must return the loss as a one-element tensor (or set automaticOptimization = false and step the optimizers itself)');
        }
        const value = nonFinite === null ? (returned as Tensor).item() : NaN;
        // All ranks skip (or stop) together, or the others would wait for this one's gradients.
        if (this.ctx.anyRank(!Number.isFinite(value))) return this.nonFiniteLoss(index, nonFinite ?? String(value), skippable);
        const loss = returned as Tensor;
        backwardWithHooks(this.ctx, module, window.divisor === 1 ? loss : loss.div(window.divisor), loss);
        return value;
      };
      if (optimizer.requiresClosure) return this.closureStep(module, optimizer, pass);
      // Under DDP only the window's last backward averages the gradients over the ranks (no_sync before it).
      const value = ddp && !window.step ? ddp.noSync(() => pass()) : pass();
      if (value !== null) this.windowHasGradients = true;
      if (!window.step || !this.windowHasGradients) return { loss: value, stepped: false };
      if (ddp && value === null) {
        // The averaging backward was skipped: the gradients accumulated so far differ per rank, so no rank steps with them.
        this.ctx.print(`warning: dropped the accumulated gradients up to ${this.ctx.describePosition(index)}: the window's last batch was skipped`);
        return { loss: null, stepped: false };
      }
      // As Lightning: the gradients are unscaled, then on_before_optimizer_step, then clipping.
      precision.unscaleGradients(optimizer);
      this.beforeOptimizerStep(module, optimizer);
      precision.optimizerStep(optimizer);
      return { loss: value, stepped: true };
    });
  }

  /**
   * The step of an optimizer that evaluates the loss several times (LBFGS):
   * it gets the whole training step — zeroGrad, forward, backward, hooks,
   * clipping — as its closure, as Lightning hands it over.
   */
  private closureStep(module: LightningModule, optimizer: Optimizer, pass: (skippable: boolean) => number | null): { loss: number | null; stepped: boolean } {
    let last: number | null = null;
    optimizer.step(() => {
      optimizer.zeroGrad();
      last = pass(false);
      this.beforeOptimizerStep(module, optimizer);
      // Its line search and stopping tests read the loss: every rank must see the same (averaged) one, as it sees the same gradients.
      return this.ctx.averageOverRanks(last!);
    });
    // As Lightning's closure result: the loss of the last evaluation.
    return { loss: last, stepped: true };
  }

  /** onBeforeOptimizerStep (callbacks, then the module), then gradient clipping. */
  private beforeOptimizerStep(module: LightningModule, optimizer: Optimizer): void {
    beforeOptimizerStepHooks(this.ctx, module, optimizer);
    const clip = this.options.gradientClipVal;
    if (clip === undefined) return;  // the gradients were unscaled before: the true ones are clipped
    if ((this.options.gradientClipAlgorithm ?? 'norm') === 'norm') clipGradNorm_(module.parameters(), clip);
    else clipGradValue_(module.parameters(), clip);
  }

  /**
   * A NaN/Inf loss: stop with the step named, or skip the batch (returns null)
   * when asked to and possible (not within a closure-stepped optimizer's step).
   */
  private nonFiniteLoss(index: number, value: string, skippable: boolean): null {
    const where = this.ctx.describePosition(index);
    if (!skippable) {
      throw new NonFiniteLossError(`the training loss is ${value} at ${where}, within a step of an optimizer that re-evaluates the loss ` +
        '(LBFGS), which cannot skip the batch; training stopped');
    }
    if ((this.options.onNonFiniteLoss ?? 'error') === 'error') {
      throw new NonFiniteLossError(`the training loss is ${value} at ${where}; training stopped. Lower the learning rate, check the data, ` +
        "or pass onNonFiniteLoss: 'skip' (--on-nan skip) to skip such batches");
    }
    this.skipped++;
    this.ctx.print(`warning: skipped the batch at ${where}: the loss is ${value}`);
    return null;
  }
}
