// More of Orthogonium's model factory (orthogonium/model_factory/models_factory.py):
// PatchBasedCNN, StagedCNN, LargeStagedCNN, AOCNetV1 (and its SplitConcatNet
// presets), LipResNet, LipVGG and BCOPLargeCNN, with the same arguments and
// defaults in camelCase. Where Orthogonium's defaults cannot run (a norm built
// without its channel count, a conv without a kernel size, padding 'same' on a
// strided conv, pools sized for 224×224 inputs only), the sane equivalent is
// used and the reason given next to it. `MORE_ARCHITECTURES` lists the
// builders for the registry in architectures.ts.
import { Flatten, Identity, MaxPool2d, Module, Sequential } from '../nn/index.js';
import { F, Tensor, scope } from '../torch/index.js';
import type { Pair } from '../torch/functional.js';
import { AdditiveResidual, PrescaledAdditiveResidual, ScaledAvgPool2d } from '../ortho/index.js';
import { FactoryModel, LayerParam } from './factory-model.js';
import { ClassParam, ClassParamSpec, LayerOptions, registerLayer } from './class-param.js';
import { branchOption } from './layer-registry.js';
// ---------------------------------------------------------------------------
// Layers these architectures name in their configs.

/**
 * torch's LPPool2d: (Σ x^p)^(1/p) over each window. For an even p it is the
 * ℓp norm of the window, and with non-overlapping windows (stride ≥ kernel)
 * the pool is 1-Lipschitz in ℓ2: the gradient of ‖v‖_p has unit ℓq norm
 * (1/p + 1/q = 1, q ≤ 2), hence ℓ2 norm ≤ 1. Orthogonium only uses p = 2.
 * Refused: p < 2 (not 1-Lipschitz: ‖·‖₁ of a k×k window is k-Lipschitz in
 * ℓ2) and p not an even integer (torch raises x to the power p without |x|,
 * so odd p sums signed powers — NaN for a negative sum, unbounded gradient
 * near zero — and fractional p gives NaN for any negative input).
 */
export class LPPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  constructor(readonly normType: number, kernelSize: Pair, stride?: Pair | null) {
    super();
    if (typeof normType !== 'number' || !Number.isFinite(normType) || normType < 2) {
      throw new RangeError(`LPPool2d: normType ${normType} is refused: below 2 the pool is not 1-Lipschitz in ℓ2 (ℓ1 of a k×k window is k-Lipschitz); use an even normType ≥ 2`);
    }
    if (!Number.isInteger(normType) || normType % 2 !== 0) {
      throw new RangeError(`LPPool2d: normType ${normType} is refused: like torch's LPPool2d this pool raises x to the power p without |x|, so only an even p gives a norm ` +
        '(odd p sums signed powers: NaN for a negative sum, unbounded gradient near 0; fractional p: NaN for negative inputs); use an even normType ≥ 2');
    }
    const pair = (v: Pair): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v]);
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride ?? kernelSize);
    if (this.stride[0] < this.kernelSize[0] || this.stride[1] < this.kernelSize[1]) {
      throw new RangeError(`LPPool2d: stride [${this.stride}] smaller than the kernel [${this.kernelSize}] makes windows overlap and the pool more than 1-Lipschitz`);
    }
  }
  forward(x: Tensor): Tensor {
    const [kh, kw] = this.kernelSize;
    const p = this.normType;
    if (p === 2) return scope(() => F.avgPool2d(x.square(), this.kernelSize, { stride: this.stride }).mul(kh * kw).sqrt());
    return scope(() => F.avgPool2d(x.pow(p), this.kernelSize, { stride: this.stride }).mul(kh * kw).pow(1 / p));
  }
  override extraRepr(): string { return `normType=${this.normType}, kernelSize=[${this.kernelSize}], stride=[${this.stride}]`; }
}

const numOpt = (o: LayerOptions, key: string, fallback: number): number => {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number') throw new TypeError(`layer option '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
};

