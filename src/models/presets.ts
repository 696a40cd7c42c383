// Named model configurations: the seed tutorial's CIFAR-10 model exactly,
// and a small model for 28×28 grayscale images that trains on a CPU.
import { FactoryModel, ModelConfig } from './factory-model.js';
import { buildModel } from './registry.js';

export const MODEL_PRESETS: Record<string, ModelConfig> = {
  /** The seed's PatchBasedExapandedCNN: dim 256, depth 12, k3, patch 2, expand 2, skip, AOC pool, OrthoLinear head, no bias, no norm. */
  'seed-cifar10': {
    architecture: 'PatchBasedExpandedCNN',
    options: {
      imgShape: [3, 32, 32], dim: 256, depth: 12, kernelSize: 3, patchSize: 2, expandFactor: 2, groups: null, nClasses: 10, skip: true,
      conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
      act: { type: 'MaxMin' },
      pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: 256, outChannels: 256, groups: 128, bias: false, padding: 0, kernelSize: 16, stride: 16 } },
      lin: { type: 'OrthoLinear', options: { bias: false } },
      norm: null,
    },
  },
  /** The same design at CPU scale for Fashion-MNIST / MNIST (1×28×28). */
  'fmnist-small': {
    architecture: 'PatchBasedExpandedCNN',
    options: {
      imgShape: [1, 28, 28], dim: 32, depth: 3, kernelSize: 3, patchSize: 2, expandFactor: 2, groups: null, nClasses: 10, skip: true,
      conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
      act: { type: 'MaxMin' },
      pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: 32, outChannels: 32, groups: 16, bias: false, padding: 0, kernelSize: 14, stride: 14 } },
      lin: { type: 'OrthoLinear', options: { bias: false } },
      norm: null,
    },
  },
};

export function buildPreset(name: string): FactoryModel {
  const config = MODEL_PRESETS[name];
  if (!config) throw new TypeError(`unknown model preset '${name}'; known presets: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  return buildModel(config);
}
