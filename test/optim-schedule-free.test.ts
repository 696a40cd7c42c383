// AdamWScheduleFree against the method as the paper states it (explicit x,
// y and z sequences), which the optimizer never stores: it keeps y and z
// and recovers x in eval().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { AdamWScheduleFree, AdamWScheduleFreeOptions, SGDScheduleFree, SGDScheduleFreeOptions } from '../src/optim/index.js';
import { Problem, assertClose, backward, disposeAll, jsGrad, makeParams, problem, values } from './optim-helpers.js';

interface Trajectory { x: number[][]; y: number[][]; z: number[][] }

interface Schedule { lr: number; beta: number; warmupSteps: number; rPower: number; weightLrPower: number }

/**
 * The schedule-free loop as the paper states it. Per step k: the lr is warmed
 * up, the average weight is (k+1)^r lrMax^p over the running sum, the
 * gradient g is taken at y = (1-beta) z + beta x, z moves by -lr times the
 * method's direction (coordinate j of parameter i), and x averages z.
 */
function referenceLoop(pb: Problem, s: Schedule, steps: number,
  direction: (i: number, j: number, g: number[], y: number[], k: number) => number): Trajectory {
  const z = pb.w0.map((w) => [...w]);
  const x = pb.w0.map((w) => [...w]);
  const yOf = (i: number) => z[i].map((zj, j) => (1 - s.beta) * zj + s.beta * x[i][j]);
  let lrMax = -1;
  let weightSum = 0;
  for (let k = 0; k < steps; k++) {
    const lr = s.lr * (k < s.warmupSteps ? (k + 1) / s.warmupSteps : 1);
    lrMax = Math.max(lrMax, lr);
    const weight = (k + 1) ** s.rPower * lrMax ** s.weightLrPower;
    weightSum += weight;
    const c = weightSum === 0 ? 0 : weight / weightSum;
    z.forEach((_, i) => {
      const y = yOf(i);
      const g = jsGrad(y, pb.a[i], pb.c[i]);
      z[i] = z[i].map((zj, j) => zj - lr * direction(i, j, g, y, k));
      x[i] = x[i].map((xj, j) => (1 - c) * xj + c * z[i][j]);
    });
  }
  return { x, y: z.map((_, i) => yOf(i)), z };
}

/** AdamW's direction: the Adam-normalized gradient (with the optional inner momentum), plus decay at y. */
function referenceScheduleFree(pb: Problem, options: AdamWScheduleFreeOptions, steps: number): Trajectory {
  const { lr = 0.0025, betas: [b1, b2] = [0.9, 0.999], eps = 1e-8, weightDecay = 0, warmupSteps = 0, rPower = 0, weightLrPower = 2, innerMomentum = 0 } = options;
  const v = pb.w0.map((w) => w.map(() => 0));
  const m = pb.w0.map((w) => w.map(() => 0));
  return referenceLoop(pb, { lr, beta: b1, warmupSteps, rPower, weightLrPower }, steps, (i, j, g, y, k) => {
    v[i][j] = b2 * v[i][j] + (1 - b2) * g[j] * g[j];
    m[i][j] = innerMomentum * m[i][j] + (1 - innerMomentum) * g[j];
    const first = innerMomentum === 0 ? g[j] : m[i][j] / (1 - innerMomentum ** (k + 1));
    return first / (Math.sqrt(v[i][j] / (1 - b2 ** (k + 1))) + eps) + weightDecay * y[j];
  });
}

function train(options: AdamWScheduleFreeOptions, steps: number, pb = problem()) {
  const params = makeParams(pb);
  const opt = new AdamWScheduleFree(params, options);
  opt.train();
  for (let k = 0; k < steps; k++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
  }
  return { params, opt, pb };
}

