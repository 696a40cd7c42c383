// Loggers receive metric rows {step, name: value…} from the Trainer and
// persist them. Rows are kept in memory and the file is rewritten atomically
// on save(), so an interrupted run never leaves a torn log; on resume a
// logger reloads its rows up to the checkpoint's step.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-file.js';

export interface MetricRow { step: number; metrics: Record<string, number> }

/** How the run ended, as Lightning's logger.finalize(status): 'failed' after an error or an interrupt. */
export type LoggerStatus = 'success' | 'failed';

export interface Logger {
  /** The folder the logger writes to. */
  readonly dir: string;
  logHyperparams(params: Record<string, unknown>): void;
  logMetrics(metrics: Record<string, number>, step: number): void;
  /** Continues a run: keeps the rows already on disk up to and including `step`. */
  resume(step: number): void;
  /** Writes everything logged so far. */
  save(): void;
  /** The run is over ('success' unless told otherwise): writes what is left. */
  finalize(status?: LoggerStatus): void;
}

/** Lightning's logger folder options: `<saveDir>/<name>/<version>` (used when either is given; else the logger writes in saveDir itself). */
export interface LoggerFolderOptions {
  /** The experiment's folder under saveDir ('' for none), as Lightning's `name`. */
  name?: string;
  /** A number gives `version_<n>`, a string that folder; when absent, the next free `version_<n>` (0, 1, …). */
  version?: number | string;
}

/** The folder a logger writes to: saveDir alone, or Lightning's saveDir/name/version_N layout when name or version is given. */
export function loggerFolder(where: string, saveDir: string, options: LoggerFolderOptions = {}): { dir: string; name: string | null; version: number | string | null } {
  if (typeof saveDir !== 'string' || saveDir.length === 0) throw new TypeError(`${where}: a folder is required`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
  const { name, version } = options;
  if (name === undefined && version === undefined) return { dir: saveDir, name: null, version: null };
  if (name !== undefined && typeof name !== 'string') throw new TypeError(`${where}: name must be a string, got ${JSON.stringify(name)}`);
  if (version !== undefined && !(typeof version === 'string' && version.length > 0) && !(Number.isInteger(version) && (version as number) >= 0)) {
    throw new TypeError(`${where}: version must be an integer ≥ 0 or a non-empty string, got ${JSON.stringify(version)}`);
  }
  const root = join(saveDir, name ?? '');
  let resolved = version;
  if (resolved === undefined) {
    const taken = existsSync(root) ? readdirSync(root).map((n) => /^version_(\d+)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m![1])) : [];
    resolved = taken.length === 0 ? 0 : Math.max(...taken) + 1;
  }
  return { dir: join(root, typeof resolved === 'number' ? `version_${resolved}` : resolved), name: name ?? '', version: resolved };
}

/** Rows in memory, written as one file by `render`. */
export abstract class FileLogger implements Logger {
  protected rows: MetricRow[] = [];
  protected hyperparams: Record<string, unknown> = {};
  /** The folder this logger writes to (Lightning's log_dir). */
  readonly dir: string;
  /** Lightning's name and version: null when the logger writes in its folder directly. */
  readonly name: string | null;
  readonly version: number | string | null;

  constructor(saveDir: string, readonly fileName: string, options: LoggerFolderOptions = {}) {
    const folder = loggerFolder(new.target.name, saveDir, options);
    this.dir = folder.dir;
    this.name = folder.name;
    this.version = folder.version;
  }

  /** Lightning's log_dir. */
  get logDir(): string { return this.dir; }

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

  finalize(_status: LoggerStatus = 'success'): void { this.save(); }
}