registerLayer('LPPool2d', (o) => new LPPool2d(numOpt(o, 'normType', 2), o.kernelSize as Pair, (o.stride ?? null) as Pair | null));
// Residual wrappers: configs give { initVal }, the builder passes the branch as `fn`.
registerLayer('PrescaledAdditiveResidual', (o) => new PrescaledAdditiveResidual(branchOption(o, 'PrescaledAdditiveResidual'), numOpt(o, 'initVal', 1)));
registerLayer('AdditiveResidual', (o) => new AdditiveResidual(branchOption(o, 'AdditiveResidual'), numOpt(o, 'initVal', 1)));

// ---------------------------------------------------------------------------
// Helpers.

type Shape3 = [number, number, number];

/** Options with ClassParams replaced by their JSON specs. */
function serializable(options: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(options)) as Record<string, unknown>;
}

const optional = (p: LayerParam | null | undefined): ClassParam | null => (p === null || p === undefined ? null : ClassParam.from(p));

/** A norm layer for `channels` channels, or Identity when there is none. */
const makeNorm = (norm: ClassParam | null, channels: number): Module => (norm ? norm.create({ numFeatures: channels }) : new Identity());

/** Output size of a convolution along one axis. */
const convOut = (size: number, kernel: number, stride: number, padding: number): number => Math.floor((size + 2 * padding - kernel) / stride) + 1;

/**
 * Padding for a strided conv: the preset's, except 'same' (which PyTorch and
 * our convs refuse for stride > 1) becomes kernel // 2, the usual "same up to
 * the stride" padding. Orthogonium passes 'same' there, which cannot run.
 */
function stridedPadding(conv: ClassParam, kernel: number): number {
  const p = conv.options.padding;
  if (p === undefined || p === 'same') return Math.floor(kernel / 2);
  if (p === 'valid') return 0;
  if (typeof p === 'number') return p;
  throw new TypeError(`strided convolution: unsupported preset padding ${JSON.stringify(p)}`);
}

const presetPadding = (conv: ClassParam, kernel: number, stride: number): number => {
  const p = conv.options.padding;
  if (p === 'same') return stride === 1 ? Math.floor(kernel / 2) : stridedPadding(conv, kernel);
  return stridedPadding(conv, kernel);
};

// ---------------------------------------------------------------------------
// PatchBasedCNN

export interface PatchBasedCNNOptions {
  imgShape?: Shape3;
  dim?: number;
  depth?: number;
  kernelSize?: number;
  patchSize?: number;
  nClasses?: number;
  groups?: number;
  conv?: LayerParam;
  act?: LayerParam;
  pool?: LayerParam;
  lin?: LayerParam;
  norm?: LayerParam | null;
}

const PATCH_BASED_CNN_DEFAULTS: Required<PatchBasedCNNOptions> = {
  imgShape: [3, 32, 32],
  dim: 128,
  depth: 8,
  kernelSize: 3,
  patchSize: 2,
  nClasses: 10,
  groups: 1,
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same' } },
  act: 'MaxMin',
  // Orthogonium: LPPool2d(norm_type=2) over the whole map.
  pool: { type: 'LPPool2d', options: { normType: 2 } },
  lin: 'OrthoLinear',
  norm: 'LayerCentering2D',
};

/**
 * A patch stem (kernel = stride = patchSize) with activation and norm, then
 * `depth` blocks of [k×k conv, norm, activation], a pool over the whole map,
 * flatten and a linear head.
 */
