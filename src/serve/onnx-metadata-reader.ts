// Reads the metadata_props of an ONNX ModelProto straight from its protobuf
// bytes, without any dependency, so that the browser page can read the
// certification metadata of the model it loads (onnxruntime-web does not
// expose metadata_props). Only the top-level fields are walked; the graph
// (field 7) is skipped by its length.

// ModelProto.metadata_props = 14; StringStringEntryProto.key = 1, .value = 2.
const METADATA_PROPS = 14;
const KEY = 1;
const VALUE = 2;

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean { return this.pos >= this.bytes.length; }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new Error('ONNX metadata: truncated varint');
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('ONNX metadata: varint longer than 10 bytes');
  }

  /** The bytes of a length-delimited field. */
  chunk(): Uint8Array {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw new Error(`ONNX metadata: a field of ${length} bytes runs past the end of the file`);
    const out = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.chunk();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`ONNX metadata: unsupported protobuf wire type ${wireType} (not an ONNX file?)`);
    if (this.pos > this.bytes.length) throw new Error('ONNX metadata: truncated field');
  }
}

function readEntry(bytes: Uint8Array, decoder: { decode(bytes: Uint8Array): string }): [string, string] {
  const r = new Reader(bytes);
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 2 && field === KEY) key = decoder.decode(r.chunk());
    else if (wireType === 2 && field === VALUE) value = decoder.decode(r.chunk());
    else r.skip(wireType);
  }
  return [key, value];
}

/** The metadata_props of ONNX model bytes, as a plain object. Throws on bytes that are not a protobuf message. */
export function readOnnxMetadataProps(bytes: Uint8Array): Record<string, string> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readOnnxMetadataProps: expected the model file as a Uint8Array');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const r = new Reader(bytes);
  const out: Record<string, string> = {};
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) throw new Error('ONNX metadata: field number 0 (not an ONNX file?)');
    if (field === METADATA_PROPS && wireType === 2) {
      const [key, value] = readEntry(r.chunk(), decoder);
      out[key] = value;
    } else r.skip(wireType);
  }
  return out;
}
