// The architectures of architectures-staged.ts, at small width and depth:
// output shape, exact Jacobian spectral norm ≤ 1 (and not a constant
// function), random and gradient-ascent pairs ≤ 1, in float64 with the 'test'
// orthogonalization, and a rebuild from the JSON configuration giving the
// same parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { FactoryModel } from '../src/models/factory-model.js';
import { Flatten, Sequential } from '../src/nn/index.js';
import { ascentPairRatio, jacobian, randomPairRatio } from './helpers/lipschitz.js';
import {
  AOCNetV1, BCOPLargeCNN, LPPool2d, LargeStagedCNN, LipResNet, LipVGG, MORE_ARCHITECTURES, PatchBasedCNN, SplitConcatNet, StagedCNN,
} from '../src/models/architectures-staged.js';
import { buildPreset } from '../src/models/presets.js';

torch.setNumThreads(1);
type Tensor = torch.Tensor;
const TOL = 1e-4;
const N_CLASSES = 4;

const conv = (options: Record<string, unknown> = {}) => ({
  type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros', orthoParams: 'test', ...options },
});
const lin = { type: 'OrthoLinear', options: { bias: false, orthoParams: 'test' } };

const builders = new Map(MORE_ARCHITECTURES);
const rebuild = (model: FactoryModel): FactoryModel => {
  const config = JSON.parse(JSON.stringify(model.config)) as FactoryModel['config'];
  return builders.get(config.architecture)!(config.options);
};
const paramShapes = (m: FactoryModel) => [...m.namedParameters()].map(([n, p]) => [n, p.shape]);

const CASES: [string, [number, number, number], () => FactoryModel][] = [
  ['PatchBasedCNN', [3, 16, 16], () => PatchBasedCNN({ imgShape: [3, 16, 16], dim: 8, depth: 2, nClasses: N_CLASSES, conv: conv(), lin })],
  ['StagedCNN', [3, 16, 16], () => StagedCNN({ imgShape: [3, 16, 16], dimRepeats: [[8, 1], [16, 1]], dimNbDense: [16, 1], nClasses: N_CLASSES, conv: conv(), lin })],
  ['StagedCNN (pool, no dense)', [3, 16, 16], () => StagedCNN({
    imgShape: [3, 16, 16], dimRepeats: [[8, 1], [8, 1], [16, 1]], dimNbDense: null, nClasses: N_CLASSES, conv: conv(), lin, norm: null,
    pool: 'ScaledAvgPool2d',
  })],
  ['LargeStagedCNN', [3, 16, 16], () => LargeStagedCNN({
    imgShape: [3, 16, 16], patchSize: 2, dimRepeats: [[8, 1], [16, 1]], dimNbDense: [16, 2], nClasses: N_CLASSES,
    conv: conv({ paddingMode: 'circular', kernelSize: 3, padding: 1 }), lin,
  })],
  ['AOCNetV1', [3, 32, 32], () => AOCNetV1({
    imgShape: [3, 32, 32], embeddingDim: 64, groups: 4, blockDepth: 1, nClasses: N_CLASSES, conv: conv(), lin,
  })],
  // Circular padding here: the last stages run on 2×2 and 1×1 maps, where zero-padded
  // 5×5 (or 3×3) convs keep only their central taps and the model, though 1-Lipschitz,
  // has a tiny gain; circular convs stay orthogonal at any map size. blockDepth 1: each
  // PrescaledAdditiveResidual (initVal 2) of a fresh model shrinks typical directions ~0.6×.
  ['SplitConcatNet-M2', [3, 64, 64], () => SplitConcatNet('M2', {
    imgShape: [3, 64, 64], embeddingDim: 32, blockDepth: 1, nClasses: N_CLASSES, conv: conv({ paddingMode: 'circular' }), lin,
  })],
  ['AOCNetV1 (groups null, no skip)', [3, 32, 32], () => AOCNetV1({
    imgShape: [3, 32, 32], embeddingDim: 32, groups: null, blockDepth: 1, skip: null, norm: null, nClasses: N_CLASSES, conv: conv({ paddingMode: 'circular' }), lin,
  })],
  ['LipResNet', [3, 32, 32], () => LipResNet({
    imgShape: [3, 32, 32], widths: [4, 8, 16, 32], blocks: [1, 2, 1, 1], nClasses: N_CLASSES, conv: conv(), lin,
  })],
  ['LipVGG', [3, 32, 32], () => LipVGG({ imgShape: [3, 32, 32], widths: [4, 8, 8, 16, 16], denseDim: 16, nClasses: N_CLASSES, conv: conv(), lin })],
  ['BCOPLargeCNN', [3, 16, 16], () => BCOPLargeCNN({
    imgShape: [3, 16, 16], nClasses: N_CLASSES, conv: conv({ bias: true, paddingMode: 'circular', padding: undefined }), lin,
  })],
];

