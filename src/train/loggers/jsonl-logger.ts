// metrics.jsonl: one JSON object per logging call, {"step": n, name: value…}.
// Non-finite values are written as strings ("NaN", "Infinity") since JSON has no literal for them.
import { FileLogger, LoggerFolderOptions, MetricRow } from './logger.js';

const encode = (v: number): number | string => (Number.isFinite(v) ? v : String(v));
const decode = (v: unknown): number => (typeof v === 'string' ? Number(v) : (v as number));

export class JSONLLogger extends FileLogger {
  /** Writes in `dir`, or with `name` / `version` in Lightning's `dir/name/version_N`. */
  constructor(dir: string, options: LoggerFolderOptions = {}) { super(dir, 'metrics.jsonl', options); }

  protected serialize(rows: MetricRow[]): string {
    return rows.map((r) => JSON.stringify({ step: r.step, ...Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, encode(v)])) }) + '\n').join('');
  }

  protected override parse(text: string): MetricRow[] {
    return text.split('\n').filter((l) => l.trim().length > 0).map((line) => {
      const { step, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return { step: Number(step), metrics: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, decode(v)])) };
    });
  }
}
