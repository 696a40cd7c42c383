// Activation modules, Conv1d and the parameter-free reshaping / resampling /
// pooling layers against PyTorch 1.13 (python3-torch) in float64: outputs,
// input gradients, parameter gradients and state-dict names; Dropout2d's
// channel statistics; bad options; no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, nn } from '../src/index.js';
import { randomTensor } from './helpers/gradcheck.js';
import { RUN_STEPS_PY, assertStepsMatch, hasTorch, runTorch, skipWithoutTorch, stepsSpec } from './helpers/pytorch.js';
import type { ModuleStep } from './helpers/pytorch.js';

const { F } = torch;
type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };

let seed = 500;
const rnd = (shape: number[], lo = -1, hi = 1): Tensor => torch.keep(randomTensor(shape, seed++, lo, hi));
/** An eval step whose output shape is given separately (for the projection). */
const step = (inShape: number[], outShape: number[] = inShape, lo = -4, hi = 4): ModuleStep => ({ x: rnd(inShape, lo, hi), proj: rnd(outShape), train: false });

interface Case { ours: nn.Module; python: string; steps: ModuleStep[] }
const cases: Record<string, Case> = {};
const add = (name: string, ours: nn.Module, python: string, steps: ModuleStep[]): void => { cases[name] = { ours, python, steps }; };

const act = [4, 3, 5];
add('GELU', new nn.GELU(), 'nn.GELU()', [step(act)]);
add('GELU_tanh', new nn.GELU({ approximate: 'tanh' }), "nn.GELU(approximate='tanh')", [step(act)]);
add('SiLU', new nn.SiLU(), 'nn.SiLU()', [step(act)]);
add('LeakyReLU', new nn.LeakyReLU({ negativeSlope: 0.2 }), 'nn.LeakyReLU(0.2)', [step(act)]);
add('LeakyReLU_default', new nn.LeakyReLU(), 'nn.LeakyReLU()', [step(act)]);
add('ELU', new nn.ELU({ alpha: 0.5 }), 'nn.ELU(alpha=0.5)', [step(act)]);
const prelu = new nn.PReLU({ numParameters: 3, init: 0.1, dtype: 'float64' });
torch.noGrad(() => { const w = randomTensor([3], 9, -0.5, 0.5); prelu.weight.copy_(w); w.dispose(); });
add('PReLU', prelu, 'nn.PReLU(num_parameters=3)', [step(act), step([2, 3, 2, 2])]);
add('PReLU_single', new nn.PReLU(f64), 'nn.PReLU()', [step(act)]);
add('Tanh', new nn.Tanh(), 'nn.Tanh()', [step(act)]);
add('Sigmoid', new nn.Sigmoid(), 'nn.Sigmoid()', [step(act)]);
add('Softplus', new nn.Softplus({ beta: 2, threshold: 3 }), 'nn.Softplus(beta=2, threshold=3)', [step(act)]);
add('Softplus_default', new nn.Softplus(), 'nn.Softplus()', [step(act, act, -30, 30)]);
add('Hardswish', new nn.Hardswish(), 'nn.Hardswish()', [step(act)]);
add('Mish', new nn.Mish(), 'nn.Mish()', [step(act)]);
add('Softmax', new nn.Softmax(1), 'nn.Softmax(dim=1)', [step(act)]);
add('LogSoftmax', new nn.LogSoftmax(-1), 'nn.LogSoftmax(dim=-1)', [step(act)]);

add('Conv1d', new nn.Conv1d(4, 6, 3, { stride: 2, padding: 1, groups: 2, dtype: 'float64' }), 'nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2)',
  [step([2, 4, 9], [2, 6, 5])]);
add('Conv1d_same_circular', new nn.Conv1d(3, 2, 4, { padding: 'same', dilation: 2, paddingMode: 'circular', bias: false, dtype: 'float64' }),
  "nn.Conv1d(3, 2, 4, padding='same', dilation=2, padding_mode='circular', bias=False)", [step([2, 3, 10], [2, 2, 10])]);
