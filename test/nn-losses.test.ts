// torch.nn-style loss modules and their F functions against PyTorch 1.13
// (python3-torch) in float64: values and input gradients for every
// reduction; buffers' names; bad inputs; no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, nn } from '../src/index.js';
import { randomTensor } from './helpers/gradcheck.js';
import { assertMatchesTorch, describe, hasTorch, runTorch, skipWithoutTorch } from './helpers/pytorch.js';

const { F } = torch;
type Tensor = torch.Tensor;

let seed = 900;
const rnd = (shape: number[], lo = -1, hi = 1): Tensor => torch.keep(randomTensor(shape, seed++, lo, hi));
const labels = (values: number[], shape = [values.length]): Tensor => torch.keep(torch.tensor(values, { dtype: 'int64' }).reshape(shape));

interface Case { ours: (a: Tensor, b: Tensor) => Tensor; python: string; a: Tensor; b: Tensor; extras?: Record<string, Tensor> }
const cases: Record<string, Case> = {};
const add = (name: string, c: Case): void => { cases[name] = c; };

const x = rnd([4, 3], -2, 2);
const y = rnd([4, 3], -2, 2);
for (const reduction of ['mean', 'sum', 'none'] as const) {
  add(`MSELoss ${reduction}`, { ours: (a, b) => new nn.MSELoss({ reduction }).forward(a, b), python: `F.mse_loss(a, b, reduction='${reduction}')`, a: x, b: y });
  add(`L1Loss ${reduction}`, { ours: (a, b) => new nn.L1Loss({ reduction }).forward(a, b), python: `F.l1_loss(a, b, reduction='${reduction}')`, a: x, b: y });
  add(`SmoothL1Loss beta 0.5 ${reduction}`, {
    ours: (a, b) => new nn.SmoothL1Loss({ reduction, beta: 0.5 }).forward(a, b), python: `F.smooth_l1_loss(a, b, reduction='${reduction}', beta=0.5)`, a: x, b: y,
  });
  add(`HuberLoss delta 1.5 ${reduction}`, {
    ours: (a, b) => new nn.HuberLoss({ reduction, delta: 1.5 }).forward(a, b), python: `F.huber_loss(a, b, reduction='${reduction}', delta=1.5)`, a: x, b: y,
  });
}
add('SmoothL1Loss default', { ours: (a, b) => new nn.SmoothL1Loss().forward(a, b), python: 'F.smooth_l1_loss(a, b)', a: x, b: y });
add('SmoothL1Loss beta 0 (L1)', { ours: (a, b) => F.smoothL1Loss(a, b, { beta: 0 }), python: 'F.smooth_l1_loss(a, b, beta=0.0)', a: x, b: y });
add('HuberLoss default', { ours: (a, b) => new nn.HuberLoss().forward(a, b), python: 'F.huber_loss(a, b)', a: x, b: y });

const logProbs = rnd([6, 4], -3, 0);
const classes = labels([0, 3, 1, 2, 1, 3]);
const classWeight = rnd([4], 0.5, 2);
for (const reduction of ['mean', 'sum', 'none'] as const) {
  add(`NLLLoss weight, ignoreIndex 1, ${reduction}`, {
    ours: (a, b) => new nn.NLLLoss({ weight: classWeight, ignoreIndex: 1, reduction }).forward(a, b),
    python: `F.nll_loss(a, b, weight=E['w'], ignore_index=1, reduction='${reduction}')`, a: logProbs, b: classes, extras: { w: classWeight },
  });
}
add('NLLLoss default', { ours: (a, b) => new nn.NLLLoss().forward(a, b), python: 'F.nll_loss(a, b)', a: logProbs, b: classes });
add('NLLLoss spatial [N, C, H, W]', {
  ours: (a, b) => F.nllLoss(a, b, { weight: classWeight.narrow(0, 0, 3) }), python: 'F.nll_loss(a, b, weight=E["w"][:3])',
  a: rnd([2, 3, 2, 2], -3, 0), b: labels([0, 1, 2, 2, 1, 0, 0, 2], [2, 2, 2]), extras: { w: classWeight },
});
add('F.nllLoss reduction string', { ours: (a, b) => F.nllLoss(a, b, 'sum'), python: "F.nll_loss(a, b, reduction='sum')", a: logProbs, b: classes });