export function PatchBasedCNN(options: PatchBasedCNNOptions = {}): FactoryModel {
  const o = { ...PATCH_BASED_CNN_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const pool = ClassParam.from(o.pool);
  const lin = ClassParam.from(o.lin);
  const norm = optional(o.norm);
  // Orthogonium calls norm() without its channel count (a TypeError for its
  // default LayerCentering2D); we give it `dim`.
  const layers: Module[] = [
    conv.create({ inChannels: o.imgShape[0], outChannels: o.dim, kernelSize: o.patchSize, stride: o.patchSize, padding: 'valid', paddingMode: 'zeros' }),
    act.create(),
    makeNorm(norm, o.dim),
  ];
  for (let i = 0; i < o.depth; i++) {
    layers.push(new Sequential(
      conv.create({ inChannels: o.dim, outChannels: o.dim, kernelSize: o.kernelSize, groups: o.groups }),
      makeNorm(norm, o.dim),
      act.create(),
    ));
  }
  const map: [number, number] = [Math.floor(o.imgShape[1] / o.patchSize), Math.floor(o.imgShape[2] / o.patchSize)];
  layers.push(pool.create({ kernelSize: map, stride: null }), new Flatten(), lin.create({ inFeatures: o.dim, outFeatures: o.nClasses }));
  return new FactoryModel({ architecture: 'PatchBasedCNN', options: serializable(options) }, layers);
}

// ---------------------------------------------------------------------------
// StagedCNN and LargeStagedCNN

export interface StagedCNNOptions {
  imgShape?: Shape3;
  /** [channels, repeats] per stage; stages are joined by stride-2 convs. */
  dimRepeats?: [number, number][];
  /** [width, count] of the dense layers before the head, or null / [] for none. */
  dimNbDense?: [number, number] | [] | null;
  nClasses?: number;
  conv?: LayerParam;
  act?: LayerParam;
  /** A pool over the final map (kernel = its size), or null to flatten the map. */
  pool?: LayerParam | null;
  lin?: LayerParam;
  norm?: LayerParam | null;
}

const STAGED_CNN_DEFAULTS: Required<StagedCNNOptions> = {
  imgShape: [3, 32, 32],
  dimRepeats: [[64, 2], [128, 2]],
  dimNbDense: [256, 2],
  nClasses: 10,
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same' } },
  act: 'MaxMin',
  pool: null,
  lin: 'OrthoLinear',
  norm: 'LayerCentering2D',
};

export interface LargeStagedCNNOptions extends StagedCNNOptions {
  patchSize?: number;
}

const LARGE_STAGED_CNN_DEFAULTS: Required<LargeStagedCNNOptions> = {
  imgShape: [3, 224, 224],
  patchSize: 7,
  dimRepeats: [[128, 4], [256, 4], [512, 4], [1024, 4]],
  dimNbDense: [1024, 5],
  nClasses: 1000,
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, paddingMode: 'circular', kernelSize: 3, padding: 1 } },
  act: 'MaxMin',
  lin: { type: 'UnitNormLinear', options: { bias: false } },
  norm: null,
  pool: null,
};

/** The body shared by StagedCNN and LargeStagedCNN, from `inChannels` channels on an h×w map. */
function stagedBody(
  o: Required<StagedCNNOptions>, layers: Module[], inChannels: number, h: number, w: number,
): void {
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const lin = ClassParam.from(o.lin);
  const norm = optional(o.norm);
  const pool = optional(o.pool);
  if (o.dimRepeats.length === 0) throw new RangeError('dimRepeats must name at least one stage');
  // Orthogonium's StagedCNN conv preset has no kernel_size (its conv calls
  // then fail); we use 3, LargeStagedCNN's preset value.
  const kernel = typeof conv.options.kernelSize === 'number' ? conv.options.kernelSize : 3;
  let channels = inChannels;
  // (Orthogonium rewrites dim_repeats in place, a mutable default argument
  // that grows a third field on each call; we leave the caller's list alone.)
  o.dimRepeats.forEach(([dim, repeats], i) => {
    for (let r = 0; r < repeats; r++) {
      layers.push(conv.create({ inChannels: channels, outChannels: dim, kernelSize: kernel }), act.create(), makeNorm(norm, dim));
      channels = dim;
    }
    const next = o.dimRepeats[i + 1];
    if (next) {
      const padding = stridedPadding(conv, kernel);
      layers.push(conv.create({ inChannels: dim, outChannels: next[0], kernelSize: kernel, stride: 2, padding }), act.create(), makeNorm(norm, next[0]));
      channels = next[0];
      h = convOut(h, kernel, 2, padding);
      w = convOut(w, kernel, 2, padding);
    }
  });
  // Orthogonium computes the final map as img_shape[-1] // 2^(stages-1), squared
  // (square inputs only); we track height and width through the convs.
  if (pool) {
    layers.push(pool.create({ kernelSize: [h, w] }));
    h = w = 1;
  }
  layers.push(new Flatten());
  let features = channels * h * w;
  if (o.dimNbDense && o.dimNbDense.length === 2) {
    const [dim, repeats] = o.dimNbDense;
    for (let r = 0; r < repeats; r++) {
      layers.push(lin.create({ inFeatures: features, outFeatures: dim }), act.create());
      features = dim;
    }
  }
  layers.push(lin.create({ inFeatures: features, outFeatures: o.nClasses }));
}

