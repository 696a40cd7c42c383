// Architectures built from 1-Lipschitz blocks, configured like Orthogonium's
// model factory (same arguments and defaults, camelCase).
import { Flatten, Identity, Module, Sequential } from '../nn/index.js';
import { PrescaledAdditiveResidual } from '../ortho/blocks/residual.js';
import { ClassParam } from './class-param.js';
import { FactoryModel, LayerParam, serializable } from './factory-model.js';
import './layer-registry.js';

export interface PatchBasedExpandedCNNOptions {
  imgShape?: [number, number, number];
  dim?: number;
  depth?: number;
  kernelSize?: number;
  patchSize?: number;
  expandFactor?: number;
  /** Groups of the expanding convolution; default min(dim·expand/2, dim/2). */
  groups?: number | null;
  nClasses?: number;
  /** Wrap each block in a PrescaledAdditiveResidual. */
  skip?: boolean;
  conv?: LayerParam;
  act?: LayerParam;
  pool?: LayerParam;
  lin?: LayerParam;
  /** Normalization inside each block, or null for none. */
  norm?: LayerParam | null;
}

const PATCH_BASED_DEFAULTS: Required<PatchBasedExpandedCNNOptions> = {
  imgShape: [3, 224, 224],
  dim: 128,
  depth: 12,
  kernelSize: 5,
  patchSize: 2,
  expandFactor: 2,
  groups: null,
  nClasses: 1000,
  skip: false,
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same' } },
  act: 'MaxMin',
  pool: 'GlobalScaledAvgPool2d',
  lin: 'OrthoLinear',
  norm: 'LayerCentering2D',
};

/**
 * A patch-extracting stem (kernel = stride = patchSize), `depth` blocks of
 * [k×k grouped conv expanding to dim·expand, activation, norm, 1×1 conv back
 * to dim] (optionally residual), a pooling layer, flatten, activation and a
 * linear head. The seed tutorial's model.
 */
export function PatchBasedExpandedCNN(options: PatchBasedExpandedCNNOptions = {}): FactoryModel {
  const o = { ...PATCH_BASED_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const pool = ClassParam.from(o.pool);
  const lin = ClassParam.from(o.lin);
  const norm = o.norm === null ? null : ClassParam.from(o.norm);
  const expanded = Math.floor(o.dim * o.expandFactor);
  const groups = o.groups ?? Math.min(Math.floor(expanded / 2), Math.floor(o.dim / 2));
  const layers: Module[] = [
    conv.create({ inChannels: o.imgShape[0], outChannels: o.dim, kernelSize: o.patchSize, stride: o.patchSize, padding: 'valid' }),
  ];
  for (let i = 0; i < o.depth; i++) {
    const block = new Sequential(
      conv.create({ inChannels: o.dim, outChannels: expanded, kernelSize: o.kernelSize, groups }),
      act.create(),
      norm ? norm.create({ numFeatures: expanded }) : new Identity(),
      conv.create({ inChannels: expanded, outChannels: o.dim, kernelSize: 1, groups: 1 }),
    );
    layers.push(o.skip ? new PrescaledAdditiveResidual(block) : block);
  }
  layers.push(pool.create(), new Flatten(), act.create(), lin.create({ inFeatures: o.dim, outFeatures: o.nClasses }));
  return new FactoryModel({ architecture: 'PatchBasedExpandedCNN', options: serializable(options) }, layers);
}

export interface ConvMixerInspiredOptions {
  imgShape?: [number, number, number];
  dim?: number;
  depth?: number;
  kernelSize?: number;
  patchSize?: number;
  expandFactor?: number;
  channelsPerGroup?: number;
  nClasses?: number;
  conv?: LayerParam;
  act?: LayerParam;
  pool?: LayerParam;
  lin?: LayerParam;
  norm?: LayerParam | null;
}

const CONV_MIXER_DEFAULTS: Required<ConvMixerInspiredOptions> = {
  imgShape: [3, 32, 32],
  dim: 128,
  depth: 8,
  kernelSize: 3,
  patchSize: 2,
  expandFactor: 1,
  channelsPerGroup: 1,
  nClasses: 10,
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same' } },
  act: 'MaxMin',
  // Orthogonium's default is torch's AvgPool2d (1/√(h·w)-Lipschitz, so it wastes margin); its own
  // comment asks for the √(h·w)-scaled pool, which is what we use.
  pool: 'ScaledAvgPool2d',
  lin: 'OrthoLinear',
  // Orthogonium's default, LayerCentering2D, cannot be built there (it needs a channel count) and
  // would make the model constant here: the last block would remove each map's mean, which is all
  // the global pool reads. No normalization by default.
  norm: null,
};

/**
 * A patch stem, then `depth` blocks of [grouped k×k conv, activation, norm,
 * 1×1 conv, activation, norm] without residuals, a pool over the whole map,
 * flatten and a linear head.
 */
export function ConvMixerInspired(options: ConvMixerInspiredOptions = {}): FactoryModel {
  const o = { ...CONV_MIXER_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const pool = ClassParam.from(o.pool);
  const lin = ClassParam.from(o.lin);
  const norm = o.norm === null ? null : ClassParam.from(o.norm);
  const expanded = o.dim * o.expandFactor;
  const layers: Module[] = [
    conv.create({ inChannels: o.imgShape[0], outChannels: o.dim, kernelSize: o.patchSize, stride: o.patchSize, padding: 'valid' }),
  ];
  for (let i = 0; i < o.depth; i++) {
    layers.push(new Sequential(
      conv.create({ inChannels: o.dim, outChannels: expanded, groups: Math.floor(expanded / o.channelsPerGroup), kernelSize: o.kernelSize }),
      act.create(),
      norm ? norm.create({ numFeatures: expanded }) : new Identity(),
      conv.create({ inChannels: expanded, outChannels: o.dim, kernelSize: 1 }),
      act.create(),
      norm ? norm.create({ numFeatures: o.dim }) : new Identity(),
    ));
  }
  const map: [number, number] = [Math.floor(o.imgShape[1] / o.patchSize), Math.floor(o.imgShape[2] / o.patchSize)];
  layers.push(pool.create({ kernelSize: map }), new Flatten(), lin.create({ inFeatures: o.dim, outFeatures: o.nClasses }));
  return new FactoryModel({ architecture: 'ConvMixerInspired', options: serializable(options) }, layers);
}

