// Convolution and transposed convolution layers in 1, 2 and 3 dims with
// PyTorch's options, initialization and state-dict names (weight, bias).
// Conv2d and Conv3d share ConvNd; ConvTranspose1d/2d/3d share ConvTransposeNd;
// Conv1d keeps its scalar options and shares the padding and input helpers.
import { F, Tensor, empty } from '../../torch/index.js';
import { ntuple } from '../../torch/functional.js';
import type { Pair, PadMode, Single, Triple } from '../../torch/functional.js';
import { Module } from '../module.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from '../init.js';
import { checkPositive } from './linear.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: 'float32' | 'float64';
}

export interface Conv3dOptions {
  stride?: Triple;
  padding?: Triple | 'same' | 'valid';
  dilation?: Triple;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: 'float32' | 'float64';
}

export const toPair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);
export const toTriple = (v: Triple): [number, number, number] => (Array.isArray(v) ? v : [v, v, v]);

/**
 * The padding F.pad needs for an explicit or 'same' padding of the spatial
 * dims: [last left, last right, …, first left, first right]. 'same' puts
 * the odd element of dilation · (kernel - 1) on the right, as PyTorch.
 */
export function explicitPadsNd(padding: number | readonly number[] | 'same' | 'valid', kernel: readonly number[], dilation: readonly number[]): number[] {
  const pads: number[] = [];
  for (let i = kernel.length - 1; i >= 0; i--) {
    if (padding === 'valid') {
      pads.push(0, 0);
    } else if (padding === 'same') {
      const total = dilation[i] * (kernel[i] - 1);
      pads.push(Math.floor(total / 2), total - Math.floor(total / 2));
    } else {
      const p = typeof padding === 'number' ? padding : padding[i];
      pads.push(p, p);
    }
  }
  return pads;
}

/** [left, right, top, bottom] padding that F.pad needs for an explicit or 'same' 2-d padding. */
export function explicitPads(padding: Pair | 'same' | 'valid', kernel: [number, number], dilation: [number, number]): number[] {
  return explicitPadsNd(padding, kernel, dilation);
}

/** Refuses a padding mode torch.nn's convolutions do not have, naming the layer. */
export function checkPaddingMode(layer: string, mode: string): void {
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new TypeError(`${layer}: paddingMode must be zeros, reflect, replicate or circular, got '${mode}'`);
  }
}

function checkGroups(layer: string, inChannels: number, outChannels: number, groups: number): void {
  checkPositive(layer, { inChannels, outChannels, groups });
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new RangeError(`${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${groups})`);
  }
}

/** An int-or-list option as `dims` integers ≥ min, or a RangeError naming it. */
function toInts(layer: string, name: string, v: number | readonly number[], dims: number, min: number): number[] {
  const ok = typeof v === 'number' ? Number.isInteger(v) && v >= min : Array.isArray(v) && v.length === dims && v.every((s) => Number.isInteger(s) && s >= min);
  if (!ok) {
    throw new RangeError(`${layer}: ${name} must be a ${min > 0 ? 'positive' : 'non-negative'} integer${dims > 1 ? ` or a list of ${dims} of them` : ''}, got ${JSON.stringify(v)}`);
  }
  return ntuple(v, dims);
}

function initConvParameters(module: Module, weight: Tensor, biasSize: number, withBias: boolean, dtype?: 'float32' | 'float64'): Tensor | null {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  module.registerParameter('weight', weight);
  if (!withBias) return null;
  const bound = 1 / Math.sqrt(calculateFanInAndFanOut(weight).fanIn);
  return module.registerParameter('bias', uniform_(empty([biasSize], { dtype }), -bound, bound));
}

const LAYOUTS: Record<number, [string, string]> = { 1: ['[N, C, L]', '[C, L]'], 2: ['[N, C, H, W]', '[C, H, W]'], 3: ['[N, C, D, H, W]', '[C, D, H, W]'] };

/** Refuses an input that is not [N, C, …] or unbatched [C, …] with `dims` spatial dims and inChannels channels. */
export function checkConvInput(layer: string, x: Tensor, inChannels: number, dims: number): void {
  const shape = x.shape;
  if (shape.length !== dims + 2 && shape.length !== dims + 1) {
    const [batched, unbatched] = LAYOUTS[dims];
    throw new RangeError(`${layer}: expected input ${batched} (or ${unbatched}), got shape [${shape.join(', ')}]`);
  }
  const channels = shape[shape.length - dims - 1];
  if (channels !== inChannels) throw new RangeError(`${layer}: input has ${channels} channels, expected ${inChannels}`);
}