add('Conv1d_unbatched_reflect', new nn.Conv1d(2, 3, 3, { padding: 2, paddingMode: 'reflect', dtype: 'float64' }),
  "nn.Conv1d(2, 3, 3, padding=2, padding_mode='reflect')", [step([2, 8], [3, 10])]);
add('Upsample_nearest', new nn.Upsample({ scaleFactor: 2 }), "nn.Upsample(scale_factor=2)", [step([2, 3, 3, 4], [2, 3, 6, 8])]);
add('Upsample_nearest_size', new nn.Upsample({ size: [5, 7] }), "nn.Upsample(size=(5, 7))", [step([1, 2, 3, 4], [1, 2, 5, 7])]);
add('Upsample_bilinear', new nn.Upsample({ scaleFactor: 1.5, mode: 'bilinear' }), "nn.Upsample(scale_factor=1.5, mode='bilinear')",
  [step([1, 2, 4, 4], [1, 2, 6, 6])]);
add('Upsample_bilinear_corners', new nn.Upsample({ size: [5, 6], mode: 'bilinear', alignCorners: true }),
  "nn.Upsample(size=(5, 6), mode='bilinear', align_corners=True)", [step([2, 1, 3, 4], [2, 1, 5, 6])]);
add('Upsample_bicubic', new nn.Upsample({ scaleFactor: 1.5, mode: 'bicubic' }), "nn.Upsample(scale_factor=1.5, mode='bicubic')",
  [step([2, 3, 3, 4], [2, 3, 4, 6])]);
add('Upsample_bicubic_corners', new nn.Upsample({ size: [5, 7], mode: 'bicubic', alignCorners: true }),
  "nn.Upsample(size=(5, 7), mode='bicubic', align_corners=True)", [step([1, 2, 3, 4], [1, 2, 5, 7])]);
add('Upsample_area_size', new nn.Upsample({ size: [2, 3], mode: 'area' }), "nn.Upsample(size=(2, 3), mode='area')", [step([2, 3, 5, 7], [2, 3, 2, 3])]);
add('Upsample_area_scale', new nn.Upsample({ scaleFactor: [0.5, 1.5], mode: 'area' }), "nn.Upsample(scale_factor=(0.5, 1.5), mode='area')",
  [step([1, 2, 5, 3], [1, 2, 2, 4])]);
add('Unflatten', new nn.Unflatten(1, [2, 3]), 'nn.Unflatten(1, (2, 3))', [step([4, 6, 2], [4, 2, 3, 2])]);
add('AdaptiveMaxPool2d', new nn.AdaptiveMaxPool2d([2, 3]), 'nn.AdaptiveMaxPool2d((2, 3))', [step([2, 3, 5, 7], [2, 3, 2, 3])]);
add('AdaptiveMaxPool2d_int', new nn.AdaptiveMaxPool2d(3), 'nn.AdaptiveMaxPool2d(3)', [step([1, 2, 6, 6], [1, 2, 3, 3])]);
add('ZeroPad2d', new nn.ZeroPad2d([1, 2, 0, 3]), 'nn.ZeroPad2d((1, 2, 0, 3))', [step([2, 3, 4, 4], [2, 3, 7, 7])]);
add('ZeroPad2d_int', new nn.ZeroPad2d(1), 'nn.ZeroPad2d(1)', [step([3, 2, 2], [3, 4, 4])]);
add('PixelShuffle', new nn.PixelShuffle(2), 'nn.PixelShuffle(2)', [step([2, 8, 3, 3], [2, 2, 6, 6])]);
add('PixelUnshuffle', new nn.PixelUnshuffle(2), 'nn.PixelUnshuffle(2)', [step([2, 2, 4, 6], [2, 8, 2, 3])]);

