// The summaries behind TensorBoardLogger's images, histograms, text and
// hyperparameters, built as torch.utils.tensorboard.summary builds them
// (image, histogram / make_histogram, text, hparams), with the plugin data
// messages of tensorboard/plugins/hparams/{api,plugin_data}.proto and
// google/protobuf/struct.proto written by hand.
import { Tensor } from '../../torch/index.js';
import { isComplexDType, isFloatingDType } from '../../torch/dtype.js';
import { encodePng } from '../../data/png.js';
import { ProtoField, ProtoWriter, SummaryHistogram, SummaryValue, protoFields, readF64 } from './tfrecord.js';

/** The hparams plugin's tags and version (tensorboard/plugins/hparams/metadata.py). */
export const HPARAMS_PLUGIN = 'hparams';
export const EXPERIMENT_TAG = '_hparams_/experiment';
export const SESSION_START_INFO_TAG = '_hparams_/session_start_info';
export const SESSION_END_INFO_TAG = '_hparams_/session_end_info';

/** api.proto's Status. */
export const HPARAMS_STATUS = { unknown: 0, success: 1, failure: 2, running: 3 } as const;
/** api.proto's DataType. */
const DATA_TYPE = { string: 1, bool: 2, float64: 3 } as const;
/** types.proto's DT_STRING. */
const DT_STRING = 7;

/** A tag TensorBoard can show: a non-empty string without control characters. */
export function checkTag(where: string, tag: unknown, what = 'tag'): asserts tag is string {
  if (typeof tag !== 'string') throw new TypeError(`${where}: the ${what} must be a string, got ${tag === null ? 'null' : typeof tag}`);
  if (tag.length === 0) throw new RangeError(`${where}: the ${what} is empty`);
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/.exec(tag);
  if (control) throw new RangeError(`${where}: the ${what} ${JSON.stringify(tag)} contains the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`);
  if (tag.startsWith('_hparams_/')) throw new RangeError(`${where}: the ${what} ${JSON.stringify(tag)} starts with '_hparams_/', which the hparams plugin reserves`);
}

export function checkStep(where: string, step: unknown): asserts step is number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) throw new RangeError(`${where}: step must be an integer ≥ 0, got ${typeof step === 'number' ? step : JSON.stringify(step) ?? typeof step}`);
}

// ---- hyperparameters --------------------------------------------------------
export type HparamValue = number | string | boolean;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * Lightning's _flatten_dict ('/'-joined keys of nested plain objects) then
 * _sanitize_params: numbers, strings and booleans stay; a one-element tensor
 * becomes its number; arrays, null and other tensors become JSON text; other
 * values their String(); undefined is left out.
 */
