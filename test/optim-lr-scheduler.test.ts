// Scheduler lr sequences against formulas written out here, and their
// effect on the optimizer's parameter groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  Adam, CosineAnnealingLR, LambdaLR, LRScheduler, LinearLR, OneCycleLR, Optimizer, SGD, SequentialLR,
} from '../src/optim/index.js';

const close = (a: number, b: number, message: string, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${message}: ${a} vs ${b}`);

function withOptimizer<T>(fn: (opt: SGD) => T, groups: { lr: number }[] = [{ lr: 0.1 }]): T {
  const params = groups.map(() => torch.keep(torch.zeros([2], { requiresGrad: true })));
  const opt = new SGD(groups.map((g, i) => ({ params: [params[i]], lr: g.lr })), { momentum: 0.9 });
  try {
    return fn(opt);
  } finally {
    opt.dispose();
    params.forEach((p) => p.dispose());
  }
}

/** lr of every group after construction and after each of `steps` steps. */
function sequence(s: LRScheduler, steps: number): number[][] {
  const out = [s.getLastLr()];
  for (let t = 0; t < steps; t++) {
    s.optimizer.step();
    s.step();
    out.push(s.getLastLr());
    assert.deepEqual(s.optimizer.paramGroups.map((g) => g.lr), s.getLastLr(), 'the groups hold the last lr');
  }
  return out;
}

test('CosineAnnealingLR follows etaMin + (base - etaMin)(1 + cos(pi t / tMax)) / 2, periodic past tMax', () => {
  withOptimizer((opt) => {
    const tMax = 10;
    const etaMin = 0.001;
    const lrs = sequence(new CosineAnnealingLR(opt, { tMax, etaMin }), 25);
    [0.1, 0.02].forEach((base, g) => lrs.forEach((row, t) =>
      close(row[g], etaMin + (base - etaMin) * (1 + Math.cos((Math.PI * t) / tMax)) / 2, `group ${g}, step ${t}`)));
    close(lrs[10][0], etaMin, 'minimum at tMax');
    close(lrs[20][0], 0.1, 'back to the base lr at 2 tMax');
  }, [{ lr: 0.1 }, { lr: 0.02 }]);
});

test('LinearLR scales by startFactor + (endFactor - startFactor) min(t, totalIters) / totalIters', () => {
  withOptimizer((opt) => {
    const lrs = sequence(new LinearLR(opt, { startFactor: 0.25, endFactor: 0.75, totalIters: 4 }), 8);
    lrs.forEach((row, t) => close(row[0], 0.1 * (0.25 + 0.5 * Math.min(t, 4) / 4), `step ${t}`));
  });
  withOptimizer((opt) => {
    // PyTorch's defaults: 1/3 -> 1 over 5 steps.
    const lrs = sequence(new LinearLR(opt), 6);
    lrs.forEach((row, t) => close(row[0], 0.1 * (1 / 3 + (2 / 3) * Math.min(t, 5) / 5), `default step ${t}`));
  });
});

test('SequentialLR: linear warmup, then cosine restarted at the milestone', () => {
  withOptimizer((opt) => {
    const warmup = 5;
    const total = 20;
    const s = new SequentialLR(opt, {
      schedulers: [new LinearLR(opt, { startFactor: 0.1, totalIters: warmup }), new CosineAnnealingLR(opt, { tMax: total - warmup, etaMin: 1e-4 })],
      milestones: [warmup],
    });
    const lrs = sequence(s, total);
    lrs.forEach((row, t) => {
      const expected = t < warmup
        ? 0.5 * (0.1 + 0.9 * t / warmup)
        : 1e-4 + (0.5 - 1e-4) * (1 + Math.cos((Math.PI * (t - warmup)) / (total - warmup))) / 2;
      close(row[0], expected, `step ${t}`);
    });
  }, [{ lr: 0.5 }]);
});

test('LambdaLR multiplies each group base lr by its lambda', () => {
  withOptimizer((opt) => {
    const lrs = sequence(new LambdaLR(opt, [(t) => 0.5 ** t, (t) => 1 / (t + 1)]), 5);
    lrs.forEach((row, t) => {
      close(row[0], 0.1 * 0.5 ** t, `group 0 step ${t}`);
      close(row[1], 0.3 / (t + 1), `group 1 step ${t}`);
    });
  }, [{ lr: 0.1 }, { lr: 0.3 }]);
});

/** PyTorch's 1cycle, written independently: piecewise annealing between phase boundaries. */
function oneCycle(t: number, o: { maxLr: number; total: number; pct: number; div: number; finalDiv: number; cos: boolean; three: boolean }) {
  const initial = o.maxLr / o.div;
  const min = initial / o.finalDiv;
  const anneal = (a: number, b: number, p: number) => (o.cos ? b + ((a - b) / 2) * (1 + Math.cos(Math.PI * p)) : a + (b - a) * p);
  const e1 = o.pct * o.total - 1;
  const e2 = 2 * o.pct * o.total - 2;
  const last = o.total - 1;
  // [start step, end step, lr from, lr to, momentum from, momentum to]
  const phases: [number, number, number, number, number, number][] = o.three
    ? [[0, e1, initial, o.maxLr, 0.95, 0.85], [e1, e2, o.maxLr, initial, 0.85, 0.95], [e2, last, initial, min, 0.95, 0.95]]
    : [[0, e1, initial, o.maxLr, 0.95, 0.85], [e1, last, o.maxLr, min, 0.85, 0.95]];
  const phase = phases.find(([, end], i) => t <= end || i === phases.length - 1)!;
  const p = (t - phase[0]) / (phase[1] - phase[0]);
  return { lr: anneal(phase[2], phase[3], p), momentum: anneal(phase[4], phase[5], p) };
}

for (const [name, strategy, three] of [['cos', 'cos', false], ['linear', 'linear', false], ['cos, three phases', 'cos', true]] as const) {
  test(`OneCycleLR (${name}) matches the phase formulas for lr and momentum`, () => {
    withOptimizer((opt) => {
      const o = { maxLr: 0.8, total: 20, pct: 0.25, div: 10, finalDiv: 100, cos: strategy === 'cos', three };
      const s = new OneCycleLR(opt, {
        maxLr: o.maxLr, totalSteps: o.total, pctStart: o.pct, annealStrategy: strategy,
        divFactor: o.div, finalDivFactor: o.finalDiv, threePhase: three,
      });
      for (let t = 0; t < o.total; t++) {
        const expected = oneCycle(t, o);
        close(s.getLastLr()[0], expected.lr, `lr at step ${t}`);
        close(opt.paramGroups[0].momentum, expected.momentum, `momentum at step ${t}`);
        s.step();
      }
      // PyTorch allows exactly totalSteps steps after construction, then refuses.
      assert.throws(() => s.step(), /OneCycleLR: tried to step 21 times but totalSteps is 20/);
    });
  });
}

test('OneCycleLR cycles Adam beta1 (keeping beta2), takes epochs x stepsPerEpoch and per-group maxLr', () => {
  const params = [torch.keep(torch.zeros([1], { requiresGrad: true })), torch.keep(torch.zeros([1], { requiresGrad: true }))];
  const opt = new Adam([{ params: [params[0]] }, { params: [params[1]] }], { betas: [0.9, 0.99] });
  const s = new OneCycleLR(opt, { maxLr: [1, 2], epochs: 2, stepsPerEpoch: 5 });
  s.getLastLr().forEach((lr, g) => close(lr, (g + 1) / 25, `initial lr of group ${g}`));
  assert.deepEqual(opt.paramGroups[0].betas, [0.95, 0.99]);
  for (let t = 0; t < 2; t++) s.step(); // the peak is step 0.3 * 10 - 1 = 2
  close(opt.paramGroups[1].betas[0], 0.85, 'beta1 at the peak');
  close(s.getLastLr()[1], 2, 'peak lr of group 1');
  assert.equal(opt.paramGroups[1].betas[1], 0.99);
  assert.equal(opt.paramGroups[0].maxLr, 1);
  close(opt.paramGroups[0].minLr as number, 1 / 25 / 1e4, 'min lr');
  opt.dispose();
  params.forEach((p) => p.dispose());
});

test('a scheduler drives the optimizer: each SGD step uses the lr set by the previous scheduler step', () => {
  const p = torch.keep(torch.zeros([1], { dtype: 'float64', requiresGrad: true }));
  const opt = new SGD([p], { lr: 1 });
  const s = new CosineAnnealingLR(opt, { tMax: 4 });
  let expected = 0;
  for (let t = 0; t < 4; t++) {
    const g = torch.ones([1], { dtype: 'float64' });
    p.grad = g;
    g.dispose();
    expected -= (1 + Math.cos((Math.PI * t) / 4)) / 2;
    opt.step();
    s.step();
  }
  close(p.item(), expected, 'parameter');
  opt.dispose();
  p.dispose();
});

test('scheduler state dicts: a fresh scheduler that loads one continues identically', () => {
  const run = (load?: Record<string, unknown>) => withOptimizer((opt) => {
    const make = () => new SequentialLR(opt, {
      schedulers: [new LinearLR(opt, { startFactor: 0.2, totalIters: 3 }), new CosineAnnealingLR(opt, { tMax: 7 })],
      milestones: [3],
    });
    const s = make();
    if (load) s.loadStateDict(load);
    else for (let t = 0; t < 5; t++) s.step();
    const state = JSON.parse(JSON.stringify(s.stateDict())) as Record<string, unknown>;
    return { state, next: sequence(s, 4) };
  });
  const first = run();
  const resumed = run(first.state);
  assert.deepEqual(resumed.next, first.next);
  assert.equal(first.state.lastEpoch, 5);
  assert.equal((first.state.schedulers as { lastEpoch: number }[])[1].lastEpoch, 2);
});

test('a second scheduler on the same optimizer starts from the original lr (initialLr)', () => {
  withOptimizer((opt) => {
    new LinearLR(opt, { startFactor: 0.5, totalIters: 2 });
    assert.equal(opt.paramGroups[0].lr, 0.05);
    const cosine = new CosineAnnealingLR(opt, { tMax: 3 });
    assert.deepEqual(cosine.baseLrs, [0.1]);
    assert.equal(opt.paramGroups[0].initialLr, 0.1);
  });
});

test('schedulers reject bad options and mismatched state dicts with clear errors', () => {
  withOptimizer((opt) => {
    assert.throws(() => new LinearLR(opt, { startFactor: 0 }), /LinearLR: startFactor must be in \(0, 1\]/);
    assert.throws(() => new LinearLR(opt, { endFactor: 2 }), /endFactor must be in \[0, 1\]/);
    assert.throws(() => new CosineAnnealingLR(opt, { tMax: 0 }), /CosineAnnealingLR: invalid tMax 0/);
    assert.throws(() => new OneCycleLR(opt, { maxLr: 1 }), /totalSteps must be a positive integer/);
    assert.throws(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, pctStart: 1.5 }), /pctStart must be in \[0, 1\]/);
    assert.throws(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, annealStrategy: 'exp' as 'cos' }), /annealStrategy must be 'cos' or 'linear'/);
    assert.throws(() => new OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 10 }), /expected 1 values of maxLr/);
    const a = new LinearLR(opt);
    assert.throws(() => new SequentialLR(opt, { schedulers: [a], milestones: [3] }), /expects 0 milestones for 1 schedulers/);
    assert.throws(() => a.loadStateDict({ lastEpoch: 1, baseLrs: [0.1, 0.2] }), /'baseLrs' must list one lr per parameter group \(1\)/);
    assert.throws(() => a.loadStateDict({ baseLrs: [0.1] }), /no numeric 'lastEpoch'/);
  });
  // An optimizer with neither momentum nor betas cannot cycle momentum.
  class Plain extends Optimizer<{ lr: number }> {
    protected validate(): void {}
    protected updateGroup(): void {}
  }
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  const plain = new Plain([p], { lr: 0.1 });
  assert.throws(() => new OneCycleLR(plain, { maxLr: 1, totalSteps: 5 }), /neither momentum nor betas; pass cycleMomentum: false/);
  const s = new OneCycleLR(plain, { maxLr: 1, totalSteps: 5, cycleMomentum: false });
  close(s.getLastLr()[0], 1 / 25, 'initial lr');
  p.dispose();
});
