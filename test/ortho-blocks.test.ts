// The 1-Lipschitz building blocks: activations, residuals, pooling,
// centering and channel shuffle, each against values computed here and
// against the Lipschitz bound on the dense operator or on random pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Module } from '../src/nn/index.js';
import { AdaptiveOrthoConv2d } from '../src/ortho/index.js';
import { Abs, GroupSort2, HouseHolder, HouseHolderOrder2, MaxMin, SoftHuber } from '../src/ortho/blocks/activations.js';
import { AdditiveResidual, ConcatResidual, L2NormResidual, PrescaledAdditiveResidual } from '../src/ortho/blocks/residual.js';
import { GlobalScaledAvgPool2d, ScaledAvgPool2d } from '../src/ortho/blocks/pooling.js';
import { BatchCentering2D, LayerCentering2D } from '../src/ortho/blocks/normalization.js';
import { ChannelShuffle } from '../src/ortho/blocks/channel-shuffle.js';

type Tensor = torch.Tensor;

/** max over random nearby pairs of ‖f(x) − f(y)‖ / ‖x − y‖. */
function pairRatio(f: Module, shape: number[], scale = 1): number {
  return torch.noGrad(() => torch.scope(() => {
    const x = torch.randn(shape, { dtype: 'float64' }).mul(scale);
    const y = x.add(torch.randn(shape, { dtype: 'float64' }).mul(0.05 * scale));
    const fx = f.forward(x) as Tensor;
    const fy = f.forward(y) as Tensor;
    return fx.sub(fy).flatten(1).norm(2, 1).div(x.sub(y).flatten(1).norm(2, 1)).max().item();
  }));
}

test('MaxMin returns [max(a, b), min(a, b)] of the channel halves; GroupSort2 sorts adjacent pairs', () => {
  const x = torch.tensor([[3, -1, 2, 5], [0, 4, -2, -3]]);
  assert.deepEqual(new MaxMin(1).forward(x).toArray(), [[3, 5, 2, -1], [0, 4, -2, -3]]);
  assert.deepEqual(new GroupSort2(1).forward(x).toArray(), [[3, -1, 5, 2], [4, 0, -2, -3]]);
  assert.throws(() => new MaxMin(1).forward(torch.ones([1, 3])), /even size/);
});

test('activations are 1-Lipschitz and the sorting ones preserve the norm', () => {
  torch.manualSeed(0);
  for (const act of [new MaxMin(), new GroupSort2(), new Abs(), new SoftHuber(0.1), new HouseHolder(8), new HouseHolderOrder2(8)]) {
    act.to('float64');
    const r = pairRatio(act, [32, 8, 3, 3]);
    assert.ok(r <= 1 + 1e-9, `${act.typeName}: ratio ${r}`);
  }
  const x = torch.randn([16, 8, 3, 3], { dtype: 'float64' });
  for (const act of [new MaxMin(), new GroupSort2(), new Abs()]) {
    assert.ok((act.forward(x) as Tensor).norm().sub(x.norm()).abs().item() < 1e-10, act.typeName);
  }
  // SoftHuber: δ(√(1 + (z/δ)²) − 1) at z = 0.3, δ = 0.1
  assert.ok(Math.abs((new SoftHuber(0.1).forward(torch.tensor([0.3], { dtype: 'float64' })) as Tensor).item() - 0.1 * (Math.sqrt(10) - 1)) < 1e-12);
});

test('HouseHolder reflections are learned: gradients reach theta', () => {
  for (const act of [new HouseHolder(4), new HouseHolderOrder2(4)]) {
    (act.forward(torch.randn([8, 4, 2, 2])) as Tensor).square().sum().backward();
    for (const p of act.parameters()) assert.ok(p.grad!.abs().sum().item() > 0, act.typeName);
  }
});

