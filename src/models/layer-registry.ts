// The layers configs may name, with their options objects.
import { Conv2d, Flatten, Identity, Linear, ReLU, AvgPool2d } from '../nn/index.js';
import {
  AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, OrthoConv2dOptions, OrthoConvTranspose2dOptions, OrthoLinear, UnitNormLinear,
  AdaptiveSOCConv2d, AdaptiveSOCConvTranspose2d, SOCConv2dOptions, SOCConvTranspose2dOptions,
} from '../ortho/index.js';
import { AOLConv2D, AOLConv2DOptions, AOLLinear, SDPBasedLipschitzDense, SDPBasedLipschitzDenseOptions, SDPBasedLipschitzResBlock, SDPBasedLipschitzResBlockOptions, SLLxAOCLipschitzResBlock, SLLxAOCLipschitzResBlockOptions } from '../ortho/index.js';
import { Abs, GroupSort2, HouseHolder, HouseHolderOrder2, MaxMin, SoftHuber } from '../ortho/blocks/activations.js';
import { BatchCentering2D, LayerCentering2D } from '../ortho/blocks/normalization.js';
import { ChannelShuffle } from '../ortho/blocks/channel-shuffle.js';
import { GlobalScaledAvgPool2d, ScaledAvgPool2d } from '../ortho/blocks/pooling.js';
import { AOCLipschitzResBlock, AOCLipschitzResBlockOptions } from '../ortho/sll.js';
import { LayerOptions, registerLayer } from './class-param.js';
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

registerLayer('AdaptiveOrthoConv2d', (o) => AdaptiveOrthoConv2d(o as unknown as OrthoConv2dOptions));
registerLayer('AdaptiveOrthoConvTranspose2d', (o) => AdaptiveOrthoConvTranspose2d(o as unknown as OrthoConvTranspose2dOptions));
registerLayer('AdaptiveSOCConv2d', (o) => AdaptiveSOCConv2d(o as unknown as SOCConv2dOptions));
registerLayer('AdaptiveSOCConvTranspose2d', (o) => AdaptiveSOCConvTranspose2d(o as unknown as SOCConvTranspose2dOptions));
registerLayer('OrthoLinear', (o) => new OrthoLinear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('UnitNormLinear', (o) => new UnitNormLinear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('Linear', (o) => new Linear(num(o, 'inFeatures'), num(o, 'outFeatures'), o));
registerLayer('Conv2d', (o) => new Conv2d(num(o, 'inChannels'), num(o, 'outChannels'), num(o, 'kernelSize'), o));
registerLayer('MaxMin', (o) => new MaxMin(num(o, 'axis', 1)));
registerLayer('GroupSort2', (o) => new GroupSort2(num(o, 'axis', 1)));
registerLayer('Abs', () => new Abs());
registerLayer('ReLU', () => new ReLU());
registerLayer('SoftHuber', (o) => new SoftHuber(num(o, 'delta', 0.05)));
registerLayer('HouseHolder', (o) => new HouseHolder(num(o, 'channels'), num(o, 'axis', 1)));
registerLayer('HouseHolderOrder2', (o) => new HouseHolderOrder2(num(o, 'channels'), num(o, 'axis', 1)));
registerLayer('LayerCentering2D', (o) => new LayerCentering2D(num(o, 'numFeatures')));
registerLayer('BatchCentering2D', (o) => new BatchCentering2D(num(o, 'numFeatures'), num(o, 'momentum', 0.1)));
registerLayer('ChannelShuffle', (o) => new ChannelShuffle(num(o, 'groupIn'), num(o, 'groupOut')));
registerLayer('ScaledAvgPool2d', (o) => new ScaledAvgPool2d(pairOrNumber(o, 'kernelSize'), o.stride as Pair | undefined));
registerLayer('GlobalScaledAvgPool2d', () => new GlobalScaledAvgPool2d());
registerLayer('AvgPool2d', (o) => new AvgPool2d(pairOrNumber(o, 'kernelSize'), { stride: o.stride as Pair | undefined }));
registerLayer('Flatten', () => new Flatten());
registerLayer('Identity', () => new Identity());
registerLayer('AOLConv2D', (o) => new AOLConv2D(o as unknown as AOLConv2DOptions));
registerLayer('AOLLinear', (o) => new AOLLinear({ inFeatures: num(o, 'inFeatures'), outFeatures: num(o, 'outFeatures'), ...o }));
registerLayer('SDPBasedLipschitzResBlock', (o) => new SDPBasedLipschitzResBlock(o as unknown as SDPBasedLipschitzResBlockOptions));
registerLayer('SDPBasedLipschitzDense', (o) => new SDPBasedLipschitzDense(o as unknown as SDPBasedLipschitzDenseOptions));
registerLayer('SLLxAOCLipschitzResBlock', (o) => new SLLxAOCLipschitzResBlock(o as unknown as SLLxAOCLipschitzResBlockOptions));
registerLayer('AOCLipschitzResBlock', (o) => new AOCLipschitzResBlock(o as unknown as AOCLipschitzResBlockOptions));
