// Conv3d, ConvTranspose1d/3d (and Conv2d / ConvTranspose2d after their move
// onto the shared N-d bases), MaxPool1d/3d, AvgPool1d/3d,
// AdaptiveAvgPool1d/3d and AdaptiveMaxPool1d/3d against PyTorch 1.13
// (python3-torch) in float64: outputs, input and parameter gradients,
// state-dict names, argmax indices, PyTorch checkpoints, default
// initialization bounds; finite differences; bad options and inputs; no
// leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch, nn } from '../src/index.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';
import { RUN_STEPS_PY, assertMatchesTorch, assertStepsMatch, describe, hasTorch, runTorch, skipWithoutTorch, stepsSpec } from './helpers/pytorch.js';
import type { ModuleStep } from './helpers/pytorch.js';

type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };

let seed = 1700;
const rnd = (shape: number[], lo = -1, hi = 1): Tensor => torch.keep(randomTensor(shape, seed++, lo, hi));
const step = (inShape: number[], outShape: number[]): ModuleStep => ({ x: rnd(inShape, -3, 3), proj: rnd(outShape), train: false });

interface Case { ours: nn.Module; python: string; steps: ModuleStep[] }
const cases: Record<string, Case> = {};
const add = (name: string, ours: nn.Module, python: string, ...steps: ModuleStep[]): void => { cases[name] = { ours, python, steps }; };

add('Conv3d', new nn.Conv3d(4, 6, 3, { stride: 2, padding: 1, groups: 2, dtype: 'float64' }), 'nn.Conv3d(4, 6, 3, stride=2, padding=1, groups=2)',
  step([2, 4, 5, 6, 5], [2, 6, 3, 3, 3]));
add('Conv3d_same_circular', new nn.Conv3d(3, 2, [2, 3, 1], { padding: 'same', dilation: [1, 2, 1], paddingMode: 'circular', bias: false, dtype: 'float64' }),
  "nn.Conv3d(3, 2, (2, 3, 1), padding='same', dilation=(1, 2, 1), padding_mode='circular', bias=False)", step([1, 3, 4, 5, 3], [1, 2, 4, 5, 3]));
add('Conv3d_reflect_unbatched', new nn.Conv3d(2, 3, 3, { padding: [1, 0, 2], paddingMode: 'reflect', dtype: 'float64' }),
  "nn.Conv3d(2, 3, 3, padding=(1, 0, 2), padding_mode='reflect')", step([2, 4, 4, 4], [3, 4, 2, 6]));
add('Conv3d_valid_replicate', new nn.Conv3d(2, 4, [1, 2, 3], { stride: [1, 2, 1], padding: 'valid', paddingMode: 'replicate', dtype: 'float64' }),
  "nn.Conv3d(2, 4, (1, 2, 3), stride=(1, 2, 1), padding='valid', padding_mode='replicate')", step([2, 2, 3, 4, 5], [2, 4, 3, 2, 3]));
add('Conv3d_replicate', new nn.Conv3d(2, 2, 3, { padding: 1, paddingMode: 'replicate', dtype: 'float64' }), "nn.Conv3d(2, 2, 3, padding=1, padding_mode='replicate')",
  step([1, 2, 3, 3, 3], [1, 2, 3, 3, 3]));
add('Conv3d_zeros_same', new nn.Conv3d(2, 3, [3, 2, 4], { padding: 'same', dilation: [1, 2, 1], dtype: 'float64' }),
  "nn.Conv3d(2, 3, (3, 2, 4), padding='same', dilation=(1, 2, 1))", step([1, 2, 4, 5, 6], [1, 3, 4, 5, 6]));
add('Conv2d_same_reflect', new nn.Conv2d(2, 4, [3, 2], { padding: 'same', paddingMode: 'reflect', dilation: [2, 1], dtype: 'float64' }),
  "nn.Conv2d(2, 4, (3, 2), padding='same', padding_mode='reflect', dilation=(2, 1))", step([1, 2, 6, 5], [1, 4, 6, 5]));
add('ConvTranspose1d', new nn.ConvTranspose1d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dtype: 'float64' }),
  'nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)', step([2, 4, 5], [2, 6, 10]));
