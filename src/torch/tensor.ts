// The Tensor class: a typed handle on a libtorch tensor with PyTorch's
// method names in camelCase. Each tensor belongs to the innermost open
// scope (see scope.ts) and can be freed at once with dispose().
import { aten, atenInPlace } from './dispatch.js';
import { DType, TypedArray, dtypeCode, dtypeFromCode, isFloatingDType, typedArrayFor } from './dtype.js';
import { Handle, native } from './native.js';
import { Tracked, track } from './scope.js';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
/** Nested JS arrays, as returned by toArray(). */
export type NestedArray = number | boolean | NestedArray[];

export interface ReduceOptions { keepdim?: boolean; dtype?: DType }
export interface ToOptions { dtype?: DType; device?: string; copy?: boolean; nonBlocking?: boolean }

const dimsOf = (dim: number | number[] | undefined): number[] | undefined =>
  dim === undefined ? undefined : Array.isArray(dim) ? dim : [dim];

export class Tensor implements Tracked {
  private _h: Handle | null;
  /** @internal owning scope, managed by scope.ts */
  _scope: Set<Tracked> | null = null;

  /** @internal use the creation functions (torch.tensor, torch.zeros …) instead. */
  constructor(handle: Handle) {
    this._h = handle;
    track(this);
  }

  /** @internal */
  static _wrap(handle: Handle): Tensor {
    return new Tensor(handle);
  }

  /** @internal the native handle; throws once the tensor is disposed. */
  get handle(): Handle {
    if (this._h === null) throw new Error('this tensor has been disposed and can no longer be used');
    return this._h;
  }

  // ---- lifetime -----------------------------------------------------------
  /** Frees the native memory now (views keep their storage alive). Idempotent. */
  dispose(): void {
    if (this._h === null) return;
    native.dispose(this._h);
    this._h = null;
    this._scope?.delete(this);
    this._scope = null;
  }
  [Symbol.dispose](): void { this.dispose(); }
  /** @internal no scope will free this tensor: let V8 weigh its memory when deciding to collect. */
  _unowned(): void { if (this._h !== null) native.accountExternal(this._h); }
  get isDisposed(): boolean { return this._h === null; }

