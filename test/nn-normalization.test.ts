// Normalization layers against PyTorch 1.13 (python3-torch) in float64:
// outputs, input and parameter gradients, running statistics over several
// train steps, eval outputs, state-dict names and PyTorch checkpoints;
// finite-difference gradients; bad inputs; no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch, nn } from '../src/index.js';
import { assertClose, gradcheck, randomTensor } from './helpers/gradcheck.js';
import { RUN_STEPS_PY, assertMatchesTorch, describe, hasTorch, runTorch, skipWithoutTorch } from './helpers/pytorch.js';
import { caseSpecs, normCases, testEachCase } from './helpers/norm-cases.js';

const { F } = torch;
type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };

const { cases, rnd, step, addCase } = normCases(100);

addCase('bn2d', new nn.BatchNorm2d(3, f64), 'nn.BatchNorm2d(3)',
  [step([4, 3, 5, 5], true), step([4, 3, 5, 5], true), step([2, 3, 4, 6], true), step([4, 3, 5, 5], false), step([3, 3, 2, 2], true)]);
addCase('bn1d_cumulative', new nn.BatchNorm1d(4, { momentum: null, eps: 1e-3, dtype: 'float64' }), 'nn.BatchNorm1d(4, momentum=None, eps=1e-3)',
  [step([8, 4], true), step([5, 4], true), step([6, 4, 3], true), step([8, 4], false), step([2, 4, 7], false)]);
addCase('bn2d_momentum', new nn.BatchNorm2d(2, { momentum: 0.3, dtype: 'float64' }), 'nn.BatchNorm2d(2, momentum=0.3)',
  [step([3, 2, 3, 3], true), step([3, 2, 3, 3], true), step([3, 2, 3, 3], false)]);
addCase('bn2d_plain', new nn.BatchNorm2d(3, { affine: false, trackRunningStats: false, dtype: 'float64' }),
  'nn.BatchNorm2d(3, affine=False, track_running_stats=False)', [step([4, 3, 3, 3], true), step([4, 3, 3, 3], false)]);
addCase('bn1d_notrack_affine', new nn.BatchNorm1d(3, { trackRunningStats: false, dtype: 'float64' }),
  'nn.BatchNorm1d(3, track_running_stats=False)', [step([5, 3], true), step([5, 3], false)]);
addCase('layernorm', new nn.LayerNorm([4, 5], { eps: 1e-3, dtype: 'float64' }), 'nn.LayerNorm([4, 5], eps=1e-3)',
  [step([3, 2, 4, 5], true), step([4, 5], false)]);
addCase('layernorm_plain', new nn.LayerNorm(6, { elementwiseAffine: false, dtype: 'float64' }), 'nn.LayerNorm(6, elementwise_affine=False)',
  [step([3, 6], true)]);
addCase('groupnorm', new nn.GroupNorm(2, 6, f64), 'nn.GroupNorm(2, 6)', [step([3, 6, 4, 4], true), step([2, 6, 5], false)]);
addCase('groupnorm_plain', new nn.GroupNorm(3, 3, { affine: false, eps: 1e-2, dtype: 'float64' }), 'nn.GroupNorm(3, 3, affine=False, eps=1e-2)',
  [step([2, 3, 4, 4], true)]);
addCase('instancenorm', new nn.InstanceNorm2d(3, f64), 'nn.InstanceNorm2d(3)', [step([2, 3, 4, 4], true), step([2, 3, 4, 4], false)]);
addCase('instancenorm_tracked', new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true, momentum: 0.2, dtype: 'float64' }),
  'nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.2)',
  [step([2, 3, 4, 4], true), step([3, 3, 5, 4], true), step([2, 3, 4, 4], false), step([3, 4, 4], false), step([3, 4, 4], true)]);

const dir = mkdtempSync(join(tmpdir(), 'ortho-norm-'));
const checkpoint = join(dir, 'bn.pt');
const evalInput = rnd([2, 3, 4, 4], -2, 2);

const reference = hasTorch ? runTorch(`${RUN_STEPS_PY}
for name, spec in inp['cases'].items():
    out[name] = run_steps(eval(spec['python']), spec)
torch.manual_seed(0)
bn = nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-1, 1)
for _ in range(3):
    bn(torch.randn(4, 3, 4, 4) * 2 + 1)
bn.eval()
torch.save(bn.state_dict(), inp['checkpoint'])
out['checkpoint_eval'] = J(bn(T(inp['evalInput'])))
out['names'] = {k: list(eval(k).state_dict().keys()) for k in ['nn.BatchNorm1d(2)', 'nn.BatchNorm2d(2, affine=False)', 'nn.BatchNorm2d(2, track_running_stats=False)', 'nn.LayerNorm(3)', 'nn.GroupNorm(1, 2)', 'nn.InstanceNorm2d(2)', 'nn.InstanceNorm2d(2, affine=True, track_running_stats=True)']}
`, {
  cases: caseSpecs(cases),
  checkpoint, evalInput: describe(evalInput),
}) : null;

