// BatchNorm3d, InstanceNorm1d and InstanceNorm3d against PyTorch 1.13
// (python3-torch) in float64: outputs, input and parameter gradients and
// running statistics over several train and eval steps (momentum, null =
// cumulative average, affine, trackRunningStats, eps, unbatched inputs),
// state-dict names, PyTorch checkpoints loading into ours and ours into
// PyTorch; finite differences; bad inputs and options; no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch, nn } from '../src/index.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';
import { RUN_STEPS_PY, assertMatchesTorch, describe, hasTorch, runTorch, skipWithoutTorch } from './helpers/pytorch.js';
import { caseSpecs, normCases, testEachCase } from './helpers/norm-cases.js';

type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };

const { cases, rnd, step, randomizeAffine, addCase, nextSeed } = normCases(1300);

addCase('bn3d', new nn.BatchNorm3d(3, f64), 'nn.BatchNorm3d(3)',
  [step([4, 3, 3, 2, 3], true), step([2, 3, 2, 4, 3], true), step([3, 3, 2, 2, 2], true), step([2, 3, 3, 3, 3], false), step([2, 3, 2, 2, 2], true)]);
addCase('bn3d_cumulative', new nn.BatchNorm3d(2, { momentum: null, eps: 1e-3, dtype: 'float64' }), 'nn.BatchNorm3d(2, momentum=None, eps=1e-3)',
  [step([3, 2, 2, 2, 3], true), step([2, 2, 3, 2, 2], true), step([4, 2, 2, 2, 2], true, -5, 1), step([2, 2, 2, 3, 2], false)]);
addCase('bn3d_momentum', new nn.BatchNorm3d(2, { momentum: 0.3, dtype: 'float64' }), 'nn.BatchNorm3d(2, momentum=0.3)',
  [step([2, 2, 2, 3, 3], true), step([2, 2, 2, 3, 3], true), step([2, 2, 2, 3, 3], false)]);
addCase('bn3d_plain', new nn.BatchNorm3d(3, { affine: false, trackRunningStats: false, dtype: 'float64' }),
  'nn.BatchNorm3d(3, affine=False, track_running_stats=False)', [step([2, 3, 2, 2, 3], true), step([2, 3, 2, 2, 3], false)]);
addCase('bn3d_notrack_affine', new nn.BatchNorm3d(2, { trackRunningStats: false, dtype: 'float64' }),
  'nn.BatchNorm3d(2, track_running_stats=False)', [step([3, 2, 2, 2, 2], true), step([3, 2, 2, 2, 2], false)]);
addCase('in1d', new nn.InstanceNorm1d(3, f64), 'nn.InstanceNorm1d(3)', [step([2, 3, 6], true), step([3, 5], false), step([2, 3, 4], false)]);
addCase('in1d_tracked', new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true, momentum: 0.2, eps: 1e-3, dtype: 'float64' }),
  'nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.2, eps=1e-3)',
  [step([2, 3, 6], true), step([4, 3, 5], true), step([3, 7], true), step([2, 3, 6], false), step([3, 4], false)]);
addCase('in1d_tracked_plain', new nn.InstanceNorm1d(2, { trackRunningStats: true, dtype: 'float64' }), 'nn.InstanceNorm1d(2, track_running_stats=True)',
  [step([3, 2, 5], true), step([3, 2, 5], true), step([3, 2, 5], false)]);
addCase('in1d_affine', new nn.InstanceNorm1d(4, { affine: true, dtype: 'float64' }), 'nn.InstanceNorm1d(4, affine=True)',
  [step([2, 4, 5], true), step([4, 3], false)]);
addCase('in3d', new nn.InstanceNorm3d(2, f64), 'nn.InstanceNorm3d(2)', [step([2, 2, 3, 2, 3], true), step([2, 3, 3, 2], false)]);
addCase('in3d_tracked', new nn.InstanceNorm3d(3, { affine: true, trackRunningStats: true, dtype: 'float64' }),
  'nn.InstanceNorm3d(3, affine=True, track_running_stats=True)',
  [step([2, 3, 2, 3, 2], true), step([3, 3, 2, 2, 2], true), step([3, 2, 2, 3], true), step([2, 3, 2, 3, 2], false), step([3, 2, 2, 2], false)]);

