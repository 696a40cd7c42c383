// Every scheduler's lr (and cycled momentum) sequence against PyTorch 1.13's
// torch.optim.lr_scheduler, run through Debian's python3-torch in one batch;
// skipped with the reason when /usr/bin/python3 has no torch. Also state-dict
// resumes and option errors of the schedulers added beside the first ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  Adam, ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, LRScheduler,
  LambdaLR, LinearLR, MultiStepLR, MultiplicativeLR, OneCycleLR, Optimizer, PolynomialLR, SGD, SequentialLR, StepLR,
} from '../src/optim/index.js';
import { pytorchReference } from './optim-helpers.js';

type Opt = SGD | Adam;
/** A scheduler in Python (class name and keyword arguments; lr_lambda as expressions in `e`) and in TypeScript. */
interface Spec { kind: string; kwargs: Record<string, unknown> }
interface Case {
  name: string;
  lrs: number[];
  optimizer?: 'SGD' | 'Adam';
  momentum?: number;
  py: Spec[];
  chained?: boolean;
  sequential?: number[];
  /** Steps without argument, or the epochs to pass to step(epoch). */
  steps?: number;
  epochs?: number[];
  js: (opt: Opt) => LRScheduler;
  /** Why row 0 (after construction) is not compared: a PyTorch 1.13 quirk we do not copy. */
  skipFirstRow?: string;
}

/** The same lambda in both languages: an expression in `e` that Python and JS read alike. */
const lambda = (expr: string) => new Function('e', `return ${expr};`) as (e: number) => number;

