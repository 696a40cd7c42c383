// TensorBoardLogger's hyperparameters (hparams plugin), images, histograms and
// text. The event files are read back with a protobuf reader and TFRecord
// framing written here, independent of the library's encoder; field numbers
// are those of tensorboard's .proto files:
//   event.proto      Event{wall_time 1 double, step 2 int64, file_version 3, summary 5}
//   summary.proto    Summary{value 1}; Value{tag 1, simple_value 2 float, image 4, histo 5, tensor 8, metadata 9}
//                    Image{height 1, width 2, colorspace 3, encoded_image_string 4}
//                    SummaryMetadata{plugin_data 1{plugin_name 1, content 2}}
//   histogram.proto  HistogramProto{min 1, max 2, num 3, sum 4, sum_squares 5 (double), bucket_limit 6, bucket 7 (packed double)}
//   tensor.proto     TensorProto{dtype 1, tensor_shape 2, string_val 8}; tensor_shape.proto {dim 2{size 1}}; types.proto DT_STRING = 7
//   plugins/hparams/plugin_data.proto  HParamsPluginData{version 1, experiment 2, session_start_info 3, session_end_info 4}
//                    SessionStartInfo{hparams 1 (map<string, Value>: key 1, value 2), start_time_secs 5}; SessionEndInfo{status 1, end_time_secs 2}
//   plugins/hparams/api.proto  Experiment{hparam_infos 4, metric_infos 5}; HParamInfo{name 1, type 4}; MetricInfo{name 1}; MetricName{tag 2}
//                    DataType STRING 1, BOOL 2, FLOAT64 3; Status SUCCESS 1, FAILURE 2
//   google/protobuf/struct.proto  Value{number_value 2 double, string_value 3, bool_value 4}
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { decodePng, encodePng } from '../src/data/png.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { LightningModule, TensorBoardLogger, Trainer, readTensorBoardEvents, readTensorBoardScalars } from '../src/train/index.js';
import type { OptimizerConfig } from '../src/train/index.js';
import { captureOutput, tinyData } from './helpers/tiny-training.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'ortho-tb-extra-'));

// ---- an independent reader ---------------------------------------------------
const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; t[n] = c >>> 0; }
  return t;
})();
function maskedCrc32c(b: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const x of b) c = (CRC32C[(c ^ x) & 255] ^ (c >>> 8)) >>> 0;
  c = (c ^ 0xffffffff) >>> 0;
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** TFRecord: u64 length, u32 masked CRC-32C of the length, payload, u32 masked CRC-32C of the payload. */
function records(file: Uint8Array): Uint8Array[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < file.length;) {
    const len = Number(dv.getBigUint64(at, true));
    assert.equal(dv.getUint32(at + 8, true), maskedCrc32c(file.subarray(at, at + 8)), 'length CRC');
    const payload = file.subarray(at + 12, at + 12 + len);
    assert.equal(dv.getUint32(at + 12 + len, true), maskedCrc32c(payload), 'payload CRC');
    out.push(payload);
    at += 16 + len;
  }
  return out;
}

interface PB { n: number; w: number; v: bigint | Uint8Array }
function pb(buf: Uint8Array): PB[] {
  const out: PB[] = [];
  let p = 0;
  const vint = (): bigint => {
    let r = 0n;
    for (let s = 0n; ; s += 7n) { const b = buf[p++]; r += BigInt(b & 127) << s; if (b < 128) return r; }
  };
  while (p < buf.length) {
    const k = Number(vint());
    const n = k >>> 3, w = k & 7;
    if (w === 0) out.push({ n, w, v: vint() });
    else if (w === 1) { out.push({ n, w, v: buf.slice(p, p + 8) }); p += 8; }
    else if (w === 5) { out.push({ n, w, v: buf.slice(p, p + 4) }); p += 4; }
    else if (w === 2) { const len = Number(vint()); out.push({ n, w, v: buf.slice(p, p + len) }); p += len; }
    else throw new Error(`wire type ${w}`);
  }
  assert.equal(p, buf.length, 'message ends on a field boundary');
  return out;
}
const all = (m: PB[], n: number, w?: number) => m.filter((f) => f.n === n && (w === undefined || f.w === w));
function one(m: PB[], n: number, w: number): PB['v'] | undefined {
  const fs = all(m, n);
  if (fs.length === 0) return undefined;
  assert.equal(fs.length, 1, `field ${n} once`);
  assert.equal(fs[0].w, w, `field ${n} has wire type ${w}`);
  return fs[0].v;
}
const bytesOf = (m: PB[], n: number) => one(m, n, 2) as Uint8Array | undefined;
const str = (m: PB[], n: number) => { const b = bytesOf(m, n); return b === undefined ? undefined : new TextDecoder().decode(b); };
const dbl = (m: PB[], n: number) => { const b = one(m, n, 1) as Uint8Array | undefined; return b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getFloat64(0, true); };
const flt = (m: PB[], n: number) => { const b = one(m, n, 5) as Uint8Array | undefined; return b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getFloat32(0, true); };
const int = (m: PB[], n: number) => { const v = one(m, n, 0) as bigint | undefined; return v === undefined ? undefined : Number(BigInt.asIntN(64, v)); };
const packedDoubles = (m: PB[], n: number): number[] => {
  const b = bytesOf(m, n);
  if (b === undefined) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 8 }, (_, i) => dv.getFloat64(8 * i, true));
};

