// ONNX emitters for the standard layers: convolutions (plain, orthogonal and
// AOL, all through their explicit kernel), linear layers, pools, flatten,
// centering layers and channel shuffle. Each emitter appends the nodes that
// compute the module and returns the output value with our layer's own
// output as its sample.
import { Tensor } from '../torch/index.js';
import { AdaptiveAvgPool2d, AvgPool2d, Conv2d, ConvTranspose2d, Dropout, Flatten, Identity, Linear, MaxPool2d, Module, ReLU } from '../nn/index.js';
import { explicitPads, toPair } from '../nn/layers/conv.js';
import type { PaddingMode } from '../nn/layers/conv.js';
import type { Pair } from '../torch/functional.js';
import { OrthoConv2dBase } from '../ortho/conv/ortho-conv.js';
import { OrthoConvTranspose2dBase } from '../ortho/conv/ortho-conv-transpose.js';
import { GlobalScaledAvgPool2d, ScaledAvgPool2d } from '../ortho/blocks/pooling.js';
import { BatchCentering2D, LayerCentering2D } from '../ortho/blocks/normalization.js';
import { ChannelShuffle } from '../ortho/blocks/channel-shuffle.js';
import { LPPool2d } from '../models/architectures-staged.js';
import { GraphBuilder, Value } from './onnx-graph.js';

/** What emitters share: the graph and a way to emit any (child) module. */
export interface EmitContext {
  g: GraphBuilder;
  emit(module: Module, path: string, x: Value): Value;
}

export type Emitter = (ctx: EmitContext, m: Module, path: string, x: Value) => Value;

/** Output value of a module whose nodes end in `name`: the sample is our own forward. */
export const leafOutput = (m: Module, name: string, x: Value): Value => ({ name, sample: m.forward(x.sample) as Tensor });

/** The fields every 2-d convolution here has (plain, orthogonal, AOL). */
interface ConvLike extends Module {
  weight: Tensor;
  bias: Tensor | null;
  stride: [number, number];
  padding: Pair | 'same' | 'valid';
  dilation: [number, number];
  groups: number;
  paddingMode: PaddingMode;
}

/** Pads [left, right, top, bottom] of an NCHW value with a non-zero mode, as F.pad does. */
export function padNonZero(g: GraphBuilder, path: string, input: string, pads: number[], mode: PaddingMode, shape: number[]): string {
  const [left, right, top, bottom] = pads;
  if (mode === 'reflect' || mode === 'replicate') {
    const onnxPads = g.ints(`${path}.pads`, [0, 0, top, left, 0, 0, bottom, right]);
    return g.op('Pad', [input, onnxPads], path, { mode: mode === 'reflect' ? 'reflect' : 'edge' });
  }
  // Circular: wrap by concatenating slices (Pad's 'wrap' mode needs opset 19).
  let x = input;
  const wrap = (axis: number, size: number, before: number, after: number): void => {
    if (before === 0 && after === 0) return;
    const axes = g.ints(`${path}.axes`, [axis]);
    const slice = (start: number, end: number): string => g.op('Slice', [x, g.ints(`${path}.starts`, [start]), g.ints(`${path}.ends`, [end]), axes], path);
    const parts = [...(before > 0 ? [slice(size - before, size)] : []), x, ...(after > 0 ? [slice(0, after)] : [])];
    x = g.op('Concat', parts, path, { axis });
  };
  wrap(3, shape[3], left, right);
  wrap(2, shape[2], top, bottom);
  return x;
}

function emitConv2d(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as ConvLike;
  const { g } = ctx;
  const weight = m.weight;
  const kernel: [number, number] = [weight.shape[2], weight.shape[3]];
  const pads = explicitPads(m.padding, kernel, m.dilation);
  let input = x.name;
  let onnxPads = [pads[2], pads[0], pads[3], pads[1]];
  if (m.paddingMode !== 'zeros') {
    input = padNonZero(g, path, x.name, pads, m.paddingMode, x.sample.shape);
    onnxPads = [0, 0, 0, 0];
  }
  const inputs = [input, g.weight(`${path}.weight`, weight)];
  if (m.bias) inputs.push(g.weight(`${path}.bias`, m.bias));
  const out = g.op('Conv', inputs, path, { kernel_shape: kernel, strides: m.stride, pads: onnxPads, dilations: m.dilation, group: m.groups });
  return leafOutput(m, out, x);
}