const cases: [string, AdamWScheduleFreeOptions][] = [
  ['defaults', {}],
  ['lr 0.05, warmup 4, weight decay', { lr: 0.05, warmupSteps: 4, weightDecay: 0.1 }],
  ['rPower 2, weightLrPower 0, betas (0.8, 0.95)', { lr: 0.02, rPower: 2, weightLrPower: 0, betas: [0.8, 0.95] }],
  ['innerMomentum 0.9, weight decay', { lr: 0.03, innerMomentum: 0.9, weightDecay: 0.05 }],
];
for (const [name, options] of cases) {
  test(`AdamWScheduleFree (${name}): train mode holds y, eval() gives the average x (to 1e-10)`, () => {
    const { params, opt, pb } = train(options, 10);
    const ref = referenceScheduleFree(pb, options, 10);
    assertClose(values(params), ref.y, 1e-10, `${name}: y`);
    opt.eval();
    assertClose(values(params), ref.x, 1e-10, `${name}: x`);
    const z = opt.stateDict().state.get(0)!.z as torch.Tensor;
    assertClose([z.toFlatArray()], [ref.z[0]], 1e-10, `${name}: z`);
    opt.train();
    assertClose(values(params), ref.y, 1e-10, `${name}: back to y`);
    opt.dispose();
    disposeAll(params);
  });
}

test('AdamWScheduleFree: train -> eval -> train returns the parameters to y (up to float64 rounding)', () => {
  const { params, opt } = train({ lr: 0.05 }, 5);
  const y = values(params);
  opt.eval();
  const x = values(params);
  assert.ok(Math.abs(x[0][0] - y[0][0]) > 1e-6, 'x and y differ, so the round trip is not trivial');
  opt.train();
  assertClose(values(params), y, 1e-14, 'round trip');
  // Calling train() or eval() twice in a row changes nothing.
  opt.train();
  assertClose(values(params), y, 1e-14, 'train twice');
  opt.eval();
  opt.eval();
  assertClose(values(params), x, 1e-14, 'eval twice');
  opt.dispose();
  disposeAll(params);
});

test('AdamWScheduleFree: parameters that never had a gradient are left alone by train/eval', () => {
  const pb = problem([[3]]);
  const params = makeParams(pb);
  const idle = torch.keep(torch.tensor([5, 6], { dtype: 'float64', requiresGrad: true }));
  const opt = new AdamWScheduleFree([...params, idle], { lr: 0.1 });
  opt.train();
  backward(params, pb);
  opt.step();
  opt.eval();
  opt.train();
  opt.eval();
  assert.deepEqual(idle.toFlatArray(), [5, 6]);
  assert.deepEqual([...opt.stateDict().state.keys()], [0]);
  opt.dispose();
  disposeAll([...params, idle]);
});

test('AdamWScheduleFree: step() outside train mode is a clear error', () => {
  const pb = problem([[2]]);
  const params = makeParams(pb);
  const opt = new AdamWScheduleFree(params);
  assert.equal(opt.trainMode, false);
  backward(params, pb);
  assert.throws(() => opt.step(), /AdamWScheduleFree: step\(\) called in eval mode .*call optimizer\.train\(\)/);
  opt.train();
  assert.equal(opt.trainMode, true);
  opt.step();
  opt.eval();
  assert.throws(() => opt.step(), /eval mode/);
  opt.dispose();
  disposeAll(params);
});

test('AdamWScheduleFree: bookkeeping (k, weight_sum, lr_max, scheduled_lr) and the r alias in state dicts', () => {
  const { params, opt } = train({ lr: 0.1, warmupSteps: 4 }, 2);
  const g = opt.paramGroups[0];
  assert.equal(g.k, 2);
  assert.equal(g.scheduledLr, 0.1 * 2 / 4);
  assert.equal(g.lrMax, 0.05);
  assert.ok(Math.abs(g.weightSum - (0.025 ** 2 + 0.05 ** 2)) < 1e-18);
  const saved = opt.stateDict().param_groups[0];
  assert.equal(saved.r, 0);
  assert.equal(saved.train_mode, true);
  assert.equal(saved.weight_lr_power, 2);
  assert.equal(saved.warmup_steps, 4);
  assert.deepEqual(Object.keys(opt.stateDict().state.get(0)!).sort(), ['exp_avg_sq', 'z']);
  opt.dispose();
  disposeAll(params);
});

test('AdamWScheduleFree converges on a convex quadratic: the average x approaches the minimum', () => {
  const pb = problem([[10]], 3);
  const loss = (w: number[]) => w.reduce((s, x, j) => s + 0.5 * pb.a[0][j] * (x - pb.c[0][j]) ** 2, 0);
  const { params, opt } = train({ lr: 0.1, warmupSteps: 20 }, 600, pb);
  opt.eval();
  const x = values(params)[0];
  const start = loss(pb.w0[0]);
  assert.ok(loss(x) < 1e-6 * start, `loss went from ${start} to ${loss(x)}`);
  x.forEach((xj, j) => assert.ok(Math.abs(xj - pb.c[0][j]) < 1e-3, `coordinate ${j}: ${xj} vs ${pb.c[0][j]}`));
  opt.dispose();
  disposeAll(params);
});