for (const [name, shape, make] of CASES) {
  test(`${name}: output shape, exact Jacobian spectral norm ≤ 1, rebuild from JSON config`, () => {
    torch.manualSeed(3);
    const model = make();
    model.to('float64');
    model.eval();
    const out = torch.noGrad(() => model.forward(torch.randn([2, ...shape], { dtype: 'float64' })) as Tensor);
    assert.deepEqual(out.shape, [2, N_CLASSES]);
    for (let i = 0; i < 2; i++) {
      const norm = torch.scope(() => torch.linalg.matrixNorm(jacobian(model, torch.randn([1, ...shape], { dtype: 'float64' })), 2).item());
      assert.ok(norm <= 1 + TOL, `${name}: Jacobian spectral norm ${norm}`);
      assert.ok(norm > 0.05, `${name}: Jacobian spectral norm ${norm} is implausibly small (constant model?)`);
    }
    const random = randomPairRatio(model, shape);
    assert.ok(random <= 1 + TOL, `${name}: random pairs reach ratio ${random}`);
    const ascent = ascentPairRatio(model, shape, 4, 15);
    assert.ok(ascent <= 1 + TOL, `${name}: gradient-ascent pairs reach ratio ${ascent}`);
    assert.ok(ascent >= random * 0.999, `${name}: the ascent (${ascent}) should not fall below random pairs (${random})`);
    const rebuilt = rebuild(model);
    assert.equal(rebuilt.config.architecture, model.config.architecture);
    assert.deepEqual(paramShapes(rebuilt), paramShapes(model));
    model.dispose();
    rebuilt.dispose();
  });
}

test('AOCNetV1 with its default UnitNormLinear head: each logit is 1-Lipschitz', () => {
  torch.manualSeed(4);
  const model = AOCNetV1({ imgShape: [3, 32, 32], embeddingDim: 32, groups: 2, blockDepth: 1, nClasses: N_CLASSES, conv: conv() });
  model.to('float64');
  model.eval();
  const rowNorms = torch.scope(() => jacobian(model, torch.randn([1, 3, 32, 32], { dtype: 'float64' })).norm(2, 1).max().item());
  assert.ok(rowNorms <= 1 + TOL && rowNorms > 0.05, `largest logit gradient norm ${rowNorms}`);
  model.dispose();
});

test('StagedCNN with its defaults builds, runs on 32×32 inputs and leaves the caller\'s dimRepeats alone', () => {
  const dimRepeats: [number, number][] = [[8, 2], [16, 2]];
  const model = StagedCNN({ dimRepeats });
  assert.deepEqual(dimRepeats, [[8, 2], [16, 2]]);
  const out = torch.noGrad(() => model.eval().forward(torch.randn([2, 3, 32, 32])) as Tensor);
  assert.deepEqual(out.shape, [2, 10]);
  model.dispose();
});

