// The two formats behind TensorBoard event files, written by hand: TFRecord
// framing (length, masked CRC-32C of the length, payload, masked CRC-32C of
// the payload) and the few protobuf fields of Event/Summary that scalars use.

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the checksum TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
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

// ---- protobuf: just the wire types needed ----------------------------------
function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field: number, wireType: number): number[] => varint((field << 3) | wireType);
const lengthDelimited = (field: number, bytes: Uint8Array): number[] => [...key(field, 2), ...varint(bytes.length), ...bytes];

/** An Event with wall_time and step, carrying either file_version or scalar summary values. */
export function encodeEvent(event: { wallTime: number; step: number; fileVersion?: string; scalars?: Record<string, number> }): Uint8Array {
  const wall = new Uint8Array(8);
  new DataView(wall.buffer).setFloat64(0, event.wallTime, true);
  const bytes: number[] = [...key(1, 1), ...wall, ...key(2, 0), ...varint(event.step)];
  if (event.fileVersion !== undefined) bytes.push(...lengthDelimited(3, new TextEncoder().encode(event.fileVersion)));
  if (event.scalars) {
    const summary: number[] = [];
    for (const [tag, value] of Object.entries(event.scalars)) {
      const f = new Uint8Array(4);
      new DataView(f.buffer).setFloat32(0, value, true);
      const v = [...lengthDelimited(1, new TextEncoder().encode(tag)), ...key(2, 5), ...f];
      summary.push(...lengthDelimited(1, Uint8Array.from(v)));
    }
    bytes.push(...lengthDelimited(5, Uint8Array.from(summary)));
  }
  return Uint8Array.from(bytes);
}

interface Field { field: number; wireType: number; value: bigint | Uint8Array }

function* fields(bytes: Uint8Array): Generator<Field> {
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

export interface DecodedEvent { wallTime: number; step: number; fileVersion?: string; scalars: Record<string, number> }

export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const event: DecodedEvent = { wallTime: 0, step: 0, scalars: {} };
  const f64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  for (const f of fields(bytes)) {
    if (f.field === 1 && f.wireType === 1) event.wallTime = f64(f.value as Uint8Array);
    else if (f.field === 2 && f.wireType === 0) event.step = Number(BigInt.asIntN(64, f.value as bigint));
    else if (f.field === 3 && f.wireType === 2) event.fileVersion = new TextDecoder().decode(f.value as Uint8Array);
    else if (f.field === 5 && f.wireType === 2) {
      for (const v of fields(f.value as Uint8Array)) {
        if (v.field !== 1 || v.wireType !== 2) continue;
        let tag = '';
        let value = NaN;
        for (const x of fields(v.value as Uint8Array)) {
          if (x.field === 1 && x.wireType === 2) tag = new TextDecoder().decode(x.value as Uint8Array);
          else if (x.field === 2 && x.wireType === 5) value = f32(x.value as Uint8Array);
        }
        event.scalars[tag] = value;
      }
    }
  }
  return event;
}