const dir = mkdtempSync(join(tmpdir(), 'ortho-norm3d-'));
const evalInputs = { bn3d: rnd([2, 3, 2, 3, 2], -2, 2), in3d: rnd([2, 3, 2, 3, 2], -2, 2), in1d: rnd([2, 3, 5], -2, 2) };
const CONFIGS = ['nn.BatchNorm3d(2)', 'nn.BatchNorm3d(2, affine=False)', 'nn.BatchNorm3d(2, track_running_stats=False)', 'nn.InstanceNorm1d(2)',
  'nn.InstanceNorm1d(2, affine=True)', 'nn.InstanceNorm1d(2, track_running_stats=True)', 'nn.InstanceNorm3d(2)',
  'nn.InstanceNorm3d(2, affine=True, track_running_stats=True)'];

/** PyTorch trains each layer for three steps and saves it: the checkpoint loads into ours. */
const reference = hasTorch ? runTorch(`${RUN_STEPS_PY}
for name, spec in inp['cases'].items():
    out[name] = run_steps(eval(spec['python']), spec)
torch.manual_seed(0)
out['checkpoints'] = {}
for key, ctor, shape in [('bn3d', 'nn.BatchNorm3d(3)', (4, 3, 2, 3, 2)), ('in3d', 'nn.InstanceNorm3d(3, affine=True, track_running_stats=True)', (4, 3, 2, 3, 2)),
                         ('in1d', 'nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.3)', (4, 3, 5))]:
    m = eval(ctor)
    with torch.no_grad():
        m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-1, 1)
    for _ in range(3):
        m(torch.randn(*shape) * 2 + 1)
    m.eval()
    torch.save(m.state_dict(), inp['dir'] + '/' + key + '.pt')
    out['checkpoints'][key] = J(m(T(inp['evalInputs'][key])))
out['names'] = {k: list(eval(k).state_dict().keys()) for k in inp['configs']}
`, {
  cases: caseSpecs(cases),
  dir, evalInputs: Object.fromEntries(Object.entries(evalInputs).map(([k, v]) => [k, describe(v)])), configs: CONFIGS,
}) : null;

test.after(() => rmSync(dir, { recursive: true, force: true }));

testEachCase(cases, () => reference);

test("state-dict names are PyTorch's for every configuration", { skip: skipWithoutTorch }, () => {
  const ours: nn.Module[] = [new nn.BatchNorm3d(2), new nn.BatchNorm3d(2, { affine: false }), new nn.BatchNorm3d(2, { trackRunningStats: false }),
    new nn.InstanceNorm1d(2), new nn.InstanceNorm1d(2, { affine: true }), new nn.InstanceNorm1d(2, { trackRunningStats: true }), new nn.InstanceNorm3d(2),
    new nn.InstanceNorm3d(2, { affine: true, trackRunningStats: true })];
  ours.forEach((m, i) => {
    torch.scope(() => assert.deepEqual([...m.stateDict().keys()], reference.names[CONFIGS[i]], CONFIGS[i]));
    m.dispose();
  });
  const bn = new nn.BatchNorm3d(2);
  assert.equal(bn.numBatchesTracked!.dtype, 'int64');
  bn.dispose();
});

test('checkpoints saved by PyTorch load and evaluate as in PyTorch', { skip: skipWithoutTorch }, () => {
  const layers = {
    bn3d: new nn.BatchNorm3d(3, f64), in3d: new nn.InstanceNorm3d(3, { affine: true, trackRunningStats: true, dtype: 'float64' }),
    in1d: new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true, momentum: 0.3, dtype: 'float64' }),
  };
  for (const [key, m] of Object.entries(layers)) {
    torch.scope(() => {
      m.loadStateDict(torch.loadStateDictFile(join(dir, `${key}.pt`)));
      // PyTorch's instance norms keep num_batches_tracked but never count (only _BatchNorm does).
      assert.equal(m.numBatchesTracked!.item(), key === 'bn3d' ? 3 : 0, key);
      m.eval();
      assertMatchesTorch(m.forward(evalInputs[key as keyof typeof evalInputs]), reference.checkpoints[key], undefined, key);
    });
    m.dispose();
  }
});

