// TensorBoard: an `events.out.tfevents.<time>.<host>` file in the log folder,
// readable by `tensorboard --logdir`, holding scalars, images, histograms, text
// and the hparams plugin's summaries. Each run session writes its own file
// (TensorBoard merges the files of a folder). Events are kept in memory, in
// the order they were logged, and the file is rewritten atomically on save().
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../../torch/index.js';
import { FileLogger, LoggerFolderOptions, LoggerStatus, MetricRow } from './logger.js';
import { toYaml } from './yaml.js';
import { DecodedValue, SummaryValue, decodeEvent, encodeEvent, frameRecord, readRecords } from './tfrecord.js';
import {
  DecodedHparams, HPARAMS_PLUGIN, HPARAMS_STATUS, HistogramBins, ImageDataFormat, checkStep, checkTag, decodeHparamsPluginData,
  flattenHparams, hparamsSummaries, imageSummary, makeHistogram, sessionEndSummary, textSummary,
} from './tensorboard-summaries.js';

export interface TensorBoardLoggerOptions extends LoggerFolderOptions {
  /**
   * Lightning's default_hp_metric: logHyperparams without metrics logs `hp_metric` = -1 at step 0
   * and lists `hp_metric` as the hparams plugin's metric (default true).
   */
  defaultHpMetric?: boolean;
}

/** One Event of the file: its values in one Summary. */
interface StoredEvent { wallTime: number; step: number; values: SummaryValue[] }

type TagKind = 'scalar' | 'image' | 'histogram' | 'text';

export class TensorBoardLogger extends FileLogger {
  private readonly startTime = Date.now() / 1000;
  /** Everything logged, in order; serialize() frames one record per event after the file-version event. */
  private events: StoredEvent[] = [];
  /** What each tag holds: TensorBoard reads a tag with one plugin, so one tag is never two kinds. */
  private readonly tagKinds = new Map<string, TagKind>();
  private readonly defaultHpMetric: boolean;
  /** The hparams plugin's metric names so far. */
  private readonly hpMetricNames = new Set<string>();
  private hparamsWritten = false;
  private resumedAt = 0;

