// The two formats behind TensorBoard event files, written by hand: TFRecord
// framing (length, masked CRC-32C of the length, payload, masked CRC-32C of
// the payload) and the protobuf fields of Event and Summary that scalars,
// images, histograms and plugin (text, hparams) summaries use. Field numbers
// are those of tensorboard/compat/proto/{event,summary,histogram,tensor,
// tensor_shape}.proto.
import { crc32 } from '../../util/crc32.js';

/** CRC-32C (Castagnoli), the checksum TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  return crc32([bytes], 'castagnoli');
}

const maskedCrc = (bytes: Uint8Array): number => {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(payload.length), true);
  view.setUint32(8, maskedCrc(out.subarray(0, 8)), true);
  out.set(payload, 12);
  view.setUint32(12 + payload.length, maskedCrc(payload), true);
  return out;
}

/** Splits a TFRecord stream into payloads, checking both checksums of every record. */
export function readRecords(data: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  while (offset < data.length) {
    if (offset + 12 > data.length) throw new Error(`truncated record header at byte ${offset}`);
    const length = Number(view.getBigUint64(offset, true));
    if (view.getUint32(offset + 8, true) !== maskedCrc(data.subarray(offset, offset + 8))) throw new Error(`bad length checksum at byte ${offset}`);
    const end = offset + 12 + length;
    if (end + 4 > data.length) throw new Error(`truncated record at byte ${offset}`);
    const payload = data.subarray(offset + 12, end);
    if (view.getUint32(end, true) !== maskedCrc(payload)) throw new Error(`bad data checksum at byte ${offset}`);
    records.push(payload);
    offset = end + 4;
  }
  return records;
}

// ---- protobuf writing: the wire types needed --------------------------------
function varint(value: number | bigint): number[] {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < 2 ** 31) {
    const out: number[] = [];
    let v = value;
    while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
    out.push(v);
    return out;
  }
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n; // negative int32/int64: ten bytes of two's complement, as protobuf
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const utf8 = new TextEncoder();

/** A protobuf message built field by field (the caller decides which proto3 defaults to leave out). */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array | number[]): this {
    const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  private key(field: number, wireType: number): number[] { return varint(field * 8 + wireType); }

  /** int32, int64, uint64, enum (wire type 0). */
  varint(field: number, value: number | bigint): this { return this.push([...this.key(field, 0), ...varint(value)]); }
  bool(field: number, value: boolean): this { return this.varint(field, value ? 1 : 0); }
  /** double (wire type 1, little-endian). */
  double(field: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    return this.push(this.key(field, 1)).push(b);
  }
  /** float (wire type 5, little-endian). */
  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.push(this.key(field, 5)).push(b);
  }
  /** bytes, string, embedded message, packed repeated (wire type 2). */
  bytes(field: number, value: Uint8Array): this { return this.push([...this.key(field, 2), ...varint(value.length)]).push(value); }
  string(field: number, value: string): this { return this.bytes(field, utf8.encode(value)); }
  message(field: number, value: ProtoWriter): this { return this.bytes(field, value.finish()); }
  /** A packed repeated double; nothing when empty (as proto3). */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const b = new Uint8Array(8 * values.length);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
    return this.bytes(field, b);
  }

  get length(): number { return this.size; }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const p of this.parts) { out.set(p, offset); offset += p.length; }
    return out;
  }
}

// ---- Event and Summary ------------------------------------------------------
/** SummaryMetadata (summary.proto): which plugin reads the value, with its plugin-specific content. */
export interface SummaryMetadata {
  pluginName: string;
  /** PluginData.content: the plugin's serialized *PluginData message (empty: left out). */
  content?: Uint8Array;
  displayName?: string;
  summaryDescription?: string;
  /** DataClass: 1 scalar, 2 tensor, 3 blob sequence. */
  dataClass?: number;
}

/** Summary.Image: an encoded (PNG) image; colorspace 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export interface SummaryImage { height: number; width: number; colorspace: number; encodedImageString: Uint8Array }

/** HistogramProto (histogram.proto): bucket[i] counts the values up to bucketLimit[i] (and above bucketLimit[i - 1]). */
export interface SummaryHistogram {
  min: number; max: number; num: number; sum: number; sumSquares: number;
  bucketLimit: ArrayLike<number>; bucket: ArrayLike<number>;
}

/** The TensorProto fields used here: dtype (types.proto: 1 DT_FLOAT, 2 DT_DOUBLE, 7 DT_STRING), shape, string or float values. */
export interface SummaryTensor { dtype: number; shape: number[]; stringVal?: Uint8Array[]; floatVal?: ArrayLike<number>; doubleVal?: ArrayLike<number> }

/** One Summary.Value: a tag, optional metadata and at most one value (none: a metadata-only value, as the hparams plugin's). */
export interface SummaryValue {
  tag: string;
  metadata?: SummaryMetadata;
  simpleValue?: number;
  image?: SummaryImage;
  histo?: SummaryHistogram;
  tensor?: SummaryTensor;
}