const probs = rnd([4, 3], 0.05, 0.95);
const binary = torch.keep(randomTensor([4, 3], seed++, 0, 1).gt(0.5).double());
const soft = rnd([4, 3], 0, 1);
const elementWeight = rnd([3], 0.5, 2);
const posWeight = rnd([3], 0.5, 3);
for (const reduction of ['mean', 'sum', 'none'] as const) {
  add(`BCELoss weight ${reduction}`, {
    ours: (a, b) => new nn.BCELoss({ weight: elementWeight, reduction }).forward(a, b),
    python: `F.binary_cross_entropy(a, b, weight=E['w'], reduction='${reduction}')`, a: probs, b: soft, extras: { w: elementWeight },
  });
  add(`BCEWithLogitsLoss weight, posWeight ${reduction}`, {
    ours: (a, b) => new nn.BCEWithLogitsLoss({ weight: elementWeight, posWeight, reduction }).forward(a, b),
    python: `F.binary_cross_entropy_with_logits(a, b, weight=E['w'], pos_weight=E['p'], reduction='${reduction}')`,
    a: rnd([4, 3], -30, 30), b: binary, extras: { w: elementWeight, p: posWeight },
  });
}
add('BCELoss default', { ours: (a, b) => new nn.BCELoss().forward(a, b), python: 'F.binary_cross_entropy(a, b)', a: probs, b: binary });
add('BCEWithLogitsLoss default', { ours: (a, b) => new nn.BCEWithLogitsLoss().forward(a, b), python: 'F.binary_cross_entropy_with_logits(a, b)', a: x, b: soft });

const logQ = rnd([3, 5], -4, -0.1);
const p = rnd([3, 5], 0.01, 1);
const logP = rnd([3, 5], -4, 0);
for (const reduction of ['mean', 'sum', 'none', 'batchmean'] as const) {
  add(`KLDivLoss ${reduction}`, {
    ours: (a, b) => new nn.KLDivLoss({ reduction }).forward(a, b), python: `F.kl_div(a, b, reduction='${reduction}')`, a: logQ, b: p,
  });
  add(`KLDivLoss logTarget ${reduction}`, {
    ours: (a, b) => new nn.KLDivLoss({ reduction, logTarget: true }).forward(a, b), python: `F.kl_div(a, b, reduction='${reduction}', log_target=True)`,
    a: logQ, b: logP,
  });
}

// Our side first: the output shapes give the projections' shapes.
const ours = new Map<string, { out: Tensor; grad: Tensor; proj: Tensor }>();
for (const [name, c] of Object.entries(cases)) {
  const a = c.a.detach().requiresGrad_(true);
  const out = c.ours(a, c.b);
  const proj = randomTensor(out.shape, seed++);
  out.mul(proj).sum().backward();
  ours.set(name, torch.keep({ out, grad: a.grad!, proj }));
}

const reference = hasTorch ? runTorch(`
for name, c in inp.items():
    a = T(c['a'], True); b = T(c['b']); E = {k: T(v) for k, v in c['extras'].items()}
    y = eval(c['python'])
    (y * T(c['proj'])).sum().backward()
    out[name] = {'y': J(y), 'grad': J(a.grad)}
`, Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, {
  a: describe(c.a), b: describe(c.b), proj: describe(ours.get(name)!.proj), python: c.python,
  extras: Object.fromEntries(Object.entries(c.extras ?? {}).map(([k, v]) => [k, describe(v)])),
}]))) : null;

