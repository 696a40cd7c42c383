// The plain form of a network as data: a module tree of types and
// constructor arguments (PyTorch's keyword names where torch.nn has the
// layer) and the explicit tensors each module needs. Orthogonal and AOL
// layers are described as the Conv2d / ConvTranspose2d / Linear that
// toPlainModel would make of them, SLL blocks by their rescaled or fused
// kernels, so a consumer needs no reparametrization.
import { Tensor } from '../torch/index.js';
import { AdaptiveAvgPool2d, AvgPool2d, Conv2d, ConvTranspose2d, Dropout, Flatten, Identity, Linear, MaxPool2d, Module, ReLU, Sequential } from '../nn/index.js';
import { toPair } from '../nn/layers/conv.js';
import { OrthoConv2dBase } from '../ortho/conv/ortho-conv.js';
import { OrthoConvTranspose2dBase } from '../ortho/conv/ortho-conv-transpose.js';
import { Abs, GroupSort2, HouseHolder, HouseHolderOrder2, MaxMin, SoftHuber } from '../ortho/blocks/activations.js';
import { AdditiveResidual, ConcatResidual, L2NormResidual, PrescaledAdditiveResidual } from '../ortho/blocks/residual.js';
import { GlobalScaledAvgPool2d, ScaledAvgPool2d } from '../ortho/blocks/pooling.js';
import { BatchCentering2D, LayerCentering2D } from '../ortho/blocks/normalization.js';
import { ChannelShuffle } from '../ortho/blocks/channel-shuffle.js';
import { AOCLipschitzResBlock, SDPBasedLipschitzDense, SDPBasedLipschitzResBlock, SLLxAOCLipschitzResBlock } from '../ortho/sll.js';
import { LPPool2d } from '../models/architectures-staged.js';

/** One module of the plain network. `tensors` are its own tensor names (keys are `<path>.<name>`). */
export interface PlainNode {
  type: string;
  args: Record<string, unknown>;
  tensors: string[];
  children: { name: string; module: PlainNode }[];
}

interface Description {
  type: string;
  args?: Record<string, unknown>;
  tensors?: [string, Tensor | null][];
  /** Children to describe (default none: leaves, and blocks whose children are fused into their tensors). */
  children?: [string, Module][];
}

type Describer = (m: Module) => Description;

/** What each type computes, for a consumer rebuilding the network (types torch.nn has are omitted). */
export const PLAIN_TYPE_DOCS: Record<string, string> = {
  MaxMin: 'split dimension `axis` into halves a, b (first, second); output cat([max(a, b), min(a, b)], axis)',
  GroupSort2: 'sort each adjacent pair (x[2i], x[2i+1]) along `axis` in decreasing order',
  Abs: '|x|',
  SoftHuber: 'delta * (sqrt(1 + (x / delta)^2) - 1)',
  HouseHolder: 'halves x, y along axis 1, theta [1, C/2, 1, 1]; keep = x*sin(theta/2) - y*cos(theta/2) <= 0; '
    + 'output cat([where(keep, x, x*cos(theta) + y*sin(theta)), where(keep, y, x*sin(theta) - y*cos(theta))], 1) / sqrt(2)',
  HouseHolderOrder2: 'order-2 HouseHolder activation with angles theta0, theta1, theta2 (see orthogonium-ts src/ortho/blocks/activations.ts)',
  ScaledAvgPool2d: 'avg_pool2d(x, kernel_size, stride) * sqrt(kernel_size[0] * kernel_size[1])',
  GlobalScaledAvgPool2d: 'mean over H, W (keepdim) * sqrt(H * W)',
  LPPool2d: 'torch.nn.LPPool2d with norm_type 2: sqrt(sum of squares over each window)',
  LayerCentering2D: 'x - mean_{H,W}(x) (per sample and channel) + bias',
  BatchCentering2D: 'x - running_mean + bias',
  ChannelShuffle: 'view channels as [group_in, group_out], transpose to [group_out, group_in], flatten',
  AdditiveResidual: 'sigmoid(alpha) * x + (1 - sigmoid(alpha)) * fn(x)',
  PrescaledAdditiveResidual: '(x + fn(alpha * x)) / (1 + |alpha|)',
  ConcatResidual: 'split channels into halves x1, x2 (torch.chunk(2, 1)); output cat([x1, fn(x2)], 1)',
  L2NormResidual: 'sqrt(x^2 / 2 + fn(x)^2 / 2 + eps)',
  SDPBasedLipschitzResBlock: 'x - 2 * conv_transpose2d(relu(conv2d(x, kernel, padding, groups) + bias), kernel, padding, groups) (kernel already rescaled)',
  SDPBasedLipschitzDense: 'x - 2 * ((t * relu(x @ weight.T + bias)) @ weight)',
  SLLxAOCLipschitzResBlock: 'conv2d(x, skip, skip_padding, stride, groups) - 2 * conv2d(relu(conv2d(x, residual_in, padding, groups) + bias), residual_out, padding, stride, groups)',
  AOCLipschitzResBlock: 'p = pad(x, pads [left, right, top, bottom], padding_mode); y = relu(conv2d(p, kernel, bias, dilation, groups)); '
    + 'circular: back = conv2d(pad(y, [right, left, bottom, top], circular), flip(kernel) with in/out channels swapped per group, dilation, groups); '
    + 'zeros: back = conv_transpose2d(y, kernel, dilation, groups) cropped by the pads; output x - 2 * back',
};

