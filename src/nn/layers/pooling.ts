// Pooling layers over 1, 2 and 3 spatial dims with PyTorch's options
// (nn.AvgPool1d/2d/3d, MaxPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
// AdaptiveMaxPool1d/2d/3d). One class per family does the work; the
// dimension picks the F function and the input layout. No parameters or
// buffers: their state dicts are empty, as in PyTorch.
import { F, Tensor } from '../../torch/index.js';
import type { Pair, PairOpt, Single, Triple, TripleOpt } from '../../torch/functional.js';
import { Module } from '../module.js';

type Dims = 1 | 2 | 3;
type Size = number | readonly number[];
/** An adaptive pool's output size; null entries keep the input's size. */
type OutputSize = number | readonly (number | null)[];

const LAYOUTS: Record<Dims, [string, string]> = { 1: ['[C, L]', '[N, C, L]'], 2: ['[C, H, W]', '[N, C, H, W]'], 3: ['[C, D, H, W]', '[N, C, D, H, W]'] };

/** Refuses an input that is neither the batched nor the unbatched layout of a `dims`-d layer. */
export function checkSpatialInput(layer: string, dims: Dims, x: Tensor): void {
  if (x.ndim !== dims + 1 && x.ndim !== dims + 2) {
    const [unbatched, batched] = LAYOUTS[dims];
    throw new RangeError(`${layer}: expected ${dims + 1}D or ${dims + 2}D input ${unbatched} or ${batched}, got ${x.ndim}D input of shape [${x.shape.join(', ')}]`);
  }
}

/** An integer ≥ min, or a list of `dims` of them. */
const isSize = (v: unknown, dims: number, min: number): boolean => (typeof v === 'number' ? Number.isInteger(v) && v >= min
  : Array.isArray(v) && v.length === dims && v.every((s) => Number.isInteger(s) && s >= min));

/** Checks an int-or-list option: `dims` entries, integers ≥ min. */
function checkSize(layer: string, name: string, v: Size | undefined, dims: Dims, min: number): void {
  if (v === undefined) return;
  if (!isSize(v, dims, min)) {
    const what = min > 0 ? 'positive integer' : 'non-negative integer';
    throw new RangeError(`${layer}: ${name} must be a ${what}${dims > 1 ? ` or a list of ${dims} of them` : ''}, got ${JSON.stringify(v)}`);
  }
}

interface WindowOptions<S> { stride?: S; padding?: S; ceilMode?: boolean }

/** The window of a sliding pool: kernel size, stride (default: the kernel size), padding. */
abstract class WindowPool<S extends Size, O extends WindowOptions<S>> extends Module {
  constructor(protected readonly dims: Dims, readonly kernelSize: S, readonly options: O) {
    super();
    const layer = new.target.name;
    checkSize(layer, 'kernelSize', kernelSize, dims, 1);
    checkSize(layer, 'stride', options.stride, dims, 1);
    checkSize(layer, 'padding', options.padding, dims, 0);
  }

  override extraRepr(): string {
    const { stride, padding, ceilMode } = this.options;
    return `kernelSize=${JSON.stringify(this.kernelSize)}${stride === undefined ? '' : `, stride=${JSON.stringify(stride)}`}` +
      `${padding === undefined ? '' : `, padding=${JSON.stringify(padding)}`}${ceilMode ? ', ceilMode=true' : ''}`;
  }
}

export interface AvgPoolOptions<S> extends WindowOptions<S> {
  /** Count zero padding in the divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
}
export type AvgPool1dOptions = AvgPoolOptions<Single>;
export interface AvgPool2dOptions extends AvgPoolOptions<Pair> {
  /** Divide every window's sum by this instead of its size (PyTorch's divisor_override). */
  divisorOverride?: number;
}
export interface AvgPool3dOptions extends AvgPoolOptions<Triple> { divisorOverride?: number }

abstract class AvgPoolNd<S extends Size, O extends AvgPoolOptions<S> & { divisorOverride?: number }> extends WindowPool<S, O> {
  constructor(dims: Dims, kernelSize: S, options: O) {
    super(dims, kernelSize, options);
    const d = options.divisorOverride;
    if (d !== undefined && !(Number.isInteger(d) && d > 0)) throw new RangeError(`${new.target.name}: divisorOverride must be a positive integer, got ${d}`);
  }

