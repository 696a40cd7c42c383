// The layers configs may name, with their options objects.
import {
  AdaptiveAvgPool2d, AvgPool2d, AvgPool2dOptions, Conv2d, ConvTranspose2d, Dropout, Flatten, Identity, Linear, MaxPool2d, Module, ReLU, Sequential,
} from '../nn/index.js';
import {
  AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, OrthoConv2dOptions, OrthoConvTranspose2dOptions, OrthoLinear, UnitNormLinear,
  AdaptiveSOCConv2d, AdaptiveSOCConvTranspose2d, SOCConv2dOptions, SOCConvTranspose2dOptions,
  FastBlockConv2d, RKOConv2d, BcopRkoConv2d, FastBlockConvTranspose2d, RkoConvTranspose2d, BcopRkoConvTranspose2d,
  FastSOC, SOCRkoConv2d, SOCTranspose, SOCRkoConvTranspose2d, ConcatResidual, L2NormResidual,
} from '../ortho/index.js';
import type { Branch } from '../ortho/index.js';
import { BCOP, BCOPOptions, Cayley, CayleyOptions, CayleyLinear, SOC, SOCOptions } from '../ortho/legacy/index.js';
import {
  AOLConv2D, AOLConv2DOptions, AOLConvTranspose2D, AOLConvTranspose2DOptions, AOLLinear, SDPBasedLipschitzDense, SDPBasedLipschitzDenseOptions,
  SDPBasedLipschitzResBlock, SDPBasedLipschitzResBlockOptions, SLLxAOCLipschitzResBlock, SLLxAOCLipschitzResBlockOptions,
} from '../ortho/index.js';
import { Abs, GroupSort2, HouseHolder, HouseHolderOrder2, MaxMin, SoftHuber } from '../ortho/blocks/activations.js';
import { BatchCentering2D, LayerCentering2D } from '../ortho/blocks/normalization.js';
import { ChannelShuffle } from '../ortho/blocks/channel-shuffle.js';
import { GlobalScaledAvgPool2d, ScaledAvgPool2d } from '../ortho/blocks/pooling.js';
import { AOCLipschitzResBlock, AOCLipschitzResBlockOptions } from '../ortho/sll.js';
import { ClassParam, ClassParamSpec, LayerOptions, registerLayer } from './class-param.js';
import type { Pair } from '../torch/functional.js';

const num = (o: LayerOptions, key: string, fallback?: number): number => {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number') throw new TypeError(`layer option '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
};