add('ConvTranspose1d_dilated_unbatched', new nn.ConvTranspose1d(3, 2, 4, { dilation: 2, bias: false, dtype: 'float64' }),
  'nn.ConvTranspose1d(3, 2, 4, dilation=2, bias=False)', step([3, 6], [2, 12]));
add('ConvTranspose3d', new nn.ConvTranspose3d(2, 4, [2, 3, 3], { stride: [2, 1, 2], padding: [0, 1, 1], outputPadding: [1, 0, 1], dtype: 'float64' }),
  'nn.ConvTranspose3d(2, 4, (2, 3, 3), stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 1))', step([1, 2, 3, 3, 2], [1, 4, 7, 3, 4]));
add('ConvTranspose3d_groups_unbatched', new nn.ConvTranspose3d(4, 2, 2, { groups: 2, stride: 2, dtype: 'float64' }), 'nn.ConvTranspose3d(4, 2, 2, groups=2, stride=2)',
  step([4, 2, 2, 2], [2, 4, 4, 4]));
add('ConvTranspose2d_dilated', new nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1, outputPadding: 1, dilation: 2, dtype: 'float64' }),
  'nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, dilation=2)', step([1, 2, 3, 4], [1, 3, 8, 10]));

add('MaxPool1d', new nn.MaxPool1d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }), 'nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)',
  step([2, 3, 9], [2, 3, 4]));
add('MaxPool1d_unbatched', new nn.MaxPool1d(2), 'nn.MaxPool1d(2)', step([3, 7], [3, 3]));
add('MaxPool2d_dilation', new nn.MaxPool2d(3, { stride: 1, padding: 1, dilation: 2 }), 'nn.MaxPool2d(3, stride=1, padding=1, dilation=2)', step([1, 2, 6, 6], [1, 2, 4, 4]));
add('MaxPool3d', new nn.MaxPool3d(2), 'nn.MaxPool3d(2)', step([1, 2, 4, 4, 4], [1, 2, 2, 2, 2]));
add('MaxPool3d_options', new nn.MaxPool3d([2, 3, 2], { stride: [1, 2, 2], padding: [1, 1, 0], dilation: [1, 1, 2], ceilMode: true }),
  'nn.MaxPool3d((2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), dilation=(1, 1, 2), ceil_mode=True)', step([2, 2, 4, 6, 7], [2, 2, 5, 4, 3]));