  forward(x: Tensor): Tensor {
    checkSpatialInput(this.typeName, this.dims, x);
    const k = this.kernelSize as never;
    if (this.dims === 1) return F.avgPool1d(x, k, this.options as never);
    return this.dims === 2 ? F.avgPool2d(x, k, this.options as never) : F.avgPool3d(x, k, this.options as never);
  }

  override extraRepr(): string {
    const d = this.options.divisorOverride;
    return `${super.extraRepr()}${d === undefined ? '' : `, divisorOverride=${d}`}`;
  }
}

/** Average pooling over [N, C, L] or [C, L] (nn.AvgPool1d). */
export class AvgPool1d extends AvgPoolNd<Single, AvgPool1dOptions> {
  constructor(kernelSize: Single, options: AvgPool1dOptions = {}) { super(1, kernelSize, options); }
}
/** Average pooling over [N, C, H, W] or [C, H, W] (nn.AvgPool2d). */
export class AvgPool2d extends AvgPoolNd<Pair, AvgPool2dOptions> {
  constructor(kernelSize: Pair, options: AvgPool2dOptions = {}) { super(2, kernelSize, options); }
}
/** Average pooling over [N, C, D, H, W] or [C, D, H, W] (nn.AvgPool3d). */
export class AvgPool3d extends AvgPoolNd<Triple, AvgPool3dOptions> {
  constructor(kernelSize: Triple, options: AvgPool3dOptions = {}) { super(3, kernelSize, options); }
}

export interface MaxPoolOptions<S> extends WindowOptions<S> {
  /** Spacing between the window's elements (default 1). */
  dilation?: S;
}

abstract class MaxPoolNd<S extends Size> extends WindowPool<S, MaxPoolOptions<S>> {
  constructor(dims: Dims, kernelSize: S, options: MaxPoolOptions<S>) {
    super(dims, kernelSize, options);
    checkSize(new.target.name, 'dilation', options.dilation, dims, 1);
  }

  forward(x: Tensor): Tensor {
    checkSpatialInput(this.typeName, this.dims, x);
    const [k, o] = [this.kernelSize as never, this.options as never];
    if (this.dims === 1) return F.maxPool1d(x, k, o);
    return this.dims === 2 ? F.maxPool2d(x, k, o) : F.maxPool3d(x, k, o);
  }

  /** The output and the flat index of each maximum within its input plane (PyTorch's returnIndices, for MaxUnpool). */
  forwardWithIndices(x: Tensor): { values: Tensor; indices: Tensor } {
    checkSpatialInput(this.typeName, this.dims, x);
    const [k, o] = [this.kernelSize as never, this.options as never];
    if (this.dims === 1) return F.maxPool1dWithIndices(x, k, o);
    return this.dims === 2 ? F.maxPool2dWithIndices(x, k, o) : F.maxPool3dWithIndices(x, k, o);
  }

  override extraRepr(): string {
    const d = this.options.dilation;
    return `${super.extraRepr()}${d === undefined ? '' : `, dilation=${JSON.stringify(d)}`}`;
  }
}

/** Max pooling over [N, C, L] or [C, L] (nn.MaxPool1d). */
export class MaxPool1d extends MaxPoolNd<Single> {
  constructor(kernelSize: Single, options: MaxPoolOptions<Single> = {}) { super(1, kernelSize, options); }
}
/** Max pooling over [N, C, H, W] or [C, H, W] (nn.MaxPool2d). */
export class MaxPool2d extends MaxPoolNd<Pair> {
  constructor(kernelSize: Pair, options: MaxPoolOptions<Pair> = {}) { super(2, kernelSize, options); }
}
/** Max pooling over [N, C, D, H, W] or [C, D, H, W] (nn.MaxPool3d). */
export class MaxPool3d extends MaxPoolNd<Triple> {
  constructor(kernelSize: Triple, options: MaxPoolOptions<Triple> = {}) { super(3, kernelSize, options); }
}

