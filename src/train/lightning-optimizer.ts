// The optimizer a manual trainingStep gets from this.optimizers(), as
// Lightning's LightningOptimizer: step() goes through the Trainer, which
// applies the precision (loss scaling under '16-mixed'), runs the
// onBeforeOptimizerStep hooks and counts the step in trainer.globalStep.
// The wrapped optimizer stays reachable as `.optimizer`.
import type { Optimizer, ParamGroup } from '../optim/index.js';

/** How the Trainer steps an optimizer for a manual training step. */
export interface OptimizerStepper {
  stepOptimizer<T>(optimizer: Optimizer, closure?: () => T): T | undefined;
}

export class LightningOptimizer {
  constructor(readonly optimizer: Optimizer, private readonly stepper: OptimizerStepper) {}

  /** One optimizer step; `closure` (forward, zeroGrad, manualBackward, return the loss) is needed by optimizers such as LBFGS. */
  step<T>(closure?: () => T): T | undefined {
    if (closure !== undefined && typeof closure !== 'function') throw new TypeError('LightningOptimizer.step: the closure must be a function');
    return this.stepper.stepOptimizer(this.optimizer, closure);
  }

  zeroGrad(setToNone = true): void { this.optimizer.zeroGrad(setToNone); }

  get paramGroups(): ParamGroup[] { return this.optimizer.paramGroups; }

  get name(): string { return this.optimizer.name; }
}