for (const name of Object.keys(cases)) {
  test(`${name}: value and input gradient match PyTorch`, { skip: skipWithoutTorch }, () => {
    const { out, grad } = ours.get(name)!;
    assertMatchesTorch(out, reference[name].y, undefined, `${name} value`);
    assertMatchesTorch(grad, reference[name].grad, undefined, `${name} gradient`);
  });
}

test('weights are buffers with PyTorch\'s names, copied from the caller', () => {
  const w = torch.tensor([1, 2, 3]);
  const loss = new nn.BCEWithLogitsLoss({ weight: w, posWeight: w });
  torch.scope(() => assert.deepEqual([...loss.stateDict().keys()], ['weight', 'pos_weight']));
  w.dispose();
  assert.deepEqual(loss.weight!.toArray(), [1, 2, 3], 'the loss keeps its own handle');
  assert.deepEqual(loss.parameters(), []);
  torch.scope(() => assert.deepEqual([...new nn.NLLLoss().stateDict().keys()], []));
  loss.dispose();
});

test('bad inputs and options are rejected with messages naming the problem', () => {
  const a = torch.ones([2, 3]);
  assert.throws(() => new nn.MSELoss().forward(a, torch.ones([3, 2])), /MSELoss: input shape \[2, 3\] and target shape \[3, 2\] must be the same/);
  assert.throws(() => new nn.L1Loss().forward(a, torch.ones([2])), /l1Loss: input shape \[2, 3\] and target shape \[2\] must be the same/);
  assert.throws(() => new nn.BCELoss().forward(a, torch.ones([2, 1])), /binaryCrossEntropy: input shape/);
  assert.throws(() => new nn.BCEWithLogitsLoss().forward(a, torch.ones([6])), /binaryCrossEntropyWithLogits: input shape/);
  assert.throws(() => new nn.MSELoss({ reduction: 'avg' as 'mean' }), /MSELoss: reduction must be 'none', 'mean', 'sum', got 'avg'/);
  assert.throws(() => new nn.KLDivLoss({ reduction: 'avg' as 'mean' }), /KLDivLoss: reduction must be 'none', 'mean', 'sum', 'batchmean'/);
  assert.throws(() => F.klDiv(a, a, { reduction: 'avg' as 'mean' }), /klDiv: reduction must be/);
  assert.throws(() => new nn.SmoothL1Loss({ beta: -1 }), /beta must be ≥ 0, got -1/);
  assert.throws(() => new nn.HuberLoss({ delta: 0 }), /delta must be > 0, got 0/);
  assert.throws(() => new nn.NLLLoss({ weight: torch.ones([2]) }).forward(torch.zeros([4, 3]), torch.zeros([4], { dtype: 'int64' })),
    /nllLoss: weight must have one entry per class \(3\), got shape \[2\]/);
  assert.throws(() => new nn.NLLLoss({ ignoreIndex: 0.5 }), /ignoreIndex must be an integer/);
});

test('loss forward frees every intermediate tensor', () => {
  const a = torch.keep(torch.rand([4, 3]));
  const b = torch.keep(torch.rand([4, 3]));
  const t = torch.keep(torch.tensor([0, 2, 1, 1], { dtype: 'int64' }));
  const losses: [nn.Module, Tensor][] = [[new nn.MSELoss(), b], [new nn.HuberLoss(), b], [new nn.NLLLoss({ weight: torch.ones([3]) }), t],
    [new nn.BCEWithLogitsLoss({ posWeight: torch.ones([3]) }), b], [new nn.KLDivLoss({ reduction: 'batchmean' }), b]];
  for (const [loss, target] of losses) {
    (loss.forward(a, target) as Tensor).dispose();
    const before = torch.memoryStats().liveTensors;
    (loss.forward(a, target) as Tensor).dispose();
    assert.equal(torch.memoryStats().liveTensors, before, `${loss.typeName} left tensors alive`);
    loss.dispose();
  }
});