interface Ev { wallTime: number; step: number; fileVersion?: string; values: PB[][] }
function readDir(dir: string): Ev[] {
  const files = readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.'));
  assert.equal(files.length, 1, 'one event file');
  return records(readFileSync(join(dir, files[0]))).map((r) => {
    const e = pb(r);
    const summary = bytesOf(e, 5);
    return { wallTime: dbl(e, 1)!, step: int(e, 2) ?? 0, fileVersion: str(e, 3), values: summary ? all(pb(summary), 1, 2).map((v) => pb(v.v as Uint8Array)) : [] };
  });
}
/** The values under a tag, with their event's step. */
const valuesOf = (events: Ev[], tag: string) => events.flatMap((e) => e.values.filter((v) => str(v, 1) === tag).map((v) => ({ step: e.step, v })));
function plugin(v: PB[]): { name: string; content: Uint8Array } {
  const data = pb(bytesOf(pb(bytesOf(v, 9)!), 1)!);
  return { name: str(data, 1)!, content: bytesOf(data, 2) ?? new Uint8Array(0) };
}
function hparamsData(v: PB[]): PB[] {
  const p = plugin(v);
  assert.equal(p.name, 'hparams');
  const data = pb(p.content);
  assert.ok((int(data, 1) ?? 0) === 0, 'HParamsPluginData version 0');
  for (const n of [2, 4, 5, 8]) assert.equal(all(v, n).length, 0, 'an hparams value carries metadata only');
  return data;
}
function structValue(b: Uint8Array): number | string | boolean {
  const m = pb(b);
  assert.equal(m.length, 1, 'one kind');
  if (m[0].n === 2) return dbl(m, 2)!;
  if (m[0].n === 3) return str(m, 3)!;
  if (m[0].n === 4) return int(m, 4) === 1;
  throw new Error(`Value field ${m[0].n}`);
}
function sessionStart(events: Ev[]): { hparams: Record<string, number | string | boolean>; startTime: number } {
  const found = valuesOf(events, '_hparams_/session_start_info');
  assert.equal(found.length, 1, 'one session_start_info');
  const ssi = pb(bytesOf(hparamsData(found[0].v), 3)!);
  const hparams: Record<string, number | string | boolean> = {};
  for (const entry of all(ssi, 1, 2)) { const e = pb(entry.v as Uint8Array); hparams[str(e, 1)!] = structValue(bytesOf(e, 2)!); }
  return { hparams, startTime: dbl(ssi, 5)! };
}
function experiment(events: Ev[]): { hparams: [string, number][]; metrics: string[] } {
  const found = valuesOf(events, '_hparams_/experiment');
  assert.equal(found.length, 1, 'one experiment');
  const exp = pb(bytesOf(hparamsData(found[0].v), 2)!);
  return {
    hparams: all(exp, 4, 2).map((h) => { const m = pb(h.v as Uint8Array); return [str(m, 1)!, int(m, 4)!]; }),
    metrics: all(exp, 5, 2).map((mi) => str(pb(bytesOf(pb(mi.v as Uint8Array), 1)!), 2)!),
  };
}
function sessionEnd(events: Ev[]): { status: number; endTime: number } | null {
  const found = valuesOf(events, '_hparams_/session_end_info');
  if (found.length === 0) return null;
  assert.equal(found.length, 1, 'one session_end_info');
  const sei = pb(bytesOf(hparamsData(found[0].v), 4)!);
  return { status: int(sei, 1)!, endTime: dbl(sei, 2)! };
}
const scalarsOf = (events: Ev[], tag: string) => valuesOf(events, tag).map(({ step, v }) => [step, flt(v, 2)]);

