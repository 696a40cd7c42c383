// torch.optim.swa_utils against PyTorch 1.13 (Debian's python3-torch) in
// float64: AveragedModel's state dict (`module.*`, `n_averaged`) and output
// after several updates with the equal-weight average and an EMA, with and
// without buffers; SWALR's lr sequences (cos and linear, per-group swaLr,
// after another scheduler, Lightning's set-up, annealEpochs 0); updateBn's
// running statistics. Also option errors, the factory models' automatic copy,
// and SWALR state dicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { BatchNorm1d, BatchNorm2d, Linear, Module, ReLU, Sequential } from '../src/nn/index.js';
import { AveragedModel, ChainedScheduler, ExponentialLR, SGD, StepLR, SWALR, updateBn } from '../src/optim/index.js';
import type { AvgFn } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { assertMatchesTorch, describe, runTorch, skipWithoutTorch } from './helpers/pytorch.js';
import { assertClose } from './helpers/gradcheck.js';
import { tinyModel } from './helpers/tiny-training.js';

const PY_NET = `
def build():
    return nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5, momentum=0.2), nn.ReLU(), nn.Linear(5, 3))
`;

function build(): Sequential {
  return new Sequential(new Linear(4, 5, { dtype: 'float64' }), new BatchNorm1d(5, { momentum: 0.2, dtype: 'float64' }), new ReLU(), new Linear(5, 3, { dtype: 'float64' }));
}

/** A random state for build()'s network: weights, running statistics and a batch count (float64, int64). */
function randomState(net: Module, seed: number, batches: number): Record<string, Tensor> {
  torch.manualSeed(seed);
  return Object.fromEntries([...net.stateDict()].map(([k, v]) => {
    const value = k.endsWith('num_batches_tracked') ? torch.tensor(batches, { dtype: 'int64' })
      : k.endsWith('running_var') ? torch.rand(v.shape, { dtype: 'float64' }).add(0.5) : torch.randn(v.shape, { dtype: 'float64' });
    v.dispose();
    return [k, value];
  }));
}

const describeState = (state: Map<string, Tensor> | Record<string, Tensor>) =>
  Object.fromEntries((state instanceof Map ? [...state] : Object.entries(state)).map(([k, v]) => [k, describe(v)]));

test('AveragedModel matches PyTorch: equal average, EMA with buffers, equal average with buffers; forward runs the average', { skip: skipWithoutTorch }, () => torch.scope(() => {
  const net = build();
  const states = [randomState(net, 1, 5), randomState(net, 2, 17), randomState(net, 3, 40), randomState(net, 4, 71), randomState(net, 5, 90)];
  const x = torch.randn([6, 4], { dtype: 'float64' });
  const ema: AvgFn = (a, m) => a.mul(0.1).add(m.mul(0.9));
  const cases: { name: string; py: string; avgFn?: AvgFn; useBuffers: boolean }[] = [
    { name: 'equal average', py: 'None', useBuffers: false },
    { name: 'EMA with buffers', py: 'lambda a, m, n: 0.1 * a + 0.9 * m', avgFn: ema, useBuffers: true },
    { name: 'equal average with buffers', py: 'None', useBuffers: true },
  ];
  const want = runTorch(`${PY_NET}
from torch.optim.swa_utils import AveragedModel
out['cases'] = []
for case in inp['cases']:
    model = build()
    model.load_state_dict({k: T(v) for k, v in inp['states'][0].items()})
    swa = AveragedModel(model, avg_fn=eval(case['py']), use_buffers=case['useBuffers'])
    for st in inp['states'][1:]:
        model.load_state_dict({k: T(v) for k, v in st.items()})
        swa.update_parameters(model)
    swa.eval()
    out['cases'].append({'state': {k: J(v) for k, v in swa.state_dict().items()}, 'y': J(swa(T(inp['x'])))})
`, { cases: cases.map(({ py, useBuffers }) => ({ py, useBuffers })), states: states.map(describeState), x: describe(x) });

  cases.forEach((c, i) => {
    const model = build();
    model.loadStateDict(states[0]);
    const swa = new AveragedModel(model, { avgFn: c.avgFn, useBuffers: c.useBuffers, copy: build });
    for (const st of states.slice(1)) {
      model.loadStateDict(st);
      swa.updateParameters(model);
    }
    assert.equal(swa.nAveraged.item(), states.length - 1, c.name);
    swa.eval();
    const expected = want.cases[i];
    const state = swa.stateDict();
    assert.deepEqual([...state.keys()], Object.keys(expected.state), `${c.name}: state dict keys`);
    for (const [k, v] of state) {
      assert.equal(v.dtype, expected.state[k].dtype, `${c.name}: ${k} dtype`);
      assertMatchesTorch(v, expected.state[k], { atol: 1e-14, rtol: 1e-14 }, `${c.name}: ${k}`);
    }
    assertMatchesTorch(swa.forward(x) as Tensor, expected.y, { atol: 1e-13, rtol: 1e-13 }, `${c.name}: output`);
  });
}));

