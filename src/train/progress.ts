// Per-epoch progress: a live bar redrawn in place on a terminal (batches,
// it/s, ETA and the metrics logged with progBar), or, when the output is not a
// terminal (CI logs, files), a plain line every `plainEverySeconds`.
import { performance } from 'node:perf_hooks';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
};

export const formatMetric = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));

export const formatMetrics = (metrics: Record<string, number>): string =>
  Object.entries(metrics).map(([k, v]) => `${k} ${formatMetric(v)}`).join(' · ');

export class ProgressBar {
  private label = '';
  private total = 0;
  private done = 0;
  private start = 0;
  private lastPlain = 0;
  private drawn = false;

  constructor(private readonly out: ProgressOutput, private readonly plainEverySeconds = 30) {}

  get live(): boolean { return this.out.isTTY === true; }

  begin(label: string, total: number, alreadyDone = 0): void {
    this.label = label;
    this.total = total;
    this.done = alreadyDone;
    this.start = performance.now();
    this.lastPlain = this.start;
  }

  update(done: number, metrics: Record<string, number>): void {
    const steps = done - this.done;
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = steps > 0 && elapsed > 0 ? steps / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : NaN;
    const stats = `${done}/${this.total} ${rate.toFixed(2)} it/s ETA ${clock(eta)}${Object.keys(metrics).length ? ' · ' + formatMetrics(metrics) : ''}`;
    if (this.live) {
      const width = Math.max(10, Math.min(30, (this.out.columns ?? 100) - this.label.length - stats.length - 6));
      const filled = this.total > 0 ? Math.round((width * done) / this.total) : width;
      const bar = '█'.repeat(filled) + '░'.repeat(Math.max(0, width - filled));
      this.out.write(`\r\x1b[K${this.label} ${bar} ${stats}`);
      this.drawn = true;
    } else if (performance.now() - this.lastPlain >= this.plainEverySeconds * 1000) {
      this.lastPlain = performance.now();
      this.out.write(`${this.label} ${stats}\n`);
    }
  }

  /** Ends the bar's line (a live bar is left on screen). */
  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
