// The Trainer's precision, as Lightning's precision plugins: '32' runs as
// is; 'bf16-mixed' runs forward passes under bfloat16 autocast; '16-mixed'
// runs them under float16 autocast (CUDA only) and scales the loss with a
// GradScaler so that small float16 gradients survive, skipping the steps
// whose gradients overflowed; '64-true' casts the module's floating
// parameters and buffers and the inputs to float64 (exact checks).
import { Tensor, autocast } from '../torch/index.js';
import { GradScaler } from '../optim/index.js';
import type { GradScalerStateDict, Optimizer } from '../optim/index.js';

export type Precision = '32' | 'bf16-mixed' | '16-mixed' | '64-true';

export const PRECISIONS: readonly Precision[] = ['32', 'bf16-mixed', '16-mixed', '64-true'];

/** What the Trainer's `precision` option takes: ours, and Lightning's aliases of them. */
export type PrecisionInput = Precision | 32 | 64 | 16 | '32-true' | '16' | 'bf16' | '64';

const ALIASES: Record<string, Precision> = {
  '32': '32', '32-true': '32', '16': '16-mixed', '16-mixed': '16-mixed', 'bf16': 'bf16-mixed', 'bf16-mixed': 'bf16-mixed',
  '64': '64-true', '64-true': '64-true',
};

/** Lightning's names of a precision → ours; a TypeError naming the supported values otherwise. */
export function normalizePrecision(value: unknown): Precision {
  const key = typeof value === 'number' ? String(value) : value;
  if (typeof key === 'string' && key in ALIASES) return ALIASES[key];
  const known = "'32' (32, '32-true'), '16-mixed' (16, '16'), 'bf16-mixed' ('bf16'), '64-true' (64, '64')";
  if (key === 'bf16-true' || key === '16-true') {
    throw new TypeError(`Trainer: precision ${JSON.stringify(value)} (weights held in half precision) is not supported; supported: ${known}`);
  }
  throw new TypeError(`Trainer: precision must be one of ${PRECISIONS.join(', ')} (or Lightning's aliases: ${known}), got ${JSON.stringify(value)}`);
}

export class PrecisionPlugin {
  /** Set for '16-mixed'. */
  readonly scaler: GradScaler | null;
  /** Optimizer steps skipped because the gradients held Inf/NaN (after which the scale backs off). */
  skippedSteps = 0;
  /** Optimizers whose gradients were unscaled since the last scale update. */
  private readonly unscaled = new Set<Optimizer>();
  /** Optimizers unscaled before a scale update they have not stepped since (manual optimization). */
  private readonly stale = new Set<Optimizer>();

  /** Throws a TypeError when `precision` is unknown or cannot run on `device`. */
  static check(input: PrecisionInput, device: 'cpu' | 'cuda'): void {
    const precision = normalizePrecision(input);
    if (precision === '16-mixed' && device !== 'cuda') {
      throw new TypeError("Trainer: precision '16-mixed' runs float16 autocast, which needs a CUDA device; on CPU use 'bf16-mixed'");
    }
  }

  readonly precision: Precision;

  constructor(precision: PrecisionInput, readonly device: 'cpu' | 'cuda') {
    PrecisionPlugin.check(precision, device);
    this.precision = normalizePrecision(precision);
    this.scaler = precision === '16-mixed' ? new GradScaler() : null;
  }

  /** Runs a forward pass (training, validation or test step) in this precision. */
  forward<T>(fn: () => T): T {
    if (this.precision === '32' || this.precision === '64-true') return fn();
    return autocast({ deviceType: this.device, dtype: this.precision === 'bf16-mixed' ? 'bfloat16' : 'float16' }, fn);
  }

  /** The dtype the module's floating parameters and buffers are cast to ('64-true': float64), or null. */
  get parameterDtype(): 'float64' | null {
    return this.precision === '64-true' ? 'float64' : null;
  }

  /** A batch input in this precision: floating inputs become float64 under '64-true' (a new tensor), else the input itself. */
  castInput(x: Tensor): Tensor {
    if (this.precision !== '64-true' || x.dtype === 'float64' || !['float32', 'float16', 'bfloat16'].includes(x.dtype)) return x;
    return x.to('float64');
  }

  /** The tensor to call backward on: the loss, scaled under '16-mixed'. */
  lossForBackward(loss: Tensor): Tensor {
    return this.scaler ? this.scaler.scale(loss) : loss;
  }

  /**
   * Brings the gradients of `optimizer` back to their true values before they
   * are clipped (no-op without a scaler, or when already done since its last step).
   */
  unscaleGradients(optimizer: Optimizer): void {
    if (!this.scaler || this.unscaled.has(optimizer)) return;
    this.scaler.unscale_(optimizer);
    this.unscaled.add(optimizer);
  }

  /**
   * Steps the optimizer (unless the scaler finds Inf/NaN gradients) and updates
   * the scale, as Lightning does after every step (so one optimizer may step
   * several times per batch). Returns whether it stepped.
   */
  optimizerStep(optimizer: Optimizer): boolean {
    if (!this.scaler) {
      optimizer.step();
      return true;
    }
    if (this.stale.has(optimizer)) {
      throw new Error(`'16-mixed': the gradients of ${optimizer.name} were unscaled before another optimizer's step updated the loss scale, ` +
        'so its step would unscale them twice; clip and step one optimizer before unscaling (clipping) the next');
    }
    const stepped = this.scaler.step(optimizer);
    if (!stepped) this.skippedSteps++;
    this.unscaled.delete(optimizer);
    this.scaler.update();
    // The update forgot which other optimizers were unscaled: stepping them now would unscale them again.
    for (const other of this.unscaled) this.stale.add(other);
    this.unscaled.clear();
    return stepped;
  }

  /** At the end of a manual training step: settles gradients unscaled but never stepped. */
  updateScale(): void {
    if (this.scaler && this.unscaled.size > 0) this.scaler.update();
    this.unscaled.clear();
    this.stale.clear();
  }

  /** What a checkpoint keeps: the scaler's state under '16-mixed', else null. */
  stateDict(): GradScalerStateDict | null {
    return this.scaler?.stateDict() ?? null;
  }

  loadStateDict(state: GradScalerStateDict | null): void {
    if (this.scaler && state) this.scaler.loadStateDict(state);
  }
}
