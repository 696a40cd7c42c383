// Logs every parameter group's learning rate (like Lightning's
// LearningRateMonitor): `lr-<Optimizer>` or `lr-<Optimizer>/pg<i>` with
// several groups, per step or per epoch. With `logMomentum` also the
// momentum (beta1 for optimizers with betas) as `lr-<Optimizer>-momentum`
// (`…-momentum/pg<i>`), and with `logWeightDecay` the weight decay as
// `lr-<Optimizer>-weight_decay` (`…-weight_decay/pg<i>`), Lightning's keys.
import { Callback } from './callback.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export interface LearningRateMonitorOptions {
  loggingInterval?: 'step' | 'epoch';
  /** Also log each group's momentum, or beta1 for Adam-like optimizers (0 when it has neither). */
  logMomentum?: boolean;
  /** Also log each group's weight decay. */
  logWeightDecay?: boolean;
}

export class LearningRateMonitor extends Callback {
  readonly loggingInterval: 'step' | 'epoch';
  readonly logMomentum: boolean;
  readonly logWeightDecay: boolean;
  private warnedNoMomentum = false;

  constructor(options: LearningRateMonitorOptions = {}) {
    super();
    this.loggingInterval = options.loggingInterval ?? 'epoch';
    if (this.loggingInterval !== 'step' && this.loggingInterval !== 'epoch') {
      throw new TypeError(`LearningRateMonitor: loggingInterval must be 'step' or 'epoch', got ${JSON.stringify(options.loggingInterval)}`);
    }
    for (const name of ['logMomentum', 'logWeightDecay'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'boolean') {
        throw new TypeError(`LearningRateMonitor: ${name} must be a boolean, got ${JSON.stringify(options[name])}`);
      }
    }
    this.logMomentum = options.logMomentum ?? false;
    this.logWeightDecay = options.logWeightDecay ?? false;
  }

  private rates(trainer: Trainer): Record<string, number> {
    const optimizer = trainer.optimizer;
    if (!optimizer) return {};
    const groups = optimizer.paramGroups;
    const base = `lr-${optimizer.name}`;
    const key = (suffix: string, i: number) => (groups.length === 1 ? `${base}${suffix}` : `${base}${suffix}/pg${i + 1}`);
    const out: Record<string, number> = {};
    groups.forEach((g, i) => {
      out[key('', i)] = g.lr;
      const group = g as unknown as { betas?: readonly number[]; momentum?: number; weightDecay?: number };
      if (this.logMomentum) {
        const momentum = Array.isArray(group.betas) ? group.betas[0] : group.momentum;
        if (momentum === undefined && !this.warnedNoMomentum) {
          this.warnedNoMomentum = true;
          trainer.print(`warning: LearningRateMonitor: logMomentum is set but ${optimizer.name} has no momentum or betas: logging 0`);
        }
        out[key('-momentum', i)] = momentum ?? 0;
      }
      if (this.logWeightDecay) out[key('-weight_decay', i)] = group.weightDecay ?? 0;
    });
    return out;
  }

  override onTrainBatchEnd(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval === 'step') trainer.logMetrics(this.rates(trainer));
  }

  override onTrainEpochStart(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval === 'epoch') trainer.logMetrics(this.rates(trainer));
  }
}
