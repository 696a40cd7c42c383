// The Trainer's precision, as Lightning's precision plugins: '32' runs as
// is; 'bf16-mixed' runs forward passes under bfloat16 autocast; '16-mixed'
// runs them under float16 autocast (CUDA only) and scales the loss with a
// GradScaler so that small float16 gradients survive, skipping the steps
// whose gradients overflowed.
import { Tensor, autocast } from '../torch/index.js';
import { GradScaler } from '../optim/index.js';
import type { GradScalerStateDict, Optimizer } from '../optim/index.js';

export type Precision = '32' | 'bf16-mixed' | '16-mixed';

export const PRECISIONS: readonly Precision[] = ['32', 'bf16-mixed', '16-mixed'];

export class PrecisionPlugin {
  /** Set for '16-mixed'. */
  readonly scaler: GradScaler | null;
  /** Optimizer steps skipped because the gradients held Inf/NaN (after which the scale backs off). */
  skippedSteps = 0;

  /** Throws a TypeError when `precision` is unknown or cannot run on `device`. */
  static check(precision: Precision, device: 'cpu' | 'cuda'): void {
    if (!PRECISIONS.includes(precision)) throw new TypeError(`Trainer: precision must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(precision)}`);
    if (precision === '16-mixed' && device !== 'cuda') {
      throw new TypeError("Trainer: precision '16-mixed' runs float16 autocast, which needs a CUDA device; on CPU use 'bf16-mixed'");
    }
  }

  constructor(readonly precision: Precision, readonly device: 'cpu' | 'cuda') {
    PrecisionPlugin.check(precision, device);
    this.scaler = precision === '16-mixed' ? new GradScaler() : null;
  }

  /** Runs a forward pass (training, validation or test step) in this precision. */
  forward<T>(fn: () => T): T {
    if (this.precision === '32') return fn();
    return autocast({ deviceType: this.device, dtype: this.precision === 'bf16-mixed' ? 'bfloat16' : 'float16' }, fn);
  }

  /** The tensor to call backward on: the loss, scaled under '16-mixed'. */
  lossForBackward(loss: Tensor): Tensor {
    return this.scaler ? this.scaler.scale(loss) : loss;
  }

  /** Brings the gradients back to their true values before they are clipped (no-op without a scaler). */
  unscaleGradients(optimizer: Optimizer): void {
    this.scaler?.unscale_(optimizer);
  }

  /** Steps the optimizer (unless the scaler finds Inf/NaN gradients) and updates the scale. Returns whether it stepped. */
  optimizerStep(optimizer: Optimizer): boolean {
    if (!this.scaler) {
      optimizer.step();
      return true;
    }
    const stepped = this.scaler.step(optimizer);
    this.scaler.update();
    if (!stepped) this.skippedSteps++;
    return stepped;
  }

  /** What a checkpoint keeps: the scaler's state under '16-mixed', else null. */
  stateDict(): GradScalerStateDict | null {
    return this.scaler?.stateDict() ?? null;
  }

  loadStateDict(state: GradScalerStateDict | null): void {
    if (this.scaler && state) this.scaler.loadStateDict(state);
  }
}