interface ConvFields { weight: Tensor; bias: Tensor | null; inChannels: number; outChannels: number; kernelSize: [number, number]; stride: [number, number]; dilation: [number, number]; groups: number }

function conv2d(module: Module): Description {
  const m = module as Conv2d | OrthoConv2dBase;
  return {
    type: 'Conv2d',
    args: {
      in_channels: m.inChannels, out_channels: m.outChannels, kernel_size: m.kernelSize, stride: m.stride, padding: m.padding, dilation: m.dilation,
      groups: m.groups, bias: m.bias !== null, padding_mode: m.paddingMode,
    },
    tensors: [['weight', m.weight], ['bias', m.bias]],
  };
}

function convTranspose2d(module: Module): Description {
  const m = module as (ConvTranspose2d | OrthoConvTranspose2dBase) & ConvFields;
  return {
    type: 'ConvTranspose2d',
    args: {
      in_channels: m.inChannels, out_channels: m.outChannels, kernel_size: m.kernelSize, stride: m.stride, padding: m.padding,
      output_padding: m.outputPadding, groups: m.groups, bias: m.bias !== null, dilation: m.dilation,
    },
    tensors: [['weight', m.weight], ['bias', m.bias]],
  };
}

const residual = (type: string) => (m: Module): Description => ({
  type, tensors: [['alpha', (m as AdditiveResidual).alpha]], children: [['fn', (m as AdditiveResidual).fn]],
});

const DESCRIBERS = new Map<Function, Describer>([
  [Sequential, (m) => ({ type: 'Sequential', children: [...m.namedChildren()] })],
  [Conv2d, conv2d],
  [ConvTranspose2d, convTranspose2d],
  [Linear, (m) => {
    const l = m as Linear;
    return { type: 'Linear', args: { in_features: l.inFeatures, out_features: l.outFeatures, bias: l.bias !== null }, tensors: [['weight', l.weight], ['bias', l.bias]] };
  }],
  [Flatten, (m) => ({ type: 'Flatten', args: { start_dim: (m as Flatten).startDim, end_dim: (m as Flatten).endDim } })],
  [Identity, () => ({ type: 'Identity' })],
  [ReLU, () => ({ type: 'ReLU' })],
  [Dropout, (m) => ({ type: 'Dropout', args: { p: (m as Dropout).p } })],
  [AvgPool2d, (m) => {
    const p = m as AvgPool2d;
    const k = toPair(p.kernelSize);
    return { type: 'AvgPool2d', args: { kernel_size: k, stride: toPair(p.options.stride ?? k), padding: toPair(p.options.padding ?? 0), ceil_mode: p.options.ceilMode ?? false } };
  }],
  [MaxPool2d, (m) => {
    const p = m as MaxPool2d;
    const k = toPair(p.kernelSize);
    return {
      type: 'MaxPool2d',
      args: { kernel_size: k, stride: toPair(p.options.stride ?? k), padding: toPair(p.options.padding ?? 0), dilation: toPair(p.options.dilation ?? 1), ceil_mode: p.options.ceilMode ?? false },
    };
  }],
  [AdaptiveAvgPool2d, (m) => {
    const s = (m as AdaptiveAvgPool2d).outputSize;
    return { type: 'AdaptiveAvgPool2d', args: { output_size: typeof s === 'number' ? [s, s] : s } }; // null entries become PyTorch's None
  }],
  [LPPool2d, (m) => ({ type: 'LPPool2d', args: { norm_type: (m as LPPool2d).normType, kernel_size: (m as LPPool2d).kernelSize, stride: (m as LPPool2d).stride } })],
  [MaxMin, (m) => ({ type: 'MaxMin', args: { axis: (m as MaxMin).axis } })],
  [GroupSort2, (m) => ({ type: 'GroupSort2', args: { axis: (m as GroupSort2).axis } })],
  [Abs, () => ({ type: 'Abs' })],
  [SoftHuber, (m) => ({ type: 'SoftHuber', args: { delta: (m as SoftHuber).delta } })],
  [HouseHolder, (m) => ({ type: 'HouseHolder', args: { channels: (m as HouseHolder).channels, axis: (m as HouseHolder).axis }, tensors: [['theta', (m as HouseHolder).theta]] })],
  [HouseHolderOrder2, (m) => {
    const h = m as HouseHolderOrder2;
    return { type: 'HouseHolderOrder2', args: { channels: h.channels, axis: h.axis }, tensors: [['theta0', h.theta0], ['theta1', h.theta1], ['theta2', h.theta2]] };
  }],
  [ScaledAvgPool2d, (m) => ({ type: 'ScaledAvgPool2d', args: { kernel_size: (m as ScaledAvgPool2d).kernelSize, stride: (m as ScaledAvgPool2d).stride } })],
  [GlobalScaledAvgPool2d, () => ({ type: 'GlobalScaledAvgPool2d' })],
  [LayerCentering2D, (m) => ({ type: 'LayerCentering2D', args: { num_features: (m as LayerCentering2D).numFeatures }, tensors: [['bias', (m as LayerCentering2D).bias]] })],
  [BatchCentering2D, (m) => {
    const b = m as BatchCentering2D;
    return { type: 'BatchCentering2D', args: { num_features: b.numFeatures }, tensors: [['running_mean', b.getBuffer('running_mean')], ['bias', b.bias]] };
  }],
  [ChannelShuffle, (m) => ({ type: 'ChannelShuffle', args: { group_in: (m as ChannelShuffle).groupIn, group_out: (m as ChannelShuffle).groupOut } })],
  [AdditiveResidual, residual('AdditiveResidual')],
  [PrescaledAdditiveResidual, residual('PrescaledAdditiveResidual')],
  [ConcatResidual, (m) => ({ type: 'ConcatResidual', children: [['fn', (m as ConcatResidual).fn]] })],
  [L2NormResidual, (m) => ({ type: 'L2NormResidual', args: { eps: (m as L2NormResidual).eps }, children: [['fn', (m as L2NormResidual).fn]] })],
  [SDPBasedLipschitzResBlock, (m) => {
    const b = m as SDPBasedLipschitzResBlock;
    return {
      type: 'SDPBasedLipschitzResBlock', args: { in_channels: b.inChannels, inner_channels: b.innerDim, kernel_size: b.kernelSize, padding: b.padding, groups: b.groups },
      tensors: [['kernel', b.kernel], ['bias', b.bias]],
    };
  }],
  [SDPBasedLipschitzDense, (m) => {
    const b = m as SDPBasedLipschitzDense;
    return { type: 'SDPBasedLipschitzDense', args: { in_features: b.inFeatures, inner_features: b.innerDim }, tensors: [['weight', b.weight], ['bias', b.bias], ['t', b.computeT()]] };
  }],
  [SLLxAOCLipschitzResBlock, (m) => {
    const b = m as SLLxAOCLipschitzResBlock;
    const { residualIn, residualOut, skip } = b.fusedKernels();
    return {
      type: 'SLLxAOCLipschitzResBlock',
      args: { in_channels: b.inChannels, out_channels: b.outChannels, stride: b.stride, padding: b.padding, skip_padding: b.skipPadding, groups: b.groups },
      tensors: [['residual_in', residualIn], ['residual_out', residualOut], ['skip', skip], ['bias', b.bias]],
    };
  }],
  [AOCLipschitzResBlock, (m) => {
    const b = m as AOCLipschitzResBlock;
    return {
      type: 'AOCLipschitzResBlock',
      args: {
        in_channels: b.inChannels, inner_channels: b.innerDim, kernel_size: b.kernelSize, dilation: b.dilation, groups: b.groups,
        padding_mode: b.paddingMode, pads: b.pads,
      },
      tensors: [['kernel', b.kernel], ['bias', b.bias]],
    };
  }],
]);