add('MaxPool3d_unbatched', new nn.MaxPool3d([1, 2, 2]), 'nn.MaxPool3d((1, 2, 2))', step([2, 3, 4, 4], [2, 3, 2, 2]));
add('AvgPool1d', new nn.AvgPool1d(3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
  'nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)', step([2, 3, 8], [2, 3, 5]));
add('AvgPool1d_unbatched', new nn.AvgPool1d(4), 'nn.AvgPool1d(4)', step([2, 9], [2, 2]));
add('AvgPool3d', new nn.AvgPool3d(2), 'nn.AvgPool3d(2)', step([1, 2, 4, 4, 5], [1, 2, 2, 2, 2]));
add('AvgPool3d_divisor', new nn.AvgPool3d(3, { stride: 2, padding: 1, ceilMode: true, divisorOverride: 5 }),
  'nn.AvgPool3d(3, stride=2, padding=1, ceil_mode=True, divisor_override=5)', step([1, 2, 5, 5, 5], [1, 2, 3, 3, 3]));
add('AvgPool3d_exclude_pad', new nn.AvgPool3d([3, 2, 2], { stride: [2, 1, 2], padding: [1, 0, 1], countIncludePad: false }),
  'nn.AvgPool3d((3, 2, 2), stride=(2, 1, 2), padding=(1, 0, 1), count_include_pad=False)', step([2, 2, 5, 3, 4], [2, 2, 3, 2, 3]));
add('AvgPool3d_unbatched', new nn.AvgPool3d([2, 1, 3], { stride: 1 }), 'nn.AvgPool3d((2, 1, 3), stride=1)', step([2, 3, 2, 4], [2, 2, 2, 2]));
add('AdaptiveAvgPool1d', new nn.AdaptiveAvgPool1d(4), 'nn.AdaptiveAvgPool1d(4)', step([2, 3, 10], [2, 3, 4]));
add('AdaptiveAvgPool1d_unbatched', new nn.AdaptiveAvgPool1d([3]), 'nn.AdaptiveAvgPool1d((3,))', step([3, 7], [3, 3]));
add('AdaptiveAvgPool3d', new nn.AdaptiveAvgPool3d([2, 3, 1]), 'nn.AdaptiveAvgPool3d((2, 3, 1))', step([1, 2, 5, 7, 4], [1, 2, 2, 3, 1]));
add('AdaptiveAvgPool3d_unbatched', new nn.AdaptiveAvgPool3d(2), 'nn.AdaptiveAvgPool3d(2)', step([2, 3, 3, 5], [2, 2, 2, 2]));
add('AdaptiveMaxPool1d', new nn.AdaptiveMaxPool1d(3), 'nn.AdaptiveMaxPool1d(3)', step([2, 3, 8], [2, 3, 3]));
add('AdaptiveMaxPool1d_unbatched', new nn.AdaptiveMaxPool1d(4), 'nn.AdaptiveMaxPool1d(4)', step([3, 9], [3, 4]));
add('AdaptiveMaxPool3d', new nn.AdaptiveMaxPool3d([2, 2, 3]), 'nn.AdaptiveMaxPool3d((2, 2, 3))', step([1, 2, 4, 5, 6], [1, 2, 2, 2, 3]));

/** Max pools whose argmax indices are compared with PyTorch's return_indices. */
const withIndices = ['MaxPool1d', 'MaxPool1d_unbatched', 'MaxPool2d_dilation', 'MaxPool3d_options', 'MaxPool3d_unbatched', 'AdaptiveMaxPool1d',
  'AdaptiveMaxPool1d_unbatched', 'AdaptiveMaxPool3d'];

const dir = mkdtempSync(join(tmpdir(), 'ortho-conv3d-'));
const checkpointInputs = { conv3d: rnd([2, 2, 4, 3, 5], -2, 2), convT3d: rnd([1, 3, 2, 3, 2], -2, 2), convT1d: rnd([2, 3, 6], -2, 2) };
const CHECKPOINTS: Record<keyof typeof checkpointInputs, string> = {
  conv3d: "nn.Conv3d(2, 3, 3, padding=1, padding_mode='reflect')", convT3d: 'nn.ConvTranspose3d(3, 2, 2, stride=2)',
  convT1d: 'nn.ConvTranspose1d(3, 4, 3, stride=2, output_padding=1, bias=False)',
};

const reference = hasTorch ? runTorch(`${RUN_STEPS_PY}
for name, spec in inp['cases'].items():
    out[name] = run_steps(eval(spec['python']), spec)
out['indices'] = {}
for name in inp['withIndices']:
    spec = inp['cases'][name]
    m = eval(spec['python'])
    m.return_indices = True
    y, idx = m(T(spec['steps'][0]['x']))
    out['indices'][name] = {'y': J(y), 'idx': J(idx)}
torch.manual_seed(0)
out['checkpoints'] = {}
for key, ctor in inp['checkpoints'].items():
    m = eval(ctor)
    torch.save(m.state_dict(), inp['dir'] + '/' + key + '.pt')
    out['checkpoints'][key] = J(m(T(inp['checkpointInputs'][key])))
`, {
  cases: Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, { python: c.python, ...(stepsSpec(c.ours, c.steps) as object) }])),
  withIndices, dir, checkpoints: CHECKPOINTS, checkpointInputs: Object.fromEntries(Object.entries(checkpointInputs).map(([k, v]) => [k, describe(v)])),
}) : null;

test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const name of Object.keys(cases)) {
  test(`${name}: output, input and parameter gradients and state dict match PyTorch`, { skip: skipWithoutTorch }, () => {
    const c = cases[name];
    assertStepsMatch(c.ours, c.steps, reference[name], undefined, name);
  });
}

test('forwardWithIndices gives PyTorch\'s return_indices values and argmax positions', { skip: skipWithoutTorch }, () => {
  for (const name of withIndices) {
    torch.scope(() => {
      const m = cases[name].ours as nn.MaxPool1d | nn.AdaptiveMaxPool1d;
      const { values, indices } = m.forwardWithIndices(cases[name].steps[0].x);
      assertMatchesTorch(values, reference.indices[name].y, undefined, `${name} values`);
      assert.equal(indices.dtype, 'int64');
      assert.deepEqual(indices.shape, reference.indices[name].idx.shape, `${name} indices shape`);
      assert.deepEqual(indices.toFlatArray(), reference.indices[name].idx.values, `${name} indices`);
    });
  }
});

