// 2-d convolution and transposed convolution layers with PyTorch's options.
import { F, Tensor, empty } from '../../torch/index.js';
import type { Pair, PadMode } from '../../torch/functional.js';
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

export const toPair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** [left, right, top, bottom] padding that F.pad needs for an explicit or 'same' padding. */
export function explicitPads(padding: Pair | 'same' | 'valid', kernel: [number, number], dilation: [number, number]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    return [Math.floor(total[1] / 2), total[1] - Math.floor(total[1] / 2), Math.floor(total[0] / 2), total[0] - Math.floor(total[0] / 2)];
  }
  const [ph, pw] = toPair(padding);
  return [pw, pw, ph, ph];
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

function initConvParameters(module: Module, weight: Tensor, biasSize: number, withBias: boolean, dtype?: 'float32' | 'float64'): Tensor | null {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  module.registerParameter('weight', weight);
  if (!withBias) return null;
  const bound = 1 / Math.sqrt(calculateFanInAndFanOut(weight).fanIn);
  return module.registerParameter('bias', uniform_(empty([biasSize], { dtype }), -bound, bound));
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: Pair | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    this.groups = options.groups ?? 1;
    checkGroups('Conv2d', inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize);
    this.stride = toPair(options.stride ?? 1);
    this.padding = options.padding ?? 0;
    this.dilation = toPair(options.dilation ?? 1);
    this.paddingMode = options.paddingMode ?? 'zeros';
    checkPaddingMode('Conv2d', this.paddingMode);
    if (this.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new RangeError("Conv2d: padding 'same' is only supported with stride 1");
    }
    const weight = empty([outChannels, inChannels / this.groups, ...this.kernelSize], { dtype: options.dtype });
    this.bias = initConvParameters(this, weight, outChannels, options.bias ?? true, options.dtype);
  }

  get weight(): Tensor { return this.weightOf('weight'); }

  forward(x: Tensor): Tensor {
    checkInput('Conv2d', x, this.inChannels);
    return conv2dWithMode(x, this.weight, this.bias, this);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=${JSON.stringify(this.padding)}` +
      `${this.groups > 1 ? `, groups=${this.groups}` : ''}${this.paddingMode !== 'zeros' ? `, paddingMode=${this.paddingMode}` : ''}, bias=${this.bias !== null}`;
  }
}

/** A convolution honouring paddingMode: non-zero modes pad explicitly first. */
export function conv2dWithMode(x: Tensor, weight: Tensor, bias: Tensor | null,
  o: { stride: [number, number]; padding: Pair | 'same' | 'valid'; dilation: [number, number]; groups: number; paddingMode: PaddingMode }): Tensor {
  if (o.paddingMode === 'zeros') {
    return F.conv2d(x, weight, { bias, stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups });
  }
  const kernel: [number, number] = [weight.shape[2], weight.shape[3]];
  const pads = explicitPads(o.padding, kernel, o.dilation);
  const padded = F.pad(x, pads, o.paddingMode as PadMode);
  const out = F.conv2d(padded, weight, { bias, stride: o.stride, padding: 0, dilation: o.dilation, groups: o.groups });
  padded.dispose();
  return out;
}

export function checkInput(layer: string, x: Tensor, inChannels: number): void {
  const shape = x.shape;
  if (shape.length !== 4 && shape.length !== 3) {
    throw new RangeError(`${layer}: expected input [N, C, H, W] (or [C, H, W]), got shape [${shape.join(', ')}]`);
  }
  const channels = shape[shape.length - 3];
  if (channels !== inChannels) throw new RangeError(`${layer}: input has ${channels} channels, expected ${inChannels}`);
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  dtype?: 'float32' | 'float64';
}

export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: ConvTranspose2dOptions = {}) {
    super();
    this.groups = options.groups ?? 1;
    checkGroups('ConvTranspose2d', inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize);
    this.stride = toPair(options.stride ?? 1);
    this.padding = toPair(options.padding ?? 0);
    this.outputPadding = toPair(options.outputPadding ?? 0);
    this.dilation = toPair(options.dilation ?? 1);
    // Transposed weights are stored [in, out / groups, kh, kw], as in PyTorch.
    const weight = empty([inChannels, outChannels / this.groups, ...this.kernelSize], { dtype: options.dtype });
    this.bias = initConvParameters(this, weight, outChannels, options.bias ?? true, options.dtype);
  }

  get weight(): Tensor { return this.weightOf('weight'); }

  forward(x: Tensor): Tensor {
    checkInput('ConvTranspose2d', x, this.inChannels);
    return F.convTranspose2d(x, this.weight, {
      bias: this.bias, stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}], bias=${this.bias !== null}`;
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
    const shape = x.shape;
    if (shape.length !== 3 && shape.length !== 2) throw new RangeError(`Conv1d: expected input [N, C, L] (or [C, L]), got shape [${shape.join(', ')}]`);
    const channels = shape[shape.length - 2];
    if (channels !== this.inChannels) throw new RangeError(`Conv1d: input has ${channels} channels, expected ${this.inChannels}`);
    const options = { bias: this.bias, stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return F.conv1d(x, this.weight, { ...options, padding: this.padding });
    // [left, right] of the length axis: the 2-d rule with a height of one.
    const pads = explicitPads(this.padding, [1, this.kernelSize], [1, this.dilation]).slice(0, 2);
    const padded = F.pad(x, pads, this.paddingMode as PadMode);
    try {
      return F.conv1d(padded, this.weight, { ...options, padding: 0 });
    } finally {
      padded.dispose();
    }
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${JSON.stringify(this.padding)}` +
      `${this.groups > 1 ? `, groups=${this.groups}` : ''}${this.paddingMode !== 'zeros' ? `, paddingMode=${this.paddingMode}` : ''}, bias=${this.bias !== null}`;
  }
}