const reference = hasTorch ? runTorch(`${RUN_STEPS_PY}
for name, spec in inp.items():
    out[name] = run_steps(eval(spec['python']), spec)
`, Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, { python: c.python, ...(stepsSpec(c.ours, c.steps) as object) }]))) : null;

for (const name of Object.keys(cases)) {
  test(`${name}: output, input and parameter gradients match PyTorch`, { skip: skipWithoutTorch }, () => {
    const c = cases[name];
    assertStepsMatch(c.ours, c.steps, reference[name], undefined, name);
  });
}

test('Dropout2d zeroes whole channels with probability p and scales the others by 1/(1-p)', () => {
  torch.scope(() => {
    torch.manualSeed(1);
    const x = torch.ones([64, 32, 3, 3], f64);
    const d = new nn.Dropout2d(0.25);
    const y = d.forward(x);
    const perChannel = y.flatten(2).toArray() as number[][][];
    let zeros = 0;
    for (const sample of perChannel) for (const channel of sample) {
      const v = channel[0];
      assert.ok(channel.every((u) => u === v), 'a channel is dropped or kept whole');
      assert.ok(v === 0 || Math.abs(v - 1 / 0.75) < 1e-15, `kept values are scaled by 1/(1-p), got ${v}`);
      if (v === 0) zeros++;
    }
    const rate = zeros / (64 * 32);
    assert.ok(Math.abs(rate - 0.25) < 0.05, `dropped fraction ${rate}`);
    d.eval();
    assert.ok(d.forward(x).equal(x), 'identity in eval');
    assert.ok(F.dropout2d(x, 0).equal(x), 'p = 0 keeps everything');
    assert.equal(F.dropout2d(x, 1).abs().sum().item(), 0, 'p = 1 drops everything');
    const unbatched = F.dropout2d(torch.ones([16, 2, 2], f64), 0.5);
    assert.deepEqual(unbatched.shape, [16, 2, 2]);
  });
});

test('AdaptiveMaxPool2d gives its indices on request, and Module.requiresGrad_ freezes parameters', () => {
  torch.scope(() => {
    const x = torch.arange(16, undefined, 1, f64).reshape([1, 1, 4, 4]);
    const { values, indices } = new nn.AdaptiveMaxPool2d(2).forwardWithIndices(x);
    assert.deepEqual(values.toArray(), [[[[5, 7], [13, 15]]]]);
    assert.deepEqual(indices.toArray(), [[[[5, 7], [13, 15]]]]);
    const net = new nn.Sequential(new nn.Conv1d(2, 2, 1), new nn.PReLU());
    net.requiresGrad_(false);
    assert.ok(net.parameters().every((p) => !p.requiresGrad));
    assert.equal(net.numParameters({ trainableOnly: true }), 0);
    net.requiresGrad_();
    assert.ok(net.parameters().every((p) => p.requiresGrad));
    net.dispose();
  });
});