export interface EventInput {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Shorthand for simple_value summary values, one per entry. */
  scalars?: Record<string, number>;
  values?: SummaryValue[];
}

function encodeMetadata(m: SummaryMetadata): ProtoWriter {
  const plugin = new ProtoWriter().string(1, m.pluginName);
  if (m.content && m.content.length > 0) plugin.bytes(2, m.content);
  const out = new ProtoWriter().message(1, plugin);
  if (m.displayName) out.string(2, m.displayName);
  if (m.summaryDescription) out.string(3, m.summaryDescription);
  if (m.dataClass) out.varint(4, m.dataClass);
  return out;
}

function encodeValue(v: SummaryValue): ProtoWriter {
  const kinds = (['simpleValue', 'image', 'histo', 'tensor'] as const).filter((k) => v[k] !== undefined);
  if (kinds.length > 1) throw new Error(`summary value '${v.tag}' has both ${kinds.join(' and ')}; Summary.Value holds one`);
  const out = new ProtoWriter().string(1, v.tag);
  if (v.simpleValue !== undefined) out.float(2, v.simpleValue);
  if (v.image) {
    const i = v.image;
    out.message(4, new ProtoWriter().varint(1, i.height).varint(2, i.width).varint(3, i.colorspace).bytes(4, i.encodedImageString));
  }
  if (v.histo) {
    const h = v.histo;
    out.message(5, new ProtoWriter().double(1, h.min).double(2, h.max).double(3, h.num).double(4, h.sum).double(5, h.sumSquares)
      .packedDoubles(6, h.bucketLimit).packedDoubles(7, h.bucket));
  }
  if (v.tensor) {
    const t = v.tensor;
    const shape = new ProtoWriter();
    for (const size of t.shape) shape.message(2, new ProtoWriter().varint(1, size));
    const tensor = new ProtoWriter().varint(1, t.dtype).message(2, shape);
    if (t.floatVal && t.floatVal.length > 0) {
      const b = new Uint8Array(4 * t.floatVal.length);
      const view = new DataView(b.buffer);
      for (let i = 0; i < t.floatVal.length; i++) view.setFloat32(4 * i, t.floatVal[i], true);
      tensor.bytes(5, b);
    }
    if (t.doubleVal) tensor.packedDoubles(6, t.doubleVal);
    for (const s of t.stringVal ?? []) tensor.bytes(8, s);
    out.message(8, tensor);
  }
  if (v.metadata) out.message(9, encodeMetadata(v.metadata));
  return out;
}

/** An Event (event.proto): wall_time, step, and a file_version or a Summary of values. */
export function encodeEvent(event: EventInput): Uint8Array {
  const out = new ProtoWriter().double(1, event.wallTime).varint(2, event.step);
  if (event.fileVersion !== undefined) out.string(3, event.fileVersion);
  const values = [...Object.entries(event.scalars ?? {}).map(([tag, simpleValue]) => ({ tag, simpleValue })), ...(event.values ?? [])];
  if (values.length > 0 || event.scalars) {
    const summary = new ProtoWriter();
    for (const v of values) summary.message(1, encodeValue(v));
    out.message(5, summary);
  }
  return out.finish();
}

// ---- protobuf reading -------------------------------------------------------
export interface ProtoField { field: number; wireType: number; value: bigint | Uint8Array }

/** The fields of a protobuf message in order (wire types 0, 1, 2 and 5). */
export function* protoFields(bytes: Uint8Array): Generator<ProtoField> {
  let i = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= bytes.length) throw new Error('truncated varint');
      const b = bytes[i++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (i < bytes.length) {
    const k = Number(readVarint());
    const field = k >> 3;
    const wireType = k & 7;
    if (wireType === 0) yield { field, wireType, value: readVarint() };
    else if (wireType === 1) { yield { field, wireType, value: bytes.subarray(i, i + 8) }; i += 8; }
    else if (wireType === 5) { yield { field, wireType, value: bytes.subarray(i, i + 4) }; i += 4; }
    else if (wireType === 2) {
      const n = Number(readVarint());
      yield { field, wireType, value: bytes.subarray(i, i + n) };
      i += n;
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
    if (i > bytes.length) throw new Error('truncated protobuf field');
  }
}

const textOf = (b: Uint8Array): string => new TextDecoder().decode(b);
export const readF64 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
const readF32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);

/** A repeated double, packed (wire type 2) or not (wire type 1): appends to `into`. */
export function readDoubles(f: ProtoField, into: number[]): void {
  const b = f.value as Uint8Array;
  if (f.wireType === 1) into.push(readF64(b));
  else if (f.wireType === 2) for (let o = 0; o + 8 <= b.length; o += 8) into.push(readF64(b.subarray(o, o + 8)));
}

export interface DecodedValue {
  tag: string;
  metadata?: { pluginName: string; content: Uint8Array; displayName: string; summaryDescription: string; dataClass: number };
  simpleValue?: number;
  image?: SummaryImage;
  histo?: { min: number; max: number; num: number; sum: number; sumSquares: number; bucketLimit: number[]; bucket: number[] };
  tensor?: { dtype: number; shape: number[]; stringVal: Uint8Array[]; floatVal: number[]; doubleVal: number[] };
}

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** The simple_value (scalar) values by tag. */
  scalars: Record<string, number>;
  /** Every summary value, in order. */
  values: DecodedValue[];
}

