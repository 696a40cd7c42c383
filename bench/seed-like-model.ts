// The seed's architecture at two sizes, as issue #9's table measures it:
// PatchBasedExpandedCNN (k3, patch 2, expand 2, skip), AOC convolutions
// without bias and zero padding, MaxMin, an AOC pool with kernel = stride = 16
// and groups dim/2, OrthoLinear. "small" = dim 64, depth 4; "seed" = dim 256, depth 12.
import { Tensor, autocast, scope } from '../src/torch/index.js';
import { buildModel, FactoryModel } from '../src/models/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { LossXent } from '../src/losses/index.js';

export function seedLikeModel(config: 'small' | 'seed'): FactoryModel {
  const [dim, depth] = config === 'small' ? [64, 4] : [256, 12];
  return buildModel({
    architecture: 'PatchBasedExpandedCNN',
    options: {
      imgShape: [3, 32, 32], dim, depth, kernelSize: 3, patchSize: 2, expandFactor: 2, groups: null, nClasses: 10, skip: true,
      conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
      act: { type: 'MaxMin' },
      pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: dim, outChannels: dim, groups: dim / 2, bias: false, padding: 0, kernelSize: 16, stride: 16 } },
      lin: { type: 'OrthoLinear', options: { bias: false } },
      norm: null,
    },
  });
}

/**
 * The seed's training step on a fixed batch: LossXent at ε = 36/255 (CIFAR-10's
 * std) and AdamWScheduleFree (lr 5e-3), forward optionally under bf16 autocast
 * on `deviceType` (where model, x and y are). Call dispose() when done.
 */
export function seedTrainingStep(model: FactoryModel, x: Tensor, y: Tensor, bf16 = false,
  deviceType: 'cpu' | 'cuda' = 'cpu'): { step: () => void; dispose: () => void } {
  const loss = new LossXent({ nClasses: 10, offset: (Math.SQRT2 / 0.1983) * (36 / 255), temperature: 0.125 });
  const optimizer = new AdamWScheduleFree(model.parameters(), { lr: 5e-3, weightDecay: 0 });
  model.train();
  optimizer.train();
  const step = () => scope(() => {
    const forward = () => loss.forward(model.forward(x) as Tensor, y);
    const value = bf16 ? autocast({ deviceType, dtype: 'bfloat16' }, forward) : forward();
    optimizer.zeroGrad();
    value.backward();
    optimizer.step();
  });
  return { step, dispose: () => optimizer.dispose() };
}
