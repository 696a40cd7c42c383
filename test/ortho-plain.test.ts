// A trained orthogonal network can leave as plain layers with explicit
// weights: same outputs, plain layer types, no reparametrization left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import * as nn from '../src/nn/index.js';
import { AOLConv2D, AOLConvTranspose2D, AOLLinear, AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, OrthoLinear, SLLxAOCLipschitzResBlock, UnitNormLinear, toPlainModel } from '../src/ortho/index.js';
import { MODEL_PRESETS, buildModel, buildPreset } from '../src/models/index.js';
import { SGD } from '../src/optim/index.js';

test('toPlainModel keeps the outputs of a trained model and leaves only plain layers', () => {
  torch.manualSeed(0);
  const model = new nn.Sequential(
    AdaptiveOrthoConv2d({ inChannels: 3, outChannels: 8, kernelSize: 2, stride: 2, padding: 'valid' }),
    AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, groups: 2 }),
    AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, paddingMode: 'zeros' }),
    AdaptiveOrthoConvTranspose2d({ inChannels: 16, outChannels: 8, kernelSize: 2, stride: 2 }),
    new nn.Flatten(),
    new OrthoLinear(8 * 4 * 4, 12),
    new UnitNormLinear(12, 10),
  );
  const optimizer = new SGD(model.parameters(), { lr: 0.05 });
  const x = torch.randn([4, 3, 8, 8]);
  for (let i = 0; i < 3; i++) {
    torch.scope(() => {
      optimizer.zeroGrad();
      (model.forward(x) as torch.Tensor).square().mean().backward();
      optimizer.step();
    });
  }
  model.eval();
  const before = torch.noGrad(() => model.forward(x) as torch.Tensor);
  const plain = toPlainModel(model);
  const after = torch.noGrad(() => plain.forward(x) as torch.Tensor);
  const diff = before.sub(after).abs().max().item();
  assert.ok(diff <= 1e-5, `max abs difference ${diff}`);
  const types = [...plain.modules()].map((m) => m.typeName);
  assert.deepEqual(types, ['Sequential', 'Conv2d', 'Conv2d', 'Conv2d', 'ConvTranspose2d', 'Flatten', 'Linear', 'Linear']);
  assert.ok([...plain.namedParameters()].every(([name]) => !name.includes('parametrizations')));
  assert.equal((plain.getSubmodule('1') as nn.Conv2d).paddingMode, 'circular');
});

test('toPlainModel on a single orthogonal layer returns the plain layer', () => {
  const layer = AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3 });
  layer.eval();
  const x = torch.randn([2, 4, 6, 6]);
  const expected = torch.noGrad(() => layer.forward(x));
  const plain = toPlainModel(layer);
  assert.ok(plain instanceof nn.Conv2d);
  assert.ok(torch.noGrad(() => plain.forward(x) as torch.Tensor).allclose(expected, 1e-5, 1e-6));
});

test('toPlainModel turns AOL layers into plain layers with the rescaled weights, and keeps the seed-like presets', () => {
  torch.manualSeed(3);
  const model = new nn.Sequential(
    new AOLConv2D({ inChannels: 3, outChannels: 6, kernelSize: 3, padding: 1, paddingMode: 'circular' }),
    new AOLConvTranspose2D({ inChannels: 6, outChannels: 4, kernelSize: 2, stride: 2 }),
    new nn.Flatten(),
    new AOLLinear({ inFeatures: 4 * 8 * 8, outFeatures: 5 }),
  );
  model.eval();
  const x = torch.randn([2, 3, 4, 4]);
  const before = torch.noGrad(() => model.forward(x) as torch.Tensor);
  const plain = toPlainModel(model);
  assert.deepEqual([...plain.modules()].map((m) => m.typeName), ['Sequential', 'Conv2d', 'ConvTranspose2d', 'Flatten', 'Linear']);
  assert.ok([...plain.namedParameters()].every(([name]) => !name.includes('parametrizations')));
  const diff = torch.noGrad(() => (plain.forward(x) as torch.Tensor).sub(before).abs().max().item());
  assert.ok(diff <= 1e-5, `max abs difference ${diff}`);

  // fmnist-small, and the seed-cifar10 design at a CPU-friendly width and depth.
  const seedLike = { ...MODEL_PRESETS['seed-cifar10'].options, dim: 64, depth: 2, pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: 64, outChannels: 64, groups: 32, bias: false, padding: 0, kernelSize: 16, stride: 16 } } };
  const models: [string, () => nn.Module, number[]][] = [
    ['fmnist-small', () => buildPreset('fmnist-small'), [2, 1, 28, 28]],
    ['seed-cifar10 at dim 64, depth 2', () => buildModel({ architecture: 'PatchBasedExpandedCNN', options: seedLike }), [2, 3, 32, 32]],
  ];
  for (const [preset, build, shape] of models) {
    const m = build();
    m.eval();
    const input = torch.randn(shape);
    const expected = torch.noGrad(() => m.forward(input) as torch.Tensor);
    assert.ok(expected.isfinite().all().item(), `${preset}: non-finite outputs`);
    const p = toPlainModel(m);
    const d = torch.noGrad(() => (p.forward(input) as torch.Tensor).sub(expected).abs().max().item());
    assert.ok(d <= 1e-5, `${preset}: max abs difference ${d}`);
    assert.ok([...p.namedParameters()].every(([name]) => !name.includes('parametrizations')), `${preset}: parametrizations left`);
    p.dispose();
  }
});

test('toPlainModel inside the SLL×AOC block: the block reads the plain convolutions that replace its orthogonal ones', () => {
  torch.manualSeed(5);
  const block = new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 8, innerDimFactor: 2, kernelSize: 3, stride: 2 });
  block.eval();
  const x = torch.randn([2, 4, 8, 8]);
  const expected = torch.noGrad(() => block.forward(x));
  const plain = toPlainModel(block) as SLLxAOCLipschitzResBlock;
  assert.equal(plain.getSubmodule('pre_conv').typeName, 'Conv2d');
  assert.equal(plain.getSubmodule('post_conv').typeName, 'Conv2d');
  assert.ok(plain.preConv instanceof nn.Conv2d && plain.postConv instanceof nn.Conv2d);
  const diff = torch.noGrad(() => plain.forward(x).sub(expected).abs().max().item());
  assert.ok(diff <= 1e-5, `max abs difference ${diff}`);
});
