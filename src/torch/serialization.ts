// Saving and loading tensors: PyTorch's .pt format (torch.save / torch.load,
// through libtorch's pickler) and safetensors (written here in TypeScript).
import { readFileSync } from 'node:fs';
import { DType, dtypeCode } from './dtype.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { LoadedValue, torchLoad } from './pickle/torch-load.js';
import { PickleObject } from './pickle/unpickler.js';

/** Values that save() accepts: tensors, numbers, strings, booleans, null, arrays, Maps (string or integer keys) and plain objects of these. */
export type Saveable = Tensor | number | string | boolean | null | Saveable[] | Map<string | number, Saveable> | { [key: string]: Saveable };

// Anything else (functions, class instances, typed arrays, Dates …) would be
// saved as an empty or index-keyed dict by the addon, losing data silently:
// refuse it, naming where it is.
function toNative(value: Saveable, path = 'value'): unknown {
  if (value instanceof Tensor) return value.handle;
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => toNative(v, `${path}[${i}]`));
  // Maps travel as entries so integer keys stay integers (optimizer states are keyed by parameter index).
  if (value instanceof Map) return { __entries__: [...value].map(([k, v]) => [k, toNative(v, `${path}.${String(k)}`)]) };
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toNative(v, `${path}.${k}`)]));
  }
  const kind = typeof value === 'object' ? `a ${(value as object).constructor?.name ?? 'object'}` : `a ${typeof value}`;
  throw new TypeError(`save: ${path} is ${kind}, which cannot be saved (save takes tensors, numbers, strings, booleans, null, ` +
    'arrays, Maps and plain objects of these)');
}

/**
 * What load() returns: dicts become Maps (keeping order and key types),
 * tuples and lists arrays; objects of unknown Python classes stay
 * PickleObjects (never executed).
 */
export type Loaded = LoadedValue;

/** Writes `value` as a file torch.load can read (zip format), atomically. */
export function save(value: Saveable, path: string): void {
  writeFileAtomic(path, native.pickleSave(toNative(value)));
}

/** Reads a file written by torch.save (Python) or save() (here). */
export function load(path: string): Loaded {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`load: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return torchLoad(bytes, path);
}

/** A flat name → tensor state dict from a .pt file; names what is wrong otherwise. */
export function loadStateDictFile(path: string): Map<string, Tensor> {
  const value = load(path);
  if (!(value instanceof Map)) throw new TypeError(`${path}: expected a state dict (a dict of tensors), found ${describe(value)}`);
  const out = new Map<string, Tensor>();
  for (const [key, item] of value) {
    if (!(item instanceof Tensor)) throw new TypeError(`${path}: entry '${String(key)}' is ${describe(item)}, not a tensor`);
    out.set(String(key), item);
  }
  return out;
}

function describe(value: Loaded): string {
  if (value instanceof Tensor) return 'a tensor';
  if (value instanceof Map) return 'a dict';
  if (value instanceof PickleObject) return `an object of Python class ${value.global}`;
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'None' : `a ${typeof value}`;
}

// ---- safetensors ------------------------------------------------------------

const ST_NAMES: Partial<Record<DType, string>> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16',
  int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const ST_DTYPES = new Map(Object.entries(ST_NAMES).map(([dtype, name]) => [name as string, dtype as DType]));
const ST_SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Writes tensors as a .safetensors file (little-endian, row-major), atomically. */
export function saveSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, path: string, metadata: Record<string, string> = {}): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype = ST_NAMES[t.dtype];
    if (dtype === undefined) throw new TypeError(`saveSafetensors: '${name}' has dtype ${t.dtype}, which safetensors cannot store`);
    const bytes = new Uint8Array(native.toBuffer(t.handle));
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Keep the data 8-byte aligned: pad by UTF-8 bytes (names may be non-ASCII), not by UTF-16 units.
  json += ' '.repeat((8 - (Buffer.byteLength(json, 'utf8') % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  writeFileAtomic(path, [prefix, headerBytes, ...blobs]);
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Reads a .safetensors file, validating its header against the file size. */
export function loadSafetensors(path: string): SafetensorsFile {
  const bytes = readFileSync(path);
  const fail = (why: string): never => { throw new Error(`loadSafetensors(${path}): ${why}`); };
  if (bytes.byteLength < 8) fail('file is shorter than the 8-byte header length');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.byteLength - 8) fail(`header length ${headerLength} exceeds the file size`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    return fail('header is not valid JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  try {
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = info as Record<string, string>;
        continue;
      }
      if (info === null || typeof info !== 'object') fail(`tensor '${name}' has a malformed entry`);
      const { dtype, shape, data_offsets: offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const ours = ST_DTYPES.get(dtype);
      if (ours === undefined) fail(`tensor '${name}' has unsupported dtype '${dtype}'`);
      const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
      if (!Array.isArray(shape) || !shape.every(isCount) || !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
        fail(`tensor '${name}' has a malformed entry`);
      }
      const [begin, end] = offsets;
      const expected = shape.reduce((a, b) => a * b, 1) * ST_SIZES[dtype];
      if (end - begin !== expected) fail(`tensor '${name}' holds ${end - begin} bytes but shape [${shape}] of ${dtype} needs ${expected}`);
      if (dataStart + end > bytes.byteLength) fail(`tensor '${name}' runs past the end of the file (truncated?)`);
      // Copy into an aligned buffer: the file's data need not be aligned for the element type.
      const chunk = new Uint8Array(expected);
      chunk.set(bytes.subarray(dataStart + begin, dataStart + end));
      tensors.set(name, Tensor._wrap(native.fromBuffer(chunk, shape, dtypeCode(ours as DType))));
    }
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return { tensors, metadata };
}