test('AdamWScheduleFree: invalid options are rejected with the option named', () => {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  assert.throws(() => new AdamWScheduleFree([p], { lr: -1 }), /AdamWScheduleFree: invalid learning rate -1/);
  assert.throws(() => new AdamWScheduleFree([p], { betas: [0.9, 1] }), /invalid beta parameter at index 1: 1/);
  assert.throws(() => new AdamWScheduleFree([p], { betas: [0, 0.999] }), /beta1 must be > 0/);
  assert.throws(() => new AdamWScheduleFree([p], { warmupSteps: 1.5 }), /invalid warmupSteps 1\.5/);
  assert.throws(() => new AdamWScheduleFree([p], { weightDecay: -1 }), /invalid weightDecay value -1/);
  assert.throws(() => new AdamWScheduleFree([p], { eps: -1 }), /invalid epsilon value -1/);
  p.dispose();
});

/** Schedule-Free SGD: z takes plain gradient steps (plus decay at y), beta = momentum. */
function referenceSGDScheduleFree(pb: Problem, options: SGDScheduleFreeOptions, steps: number): Trajectory {
  const { lr = 1, momentum = 0.9, weightDecay = 0, warmupSteps = 0, rPower = 0, weightLrPower = 2 } = options;
  return referenceLoop(pb, { lr, beta: momentum, warmupSteps, rPower, weightLrPower }, steps, (_i, j, g, y) => g[j] + weightDecay * y[j]);
}

const sgdCases: [string, SGDScheduleFreeOptions][] = [
  ['lr 0.1', { lr: 0.1 }],
  ['lr 0.2, momentum 0.7, warmup 3, weight decay', { lr: 0.2, momentum: 0.7, warmupSteps: 3, weightDecay: 0.05 }],
  ['rPower 1, weightLrPower 0', { lr: 0.05, rPower: 1, weightLrPower: 0 }],
];
for (const [name, options] of sgdCases) {
  test(`SGDScheduleFree (${name}): train mode holds y, eval() gives the average x (to 1e-10)`, () => {
    const pb = problem();
    const params = makeParams(pb);
    const opt = new SGDScheduleFree(params, options);
    opt.train();
    for (let k = 0; k < 10; k++) {
      opt.zeroGrad();
      backward(params, pb);
      opt.step();
    }
    const ref = referenceSGDScheduleFree(pb, options, 10);
    assertClose(values(params), ref.y, 1e-10, `${name}: y`);
    opt.eval();
    assertClose(values(params), ref.x, 1e-10, `${name}: x`);
    assertClose([(opt.stateDict().state.get(1)!.z as torch.Tensor).toFlatArray()], [ref.z[1]], 1e-10, `${name}: z`);
    opt.train();
    assertClose(values(params), ref.y, 1e-10, `${name}: back to y`);
    assert.throws(() => { opt.eval(); opt.step(); }, /SGDScheduleFree: step\(\) called in eval mode/);
    opt.dispose();
    disposeAll(params);
  });
}

test('SGDScheduleFree: upstream defaults, state-dict keys, option errors', () => {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  const opt = new SGDScheduleFree([p]);
  const { params: _, ...group } = opt.stateDict().param_groups[0];
  assert.deepEqual(group, { lr: 1, momentum: 0.9, weight_decay: 0, warmup_steps: 0, r: 0, weight_lr_power: 2, k: 0, train_mode: false, weight_sum: 0, lr_max: -1, scheduled_lr: 0 });
  opt.dispose();
  assert.throws(() => new SGDScheduleFree([p], { momentum: 0 }), /SGDScheduleFree: invalid momentum 0: expected 0 < momentum < 1/);
  assert.throws(() => new SGDScheduleFree([p], { momentum: 1 }), /invalid momentum 1/);
  assert.throws(() => new SGDScheduleFree([p], { lr: -1 }), /SGDScheduleFree: invalid learning rate -1/);
  assert.throws(() => new SGDScheduleFree([p], { weightDecay: -1 }), /invalid weightDecay value -1/);
  assert.throws(() => new SGDScheduleFree([p], { warmupSteps: -1 }), /invalid warmupSteps -1/);
  p.dispose();
});