const cases: Case[] = [
  { name: 'StepLR (stepSize 3, gamma 0.5), two groups', lrs: [0.1, 0.03], py: [{ kind: 'StepLR', kwargs: { step_size: 3, gamma: 0.5 } }], steps: 12,
    js: (o) => new StepLR(o, { stepSize: 3, gamma: 0.5 }) },
  { name: 'StepLR (default gamma 0.1)', lrs: [1], py: [{ kind: 'StepLR', kwargs: { step_size: 2 } }], steps: 7, js: (o) => new StepLR(o, { stepSize: 2 }) },
  { name: 'MultiStepLR (unsorted milestones with a repeat)', lrs: [0.2, 0.05], py: [{ kind: 'MultiStepLR', kwargs: { milestones: [5, 2, 9, 5], gamma: 0.3 } }],
    steps: 12, js: (o) => new MultiStepLR(o, { milestones: [5, 2, 9, 5], gamma: 0.3 }) },
  { name: 'ExponentialLR', lrs: [0.1, 1], py: [{ kind: 'ExponentialLR', kwargs: { gamma: 0.9 } }], steps: 10, js: (o) => new ExponentialLR(o, { gamma: 0.9 }) },
  { name: 'ConstantLR (defaults)', lrs: [0.1], py: [{ kind: 'ConstantLR', kwargs: {} }], steps: 8, js: (o) => new ConstantLR(o) },
  { name: 'ConstantLR (factor 0.5, totalIters 3)', lrs: [0.1, 0.3], py: [{ kind: 'ConstantLR', kwargs: { factor: 0.5, total_iters: 3 } }], steps: 6,
    js: (o) => new ConstantLR(o, { factor: 0.5, totalIters: 3 }) },
  { name: 'MultiplicativeLR (one lambda)', lrs: [0.1, 0.2], py: [{ kind: 'MultiplicativeLR', kwargs: { lr_lambda: '0.95' } }], steps: 8,
    js: (o) => new MultiplicativeLR(o, lambda('0.95')) },
  { name: 'MultiplicativeLR (a lambda per group)', lrs: [0.1, 0.2], py: [{ kind: 'MultiplicativeLR', kwargs: { lr_lambda: ['0.9', '1 - 0.01 * e'] } }],
    steps: 8, js: (o) => new MultiplicativeLR(o, [lambda('0.9'), lambda('1 - 0.01 * e')]) },
  { name: 'PolynomialLR (defaults)', lrs: [0.1], py: [{ kind: 'PolynomialLR', kwargs: {} }], steps: 8, js: (o) => new PolynomialLR(o) },
  { name: 'PolynomialLR (totalIters 6, power 2)', lrs: [0.1, 0.5], py: [{ kind: 'PolynomialLR', kwargs: { total_iters: 6, power: 2 } }], steps: 9,
    js: (o) => new PolynomialLR(o, { totalIters: 6, power: 2 }) },
  { name: 'CosineAnnealingWarmRestarts (t0 3)', lrs: [0.1, 0.02], py: [{ kind: 'CosineAnnealingWarmRestarts', kwargs: { T_0: 3 } }], steps: 14,
    js: (o) => new CosineAnnealingWarmRestarts(o, { t0: 3 }) },
  { name: 'CosineAnnealingWarmRestarts (t0 2, tMult 2, etaMin 0.01)', lrs: [0.1], py: [{ kind: 'CosineAnnealingWarmRestarts', kwargs: { T_0: 2, T_mult: 2, eta_min: 0.01 } }],
    steps: 20, js: (o) => new CosineAnnealingWarmRestarts(o, { t0: 2, tMult: 2, etaMin: 0.01 }) },
  { name: 'CosineAnnealingWarmRestarts step(epoch) with fractional epochs, tMult 2', lrs: [0.1, 0.4],
    py: [{ kind: 'CosineAnnealingWarmRestarts', kwargs: { T_0: 2, T_mult: 2, eta_min: 0.001 } }],
    epochs: [0.25, 0.5, 1.7, 2, 3.3, 5.9, 6, 6.5, 13.2, 14, 3, 30.75],
    js: (o) => new CosineAnnealingWarmRestarts(o, { t0: 2, tMult: 2, etaMin: 0.001 }) },
  { name: 'CosineAnnealingWarmRestarts step(epoch) fractional then plain steps, tMult 1', lrs: [0.1],
    py: [{ kind: 'CosineAnnealingWarmRestarts', kwargs: { T_0: 4 } }], epochs: [0.5, 1.5, 4.25, 9.75],
    js: (o) => new CosineAnnealingWarmRestarts(o, { t0: 4 }) },
  { name: 'CyclicLR triangular (SGD momentum cycles 0.9 -> 0.8)', lrs: [0.1, 0.1], momentum: 0.9,
    py: [{ kind: 'CyclicLR', kwargs: { base_lr: 0.01, max_lr: 0.1, step_size_up: 4 } }], steps: 20,
    js: (o) => new CyclicLR(o, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 4 }) },
  { name: 'CyclicLR triangular2, uneven halves, per-group lrs and momenta', lrs: [0.1, 0.1], momentum: 0.5,
    py: [{ kind: 'CyclicLR', kwargs: { base_lr: [0.01, 0.02], max_lr: [0.1, 0.3], step_size_up: 3, step_size_down: 5, mode: 'triangular2', base_momentum: [0.7, 0.6], max_momentum: [0.95, 0.9] } }],
    steps: 26, js: (o) => new CyclicLR(o, { baseLr: [0.01, 0.02], maxLr: [0.1, 0.3], stepSizeUp: 3, stepSizeDown: 5, mode: 'triangular2', baseMomentum: [0.7, 0.6], maxMomentum: [0.95, 0.9] }) },
  { name: 'CyclicLR exp_range (gamma 0.9)', lrs: [0.1], momentum: 0.9,
    py: [{ kind: 'CyclicLR', kwargs: { base_lr: 0.001, max_lr: 0.05, step_size_up: 2, mode: 'exp_range', gamma: 0.9 } }], steps: 15,
    js: (o) => new CyclicLR(o, { baseLr: 0.001, maxLr: 0.05, stepSizeUp: 2, mode: 'exp_range', gamma: 0.9 }) },
  { name: 'CyclicLR with Adam, cycleMomentum false', lrs: [0.1], optimizer: 'Adam',
    py: [{ kind: 'CyclicLR', kwargs: { base_lr: 0.001, max_lr: 0.01, step_size_up: 3, cycle_momentum: false } }], steps: 10,
    js: (o) => new CyclicLR(o, { baseLr: 0.001, maxLr: 0.01, stepSizeUp: 3, cycleMomentum: false }) },
  { name: 'ChainedScheduler [ConstantLR, ExponentialLR]', lrs: [1, 0.5], chained: true,
    py: [{ kind: 'ConstantLR', kwargs: { factor: 0.1, total_iters: 2 } }, { kind: 'ExponentialLR', kwargs: { gamma: 0.9 } }], steps: 8,
    js: (o) => new ChainedScheduler([new ConstantLR(o, { factor: 0.1, totalIters: 2 }), new ExponentialLR(o, { gamma: 0.9 })]) },
  { name: 'ChainedScheduler [LinearLR, StepLR, MultiplicativeLR]', lrs: [0.1], chained: true,
    py: [{ kind: 'LinearLR', kwargs: { start_factor: 0.25, total_iters: 4 } }, { kind: 'StepLR', kwargs: { step_size: 3, gamma: 0.5 } },
      { kind: 'MultiplicativeLR', kwargs: { lr_lambda: '0.99' } }], steps: 10,
    js: (o) => new ChainedScheduler([new LinearLR(o, { startFactor: 0.25, totalIters: 4 }), new StepLR(o, { stepSize: 3, gamma: 0.5 }), new MultiplicativeLR(o, lambda('0.99'))]) },
  { name: 'ChainedScheduler [ExponentialLR, CosineAnnealingLR] past tMax (recursive cosine)', lrs: [0.1, 0.2], chained: true,
    py: [{ kind: 'ExponentialLR', kwargs: { gamma: 0.95 } }, { kind: 'CosineAnnealingLR', kwargs: { T_max: 5, eta_min: 0.001 } }], steps: 16,
    js: (o) => new ChainedScheduler([new ExponentialLR(o, { gamma: 0.95 }), new CosineAnnealingLR(o, { tMax: 5, etaMin: 0.001 })]) },
  { name: 'ChainedScheduler [MultiStepLR, PolynomialLR]', lrs: [0.1], chained: true,
    py: [{ kind: 'MultiStepLR', kwargs: { milestones: [2, 4] } }, { kind: 'PolynomialLR', kwargs: { total_iters: 6, power: 0.5 } }], steps: 9,
    js: (o) => new ChainedScheduler([new MultiStepLR(o, { milestones: [2, 4] }), new PolynomialLR(o, { totalIters: 6, power: 0.5 })]) },
  { name: 'ChainedScheduler [CyclicLR, ExponentialLR] (cyclic sets, exponential scales)', lrs: [0.1], momentum: 0.9, chained: true,
    py: [{ kind: 'CyclicLR', kwargs: { base_lr: 0.01, max_lr: 0.1, step_size_up: 3 } }, { kind: 'ExponentialLR', kwargs: { gamma: 0.9 } }], steps: 10,
    js: (o) => new ChainedScheduler([new CyclicLR(o, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 3 }), new ExponentialLR(o, { gamma: 0.9 })]) },
  { name: 'ChainedScheduler [ExponentialLR, CyclicLR] (cyclic overrides)', lrs: [0.1], momentum: 0.9, chained: true,
    py: [{ kind: 'ExponentialLR', kwargs: { gamma: 0.9 } }, { kind: 'CyclicLR', kwargs: { base_lr: 0.01, max_lr: 0.1, step_size_up: 3 } }], steps: 10,
    skipFirstRow: "PyTorch's CyclicLR computes its step 0 before setting base_lrs, so when another scheduler already set initial_lr it starts at that lr (0.1) instead of base_lr; ours starts at base_lr",
    js: (o) => new ChainedScheduler([new ExponentialLR(o, { gamma: 0.9 }), new CyclicLR(o, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 3 })]) },
  { name: 'ChainedScheduler [CosineAnnealingWarmRestarts, ConstantLR]', lrs: [0.1], chained: true,
    py: [{ kind: 'CosineAnnealingWarmRestarts', kwargs: { T_0: 3 } }, { kind: 'ConstantLR', kwargs: { factor: 0.5, total_iters: 4 } }], steps: 9,
    js: (o) => new ChainedScheduler([new CosineAnnealingWarmRestarts(o, { t0: 3 }), new ConstantLR(o, { factor: 0.5, totalIters: 4 })]) },
  // The first schedulers, now checked against PyTorch too.
  { name: 'LinearLR', lrs: [0.1, 0.3], py: [{ kind: 'LinearLR', kwargs: { start_factor: 0.25, end_factor: 0.75, total_iters: 4 } }], steps: 7,
    js: (o) => new LinearLR(o, { startFactor: 0.25, endFactor: 0.75, totalIters: 4 }) },
  { name: 'CosineAnnealingLR past tMax', lrs: [0.1, 0.02], py: [{ kind: 'CosineAnnealingLR', kwargs: { T_max: 10, eta_min: 0.001 } }], steps: 25,
    js: (o) => new CosineAnnealingLR(o, { tMax: 10, etaMin: 0.001 }) },
  { name: 'LambdaLR', lrs: [0.1, 0.3], py: [{ kind: 'LambdaLR', kwargs: { lr_lambda: ['0.5 ** e', '1 / (e + 1)'] } }], steps: 6,
    js: (o) => new LambdaLR(o, [lambda('0.5 ** e'), lambda('1 / (e + 1)')]) },
  { name: 'SequentialLR [LinearLR, ExponentialLR]', lrs: [0.5], sequential: [3],
    py: [{ kind: 'LinearLR', kwargs: { start_factor: 0.1, total_iters: 3 } }, { kind: 'ExponentialLR', kwargs: { gamma: 0.8 } }], steps: 8,
    js: (o) => new SequentialLR(o, { schedulers: [new LinearLR(o, { startFactor: 0.1, totalIters: 3 }), new ExponentialLR(o, { gamma: 0.8 })], milestones: [3] }) },
  { name: 'OneCycleLR three phases (SGD momentum)', lrs: [0.1], momentum: 0.9,
    py: [{ kind: 'OneCycleLR', kwargs: { max_lr: 0.8, total_steps: 20, pct_start: 0.25, three_phase: true } }], steps: 19,
    js: (o) => new OneCycleLR(o, { maxLr: 0.8, totalSteps: 20, pctStart: 0.25, threePhase: true }) },
];