/** The 2-d input check (checkConvInput with two spatial dims). */
export function checkInput(layer: string, x: Tensor, inChannels: number): void {
  checkConvInput(layer, x, inChannels, 2);
}

/**
 * A convolution honouring paddingMode: `conv(input, padding)` runs the
 * plain convolution; non-zero modes pad explicitly first, then run it
 * without padding.
 */
function convWithMode<P extends number | readonly number[] | 'same' | 'valid'>(x: Tensor, conv: (input: Tensor, padding: P | 0) => Tensor,
  kernel: readonly number[], dilation: readonly number[], padding: P, paddingMode: PaddingMode): Tensor {
  if (paddingMode === 'zeros') return conv(x, padding);
  const padded = F.pad(x, explicitPadsNd(padding, kernel, dilation), paddingMode as PadMode);
  try {
    return conv(padded, 0);
  } finally {
    padded.dispose();
  }
}

/** A 2-d convolution honouring paddingMode: non-zero modes pad explicitly first. */
export function conv2dWithMode(x: Tensor, weight: Tensor, bias: Tensor | null,
  o: { stride: [number, number]; padding: Pair | 'same' | 'valid'; dilation: [number, number]; groups: number; paddingMode: PaddingMode }): Tensor {
  return convWithMode(x, (input, padding) => F.conv2d(input, weight, { bias, stride: o.stride, padding, dilation: o.dilation, groups: o.groups }),
    weight.shape.slice(2), o.dilation, o.padding, o.paddingMode);
}

interface ConvNdOptions<S> {
  stride?: S;
  padding?: S | 'same' | 'valid';
  dilation?: S;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: 'float32' | 'float64';
}

/**
 * PyTorch's _ConvNd for Conv2d and Conv3d: weight [out, in / groups, …kernel]
 * and bias [out], kaiming-uniform initialized; `padding` is kept as given
 * (an int, a list, 'same' or 'valid').
 */
