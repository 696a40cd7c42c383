// A network built from the factory is 1-Lipschitz: checked on the exact
// Jacobian at random points, on random pairs, and on pairs pushed apart by
// gradient ascent on the ratio ‖f(x) − f(y)‖ / ‖x − y‖.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Module } from '../src/nn/index.js';
import { ConvMixerInspired, PatchBasedExpandedCNN } from '../src/models/architectures.js';
import { buildModel } from '../src/models/registry.js';
import { SLLxBCOPResNet50 } from '../src/models/architectures-sll.js';
import { ascentPairRatio, jacobianNorm, randomPairRatio } from './helpers/lipschitz.js';
import { MODEL_PRESETS, buildPreset } from '../src/models/presets.js';

torch.setNumThreads(1);
type Tensor = torch.Tensor;
const TOL = 1e-4;

function smallModel(options: Record<string, unknown> = {}): Module {
  return PatchBasedExpandedCNN({
    imgShape: [3, 16, 16], dim: 16, depth: 2, kernelSize: 3, patchSize: 2, expandFactor: 2, nClasses: 10, skip: true,
    conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros', orthoParams: 'test' } },
    pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: 16, outChannels: 16, groups: 8, bias: false, padding: 0, kernelSize: 8, stride: 8, orthoParams: 'test' } },
    lin: { type: 'OrthoLinear', options: { bias: false, orthoParams: 'test' } },
    norm: null,
    ...options,
  });
}

for (const [name, extra] of [['skip + MaxMin', {}], ['no skip, LayerCentering, GroupSort2', { skip: false, norm: 'LayerCentering2D', act: 'GroupSort2' }]] as const) {
  test(`PatchBasedExpandedCNN (${name}) is 1-Lipschitz: Jacobian, random pairs, adversarial pairs`, () => {
    torch.manualSeed(0);
    const model = smallModel(extra);
    model.to('float64');
    model.eval();
    for (let i = 0; i < 3; i++) {
      const norm = jacobianNorm(model, torch.randn([1, 3, 16, 16], { dtype: 'float64' }));
      assert.ok(norm <= 1 + TOL, `Jacobian spectral norm ${norm}`);
      assert.ok(norm > 0.3, `Jacobian norm ${norm} is implausibly small`);
    }
    const randomBest = randomPairRatio(model, [3, 16, 16], 64, 0.1);
    assert.ok(randomBest <= 1 + TOL, `random pairs ratio ${randomBest}`);
    const best = ascentPairRatio(model, [3, 16, 16], 8, 40);
    assert.ok(best <= 1 + TOL, `adversarial pairs reached ratio ${best}`);
    assert.ok(best > randomBest, `the ascent (${best}) did not beat random pairs (${randomBest}): too weak to be meaningful`);
  });
}

test('the seed-cifar10 preset has the seed\'s parameter counts and output shape', () => {
  const model = buildPreset('seed-cifar10');
  // The seed's torchinfo: 1,914,146 total = 1,783,308 trainable + 130,838 power-iteration vectors.
  assert.equal(model.numParameters(), 1_783_308);
  assert.equal(model.buffers().reduce((n, b) => n + b.numel(), 0), 130_838);
  const out = torch.noGrad(() => model.eval().forward(torch.randn([2, 3, 32, 32])) as Tensor);
  assert.deepEqual(out.shape, [2, 10]);
  model.dispose();
});

test('a model rebuilt from its JSON configuration has the same structure and, with its state dict, the same outputs', () => {
  torch.manualSeed(1);
  const model = buildPreset('fmnist-small');
  const config = JSON.parse(JSON.stringify(model.config));
  const rebuilt = buildModel(config);
  assert.deepEqual([...rebuilt.namedParameters()].map(([n, p]) => [n, p.shape]), [...model.namedParameters()].map(([n, p]) => [n, p.shape]));
  rebuilt.loadStateDict(model.stateDict());
  model.eval();
  rebuilt.eval();
  const x = torch.randn([3, 1, 28, 28]);
  const a = torch.noGrad(() => model.forward(x) as Tensor);
  const b = torch.noGrad(() => rebuilt.forward(x) as Tensor);
  assert.ok(a.allclose(b, 1e-6, 1e-6));
  assert.ok(MODEL_PRESETS['seed-cifar10']);
  assert.throws(() => buildModel({ architecture: 'Nope', options: {} }), /unknown architecture 'Nope'; known: PatchBasedExpandedCNN/);
  assert.throws(() => buildPreset('nope'), /unknown model preset 'nope'/);
});

test('ConvMixerInspired is 1-Lipschitz (exact Jacobian) and rebuilds from its configuration', () => {
  torch.manualSeed(2);
  const model = ConvMixerInspired({
    imgShape: [3, 8, 8], dim: 8, depth: 2, nClasses: 4,
    conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros', orthoParams: 'test' } },
    lin: { type: 'OrthoLinear', options: { bias: false, orthoParams: 'test' } },
  });
  model.to('float64');
  model.eval();
  for (let i = 0; i < 2; i++) {
    const norm = jacobianNorm(model, torch.randn([1, 3, 8, 8], { dtype: 'float64' }));
    assert.ok(norm <= 1 + TOL && norm > 0.05, `Jacobian spectral norm ${norm}`);
  }
  assert.ok(randomPairRatio(model, [3, 8, 8]) <= 1 + TOL);
  assert.ok(ascentPairRatio(model, [3, 8, 8], 4, 15) <= 1 + TOL);
  const rebuilt = buildModel(JSON.parse(JSON.stringify(model.config)));
  assert.deepEqual([...rebuilt.namedParameters()].map(([n]) => n), [...model.namedParameters()].map(([n]) => n));
});

test('SLLxBCOPResNet50 (small widths) is 1-Lipschitz on exact Jacobians and rebuilds from its configuration', () => {
  torch.manualSeed(3);
  const model = SLLxBCOPResNet50({ imgShape: [3, 32, 32], nClasses: 5, widths: [8, 8, 16, 16, 16], blocks: [1, 2, 1, 1], orthoParams: 'test' });
  model.to('float64');
  model.eval();
  const out = torch.noGrad(() => model.forward(torch.randn([2, 3, 32, 32], { dtype: 'float64' })) as Tensor);
  assert.deepEqual(out.shape, [2, 5]);
  for (let i = 0; i < 2; i++) {
    const norm = jacobianNorm(model, torch.randn([1, 3, 32, 32], { dtype: 'float64' }));
    assert.ok(norm <= 1 + TOL && norm > 0.01, `Jacobian spectral norm ${norm}`);
  }
  assert.ok(randomPairRatio(model, [3, 32, 32], 8) <= 1 + TOL);
  assert.ok(ascentPairRatio(model, [3, 32, 32], 2, 10) <= 1 + TOL);
  const rebuilt = buildModel(JSON.parse(JSON.stringify(model.config)));
  assert.deepEqual([...rebuilt.namedParameters()].map(([n, p]) => [n, p.shape]), [...model.namedParameters()].map(([n, p]) => [n, p.shape]));
});
