// Aggregation of the values a LightningModule logs: the latest value of each
// step metric, and a batch-size-weighted mean of each epoch metric (which is
// exact for accuracies: Σ correct / Σ seen, whatever the batch sizes).
import type { LoggableMetric, LogOptions, LogSink } from './lightning-module.js';

export class MetricCollector implements LogSink {
  /** Values logged with onStep in the current step. */
  step = new Map<string, number>();
  /** The names marked for the progress bar. */
  readonly progBar = new Set<string>();
  private sums = new Map<string, { total: number; weight: number; both: boolean }>();
  /** Metric objects logged per epoch: read with compute() at the end, then reset. */
  private metrics = new Map<string, { metric: LoggableMetric; both: boolean }>();

  log(name: string, value: number, options: LogOptions): void {
    if (options.progBar) this.progBar.add(name);
    if (options.onStep) this.step.set(name, value);
    if (options.onEpoch) {
      const weight = options.batchSize ?? 1;
      const s = this.sums.get(name) ?? { total: 0, weight: 0, both: false };
      s.total += value * weight;
      s.weight += weight;
      s.both = s.both || (options.onStep ?? false);
      this.sums.set(name, s);
    }
  }

  logMetric(name: string, metric: LoggableMetric, options: LogOptions): void {
    if (options.progBar) this.progBar.add(name);
    this.metrics.set(name, { metric, both: (this.metrics.get(name)?.both ?? false) || (options.onStep ?? false) });
  }

  private loggedBoth(name: string): boolean {
    return this.sums.get(name)?.both ?? this.metrics.get(name)?.both ?? false;
  }

  /** Step values for loggers: `name_step` where the metric is also aggregated per epoch (Lightning's naming). */
  stepForLoggers(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, v] of this.step) out[this.loggedBoth(name) ? `${name}_step` : name] = v;
    return out;
  }

  /** The step values shown in the progress bar. */
  stepForProgressBar(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, v] of this.step) if (this.progBar.has(name)) out[name] = v;
    return out;
  }

  clearStep(): void { this.step = new Map(); }

  /** Epoch means by name. */
  epoch(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, s] of this.sums) out.set(name, s.weight > 0 ? s.total / s.weight : NaN);
    for (const [name, { metric }] of this.metrics) out.set(name, metric.compute());
    return out;
  }

  /** The weight (samples seen) behind each epoch mean. */
  weights(): Record<string, number> {
    return Object.fromEntries([...[...this.sums].map(([name, s]) => [name, s.weight] as const),
      ...[...this.metrics].map(([name, { metric }]) => [name, metric.weight] as const)]);
  }

  /** Resets the metric objects logged this epoch (after their values were read), as Lightning does. */
  resetMetrics(): void {
    for (const { metric } of this.metrics.values()) metric.reset();
    this.metrics = new Map();
  }

  /** Epoch values (these, or `values` e.g. averaged over ranks) for loggers: `name_epoch` where also logged per step. */
  epochForLoggers(values: Map<string, number> = this.epoch()): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, v] of values) out[this.loggedBoth(name) ? `${name}_epoch` : name] = v;
    return out;
  }

  resetEpoch(): void {
    this.sums = new Map();
    this.resetMetrics();
    this.clearStep();
  }
}
