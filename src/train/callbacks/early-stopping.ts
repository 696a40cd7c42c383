// Stops training when a monitored metric has not improved for `patience`
// consecutive checks, becomes NaN/Inf, is better than `stoppingThreshold` or
// worse than `divergenceThreshold` (Lightning's order of checks). As Lightning, it checks at each
// training epoch's end when validation runs once per epoch, and else after
// every validation (checkValEveryNEpoch > 1, or valCheckInterval < 1 epoch),
// so that its patience counts validations.
import { Callback, JsonValue, checkMode, improves, monitored } from './callback.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export interface EarlyStoppingOptions {
  monitor: string;
  mode?: 'min' | 'max';
  /** Checks without improvement before stopping (default 3). */
  patience?: number;
  /** The smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Stop at once when the metric is NaN or infinite (default true). */
  checkFinite?: boolean;
  /** Stop as soon as the metric is better than this (Lightning's stopping_threshold). */
  stoppingThreshold?: number;
  /** Stop as soon as the metric is worse than this (Lightning's divergence_threshold). */
  divergenceThreshold?: number;
  /** A missing metric is an error (default true); false: print a warning and skip the check. */
  strict?: boolean;
  /** Check at training epoch ends (true) or after validations (false); default as Lightning (see above). */
  checkOnTrainEpochEnd?: boolean;
}

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;
  readonly checkFinite: boolean;
  readonly stoppingThreshold: number | undefined;
  readonly divergenceThreshold: number | undefined;
  readonly strict: boolean;
  private readonly checkOnTrainEpochEndOption: boolean | undefined;
  best: number | null = null;
  wait = 0;
  /** The epoch at which it stopped training, if it did. */
  stoppedEpoch: number | null = null;
  /** Why it stopped, for the trainer's report. */
  reason = '';

  constructor(options: EarlyStoppingOptions) {
    super();
    if (typeof options?.monitor !== 'string' || !options.monitor) throw new TypeError('EarlyStopping: monitor (a logged metric name) is required');
    this.monitor = options.monitor;
    this.mode = checkMode('EarlyStopping', options.mode ?? 'min');
    this.patience = options.patience ?? 3;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`EarlyStopping: patience must be a non-negative integer, got ${options.patience}`);
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.checkFinite = flag('checkFinite', options.checkFinite, true);
    this.strict = flag('strict', options.strict, true);
    this.stoppingThreshold = threshold('stoppingThreshold', options.stoppingThreshold);
    this.divergenceThreshold = threshold('divergenceThreshold', options.divergenceThreshold);
    this.checkOnTrainEpochEndOption = options.checkOnTrainEpochEnd;
  }

  /** Lightning's default: at epoch ends when validation runs exactly once per epoch. */
  checksOnTrainEpochEnd(trainer: Trainer): boolean {
    return this.checkOnTrainEpochEndOption ?? (trainer.valCheckInterval === 1 && trainer.checkValEveryNEpoch === 1);
  }

  override onTrainEpochEnd(trainer: Trainer, _module: LightningModule): void {
    if (this.checksOnTrainEpochEnd(trainer)) this.check(trainer);
  }

  override onValidationEnd(trainer: Trainer, _module: LightningModule): void {
    if (!this.checksOnTrainEpochEnd(trainer)) this.check(trainer);
  }

  private check(trainer: Trainer): void {
    if (trainer.fastDevRun !== null) return;  // as Lightning: a fast dev run is not monitored
    if (!this.strict && !trainer.callbackMetrics.has(this.monitor)) {
      trainer.print(`warning: EarlyStopping skipped its check: the monitored metric '${this.monitor}' was not logged (strict: false); ` +
        `available: ${[...trainer.callbackMetrics.keys()].sort().join(', ') || 'none'}`);
      return;
    }
    const value = monitored('EarlyStopping', trainer.callbackMetrics, this.monitor);
    const better = (a: number, b: number) => (this.mode === 'min' ? a < b : a > b);
    if (this.checkFinite && !Number.isFinite(value)) {
      this.stop(trainer, `${this.monitor} = ${value} is not finite`);
    } else if (this.stoppingThreshold !== undefined && better(value, this.stoppingThreshold)) {
      this.stop(trainer, `${this.monitor} = ${value} reached the stopping threshold ${this.mode === 'min' ? '<' : '>'} ${this.stoppingThreshold}`);
    } else if (this.divergenceThreshold !== undefined && better(this.divergenceThreshold, value)) {
      this.stop(trainer, `${this.monitor} = ${value} diverged past the divergence threshold ${this.mode === 'min' ? '>' : '<'} ${this.divergenceThreshold}`);
    } else if (improves(value, this.best, this.mode, this.minDelta)) {
      this.best = value;
      this.wait = 0;
    } else if (++this.wait >= this.patience) {
      this.stop(trainer, `${this.monitor} did not improve by more than ${this.minDelta} in the last ${this.wait} checks (best ${this.best})`);
    }
  }

  private stop(trainer: Trainer, reason: string): void {
    this.stoppedEpoch = trainer.currentEpoch;
    this.reason = reason;
    trainer.requestStop(`EarlyStopping: ${reason}`);
  }

  override stateDict(): JsonValue {
    return { best: this.best, wait: this.wait, stopped_epoch: this.stoppedEpoch };
  }

  override loadStateDict(state: JsonValue): void {
    const s = state as { best: number | null; wait: number; stopped_epoch: number | null };
    this.best = s.best;
    this.wait = s.wait;
    this.stoppedEpoch = s.stopped_epoch;
  }
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`EarlyStopping: ${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

function threshold(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`EarlyStopping: ${name} must be a number, got ${JSON.stringify(value)}`);
  return value;
}