/** A size given as one number or an [h, w] pair. */
function pairOrNumber(o: LayerOptions, key: string): Pair {
  const v = o[key];
  if (typeof v === 'number' || (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'))) return v as Pair;
  throw new TypeError(`layer option '${key}' must be a number or an [h, w] pair, got ${JSON.stringify(v)}`);
}

/** An optional size: absent, or a number / [h, w] pair. */
const optionalPair = (o: LayerOptions, key: string): Pair | undefined => (o[key] === undefined || o[key] === null ? undefined : pairOrNumber(o, key));

const isLayerParam = (v: unknown): v is ClassParam | ClassParamSpec | string =>
  v instanceof ClassParam || typeof v === 'string' || (v !== null && typeof v === 'object' && !Array.isArray(v) && 'type' in v);

/**
 * The branch of a residual wrapper: a Module (what the architectures pass as
 * `fn`), or, in JSON configs, a layer spec or an array of layer specs (run
 * in sequence).
 */
export function branchOption(o: LayerOptions, layer: string): Branch {
  const fn = o.fn;
  if (fn instanceof Module) return fn as Branch;
  if (isLayerParam(fn)) return ClassParam.from(fn).create() as Branch;
  if (Array.isArray(fn) && fn.length > 0 && fn.every(isLayerParam)) return new Sequential(...fn.map((p) => ClassParam.from(p).create())) as Branch;
  throw new TypeError(`${layer}: option 'fn' (the residual branch) must be a Module, a layer spec { type, options } or an array of layer specs, got ${JSON.stringify(fn)}`);
}

registerLayer('AdaptiveOrthoConv2d', (o) => AdaptiveOrthoConv2d(o as unknown as OrthoConv2dOptions));
registerLayer('AdaptiveOrthoConvTranspose2d', (o) => AdaptiveOrthoConvTranspose2d(o as unknown as OrthoConvTranspose2dOptions));
registerLayer('AdaptiveSOCConv2d', (o) => AdaptiveSOCConv2d(o as unknown as SOCConv2dOptions));
registerLayer('AdaptiveSOCConvTranspose2d', (o) => AdaptiveSOCConvTranspose2d(o as unknown as SOCConvTranspose2dOptions));
// The constructions AdaptiveOrthoConv2d / AdaptiveSOCConv2d dispatch to, by name.
registerLayer('FastBlockConv2d', (o) => new FastBlockConv2d(o as unknown as OrthoConv2dOptions));
registerLayer('RKOConv2d', (o) => new RKOConv2d(o as unknown as OrthoConv2dOptions));
registerLayer('BcopRkoConv2d', (o) => new BcopRkoConv2d(o as unknown as OrthoConv2dOptions));
registerLayer('FastBlockConvTranspose2d', (o) => new FastBlockConvTranspose2d(o as unknown as OrthoConvTranspose2dOptions));
// Orthogonium's spelling of the class.
registerLayer('FastBlockConvTranspose2D', (o) => new FastBlockConvTranspose2d(o as unknown as OrthoConvTranspose2dOptions));
registerLayer('RkoConvTranspose2d', (o) => new RkoConvTranspose2d(o as unknown as OrthoConvTranspose2dOptions));
registerLayer('BcopRkoConvTranspose2d', (o) => new BcopRkoConvTranspose2d(o as unknown as OrthoConvTranspose2dOptions));
registerLayer('FastSOC', (o) => new FastSOC(o as unknown as SOCConv2dOptions));
registerLayer('SOCRkoConv2d', (o) => new SOCRkoConv2d(o as unknown as SOCConv2dOptions));
registerLayer('SOCTranspose', (o) => new SOCTranspose(o as unknown as SOCConvTranspose2dOptions));
registerLayer('SOCRkoConvTranspose2d', (o) => new SOCRkoConvTranspose2d(o as unknown as SOCConvTranspose2dOptions));
// Orthogonium's orthogonium.legacy layers (the papers' original constructions), prefixed so as not to be
// mistaken for this library's SOC and BCOP convolutions.
registerLayer('legacy.Cayley', (o) => new Cayley(o as unknown as CayleyOptions));
registerLayer('legacy.CayleyLinear', (o) => new CayleyLinear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('legacy.SOC', (o) => new SOC(o as unknown as SOCOptions));
registerLayer('legacy.BCOP', (o) => new BCOP(o as unknown as BCOPOptions));
registerLayer('OrthoLinear', (o) => new OrthoLinear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('UnitNormLinear', (o) => new UnitNormLinear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('Linear', (o) => new Linear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('Conv2d', (o) => new Conv2d(num(o, 'inChannels'), num(o, 'outChannels'), pairOrNumber(o, 'kernelSize'), o));
registerLayer('MaxMin', (o) => new MaxMin(num(o, 'axis', 1)));
registerLayer('GroupSort2', (o) => new GroupSort2(num(o, 'axis', 1)));
registerLayer('Abs', () => new Abs());
registerLayer('ReLU', () => new ReLU());
registerLayer('SoftHuber', (o) => new SoftHuber(num(o, 'delta', 0.05)));
registerLayer('HouseHolder', (o) => new HouseHolder(num(o, 'channels'), num(o, 'axis', 1)));
registerLayer('HouseHolderOrder2', (o) => new HouseHolderOrder2(num(o, 'channels'), num(o, 'axis', 1)));
// Orthogonium's spelling of the class.
registerLayer('HouseHolder_Order_2', (o) => new HouseHolderOrder2(num(o, 'channels'), num(o, 'axis', 1)));
registerLayer('LayerCentering2D', (o) => new LayerCentering2D(num(o, 'numFeatures')));
registerLayer('BatchCentering2D', (o) => new BatchCentering2D(num(o, 'numFeatures'), num(o, 'momentum', 0.1)));
registerLayer('ChannelShuffle', (o) => new ChannelShuffle(num(o, 'groupIn'), num(o, 'groupOut')));
registerLayer('ScaledAvgPool2d', (o) => new ScaledAvgPool2d(pairOrNumber(o, 'kernelSize'), o.stride as Pair | undefined));
registerLayer('GlobalScaledAvgPool2d', () => new GlobalScaledAvgPool2d());
registerLayer('AvgPool2d', (o) => new AvgPool2d(pairOrNumber(o, 'kernelSize'), {
  stride: optionalPair(o, 'stride'), padding: optionalPair(o, 'padding'), ceilMode: o.ceilMode as boolean | undefined,
  countIncludePad: o.countIncludePad as boolean | undefined, divisorOverride: o.divisorOverride as AvgPool2dOptions['divisorOverride'],
}));
registerLayer('MaxPool2d', (o) => new MaxPool2d(pairOrNumber(o, 'kernelSize'), {
  stride: optionalPair(o, 'stride'), padding: optionalPair(o, 'padding'), ceilMode: o.ceilMode as boolean | undefined,
}));
registerLayer('AdaptiveAvgPool2d', (o) => new AdaptiveAvgPool2d(pairOrNumber(o, 'outputSize')));
registerLayer('Dropout', (o) => new Dropout(num(o, 'p', 0.5)));
registerLayer('Flatten', (o) => new Flatten(num(o, 'startDim', 1), num(o, 'endDim', -1)));
registerLayer('ConvTranspose2d', (o) => new ConvTranspose2d(num(o, 'inChannels'), num(o, 'outChannels'), pairOrNumber(o, 'kernelSize'), o));
registerLayer('Sequential', (o) => {
  const layers = o.layers;
  if (!Array.isArray(layers) || !layers.every((l) => l instanceof Module || isLayerParam(l) || l === null)) {
    throw new TypeError(`Sequential: option 'layers' must be an array of layer specs, got ${JSON.stringify(layers)}`);
  }
  return new Sequential(...layers.map((l) => (l instanceof Module ? l : ClassParam.from(l as ClassParamSpec | string | null).create())));
});
registerLayer('Identity', () => new Identity());
registerLayer('AOLConv2D', (o) => new AOLConv2D(o as unknown as AOLConv2DOptions));
registerLayer('AOLConvTranspose2D', (o) => new AOLConvTranspose2D(o as unknown as AOLConvTranspose2DOptions));
registerLayer('AOLLinear', (o) => new AOLLinear({ inFeatures: num(o, 'inFeatures'), outFeatures: num(o, 'outFeatures'), ...o }));
registerLayer('SDPBasedLipschitzResBlock', (o) => new SDPBasedLipschitzResBlock(o as unknown as SDPBasedLipschitzResBlockOptions));
registerLayer('SDPBasedLipschitzDense', (o) => new SDPBasedLipschitzDense(o as unknown as SDPBasedLipschitzDenseOptions));
registerLayer('SLLxAOCLipschitzResBlock', (o) => new SLLxAOCLipschitzResBlock(o as unknown as SLLxAOCLipschitzResBlockOptions));
registerLayer('AOCLipschitzResBlock', (o) => new AOCLipschitzResBlock(o as unknown as AOCLipschitzResBlockOptions));
// Residual wrappers: the architectures pass the branch as `fn`; configs may give it as a spec (see branchOption).
registerLayer('ConcatResidual', (o) => new ConcatResidual(branchOption(o, 'ConcatResidual')));
registerLayer('L2NormResidual', (o) => new L2NormResidual(branchOption(o, 'L2NormResidual'), num(o, 'eps', 1e-6)));
