// A tiny, learnable classification problem for trainer tests: 8×8 grey
// images whose class sets which quadrant is bright, and a small 1-Lipschitz
// factory model for it. Fast enough for many short fits per test file.
import { arrayImageDataset, ArrayImageDataset, DataLoader, Compose, ToTensor, Normalize } from '../../src/data/index.js';
import type { Shard } from '../../src/data/index.js';
import { buildModel, FactoryModel } from '../../src/models/index.js';
import { Linear, Module } from '../../src/nn/index.js';
import type { Tensor } from '../../src/torch/index.js';
import type { DataModuleLike } from '../../src/train/index.js';

export const TINY_MEAN = [0.5];
export const TINY_STD = [0.25];

export function tinyDataset(n: number, seed: number): ArrayImageDataset {
  let state = seed * 7919 + 17;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const images = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    labels[i] = label;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      const col = p % 8;
      const bright = label === 0 ? row < 4 && col < 4 : label === 1 ? row >= 4 && col >= 4 : row < 4 && col >= 4;
      images[i * 64 + p] = Math.max(0, Math.min(255, Math.round((bright ? 190 : 70) + (rand() - 0.5) * 120)));
    }
  }
  return arrayImageDataset(images, labels, [1, 8, 8], ['top-left', 'bottom-right', 'top-right']);
}

export function tinyModel(): FactoryModel {
  return buildModel({
    architecture: 'PatchBasedExpandedCNN',
    options: {
      imgShape: [1, 8, 8], dim: 8, depth: 1, kernelSize: 3, patchSize: 2, expandFactor: 2, groups: null, nClasses: 3, skip: true,
      conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
      act: { type: 'MaxMin' },
      pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: 8, outChannels: 8, groups: 4, bias: false, padding: 0, kernelSize: 4, stride: 4 } },
      lin: { type: 'OrthoLinear', options: { bias: false } },
      norm: null,
    },
  });
}

/**
 * A linear classifier of the flattened 8×8 image: unlike the orthogonal
 * layers (whose parametrization keeps state across forward passes), its
 * training depends only on the gradients, so accumulated and large batches match.
 */
export function linearModel(): Module {
  class Flat extends Module {
    readonly layer = this.registerModule('layer', new Linear(64, 3));
    forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  }
  return new Flat();
}

export function tinyData(opts: { train?: number; val?: number; batchSize?: number; seed?: number; workers?: number } = {}): DataModuleLike {
  const train = tinyDataset(opts.train ?? 192, 1);
  const val = tinyDataset(opts.val ?? 96, 2);
  const transform = () => new Compose([new ToTensor(), new Normalize(TINY_MEAN, TINY_STD)]);
  let shard: Shard | undefined;
  return {
    trainDataloader: () => new DataLoader(train, { batchSize: opts.batchSize ?? 32, shuffle: true, transform: transform(), seed: opts.seed ?? 0, numWorkers: opts.workers ?? 0, shard }),
    valDataloader: () => new DataLoader(val, { batchSize: 48, transform: transform(), shard }),
    checkpointMetadata: () => ({ dataset: 'tiny', mean: TINY_MEAN, std: TINY_STD, classes: train.classes }),
    distribute: (s: Shard) => { shard = s; },
  };
}

/** 2 training batches of 32 and 1 validation (and test) batch of 48 per epoch, in a fixed order: for exact hook and file sequences. */
export function orderedData(): DataModuleLike {
  const transform = () => new Compose([new ToTensor(), new Normalize(TINY_MEAN, TINY_STD)]);
  const train = tinyDataset(64, 1);
  const val = tinyDataset(48, 2);
  return {
    trainDataloader: () => new DataLoader(train, { batchSize: 32, transform: transform() }),
    valDataloader: () => new DataLoader(val, { batchSize: 48, transform: transform() }),
    testDataloader: () => new DataLoader(val, { batchSize: 48, transform: transform() }),
  };
}

/** Collects what the Trainer prints. */
export function captureOutput(): { write(text: string): boolean; text(): string; isTTY: boolean } {
  let buffer = '';
  return { write: (t: string) => { buffer += t; return true; }, text: () => buffer, isTTY: false };
}