test('state dicts round-trip: ours saved, loaded by a fresh layer and by PyTorch, evaluate the same', { skip: skipWithoutTorch }, () => {
  const make = () => ({
    bn3d: new nn.BatchNorm3d(3, { momentum: null, dtype: 'float64' }), in3d: new nn.InstanceNorm3d(3, { affine: true, trackRunningStats: true, dtype: 'float64' }),
    in1d: new nn.InstanceNorm1d(3, { trackRunningStats: true, momentum: 0.5, dtype: 'float64' }),
  });
  const python = { bn3d: 'nn.BatchNorm3d(3, momentum=None)', in3d: 'nn.InstanceNorm3d(3, affine=True, track_running_stats=True)',
    in1d: 'nn.InstanceNorm1d(3, track_running_stats=True, momentum=0.5)' };
  const trained = make();
  const fresh = make();
  const outputs: Record<string, Tensor> = {};
  for (const [key, m] of Object.entries(trained)) {
    randomizeAffine(m);
    const x = evalInputs[key as keyof typeof evalInputs];
    torch.scope(() => {
      for (let i = 0; i < 3; i++) m.forward(randomTensor(x.shape, nextSeed(), -1, 3));
      torch.save(m.stateDict(), join(dir, `ours-${key}.pt`));
      m.eval();
      outputs[key] = torch.keep(m.forward(x));
      const copy = fresh[key as keyof typeof fresh];
      copy.loadStateDict(torch.loadStateDictFile(join(dir, `ours-${key}.pt`)));
      copy.eval();
      assert.ok(copy.forward(x).equal(outputs[key]), `${key}: a fresh layer loading our file evaluates the same`);
      assert.equal(copy.numBatchesTracked!.item(), key === 'bn3d' ? 3 : 0);
    });
  }
  const theirs = runTorch(`
for key, ctor in inp['python'].items():
    m = eval(ctor)
    m.load_state_dict(torch.load(inp['dir'] + '/ours-' + key + '.pt'), strict=True)
    m.eval()
    out[key] = {'y': J(m(T(inp['x'][key]))), 'nbt': int(m.num_batches_tracked)}
`, { python, dir, x: Object.fromEntries(Object.entries(evalInputs).map(([k, v]) => [k, describe(v)])) });
  for (const key of Object.keys(trained)) {
    assertMatchesTorch(outputs[key], theirs[key].y, undefined, `${key} loaded by PyTorch`);
    assert.equal(theirs[key].nbt, key === 'bn3d' ? 3 : 0);
    outputs[key].dispose();
  }
  [...Object.values(trained), ...Object.values(fresh)].forEach((m) => m.dispose());
});

test('a BatchNorm3d state dict without num_batches_tracked (pre-0.4.1 PyTorch) loads strictly, the count filled with 0', () => {
  torch.scope(() => {
    const bn = new nn.BatchNorm3d(2, f64);
    bn.forward(randomTensor([2, 2, 2, 2, 2], 3));
    const old = bn.stateDict();
    old.delete('num_batches_tracked');
    const target = new nn.BatchNorm3d(2, f64);
    target.forward(randomTensor([2, 2, 2, 2, 2], 4));
    assert.deepEqual(target.loadStateDict(old).missingKeys, []);
    assert.equal(target.numBatchesTracked!.item(), 0);
    assert.ok(target.runningMean!.equal(bn.runningMean!));
    bn.dispose();
    target.dispose();
  });
});

test('finite differences agree with autograd for the new layers in training (input and affine parameters)', () => {
  torch.scope(() => {
    const tol = { rtol: 1e-6, atol: 1e-8 };
    const x5 = randomTensor([2, 2, 2, 3, 2], 21, -2, 2, true);
    const bn = new nn.BatchNorm3d(2, { eps: 1e-3, dtype: 'float64' });
    randomizeAffine(bn);
    gradcheck((x, w, b) => torch.F.batchNorm(x, null, null, { weight: w, bias: b, training: true, eps: 1e-3 }), [x5, bn.weight!, bn.bias!], tol);
    gradcheck((x) => bn.forward(x), [x5], tol);
    const in3 = new nn.InstanceNorm3d(2, { affine: true, dtype: 'float64' });
    randomizeAffine(in3);
    gradcheck((x) => in3.forward(x), [x5], tol);
    const x3 = randomTensor([3, 2, 5], 22, -2, 2, true);
    const in1 = new nn.InstanceNorm1d(2, { affine: true, trackRunningStats: true, dtype: 'float64' });
    randomizeAffine(in1);
    gradcheck((x, w, b) => torch.F.instanceNorm(x, { weight: w, bias: b }), [x3, in1.weight!, in1.bias!], tol);
    in1.eval();
    gradcheck((x) => in1.forward(x), [x3], tol);
    [bn, in3, in1].forEach((m) => m.dispose());
  });
});

