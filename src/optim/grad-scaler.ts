// Loss scaling for float16 mixed precision, as torch.amp.GradScaler: the
// loss is multiplied by a large power of two before backward so that small
// float16 gradients do not flush to zero; before the optimizer step the
// gradients are divided back and checked, and a step whose gradients hold an
// Inf or NaN is skipped while the scale backs off. After `growthInterval`
// clean steps in a row the scale grows again. Nothing here is CUDA-specific:
// the ops run on the gradients' own device.
import { noGrad } from '../torch/autograd.js';
import { scope } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import type { Optimizer } from './optimizer.js';

export interface GradScalerOptions {
  /** First scale (default 2^16). */
  initScale?: number;
  /** Factor applied after `growthInterval` steps without Inf/NaN (default 2). */
  growthFactor?: number;
  /** Factor applied when a step had Inf/NaN gradients (default 0.5). */
  backoffFactor?: number;
  /** Clean steps in a row before the scale grows (default 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through (default true). */
  enabled?: boolean;
}

/** PyTorch's GradScaler.state_dict() keys. */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

type Stage = 'unscaled' | 'stepped';

export class GradScaler {
  readonly enabled: boolean;
  private scaleValue: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;
  /** Per optimizer since the last update(): how far it got, and whether its gradients held Inf/NaN. */
  private readonly stages = new Map<Optimizer, { stage: Stage; foundInf: boolean }>();

  constructor(options: GradScalerOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.scaleValue = options.initScale ?? 2 ** 16;
    this.growthFactor = options.growthFactor ?? 2;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    checkFactors(this.scaleValue, this.growthFactor, this.backoffFactor, this.growthInterval);
  }

  /** The current scale (1 when disabled). */
  getScale(): number { return this.enabled ? this.scaleValue : 1; }

  /** loss × scale, to call backward() on. */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    return loss.mul(this.scaleValue);
  }

  /**
   * Divides the gradients of `optimizer`'s parameters by the scale, in place,
   * and records whether any is Inf/NaN. Call it before clipping gradients;
   * step() calls it when it has not been called since the last update().
   */
  unscale_(optimizer: Optimizer): void {
    if (!this.enabled) return;
    const seen = this.stages.get(optimizer);
    if (seen?.stage === 'unscaled') throw new Error('GradScaler.unscale_: already called for this optimizer since the last update()');
    if (seen?.stage === 'stepped') throw new Error('GradScaler.unscale_: called after step() for this optimizer; call update() first');
    const grads = optimizer.paramGroups.flatMap((g) => g.params).map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) throw new Error('GradScaler: no parameter of this optimizer has a gradient (was backward() called on the scaled loss?)');
    const half = grads.find((g) => g.dtype === 'float16');
    if (half) throw new TypeError('GradScaler: a gradient is float16; keep the parameters in float32 (autocast lowers the precision inside the ops)');
    const inverse = 1 / this.scaleValue;
    const foundInf = noGrad(() => scope(() => {
      let nonFinite: Tensor | null = null;
      for (const g of grads) {
        const bad = g.isfinite().all().logicalNot();
        nonFinite = nonFinite === null ? bad : nonFinite.logicalOr(bad);
        g.mul_(inverse);
      }
      return Boolean(nonFinite!.item());
    }));
    this.stages.set(optimizer, { stage: 'unscaled', foundInf });
  }

  /** Unscales if needed, then steps `optimizer` unless its gradients held Inf/NaN. Returns whether it stepped. */
  step(optimizer: Optimizer): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    const seen = this.stages.get(optimizer);
    if (seen?.stage === 'stepped') throw new Error('GradScaler.step: already called for this optimizer since the last update()');
    if (seen === undefined) this.unscale_(optimizer);
    const state = this.stages.get(optimizer)!;
    state.stage = 'stepped';
    if (state.foundInf) return false;
    optimizer.step();
    return true;
  }

  /** Adjusts the scale after the step(s) of this iteration, or sets it to `newScale`. */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      if (!(Number.isFinite(newScale) && newScale > 0)) throw new RangeError(`GradScaler.update: newScale must be a positive number, got ${newScale}`);
      this.scaleValue = newScale;
    } else {
      if (this.stages.size === 0) throw new Error('GradScaler.update: no optimizer was stepped or unscaled since the last update()');
      const foundInf = [...this.stages.values()].some((s) => s.foundInf);
      if (foundInf) {
        this.scaleValue *= this.backoffFactor;
        this.growthTracker = 0;
      } else if (++this.growthTracker === this.growthInterval) {
        this.scaleValue *= this.growthFactor;
        this.growthTracker = 0;
      }
    }
    this.stages.clear();
  }

  stateDict(): GradScalerStateDict {
    return {
      scale: this.scaleValue, growth_factor: this.growthFactor, backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval, _growth_tracker: this.growthTracker,
    };
  }

  loadStateDict(state: GradScalerStateDict): void {
    const { scale, growth_factor, backoff_factor, growth_interval, _growth_tracker } = state;
    checkFactors(scale, growth_factor, backoff_factor, growth_interval);
    if (!(Number.isInteger(_growth_tracker) && _growth_tracker >= 0 && _growth_tracker < growth_interval)) {
      throw new RangeError(`GradScaler.loadStateDict: _growth_tracker must be an integer in [0, growth_interval), got ${_growth_tracker}`);
    }
    this.scaleValue = scale;
    this.growthFactor = growth_factor;
    this.backoffFactor = backoff_factor;
    this.growthInterval = growth_interval;
    this.growthTracker = _growth_tracker;
  }
}

function checkFactors(scale: number, growth: number, backoff: number, interval: number): void {
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`GradScaler: the scale must be a positive number, got ${scale}`);
  if (!(Number.isFinite(growth) && growth > 1)) throw new RangeError(`GradScaler: growthFactor must be above 1, got ${growth}`);
  if (!(backoff > 0 && backoff < 1)) throw new RangeError(`GradScaler: backoffFactor must be in (0, 1), got ${backoff}`);
  if (!(Number.isInteger(interval) && interval >= 1)) throw new RangeError(`GradScaler: growthInterval must be a positive integer, got ${interval}`);
}