function emitConvTranspose2d(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as ConvTranspose2d | OrthoConvTranspose2dBase;
  const { g } = ctx;
  const weight = m.weight;
  const inputs = [x.name, g.weight(`${path}.weight`, weight)];
  if (m.bias) inputs.push(g.weight(`${path}.bias`, m.bias));
  const [ph, pw] = m.padding;
  const out = g.op('ConvTranspose', inputs, path, {
    kernel_shape: [weight.shape[2], weight.shape[3]], strides: m.stride, pads: [ph, pw, ph, pw], output_padding: m.outputPadding,
    dilations: m.dilation, group: m.groups,
  });
  return leafOutput(m, out, x);
}

function emitLinear(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as Linear;
  const { g } = ctx;
  const weight = m.weight;
  if (x.sample.shape.length === 2) {
    const inputs = [x.name, g.weight(`${path}.weight`, weight)];
    if (m.bias) inputs.push(g.weight(`${path}.bias`, m.bias));
    return leafOutput(m, g.op('Gemm', inputs, path, { transB: 1 }), x);
  }
  let out = g.op('MatMul', [x.name, g.weight(`${path}.weight_t`, weight.t())], path);
  if (m.bias) out = g.op('Add', [out, g.weight(`${path}.bias`, m.bias)], path);
  return leafOutput(m, out, x);
}

/** Reshape to `shape`, keeping the batch dimension dynamic (0 copies it). */
export function reshapeKeepingBatch(g: GraphBuilder, path: string, input: string, shape: number[]): string {
  return g.op('Reshape', [input, g.ints(`${path}.shape`, [0, ...shape.slice(1)])], path);
}

function emitFlatten(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as Flatten;
  const sample = m.forward(x.sample);
  const rank = x.sample.shape.length;
  const start = m.startDim < 0 ? m.startDim + rank : m.startDim;
  const target = start === 0 ? [-1, ...sample.shape.slice(1)] : [0, ...sample.shape.slice(1)];
  return { name: ctx.g.op('Reshape', [x.name, ctx.g.ints(`${path}.shape`, target)], path), sample };
}

const passThrough: Emitter = (_ctx, m, _path, x) => ({ name: x.name, sample: m.forward(x.sample) as Tensor });

function emitScaledAvgPool(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as ScaledAvgPool2d;
  const { g } = ctx;
  const pooled = g.op('AveragePool', [x.name], path, { kernel_shape: m.kernelSize, strides: m.stride });
  return leafOutput(m, g.op('Mul', [pooled, g.scalar(Math.sqrt(m.kernelSize[0] * m.kernelSize[1]))], path), x);
}

function emitGlobalScaledAvgPool(ctx: EmitContext, m: Module, path: string, x: Value): Value {
  const { g } = ctx;
  const [h, w] = x.sample.shape.slice(-2);
  const mean = g.op('ReduceMean', [x.name], path, { axes: [-2, -1], keepdims: 1 });
  return leafOutput(m, g.op('Mul', [mean, g.scalar(Math.sqrt(h * w))], path), x);
}

function emitAvgPool(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as AvgPool2d;
  const kernel = toPair(m.kernelSize);
  const [ph, pw] = toPair(m.options.padding ?? 0);
  const out = ctx.g.op('AveragePool', [x.name], path, {
    kernel_shape: kernel, strides: toPair(m.options.stride ?? kernel), pads: [ph, pw, ph, pw], ceil_mode: m.options.ceilMode ? 1 : 0, count_include_pad: 1,
  });
  return leafOutput(m, out, x);
}

function emitMaxPool(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as MaxPool2d;
  const kernel = toPair(m.kernelSize);
  const [ph, pw] = toPair(m.options.padding ?? 0);
  const out = ctx.g.op('MaxPool', [x.name], path, {
    kernel_shape: kernel, strides: toPair(m.options.stride ?? kernel), pads: [ph, pw, ph, pw], ceil_mode: m.options.ceilMode ? 1 : 0,
    dilations: toPair(m.options.dilation ?? 1),
  });
  return leafOutput(m, out, x);
}

