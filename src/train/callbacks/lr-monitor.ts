// Logs every parameter group's learning rate (like Lightning's
// LearningRateMonitor): `lr-<Optimizer>` or `lr-<Optimizer>/pg<i>` with
// several groups, per step or per epoch. With `logMomentum` also the
// momentum (beta1 for optimizers with betas) as `lr-<Optimizer>-momentum`
// (`…-momentum/pg<i>`), and with `logWeightDecay` the weight decay as
// `lr-<Optimizer>-weight_decay` (`…-weight_decay/pg<i>`), Lightning's keys;
// with several optimizers, one set of keys each (see optimizerKeys).
import { Callback } from './callback.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';
import type { Optimizer } from '../../optim/index.js';

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
    const out: Record<string, number> = {};
    for (const { optimizer, base } of optimizerKeys(trainer)) {
      const groups = optimizer.paramGroups;
      const key = (suffix: string, i: number) => (groups.length === 1 ? `${base}${suffix}` : `${base}${suffix}/pg${i + 1}`);
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
    }
    return out;
  }

  override onTrainBatchEnd(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval === 'step') trainer.logMetrics(this.rates(trainer));
  }

  override onTrainEpochStart(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval === 'epoch') trainer.logMetrics(this.rates(trainer));
  }
}

/**
 * Lightning's names: the scheduler config's `name` when given, else
 * `lr-<Optimizer>`, a second optimizer of the same class `lr-<Optimizer>-1`, and so on.
 */
function optimizerKeys(trainer: Trainer): { optimizer: Optimizer; base: string }[] {
  const seen = new Map<string, number>();
  const slotOf = (optimizer: Optimizer) => trainer.lrSchedulerConfigs.find((slot) => (slot.scheduler as { optimizer?: unknown }).optimizer === optimizer);
  // Lightning names the optimizers that have a scheduler first, then the others.
  const ordered = [...trainer.optimizers.filter((o) => slotOf(o)), ...trainer.optimizers.filter((o) => !slotOf(o))];
  return ordered.map((optimizer) => {
    const name = slotOf(optimizer)?.name;
    if (name) return { optimizer, base: name };
    const count = seen.get(optimizer.name) ?? 0;
    seen.set(optimizer.name, count + 1);
    return { optimizer, base: count === 0 ? `lr-${optimizer.name}` : `lr-${optimizer.name}-${count}` };
  });
}
