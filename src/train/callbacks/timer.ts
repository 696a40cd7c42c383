// Lightning's Timer: stops training once a duration has passed (checked after
// every training batch, or at each epoch's end), and tells how long each stage
// ran. The elapsed training time is saved in checkpoints, so a resumed run
// counts the time spent before the interruption (Trainer's maxTime uses it).
import { performance } from 'node:perf_hooks';
import { Callback } from './callback.js';
import type { JsonValue } from './callback.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

/** A duration: seconds (a number or a string of digits), Lightning's "DD:HH:MM:SS" string, or { days, hours, minutes, seconds }. */
export type Duration = number | string | { days?: number; hours?: number; minutes?: number; seconds?: number };

export interface TimerOptions {
  /** How long training may run (null: no limit, only measure). */
  duration?: Duration | null;
  /** Check after every training batch ('step', default) or at each epoch's end ('epoch'). */
  interval?: 'step' | 'epoch';
  /** Print a line when the time is up (default true). */
  verbose?: boolean;
}

type TimedStage = 'train' | 'validate' | 'test';

/** Seconds in a Duration; a RangeError/TypeError naming the problem otherwise. */
export function durationSeconds(value: Duration, where: string): number {
  let seconds: number;
  if (typeof value === 'number') {
    seconds = value;
  } else if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) {
    seconds = Number(value);  // plain seconds, as a command line gives them
  } else if (typeof value === 'string') {
    const parts = value.split(':');
    if (parts.length !== 4 || parts.some((p) => !/^\d+$/.test(p))) {
      throw new TypeError(`${where}: a duration string must be "DD:HH:MM:SS" (e.g. "00:12:00:00" for 12 hours), got ${JSON.stringify(value)}`);
    }
    const [d, h, m, s] = parts.map(Number);
    seconds = ((d * 24 + h) * 60 + m) * 60 + s;
  } else if (typeof value === 'object' && value !== null) {
    const unknown = Object.keys(value).filter((k) => !['days', 'hours', 'minutes', 'seconds'].includes(k));
    if (unknown.length > 0) throw new TypeError(`${where}: unknown duration field(s) ${unknown.join(', ')}; use days, hours, minutes, seconds`);
    seconds = (((value.days ?? 0) * 24 + (value.hours ?? 0)) * 60 + (value.minutes ?? 0)) * 60 + (value.seconds ?? 0);
  } else {
    throw new TypeError(`${where}: a duration is a number of seconds, "DD:HH:MM:SS" or { days, hours, minutes, seconds }, got ${JSON.stringify(value)}`);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`${where}: the duration must be a positive time, got ${JSON.stringify(value)}`);
  return seconds;
}

export class Timer extends Callback {
  /** The limit in seconds (null: none). */
  readonly durationSeconds: number | null;
  readonly interval: 'step' | 'epoch';
  private readonly verbose: boolean;
  /** Seconds each stage ran before the current run of it (restored from checkpoints for 'train'). */
  private readonly before: Record<TimedStage, number> = { train: 0, validate: 0, test: 0 };
  private readonly started: Partial<Record<TimedStage, number>> = {};
  private readonly ended: Partial<Record<TimedStage, number>> = {};

  constructor(options: TimerOptions = {}) {
    super();
    this.durationSeconds = options.duration === undefined || options.duration === null ? null : durationSeconds(options.duration, 'Timer');
    this.interval = options.interval ?? 'step';
    if (this.interval !== 'step' && this.interval !== 'epoch') throw new TypeError(`Timer: interval must be 'step' or 'epoch', got ${JSON.stringify(options.interval)}`);
    this.verbose = options.verbose ?? true;
  }

  /** Seconds `stage` has run, counting earlier runs restored from a checkpoint. */
  timeElapsed(stage: TimedStage = 'train'): number {
    const start = this.started[stage];
    if (start === undefined) return this.before[stage];
    return this.before[stage] + ((this.ended[stage] ?? performance.now()) - start) / 1000;
  }

  /** Seconds left before the limit (Infinity without one). */
  timeRemaining(stage: TimedStage = 'train'): number {
    return this.durationSeconds === null ? Infinity : this.durationSeconds - this.timeElapsed(stage);
  }

  override onFitStart(): void { this.begin('train'); }
  override onFitEnd(): void { this.end('train'); }
  override setup(_trainer: Trainer, _module: LightningModule, stage: string): void {
    if (stage === 'validate' || stage === 'test') this.begin(stage);
  }
  override teardown(_trainer: Trainer, _module: LightningModule, stage: string): void {
    if (stage === 'validate' || stage === 'test') this.end(stage);
  }

  override onTrainBatchEnd(trainer: Trainer): void {
    if (this.interval === 'step') this.check(trainer);
  }

  override onTrainEpochEnd(trainer: Trainer): void {
    if (this.interval === 'epoch') this.check(trainer);
  }

  override stateDict(): JsonValue {
    return { time_elapsed: { train: this.timeElapsed('train'), validate: this.timeElapsed('validate'), test: this.timeElapsed('test') } };
  }

  override loadStateDict(state: JsonValue): void {
    const elapsed = (state as { time_elapsed?: Record<string, unknown> } | null)?.time_elapsed;
    if (typeof elapsed !== 'object' || elapsed === null) return;
    for (const stage of ['train', 'validate', 'test'] as const) {
      const value = elapsed[stage];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) this.before[stage] = value;
    }
    // The clock of this run restarts from the restored time.
    delete this.started.train;
    delete this.ended.train;
    this.begin('train');
  }

  private begin(stage: TimedStage): void {
    if (this.started[stage] !== undefined && this.ended[stage] === undefined) return;
    if (this.started[stage] !== undefined) this.before[stage] = this.timeElapsed(stage);
    this.started[stage] = performance.now();
    delete this.ended[stage];
  }

  private end(stage: TimedStage): void {
    if (this.started[stage] !== undefined && this.ended[stage] === undefined) this.ended[stage] = performance.now();
  }

  private check(trainer: Trainer): void {
    if (this.durationSeconds === null || trainer.shouldStop || this.timeElapsed('train') < this.durationSeconds) return;
    const message = `Timer: the time limit of ${formatSeconds(this.durationSeconds)} is reached (trained ${formatSeconds(this.timeElapsed('train'))})`;
    if (this.verbose) trainer.print(message);
    trainer.requestStop(message);
  }
}

function formatSeconds(seconds: number): string {
  const whole = Math.round(seconds);
  const d = Math.floor(whole / 86400);
  const hms = [Math.floor((whole % 86400) / 3600), Math.floor((whole % 3600) / 60), whole % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return `${String(d).padStart(2, '0')}:${hms}`;
}