test('LPPool2d is the ℓp norm of each window (even p) and refuses what is not 1-Lipschitz', () => {
  const x = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], { dtype: 'float64' }).reshape([1, 1, 4, 4]);
  const y = new LPPool2d(2, 2).forward(x);
  const expected = [[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]].map((w) => Math.hypot(...w));
  assert.deepEqual(y.shape, [1, 1, 2, 2]);
  (y.flatten().toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12));
  assert.throws(() => new LPPool2d(1, 2), /normType 1 is refused: below 2 the pool is not 1-Lipschitz/);
  assert.throws(() => new LPPool2d(3, 2), /normType 3 is refused: .*without \|x\|.*only an even p/);
  assert.throws(() => new LPPool2d(2.5, 2), /normType 2\.5 is refused/);
  // An even p > 2 is the ℓp norm of each window (1-Lipschitz in ℓ2: its gradient has unit ℓq norm, q ≤ 2).
  const y4 = new LPPool2d(4, 2).forward(x.neg());
  const expected4 = [[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]].map((w) => w.reduce((s, v) => s + v ** 4, 0) ** 0.25);
  (y4.flatten().toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - expected4[i]!) < 1e-9, `p = 4, window ${i}: ${v} vs ${expected4[i]}`));
  const xs = torch.randn([1, 2, 6, 6], { dtype: 'float64' });
  const J = jacobian(new Sequential(new LPPool2d(4, 2), new Flatten()), xs);
  const sigma = torch.linalg.svdvals(J).max().item();
  assert.ok(sigma <= 1 + 1e-9 && sigma > 0.5, `p = 4 pool Jacobian spectral norm ${sigma}`);
  assert.throws(() => new LPPool2d(2, 3, 1), /overlap/);
});

test('MORE_ARCHITECTURES names every builder once', () => {
  const names = MORE_ARCHITECTURES.map(([n]) => n);
  assert.equal(new Set(names).size, names.length);
  for (const n of ['PatchBasedCNN', 'StagedCNN', 'LargeStagedCNN', 'AOCNetV1', 'LipResNet', 'LipVGG', 'BCOPLargeCNN', 'SplitConcatNet-M', 'SplitConcatNet-M2']) {
    assert.ok(names.includes(n), n);
  }
});

test('the seed preset evaluates to finite logits straight after construction (power iteration warmed up at registration)', () => {
  for (const seed of [0, 1, 2, 3]) {
    torch.manualSeed(seed);
    const model = buildPreset('seed-cifar10').eval();
    const logits = torch.noGrad(() => model.forward(torch.randn([2, 3, 32, 32])) as torch.Tensor);
    assert.ok(logits.isfinite().all().item(), `seed ${seed}: non-finite logits at initialization`);
    logits.dispose();
    model.dispose();
  }
});

test('every architecture gives the same logits and gradients in channels-last (the CPU default) as in NCHW', () => {
  for (const [name, shape, make] of CASES) {
    torch.manualSeed(5);
    const model = make();
    model.to('float64');
    const x = torch.randn([2, ...shape], { dtype: 'float64' });
    // batch-centering layers update running means in training mode: both runs start from the same state
    const initial = new Map([...model.stateDict()].map(([k, v]) => [k, v.clone()]));
    const run = (format: FactoryModel['memoryFormat']) => torch.scope(() => {
      model.loadStateDict(initial);
      model.memoryFormat = format;
      model.zeroGrad();
      const out = model.forward(x) as Tensor;
      out.square().sum().backward();
      return { out: out.detach(), grads: [...model.parameters()].map((p) => p.grad?.clone() ?? null) };
    });
    const nchw = run('contiguous');
    const nhwc = run('channelsLast');
    assert.ok(nhwc.out.sub(nchw.out).abs().max().item() < 1e-10, `${name}: logits differ`);
    nchw.grads.forEach((g, i) => {
      const other = nhwc.grads[i]!;
      if (g === null || other === null) assert.equal(other, g, `${name}: gradient ${i} missing in one layout`);
      else assert.ok(other.sub(g).abs().max().item() < 1e-9, `${name}: gradient ${i} differs`);
    });
    torch.dispose([nchw, nhwc, x, initial]);
    model.dispose();
  }
});