export function flattenHparams(params: Record<string, unknown>, prefix = ''): Record<string, HparamValue> {
  const out: Record<string, HparamValue> = {};
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}/${k}` : k;
    if (v === undefined) continue;
    if (isPlainObject(v)) Object.assign(out, flattenHparams(v, key));
    else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[key] = v;
    else if (v instanceof Tensor) out[key] = v.numel() === 1 ? v.item() : JSON.stringify(v.toArray());
    else if (v === null || Array.isArray(v)) out[key] = JSON.stringify(v);
    else out[key] = String(v);
  }
  return out;
}

/** google.protobuf.Value (struct.proto): number_value 2, string_value 3, bool_value 4 — a oneof, so written even when zero/false/empty. */
function structValue(v: HparamValue): ProtoWriter {
  const out = new ProtoWriter();
  if (typeof v === 'number') return out.double(2, v);
  if (typeof v === 'string') return out.string(3, v);
  return out.bool(4, v);
}

/** Summary.Value with only metadata: plugin 'hparams', content an HParamsPluginData (version 0, so left out, as proto3 writes it). */
function hparamsValue(tag: string, field: number, message: ProtoWriter): SummaryValue {
  const content = new ProtoWriter().message(field, message).finish();
  return { tag, metadata: { pluginName: HPARAMS_PLUGIN, content } };
}

/**
 * The experiment and session_start_info summaries PyTorch's summary.hparams writes:
 * Experiment{hparam_infos (name, type), metric_infos (name.tag)} and
 * SessionStartInfo{hparams map, start_time_secs}. Booleans are bool_value /
 * DATA_TYPE_BOOL (PyTorch, checking int before bool, writes them as numbers).
 */
export function hparamsSummaries(params: Record<string, HparamValue>, metricNames: string[], startTimeSecs: number): { experiment: SummaryValue; sessionStart: SummaryValue } {
  const experiment = new ProtoWriter();
  const start = new ProtoWriter();
  for (const [name, value] of Object.entries(params)) {
    const type = typeof value === 'number' ? DATA_TYPE.float64 : typeof value === 'string' ? DATA_TYPE.string : DATA_TYPE.bool;
    experiment.message(4, new ProtoWriter().string(1, name).varint(4, type));
    start.message(1, new ProtoWriter().string(1, name).message(2, structValue(value)));
  }
  for (const tag of metricNames) experiment.message(5, new ProtoWriter().message(1, new ProtoWriter().string(2, tag)));
  start.double(5, startTimeSecs);
  return { experiment: hparamsValue(EXPERIMENT_TAG, 2, experiment), sessionStart: hparamsValue(SESSION_START_INFO_TAG, 3, start) };
}

/** The session_end_info summary: SessionEndInfo{status, end_time_secs}. */
export function sessionEndSummary(status: number, endTimeSecs: number): SummaryValue {
  return hparamsValue(SESSION_END_INFO_TAG, 4, new ProtoWriter().varint(1, status).double(2, endTimeSecs));
}

export interface DecodedHparams {
  version: number;
  experiment?: { hparamInfos: { name: string; type: number }[]; metricInfos: { tag: string; group: string }[]; timeCreatedSecs: number };
  sessionStartInfo?: { hparams: Record<string, HparamValue | null>; startTimeSecs: number; groupName: string };
  sessionEndInfo?: { status: number; endTimeSecs: number };
}

const text = (f: ProtoField): string => new TextDecoder().decode(f.value as Uint8Array);

function decodeStructValue(bytes: Uint8Array): HparamValue | null {
  let out: HparamValue | null = null;
  for (const f of protoFields(bytes)) {
    if (f.field === 2 && f.wireType === 1) out = readF64(f.value as Uint8Array);
    else if (f.field === 3 && f.wireType === 2) out = text(f);
    else if (f.field === 4 && f.wireType === 0) out = f.value !== 0n;
  }
  return out;
}

/** Reads an HParamsPluginData (the content of an 'hparams' plugin summary). */
export function decodeHparamsPluginData(content: Uint8Array): DecodedHparams {
  const out: DecodedHparams = { version: 0 };
  for (const f of protoFields(content)) {
    const b = f.value as Uint8Array;
    if (f.field === 1 && f.wireType === 0) out.version = Number(f.value);
    else if (f.field === 2 && f.wireType === 2) {
      const e: NonNullable<DecodedHparams['experiment']> = { hparamInfos: [], metricInfos: [], timeCreatedSecs: 0 };
      for (const x of protoFields(b)) {
        if (x.field === 3 && x.wireType === 1) e.timeCreatedSecs = readF64(x.value as Uint8Array);
        else if (x.field === 4 && x.wireType === 2) {
          const info = { name: '', type: 0 };
          for (const y of protoFields(x.value as Uint8Array)) {
            if (y.field === 1 && y.wireType === 2) info.name = text(y);
            else if (y.field === 4 && y.wireType === 0) info.type = Number(y.value);
          }
          e.hparamInfos.push(info);
        } else if (x.field === 5 && x.wireType === 2) {
          const metric = { tag: '', group: '' };
          for (const y of protoFields(x.value as Uint8Array)) {
            if (y.field !== 1 || y.wireType !== 2) continue;
            for (const z of protoFields(y.value as Uint8Array)) {
              if (z.field === 1 && z.wireType === 2) metric.group = text(z);
              else if (z.field === 2 && z.wireType === 2) metric.tag = text(z);
            }
          }
          e.metricInfos.push(metric);
        }
      }
      out.experiment = e;
    } else if (f.field === 3 && f.wireType === 2) {
      const s: NonNullable<DecodedHparams['sessionStartInfo']> = { hparams: {}, startTimeSecs: 0, groupName: '' };
      for (const x of protoFields(b)) {
        if (x.field === 1 && x.wireType === 2) {
          let key = '';
          let value: HparamValue | null = null;
          for (const y of protoFields(x.value as Uint8Array)) {
            if (y.field === 1 && y.wireType === 2) key = text(y);
            else if (y.field === 2 && y.wireType === 2) value = decodeStructValue(y.value as Uint8Array);
          }
          s.hparams[key] = value;
        } else if (x.field === 4 && x.wireType === 2) s.groupName = text(x);
        else if (x.field === 5 && x.wireType === 1) s.startTimeSecs = readF64(x.value as Uint8Array);
      }
      out.sessionStartInfo = s;
    } else if (f.field === 4 && f.wireType === 2) {
      const e = { status: 0, endTimeSecs: 0 };
      for (const x of protoFields(b)) {
        if (x.field === 1 && x.wireType === 0) e.status = Number(x.value);
        else if (x.field === 2 && x.wireType === 1) e.endTimeSecs = readF64(x.value as Uint8Array);
      }
      out.sessionEndInfo = e;
    }
  }
  return out;
}

// ---- images -----------------------------------------------------------------
export type ImageDataFormat = 'CHW' | 'HWC' | 'HW';

/**
 * A Summary.Image from a CHW, HWC or HW tensor: uint8 as it is, floating point
 * in [0, 1] scaled by 255 and rounded to the nearest integer; 1 (grey), 3 (RGB)
 * or 4 (RGBA) channels, encoded as PNG.
 */
export function imageSummary(where: string, tag: string, image: unknown, dataFormats: unknown = 'CHW'): SummaryValue {
  if (!(image instanceof Tensor)) throw new TypeError(`${where}: the image must be a Tensor, got ${image === null ? 'null' : typeof image}`);
  if (dataFormats !== 'CHW' && dataFormats !== 'HWC' && dataFormats !== 'HW') throw new RangeError(`${where}: dataFormats must be 'CHW', 'HWC' or 'HW', got ${JSON.stringify(dataFormats)}`);
  const shape = image.shape;
  if (shape.length !== dataFormats.length) {
    throw new RangeError(`${where}: dataFormats '${dataFormats}' needs a ${dataFormats.length}-d tensor, got shape [${shape.join(', ')}]` +
      (shape.length === 4 ? ' (a batch: log one image, or tile the batch into one CHW image first)' : ''));
  }
  const dims = dataFormats === 'HW' ? { C: 1, H: shape[0], W: shape[1] } : Object.fromEntries([...dataFormats].map((d, i) => [d, shape[i]])) as Record<'C' | 'H' | 'W', number>;
  const { C: channels, H: height, W: width } = dims;
  if (channels * height * width === 0) throw new RangeError(`${where}: the image is empty (shape [${shape.join(', ')}])`);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`${where}: an image has 1 (grey), 3 (RGB) or 4 (RGBA) channels; shape [${shape.join(', ')}] as ${dataFormats} has ${channels}` +
      (dataFormats === 'CHW' && (shape[2] === 1 || shape[2] === 3 || shape[2] === 4) ? " (channels last? pass dataFormats 'HWC')" : ''));
  }
  const dtype = image.dtype;
  const isFloat = isFloatingDType(dtype);
  if (dtype !== 'uint8' && !isFloat) throw new TypeError(`${where}: an image is uint8 (0–255) or floating point (0–1), got ${dtype}`);
  let values: Uint8Array | Float64Array;
  if (isFloat) {
    const f = image.to('float64');
    try { values = f.dataSync() as Float64Array; } finally { f.dispose(); }
    let nan = 0, lo = Infinity, hi = -Infinity;
    for (const v of values) { if (Number.isNaN(v)) nan++; else { if (v < lo) lo = v; if (v > hi) hi = v; } }
    if (nan > 0) throw new RangeError(`${where}: the image has ${nan} NaN value(s)`);
    if (lo < 0 || hi > 1) throw new RangeError(`${where}: a floating-point image has values in [0, 1]; this one spans [${lo}, ${hi}] (clamp or rescale it, or pass uint8)`);
  } else values = image.dataSync() as Uint8Array;
  // Into CHW order: source strides of C, H, W in the given layout.
  const order = dataFormats === 'HW' ? ['H', 'W'] : [...dataFormats];
  const strides: Record<string, number> = { C: 0 };
  let s = 1;
  for (let i = order.length - 1; i >= 0; i--) { strides[order[i]] = s; s *= shape[i]; }
  const data = new Uint8Array(channels * height * width);
  let o = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = values[c * strides.C + y * strides.H + x * strides.W];
        data[o++] = isFloat ? Math.round(v * 255) : v;
      }
    }
  }
  return { tag, image: { height, width, colorspace: channels, encodedImageString: encodePng({ data, channels, height, width }, where) } };
}

// ---- histograms -------------------------------------------------------------
export type HistogramBins = 'tensorflow' | number | readonly number[];

let tensorflowEdges: Float64Array | null = null;
/** PyTorch's SummaryWriter.default_bins: ±1e-12·1.1^k below 1e20, and 0 (1,549 edges). */
export function tensorflowBins(): Float64Array {
  if (tensorflowEdges === null) {
    const positive: number[] = [];
    for (let v = 1e-12; v < 1e20; v *= 1.1) positive.push(v);
    tensorflowEdges = Float64Array.from([...positive.map((v) => -v).reverse(), 0, ...positive]);
  }
  return tensorflowEdges;
}

function finiteValues(where: string, values: unknown): Float64Array {
  let data: Float64Array;
  if (values instanceof Tensor) {
    if (isComplexDType(values.dtype)) throw new TypeError(`${where}: a histogram needs real values, got a ${values.dtype} tensor`);
    const f = values.to('float64');
    try { data = f.dataSync() as Float64Array; } finally { f.dispose(); }
  } else if (ArrayBuffer.isView(values) || Array.isArray(values)) {
    const list = values as ArrayLike<unknown>;
    data = new Float64Array(list.length);
    for (let i = 0; i < list.length; i++) {
      if (typeof list[i] !== 'number') throw new TypeError(`${where}: values[${i}] is ${typeof list[i]}, not a number`);
      data[i] = list[i] as number;
    }
  } else throw new TypeError(`${where}: values must be a Tensor or an array of numbers`);
  if (data.length === 0) throw new RangeError(`${where}: the values are empty; a histogram needs at least one`);
  let nan = 0, inf = 0;
  for (const v of data) { if (Number.isNaN(v)) nan++; else if (!Number.isFinite(v)) inf++; }
  if (nan + inf > 0) throw new RangeError(`${where}: a histogram needs finite values; these have ${nan} NaN and ${inf} infinite`);
  return data;
}

/** numpy.histogram's counts for ascending edges: [e_i, e_i+1) per bin, the last closed; values outside are not counted. */
function countBins(data: Float64Array, edges: ArrayLike<number>): number[] {
  const n = edges.length - 1;
  const counts = new Array<number>(n).fill(0);
  const first = edges[0], last = edges[n];
  for (const v of data) {
    if (v < first || v > last) continue;
    let lo = 0, hi = n + 1; // the first edge above v
    while (lo < hi) { const mid = (lo + hi) >> 1; if (edges[mid] <= v) lo = mid + 1; else hi = mid; }
    counts[Math.min(lo - 1, n - 1)]++;
  }
  return counts;
}

/**
 * A HistogramProto as PyTorch's make_histogram: numpy.histogram's counts for
 * `bins` ('tensorflow': PyTorch's default exponential edges; a number: that many
 * equal-width bins from min to max; an array: those edges), trimmed to the bins
 * from the first to the last non-empty one plus an empty bucket in front (whose
 * limit is the left edge of the data), since TensorBoard keeps right limits only.
 */
export function makeHistogram(where: string, values: unknown, bins: unknown = 'tensorflow'): SummaryHistogram {
  const data = finiteValues(where, values);
  let min = Infinity, max = -Infinity, sum = 0, sumSquares = 0;
  for (const v of data) { if (v < min) min = v; if (v > max) max = v; sum += v; sumSquares += v * v; }
  let edges: ArrayLike<number>;
  if (bins === 'tensorflow') edges = tensorflowBins();
  else if (typeof bins === 'number') {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`${where}: bins must be 'tensorflow', an integer ≥ 1 or an array of edges, got ${bins}`);
    const [first, last] = min === max ? [min - 0.5, max + 0.5] : [min, max];
    const step = (last - first) / bins;
    const e = new Float64Array(bins + 1);
    for (let i = 0; i < bins; i++) e[i] = i * step + first;
    e[bins] = last;
    edges = e;
  } else if (Array.isArray(bins)) {
    if (bins.length < 2) throw new RangeError(`${where}: bin edges need at least 2 values, got ${bins.length}`);
    bins.forEach((e, i) => {
      if (typeof e !== 'number' || !Number.isFinite(e)) throw new RangeError(`${where}: bin edge ${i} is ${String(e)}, not a finite number`);
      if (i > 0 && !(e > bins[i - 1])) throw new RangeError(`${where}: bin edges must increase; edge ${i} (${e}) is not above edge ${i - 1} (${bins[i - 1]})`);
    });
    edges = bins as number[];
  } else throw new TypeError(`${where}: bins must be 'tensorflow', an integer ≥ 1 or an array of edges, got ${JSON.stringify(bins)}`);
  const counts = countBins(data, edges);
  let start = -1, end = -1;
  counts.forEach((c, i) => { if (c > 0) { if (start < 0) start = i; end = i; } });
  if (start < 0) throw new RangeError(`${where}: no value lies within the bin edges [${edges[0]}, ${edges[edges.length - 1]}] (values span [${min}, ${max}])`);
  const bucket = start > 0 ? counts.slice(start - 1, end + 1) : [0, ...counts.slice(0, end + 1)];
  const bucketLimit = Array.from({ length: end + 2 - start }, (_, i) => edges[start + i]);
  return { min, max, num: data.length, sum, sumSquares, bucketLimit, bucket };
}

// ---- text -------------------------------------------------------------------
/**
 * add_text's summary: tag '<tag>/text_summary', plugin 'text' (TextPluginData
 * version 0: empty content), a DT_STRING tensor of shape [1] holding the UTF-8 text.
 */
export function textSummary(where: string, tag: string, value: unknown): SummaryValue {
  if (typeof value !== 'string') throw new TypeError(`${where}: the text must be a string, got ${value === null ? 'null' : typeof value}`);
  return {
    tag: `${tag}/text_summary`,
    metadata: { pluginName: 'text' },
    tensor: { dtype: DT_STRING, shape: [1], stringVal: [new TextEncoder().encode(value)] },
  };
}