/**
 * Stages of `repeats` same-size convs (each with activation and norm), joined
 * by stride-2 convs to the next stage's width; an optional pool, flatten,
 * `dimNbDense` dense layers with activations and a linear head.
 */
export function StagedCNN(options: StagedCNNOptions = {}): FactoryModel {
  const o = { ...STAGED_CNN_DEFAULTS, ...options };
  const layers: Module[] = [];
  stagedBody(o, layers, o.imgShape[0], o.imgShape[1], o.imgShape[2]);
  return new FactoryModel({ architecture: 'StagedCNN', options: serializable(options) }, layers);
}

/** StagedCNN behind a patch stem (kernel = stride = patchSize, with activation and norm). */
export function LargeStagedCNN(options: LargeStagedCNNOptions = {}): FactoryModel {
  const o = { ...LARGE_STAGED_CNN_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const norm = optional(o.norm);
  if (o.dimRepeats.length === 0) throw new RangeError('dimRepeats must name at least one stage');
  const stem = o.dimRepeats[0]![0];
  const layers: Module[] = [
    conv.create({ inChannels: o.imgShape[0], outChannels: stem, kernelSize: o.patchSize, stride: o.patchSize, padding: 0 }),
    act.create(),
    makeNorm(norm, stem),
  ];
  const h = convOut(o.imgShape[1], o.patchSize, o.patchSize, 0);
  const w = convOut(o.imgShape[2], o.patchSize, o.patchSize, 0);
  stagedBody(o, layers, stem, h, w);
  return new FactoryModel({ architecture: 'LargeStagedCNN', options: serializable(options) }, layers);
}

// ---------------------------------------------------------------------------
// AOCNetV1 and the SplitConcatNet presets

export interface AOCNetV1Options {
  imgShape?: Shape3;
  nClasses?: number;
  expandFactor?: number;
  blockDepth?: number;
  kernelSize?: number;
  embeddingDim?: number;
  /** Groups of the block convs; null means depthwise-like (out / 2), 1 no groups. */
  groups?: number | null;
  /** Residual wrapper around each block, or null for none. */
  skip?: LayerParam | null;
  conv?: LayerParam;
  act?: LayerParam;
  lin?: LayerParam;
  norm?: LayerParam | null;
  pool?: LayerParam;
}

const AOCNET_V1_DEFAULTS: Required<AOCNetV1Options> = {
  imgShape: [3, 224, 224],
  nClasses: 1000,
  expandFactor: 2,
  blockDepth: 2,
  kernelSize: 3,
  embeddingDim: 1024,
  groups: 8,
  skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 1.0 } },
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros', orthoParams: 'default' } },
  act: 'MaxMin',
  lin: { type: 'UnitNormLinear', options: { bias: false } },
  norm: 'BatchCentering2D',
  pool: { type: 'LPPool2d', options: { normType: 2 } },
};

/**
 * A stem (7×7 stride-2 conv to embeddingDim/16, then 3×3 stride-2 conv to
 * embeddingDim/8, each with activation and norm), four stages of
 * `blockDepth` residual blocks [grouped k×k conv expanding, norm, activation,
 * grouped k×k conv back] each followed by a 1×1 conv mixing the groups, the
 * last three stages opening with a stride-2 conv doubling the width; a pool
 * over the final map, flatten and a linear head.
 */
export function AOCNetV1(options: AOCNetV1Options = {}): FactoryModel {
  const model = buildAOCNetV1({ ...AOCNET_V1_DEFAULTS, ...options });
  return new FactoryModel({ architecture: 'AOCNetV1', options: serializable(options) }, model);
}