test('checkpoints saved by PyTorch load and compute as in PyTorch', { skip: skipWithoutTorch }, () => {
  const layers = {
    conv3d: new nn.Conv3d(2, 3, 3, { padding: 1, paddingMode: 'reflect', dtype: 'float64' }), convT3d: new nn.ConvTranspose3d(3, 2, 2, { stride: 2, dtype: 'float64' }),
    convT1d: new nn.ConvTranspose1d(3, 4, 3, { stride: 2, outputPadding: 1, bias: false, dtype: 'float64' }),
  };
  for (const [key, m] of Object.entries(layers)) {
    torch.scope(() => {
      m.loadStateDict(torch.loadStateDictFile(join(dir, `${key}.pt`)));
      assertMatchesTorch(m.forward(checkpointInputs[key as keyof typeof checkpointInputs]), reference.checkpoints[key], undefined, key);
    });
    m.dispose();
  }
});

test('default initialization is PyTorch\'s: weight and bias uniform within ±1/√fanIn, weights laid out [out, in/g, …] or [in, out/g, …]', () => {
  torch.scope(() => {
    torch.manualSeed(3);
    const layers: [nn.Conv3d | nn.ConvTranspose1d | nn.ConvTranspose3d, number[], number][] = [
      [new nn.Conv3d(4, 8, 3, { groups: 2 }), [8, 2, 3, 3, 3], 2 * 27],
      [new nn.ConvTranspose3d(4, 6, [2, 3, 1], { groups: 2 }), [4, 3, 2, 3, 1], 3 * 6],
      [new nn.ConvTranspose1d(5, 4, 7), [5, 4, 7], 4 * 7],
    ];
    for (const [m, shape, fanIn] of layers) {
      const bound = 1 / Math.sqrt(fanIn);
      assert.deepEqual(m.weight.shape, shape, m.typeName);
      const w = m.weight.toFlatArray();
      assert.ok(w.every((v) => Math.abs(v) <= bound), `${m.typeName} weight within ±${bound}`);
      assert.ok(Math.max(...w.map(Math.abs)) > 0.8 * bound, `${m.typeName} weight fills the range`);
      assert.ok(m.bias!.toFlatArray().every((v) => Math.abs(v) <= bound), `${m.typeName} bias within ±${bound}`);
      assert.deepEqual([...m.stateDict().keys()], ['weight', 'bias']);
      m.dispose();
    }
    assert.equal(new nn.Conv3d(1, 1, 1).toString(), 'Conv3d(1, 1, kernelSize=[1,1,1], stride=[1,1,1], padding=0, bias=true)');
    assert.equal(new nn.ConvTranspose1d(2, 2, 3, { stride: 2, outputPadding: 1 }).toString(),
      'ConvTranspose1d(2, 2, kernelSize=[3], stride=[2], padding=[0], outputPadding=[1], bias=true)');
    assert.equal(new nn.MaxPool3d(2, { dilation: [1, 2, 1] }).toString(), 'MaxPool3d(kernelSize=2, dilation=[1,2,1])');
  });
});