abstract class ConvNd<T extends number[], S> extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: T;
  readonly stride: T;
  readonly padding: S | 'same' | 'valid';
  readonly dilation: T;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly bias: Tensor | null;

  protected constructor(protected readonly convName: string, protected readonly dims: number, inChannels: number, outChannels: number,
    kernelSize: S, options: ConvNdOptions<S>) {
    super();
    this.groups = options.groups ?? 1;
    checkGroups(convName, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toInts(convName, 'kernelSize', kernelSize as number | number[], dims, 1) as T;
    this.stride = toInts(convName, 'stride', (options.stride ?? 1) as number | number[], dims, 1) as T;
    this.dilation = toInts(convName, 'dilation', (options.dilation ?? 1) as number | number[], dims, 1) as T;
    this.padding = options.padding ?? (0 as S);
    if (typeof this.padding === 'string') {
      if (this.padding !== 'same' && this.padding !== 'valid') {
        throw new RangeError(`${convName}: padding must be a non-negative integer, a list of ${dims} of them, 'same' or 'valid', got '${this.padding}'`);
      }
    } else {
      toInts(convName, 'padding', this.padding as number | number[], dims, 0);
    }
    this.paddingMode = options.paddingMode ?? 'zeros';
    checkPaddingMode(convName, this.paddingMode);
    if (this.padding === 'same' && this.stride.some((s) => s !== 1)) {
      throw new RangeError(`${convName}: padding 'same' is only supported with stride 1`);
    }
    const weight = empty([outChannels, inChannels / this.groups, ...this.kernelSize], { dtype: options.dtype });
    this.bias = initConvParameters(this, weight, outChannels, options.bias ?? true, options.dtype);
  }

  get weight(): Tensor { return this.weightOf('weight'); }

  /** The convolution itself, on a checked input. */
  protected abstract convolve(x: Tensor): Tensor;

  forward(x: Tensor): Tensor {
    checkConvInput(this.convName, x, this.inChannels, this.dims);
    return this.convolve(x);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=${JSON.stringify(this.padding)}` +
      `${this.dilation.some((d) => d !== 1) ? `, dilation=[${this.dilation}]` : ''}` +
      `${this.groups > 1 ? `, groups=${this.groups}` : ''}${this.paddingMode !== 'zeros' ? `, paddingMode=${this.paddingMode}` : ''}, bias=${this.bias !== null}`;
  }
}

/** 2-d convolution over [N, C, H, W] (or unbatched [C, H, W]) inputs (nn.Conv2d); weight [out, in / groups, kh, kw]. */
export class Conv2d extends ConvNd<[number, number], Pair> {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, options);
  }

  protected convolve(x: Tensor): Tensor { return conv2dWithMode(x, this.weight, this.bias, this); }
}

/** 3-d convolution over [N, C, D, H, W] (or unbatched [C, D, H, W]) inputs (nn.Conv3d); weight [out, in / groups, kd, kh, kw]. */
export class Conv3d extends ConvNd<[number, number, number], Triple> {
  constructor(inChannels: number, outChannels: number, kernelSize: Triple, options: Conv3dOptions = {}) {
    super('Conv3d', 3, inChannels, outChannels, kernelSize, options);
  }

  protected convolve(x: Tensor): Tensor {
    const weight = this.weight;
    return convWithMode(x, (input, padding) => F.conv3d(input, weight, { bias: this.bias, stride: this.stride, padding, dilation: this.dilation, groups: this.groups }),
      this.kernelSize, this.dilation, this.padding, this.paddingMode);
  }
}

interface ConvTransposeOptions<S> {
  stride?: S;
  padding?: S;
  /** Extra size added to one side of each output dim (to pick among the sizes a strided input could come from); < stride or < dilation. */
  outputPadding?: S;
  dilation?: S;
  groups?: number;
  bias?: boolean;
  dtype?: 'float32' | 'float64';
}

export type ConvTranspose1dOptions = ConvTransposeOptions<Single>;
export interface ConvTranspose2dOptions extends ConvTransposeOptions<Pair> {}
export type ConvTranspose3dOptions = ConvTransposeOptions<Triple>;

/**
 * PyTorch's _ConvTransposeNd: weight [in, out / groups, …kernel] and bias
 * [out], kaiming-uniform initialized; zero padding only (as PyTorch).
 */
abstract class ConvTransposeNd<T extends number[], S> extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: T;
  readonly stride: T;
  readonly padding: T;
  readonly outputPadding: T;
  readonly dilation: T;
  readonly groups: number;
  readonly bias: Tensor | null;

  protected constructor(protected readonly convName: string, protected readonly dims: 1 | 2 | 3, inChannels: number, outChannels: number,
    kernelSize: S, options: ConvTransposeOptions<S>) {
    super();
    this.groups = options.groups ?? 1;
    checkGroups(convName, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    const ints = (name: string, v: S | number, min: number) => toInts(convName, name, v as number | number[], dims, min) as T;
    this.kernelSize = ints('kernelSize', kernelSize, 1);
    this.stride = ints('stride', options.stride ?? 1, 1);
    this.padding = ints('padding', options.padding ?? 0, 0);
    this.outputPadding = ints('outputPadding', options.outputPadding ?? 0, 0);
    this.dilation = ints('dilation', options.dilation ?? 1, 1);
    if (this.outputPadding.some((p, i) => p >= this.stride[i] && p >= this.dilation[i])) {
      throw new RangeError(`${convName}: outputPadding must be smaller than stride or dilation in each dimension, got outputPadding [${this.outputPadding}], ` +
        `stride [${this.stride}], dilation [${this.dilation}]`);
    }
    // Transposed weights are stored [in, out / groups, …kernel], as in PyTorch.
    const weight = empty([inChannels, outChannels / this.groups, ...this.kernelSize], { dtype: options.dtype });
    this.bias = initConvParameters(this, weight, outChannels, options.bias ?? true, options.dtype);
  }

  get weight(): Tensor { return this.weightOf('weight'); }

  /**
   * With `outputSize` (PyTorch's output_size) the output has exactly that
   * spatial size: outputPadding is chosen per dim instead of the layer's.
   * It lists the spatial sizes, or the whole output shape, whose batch and
   * channel entries are ignored as in PyTorch (so a skip connection's shape
   * can be passed as is).
   */
  forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    checkConvInput(this.convName, x, this.inChannels, this.dims);
    const outputPadding = outputSize === undefined ? this.outputPadding : this.outputPaddingFor(x, outputSize);
    const options = {
      bias: this.bias, stride: this.stride as never, padding: this.padding as never, outputPadding: outputPadding as never,
      groups: this.groups, dilation: this.dilation as never,
    };
    if (this.dims === 1) return F.convTranspose1d(x, this.weight, options);
    return this.dims === 2 ? F.convTranspose2d(x, this.weight, options) : F.convTranspose3d(x, this.weight, options);
  }

  /**
   * The outputPadding giving `outputSize`: without output padding a dim
   * comes out (in - 1)·stride - 2·padding + dilation·(kernel - 1) + 1, and
   * output padding adds 0 to stride - 1 to it, so only those sizes are reachable.
   */
  private outputPaddingFor(x: Tensor, outputSize: readonly number[]): number[] {
    const lead = x.ndim - this.dims; // batch and channels, or channels only
    const spatial = outputSize.length === lead + this.dims ? outputSize.slice(lead) : outputSize;
    if (spatial.length !== this.dims || !spatial.every((s) => Number.isInteger(s))) {
      throw new RangeError(`${this.convName}: outputSize must be ${this.dims} spatial sizes or ${lead + this.dims} output sizes for a ${x.ndim}D input, ` +
        `got ${JSON.stringify(outputSize)}`);
    }
    return spatial.map((size, d) => {
      const inSize = x.shape[lead + d];
      const min = (inSize - 1) * this.stride[d] - 2 * this.padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1;
      const max = min + this.stride[d] - 1;
      if (size < min || size > max) {
        throw new RangeError(`${this.convName}: outputSize ${size} in dim ${lead + d} is unreachable from input size ${inSize} there: ` +
          `the output size can be ${min === max ? `only ${min}` : `${min} to ${max}`} (stride ${this.stride[d]}, padding ${this.padding[d]}, ` +
          `dilation ${this.dilation[d]}, kernel size ${this.kernelSize[d]})`);
      }
      return size - min;
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]` +
      `${this.outputPadding.some((p) => p !== 0) ? `, outputPadding=[${this.outputPadding}]` : ''}` +
      `${this.dilation.some((d) => d !== 1) ? `, dilation=[${this.dilation}]` : ''}${this.groups > 1 ? `, groups=${this.groups}` : ''}, bias=${this.bias !== null}`;
  }
}