test('bad options and inputs are rejected with messages naming the problem', () => {
  assert.throws(() => new nn.GELU({ approximate: 'erf' as 'none' }), /GELU: approximate must be 'none' or 'tanh', got 'erf'/);
  assert.throws(() => new nn.PReLU({ numParameters: 3 }).forward(torch.ones([2, 4, 5])), /weight has 3 parameters but the input has 4 channels/);
  assert.throws(() => new nn.PReLU({ numParameters: 0 }), /numParameters must be a positive integer/);
  assert.throws(() => new nn.Softplus({ beta: 0 }), /beta must be a finite non-zero number/);
  assert.throws(() => new nn.LeakyReLU({ negativeSlope: NaN }), /negativeSlope must be a finite number/);
  assert.throws(() => new nn.Softmax(0.5), /dim must be an integer/);
  assert.throws(() => new nn.Dropout2d(1.5), /Dropout2d: p must be in \[0, 1\], got 1.5/);
  assert.throws(() => new nn.Dropout2d().forward(torch.ones([2, 3])), /dropout2d: expected an input \[N, C, H, W\] or \[C, H, W\]/);
  assert.throws(() => new nn.Upsample({}), /exactly one of size and scaleFactor/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, alignCorners: true }), /alignCorners can only be set with the interpolating modes 'linear', 'bilinear', 'bicubic' and 'trilinear', got mode 'nearest'/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, mode: 'area', alignCorners: false }), /Upsample: alignCorners can only be set with the interpolating modes/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, mode: 'lanczos' as 'nearest' }), /mode must be one of 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area', got 'lanczos'/);
  assert.throws(() => F.interpolate(torch.ones([1, 1, 2, 2]), { size: 3, mode: 'lanczos' as 'nearest' }), /interpolate: mode must be one of/);
  assert.throws(() => F.interpolate(torch.ones([1, 1, 2, 2]), { size: 3, mode: 'area', alignCorners: true }), /interpolate: alignCorners can only be set with the interpolating modes/);
  assert.throws(() => new nn.Upsample({ scaleFactor: -1 }), /scaleFactor must be finite and > 0/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(torch.ones([2, 3, 4])), /Upsample: mode 'bilinear' needs a 4D input \[N, C, H, W\], got 3D input/);
  assert.throws(() => new nn.Unflatten(1, [4, 2]).forward(torch.ones([2, 6])), /dim 1 of shape \[2, 6\] cannot be split into \[4, 2\]/);
  assert.throws(() => new nn.Unflatten(1, []), /unflattenedSize must be a non-empty list/);
  assert.throws(() => new nn.ZeroPad2d([1, 2] as unknown as [number, number, number, number]), /padding must be an integer or 4 integers/);
  assert.throws(() => new nn.PixelShuffle(2).forward(torch.ones([1, 6, 2, 2])), /channels \(dim -3\) .* must be divisible by upscaleFactor² = 4/);
  assert.throws(() => new nn.PixelUnshuffle(2).forward(torch.ones([1, 1, 3, 4])), /must be divisible by downscaleFactor 2/);
  assert.throws(() => new nn.PixelShuffle(0), /upscaleFactor must be a positive integer/);
  assert.throws(() => new nn.AdaptiveMaxPool2d(0), /outputSize must be positive integers/);
  assert.throws(() => new nn.Conv1d(3, 2, 3).forward(torch.ones([1, 4, 8])), /Conv1d: input has 4 channels, expected 3/);
  assert.throws(() => new nn.Conv1d(3, 2, 3).forward(torch.ones([1, 3, 8, 8])), /Conv1d: expected input \[N, C, L\]/);
  assert.throws(() => new nn.Conv1d(3, 2, 3, { groups: 2 }), /divisible by groups/);
  assert.throws(() => new nn.Conv1d(3, 2, 3, { stride: 2, padding: 'same' }), /'same' is only supported with stride 1/);
  assert.throws(() => new nn.Conv1d(3, 2, 3, { paddingMode: 'mirror' as 'zeros' }), /paddingMode must be/);
});

test('forward frees every intermediate tensor', () => {
  const x = torch.keep(torch.randn([2, 4, 6, 6]));
  const layers: nn.Module[] = [new nn.GELU(), new nn.PReLU({ numParameters: 4 }), new nn.Softplus(), new nn.Dropout2d(), new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }),
    new nn.AdaptiveMaxPool2d(2), new nn.ZeroPad2d(1), new nn.PixelShuffle(2), new nn.PixelUnshuffle(2), new nn.Unflatten(1, [2, 2])];
  const conv = new nn.Conv1d(4, 2, 3, { padding: 'same', paddingMode: 'reflect' });
  for (const m of [...layers, conv]) {
    const input = m === conv ? x.flatten(2) : x;
    m.forward(input);
    const before = torch.memoryStats().liveTensors;
    (m.forward(input) as Tensor).dispose();
    assert.equal(torch.memoryStats().liveTensors, before, `${m.typeName} left tensors alive`);
    m.dispose();
    if (input !== x) input.dispose();
  }
  x.dispose();
});