test('finite differences agree with autograd for Conv3d (reflect padding), ConvTranspose1d/3d and the 1-d and 3-d pools, weights included', () => {
  torch.scope(() => {
    const tol = { rtol: 1e-6, atol: 1e-8 };
    const x = randomTensor([1, 2, 3, 4, 3], 31, -1, 1, true);
    const conv = new nn.Conv3d(2, 2, [2, 3, 2], { padding: [1, 1, 0], paddingMode: 'reflect', dtype: 'float64' });
    gradcheck((t) => conv.forward(t), [x], tol);
    const w = randomTensor([2, 2, 2, 3, 2], 32, -1, 1, true);
    const b = randomTensor([2], 33, -1, 1, true);
    const pads = nn.explicitPadsNd([1, 1, 0], [2, 3, 2], [1, 1, 1]);
    gradcheck((t, w, b) => torch.F.conv3d(torch.F.pad(t, pads, 'reflect'), w, { bias: b }), [x, w, b], tol);
    const convT = new nn.ConvTranspose3d(2, 3, 2, { stride: [1, 2, 2], outputPadding: [0, 1, 0], dtype: 'float64' });
    gradcheck((t) => convT.forward(t), [x], tol);
    const wT = randomTensor([2, 3, 2, 2, 2], 34, -1, 1, true);
    const bT = randomTensor([3], 35, -1, 1, true);
    gradcheck((t, w, b) => torch.F.convTranspose3d(t, w, { bias: b, stride: [1, 2, 2], outputPadding: [0, 1, 0] }), [x, wT, bT], tol);
    const x1 = randomTensor([2, 3, 7], 36, -1, 1, true);
    const w1 = randomTensor([3, 2, 3], 37, -1, 1, true);
    gradcheck((t, w) => torch.F.convTranspose1d(t, w, { stride: 2, padding: 1, outputPadding: 1 }), [x1, w1], tol);
    gradcheck((t) => torch.F.avgPool3d(t, 2, { stride: 1, padding: 1, countIncludePad: false }), [x], tol);
    gradcheck((t) => torch.F.maxPool3d(t, [2, 2, 2], { stride: 1, padding: 1 }), [x], tol);
    gradcheck((t) => torch.F.adaptiveMaxPool1d(t.flatten(2), 5), [x], tol);
    conv.dispose();
    convT.dispose();
  });
});

