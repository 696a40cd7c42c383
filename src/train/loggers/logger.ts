// Loggers receive metric rows {step, name: value…} from the Trainer and
// persist them. Rows are kept in memory and the file is rewritten atomically
// on save(), so an interrupted run never leaves a torn log; on resume a
// logger reloads its rows up to the checkpoint's step.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-file.js';

export interface MetricRow { step: number; metrics: Record<string, number> }

export interface Logger {
  /** The folder the logger writes to. */
  readonly dir: string;
  logHyperparams(params: Record<string, unknown>): void;
  logMetrics(metrics: Record<string, number>, step: number): void;
  /** Continues a run: keeps the rows already on disk up to and including `step`. */
  resume(step: number): void;
  /** Writes everything logged so far. */
  save(): void;
  finalize(): void;
}

/** Rows in memory, written as one file by `render`. */
export abstract class FileLogger implements Logger {
  protected rows: MetricRow[] = [];
  protected hyperparams: Record<string, unknown> = {};

  constructor(readonly dir: string, readonly fileName: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`${this.constructor.name}: a folder is required`);
  }

  get path(): string { return join(this.dir, this.fileName); }

  /** The file's whole content for these rows. */
  protected abstract serialize(rows: MetricRow[]): string | Uint8Array[];
  /** Reads rows back from the file (for resume); loggers without it start afresh. */
  protected parse?(text: string): MetricRow[];

  /** Where logHyperparams writes, and how (hparams.json here; CSV and TensorBoard write Lightning's hparams.yaml). */
  protected hyperparamsFile(params: Record<string, unknown>): { name: string; text: string } {
    return { name: 'hparams.json', text: JSON.stringify(params, null, 2) + '\n' };
  }

  logHyperparams(params: Record<string, unknown>): void {
    this.hyperparams = { ...this.hyperparams, ...params };
    mkdirSync(this.dir, { recursive: true });
    const { name, text } = this.hyperparamsFile(this.hyperparams);
    writeFileAtomic(join(this.dir, name), Buffer.from(text));
  }

  logMetrics(metrics: Record<string, number>, step: number): void {
    if (Object.keys(metrics).length > 0) this.rows.push({ step, metrics: { ...metrics } });
  }

  resume(step: number): void {
    if (!this.parse || !existsSync(this.path)) return;
    let previous: MetricRow[];
    try {
      previous = this.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      throw new Error(`${this.constructor.name}: cannot continue the log ${this.path}: ${(error as Error).message}`);
    }
    this.rows = [...previous.filter((r) => r.step <= step), ...this.rows];
  }

  save(): void {
    mkdirSync(this.dir, { recursive: true });
    const content = this.serialize(this.rows);
    writeFileAtomic(this.path, typeof content === 'string' ? Buffer.from(content) : content);
  }

  finalize(): void { this.save(); }
}
