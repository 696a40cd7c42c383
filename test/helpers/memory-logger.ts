// A logger that keeps what it is given in memory, for tests to read.
import type { Logger } from '../../src/train/index.js';

export class MemoryLogger implements Logger {
  readonly dir = '';
  rows: { step: number; metrics: Record<string, number> }[] = [];
  logHyperparams(): void {}
  logMetrics(metrics: Record<string, number>, step: number): void { this.rows.push({ step, metrics: { ...metrics } }); }
  resume(): void {}
  save(): void {}
  finalize(): void {}
  /** Each logged row's values, without its step. */
  get metricRows(): Record<string, number>[] { return this.rows.map((r) => r.metrics); }
}