  // ---- metadata -----------------------------------------------------------
  get shape(): number[] { return native.shape(this.handle); }
  size(dim?: number): number[] | number {
    const s = this.shape;
    if (dim === undefined) return s;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): dimension out of range for a ${s.length}-d tensor`);
    return s[d];
  }
  get strides(): number[] { return native.strides(this.handle); }
  get dtype(): DType { return dtypeFromCode(native.dtype(this.handle)); }
  get device(): string { return native.device(this.handle); }
  get ndim(): number { return native.dim(this.handle); }
  dim(): number { return native.dim(this.handle); }
  numel(): number { return native.numel(this.handle); }
  isContiguous(): boolean { return native.isContiguous(this.handle); }
  /** Autograd's version counter, bumped by every in-place change. */
  get version(): number { return native.version(this.handle); }
  /** Replaces this tensor's data (and dtype/device) while keeping its identity, like `p.data = src`. */
  setData(src: Tensor): void { native.setData(this.handle, src.handle); }
  get isCuda(): boolean { return this.device.startsWith('cuda'); }

  // ---- autograd -----------------------------------------------------------
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  set requiresGrad(flag: boolean) { native.setRequiresGrad(this.handle, flag); }
  requiresGrad_(flag = true): this { native.setRequiresGrad(this.handle, flag); return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  get hasGradFn(): boolean { return native.hasGradFn(this.handle); }
  /** The accumulated gradient as a new handle (dispose it or let the scope do it), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) { native.setGrad(this.handle, g === null ? null : g.handle); }
  retainGrad(): this { native.retainGrad(this.handle); return this; }
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const create = options.createGraph ?? false;
    native.backward([this.handle], gradient ? [gradient.handle] : null, options.retainGraph ?? create, create);
  }
  detach(): Tensor { return aten('detach', this); }
  detach_(): this { return atenInPlace('detach_', this); }

  // ---- data out -----------------------------------------------------------
  /** A copy of the elements in row-major order (half types as raw uint16 bits). */
  dataSync(): TypedArray { return typedArrayFor(this.dtype, native.toBuffer(this.handle)); }
  /** The elements as numbers (float32 for half types, Number for int64). */
  toFlatArray(): number[] {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const f = this.to('float32');
      try { return Array.from(f.dataSync() as Float32Array); } finally { f.dispose(); }
    }
    const data = this.dataSync();
    if (data instanceof BigInt64Array) return Array.from(data, Number);
    if (dtype === 'bool') return Array.from(data as Uint8Array, (v) => v);
    return Array.from(data as ArrayLike<number>);
  }
  /** Nested arrays shaped like the tensor (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.toFlatArray();
    const isBool = this.dtype === 'bool';
    const values: (number | boolean)[] = isBool ? flat.map((v) => v !== 0) : flat;
    const shape = this.shape;
    if (shape.length === 0) return values[0];
    let offset = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? values[offset++] : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) throw new RangeError(`item(): the tensor has ${this.numel()} elements, expected exactly 1`);
    const v = aten('_local_scalar_dense', this);
    return typeof v === 'boolean' ? Number(v) : (v as number);
  }
  toString(): string { return this._h === null ? 'Tensor(disposed)' : native.toString(this._h); }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return this.toString(); }

  // ---- conversion ---------------------------------------------------------
  /** Converts dtype and/or device: to('float64'), to('cuda'), to({ dtype, device }). Always returns a new handle. */
  to(target: DType | string | ToOptions): Tensor {
    if (typeof target === 'string' && !isDTypeName(target) && !DEVICE_PATTERN.test(target)) {
      throw new TypeError(`to('${target}'): not a dtype (${[...DTYPE_NAMES].join(', ')}) nor a device ('cpu', 'cuda', 'cuda:0' …)`);
    }
    const options: ToOptions = typeof target === 'string'
      ? (isDTypeName(target) ? { dtype: target } : { device: target })
      : target;
    return aten('to.dtype_layout', this, options.dtype === undefined ? undefined : dtypeCode(options.dtype), undefined,
      options.device, undefined, options.nonBlocking ?? false, options.copy ?? false);
  }
  /** A copy in page-locked host memory, so that `to({ device: 'cuda', nonBlocking: true })` is asynchronous. Needs CUDA. */
  pinMemory(): Tensor {
    if (!native.buildInfo().cudaAvailable) throw new Error('pinMemory: page-locked memory is allocated by CUDA, and CUDA is not available here (CPU-only libtorch or no GPU)');
    return aten('pin_memory', this);
  }
  /** Whether the data lies in page-locked (pinned) host memory. */
  isPinned(): boolean { return aten('is_pinned', this) as boolean; }
  cpu(): Tensor { return this.to({ device: 'cpu' }); }
  cuda(index = 0): Tensor { return this.to({ device: `cuda:${index}` }); }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  bool(): Tensor { return this.to('bool'); }
  clone(): Tensor { return aten('clone', this); }
  contiguous(): Tensor { return aten('contiguous', this); }
  /** Channels-last (NHWC) memory layout for 4-d tensors. */
  contiguousChannelsLast(): Tensor { return aten('contiguous', this, 2); }
  copy_(src: Tensor): this { return atenInPlace('copy_', this, src); }

  // ---- views and shape ----------------------------------------------------
  view(...shape: ShapeArgs): Tensor { return aten('view', this, flatShape(shape)); }
  reshape(...shape: ShapeArgs): Tensor { return aten('reshape', this, flatShape(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return aten('flatten.using_ints', this, startDim, endDim); }
  unflatten(dim: number, sizes: number[]): Tensor { return aten('unflatten.int', this, dim, sizes); }
  permute(...dims: ShapeArgs): Tensor { return aten('permute', this, flatShape(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return aten('transpose.int', this, dim0, dim1); }
  /** Transpose of the last two dimensions (batched matrices). */
  get mT(): Tensor { return this.transpose(-2, -1); }
  t(): Tensor { return aten('t', this); }
  squeeze(dim?: number): Tensor { return dim === undefined ? aten('squeeze', this) : aten('squeeze.dim', this, dim); }
  unsqueeze(dim: number): Tensor { return aten('unsqueeze', this, dim); }
  expand(...shape: ShapeArgs): Tensor { return aten('expand', this, flatShape(shape)); }
  expandAs(other: Tensor): Tensor { return aten('expand_as', this, other); }
  repeat(...times: ShapeArgs): Tensor { return aten('repeat', this, flatShape(times)); }
  /** Repeats the whole tensor along each dim (dims padded with leading 1s, unlike repeat). */
  tile(...dims: ShapeArgs): Tensor { return aten('tile', this, flatShape(dims)); }
  /** Repeats each element `repeats` times (a number or a 1-d int tensor of per-element counts) along `dim`, or of the flattened tensor. */
  repeatInterleave(repeats: number | Tensor, dim?: number): Tensor {
    return repeats instanceof Tensor ? aten('repeat_interleave.self_Tensor', this, repeats, dim) : aten('repeat_interleave.self_int', this, repeats, dim);
  }
  narrow(dim: number, start: number, length: number): Tensor { return aten('narrow', this, dim, start, length); }
  /** Elements start..end (exclusive) with `step` along `dim`, like x[start:end:step]. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return aten('slice.Tensor', this, dim, start, end, step); }
  select(dim: number, index: number): Tensor { return aten('select.int', this, dim, index); }
  indexSelect(dim: number, index: Tensor): Tensor { return aten('index_select', this, dim, index); }
  /** Advanced indexing x[i0, i1, …] with index tensors (null keeps a dimension whole). */
  index(indices: (Tensor | null)[]): Tensor { return aten('index.Tensor', this, indices); }
  gather(dim: number, index: Tensor): Tensor { return aten('gather', this, dim, index); }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return src instanceof Tensor ? aten('scatter.src', this, dim, index, src) : aten('scatter.value', this, dim, index, src);
  }
  scatter_(dim: number, index: Tensor, src: TensorOrScalar): this {
    return src instanceof Tensor ? atenInPlace('scatter_.src', this, dim, index, src) : atenInPlace('scatter_.value', this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return aten('scatter_add', this, dim, index, src); }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return value instanceof Tensor ? aten('masked_fill.Tensor', this, mask, value) : aten('masked_fill.Scalar', this, mask, value);
  }
  maskedFill_(mask: Tensor, value: Scalar): this { return atenInPlace('masked_fill_.Scalar', this, mask, value); }
  chunk(chunks: number, dim = 0): Tensor[] { return aten('chunk', this, chunks, dim); }
  /** Splits into pieces of `size` (number) or of the listed sizes. */
  split(size: number | number[], dim = 0): Tensor[] {
    return Array.isArray(size) ? aten('split_with_sizes', this, size, dim) : aten('split.Tensor', this, size, dim);
  }
  unbind(dim = 0): Tensor[] { return aten('unbind.int', this, dim); }
  flip(...dims: ShapeArgs): Tensor { return aten('flip', this, flatShape(dims)); }
  roll(shifts: number | number[], dims: number | number[] = []): Tensor {
    return aten('roll', this, dimsOf(shifts), dimsOf(dims));
  }
  tril(diagonal = 0): Tensor { return aten('tril', this, diagonal); }
  triu(diagonal = 0): Tensor { return aten('triu', this, diagonal); }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor { return aten('diagonal', this, offset, dim1, dim2); }
  diagEmbed(offset = 0, dim1 = -2, dim2 = -1): Tensor { return aten('diag_embed', this, offset, dim1, dim2); }

  // ---- elementwise math (broadcasting) ------------------------------------
  add(other: TensorOrScalar, alpha: number = 1): Tensor {
    return other instanceof Tensor ? aten('add.Tensor', this, other, alpha) : aten('add.Scalar', this, other, alpha);
  }
  sub(other: TensorOrScalar, alpha: number = 1): Tensor {
    return other instanceof Tensor ? aten('sub.Tensor', this, other, alpha) : aten('sub.Scalar', this, other, alpha);
  }
  mul(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('mul.Tensor', this, other) : aten('mul.Scalar', this, other); }
  div(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('div.Tensor', this, other) : aten('div.Scalar', this, other); }
  /** other - this (like Python's `other - x` with a scalar). */
  rsub(other: Scalar): Tensor { return aten('rsub.Scalar', this, other); }
  pow(exponent: TensorOrScalar): Tensor {
    return exponent instanceof Tensor ? aten('pow.Tensor_Tensor', this, exponent) : aten('pow.Tensor_Scalar', this, exponent);
  }
  remainder(other: TensorOrScalar): Tensor {
    return other instanceof Tensor ? aten('remainder.Tensor', this, other) : aten('remainder.Scalar', this, other);
  }
  neg(): Tensor { return aten('neg', this); }
  abs(): Tensor { return aten('abs', this); }
  sign(): Tensor { return aten('sign', this); }
  sqrt(): Tensor { return aten('sqrt', this); }
  rsqrt(): Tensor { return aten('rsqrt', this); }
  square(): Tensor { return aten('square', this); }
  exp(): Tensor { return aten('exp', this); }
  log(): Tensor { return aten('log', this); }
  log1p(): Tensor { return aten('log1p', this); }
  expm1(): Tensor { return aten('expm1', this); }
  sin(): Tensor { return aten('sin', this); }
  cos(): Tensor { return aten('cos', this); }
  tanh(): Tensor { return aten('tanh', this); }
  atan2(other: Tensor): Tensor { return aten('atan2', this, other); }
  sigmoid(): Tensor { return aten('sigmoid', this); }
  relu(): Tensor { return aten('relu', this); }
  reciprocal(): Tensor { return aten('reciprocal', this); }
  floor(): Tensor { return aten('floor', this); }
  ceil(): Tensor { return aten('ceil', this); }
  round(): Tensor { return aten('round', this); }
  isnan(): Tensor { return aten('isnan', this); }
  isfinite(): Tensor { return aten('isfinite', this); }
  isinf(): Tensor { return aten('isinf', this); }
  /** Replaces NaN (default 0), +∞ and -∞ (default: the dtype's largest / lowest finite value). */
  nanToNum(options: { nan?: number; posinf?: number; neginf?: number } = {}): Tensor {
    return aten('nan_to_num', this, options.nan ?? 0, options.posinf, options.neginf);
  }
  log2(): Tensor { return aten('log2', this); }
  log10(): Tensor { return aten('log10', this); }
  erf(): Tensor { return aten('erf', this); }
  erfinv(): Tensor { return aten('erfinv', this); }
  clamp(min?: number | Tensor, max?: number | Tensor): Tensor {
    if (!(min instanceof Tensor) && !(max instanceof Tensor)) return aten('clamp', this, min, max);
    // clamp.Tensor takes tensor bounds only: a numeric bound beside a tensor one becomes a 0-d tensor
    // (of this dtype, or float32 for a fractional bound of an integer tensor, as type promotion would give).
    const asTensor = (v: number | Tensor | undefined): Tensor | undefined => typeof v !== 'number' ? v
      : aten('scalar_tensor', v, dtypeCode(Number.isInteger(v) || isFloatingDType(this.dtype) ? this.dtype : 'float32'), undefined, this.device);
    const lo = asTensor(min);
    const hi = asTensor(max);
    try {
      return aten('clamp.Tensor', this, lo, hi);
    } finally {
      if (lo !== min) lo?.dispose();
      if (hi !== max) hi?.dispose();
    }
  }
  clampMin(min: number): Tensor { return aten('clamp_min', this, min); }
  clampMax(max: number): Tensor { return aten('clamp_max', this, max); }
  maximum(other: Tensor): Tensor { return aten('maximum', this, other); }
  minimum(other: Tensor): Tensor { return aten('minimum', this, other); }
  lerp(end: Tensor, weight: number): Tensor { return aten('lerp.Scalar', this, end, weight); }
  softmax(dim: number): Tensor { return aten('softmax.int', this, dim); }
  logSoftmax(dim: number): Tensor { return aten('log_softmax.int', this, dim); }
  real(): Tensor { return aten('real', this); }
  imag(): Tensor { return aten('imag', this); }
  conj(): Tensor { return aten('conj_physical', this); }

  // ---- in place (used by optimizers and initializers) ----------------------
  add_(other: TensorOrScalar, alpha: number = 1): this {
    return other instanceof Tensor ? atenInPlace('add_.Tensor', this, other, alpha) : atenInPlace('add_.Scalar', this, other, alpha);
  }
  sub_(other: TensorOrScalar, alpha: number = 1): this {
    return other instanceof Tensor ? atenInPlace('sub_.Tensor', this, other, alpha) : atenInPlace('sub_.Scalar', this, other, alpha);
  }
  mul_(other: TensorOrScalar): this { return other instanceof Tensor ? atenInPlace('mul_.Tensor', this, other) : atenInPlace('mul_.Scalar', this, other); }
  div_(other: TensorOrScalar): this { return other instanceof Tensor ? atenInPlace('div_.Tensor', this, other) : atenInPlace('div_.Scalar', this, other); }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { return atenInPlace('addcmul_', this, t1, t2, value); }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { return atenInPlace('addcdiv_', this, t1, t2, value); }
  lerp_(end: Tensor, weight: number): this { return atenInPlace('lerp_.Scalar', this, end, weight); }
  sqrt_(): this { return atenInPlace('sqrt_', this); }
  clamp_(min?: number, max?: number): this { return atenInPlace('clamp_', this, min, max); }
  fill_(value: Scalar): this { return atenInPlace('fill_.Scalar', this, value); }
  zero_(): this { return atenInPlace('zero_', this); }
  normal_(mean = 0, std = 1): this { return atenInPlace('normal_', this, mean, std); }
  uniform_(from = 0, to = 1): this { return atenInPlace('uniform_', this, from, to); }
  erfinv_(): this { return atenInPlace('erfinv_', this); }

  // ---- comparisons -----------------------------------------------------------
  eq(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('eq.Tensor', this, other) : aten('eq.Scalar', this, other); }
  ne(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('ne.Tensor', this, other) : aten('ne.Scalar', this, other); }
  lt(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('lt.Tensor', this, other) : aten('lt.Scalar', this, other); }
  le(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('le.Tensor', this, other) : aten('le.Scalar', this, other); }
  gt(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('gt.Tensor', this, other) : aten('gt.Scalar', this, other); }
  ge(other: TensorOrScalar): Tensor { return other instanceof Tensor ? aten('ge.Tensor', this, other) : aten('ge.Scalar', this, other); }
  logicalNot(): Tensor { return aten('logical_not', this); }
  logicalAnd(other: Tensor): Tensor { return aten('logical_and', this, other); }
  logicalOr(other: Tensor): Tensor { return aten('logical_or', this, other); }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return aten('allclose', this, other, rtol, atol) as boolean; }
  equal(other: Tensor): boolean { return aten('equal', this, other) as boolean; }

  // ---- reductions -----------------------------------------------------------
  sum(dim?: number | number[], options: ReduceOptions = {}): Tensor {
    const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
    return dim === undefined && !options.keepdim ? aten('sum', this, dtype) : aten('sum.dim_IntList', this, dimsOf(dim) ?? [], options.keepdim ?? false, dtype);
  }
  mean(dim?: number | number[], options: ReduceOptions = {}): Tensor {
    const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
    return dim === undefined && !options.keepdim ? aten('mean', this, dtype) : aten('mean.dim', this, dimsOf(dim) ?? [], options.keepdim ?? false, dtype);
  }
  prod(dim?: number, keepdim = false): Tensor { return dim === undefined ? aten('prod', this) : aten('prod.dim_int', this, dim, keepdim); }
  /** Largest element, or along `dim`: { values, indices }. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return aten('max', this);
    const [values, indices] = aten('max.dim', this, dim, keepdim);
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return aten('min', this);
    const [values, indices] = aten('min.dim', this, dim, keepdim);
    return { values, indices };
  }
  amax(dim: number | number[] = [], keepdim = false): Tensor { return aten('amax', this, dimsOf(dim), keepdim); }
  amin(dim: number | number[] = [], keepdim = false): Tensor { return aten('amin', this, dimsOf(dim), keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return aten('argmax', this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return aten('argmin', this, dim, keepdim); }
  /** p-norm over all elements or the given dims (vector norm, like torch.norm). */
  norm(p: number = 2, dim?: number | number[], keepdim = false): Tensor {
    return aten('linalg_vector_norm', this, p, dimsOf(dim), keepdim);
  }
  /** Standard deviation with Bessel's correction by default (correction 1). */
  std(dim?: number | number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return aten('std.correction', this, dimsOf(dim), options.correction ?? 1, options.keepdim ?? false);
  }
  var(dim?: number | number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return aten('var.correction', this, dimsOf(dim), options.correction ?? 1, options.keepdim ?? false);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return aten('logsumexp', this, dimsOf(dim), keepdim); }
  cumsum(dim: number): Tensor { return aten('cumsum', this, dim); }
  cumprod(dim: number): Tensor { return aten('cumprod', this, dim); }
  /**
   * The lower median of all elements, or along `dim`: { values, indices }
   * (for an even count the smaller of the two middle values, as in PyTorch).
   */
  median(): Tensor;
  median(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  median(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return aten('median', this);
    const [values, indices] = aten('median.dim', this, dim, keepdim);
    return { values, indices };
  }
  /** Indices that sort `dim` (stable when asked). */
  argsort(dim = -1, descending = false, options: { stable?: boolean } = {}): Tensor {
    return options.stable ? aten('argsort.stable', this, true, dim, descending) : aten('argsort', this, dim, descending);
  }
  /** Counts of each value of a 1-d non-negative integer tensor (summed weights when given), at least minlength long. */
  bincount(options: { weights?: Tensor | null; minlength?: number } = {}): Tensor {
    if (this.ndim !== 1 || isFloatingDType(this.dtype)) {
      throw new RangeError(`bincount: expected a 1-d integer tensor, got a ${this.ndim}-d ${this.dtype} tensor`);
    }
    return aten('bincount', this, options.weights ?? null, options.minlength ?? 0);
  }
  /**
   * The distinct elements (flattened; sorted by default). With returnInverse
   * / returnCounts also each element's index into them and their counts.
   */
  unique(options?: { sorted?: boolean; returnInverse?: false; returnCounts?: false; dim?: number }): Tensor;
  unique(options: { sorted?: boolean; returnInverse?: boolean; returnCounts?: boolean; dim?: number }): { values: Tensor; inverse?: Tensor; counts?: Tensor };
  unique(options: { sorted?: boolean; returnInverse?: boolean; returnCounts?: boolean; dim?: number } = {}): Tensor | { values: Tensor; inverse?: Tensor; counts?: Tensor } {
    const sorted = options.sorted ?? true;
    const wantInverse = options.returnInverse ?? false;
    const wantCounts = options.returnCounts ?? false;
    const [values, inverse, counts] = (options.dim === undefined
      ? aten('_unique2', this, sorted, wantInverse, wantCounts)
      : aten('unique_dim', this, options.dim, sorted, wantInverse, wantCounts)) as [Tensor, Tensor, Tensor];
    if (!wantInverse) inverse.dispose();
    if (!wantCounts) counts.dispose();
    if (!wantInverse && !wantCounts) return values;
    return { values, ...(wantInverse ? { inverse } : {}), ...(wantCounts ? { counts } : {}) };
  }
  /** Indices of the non-zero elements, one row per element: [count, ndim] int64. */
  nonzero(): Tensor { return aten('nonzero', this); }
  /** The elements where the (broadcast) boolean mask is true, as a 1-d tensor. */
  maskedSelect(mask: Tensor): Tensor { return aten('masked_select', this, mask); }
  any(): Tensor { return aten('any', this); }
  all(): Tensor { return aten('all', this); }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = aten('sort', this, dim, descending);
    return { values, indices };
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = aten('topk', this, k, dim, largest, sorted);
    return { values, indices };
  }

  // ---- linear algebra -------------------------------------------------------
  matmul(other: Tensor): Tensor { return aten('matmul', this, other); }
  mm(other: Tensor): Tensor { return aten('mm', this, other); }
  bmm(other: Tensor): Tensor { return aten('bmm', this, other); }
  dot(other: Tensor): Tensor { return aten('dot', this, other); }
}

const DTYPE_NAMES = new Set(['uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'bfloat16', 'complex64', 'complex128', 'bool']);
export const isDTypeName = (s: string): s is DType => DTYPE_NAMES.has(s);
/** Strings that name a device rather than a dtype in to(): a libtorch device type, optionally with an index. */
const DEVICE_PATTERN = /^(cpu|cuda|mps|meta|xpu|xla|hip|ipu|hpu|mtia|vulkan|lazy|ve|ort|mkldnn|opengl|opencl|ideep|fpga|privateuseone)(:\d+)?$/;

/** Accepts both view(2, 3) and view([2, 3]). */
/** A shape given as separate numbers or as one array. */
export type ShapeArgs = number[] | [number[]];

export function flatShape(args: ShapeArgs): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}
