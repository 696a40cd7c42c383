// SLLxBCOPResNet50: a ResNet-50 layout made of SLL residual blocks, with an
// orthogonal 7×7 stem. Orthogonium's version cannot run: it passes `cout`
// and `stride` to SDPBasedLipschitzResBlock, which ignores both (same
// channels, no stride), so the second stage receives 64 channels where it
// expects 256. Here each stage opens with the SLL×AOC block, which changes
// channels and resolution as intended, then repeats the plain SLL block.
import { Flatten, Identity, Module } from '../nn/index.js';
import { AdaptiveOrthoConv2d, MaxMin, OrthoLinear, SDPBasedLipschitzResBlock, SLLxAOCLipschitzResBlock } from '../ortho/index.js';
import type { OrthoParamsLike } from '../ortho/index.js';
import { LPPool2d } from './architectures-staged.js';
import { ClassParam } from './class-param.js';
import { FactoryModel, LayerParam, serializable } from './factory-model.js';

export interface SLLxBCOPResNet50Options {
  imgShape?: [number, number, number];
  nClasses?: number;
  /** Normalization after each block (e.g. 'BatchCentering2D'), or null. */
  norm?: LayerParam | null;
  /** Channels of the stem and of the four stages (ResNet-50: 64, 256, 512, 1024, 2048). */
  widths?: [number, number, number, number, number];
  /** Blocks per stage (ResNet-50: 3, 4, 6, 3). */
  blocks?: [number, number, number, number];
  /** Orthogonalization of the orthogonal layers: a preset name or a JSON spec (or OrthoParams, not serializable unless built from a spec). */
  orthoParams?: OrthoParamsLike;
}

export function SLLxBCOPResNet50(options: SLLxBCOPResNet50Options = {}): FactoryModel {
  const imgShape = options.imgShape ?? [3, 224, 224];
  const widths = options.widths ?? [64, 256, 512, 1024, 2048];
  const blocks = options.blocks ?? [3, 4, 6, 3];
  const norm = options.norm === null || options.norm === undefined ? null : ClassParam.from(options.norm);
  const normAfter = (channels: number): Module => (norm ? norm.create({ numFeatures: channels }) : new Identity());
  const orthoParams = options.orthoParams;
  const layers: Module[] = [
    AdaptiveOrthoConv2d({ inChannels: imgShape[0], outChannels: widths[0], kernelSize: 7, stride: 2, padding: 3, orthoParams }),
    new MaxMin(),
    normAfter(widths[0]),
    new LPPool2d(2, 2),
    normAfter(widths[0]),
  ];
  let size: [number, number] = [Math.floor(Math.floor((imgShape[1] + 6 - 7) / 2 + 1) / 2), Math.floor(Math.floor((imgShape[2] + 6 - 7) / 2 + 1) / 2)];
  const strides = [1, 2, 2, 2];
  for (let stage = 0; stage < 4; stage++) {
    const [cin, cout] = [widths[stage], widths[stage + 1]];
    const stride = strides[stage];
    layers.push(new SLLxAOCLipschitzResBlock({ inChannels: cin, outChannels: cout, innerDimFactor: 1, kernelSize: 3, stride, orthoParams }));
    layers.push(normAfter(cout));
    for (let i = 1; i < blocks[stage]; i++) {
      layers.push(new SDPBasedLipschitzResBlock({ inChannels: cout, innerDimFactor: 1, kernelSize: 3 }));
      layers.push(normAfter(cout));
    }
    size = [Math.ceil(size[0] / stride), Math.ceil(size[1] / stride)];
  }
  // Orthogonium pools 7×7 (the map size for 224×224 inputs); pool the whole final map instead.
  layers.push(new LPPool2d(2, size), new Flatten(), new OrthoLinear(widths[4], options.nClasses ?? 1000, { bias: true, orthoParams }));
  return new FactoryModel({ architecture: 'SLLxBCOPResNet50', options: serializable(options) }, layers);
}