// ---- hyperparameters -----------------------------------------------------------
test('logHyperparams: the hparams plugin\'s experiment and session_start_info, hp_metric -1 at step 0, session_end_info on finalize', () => {
  const dir = tempDir();
  try {
    const before = Date.now() / 1000;
    const logger = new TensorBoardLogger(dir);
    logger.logHyperparams({ lr: 0.01, optimizer: 'adam', model: { depth: 3, skip: true }, widths: [8, 16], seed: null, zero: 0, off: false });
    logger.logMetrics({ loss: 0.5 }, 10);
    logger.logMetrics({ hp_metric: 0.875 }, 10);
    logger.save();
    let events = readDir(dir);
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    // Lightning's _flatten_dict ('/') and sanitized values; booleans as bool_value.
    assert.deepEqual(sessionStart(events).hparams, {
      lr: 0.01, optimizer: 'adam', 'model/depth': 3, 'model/skip': true, widths: '[8,16]', seed: 'null', zero: 0, off: false,
    });
    assert.ok(sessionStart(events).startTime >= before - 1);
    assert.deepEqual(experiment(events), {
      hparams: [['lr', 3], ['optimizer', 1], ['model/depth', 3], ['model/skip', 2], ['widths', 1], ['seed', 1], ['zero', 3], ['off', 2]],
      metrics: ['hp_metric'],
    });
    assert.deepEqual(scalarsOf(events, 'hp_metric'), [[0, -1], [10, 0.875]]);
    assert.equal(sessionEnd(events), null, 'no session_end_info before finalize');
    assert.equal(readFileSync(join(dir, 'hparams.yaml'), 'utf8').split('\n')[0], 'lr: 0.01');
    // A second call merges (as hparams.yaml) and keeps one experiment / session_start_info, with the latest values,
    // since TensorBoard reads a tag's first metadata only; the hp_metric placeholder is not repeated.
    logger.logHyperparams({ lr: 0.02, batch: 64 });
    logger.finalize();
    events = readDir(dir);
    assert.deepEqual(Object.entries(sessionStart(events).hparams).filter(([k]) => k === 'lr' || k === 'batch'), [['lr', 0.02], ['batch', 64]]);
    assert.equal(experiment(events).hparams.length, 9);
    assert.deepEqual(scalarsOf(events, 'hp_metric'), [[0, -1], [10, 0.875]]);
    const end = sessionEnd(events)!;
    assert.equal(end.status, 1, 'STATUS_SUCCESS');
    assert.ok(end.endTime >= before - 1 && end.endTime <= Date.now() / 1000 + 1);
    // finalize('failed') replaces it with STATUS_FAILURE.
    logger.finalize('failed');
    assert.equal(sessionEnd(readDir(dir))!.status, 2);
    assert.throws(() => logger.finalize('done' as 'success'), /TensorBoardLogger\.finalize: status must be 'success' or 'failed', got "done"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logHyperparams metrics: an object, a number (hp_metric), defaultHpMetric false, a resumed session, bad input', () => {
  const dir = tempDir();
  try {
    const a = new TensorBoardLogger(dir, { name: 'a', defaultHpMetric: false });
    a.logHyperparams({ lr: 0.1 }, { 'hparam/accuracy': 0.5, 'hparam/loss': 2 });
    a.finalize();
    let events = readDir(a.dir);
    assert.deepEqual(experiment(events).metrics, ['hparam/accuracy', 'hparam/loss']);
    assert.deepEqual(scalarsOf(events, 'hparam/accuracy'), [[0, 0.5]]);
    assert.deepEqual(scalarsOf(events, 'hp_metric'), []);

    const b = new TensorBoardLogger(dir, { name: 'b' });
    b.logHyperparams({ lr: 0.1 }, 0.25);
    b.save();
    assert.deepEqual(scalarsOf(readDir(b.dir), 'hp_metric'), [[0, 0.25]]);

    const c = new TensorBoardLogger(dir, { name: 'c', defaultHpMetric: false });
    c.logHyperparams({ lr: 0.1 });
    c.save();
    events = readDir(c.dir);
    assert.deepEqual(experiment(events).metrics, []);
    assert.equal(events.filter((e) => e.values.some((v) => flt(v, 2) !== undefined)).length, 0, 'no scalars');

    // Resumed past step 0: hp_metric is listed, but no -1 goes in at step 0 (TensorBoard would read it as a restart).
    const d = new TensorBoardLogger(dir, { name: 'd' });
    d.resume(500);
    d.logHyperparams({ lr: 0.1 });
    d.save();
    events = readDir(d.dir);
    assert.deepEqual(experiment(events).metrics, ['hp_metric']);
    assert.deepEqual(scalarsOf(events, 'hp_metric'), []);

    // Without hyperparameters, finalize writes no session_end_info.
    const e = new TensorBoardLogger(dir, { name: 'e' });
    e.logMetrics({ loss: 1 }, 1);
    e.finalize();
    assert.equal(sessionEnd(readDir(e.dir)), null);

    const f = new TensorBoardLogger(dir, { name: 'f' });
    assert.throws(() => f.logHyperparams({ lr: 1 }, { '': 1 }), /TensorBoardLogger\.logHyperparams: the metric name is empty/);
    assert.throws(() => f.logHyperparams({ lr: 1 }, { acc: '1' as unknown as number }), /metric "acc" is string, not a number/);
    assert.throws(() => f.logHyperparams([] as unknown as Record<string, unknown>), /params must be an object/);
    assert.throws(() => new TensorBoardLogger(dir, { defaultHpMetric: 1 as unknown as boolean }), /defaultHpMetric must be a boolean, got 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

class Tiny extends LightningModule {
  readonly fc = this.registerModule('fc', new Linear(64, 3));
  constructor(readonly fail = false) { super(); this.saveHyperparameters({ lr: 0.05, width: 64, fail }); }
  forward(x: Tensor): Tensor { return this.fc.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor {
    if (this.fail) throw new Error('boom');
    return this.forward(batch.x).square().mean();
  }
  configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: 0.05 }) }; }
}

test('Trainer.fit: module hparams reach the hparams plugin; finalize gives STATUS_SUCCESS, or STATUS_FAILURE after an error', async () => {
  const dir = tempDir();
  try {
    torch.manualSeed(0);
    for (const fail of [false, true]) {
      const logger = new TensorBoardLogger(dir, { name: fail ? 'failed' : 'ok' });
      const trainer = new Trainer({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, accelerator: 'cpu', maxEpochs: 1, logger });
      const fit = trainer.fit(new Tiny(fail), tinyData({ train: 32, val: 16, batchSize: 16 }));
      if (fail) await assert.rejects(fit, /boom/);
      else await fit;
      const events = readDir(logger.dir);
      assert.deepEqual(sessionStart(events).hparams, { lr: 0.05, width: 64, fail });
      assert.equal(sessionEnd(events)!.status, fail ? 2 : 1);
      if (!fail) assert.ok(scalarsOf(events, 'hp_metric').length === 1 && readTensorBoardScalars(logger.dir).some((s) => s.tag !== 'hp_metric' && s.step > 0));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- images ----------------------------------------------------------------------
/** Pixel (c, y, x) of a decoded PNG (CHW planes). */
const px = (img: { data: Uint8Array; height: number; width: number }, c: number, y: number, x: number) => img.data[(c * img.height + y) * img.width + x];

function imageOf(events: Ev[], tag: string) {
  const found = valuesOf(events, tag);
  assert.equal(found.length, 1);
  const im = pb(bytesOf(found[0].v, 4)!);
  const png = bytesOf(im, 4)!;
  // Every PNG chunk's CRC-32, checked with node:zlib's.
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at < png.length;) {
    const len = dv.getUint32(at);
    assert.equal(dv.getUint32(at + 8 + len), zlib.crc32(png.subarray(at + 4, at + 8 + len)), 'PNG chunk CRC');
    at += 12 + len;
  }
  return { step: found[0].step, height: int(im, 1)!, width: int(im, 2)!, colorspace: int(im, 3)!, png, colourType: png[25] };
}

/** The RGBA samples of an 8-bit colour-type-6 PNG (the decoder under test drops alpha): inflate and undo each row's filter. */
function rgbaSamples(png: Uint8Array, width: number, height: number): Uint8Array {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idat: Uint8Array[] = [];
  for (let at = 8; at < png.length;) {
    const len = dv.getUint32(at);
    if (String.fromCharCode(...png.subarray(at + 4, at + 8)) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const a = i >= 4 ? out[y * stride + i - 4] : 0, b = y > 0 ? out[(y - 1) * stride + i] : 0, c = i >= 4 && y > 0 ? out[(y - 1) * stride + i - 4] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f];
      out[y * stride + i] = (raw[y * (stride + 1) + 1 + i] + pred) & 255;
    }
  }
  return out;
}

test('logImage: CHW float, HWC uint8, HW grey and RGBA images as PNG in Summary.Value.image, pixels read back', () => {
  const dir = tempDir();
  try {
    const logger = new TensorBoardLogger(dir);
    const [H, W] = [5, 7];
    const f = (c: number, y: number, x: number) => ((c * 31 + y * 7 + x * 3) % 21) / 20; // 0, 0.05, … 1
    const chw = Float32Array.from({ length: 3 * H * W }, (_, i) => f(Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W));
    logger.logImage('rgb', torch.fromTypedArray(chw, [3, H, W]), 3);
    const u8 = (c: number, y: number, x: number) => (c * 80 + y * 40 + x * 9) % 256;
    const hwc = Uint8Array.from({ length: H * W * 3 }, (_, i) => u8(i % 3, Math.floor(i / (3 * W)), Math.floor(i / 3) % W));
    logger.logImage('rgb_hwc', torch.fromTypedArray(hwc, [H, W, 3]), 4, { dataFormats: 'HWC' });
    const grey = Float64Array.from({ length: H * W }, (_, i) => (i % 11) / 10);
    logger.logImage('grey', torch.fromTypedArray(grey, [H, W]), 5, { dataFormats: 'HW' });
    const rgba = Uint8Array.from({ length: 4 * H * W }, (_, i) => (i * 37) % 256);
    logger.logImage('rgba', torch.fromTypedArray(rgba, [4, H, W]), 6);
    logger.save();
    const events = readDir(dir);

    const a = imageOf(events, 'rgb');
    assert.deepEqual([a.step, a.height, a.width, a.colorspace, a.colourType], [3, H, W, 3, 2]);
    const da = decodePng(a.png);
    assert.deepEqual([da.channels, da.height, da.width], [3, H, W]);
    for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      assert.equal(px(da, c, y, x), Math.round(Math.fround(f(c, y, x)) * 255), `rgb (${c}, ${y}, ${x})`);
    }
    const b = imageOf(events, 'rgb_hwc');
    assert.deepEqual([b.step, b.height, b.width, b.colorspace], [4, H, W, 3]);
    const db = decodePng(b.png);
    for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(px(db, c, y, x), u8(c, y, x));
    const g = imageOf(events, 'grey');
    assert.deepEqual([g.height, g.width, g.colorspace, g.colourType], [H, W, 1, 0]);
    const dg = decodePng(g.png);
    assert.equal(dg.channels, 1);
    for (let i = 0; i < H * W; i++) assert.equal(dg.data[i], Math.round(((i % 11) / 10) * 255));
    const r = imageOf(events, 'rgba');
    assert.deepEqual([r.colorspace, r.colourType], [4, 6]);
    const samples = rgbaSamples(r.png, W, H);
    for (let c = 0; c < 4; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(samples[(y * W + x) * 4 + c], rgba[(c * H + y) * W + x]);
    const dr = decodePng(r.png);
    for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(px(dr, c, y, x), rgba[(c * H + y) * W + x]);
    // The library's reader gives the same bytes.
    const lib = readTensorBoardEvents(dir).flatMap((e) => e.values).find((v) => v.tag === 'rgb')!;
    assert.deepEqual(Buffer.from(lib.image!.encodedImageString), Buffer.from(a.png));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encodePng round-trips through decodePng for 1- and 3-channel noise (every row filter), and refuses bad sizes', () => {
  let s = 12345;
  const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s >>> 23; };
  for (const [channels, height, width] of [[1, 9, 13], [3, 16, 16], [3, 1, 1], [1, 40, 3]]) {
    const smooth = Uint8Array.from({ length: channels * height * width }, (_, i) => (i * 3 + (rand() & 3)) & 255);
    const noise = Uint8Array.from({ length: channels * height * width }, () => rand() & 255);
    for (const data of [smooth, noise]) {
      const back = decodePng(encodePng({ data, channels, height, width }));
      assert.deepEqual([back.channels, back.height, back.width], [channels, height, width]);
      assert.deepEqual(Buffer.from(back.data), Buffer.from(data));
    }
  }
  assert.throws(() => encodePng({ data: new Uint8Array(10), channels: 5, height: 1, width: 2 }), /1, 2, 3 or 4 channels, got 5/);
  assert.throws(() => encodePng({ data: new Uint8Array(0), channels: 1, height: 0, width: 2 }), /height must be an integer from 1/);
  assert.throws(() => encodePng({ data: new Uint8Array(5), channels: 1, height: 2, width: 2 }), /needs 4 bytes, got 5/);
});

test('logImage refuses wrong shapes, dtypes, NaN, out-of-range floats, empty images, bad tags and steps, naming the problem', () => {
  const dir = tempDir();
  try {
    const logger = new TensorBoardLogger(dir);
    const img = (shape: number[], dtype: 'float32' | 'uint8' | 'int32' = 'float32', value = 0.5) => torch.full(shape, value, { dtype });
    assert.throws(() => logger.logImage('x', img([2, 3, 4, 4]), 0), /needs a 3-d tensor, got shape \[2, 3, 4, 4\] \(a batch/);
    assert.throws(() => logger.logImage('x', img([4, 4]), 0), /dataFormats 'CHW' needs a 3-d tensor, got shape \[4, 4\]/);
    assert.throws(() => logger.logImage('x', img([8, 8, 3]), 0), /1 \(grey\), 3 \(RGB\) or 4 \(RGBA\) channels; shape \[8, 8, 3\] as CHW has 8 \(channels last\? pass dataFormats 'HWC'\)/);
    assert.throws(() => logger.logImage('x', img([2, 4, 4]), 0), /has 2/);
    assert.throws(() => logger.logImage('x', img([3, 4, 4], 'int32', 1), 0), /an image is uint8 \(0–255\) or floating point \(0–1\), got int32/);
    assert.throws(() => logger.logImage('x', img([3, 4, 4], 'float32', NaN), 0), /the image has 48 NaN value/);
    assert.throws(() => logger.logImage('x', img([1, 4, 4], 'float32', 1.5), 0), /values in \[0, 1\]; this one spans \[1\.5, 1\.5\]/);
    assert.throws(() => logger.logImage('x', img([3, 0, 4]), 0), /the image is empty \(shape \[3, 0, 4\]\)/);
    assert.throws(() => logger.logImage('x', img([4, 4]), 0, { dataFormats: 'NCHW' as 'CHW' }), /dataFormats must be 'CHW', 'HWC' or 'HW', got "NCHW"/);
    assert.throws(() => logger.logImage('x', [[0.5]] as unknown as Tensor, 0), /the image must be a Tensor, got object/);
    assert.throws(() => logger.logImage('', img([1, 2, 2]), 0), /TensorBoardLogger\.logImage: the tag is empty/);
    assert.throws(() => logger.logImage('a\nb', img([1, 2, 2]), 0), /contains the control character U\+000A/);
    assert.throws(() => logger.logImage(7 as unknown as string, img([1, 2, 2]), 0), /the tag must be a string, got number/);
    assert.throws(() => logger.logImage('_hparams_/x', img([1, 2, 2]), 0), /reserves/);
    assert.throws(() => logger.logImage('x', img([1, 2, 2]), -1), /step must be an integer ≥ 0, got -1/);
    assert.throws(() => logger.logImage('x', img([1, 2, 2]), 1.5), /step must be an integer ≥ 0, got 1\.5/);
    // One kind per tag.
    logger.logMetrics({ loss: 1 }, 1);
    assert.throws(() => logger.logImage('loss', img([1, 2, 2]), 1), /the tag "loss" already holds scalar values/);
    logger.logImage('pic', img([1, 2, 2]), 1);
    assert.throws(() => logger.logMetrics({ pic: 1 }, 2), /the tag "pic" already holds image values/);
    assert.throws(() => logger.logHistogram('pic', [1, 2], 2), /already holds image values/);
    // Nothing refused went in.
    logger.save();
    assert.deepEqual(readDir(dir).flatMap((e) => e.values.map((v) => str(v, 1))), ['loss', 'pic']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- histograms ------------------------------------------------------------------
/** numpy.histogram counts by a linear scan: [e_i, e_i+1), the last bin closed, values outside not counted. */
function npHistogram(values: number[], edges: number[]): number[] {
  const counts = new Array(edges.length - 1).fill(0);
  for (const v of values) {
    for (let i = 0; i < edges.length - 1; i++) {
      const last = i === edges.length - 2;
      if (v >= edges[i] && (v < edges[i + 1] || (last && v === edges[i + 1]))) { counts[i]++; break; }
    }
  }
  return counts;
}
/** PyTorch's make_histogram trimming: first to last non-empty bin, with the empty (or preceding) bucket in front. */
function trimmed(counts: number[], edges: number[]): { limits: number[]; buckets: number[] } {
  const first = counts.findIndex((c) => c > 0);
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  return { limits: edges.slice(first, last + 2), buckets: first > 0 ? counts.slice(first - 1, last + 1) : [0, ...counts.slice(0, last + 1)] };
}
function histoOf(events: Ev[], tag: string) {
  const found = valuesOf(events, tag);
  assert.equal(found.length, 1);
  const h = pb(bytesOf(found[0].v, 5)!);
  for (const n of [1, 2, 3, 4, 5]) assert.equal(all(h, n)[0]?.w, 1, `HistogramProto field ${n} is a double`);
  for (const n of [6, 7]) assert.equal(all(h, n)[0]?.w, 2, `HistogramProto field ${n} is packed`);
  return { step: found[0].step, min: dbl(h, 1)!, max: dbl(h, 2)!, num: dbl(h, 3)!, sum: dbl(h, 4)!, sumSquares: dbl(h, 5)!, limits: packedDoubles(h, 6), buckets: packedDoubles(h, 7) };
}

test('logHistogram: HistogramProto with PyTorch\'s tensorflow bins, a bin count, or edges; counts checked against numpy semantics', () => {
  const dir = tempDir();
  try {
    let s = 7;
    const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
    const raw = Array.from({ length: 500 }, (_, i) => (i % 50 === 0 ? 0 : (rand() - 0.3) * (i % 3 === 0 ? 100 : 1)));
    const values = Array.from(Float32Array.from(raw)); // as a float32 tensor holds them
    const logger = new TensorBoardLogger(dir);
    logger.logHistogram('weights', torch.fromTypedArray(Float32Array.from(raw), [20, 25]), 7);
    logger.logHistogram('ten', torch.fromTypedArray(Float32Array.from(raw)), 8, 10);
    logger.logHistogram('edges', values, 9, [-1, 0, 0.5, 1]);
    logger.logHistogram('const', torch.full([4], 2, { dtype: 'int64' }), 10, 3);
    logger.save();
    const events = readDir(dir);
    const sum = values.reduce((a, b) => a + b, 0);
    const sumSq = values.reduce((a, b) => a + b * b, 0);

    // bins='tensorflow': SummaryWriter.default_bins.
    const pos: number[] = [];
    for (let v = 1e-12; v < 1e20; v *= 1.1) pos.push(v);
    const tfEdges = [...pos.map((v) => -v).reverse(), 0, ...pos];
    const w = histoOf(events, 'weights');
    const tf = trimmed(npHistogram(values, tfEdges), tfEdges);
    assert.equal(w.step, 7);
    assert.deepEqual([w.min, w.max, w.num], [Math.min(...values), Math.max(...values), 500]);
    assert.ok(Math.abs(w.sum - sum) < 1e-9 * Math.max(1, Math.abs(sum)) && Math.abs(w.sumSquares - sumSq) < 1e-9 * sumSq);
    assert.deepEqual(w.limits, tf.limits);
    assert.deepEqual(w.buckets, tf.buckets);
    assert.equal(w.buckets.reduce((a, b) => a + b, 0), 500);
    assert.ok(w.limits[0] <= w.min && w.limits[w.limits.length - 1] >= w.max);

    // bins=10: np.linspace(min, max, 11) edges.
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const tenEdges = Array.from({ length: 11 }, (_, i) => (i === 10 ? hi : i * ((hi - lo) / 10) + lo));
    const t = histoOf(events, 'ten');
    const ten = trimmed(npHistogram(values, tenEdges), tenEdges);
    assert.deepEqual(t.limits, ten.limits);
    assert.deepEqual(t.buckets, ten.buckets);
    assert.equal(t.buckets[0], 0, 'the empty bucket in front');
    assert.equal(t.buckets.reduce((a, b) => a + b, 0), 500);

    // Explicit edges: values outside are left out of the buckets, not of num.
    const e = histoOf(events, 'edges');
    const ex = trimmed(npHistogram(values, [-1, 0, 0.5, 1]), [-1, 0, 0.5, 1]);
    assert.deepEqual([e.limits, e.buckets], [ex.limits, ex.buckets]);
    assert.equal(e.num, 500);
    assert.ok(e.buckets.reduce((a, b) => a + b, 0) < 500);

    // One distinct value: numpy's range [v - 0.5, v + 0.5].
    const c = histoOf(events, 'const');
    assert.deepEqual([c.min, c.max, c.num, c.sum, c.sumSquares], [2, 2, 4, 8, 16]);
    // Edges 1.5, 1.83, 2.17, 2.5: all four in the middle bin, so its left edge and the bucket before it (empty) lead.
    assert.deepEqual(c.limits, [1 * (1 / 3) + 1.5, 2 * (1 / 3) + 1.5]);
    assert.deepEqual(c.buckets, [0, 4]);

    // The library's reader agrees.
    const lib = readTensorBoardEvents(dir).flatMap((ev) => ev.values).find((v) => v.tag === 'weights')!;
    assert.deepEqual([lib.histo!.bucketLimit, lib.histo!.bucket], [w.limits, w.buckets]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logHistogram refuses NaN, infinities, empty values, complex tensors, bad bins and values outside every bin', () => {
  const dir = tempDir();
  try {
    const logger = new TensorBoardLogger(dir);
    assert.throws(() => logger.logHistogram('h', torch.tensor([1, NaN, NaN, Infinity]), 0), /logHistogram\("h"\): a histogram needs finite values; these have 2 NaN and 1 infinite/);
    assert.throws(() => logger.logHistogram('h', torch.zeros([0, 3]), 0), /the values are empty/);
    assert.throws(() => logger.logHistogram('h', [], 0), /the values are empty/);
    assert.throws(() => logger.logHistogram('h', torch.zeros([2], { dtype: 'complex64' }), 0), /needs real values, got a complex64 tensor/);
    assert.throws(() => logger.logHistogram('h', [1, 2], 0, 0), /bins must be 'tensorflow', an integer ≥ 1 or an array of edges, got 0/);
    assert.throws(() => logger.logHistogram('h', [1, 2], 0, 'auto' as 'tensorflow'), /bins must be .* got "auto"/);
    assert.throws(() => logger.logHistogram('h', [1, 2], 0, [0, 1, 1]), /bin edges must increase; edge 2 \(1\) is not above edge 1 \(1\)/);
    assert.throws(() => logger.logHistogram('h', [1, 2], 0, [0]), /at least 2 values/);
    assert.throws(() => logger.logHistogram('h', [5, 6], 0, [0, 1]), /no value lies within the bin edges \[0, 1\] \(values span \[5, 6\]\)/);
    assert.throws(() => logger.logHistogram('h', ['1'] as unknown as number[], 0), /values\[0\] is string, not a number/);
    assert.throws(() => logger.logHistogram('h', [1], -3), /step must be an integer ≥ 0, got -3/);
    logger.logHistogram('bools', torch.tensor([true, false, true]), 0, 2);
    logger.save();
    const h = histoOf(readDir(dir), 'bools');
    assert.deepEqual([h.num, h.sum, h.buckets], [3, 2, [0, 1, 2]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- text --------------------------------------------------------------------------
test('logText: the text plugin\'s DT_STRING tensor of shape [1] under <tag>/text_summary', () => {
  const dir = tempDir();
  try {
    const logger = new TensorBoardLogger(dir);
    const note = '# Run notes\n**lr** = 0.01, ünïcödé ✓';
    logger.logText('notes', note, 12);
    logger.logText('notes', '', 13);
    assert.throws(() => logger.logText('notes', 3 as unknown as string, 14), /logText\("notes"\): the text must be a string, got number/);
    assert.throws(() => logger.logText('', 'x', 14), /the tag is empty/);
    logger.save();
    const events = readDir(dir);
    const found = valuesOf(events, 'notes/text_summary');
    assert.deepEqual(found.map((f) => f.step), [12, 13]);
    const p = plugin(found[0].v);
    assert.equal(p.name, 'text');
    assert.equal(p.content.length, 0, 'TextPluginData{version: 0} serializes to nothing');
    const tensor = pb(bytesOf(found[0].v, 8)!);
    assert.equal(int(tensor, 1), 7, 'DT_STRING');
    const dims = all(pb(bytesOf(tensor, 2)!), 2, 2).map((d) => int(pb(d.v as Uint8Array), 1));
    assert.deepEqual(dims, [1]);
    assert.deepEqual(all(tensor, 8, 2).map((sv) => new TextDecoder().decode(sv.v as Uint8Array)), [note]);
    const lib = readTensorBoardEvents(dir).flatMap((e) => e.values).filter((v) => v.tag === 'notes/text_summary');
    assert.deepEqual(lib.map((v) => v.text), [[note], ['']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the file as a whole -------------------------------------------------------------
test('every kind in one file, in logging order, rewritten whole on each save(); scalar readers see scalars only', () => {
  const dir = tempDir();
  try {
    const logger = new TensorBoardLogger(dir);
    logger.logHyperparams({ lr: 0.1 });
    logger.logMetrics({ loss: 0.75 }, 1);
    logger.logImage('img', torch.full([1, 2, 2], 0.25), 1);
    logger.save();
    const first = readDir(dir).length;
    logger.logHistogram('w', [0.5, -0.5], 2);
    logger.logText('t', 'hello', 2);
    logger.logMetrics({ loss: 0.5 }, 2);
    logger.finalize();
    const events = readDir(dir);
    assert.equal(events.length, first + 4);
    assert.deepEqual(events.map((e) => e.values.map((v) => str(v, 1)).join(',')), [
      '', 'hp_metric', '_hparams_/experiment', '_hparams_/session_start_info', 'loss', 'img', 'w', 't/text_summary', 'loss', '_hparams_/session_end_info',
    ]);
    assert.deepEqual(events.map((e) => e.step), [0, 0, 0, 0, 1, 1, 2, 2, 2, 0]);
    assert.ok(events.every((e, i) => i === 0 || e.wallTime >= events[0].wallTime));
    assert.deepEqual(readTensorBoardScalars(dir), [{ step: 0, tag: 'hp_metric', value: -1 }, { step: 1, tag: 'loss', value: 0.75 }, { step: 2, tag: 'loss', value: 0.5 }]);
    const lib = readTensorBoardEvents(dir);
    assert.equal(lib.length, events.length);
    assert.deepEqual(lib.find((e) => e.values[0]?.tag === '_hparams_/session_start_info')!.values[0].hparams!.sessionStartInfo!.hparams, { lr: 0.1 });
    assert.equal(lib.at(-1)!.values[0].hparams!.sessionEndInfo!.status, 1);
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left');
    assert.ok(existsSync(join(dir, 'hparams.yaml')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
