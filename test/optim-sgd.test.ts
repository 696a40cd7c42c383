// SGD against a plain-JS transcription of torch.optim.SGD's update rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { SGD, SGDOptions } from '../src/optim/index.js';
import { Problem, assertClose, backward, disposeAll, jsGrad, makeParams, problem, values } from './optim-helpers.js';

/** torch.optim.SGD in plain numbers: d = g (+ wd w); buf = m buf + (1 - damp) d; d = nesterov ? d + m buf : buf. */
function referenceSGD(pb: Problem, o: Required<SGDOptions>, steps: number): number[][] {
  const w = pb.w0.map((x) => [...x]);
  const bufs: (number[] | null)[] = w.map(() => null);
  for (let t = 0; t < steps; t++) {
    w.forEach((wi, i) => {
      const g = jsGrad(wi, pb.a[i], pb.c[i]);
      let d = g.map((x, j) => (o.maximize ? -x : x) + o.weightDecay * wi[j]);
      if (o.momentum !== 0) {
        const prev = bufs[i];
        const buf = prev === null ? [...d] : prev.map((b, j) => o.momentum * b + (1 - o.dampening) * d[j]);
        bufs[i] = buf;
        d = o.nesterov ? d.map((x, j) => x + o.momentum * buf[j]) : buf;
      }
      w[i] = wi.map((x, j) => x - o.lr * d[j]);
    });
  }
  return w;
}

const base: Required<SGDOptions> = { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

function run(options: SGDOptions, steps = 6): { ours: number[][]; ref: number[][] } {
  const pb = problem();
  const params = makeParams(pb);
  const opt = new SGD(params, options);
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
  }
  const ours = values(params);
  opt.dispose();
  disposeAll(params);
  return { ours, ref: referenceSGD(pb, { ...base, ...options }, steps) };
}

const cases: [string, SGDOptions][] = [
  ['plain', { lr: 0.05 }],
  ['momentum', { lr: 0.05, momentum: 0.9 }],
  ['momentum + dampening + weight decay', { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 }],
  ['nesterov + weight decay', { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.02 }],
  ['maximize + momentum', { lr: 0.01, momentum: 0.5, maximize: true }],
];
for (const [name, options] of cases) {
  test(`SGD (${name}) matches the reference update to 1e-10`, () => {
    const { ours, ref } = run(options);
    assertClose(ours, ref, 1e-10, name);
  });
}

test('SGD: the first momentum buffer is the undamped gradient (PyTorch convention)', () => {
  // With dampening 1 later gradients are ignored entirely, so every step repeats the first gradient.
  const pb = problem([[2]]);
  const params = makeParams(pb);
  const opt = new SGD(params, { lr: 0.1, momentum: 1, dampening: 1 });
  const g0 = pb.w0[0].map((x, j) => pb.a[0][j] * (x - pb.c[0][j]));
  for (let t = 0; t < 3; t++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
  }
  assertClose(values(params), [pb.w0[0].map((x, j) => x - 3 * 0.1 * g0[j])], 1e-12, 'dampening 1');
  opt.dispose();
  disposeAll(params);
});

test('SGD: parameter groups use their own hyperparameters; parameters without a gradient are skipped', () => {
  const pb = problem([[3], [2, 2]]);
  const params = makeParams(pb);
  const frozen = torch.keep(torch.ones([2], { dtype: 'float64', requiresGrad: true }));
  const opt = new SGD([{ params: [params[0]], lr: 0.2 }, { params: [params[1], frozen], momentum: 0.9 }], { lr: 0.05 });
  assert.equal(opt.paramGroups[0].lr, 0.2);
  assert.equal(opt.paramGroups[0].momentum, 0);
  assert.equal(opt.paramGroups[1].lr, 0.05);
  assert.equal(opt.paramGroups[1].momentum, 0.9);
  for (let t = 0; t < 4; t++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
  }
  const first = referenceSGD({ ...pb, w0: [pb.w0[0]], a: [pb.a[0]], c: [pb.c[0]] }, { ...base, lr: 0.2 }, 4);
  const second = referenceSGD({ ...pb, w0: [pb.w0[1]], a: [pb.a[1]], c: [pb.c[1]] }, { ...base, momentum: 0.9 }, 4);
  assertClose(values(params), [first[0], second[0]], 1e-10, 'groups');
  assert.deepEqual(frozen.toFlatArray(), [1, 1]);
  const sd = opt.stateDict();
  assert.deepEqual([...sd.state.keys()], [1], 'only the momentum-group parameter with a gradient has state');
  opt.dispose();
  disposeAll([...params, frozen]);
});

test('SGD: a changed group lr takes effect at the next step (what schedulers rely on)', () => {
  const p = torch.keep(torch.tensor([1], { dtype: 'float64', requiresGrad: true }));
  const opt = new SGD([p], { lr: 0.1 });
  const g = torch.tensor([2], { dtype: 'float64' });
  p.grad = g;
  g.dispose(); // the parameter holds its own reference
  opt.step();
  opt.paramGroups[0].lr = 0.25;
  opt.step();
  assert.ok(Math.abs(p.item() - (1 - 0.2 - 0.5)) < 1e-15);
  opt.dispose();
  p.dispose();
});

test('SGD: zeroGrad removes gradients by default and zero-fills them with setToNone = false', () => {
  const p = torch.keep(torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true }));
  const opt = new SGD([p]);
  torch.scope(() => p.mul(p).sum().backward());
  opt.zeroGrad(false);
  torch.scope(() => assert.deepEqual(p.grad!.toFlatArray(), [0, 0]));
  opt.zeroGrad();
  assert.equal(p.grad, null);
  opt.dispose();
  p.dispose();
});

test('SGD: invalid options are rejected with the option named', () => {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  assert.throws(() => new SGD([p], { lr: -0.1 }), /SGD: invalid learning rate -0\.1/);
  assert.throws(() => new SGD([p], { lr: NaN }), /invalid learning rate NaN/);
  assert.throws(() => new SGD([p], { momentum: -1 }), /invalid momentum value -1/);
  assert.throws(() => new SGD([p], { weightDecay: -1 }), /invalid weightDecay value -1/);
  assert.throws(() => new SGD([p], { nesterov: true }), /Nesterov momentum requires momentum > 0 and dampening = 0/);
  assert.throws(() => new SGD([p], { nesterov: true, momentum: 0.9, dampening: 0.1 }), /Nesterov/);
  assert.throws(() => new SGD([{ params: [p], lr: -1 }], { lr: 0.1 }), /invalid learning rate -1/);
  assert.throws(() => new SGD([]), /empty parameter list/);
  assert.throws(() => new SGD([p, p]), /more than once/);
  const nonLeaf = torch.scope(() => torch.keep(p.mul(2)));
  assert.throws(() => new SGD([nonLeaf]), /not a leaf tensor/);
  const opt = new SGD([p]);
  opt.dispose();
  assert.throws(() => opt.step(), /disposed/);
  nonLeaf.dispose();
  p.dispose();
});