const script = String.raw`
import json, sys, torch
from torch.optim import lr_scheduler as L
torch.set_default_dtype(torch.float64)
out = []
for c in json.load(sys.stdin):
    params = [torch.zeros(2, requires_grad=True) for _ in c['lrs']]
    groups = [{'params': [p], 'lr': lr} for p, lr in zip(params, c['lrs'])]
    if c.get('optimizer') == 'Adam':
        opt = torch.optim.Adam(groups)
    else:
        opt = torch.optim.SGD(groups, lr=c['lrs'][0], momentum=c.get('momentum') or 0)
    def make(spec):
        kw = dict(spec['kwargs'])
        if 'lr_lambda' in kw:
            f = lambda s: eval('lambda e: ' + s)
            kw['lr_lambda'] = [f(s) for s in kw['lr_lambda']] if isinstance(kw['lr_lambda'], list) else f(kw['lr_lambda'])
        return getattr(L, spec['kind'])(opt, **kw)
    children = [make(s) for s in c['py']]
    if c.get('chained'):
        s = L.ChainedScheduler(children)
    elif c.get('sequential'):
        s = L.SequentialLR(opt, children, milestones=c['sequential'])
    else:
        s = children[0]
    def record():
        return {'lr': [g['lr'] for g in opt.param_groups], 'last': list(s.get_last_lr()),
                'momentum': [g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups]}
    rows = [record()]
    for e in (c.get('epochs') or [None] * c['steps']):
        opt.step()
        if e is None: s.step()
        else: s.step(e)
        rows.append(record())
    out.append(rows)
print(json.dumps(out))
`;