test('AveragedModel: the copy is independent, the first update copies, a state dict round-trips, errors name the fix', () => torch.scope(() => {
  const model = build();
  torch.manualSeed(3);
  const swa = new AveragedModel(model, { copy: build });
  // A copy: same values, other storage, same requiresGrad and mode.
  const [w] = model.parameters();
  const [sw] = swa.module.parameters();
  assert.deepEqual(sw.toFlatArray(), w.toFlatArray());
  torch.noGrad(() => w.add_(1));
  assert.notDeepEqual(sw.toFlatArray(), w.toFlatArray(), 'the copy does not share storage');
  assert.equal(sw.requiresGrad, true);
  // The first update copies whatever the average held.
  swa.updateParameters(model);
  assert.deepEqual(sw.toFlatArray(), w.toFlatArray());
  assert.equal(swa.nAveraged.dtype, 'int64');
  // Loading a saved state (PyTorch's keys) restores n_averaged and the weights.
  const other = new AveragedModel(build(), { copy: build });
  other.loadStateDict(swa.stateDict());
  assert.equal(other.nAveraged.item(), 1);
  assert.deepEqual(other.module.parameters()[0].toFlatArray(), w.toFlatArray());

  class Custom extends Module {
    readonly layer = this.registerModule('layer', new Linear(2, 2));
    forward(x: Tensor): Tensor { return this.layer.forward(x); }
  }
  assert.throws(() => new AveragedModel(new Custom()), /cannot copy a Custom: .*pass options\.copy/);
  assert.throws(() => new AveragedModel(new Custom(), { copy: () => new Sequential(new Linear(2, 2)) as unknown as Custom }),
    /does not have the model's tensors \(missing: layer\.weight, layer\.bias; unexpected: 0\.weight, 0\.bias\)/);
  assert.throws(() => new AveragedModel(new Sequential(new Linear(2, 2)), { copy: () => new Sequential(new Linear(2, 3)) }),
    /other shapes than the model \(0\.weight: model \[2, 2\] vs copy \[3, 2\]; 0\.bias: model \[2\] vs copy \[3\]\)/);
  assert.throws(() => new AveragedModel(build(), { copy: build, avgFn: 3 as never }), /avgFn must be a function/);
  assert.throws(() => new AveragedModel(build(), { copy: build, useBuffers: 'yes' as never }), /useBuffers must be a boolean/);
  const small = new AveragedModel(new Custom(), { copy: () => new Custom() });
  assert.throws(() => small.updateParameters(build()), /the model has 6 parameters, the averaged copy 2/);
}));

test('AveragedModel copies a factory model by rebuilding it, without moving the random stream', () => torch.scope(() => {
  torch.manualSeed(11);
  const model = tinyModel();
  model.eval();
  const x = torch.rand([2, 1, 8, 8]);
  torch.manualSeed(5);
  const swa = new AveragedModel(model);
  const after = torch.rand([3]).toFlatArray();
  torch.manualSeed(5);
  assert.deepEqual(torch.rand([3]).toFlatArray(), after, 'building the copy left the global random state as it was');
  assert.equal(swa.module.training, false, 'the copy has the model\'s mode');
  assert.deepEqual([...swa.module.stateDict().keys()], [...model.stateDict().keys()]);
  assertClose((swa.forward(x) as Tensor).toFlatArray(), (model.forward(x) as Tensor).toFlatArray(), { atol: 1e-6, rtol: 1e-6 }, 'same function');
}));

interface SwalrCase {
  name: string;
  lrs: number[];
  swaLr: number | number[];
  annealEpochs?: number;
  strategy?: 'cos' | 'linear';
  /** StepLR steps (step size 2, gamma 0.5) taken before SWALR is made. */
  before?: number;
  /** Lightning's set-up: initialLr = swaLr, lastEpoch = this. */
  lightningLastEpoch?: number;
  steps: number;
}

const swalrCases: SwalrCase[] = [
  { name: 'cos, defaults', lrs: [0.1], swaLr: 0.01, steps: 14 },
  { name: 'linear, 4 epochs, two groups one swaLr', lrs: [0.1, 0.4], swaLr: 0.05, annealEpochs: 4, strategy: 'linear', steps: 8 },
  { name: 'cos, 3 epochs, a swaLr per group', lrs: [0.2, 0.03], swaLr: [0.02, 0.06], annealEpochs: 3, strategy: 'cos', steps: 7 },
  { name: 'annealEpochs 0: at once', lrs: [0.1], swaLr: 0.3, annealEpochs: 0, strategy: 'cos', steps: 4 },
  { name: 'annealEpochs 1, linear', lrs: [0.1], swaLr: 0.3, annealEpochs: 1, strategy: 'linear', steps: 4 },
  { name: 'after 5 StepLR steps', lrs: [0.8, 0.1], swaLr: 0.05, annealEpochs: 5, strategy: 'cos', before: 5, steps: 9 },
  { name: "Lightning's set-up (initialLr = swaLr, lastEpoch = maxEpochs)", lrs: [0.1, 0.2], swaLr: [0.01, 0.02], annealEpochs: 3, strategy: 'cos', before: 3, lightningLastEpoch: 10, steps: 6 },
];

function jsSwalrLrs(c: SwalrCase): { rows: number[][]; lastEpochs: number[] } {
  const params = c.lrs.map(() => torch.keep(torch.zeros([1], { dtype: 'float64', requiresGrad: true })));
  const opt = new SGD(c.lrs.map((lr, i) => ({ params: [params[i]], lr })), { lr: c.lrs[0] });
  if (c.before) {
    const step = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    for (let i = 0; i < c.before; i++) step.step();
  }
  if (c.lightningLastEpoch !== undefined) {
    const swa = Array.isArray(c.swaLr) ? c.swaLr : c.lrs.map(() => c.swaLr as number);
    opt.paramGroups.forEach((g, i) => { g.initialLr = swa[i]; });
  }
  const s = new SWALR(opt, { swaLr: c.swaLr, annealEpochs: c.annealEpochs, annealStrategy: c.strategy, lastEpoch: c.lightningLastEpoch });
  const rows = [opt.paramGroups.map((g) => g.lr)];
  const lastEpochs = [s.lastEpoch];
  for (let i = 0; i < c.steps; i++) {
    s.step();
    rows.push(opt.paramGroups.map((g) => g.lr));
    lastEpochs.push(s.lastEpoch);
  }
  assert.deepEqual(s.getLastLr(), rows.at(-1));
  params.forEach((p) => p.dispose());
  return { rows, lastEpochs };
}

test('SWALR follows PyTorch 1.13: cos and linear, per-group swaLr, after another scheduler, Lightning\'s set-up, annealEpochs 0', { skip: skipWithoutTorch }, () => {
  const want = runTorch(`
import warnings
warnings.simplefilter('ignore')
from torch.optim.lr_scheduler import StepLR
from torch.optim.swa_utils import SWALR
out['cases'] = []
for c in inp['cases']:
    params = [torch.zeros(1, requires_grad=True) for _ in c['lrs']]
    opt = torch.optim.SGD([{'params': [p], 'lr': lr} for p, lr in zip(params, c['lrs'])], lr=c['lrs'][0])
    if c.get('before'):
        step = StepLR(opt, step_size=2, gamma=0.5)
        for _ in range(c['before']):
            opt.step(); step.step()
    kwargs = {}
    if c.get('annealEpochs') is not None: kwargs['anneal_epochs'] = c['annealEpochs']
    if c.get('strategy') is not None: kwargs['anneal_strategy'] = c['strategy']
    if c.get('lightningLastEpoch') is not None:
        swa = c['swaLr'] if isinstance(c['swaLr'], list) else [c['swaLr']] * len(c['lrs'])
        for g, lr in zip(opt.param_groups, swa): g['initial_lr'] = lr
        kwargs['last_epoch'] = c['lightningLastEpoch']
    s = SWALR(opt, swa_lr=c['swaLr'], **kwargs)
    rows = [[g['lr'] for g in opt.param_groups]]
    last = [s.last_epoch]
    for _ in range(c['steps']):
        opt.step(); s.step()
        rows.append([g['lr'] for g in opt.param_groups])
        last.append(s.last_epoch)
    out['cases'].append({'rows': rows, 'last': last})
`, { cases: swalrCases });
  swalrCases.forEach((c, i) => {
    const { rows, lastEpochs } = jsSwalrLrs(c);
    assert.deepEqual(lastEpochs, want.cases[i].last, `${c.name}: lastEpoch`);
    assert.equal(rows.length, want.cases[i].rows.length);
    rows.forEach((row, r) => assertClose(row, want.cases[i].rows[r], { atol: 1e-16, rtol: 1e-14 }, `${c.name}: row ${r}`));
  });
});

test('SWALR: state dicts resume the schedule, swaLr lives in the groups, option errors name the option', () => {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  const fresh = () => new SGD([p], { lr: 0.1 });
  const opt = fresh();
  const s = new SWALR(opt, { swaLr: 0.01, annealEpochs: 4 });
  assert.equal(opt.paramGroups[0].swaLr, 0.01);
  s.step();
  s.step();
  const saved = s.stateDict();
  const savedOptimizer = opt.stateDict();
  assert.equal(saved.stepCount, 3);
  assert.equal(SWALR.isStateDict(saved), true);
  assert.equal(SWALR.isStateDict(new StepLR(fresh(), { stepSize: 1 }).stateDict()), false);
  const expected: number[] = [];
  for (let i = 0; i < 4; i++) { s.step(); expected.push(opt.paramGroups[0].lr); }

  // Resume as the Trainer does: the optimizer's state (its lr and swaLr), then a new SWALR loading the saved state.
  const back = fresh();
  back.loadStateDict(savedOptimizer);
  const again = new SWALR(back, { swaLr: 0.01, annealEpochs: 4 });
  again.loadStateDict(saved);
  const got: number[] = [];
  for (let i = 0; i < 4; i++) { again.step(); got.push(back.paramGroups[0].lr); }
  assert.deepEqual(got, expected);
  assert.equal(opt.stateDict().param_groups[0].swa_lr, 0.01, "PyTorch's key in the optimizer's state dict");

  assert.throws(() => new SWALR(fresh(), { swaLr: 0.01, annealStrategy: 'exp' as never }), /SWALR: annealStrategy must be 'cos' or 'linear', got "exp"/);
  assert.throws(() => new SWALR(fresh(), { swaLr: 0.01, annealEpochs: -1 }), /SWALR: annealEpochs must be an integer >= 0, got -1/);
  assert.throws(() => new SWALR(fresh(), { swaLr: 0.01, annealEpochs: 2.5 }), /annealEpochs must be an integer >= 0, got 2.5/);
  assert.throws(() => new SWALR(fresh(), { swaLr: [0.01, 0.02] }), /expected 1 values of swaLr \(one per parameter group\), got 2/);
  assert.throws(() => new SWALR(fresh(), {} as never), /swaLr must be a finite number/);
  assert.throws(() => new SWALR(fresh(), { swaLr: 0.01, lastEpoch: 4 }), /lastEpoch 4 continues a schedule, but param group 0 has no 'initialLr'/);
  assert.throws(() => again.loadStateDict(new StepLR(fresh(), { stepSize: 1 }).stateDict()), /no numeric 'stepCount'/);
  p.dispose();
});

test('SWALR inside a ChainedScheduler counts its steps', () => {
  const p = torch.keep(torch.zeros([1], { dtype: 'float64', requiresGrad: true }));
  const opt = new SGD([p], { lr: 0.1 });
  const chain = new ChainedScheduler([new ExponentialLR(opt, { gamma: 0.9 }), new SWALR(opt, { swaLr: 0.01, annealEpochs: 2, annealStrategy: 'linear' })]);
  const lrs = [opt.paramGroups[0].lr];
  for (let i = 0; i < 3; i++) { chain.step(); lrs.push(opt.paramGroups[0].lr); }
  // Step 1: 0.1 · 0.9 = 0.09, then half way to 0.01 (0.05); step 2: ×0.9, then alpha 1 (0.01); then it stays.
  assertClose(lrs, [0.1, 0.5 * 0.01 + 0.5 * 0.09, 0.01, 0.01], { atol: 1e-15, rtol: 1e-12 });
  p.dispose();
});

test('updateBn matches PyTorch: cumulative running statistics over the batches, momenta and mode restored', { skip: skipWithoutTorch }, async () => {
  const net = build();
  const state = randomState(net, 7, 12);
  torch.manualSeed(8);
  const sizes = [5, 3, 8, 2];
  const xs = torch.keep(sizes.map((n) => torch.randn([n, 4], { dtype: 'float64' })));
  const images = torch.keep(sizes.map((n) => torch.randn([n, 3, 2, 2], { dtype: 'float64' })));
  const want = runTorch(`${PY_NET}
from torch.optim.swa_utils import update_bn
m = build()
m.load_state_dict({k: T(v) for k, v in inp['state'].items()})
m.eval()
update_bn([(T(x), torch.zeros(1)) for x in inp['xs']], m)
out['state'] = {k: J(v) for k, v in m.state_dict().items()}
out['momentum'] = m[1].momentum
out['training'] = m.training
bn = nn.BatchNorm2d(3, momentum=0.4)
bn.train()
update_bn([T(x) for x in inp['images']], bn)
out['bn2d'] = {k: J(v) for k, v in bn.state_dict().items()}
out['bn2d_training'] = bn.training
`, { state: describeState(state), xs: xs.map(describe), images: images.map(describe) });

  const model = build();
  model.loadStateDict(state);
  model.eval();
  // Batches from an async loader, as the DataLoader gives them (updateBn disposes them).
  async function* batches(): AsyncGenerator<Batch> {
    for (const x of xs) yield { x: torch.keep(x.clone()), y: torch.keep(torch.zeros([1])) };
  }
  await updateBn(batches(), model);
  torch.scope(() => {
    for (const [k, v] of model.stateDict()) assertMatchesTorch(v, want.state[k], { atol: 1e-13, rtol: 1e-13 }, `Sequential ${k}`);
  });
  assert.equal((model.at(1) as BatchNorm1d).momentum, want.momentum);
  assert.equal(model.training, want.training);
  assert.equal(model.at(1).training, false, 'the submodules are back in eval mode');

  const bn = new BatchNorm2d(3, { momentum: 0.4, dtype: 'float64' });
  await updateBn(images, bn); // a plain list of tensors: they stay the caller's
  torch.scope(() => {
    for (const [k, v] of bn.stateDict()) assertMatchesTorch(v, want.bn2d[k], { atol: 1e-13, rtol: 1e-13 }, `BatchNorm2d ${k}`);
  });
  assert.equal(bn.momentum, 0.4);
  assert.equal(bn.training, want.bn2d_training);
  assert.ok(!images[0].isDisposed, 'tensors of a list are left alone');
  for (const t of [...xs, ...images]) t.dispose();
  for (const t of Object.values(state)) t.dispose();
});

test('updateBn: no BatchNorm means no pass over the data; momenta come back even when the pass fails; bad items are named', async () => {
  let iterated = false;
  async function* never(): AsyncGenerator<Tensor> { iterated = true; yield torch.zeros([1, 2]); }
  await updateBn(never(), new Sequential(new Linear(2, 2)));
  assert.equal(iterated, false);

  const model = build();
  async function* failing(): AsyncGenerator<Tensor> {
    yield torch.keep(torch.randn([4, 4], { dtype: 'float64' }));
    throw new Error('loader broke');
  }
  await assert.rejects(updateBn(failing(), model), /loader broke/);
  assert.equal((model.at(1) as BatchNorm1d).momentum, 0.2);
  await assert.rejects(updateBn([{ image: 1 } as never], model), /each item must be a batch \{ x, y \}, a tensor, or a list/);
  await assert.rejects(updateBn(5 as never, model), /expected a loader/);
});