function buildAOCNetV1(o: Required<AOCNetV1Options>): Module[] {
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const lin = ClassParam.from(o.lin);
  const pool = ClassParam.from(o.pool);
  const norm = optional(o.norm);
  const skip = optional(o.skip);
  const k = o.kernelSize;
  const e = o.embeddingDim;
  if (!Number.isInteger(e / 16)) throw new RangeError(`AOCNetV1: embeddingDim (${e}) must be a multiple of 16`);
  let [h, w] = [o.imgShape[1], o.imgShape[2]];
  const down = (kernel: number, padding: number): void => { h = convOut(h, kernel, 2, padding); w = convOut(w, kernel, 2, padding); };

  const resblock = (inChannels: number, outChannels: number): Module[] => {
    const layers: Module[] = [];
    if (inChannels !== outChannels) {
      layers.push(conv.create({ inChannels, outChannels, kernelSize: k, stride: 2, padding: Math.floor(k / 2) }));
      down(k, Math.floor(k / 2));
    }
    layers.push(makeNorm(norm, outChannels));
    const groups = o.groups ?? Math.floor(outChannels / 2);
    const expanded = o.expandFactor * outChannels;
    for (let i = 0; i < o.blockDepth; i++) {
      const res: Module[] = [
        conv.create({ inChannels: outChannels, outChannels: expanded, kernelSize: k, groups }),
        makeNorm(norm, expanded),
        act.create(),
      ];
      if (o.groups === null || o.groups > 1 || o.expandFactor > 1) {
        res.push(conv.create({ inChannels: expanded, outChannels, kernelSize: k, groups }));
      }
      const branch = new Sequential(...res);
      layers.push(skip ? skip.create({ fn: branch }) : branch);
      if (o.groups === null || o.groups > 1) {
        layers.push(conv.create({ inChannels: outChannels, outChannels, kernelSize: 1 }));
      }
    }
    return layers;
  };

  const layers: Module[] = [
    conv.create({ inChannels: o.imgShape[0], outChannels: e / 16, kernelSize: 7, stride: 2, padding: 3 }),
    act.create(),
    // Orthogonium builds this norm with embedding_dim // 8 channels while the
    // conv before it has embedding_dim // 16: a shape error for a norm with a
    // per-channel bias. We give it the conv's channel count.
    makeNorm(norm, e / 16),
    conv.create({ inChannels: e / 16, outChannels: e / 8, kernelSize: 3, stride: 2, padding: 1 }),
    act.create(),
    makeNorm(norm, e / 8),
  ];
  down(7, 3);
  down(3, 1);
  layers.push(...resblock(e / 8, e / 8), ...resblock(e / 8, e / 4), ...resblock(e / 4, e / 2), ...resblock(e / 2, e));
  // Orthogonium pools with a fixed 7×7 window (stride 7): the final map of a
  // 224×224 input. We pool the whole final map, whatever the input size.
  layers.push(pool.create({ kernelSize: [h, w], stride: [h, w] }), new Flatten(), lin.create({ inFeatures: e, outFeatures: o.nClasses }));
  return layers;
}

const aocConv = (paddingMode: 'zeros' | 'circular'): ClassParamSpec => (
  { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode, orthoParams: 'default' } });
// Orthogonium's AvgPool2d(divisor_override=7) over the 7×7 final map is the
// average times 7 = √(7·7): our ScaledAvgPool2d.
const scaledPool: ClassParamSpec = { type: 'ScaledAvgPool2d', options: {} };

/** Orthogonium's SplitConcatNetConfigs: AOCNetV1 option sets. */
export const SPLIT_CONCAT_NET_CONFIGS: Record<'M' | 'M2' | 'M3' | 'M4' | 'L', AOCNetV1Options> = {
  M: {
    expandFactor: 4, blockDepth: 2, kernelSize: 3, embeddingDim: 1024, groups: 32,
    conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
    skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 2.0 } },
    act: 'MaxMin', lin: { type: 'UnitNormLinear', options: { bias: false } }, norm: 'BatchCentering2D',
    pool: { type: 'LPPool2d', options: { normType: 2 } },
  },
  M2: {
    expandFactor: 2, blockDepth: 2, kernelSize: 5, embeddingDim: 1024, groups: 4,
    skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 2.0 } },
    conv: aocConv('zeros'), act: 'MaxMin', lin: { type: 'UnitNormLinear', options: { bias: false } }, norm: null, pool: scaledPool,
  },
  M3: {
    expandFactor: 2, blockDepth: 3, kernelSize: 5, embeddingDim: 2048, groups: null,
    skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 3.0 } },
    conv: aocConv('zeros'), act: 'MaxMin', lin: { type: 'UnitNormLinear', options: { bias: false } }, norm: null, pool: scaledPool,
  },
  M4: {
    expandFactor: 2, blockDepth: 3, kernelSize: 5, embeddingDim: 2048, groups: null,
    skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 3.0 } },
    conv: aocConv('circular'), act: 'MaxMin', lin: { type: 'UnitNormLinear', options: { bias: false } }, norm: null,
    pool: { type: 'LPPool2d', options: { normType: 2 } },
  },
  L: {
    expandFactor: 2, blockDepth: 3, kernelSize: 5, embeddingDim: 3072, groups: null,
    skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 3.0 } },
    conv: aocConv('zeros'), act: 'MaxMin', lin: { type: 'UnitNormLinear', options: { bias: false } }, norm: null, pool: scaledPool,
  },
};

