// Creating tensors: from JS data, constant fills, ranges and random draws.
import { aten } from './dispatch.js';
import { DType, dtypeCode, dtypeOfTypedArray } from './dtype.js';
import { native } from './native.js';
import { NestedArray, Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

const code = (dtype: DType | undefined): number | undefined => (dtype === undefined ? undefined : dtypeCode(dtype));

/** Moves to the requested device and sets requiresGrad, disposing the intermediate. */
function finish(t: Tensor, options: CreateOptions): Tensor {
  let out = t;
  if (options.device !== undefined && options.device !== 'cpu') {
    out = t.to({ device: options.device });
    t.dispose();
  }
  if (options.requiresGrad) out.requiresGrad_(true);
  return out;
}

/** Creates a tensor from a typed array (copied) with the given shape (1-d by default). */
export function fromTypedArray(data: ArrayBufferView, shape?: number[], options: CreateOptions = {}): Tensor {
  const own = dtypeOfTypedArray(data);
  if (options.dtype !== undefined) dtypeCode(options.dtype); // names an unknown dtype before anything is allocated
  const elements = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const dims = shape ?? [elements];
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== elements) {
    throw new RangeError(`fromTypedArray: shape [${dims.join(', ')}] needs ${expected} elements but the data has ${elements}`);
  }
  let t = new Tensor(native.fromBuffer(data, dims, dtypeCode(own)));
  if (options.dtype !== undefined && options.dtype !== own) {
    const cast = t.to(options.dtype);
    t.dispose();
    t = cast;
  }
  return finish(t, options);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flattenChecked(data: NestedArray, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError('tensor(): nested arrays are ragged (not all rows have the same depth)');
    if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else if (typeof data === 'number') out.push(data);
    else throw new TypeError(`tensor(): element ${String(data)} is not a number or boolean`);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor(): nested arrays are ragged: expected ${shape[depth]} elements at depth ${depth}`);
  }
  for (const item of data) flattenChecked(item, shape, depth + 1, out);
}

function firstLeaf(data: NestedArray): number | boolean | undefined {
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    if (level.length === 0) return undefined;
    level = level[0];
  }
  return level;
}

/**
 * A tensor from a number, boolean, nested arrays or a typed array. Like
 * torch.tensor: float32 for numbers, bool for booleans, unless dtype is given.
 */
export function tensor(data: NestedArray | ArrayBufferView, options: CreateOptions = {}): Tensor {
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, undefined, options);
  const shape = inferShape(data);
  const flat: number[] = [];
  flattenChecked(data, shape, 0, flat);
  const isBool = typeof firstLeaf(data) === 'boolean';
  const dtype = options.dtype ?? (isBool ? 'bool' : 'float32');
  dtypeCode(dtype); // names an unknown dtype before any work
  let base: Tensor;
  if (dtype === 'float64' || dtype === 'int64' || dtype === 'int32') {
    base = new Tensor(native.fromBuffer(new Float64Array(flat), shape, dtypeCode('float64')));
  } else {
    base = new Tensor(native.fromBuffer(new Float32Array(flat), shape, dtypeCode('float32')));
  }
  if (base.dtype !== dtype) {
    const cast = base.to(dtype);
    base.dispose();
    base = cast;
  }
  return finish(base, options);
}

/** A 0-d tensor holding one value. */
export const scalarTensor = (value: number, options: CreateOptions = {}): Tensor => tensor(value, options);

const factory = (name: string) => (shape: number[], options: CreateOptions = {}): Tensor =>
  finish(aten(name, shape, code(options.dtype), undefined, options.device), options);

export const zeros = factory('zeros');
export const ones = factory('ones');
export const empty = factory('empty.memory_format');
/** Uniform samples in [0, 1). */
export const rand = factory('rand');
/** Standard normal samples. */
export const randn = factory('randn');

export function full(shape: number[], value: number | boolean, options: CreateOptions = {}): Tensor {
  return finish(aten('full', shape, value, code(options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32')), undefined, options.device), options);
}

/** The n×m identity (m defaults to n); `eye(n, options)` also works, as `torch.eye(n, device=…)` does. */
export function eye(n: number, m?: number | CreateOptions, options: CreateOptions = {}): Tensor {
  if (typeof m === 'object') return eye(n, n, m);
  m ??= n;
  // libtorch 1.13 has no CPU eye kernel for the half types (hit under bf16 autocast): build it in float32 and cast.
  if ((options.dtype === 'bfloat16' || options.dtype === 'float16') && (options.device ?? 'cpu') === 'cpu') {
    const single = aten('eye.m', n, m, code('float32'), undefined, options.device);
    const half = single.to(options.dtype);
    single.dispose();
    return finish(half, options);
  }
  return finish(aten('eye.m', n, m, code(options.dtype), undefined, options.device), options);
}

/** Values from start to end (exclusive) by step; int64 when all are integers, like PyTorch. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new RangeError('arange: step must not be zero');
  return finish(aten('arange.start_step', from, to, step, code(options.dtype), undefined, options.device), options);
}

export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return finish(aten('linspace', start, end, steps, code(options.dtype), undefined, options.device), options);
}

/** Integers uniformly drawn from [low, high). */
export function randint(low: number, high: number, shape: number[], options: CreateOptions = {}): Tensor {
  return finish(aten('randint.low', low, high, shape, code(options.dtype ?? 'int64'), undefined, options.device), options);
}

export function randperm(n: number, options: CreateOptions = {}): Tensor {
  return finish(aten('randperm', n, code(options.dtype ?? 'int64'), undefined, options.device), options);
}

const likeFactory = (name: string) => (like: Tensor, options: CreateOptions = {}): Tensor =>
  finish(aten(name, like, code(options.dtype), undefined, options.device), { requiresGrad: options.requiresGrad });

export const zerosLike = likeFactory('zeros_like');
export const onesLike = likeFactory('ones_like');
export const emptyLike = likeFactory('empty_like');
export const randLike = likeFactory('rand_like');
export const randnLike = likeFactory('randn_like');
export function fullLike(like: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return finish(aten('full_like', like, value, code(options.dtype), undefined, options.device), { requiresGrad: options.requiresGrad });
}

// ---- joining and selecting (free functions, like torch.cat) ------------------
export const cat = (tensors: Tensor[], dim = 0): Tensor => aten('cat', tensors, dim);
export const stack = (tensors: Tensor[], dim = 0): Tensor => aten('stack', tensors, dim);
/** Elementwise choice: `a` where `condition` holds, else `b`. */
export function where(condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return aten('where.self', condition, a, b);
  if (a instanceof Tensor) return aten('where.ScalarOther', condition, a, b);
  if (b instanceof Tensor) return aten('where.ScalarSelf', condition, a, b);
  return aten('where.Scalar', condition, a, b);
}
export const einsum = (equation: string, ...operands: Tensor[]): Tensor => aten('einsum', equation, operands);
export const matmul = (a: Tensor, b: Tensor): Tensor => a.matmul(b);