  /** Writes in `dir`, or with `name` / `version` in Lightning's `dir/name/version_N`. */
  constructor(dir: string, options: TensorBoardLoggerOptions = {}) {
    super(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}`, options);
    if (options.defaultHpMetric !== undefined && typeof options.defaultHpMetric !== 'boolean') {
      throw new TypeError(`TensorBoardLogger: defaultHpMetric must be a boolean, got ${JSON.stringify(options.defaultHpMetric)}`);
    }
    this.defaultHpMetric = options.defaultHpMetric ?? true;
  }

  /** hparams.yaml, as Lightning's TensorBoardLogger. */
  protected override hyperparamsFile(params: Record<string, unknown>): { name: string; text: string } {
    return { name: 'hparams.yaml', text: toYaml(params) };
  }

  /**
   * Appends an event. With `replace`, values of earlier events under the same tags are dropped first
   * (TensorBoard keeps the first metadata of a tag, so a summary that must show its latest content —
   * the hparams plugin's — is kept once).
   */
  private addEvent(step: number, values: SummaryValue[], replace = false): void {
    if (replace) {
      const tags = new Set(values.map((v) => v.tag));
      this.events = this.events
        .map((e) => ({ ...e, values: e.values.filter((v) => !tags.has(v.tag)) }))
        .filter((e) => e.values.length > 0);
    }
    this.events.push({ wallTime: Date.now() / 1000, step, values });
  }

  private claimTag(where: string, tag: string, kind: TagKind): void {
    const held = this.tagKinds.get(tag);
    if (held !== undefined && held !== kind) throw new Error(`${where}: the tag ${JSON.stringify(tag)} already holds ${held} values; TensorBoard shows one kind per tag, so use another tag for ${kind} values`);
  }

  private commitTag(tag: string, kind: TagKind): void { this.tagKinds.set(tag, kind); }

  override logMetrics(metrics: Record<string, number>, step: number): void {
    const where = 'TensorBoardLogger.logMetrics';
    const entries = Object.entries(metrics);
    if (entries.length === 0) return;
    for (const [name, value] of entries) {
      checkTag(where, name, 'metric name');
      if (typeof value !== 'number') throw new TypeError(`${where}: metric ${JSON.stringify(name)} is ${typeof value}, not a number`);
      this.claimTag(where, name, 'scalar');
    }
    for (const [name] of entries) this.commitTag(name, 'scalar');
    this.addEvent(step, entries.map(([tag, simpleValue]) => ({ tag, simpleValue })));
  }

  /**
   * hparams.yaml (merged with earlier calls), and the hparams plugin's summaries as Lightning's
   * TensorBoardLogger.log_hyperparams: nested objects flattened with '/', `metrics` (a number means
   * `{ hp_metric: n }`; none means `hp_metric` = -1 unless defaultHpMetric is false) logged at step 0,
   * then an experiment summary (hyperparameter names and types, the metric names) and a
   * session_start_info summary (the values), each kept once with the latest content.
   */
  override logHyperparams(params: Record<string, unknown>, metrics?: Record<string, number> | number): void {
    const where = 'TensorBoardLogger.logHyperparams';
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new TypeError(`${where}: params must be an object`);
    let toLog: Record<string, number> = {};
    if (typeof metrics === 'number') toLog = { hp_metric: metrics };
    else if (metrics !== undefined) {
      if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) throw new TypeError(`${where}: metrics must be an object of numbers or a number`);
      toLog = { ...metrics };
    } else if (this.defaultHpMetric) {
      // The placeholder goes in once, and not in a resumed session: an event at step 0 after later
      // steps reads to TensorBoard as a restart, dropping the hp_metric points logged before.
      if (!this.hpMetricNames.has('hp_metric') && this.resumedAt === 0) toLog = { hp_metric: -1 };
      this.hpMetricNames.add('hp_metric');
    }
    for (const [name, value] of Object.entries(toLog)) {
      checkTag(where, name, 'metric name');
      if (typeof value !== 'number') throw new TypeError(`${where}: metric ${JSON.stringify(name)} is ${typeof value}, not a number`);
      this.claimTag(where, name, 'scalar');
    }
    const flat = flattenHparams({ ...this.hyperparams, ...params });
    super.logHyperparams(params);
    for (const name of Object.keys(toLog)) this.hpMetricNames.add(name);
    this.logMetrics(toLog, 0);
    const { experiment, sessionStart } = hparamsSummaries(flat, [...this.hpMetricNames], this.startTime);
    this.addEvent(0, [experiment], true);
    this.addEvent(0, [sessionStart], true);
    this.hparamsWritten = true;
  }

  /**
   * An image (add_image): a Tensor laid out as `dataFormats` ('CHW', the default; 'HWC'; 'HW'),
   * uint8 or floating point in [0, 1] (scaled by 255, rounded), with 1, 3 or 4 channels, stored as PNG.
   */
  logImage(tag: string, image: Tensor, step: number, options: { dataFormats?: ImageDataFormat } = {}): void {
    const where = `TensorBoardLogger.logImage(${JSON.stringify(tag)})`;
    checkTag('TensorBoardLogger.logImage', tag);
    checkStep(where, step);
    this.claimTag(where, tag, 'image');
    const value = imageSummary(where, tag, image, options.dataFormats ?? 'CHW');
    this.commitTag(tag, 'image');
    this.addEvent(step, [value]);
  }

  /**
   * A histogram (add_histogram) of the values of a Tensor (or numbers): `bins` 'tensorflow' (the default,
   * PyTorch's exponential edges ±1e-12·1.1^k up to 1e20 and 0, trimmed to the occupied range; values
   * beyond ±1e20 are counted in `num` but in no bucket, as in PyTorch), a count of equal-width bins
   * from min to max, or an array of increasing edges. NaN and infinities are refused.
   */
  logHistogram(tag: string, values: Tensor | ArrayLike<number>, step: number, bins: HistogramBins = 'tensorflow'): void {
    const where = `TensorBoardLogger.logHistogram(${JSON.stringify(tag)})`;
    checkTag('TensorBoardLogger.logHistogram', tag);
    checkStep(where, step);
    this.claimTag(where, tag, 'histogram');
    const histo = makeHistogram(where, values, bins);
    this.commitTag(tag, 'histogram');
    this.addEvent(step, [{ tag, histo }]);
  }

  /** Text (add_text, Markdown in TensorBoard's TEXT tab), under the tag `<tag>/text_summary`. */
  logText(tag: string, text: string, step: number): void {
    const where = `TensorBoardLogger.logText(${JSON.stringify(tag)})`;
    checkTag('TensorBoardLogger.logText', tag);
    checkStep(where, step);
    const value = textSummary(where, tag, text);
    this.claimTag(where, value.tag, 'text');
    this.commitTag(value.tag, 'text');
    this.addEvent(step, [value]);
  }

  override resume(step: number): void {
    this.resumedAt = step;
    super.resume(step);
  }

  /** With hyperparameters logged, the hparams plugin's session_end_info (STATUS_SUCCESS or STATUS_FAILURE), then save(). */
  override finalize(status: LoggerStatus = 'success'): void {
    if (status !== 'success' && status !== 'failed') throw new TypeError(`TensorBoardLogger.finalize: status must be 'success' or 'failed', got ${JSON.stringify(status)}`);
    if (this.hparamsWritten) this.addEvent(0, [sessionEndSummary(status === 'success' ? HPARAMS_STATUS.success : HPARAMS_STATUS.failure, Date.now() / 1000)], true);
    super.finalize(status);
  }

  // No parse(): on resume, earlier sessions' files stay as they are and TensorBoard reads them all.
  // The metric rows of FileLogger are not used: scalars are events like the rest.
  protected serialize(_rows: MetricRow[]): Uint8Array[] {
    const records = [frameRecord(encodeEvent({ wallTime: this.startTime, step: 0, fileVersion: 'brain.Event:2' }))];
    for (const e of this.events) records.push(frameRecord(encodeEvent(e)));
    return records;
  }
}

function eventFiles(where: string, dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`${where}: no folder ${dir}`);
  return readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.')).sort();
}

/** Every scalar of every event file in a folder, in file order (for tests and tools). */
export function readTensorBoardScalars(dir: string): { step: number; tag: string; value: number }[] {
  const out: { step: number; tag: string; value: number }[] = [];
  for (const name of eventFiles('readTensorBoardScalars', dir)) {
    for (const payload of readRecords(readFileSync(join(dir, name)))) {
      const event = decodeEvent(payload);
      for (const [tag, value] of Object.entries(event.scalars)) out.push({ step: event.step, tag, value });
    }
  }
  return out;
}

/** A summary value as readTensorBoardEvents gives it: the decoded fields, with text and hparams plugin data read. */
export interface TensorBoardValue extends DecodedValue {
  /** The strings of a 'text' plugin value. */
  text?: string[];
  /** The HParamsPluginData of an 'hparams' plugin value. */
  hparams?: DecodedHparams;
}

export interface TensorBoardEvent { file: string; wallTime: number; step: number; fileVersion?: string; values: TensorBoardValue[] }

/** Every event of every event file in a folder, in file order: scalars, images (PNG bytes), histograms, text, hparams. */
export function readTensorBoardEvents(dir: string): TensorBoardEvent[] {
  const out: TensorBoardEvent[] = [];
  for (const name of eventFiles('readTensorBoardEvents', dir)) {
    for (const payload of readRecords(readFileSync(join(dir, name)))) {
      const { wallTime, step, fileVersion, values } = decodeEvent(payload);
      out.push({
        file: name, wallTime, step, ...(fileVersion !== undefined ? { fileVersion } : {}),
        values: values.map((v): TensorBoardValue => {
          const plugin = v.metadata?.pluginName;
          if (plugin === 'text' && v.tensor) return { ...v, text: v.tensor.stringVal.map((s) => new TextDecoder().decode(s)) };
          if (plugin === HPARAMS_PLUGIN) return { ...v, hparams: decodeHparamsPluginData(v.metadata!.content) };
          return v;
        }),
      });
    }
  }
  return out;
}
