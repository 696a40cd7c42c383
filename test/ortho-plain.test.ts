// A trained orthogonal network can leave as plain layers with explicit
// weights: same outputs, plain layer types, no reparametrization left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import * as nn from '../src/nn/index.js';
import { AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, OrthoLinear, UnitNormLinear, toPlainModel } from '../src/ortho/index.js';
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