interface Row { lr: number[]; last: number[]; momentum: number[] }
const reference = pytorchReference<Row[][]>(script, cases.map(({ js: _, skipFirstRow: __, ...c }) => c));

const close = (a: number, b: number, message: string, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${message}: ${a} vs PyTorch ${b}`);

function makeOptimizer(c: Pick<Case, 'lrs' | 'optimizer' | 'momentum'>): { opt: Opt; params: torch.Tensor[] } {
  const params = c.lrs.map(() => torch.keep(torch.zeros([2], { dtype: 'float64', requiresGrad: true })));
  const groups = params.map((p, i) => ({ params: [p], lr: c.lrs[i] }));
  const opt = c.optimizer === 'Adam' ? new Adam(groups) : new SGD(groups, { momentum: c.momentum ?? 0 });
  return { opt, params };
}

const momentumOf = (opt: Opt) => opt.paramGroups.map((g) => ('betas' in g ? (g.betas as number[])[0] : (g.momentum as number)));

cases.forEach((c, k) => {
  test(`${c.name} matches PyTorch 1.13 to 1e-12`, { skip: reference.skip }, () => {
    const expected = reference.value![k];
    const { opt, params } = makeOptimizer(c);
    try {
      const s = c.js(opt);
      const check = (row: Row, t: number) => {
        row.last.forEach((lr, g) => close(s.getLastLr()[g], lr, `getLastLr, group ${g}, row ${t}`));
        row.lr.forEach((lr, g) => close(opt.paramGroups[g].lr, lr, `group ${g} lr, row ${t}`));
        row.momentum.forEach((m, g) => close(momentumOf(opt)[g], m, `group ${g} momentum, row ${t}`));
      };
      if (!c.skipFirstRow) check(expected[0], 0);
      const epochs = c.epochs ?? Array.from({ length: c.steps! }, () => undefined);
      epochs.forEach((e, t) => {
        s.step(e);
        check(expected[t + 1], t + 1);
      });
      assert.equal(expected.length, epochs.length + 1);
    } finally {
      opt.dispose();
      params.forEach((p) => p.dispose());
    }
  });
});

/** A scheduler's state (JSON, as a Trainer checkpoint holds it) and the optimizer's, after `n` steps. */
const resumeCases: [string, (o: Opt) => LRScheduler, number, number][] = [
  ['StepLR', (o) => new StepLR(o, { stepSize: 2, gamma: 0.5 }), 3, 6],
  ['MultiStepLR', (o) => new MultiStepLR(o, { milestones: [1, 4, 4] }), 2, 5],
  ['ExponentialLR', (o) => new ExponentialLR(o, { gamma: 0.7 }), 3, 4],
  ['ConstantLR', (o) => new ConstantLR(o, { factor: 0.2, totalIters: 4 }), 2, 4],
  ['MultiplicativeLR', (o) => new MultiplicativeLR(o, (e) => 1 - 0.05 * e), 3, 4],
  ['PolynomialLR', (o) => new PolynomialLR(o, { totalIters: 7, power: 3 }), 3, 6],
  ['CosineAnnealingWarmRestarts', (o) => new CosineAnnealingWarmRestarts(o, { t0: 2, tMult: 3, etaMin: 0.001 }), 4, 10],
  ['CyclicLR', (o) => new CyclicLR(o, { baseLr: 0.01, maxLr: 0.2, stepSizeUp: 2, stepSizeDown: 3, mode: 'exp_range', gamma: 0.95 }), 4, 8],
  ['ChainedScheduler', (o) => new ChainedScheduler([new LinearLR(o, { startFactor: 0.5, totalIters: 3 }), new ExponentialLR(o, { gamma: 0.9 }),
    new CyclicLR(o, { baseLr: 0.05, maxLr: 0.1, stepSizeUp: 2 })]), 3, 6],
];

for (const [name, make, before, after] of resumeCases) {
  test(`${name}: a fresh scheduler loading the state dict (and the optimizer its own) continues identically`, () => {
    const lrs = [0.1, 0.04];
    const a = makeOptimizer({ lrs, momentum: 0.9 });
    const sa = make(a.opt);
    for (let t = 0; t < before; t++) sa.step();
    const schedState = JSON.parse(JSON.stringify(sa.stateDict())) as Record<string, unknown>;
    const optState = a.opt.stateDict();
    const b = makeOptimizer({ lrs, momentum: 0.9 });
    const sb = make(b.opt);
    b.opt.loadStateDict(optState);
    sb.loadStateDict(schedState);
    assert.deepEqual(sb.getLastLr(), sa.getLastLr());
    for (let t = 0; t < after; t++) {
      sa.step();
      sb.step();
      assert.deepEqual(sb.getLastLr(), sa.getLastLr(), `step ${before + t + 1}`);
      const hyper = (o: Opt) => o.paramGroups.map((g) => [g.lr, g.momentum as number]);
      assert.deepEqual(hyper(b.opt), hyper(a.opt));
    }
    for (const { opt, params } of [a, b]) {
      opt.dispose();
      params.forEach((p) => p.dispose());
    }
  });
}

test('CyclicLR cycles Adam beta1 (as PyTorch 2) with the momentum formula, keeping beta2', () => {
  const sgd = makeOptimizer({ lrs: [0.1], momentum: 0.9 });
  const adam = makeOptimizer({ lrs: [0.1], optimizer: 'Adam' });
  const options = { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 3, baseMomentum: 0.85, maxMomentum: 0.95 };
  const s1 = new CyclicLR(sgd.opt, options);
  const s2 = new CyclicLR(adam.opt, options);
  for (let t = 0; t < 8; t++) {
    const betas = adam.opt.paramGroups[0].betas as number[];
    assert.equal(betas[0], sgd.opt.paramGroups[0].momentum);
    assert.equal(betas[1], 0.999);
    s1.step();
    s2.step();
  }
  for (const { opt, params } of [sgd, adam]) {
    opt.dispose();
    params.forEach((p) => p.dispose());
  }
});

test('new schedulers reject bad options with the option named', () => {
  const { opt, params } = makeOptimizer({ lrs: [0.1], momentum: 0.9 });
  assert.throws(() => new StepLR(opt, { stepSize: 0 }), /StepLR: stepSize must be an integer >= 1, got 0/);
  assert.throws(() => new StepLR(opt, { stepSize: 2.5 }), /stepSize must be an integer/);
  assert.throws(() => new StepLR(opt, { stepSize: 2, gamma: -1 }), /StepLR: invalid gamma -1/);
  assert.throws(() => new MultiStepLR(opt, { milestones: [1, 2.5] }), /MultiStepLR: milestones must be a list of integers >= 0, got \[1,2.5\]/);
  assert.throws(() => new ExponentialLR(opt, {} as { gamma: number }), /ExponentialLR: invalid gamma undefined/);
  assert.throws(() => new ConstantLR(opt, { factor: 1.5 }), /ConstantLR: factor must be in \[0, 1\], got 1.5/);
  assert.throws(() => new ConstantLR(opt, { totalIters: -1 }), /ConstantLR: totalIters must be an integer >= 0/);
  assert.throws(() => new PolynomialLR(opt, { totalIters: 0 }), /PolynomialLR: totalIters must be an integer >= 1, got 0/);
  assert.throws(() => new PolynomialLR(opt, { power: -1 }), /PolynomialLR: invalid power -1/);
  assert.throws(() => new MultiplicativeLR(opt, [(e) => e, (e) => e]), /MultiplicativeLR: expected 1 lr lambdas/);
  assert.throws(() => new CosineAnnealingWarmRestarts(opt, { t0: 0 }), /CosineAnnealingWarmRestarts: t0 must be a positive integer, got 0/);
  assert.throws(() => new CosineAnnealingWarmRestarts(opt, { t0: 2, tMult: 1.5 }), /tMult must be an integer >= 1, got 1.5/);
  assert.throws(() => new CosineAnnealingWarmRestarts(opt, { t0: 2 }).step(-1), /expected a non-negative epoch, got -1/);
  assert.throws(() => new CyclicLR(opt, { baseLr: 0.1, maxLr: 1, mode: 'sawtooth' as 'triangular' }), /CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range'/);
  assert.throws(() => new CyclicLR(opt, { baseLr: [0.1, 0.2], maxLr: 1 }), /CyclicLR: expected 1 values of baseLr/);
  assert.throws(() => new CyclicLR(opt, { baseLr: 0.1, maxLr: 1, stepSizeUp: 0 }), /CyclicLR: invalid stepSizeUp 0/);
  assert.throws(() => new CyclicLR(opt, { baseLr: -0.1, maxLr: 1 }), /CyclicLR: invalid baseLr -0.1/);
  assert.throws(() => new ChainedScheduler([]), /ChainedScheduler: expects a non-empty list of schedulers/);
  const other = makeOptimizer({ lrs: [0.1] });
  assert.throws(() => new ChainedScheduler([new StepLR(opt, { stepSize: 1 }), new StepLR(other.opt, { stepSize: 1 })]),
    /ChainedScheduler: expects all schedulers to belong to the same optimizer, but schedulers 0 and 1 differ/);
  assert.throws(() => new ChainedScheduler([new StepLR(opt, { stepSize: 1 })]).step(3), /ChainedScheduler: step\(epoch\) is not supported/);
  // No momentum, no betas: cycling momentum is impossible.
  class Plain extends Optimizer<{ lr: number }> {
    protected validate(): void {}
    protected updateGroup(): void {}
  }
  const plain = new Plain(params, { lr: 0.1 });
  assert.throws(() => new CyclicLR(plain, { baseLr: 0.1, maxLr: 1 }), /CyclicLR: the optimizer has neither momentum nor betas; pass cycleMomentum: false/);
  for (const o of [opt, other.opt, plain]) o.dispose();
  [...params, ...other.params].forEach((p) => p.dispose());
});