test('bad options and inputs are rejected with messages naming the problem', () => {
  assert.throws(() => new nn.Conv3d(3, 2, 3).forward(torch.ones([2, 3, 4])), /Conv3d: expected input \[N, C, D, H, W\] \(or \[C, D, H, W\]\), got shape \[2, 3, 4\]/);
  assert.throws(() => new nn.Conv3d(3, 2, 3).forward(torch.ones([1, 4, 3, 3, 3])), /Conv3d: input has 4 channels, expected 3/);
  assert.throws(() => new nn.Conv3d(3, 2, 3, { stride: 2, padding: 'same' }), /Conv3d: padding 'same' is only supported with stride 1/);
  assert.throws(() => new nn.Conv3d(3, 2, [3, 3] as unknown as number), /Conv3d: kernelSize must be a positive integer or a list of 3 of them, got \[3,3\]/);
  assert.throws(() => new nn.Conv3d(3, 2, 3, { padding: -1 }), /Conv3d: padding must be a non-negative integer or a list of 3 of them, got -1/);
  assert.throws(() => new nn.Conv3d(3, 2, 3, { padding: 'full' as 'same' }), /Conv3d: padding must be a non-negative integer, a list of 3 of them, 'same' or 'valid', got 'full'/);
  assert.throws(() => new nn.Conv3d(3, 2, 3, { paddingMode: 'mirror' as 'zeros' }), /Conv3d: paddingMode must be zeros, reflect, replicate or circular/);
  assert.throws(() => new nn.Conv3d(3, 2, 3, { groups: 2 }), /Conv3d: inChannels \(3\) and outChannels \(2\) must both be divisible by groups \(2\)/);
  assert.throws(() => new nn.Conv3d(3, 2, 3, { dilation: [1, 0, 1] }), /Conv3d: dilation must be a positive integer/);
  assert.throws(() => new nn.Conv2d(3, 2, 0), /Conv2d: kernelSize must be a positive integer or a list of 2 of them, got 0/);
  assert.throws(() => new nn.ConvTranspose1d(2, 2, 3, { stride: 2, outputPadding: 2 }),
    /ConvTranspose1d: outputPadding must be smaller than stride or dilation in each dimension, got outputPadding \[2\], stride \[2\], dilation \[1\]/);
  assert.throws(() => new nn.ConvTranspose3d(2, 2, 3, { outputPadding: [0, 1, 0] }), /ConvTranspose3d: outputPadding must be smaller than stride or dilation/);
  assert.throws(() => new nn.ConvTranspose1d(2, 2, 0), /ConvTranspose1d: kernelSize must be a positive integer, got 0/);
  assert.throws(() => new nn.ConvTranspose3d(2, 4, 2, { groups: 3 }), /ConvTranspose3d: inChannels \(2\) and outChannels \(4\) must both be divisible by groups \(3\)/);
  assert.throws(() => new nn.ConvTranspose3d(2, 2, 2).forward(torch.ones([1, 2, 3, 3])), /ConvTranspose3d: input has 1 channels, expected 2/);
  assert.throws(() => new nn.ConvTranspose1d(2, 2, 2).forward(torch.ones([2, 2, 3, 3])), /ConvTranspose1d: expected input \[N, C, L\] \(or \[C, L\]\), got shape \[2, 2, 3, 3\]/);
  assert.throws(() => new nn.MaxPool1d(2).forward(torch.ones([1, 2, 3, 4])), /MaxPool1d: expected 2D or 3D input \[C, L\] or \[N, C, L\], got 4D input of shape \[1, 2, 3, 4\]/);
  assert.throws(() => new nn.MaxPool3d([2, 2] as unknown as number), /MaxPool3d: kernelSize must be a positive integer or a list of 3 of them, got \[2,2\]/);
  assert.throws(() => new nn.MaxPool3d(2, { dilation: 0 }), /MaxPool3d: dilation must be a positive integer/);
  assert.throws(() => new nn.AvgPool3d(2, { divisorOverride: 0 }), /AvgPool3d: divisorOverride must be a positive integer, got 0/);
  assert.throws(() => new nn.AvgPool1d(2, { stride: 0 }), /AvgPool1d: stride must be a positive integer, got 0/);
  assert.throws(() => new nn.AvgPool1d(2, { padding: -1 }), /AvgPool1d: padding must be a non-negative integer, got -1/);
  assert.throws(() => new nn.AvgPool3d(2).forward(torch.ones([2, 2, 2])), /AvgPool3d: expected 4D or 5D input \[C, D, H, W\] or \[N, C, D, H, W\], got 3D/);
  assert.throws(() => new nn.AdaptiveAvgPool3d(2).forward(torch.ones([2, 2, 2])), /AdaptiveAvgPool3d: expected 4D or 5D input/);
  assert.throws(() => new nn.AdaptiveAvgPool1d([2, 2] as unknown as number), /AdaptiveAvgPool1d: outputSize must be positive integers \(one, or 1 of them\), got \[2,2\]/);
  assert.throws(() => new nn.AdaptiveMaxPool1d(0), /AdaptiveMaxPool1d: outputSize must be positive integers/);
  assert.throws(() => new nn.AdaptiveMaxPool3d([1, 2, 0]), /AdaptiveMaxPool3d: outputSize must be positive integers/);
  // What only the input decides is libtorch's to refuse, with its message.
  assert.throws(() => new nn.MaxPool1d(2, { padding: 2 }).forward(torch.ones([1, 1, 5])), /padding should be at most half of kernel size/);
});

test('forward frees every intermediate tensor', () => {
  const x5 = torch.keep(torch.randn([1, 2, 4, 4, 4]));
  const x3 = torch.keep(torch.randn([2, 2, 8]));
  const layers: [nn.Module, Tensor][] = [
    [new nn.Conv3d(2, 2, 3, { padding: 1, paddingMode: 'circular' }), x5], [new nn.Conv3d(2, 2, 3, { padding: 'same' }), x5],
    [new nn.ConvTranspose3d(2, 2, 2, { stride: 2 }), x5], [new nn.ConvTranspose1d(2, 3, 3), x3], [new nn.MaxPool3d(2), x5], [new nn.AvgPool3d(2), x5],
    [new nn.AdaptiveAvgPool3d(2), x5], [new nn.AdaptiveMaxPool3d(2), x5], [new nn.MaxPool1d(2), x3], [new nn.AvgPool1d(2), x3],
    [new nn.AdaptiveAvgPool1d(3), x3], [new nn.AdaptiveMaxPool1d(3), x3],
  ];
  for (const [m, x] of layers) {
    m.forward(x);
    const before = torch.memoryStats().liveTensors;
    (m.forward(x) as Tensor).dispose();
    assert.equal(torch.memoryStats().liveTensors, before, `${m.typeName} left tensors alive`);
    m.dispose();
  }
  x5.dispose();
  x3.dispose();
});
