// metrics.csv in Lightning's CSVLogger layout: one row per logging call,
// columns `step` then every metric name seen (sorted), empty where a row did
// not log that metric.
import { FileLogger, LoggerFolderOptions, MetricRow } from './logger.js';
import { toYaml } from './yaml.js';

export class CSVLogger extends FileLogger {
  /** Writes in `dir`, or with `name` / `version` in Lightning's `dir/name/version_N`. */
  constructor(dir: string, options: LoggerFolderOptions = {}) { super(dir, 'metrics.csv', options); }

  /** hparams.yaml, as Lightning's CSVLogger. */
  protected override hyperparamsFile(params: Record<string, unknown>): { name: string; text: string } {
    return { name: 'hparams.yaml', text: toYaml(params) };
  }

  protected serialize(rows: MetricRow[]): string {
    const names = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
    for (const name of names) if (/[",\n]/.test(name)) throw new Error(`CSVLogger: metric name ${JSON.stringify(name)} contains a comma, quote or newline`);
    const lines = [['step', ...names].join(',')];
    for (const r of rows) lines.push([String(r.step), ...names.map((n) => (n in r.metrics ? String(r.metrics[n]) : ''))].join(','));
    return lines.join('\n') + '\n';
  }

  protected override parse(text: string): MetricRow[] {
    const [header, ...lines] = text.split('\n').filter((l) => l.length > 0);
    const names = header?.split(',') ?? [];
    if (names[0] !== 'step') throw new Error("the first column is not 'step'");
    return lines.map((line, i) => {
      const cells = line.split(',');
      if (cells.length !== names.length) throw new Error(`line ${i + 2} has ${cells.length} cells, the header ${names.length}`);
      const metrics: Record<string, number> = {};
      names.forEach((n, j) => { if (j > 0 && cells[j] !== '') metrics[n] = Number(cells[j]); });
      return { step: Number(cells[0]), metrics };
    });
  }
}
