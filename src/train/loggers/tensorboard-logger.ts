// TensorBoard scalars: an `events.out.tfevents.<time>.<host>` file in the log
// folder, readable by `tensorboard --logdir`. Each run session writes its own
// file (TensorBoard merges the files of a folder), rewritten atomically on save().
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FileLogger, LoggerFolderOptions, MetricRow } from './logger.js';
import { toYaml } from './yaml.js';
import { decodeEvent, encodeEvent, frameRecord, readRecords } from './tfrecord.js';

export class TensorBoardLogger extends FileLogger {
  private readonly startTime = Date.now() / 1000;
  private readonly wallTimes: number[] = [];

  /** Writes in `dir`, or with `name` / `version` in Lightning's `dir/name/version_N`. */
  constructor(dir: string, options: LoggerFolderOptions = {}) {
    super(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}`, options);
  }

  /** hparams.yaml, as Lightning's TensorBoardLogger. */
  protected override hyperparamsFile(params: Record<string, unknown>): { name: string; text: string } {
    return { name: 'hparams.yaml', text: toYaml(params) };
  }

  override logMetrics(metrics: Record<string, number>, step: number): void {
    super.logMetrics(metrics, step);
    while (this.wallTimes.length < this.rows.length) this.wallTimes.push(Date.now() / 1000);
  }

  // No parse(): on resume, earlier sessions' files stay as they are and TensorBoard reads them all.
  protected serialize(rows: MetricRow[]): Uint8Array[] {
    const records = [frameRecord(encodeEvent({ wallTime: this.startTime, step: 0, fileVersion: 'brain.Event:2' }))];
    rows.forEach((r, i) => records.push(frameRecord(encodeEvent({ wallTime: this.wallTimes[i] ?? this.startTime, step: r.step, scalars: r.metrics }))));
    return records;
  }
}

/** Every scalar of every event file in a folder, in file order (for tests and tools). */
export function readTensorBoardScalars(dir: string): { step: number; tag: string; value: number }[] {
  if (!existsSync(dir)) throw new Error(`readTensorBoardScalars: no folder ${dir}`);
  const out: { step: number; tag: string; value: number }[] = [];
  for (const name of readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.')).sort()) {
    for (const payload of readRecords(readFileSync(join(dir, name)))) {
      const event = decodeEvent(payload);
      for (const [tag, value] of Object.entries(event.scalars)) out.push({ step: event.step, tag, value });
    }
  }
  return out;
}