/** Transposed 1-d convolution over [N, C, L] (or [C, L]) inputs (nn.ConvTranspose1d); sizes are kept as 1-lists, as PyTorch's tuples. */
export class ConvTranspose1d extends ConvTransposeNd<[number], Single> {
  constructor(inChannels: number, outChannels: number, kernelSize: Single, options: ConvTranspose1dOptions = {}) {
    super('ConvTranspose1d', 1, inChannels, outChannels, kernelSize, options);
  }
}

/** Transposed 2-d convolution over [N, C, H, W] (or [C, H, W]) inputs (nn.ConvTranspose2d). */
export class ConvTranspose2d extends ConvTransposeNd<[number, number], Pair> {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: ConvTranspose2dOptions = {}) {
    super('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, options);
  }
}

/** Transposed 3-d convolution over [N, C, D, H, W] (or [C, D, H, W]) inputs (nn.ConvTranspose3d). */
export class ConvTranspose3d extends ConvTransposeNd<[number, number, number], Triple> {
  constructor(inChannels: number, outChannels: number, kernelSize: Triple, options: ConvTranspose3dOptions = {}) {
    super('ConvTranspose3d', 3, inChannels, outChannels, kernelSize, options);
  }
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: 'float32' | 'float64';
}

/** 1-d convolution over [N, C, L] (or unbatched [C, L]) inputs (nn.Conv1d); weight [out, in / groups, k]. */
export class Conv1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv1dOptions = {}) {
    super();
    this.groups = options.groups ?? 1;
    checkGroups('Conv1d', inChannels, outChannels, this.groups);
    checkPositive('Conv1d', { kernelSize, stride: options.stride ?? 1, dilation: options.dilation ?? 1 });
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.paddingMode = options.paddingMode ?? 'zeros';
    checkPaddingMode('Conv1d', this.paddingMode);
    if (typeof this.padding === 'string' ? this.padding !== 'same' && this.padding !== 'valid' : !Number.isInteger(this.padding) || this.padding < 0) {
      throw new RangeError(`Conv1d: padding must be a non-negative integer, 'same' or 'valid', got ${JSON.stringify(this.padding)}`);
    }
    if (this.padding === 'same' && this.stride !== 1) throw new RangeError("Conv1d: padding 'same' is only supported with stride 1");
    const weight = empty([outChannels, inChannels / this.groups, kernelSize], { dtype: options.dtype });
    this.bias = initConvParameters(this, weight, outChannels, options.bias ?? true, options.dtype);
  }

  get weight(): Tensor { return this.weightOf('weight'); }

  forward(x: Tensor): Tensor {
    checkConvInput('Conv1d', x, this.inChannels, 1);
    const weight = this.weight;
    return convWithMode(x, (input, padding) => F.conv1d(input, weight, { bias: this.bias, stride: this.stride, padding, dilation: this.dilation, groups: this.groups }),
      [this.kernelSize], [this.dilation], this.padding, this.paddingMode);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${JSON.stringify(this.padding)}` +
      `${this.groups > 1 ? `, groups=${this.groups}` : ''}${this.paddingMode !== 'zeros' ? `, paddingMode=${this.paddingMode}` : ''}, bias=${this.bias !== null}`;
  }
}