test('bad inputs and options are rejected with messages naming the problem', () => {
  const bn = new nn.BatchNorm3d(3);
  assert.throws(() => bn.forward(torch.ones([2, 3, 4, 4])), /BatchNorm3d: expected 5D input \[N, C, D, H, W\], got 4D input of shape \[2, 3, 4, 4\]/);
  assert.throws(() => bn.forward(torch.ones([2, 4, 2, 2, 2])), /BatchNorm3d: input has 4 channels \(dim 1\), expected numFeatures = 3/);
  assert.throws(() => bn.forward(torch.ones([1, 3, 1, 1, 1])), /more than 1 value per channel when training/);
  assert.throws(() => new nn.BatchNorm3d(0), /BatchNorm3d: numFeatures must be a positive integer, got 0/);
  assert.throws(() => new nn.BatchNorm3d(2, { momentum: -0.1 }), /BatchNorm3d: momentum must be a number in \[0, 1\] or null/);
  assert.throws(() => new nn.BatchNorm3d(2, { eps: -1 }), /BatchNorm3d: eps must be a finite number > 0, got -1/);
  const in1 = new nn.InstanceNorm1d(3);
  assert.throws(() => in1.forward(torch.ones([2, 3, 4, 4])), /InstanceNorm1d: expected 2D or 3D input \[C, L\] or \[N, C, L\], got 4D input of shape \[2, 3, 4, 4\]/);
  assert.throws(() => in1.forward(torch.ones([5])), /InstanceNorm1d: expected 2D or 3D input/);
  assert.throws(() => in1.forward(torch.ones([2, 3, 1])), /instanceNorm: expected more than 1 spatial element when training/);
  assert.throws(() => new nn.InstanceNorm1d(3, { affine: true }).forward(torch.ones([2, 4, 5])), /InstanceNorm1d: input has 4 channels, expected numFeatures = 3/);
  assert.throws(() => new nn.InstanceNorm1d(2, { momentum: null as unknown as number }), /InstanceNorm1d: momentum must be a number in \[0, 1\], got null/);
  assert.throws(() => new nn.InstanceNorm3d(2).forward(torch.ones([2, 3, 4])), /InstanceNorm3d: expected 4D or 5D input \[C, D, H, W\] or \[N, C, D, H, W\], got 3D input/);
  assert.throws(() => new nn.InstanceNorm3d(2, { trackRunningStats: true }).forward(torch.ones([3, 2, 2, 2])), /InstanceNorm3d: input has 3 channels, expected numFeatures = 2/);
  assert.throws(() => new nn.InstanceNorm3d(2, { eps: 0 }), /InstanceNorm3d: eps must be a finite number > 0, got 0/);
  assert.throws(() => new nn.InstanceNorm3d(1.5), /InstanceNorm3d: numFeatures must be a positive integer, got 1.5/);
  // Without affine weights or running statistics the channel count is free, as PyTorch.
  torch.scope(() => assert.deepEqual(new nn.InstanceNorm3d(2).forward(torch.randn([1, 5, 2, 2, 2])).shape, [1, 5, 2, 2, 2]));
  bn.dispose();
  in1.dispose();
});

test('forward in training and evaluation frees every intermediate tensor', () => {
  const layers: [nn.Module, Tensor][] = [
    [new nn.BatchNorm3d(3, { momentum: null }), torch.keep(torch.randn([2, 3, 2, 2, 2]))],
    [new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true }), torch.keep(torch.randn([2, 3, 4]))],
    [new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true }), torch.keep(torch.randn([3, 4]))],
    [new nn.InstanceNorm3d(3, { affine: true, trackRunningStats: true }), torch.keep(torch.randn([3, 2, 2, 2]))],
  ];
  for (const [m, x] of layers) {
    for (const mode of [true, false]) {
      m.train(mode);
      m.forward(x);
      const before = torch.memoryStats().liveTensors;
      (m.forward(x) as Tensor).dispose();
      assert.equal(torch.memoryStats().liveTensors, before, `${m.typeName} (training ${mode}) left tensors alive`);
    }
    m.dispose();
    x.dispose();
  }
});
