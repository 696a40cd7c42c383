// The learning-rate scheduler a LightningModule's configureOptimizers()
// returns, as Lightning's lr_scheduler config: a scheduler, when it steps
// (after every `frequency` optimizer steps or epochs) and, for
// ReduceLROnPlateau, the metric it is stepped with.
import { LRScheduler, ReduceLROnPlateau } from '../optim/index.js';
import type { SchedulerStateDict, ReduceLROnPlateauState } from '../optim/index.js';
import type { OptimizerConfig, SchedulerConfig } from './lightning-module.js';

export type AnyScheduler = LRScheduler | ReduceLROnPlateau;

export class SchedulerSlot {
  private constructor(readonly scheduler: AnyScheduler, readonly interval: 'step' | 'epoch', readonly frequency: number,
    readonly monitor: string | null, readonly strict: boolean, readonly name: string | null) {}

  /** The scheduler of a configureOptimizers() result (null when none), its options checked. */
  static from(config: OptimizerConfig, automatic = true): SchedulerSlot | null {
    const given = config.scheduler ?? config.lrScheduler;
    if (given === undefined || given === null) return null;
    const c: SchedulerConfig = given instanceof LRScheduler || given instanceof ReduceLROnPlateau ? { scheduler: given } : given;
    const where = 'configureOptimizers: the scheduler config';
    if (!(c.scheduler instanceof LRScheduler || c.scheduler instanceof ReduceLROnPlateau)) {
      throw new TypeError(`${where} needs 'scheduler' (an LRScheduler or ReduceLROnPlateau), got ${typeof c.scheduler}`);
    }
    const interval = c.interval ?? config.schedulerInterval ?? 'epoch';
    if (interval !== 'step' && interval !== 'epoch') throw new TypeError(`${where}: interval must be 'step' or 'epoch', got ${JSON.stringify(interval)}`);
    const frequency = c.frequency ?? 1;
    if (!Number.isInteger(frequency) || frequency < 1) throw new RangeError(`${where}: frequency must be a positive integer, got ${c.frequency}`);
    const plateau = c.scheduler instanceof ReduceLROnPlateau;
    // Under manual optimization the module steps a plateau scheduler with its own metric, as Lightning allows.
    if (plateau && automatic && (typeof c.monitor !== 'string' || !c.monitor)) {
      throw new TypeError(`${where}: a ReduceLROnPlateau scheduler needs 'monitor', the logged metric it is stepped with (e.g. { scheduler, monitor: 'val_loss' })`);
    }
    if (c.name !== undefined && (typeof c.name !== 'string' || !c.name)) throw new TypeError(`${where}: name must be a non-empty string, got ${JSON.stringify(c.name)}`);
    return new SchedulerSlot(c.scheduler, interval, frequency, plateau ? c.monitor ?? null : null, c.strict ?? true, c.name ?? null);
  }

  get plateau(): boolean { return this.scheduler instanceof ReduceLROnPlateau; }

  /** After an optimizer step (`steps` taken so far): a 'step' scheduler steps every `frequency` of them. */
  afterOptimizerStep(steps: number, metrics: ReadonlyMap<string, number>): void {
    if (this.interval === 'step' && steps % this.frequency === 0) this.stepWith(metrics, true, 'step');
  }

  /**
   * At the end of epoch `epoch` (0-based). A plateau scheduler steps only with a value computed in this epoch
   * (`fresh`): on epochs without validation, a validation metric is not stepped again with its old value.
   * It throws when the metric is missing and `certain` (validation has run, or none will).
   */
  atEpochEnd(epoch: number, metrics: ReadonlyMap<string, number>, fresh: ReadonlySet<string>, certain: boolean): void {
    if (this.interval !== 'epoch' || (epoch + 1) % this.frequency !== 0) return;
    if (this.monitor !== null && !fresh.has(this.monitor) && (metrics.has(this.monitor) || !certain)) return;
    this.stepWith(metrics, certain, 'epoch');
  }

  private stepWith(metrics: ReadonlyMap<string, number>, certain: boolean, when: string): void {
    if (!(this.scheduler instanceof ReduceLROnPlateau)) {
      this.scheduler.step();
      return;
    }
    const value = metrics.get(this.monitor!);
    if (value === undefined) {
      if (!this.strict || !certain) return;
      throw new Error(`ReduceLROnPlateau is conditioned on the metric '${this.monitor}', which is not available at this ${when}; available: ` +
        `${[...metrics.keys()].sort().join(', ') || 'none'}. Set 'monitor' in the scheduler config to a logged metric (or strict: false to skip such steps)`);
    }
    this.scheduler.step(value);
  }

  stateDict(): SchedulerStateDict | ReduceLROnPlateauState { return this.scheduler.stateDict(); }
}
