// Lightning's GradientAccumulationScheduler: how many batches each optimizer
// step accumulates, by epoch — e.g. { 0: 8, 4: 4, 8: 1 } accumulates 8 batches
// in epochs 0–3, 4 in epochs 4–7, then none. Set at each epoch's start, so a
// resumed run picks the factor of the epoch it resumes in.
import { Callback } from './callback.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export class GradientAccumulationScheduler extends Callback {
  /** The factor from each listed (0-based) epoch on; epoch 0 defaults to 1. */
  readonly scheduling: ReadonlyMap<number, number>;
  /** The factor this callback last set (so a second fit is not taken for a conflicting Trainer option). */
  private lastSet: number | null = null;

  constructor(scheduling: Record<number, number>) {
    super();
    if (scheduling === null || typeof scheduling !== 'object' || Object.keys(scheduling).length === 0) {
      throw new TypeError('GradientAccumulationScheduler: expected a non-empty { epoch: factor } object, e.g. { 0: 8, 4: 4 }');
    }
    const entries = Object.entries(scheduling).map(([epoch, factor]) => [Number(epoch), factor] as [number, number]);
    for (const [epoch, factor] of entries) {
      if (!(Number.isInteger(epoch) && epoch >= 0)) throw new RangeError(`GradientAccumulationScheduler: epochs must be whole numbers ≥ 0, got ${JSON.stringify(epoch)}`);
      if (!(Number.isInteger(factor) && factor >= 1)) throw new RangeError(`GradientAccumulationScheduler: the factor of epoch ${epoch} must be a positive integer, got ${JSON.stringify(factor)}`);
    }
    if (!entries.some(([epoch]) => epoch === 0)) entries.push([0, 1]);
    this.scheduling = new Map(entries.sort((a, b) => a[0] - b[0]));
  }

  /** The factor of `epoch` (0-based). */
  factorAt(epoch: number): number {
    let factor = 1;
    for (const [from, value] of this.scheduling) if (epoch >= from) factor = value;
    return factor;
  }

  override onFitStart(trainer: Trainer, module: LightningModule): void {
    if (!module.automaticOptimization) {
      throw new Error('GradientAccumulationScheduler: not supported with manual optimization (accumulate in trainingStep)');
    }
    if (trainer.accumulateGradBatches !== 1 && trainer.accumulateGradBatches !== this.lastSet) {
      throw new Error(`GradientAccumulationScheduler: the Trainer already has accumulateGradBatches ${trainer.accumulateGradBatches}; use one or the other`);
    }
  }

  override onTrainEpochStart(trainer: Trainer): void {
    this.lastSet = this.factorAt(trainer.currentEpoch);
    trainer.accumulateGradBatches = this.lastSet;
  }
}