function decodeValue(bytes: Uint8Array): DecodedValue {
  const v: DecodedValue = { tag: '' };
  for (const x of protoFields(bytes)) {
    const b = x.value as Uint8Array;
    if (x.field === 1 && x.wireType === 2) v.tag = textOf(b);
    else if (x.field === 2 && x.wireType === 5) v.simpleValue = readF32(b);
    else if (x.field === 4 && x.wireType === 2) {
      const image: SummaryImage = { height: 0, width: 0, colorspace: 0, encodedImageString: new Uint8Array(0) };
      for (const f of protoFields(b)) {
        if (f.field === 1 && f.wireType === 0) image.height = Number(f.value);
        else if (f.field === 2 && f.wireType === 0) image.width = Number(f.value);
        else if (f.field === 3 && f.wireType === 0) image.colorspace = Number(f.value);
        else if (f.field === 4 && f.wireType === 2) image.encodedImageString = f.value as Uint8Array;
      }
      v.image = image;
    } else if (x.field === 5 && x.wireType === 2) {
      const h = { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [] as number[], bucket: [] as number[] };
      const scalarsOf = ['', 'min', 'max', 'num', 'sum', 'sumSquares'] as const;
      for (const f of protoFields(b)) {
        if (f.field >= 1 && f.field <= 5 && f.wireType === 1) h[scalarsOf[f.field] as 'min'] = readF64(f.value as Uint8Array);
        else if (f.field === 6) readDoubles(f, h.bucketLimit);
        else if (f.field === 7) readDoubles(f, h.bucket);
      }
      v.histo = h;
    } else if (x.field === 8 && x.wireType === 2) {
      const t = { dtype: 0, shape: [] as number[], stringVal: [] as Uint8Array[], floatVal: [] as number[], doubleVal: [] as number[] };
      for (const f of protoFields(b)) {
        if (f.field === 1 && f.wireType === 0) t.dtype = Number(f.value);
        else if (f.field === 2 && f.wireType === 2) {
          for (const d of protoFields(f.value as Uint8Array)) {
            if (d.field !== 2 || d.wireType !== 2) continue;
            let size = 0;
            for (const s of protoFields(d.value as Uint8Array)) if (s.field === 1 && s.wireType === 0) size = Number(BigInt.asIntN(64, s.value as bigint));
            t.shape.push(size);
          }
        } else if (f.field === 5 && f.wireType === 5) t.floatVal.push(readF32(f.value as Uint8Array));
        else if (f.field === 5 && f.wireType === 2) { const p = f.value as Uint8Array; for (let o = 0; o + 4 <= p.length; o += 4) t.floatVal.push(readF32(p.subarray(o, o + 4))); }
        else if (f.field === 6) readDoubles(f, t.doubleVal);
        else if (f.field === 8 && f.wireType === 2) t.stringVal.push(f.value as Uint8Array);
      }
      v.tensor = t;
    } else if (x.field === 9 && x.wireType === 2) {
      const m = { pluginName: '', content: new Uint8Array(0) as Uint8Array, displayName: '', summaryDescription: '', dataClass: 0 };
      for (const f of protoFields(b)) {
        if (f.field === 1 && f.wireType === 2) {
          for (const p of protoFields(f.value as Uint8Array)) {
            if (p.field === 1 && p.wireType === 2) m.pluginName = textOf(p.value as Uint8Array);
            else if (p.field === 2 && p.wireType === 2) m.content = p.value as Uint8Array;
          }
        } else if (f.field === 2 && f.wireType === 2) m.displayName = textOf(f.value as Uint8Array);
        else if (f.field === 3 && f.wireType === 2) m.summaryDescription = textOf(f.value as Uint8Array);
        else if (f.field === 4 && f.wireType === 0) m.dataClass = Number(f.value);
      }
      v.metadata = m;
    }
  }
  return v;
}

export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const event: DecodedEvent = { wallTime: 0, step: 0, scalars: {}, values: [] };
  for (const f of protoFields(bytes)) {
    if (f.field === 1 && f.wireType === 1) event.wallTime = readF64(f.value as Uint8Array);
    else if (f.field === 2 && f.wireType === 0) event.step = Number(BigInt.asIntN(64, f.value as bigint));
    else if (f.field === 3 && f.wireType === 2) event.fileVersion = textOf(f.value as Uint8Array);
    else if (f.field === 5 && f.wireType === 2) {
      for (const v of protoFields(f.value as Uint8Array)) {
        if (v.field !== 1 || v.wireType !== 2) continue;
        const value = decodeValue(v.value as Uint8Array);
        event.values.push(value);
        if (value.simpleValue !== undefined) event.scalars[value.tag] = value.simpleValue;
      }
    }
  }
  return event;
}