/** AOCNetV1 with a SplitConcatNet option set; `options` override it (Orthogonium raises on a clash instead). */
export function SplitConcatNet(variant: keyof typeof SPLIT_CONCAT_NET_CONFIGS, options: AOCNetV1Options = {}): FactoryModel {
  const base = SPLIT_CONCAT_NET_CONFIGS[variant];
  if (!base) throw new TypeError(`unknown SplitConcatNet variant '${String(variant)}'`);
  const layers = buildAOCNetV1({ ...AOCNET_V1_DEFAULTS, ...base, ...options });
  return new FactoryModel({ architecture: `SplitConcatNet-${variant}`, options: serializable(options) }, layers);
}

// ---------------------------------------------------------------------------
// LipResNet

export interface LipResNetOptions {
  imgShape?: Shape3;
  nClasses?: number;
  skip?: LayerParam;
  conv?: LayerParam;
  act?: LayerParam;
  lin?: LayerParam;
  norm?: LayerParam | null;
  /** Not in Orthogonium (fixed there): channels of the four stages. */
  widths?: [number, number, number, number];
  /** Not in Orthogonium (fixed there): blocks per stage (ResNet-34's 3, 4, 6, 3). */
  blocks?: [number, number, number, number];
}

const LIP_RESNET_DEFAULTS: Required<LipResNetOptions> = {
  imgShape: [3, 224, 224],
  nClasses: 1000,
  skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 3.0 } },
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros', orthoParams: 'default' } },
  act: 'MaxMin',
  lin: { type: 'UnitNormLinear', options: { bias: false } },
  norm: null,
  widths: [64, 128, 256, 512],
  blocks: [3, 4, 6, 3],
};

/**
 * ResNet-34 layout: a 7×7 stride-2 stem with activation and norm, a 2×2 max
 * pool, four stages of residual blocks [3×3 conv, norm, act, 3×3 conv, norm,
 * act] (stages 2–4 open with a stride-2 conv and norm, counting as one block),
 * a √(hw)-scaled average pool, flatten and a linear head.
 */