test.after(() => rmSync(dir, { recursive: true, force: true }));

testEachCase(cases, () => reference);

test('state-dict names are PyTorch\'s for every configuration', { skip: skipWithoutTorch }, () => {
  const ours: Record<string, nn.Module> = {
    'nn.BatchNorm1d(2)': new nn.BatchNorm1d(2), 'nn.BatchNorm2d(2, affine=False)': new nn.BatchNorm2d(2, { affine: false }),
    'nn.BatchNorm2d(2, track_running_stats=False)': new nn.BatchNorm2d(2, { trackRunningStats: false }),
    'nn.LayerNorm(3)': new nn.LayerNorm(3), 'nn.GroupNorm(1, 2)': new nn.GroupNorm(1, 2), 'nn.InstanceNorm2d(2)': new nn.InstanceNorm2d(2),
    'nn.InstanceNorm2d(2, affine=True, track_running_stats=True)': new nn.InstanceNorm2d(2, { affine: true, trackRunningStats: true }),
  };
  for (const [key, m] of Object.entries(ours)) {
    torch.scope(() => assert.deepEqual([...m.stateDict().keys()], reference.names[key], key));
    m.dispose();
  }
  const bn = new nn.BatchNorm2d(2);
  assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.equal(bn.numBatchesTracked!.dtype, 'int64');
  bn.dispose();
});

test('a BatchNorm2d checkpoint saved by PyTorch loads and evaluates as in PyTorch', { skip: skipWithoutTorch }, () => {
  const bn = new nn.BatchNorm2d(3, f64);
  torch.scope(() => {
    bn.loadStateDict(torch.loadStateDictFile(checkpoint));
    assert.equal(bn.numBatchesTracked!.item(), 3);
    bn.eval();
    assertMatchesTorch(bn.forward(evalInput), reference.checkpoint_eval);
  });
  bn.dispose();
});

test('a state dict without num_batches_tracked (pre-0.4.1 PyTorch) loads strictly, the count filled with 0', () => {
  torch.scope(() => {
    const source = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2, f64));
    const old = source.stateDict();
    old.delete('1.num_batches_tracked');
    torch.noGrad(() => old.get('1.running_mean')!.fill_(0.25));
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2, f64));
    const bn = model.at(1) as nn.BatchNorm1d;
    bn.forward(torch.tensor([[1, 10], [3, 20]], f64));
    assert.equal(bn.numBatchesTracked!.item(), 1);
    const result = model.loadStateDict(old);
    assert.deepEqual(result.missingKeys, []);
    assert.equal(bn.numBatchesTracked!.item(), 0);
    assert.deepEqual(bn.runningMean!.toArray(), [0.25, 0.25]);
    // Only that key has a default: a missing running_mean still fails a strict load, and is reported by a lax one.
    old.delete('1.running_mean');
    assert.throws(() => model.loadStateDict(old), (e: Error) => e instanceof nn.StateDictError && /missing keys: 1\.running_mean/.test(e.message) && !e.message.includes('num_batches_tracked'));
    assert.deepEqual(model.loadStateDict(old, { strict: false }).missingKeys, ['1.running_mean']);
    // A present count is loaded as it is.
    const withCount = source.stateDict();
    torch.noGrad(() => withCount.get('1.num_batches_tracked')!.fill_(7));
    model.loadStateDict(withCount);
    assert.equal(bn.numBatchesTracked!.item(), 7);
    source.dispose();
    model.dispose();
  });
});

test('BatchNorm counts batches and updates running statistics only in training, without gradients', () => {
  torch.scope(() => {
    const bn = new nn.BatchNorm1d(2, f64);
    const x = torch.tensor([[1, 10], [3, 20], [5, 60]], f64);
    bn.forward(x);
    assert.equal(bn.numBatchesTracked!.item(), 1);
    // mean [3, 30], unbiased var [4, 700]: running = 0.9 · initial + 0.1 · batch
    assertClose(bn.runningMean!.toFlatArray(), [0.3, 3], { atol: 1e-14, rtol: 1e-14 });
    assertClose(bn.runningVar!.toFlatArray(), [1.3, 70.9], { atol: 1e-12, rtol: 1e-14 });
    assert.equal(bn.runningMean!.requiresGrad, false);
    bn.eval();
    bn.forward(x);
    assert.equal(bn.numBatchesTracked!.item(), 1, 'eval does not count batches');
    assertClose(bn.runningMean!.toFlatArray(), [0.3, 3], { atol: 1e-14, rtol: 1e-14 });
    bn.resetRunningStats();
    assert.deepEqual(bn.runningMean!.toArray(), [0, 0]);
    assert.equal(bn.numBatchesTracked!.item(), 0);
    bn.dispose();
  });
});

