// Logs every parameter group's learning rate (like Lightning's
// LearningRateMonitor): `lr-<Optimizer>` or `lr-<Optimizer>/pg<i>` with
// several groups, per step or per epoch.
import { Callback } from './callback.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export class LearningRateMonitor extends Callback {
  readonly loggingInterval: 'step' | 'epoch';

  constructor(options: { loggingInterval?: 'step' | 'epoch' } = {}) {
    super();
    this.loggingInterval = options.loggingInterval ?? 'epoch';
    if (this.loggingInterval !== 'step' && this.loggingInterval !== 'epoch') {
      throw new TypeError(`LearningRateMonitor: loggingInterval must be 'step' or 'epoch', got ${JSON.stringify(options.loggingInterval)}`);
    }
  }

  private rates(trainer: Trainer): Record<string, number> {
    const optimizer = trainer.optimizer;
    if (!optimizer) return {};
    const groups = optimizer.paramGroups;
    const out: Record<string, number> = {};
    groups.forEach((g, i) => { out[groups.length === 1 ? `lr-${optimizer.name}` : `lr-${optimizer.name}/pg${i + 1}`] = g.lr; });
    return out;
  }

  override onTrainBatchEnd(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval === 'step') trainer.logMetrics(this.rates(trainer));
  }

  override onTrainEpochStart(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval === 'epoch') trainer.logMetrics(this.rates(trainer));
  }
}