/** The describer of a module: by class, or the nearest described ancestor whose forward it keeps (AOL, OrthoLinear, FactoryModel …). */
function describerFor(m: Module): Describer | undefined {
  if (m instanceof OrthoConv2dBase) return conv2d;
  if (m instanceof OrthoConvTranspose2dBase) return convTranspose2d;
  for (let proto = Object.getPrototypeOf(m); proto && proto !== Module.prototype; proto = Object.getPrototypeOf(proto)) {
    const describer = DESCRIBERS.get(proto.constructor as Function);
    if (describer) return m.forward === proto.forward ? describer : undefined;
  }
  return undefined;
}

export interface PlainDescription {
  root: PlainNode;
  /** Explicit tensors by dotted path (detached; owned by the caller's scope). */
  tensors: Map<string, Tensor>;
}

/**
 * Describes `model` as a plain network, without modifying it. Call inside a
 * scope (the explicit kernels are new tensors). Throws, naming the module
 * path and type, for a module that has no plain description.
 */
export function describePlainModel(model: Module): PlainDescription {
  const tensors = new Map<string, Tensor>();
  const visit = (m: Module, path: string): PlainNode => {
    const describer = describerFor(m);
    if (!describer) {
      throw new Error(`plain export: module '${path || '(root)'}' of type ${m.typeName} has no plain description; supported: ${[...DESCRIBERS.keys()].map((c) => c.name).sort().join(', ')}`);
    }
    const d = describer(m);
    const own: string[] = [];
    for (const [name, t] of d.tensors ?? []) {
      if (t === null) continue;
      tensors.set(path ? `${path}.${name}` : name, t.detach());
      own.push(name);
    }
    const children = (d.children ?? []).map(([name, child]) => ({ name, module: visit(child, path ? `${path}.${name}` : name) }));
    return { type: d.type, args: d.args ?? {}, tensors: own, children };
  };
  return { root: visit(model, ''), tensors };
}