test('residual blocks stay 1-Lipschitz around a 1-Lipschitz branch and compute their formulas', () => {
  torch.manualSeed(1);
  const branch = () => AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, bias: false, orthoParams: 'test' });
  for (const block of [new AdditiveResidual(branch(), 0.3), new PrescaledAdditiveResidual(branch(), 2.0), new L2NormResidual(branch())]) {
    block.to('float64');
    block.eval();
    assert.ok(pairRatio(block, [16, 4, 6, 6]) <= 1 + 1e-4, block.typeName);
  }
  const concat = new ConcatResidual(branch());
  concat.to('float64');
  concat.eval();
  assert.ok(pairRatio(concat, [16, 8, 6, 6]) <= 1 + 1e-4);
  // Formulas, with a known branch (x ↦ 2x is not 1-Lipschitz, which is fine for checking arithmetic).
  class Double extends Module { forward(x: Tensor): Tensor { return x.mul(2); } }
  const x = torch.tensor([[1.5]], { dtype: 'float64' });
  const gate = 1 / (1 + Math.exp(-0.3));
  assert.ok(Math.abs((new AdditiveResidual(new Double(), 0.3).to('float64').forward(x) as Tensor).item() - (gate * 1.5 + (1 - gate) * 3)) < 1e-7); // alpha starts as float32
  assert.ok(Math.abs((new PrescaledAdditiveResidual(new Double(), -0.5).to('float64').forward(x) as Tensor).item() - (1.5 + 2 * -0.5 * 1.5) / 1.5) < 1e-9);
  assert.ok(Math.abs((new L2NormResidual(new Double()).to('float64').forward(x) as Tensor).item() - Math.sqrt(0.5 * 2.25 + 0.5 * 9 + 1e-6)) < 1e-9);
});

test('scaled average pooling is 1-Lipschitz and exact on constant windows', () => {
  const pool = new ScaledAvgPool2d(4);
  const x = torch.full([1, 2, 8, 8], 3, { dtype: 'float64' });
  // A constant window of value 3 over 16 pixels has norm 12; the pooled value must keep it.
  assert.ok(Math.abs((pool.forward(x) as Tensor).norm().item() - x.norm().item()) < 1e-9);
  assert.ok(pairRatio(pool, [8, 2, 8, 8]) <= 1 + 1e-9);
  assert.ok(pairRatio(new GlobalScaledAvgPool2d(), [8, 2, 8, 8]) <= 1 + 1e-9);
  assert.throws(() => new ScaledAvgPool2d(4, 2), /overlap/);
});

test('centering layers remove means (and BatchCentering tracks a running mean)', () => {
  const x = torch.randn([4, 3, 5, 5], { dtype: 'float64' }).add(2);
  const layer = new LayerCentering2D(3).to('float64');
  const out = layer.forward(x) as Tensor;
  assert.ok(out.mean([-2, -1]).abs().max().item() < 1e-12);
  assert.ok(pairRatio(layer, [8, 3, 5, 5]) <= 1 + 1e-9);
  const bc = new BatchCentering2D(3, 0.5).to('float64');
  bc.forward(x);
  const expected = x.mean([0, -2, -1], { keepdim: true }).mul(0.5);
  assert.ok(bc.getBuffer('running_mean')!.allclose(expected, 1e-12, 1e-12));
  bc.eval();
  assert.ok((bc.forward(x) as Tensor).allclose(x.sub(expected), 1e-12, 1e-12));
});

test('ChannelShuffle is the permutation Orthogonium uses', () => {
  const x = torch.arange(6, undefined, 1, { dtype: 'float32' }).view(1, 6, 1, 1);
  // groupIn 2, groupOut 3: output = concat of x[:, i::3] for i = 0, 1, 2
  assert.deepEqual((new ChannelShuffle(2, 3).forward(x) as Tensor).flatten().toArray(), [0, 3, 1, 4, 2, 5]);
  assert.throws(() => new ChannelShuffle(2, 2).forward(x), /expected groupIn × groupOut = 4/);
});