function emitAdaptiveAvgPool(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as AdaptiveAvgPool2d;
  const [h, w] = x.sample.shape.slice(-2);
  // A null output size keeps the input's size in that dim.
  const [oh, ow] = typeof m.outputSize === 'number' ? [m.outputSize, m.outputSize] : [m.outputSize[0] ?? h, m.outputSize[1] ?? w];
  if (oh === 1 && ow === 1) return leafOutput(m, ctx.g.op('GlobalAveragePool', [x.name], path), x);
  if (h % oh !== 0 || w % ow !== 0) {
    throw new Error(`ONNX export: module '${path}' (AdaptiveAvgPool2d) maps ${h}×${w} to ${oh}×${ow}, which is not a fixed pooling window`);
  }
  const kernel = [h / oh, w / ow];
  return leafOutput(m, ctx.g.op('AveragePool', [x.name], path, { kernel_shape: kernel, strides: kernel }), x);
}

function emitLPPool(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as LPPool2d;
  const { g } = ctx;
  const [kh, kw] = m.kernelSize;
  // Same steps as our layer: √(kh·kw · avgpool(x²)).
  const squares = g.op('Mul', [x.name, x.name], path);
  const pooled = g.op('AveragePool', [squares], path, { kernel_shape: m.kernelSize, strides: m.stride });
  const scaled = g.op('Mul', [pooled, g.scalar(kh * kw)], path);
  return leafOutput(m, g.op('Sqrt', [scaled], path), x);
}

function emitLayerCentering(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as LayerCentering2D;
  const { g } = ctx;
  const mean = g.op('ReduceMean', [x.name], path, { axes: [-2, -1], keepdims: 1 });
  const centered = g.op('Sub', [x.name, mean], path);
  return leafOutput(m, g.op('Add', [centered, g.weight(`${path}.bias`, m.bias)], path), x);
}

function emitBatchCentering(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as BatchCentering2D;
  const { g } = ctx;
  // Eval mode: the running mean is a constant.
  const centered = g.op('Sub', [x.name, g.weight(`${path}.running_mean`, m.getBuffer('running_mean')!)], path);
  return leafOutput(m, g.op('Add', [centered, g.weight(`${path}.bias`, m.bias)], path), x);
}

function emitChannelShuffle(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as ChannelShuffle;
  const { g } = ctx;
  const [, c, ...spatial] = x.sample.shape;
  const split = g.op('Reshape', [x.name, g.ints(`${path}.shape`, [0, m.groupIn, m.groupOut, ...spatial])], path);
  const swapped = g.op('Transpose', [split], path, { perm: [0, 2, 1, ...spatial.map((_, i) => i + 3)] });
  return leafOutput(m, g.op('Reshape', [swapped, g.ints(`${path}.shape`, [0, c, ...spatial])], path), x);
}

/** Emitters for the standard layers, by exact class (subclasses are listed where their forward is the same). */
export const LAYER_EMITTERS = new Map<Function, Emitter>([
  [Conv2d, emitConv2d],
  [ConvTranspose2d, emitConvTranspose2d],
  [Linear, emitLinear],
  [Flatten, emitFlatten],
  [Identity, passThrough],
  [Dropout, passThrough],
  [ReLU, (ctx, m, path, x) => leafOutput(m, ctx.g.op('Relu', [x.name], path), x)],
  [ScaledAvgPool2d, emitScaledAvgPool],
  [GlobalScaledAvgPool2d, emitGlobalScaledAvgPool],
  [AvgPool2d, emitAvgPool],
  [MaxPool2d, emitMaxPool],
  [AdaptiveAvgPool2d, emitAdaptiveAvgPool],
  [LPPool2d, emitLPPool],
  [LayerCentering2D, emitLayerCentering],
  [BatchCentering2D, emitBatchCentering],
  [ChannelShuffle, emitChannelShuffle],
]);

/** Orthogonal convolutions of any construction: emitted through their explicit kernel. */
export function orthoConvEmitter(m: Module): Emitter | undefined {
  if (m instanceof OrthoConv2dBase) return emitConv2d;
  if (m instanceof OrthoConvTranspose2dBase) return emitConvTranspose2d;
  return undefined;
}

export { emitConv2d, emitConvTranspose2d, emitLinear };