/** Pooling to a fixed output size whatever the input's; in 2-d and 3-d a null entry keeps the input's size in that dim (PyTorch's None). */
abstract class AdaptivePool<S extends OutputSize> extends Module {
  constructor(protected readonly dims: Dims, readonly outputSize: S) {
    super();
    const layer = new.target.name;
    if (dims === 1 && Array.isArray(outputSize) && outputSize.includes(null)) {
      throw new RangeError(`${layer}: outputSize cannot be null for a 1-d pool (as in PyTorch), got ${JSON.stringify(outputSize)}`);
    }
    const positive = (s: unknown) => Number.isInteger(s) && (s as number) >= 1;
    if (!(Array.isArray(outputSize) ? outputSize.length === dims && outputSize.every((s) => s === null || positive(s)) : positive(outputSize))) {
      const keep = dims > 1 ? ', null keeping the input\'s size' : '';
      throw new RangeError(`${layer}: outputSize must be positive integers (one, or ${dims} of them${keep}), got ${JSON.stringify(outputSize)}`);
    }
  }
  override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}

abstract class AdaptiveAvgPoolNd<S extends OutputSize> extends AdaptivePool<S> {
  forward(x: Tensor): Tensor {
    checkSpatialInput(this.typeName, this.dims, x);
    const s = this.outputSize as never;
    if (this.dims === 1) return F.adaptiveAvgPool1d(x, s);
    return this.dims === 2 ? F.adaptiveAvgPool2d(x, s) : F.adaptiveAvgPool3d(x, s);
  }
}

/** Average pooling of [N, C, L] or [C, L] to a fixed length (nn.AdaptiveAvgPool1d). */
export class AdaptiveAvgPool1d extends AdaptiveAvgPoolNd<Single> {
  constructor(outputSize: Single) { super(1, outputSize); }
}
/** Average pooling of [N, C, H, W] or [C, H, W] to a fixed size, null entries keeping the input's (nn.AdaptiveAvgPool2d). */
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNd<PairOpt> {
  constructor(outputSize: PairOpt) { super(2, outputSize); }
}
/** Average pooling of [N, C, D, H, W] or [C, D, H, W] to a fixed size, null entries keeping the input's (nn.AdaptiveAvgPool3d). */
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNd<TripleOpt> {
  constructor(outputSize: TripleOpt) { super(3, outputSize); }
}

abstract class AdaptiveMaxPoolNd<S extends OutputSize> extends AdaptivePool<S> {
  forward(x: Tensor): Tensor { return this.pool(x, false) as Tensor; }

  /** The output and the flat index of each maximum within its input plane. */
  forwardWithIndices(x: Tensor): { values: Tensor; indices: Tensor } { return this.pool(x, true) as { values: Tensor; indices: Tensor }; }

  private pool(x: Tensor, indices: boolean): Tensor | { values: Tensor; indices: Tensor } {
    checkSpatialInput(this.typeName, this.dims, x);
    const s = this.outputSize as never;
    if (this.dims === 1) return indices ? F.adaptiveMaxPool1d(x, s, true) : F.adaptiveMaxPool1d(x, s);
    if (this.dims === 2) return indices ? F.adaptiveMaxPool2d(x, s, true) : F.adaptiveMaxPool2d(x, s);
    return indices ? F.adaptiveMaxPool3d(x, s, true) : F.adaptiveMaxPool3d(x, s);
  }
}

/** Max pooling of [N, C, L] or [C, L] to a fixed length (nn.AdaptiveMaxPool1d); forwardWithIndices also gives the argmax positions. */
export class AdaptiveMaxPool1d extends AdaptiveMaxPoolNd<Single> {
  constructor(outputSize: Single) { super(1, outputSize); }
}
/** Max pooling of [N, C, H, W] or [C, H, W] to a fixed size, null entries keeping the input's (nn.AdaptiveMaxPool2d); forwardWithIndices also gives the argmax positions. */
export class AdaptiveMaxPool2d extends AdaptiveMaxPoolNd<PairOpt> {
  constructor(outputSize: PairOpt) { super(2, outputSize); }
}
/** Max pooling of [N, C, D, H, W] or [C, D, H, W] to a fixed size, null entries keeping the input's (nn.AdaptiveMaxPool3d); forwardWithIndices also gives the argmax positions. */
export class AdaptiveMaxPool3d extends AdaptiveMaxPoolNd<TripleOpt> {
  constructor(outputSize: TripleOpt) { super(3, outputSize); }
}