test('finite differences agree with autograd for batch, layer, group and instance norm (float64)', () => {
  torch.scope(() => {
    const x = randomTensor([3, 4, 2, 3], 1, -2, 2, true);
    const w = randomTensor([4], 2, 0.5, 1.5, true);
    const b = randomTensor([4], 3, -1, 1, true);
    const rm = randomTensor([4], 4, -0.5, 0.5);
    const rv = randomTensor([4], 5, 0.5, 2);
    const tol = { rtol: 1e-6, atol: 1e-8 };
    gradcheck((x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true, eps: 1e-3 }), [x, w, b], tol);
    gradcheck((x, w, b) => F.batchNorm(x, rm, rv, { weight: w, bias: b, training: false }), [x, w, b], tol);
    gradcheck((x, w, b) => F.groupNorm(x, 2, { weight: w, bias: b }), [x, w, b], tol);
    gradcheck((x, w, b) => F.instanceNorm(x, { weight: w, bias: b }), [x, w, b], tol);
    const lw = randomTensor([2, 3], 6, 0.5, 1.5, true);
    const lb = randomTensor([2, 3], 7, -1, 1, true);
    gradcheck((x, w, b) => F.layerNorm(x, [2, 3], { weight: w, bias: b }), [x, lw, lb], tol);
    // The modules in training mode, through their parameters' gradients too.
    const bn = new nn.BatchNorm2d(4, f64);
    gradcheck((x) => bn.forward(x), [x], tol);
    const ln = new nn.LayerNorm([2, 3], f64);
    gradcheck((x) => ln.forward(x), [x], tol);
    bn.dispose();
    ln.dispose();
  });
});

test('bad inputs and options are rejected with messages naming the problem', () => {
  const bn = new nn.BatchNorm2d(3);
  assert.throws(() => bn.forward(torch.ones([2, 4, 3, 3])), /BatchNorm2d: input has 4 channels \(dim 1\), expected numFeatures = 3/);
  assert.throws(() => bn.forward(torch.ones([2, 3, 3])), /BatchNorm2d: expected 4D input \[N, C, H, W\], got 3D input/);
  assert.throws(() => bn.forward(torch.ones([1, 3, 1, 1])), /more than 1 value per channel when training/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(torch.ones([2, 3, 4, 5])), /BatchNorm1d: expected 2D or 3D input/);
  assert.throws(() => new nn.BatchNorm1d(0), /numFeatures must be a positive integer, got 0/);
  assert.throws(() => new nn.BatchNorm1d(2, { eps: 0 }), /eps must be a finite number > 0, got 0/);
  assert.throws(() => new nn.BatchNorm1d(2, { momentum: 1.5 }), /momentum must be a number in \[0, 1\] or null/);
  assert.throws(() => new nn.InstanceNorm2d(2, { momentum: null as unknown as number }), /InstanceNorm2d: momentum must be a number in \[0, 1\], got null/);
  assert.throws(() => new nn.InstanceNorm2d(2, { affine: true }).forward(torch.ones([1, 3, 4, 4])), /input has 3 channels, expected numFeatures = 2/);
  assert.throws(() => new nn.InstanceNorm2d(2).forward(torch.ones([2, 4])), /expected 3D or 4D input/);
  assert.throws(() => new nn.GroupNorm(4, 6), /numChannels \(6\) must be divisible by numGroups \(4\)/);
  assert.throws(() => new nn.GroupNorm(2, 6).forward(torch.ones([2, 4, 3])), /input has 4 channels \(dim 1\), expected numChannels = 6/);
  assert.throws(() => new nn.LayerNorm([4, 5]).forward(torch.ones([2, 5, 4])), /does not end with normalizedShape \[4, 5\]/);
  assert.throws(() => new nn.LayerNorm([]), /normalizedShape must be/);
  assert.throws(() => F.batchNorm(torch.ones([2, 3]), null, null), /runningMean and runningVar are required when training is false/);
  assert.throws(() => F.groupNorm(torch.ones([2, 6, 3]), 4), /6 channels must be divisible by numGroups \(4\)/);
  assert.throws(() => F.layerNorm(torch.ones([2, 3]), [4]), /normalizedShape \[4\] must match the last dims/);
  bn.dispose();
});

test('forward in training and evaluation frees every intermediate tensor', () => {
  const layers: nn.Module[] = [new nn.BatchNorm2d(3, { momentum: null }), new nn.BatchNorm1d(3), new nn.LayerNorm([4, 4]), new nn.GroupNorm(3, 3),
    new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true })];
  const inputs = [torch.keep(torch.randn([2, 3, 4, 4])), torch.keep(torch.randn([2, 3, 4])), torch.keep(torch.randn([3, 4, 4]))];
  for (const m of layers) {
    for (const mode of [true, false]) {
      m.train(mode);
      const x = m instanceof nn.BatchNorm1d ? inputs[1] : m instanceof nn.LayerNorm ? inputs[2] : inputs[0];
      m.forward(x); // warm up (lazy native state)
      const before = torch.memoryStats().liveTensors;
      const y = m.forward(x) as Tensor;
      y.dispose();
      assert.equal(torch.memoryStats().liveTensors, before, `${m.typeName} (training ${mode}) left tensors alive`);
    }
    m.dispose();
  }
  inputs.forEach((t) => t.dispose());
});