export function LipResNet(options: LipResNetOptions = {}): FactoryModel {
  const o = { ...LIP_RESNET_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const lin = ClassParam.from(o.lin);
  const skip = ClassParam.from(o.skip);
  // Orthogonium calls norm() without its channel count (unusable for its
  // centering layers); we give each norm the channels it follows.
  const norm = optional(o.norm);
  let [h, w] = [o.imgShape[1], o.imgShape[2]];
  const stem = o.widths[0];
  const layers: Module[] = [
    conv.create({ inChannels: o.imgShape[0], outChannels: stem, kernelSize: 7, stride: 2, padding: 3 }),
    act.create(),
    makeNorm(norm, stem),
    // Max over non-overlapping windows: 1-Lipschitz.
    new MaxPool2d(2, { stride: 2, padding: 0 }),
  ];
  h = Math.floor(convOut(h, 7, 2, 3) / 2);
  w = Math.floor(convOut(w, 7, 2, 3) / 2);
  let channels = stem;
  o.widths.forEach((out, i) => {
    let n = o.blocks[i]!;
    if (channels !== out) {
      layers.push(conv.create({ inChannels: channels, outChannels: out, kernelSize: 3, stride: 2, padding: 1 }), makeNorm(norm, out));
      h = convOut(h, 3, 2, 1);
      w = convOut(w, 3, 2, 1);
      n -= 1;
    }
    for (let b = 0; b < n; b++) {
      layers.push(skip.create({
        fn: new Sequential(
          conv.create({ inChannels: out, outChannels: out, kernelSize: 3, padding: 1 }), makeNorm(norm, out), act.create(),
          conv.create({ inChannels: out, outChannels: out, kernelSize: 3, padding: 1 }), makeNorm(norm, out), act.create(),
        ),
      }));
    }
    channels = out;
  });
  // Orthogonium: AvgPool2d(7, divisor_override=7), i.e. the 7×7 average times
  // √(7·7), over the final map of a 224×224 input. We use ScaledAvgPool2d over
  // the whole final map, whatever its size.
  layers.push(new ScaledAvgPool2d([h, w]), new Flatten(), lin.create({ inFeatures: channels, outFeatures: o.nClasses }));
  return new FactoryModel({ architecture: 'LipResNet', options: serializable(options) }, layers);
}

// ---------------------------------------------------------------------------
// LipVGG

export interface LipVGGOptions {
  imgShape?: Shape3;
  nClasses?: number;
  conv?: LayerParam;
  act?: LayerParam;
  lin?: LayerParam;
  norm?: LayerParam | null;
  /** Not in Orthogonium (fixed there): channels of the five stages (64, 128, 256, 512, 512). */
  widths?: [number, number, number, number, number];
  /** Not in Orthogonium (fixed there): width of the two hidden dense layers. */
  denseDim?: number;
}

const LIP_VGG_DEFAULTS: Required<LipVGGOptions> = {
  imgShape: [3, 224, 224],
  nClasses: 1000,
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
  act: 'MaxMin',
  lin: { type: 'OrthoLinear', options: { bias: false } },
  norm: 'LayerCentering2D',
  widths: [64, 128, 256, 512, 512],
  denseDim: 4096,
};

/**
 * VGG-16 layout with orthogonal convs: 13 3×3 convs (five of them stride 2
 * instead of max pools), each but the last followed by activation and norm,
 * then flatten and three dense layers.
 */
export function LipVGG(options: LipVGGOptions = {}): FactoryModel {
  const o = { ...LIP_VGG_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const lin = ClassParam.from(o.lin);
  const norm = optional(o.norm);
  const [w0, w1, w2, w3, w4] = o.widths;
  // [out channels, stride] of the 13 convs.
  const plan: [number, number][] = [
    [w0, 1], [w1, 2], [w1, 1], [w2, 2], [w2, 1], [w2, 1], [w3, 2], [w3, 1], [w3, 1], [w4, 2], [w4, 1], [w4, 1], [w4, 2],
  ];
  let [h, w] = [o.imgShape[1], o.imgShape[2]];
  let channels = o.imgShape[0];
  const layers: Module[] = [];
  plan.forEach(([out, stride], i) => {
    // Orthogonium's strided convs keep the preset padding 'same', which
    // PyTorch refuses for stride 2; we pad by kernel // 2 = 1 there.
    const padding = presetPadding(conv, 3, stride);
    layers.push(conv.create({ inChannels: channels, outChannels: out, kernelSize: 3, stride, ...(stride > 1 ? { padding } : {}) }));
    h = convOut(h, 3, stride, padding);
    w = convOut(w, 3, stride, padding);
    channels = out;
    // Orthogonium calls norm() without its channel count; we give it.
    if (i < plan.length - 1) layers.push(act.create(), makeNorm(norm, out));
  });
  // Orthogonium: lin(512·7·7, 4096), the final map of a 224×224 input; we use
  // the actual final map. Its dense norms, norm(dim=-1), cannot be built
  // (LayerCentering2D takes no `dim`, and centers 4-d maps only): Identity.
  layers.push(
    new Flatten(),
    lin.create({ inFeatures: channels * h * w, outFeatures: o.denseDim }), act.create(), new Identity(),
    lin.create({ inFeatures: o.denseDim, outFeatures: o.denseDim }), act.create(), new Identity(),
    lin.create({ inFeatures: o.denseDim, outFeatures: o.nClasses }),
  );
  return new FactoryModel({ architecture: 'LipVGG', options: serializable(options) }, layers);
}

// ---------------------------------------------------------------------------
// BCOPLargeCNN

export interface BCOPLargeCNNOptions {
  imgShape?: Shape3;
  nClasses?: number;
  conv?: LayerParam;
  act?: LayerParam;
  lin?: LayerParam;
  norm?: LayerParam | null;
}

const BCOP_LARGE_CNN_DEFAULTS: Required<BCOPLargeCNNOptions> = {
  imgShape: [3, 32, 32],
  nClasses: 10,
  // Orthogonium's preset says padding="circular" (a padding *mode*, not a
  // valid padding); every call overrides padding, so only the mode can have
  // been meant: paddingMode 'circular'.
  conv: { type: 'AdaptiveOrthoConv2d', options: { bias: true, paddingMode: 'circular' } },
  act: 'MaxMin',
  lin: 'OrthoLinear',
  norm: null,
};

/** The "large" CNN of the BCOP paper: four convs (32, 64, 64, 64 channels; two stride 2), then dense 512, 512 and the head. */
export function BCOPLargeCNN(options: BCOPLargeCNNOptions = {}): FactoryModel {
  const o = { ...BCOP_LARGE_CNN_DEFAULTS, ...options };
  const conv = ClassParam.from(o.conv);
  const act = ClassParam.from(o.act);
  const lin = ClassParam.from(o.lin);
  const norm = optional(o.norm);
  const plan: [number, number, number, number][] = [[32, 3, 1, 1], [64, 5, 2, 2], [64, 3, 1, 1], [64, 5, 2, 2]];
  let channels = o.imgShape[0];
  let [h, w] = [o.imgShape[1], o.imgShape[2]];
  const layers: Module[] = [];
  for (const [out, kernelSize, stride, padding] of plan) {
    // Orthogonium calls norm() without its channel count; we give it.
    layers.push(conv.create({ inChannels: channels, outChannels: out, kernelSize, stride, padding }), act.create(), makeNorm(norm, out));
    channels = out;
    h = convOut(h, kernelSize, stride, padding);
    w = convOut(w, kernelSize, stride, padding);
  }
  // Orthogonium: (H // 4)·(W // 4)·64 features, which is the map computed here.
  layers.push(
    new Flatten(),
    lin.create({ inFeatures: h * w * channels, outFeatures: 512 }), act.create(),
    lin.create({ inFeatures: 512, outFeatures: 512 }), act.create(),
    lin.create({ inFeatures: 512, outFeatures: o.nClasses }),
  );
  return new FactoryModel({ architecture: 'BCOPLargeCNN', options: serializable(options) }, layers);
}

// ---------------------------------------------------------------------------
// Registry entries, to merge into ARCHITECTURES in architectures.ts.

export const MORE_ARCHITECTURES: [string, (options: Record<string, unknown>) => FactoryModel][] = [
  ['PatchBasedCNN', (o) => PatchBasedCNN(o as PatchBasedCNNOptions)],
  ['StagedCNN', (o) => StagedCNN(o as StagedCNNOptions)],
  ['LargeStagedCNN', (o) => LargeStagedCNN(o as LargeStagedCNNOptions)],
  ['AOCNetV1', (o) => AOCNetV1(o as AOCNetV1Options)],
  ['SplitConcatNet-M', (o) => SplitConcatNet('M', o as AOCNetV1Options)],
  ['SplitConcatNet-M2', (o) => SplitConcatNet('M2', o as AOCNetV1Options)],
  ['SplitConcatNet-M3', (o) => SplitConcatNet('M3', o as AOCNetV1Options)],
  ['SplitConcatNet-M4', (o) => SplitConcatNet('M4', o as AOCNetV1Options)],
  ['SplitConcatNet-L', (o) => SplitConcatNet('L', o as AOCNetV1Options)],
  ['LipResNet', (o) => LipResNet(o as LipResNetOptions)],
  ['LipVGG', (o) => LipVGG(o as LipVGGOptions)],
  ['BCOPLargeCNN', (o) => BCOPLargeCNN(o as BCOPLargeCNNOptions)],
];
