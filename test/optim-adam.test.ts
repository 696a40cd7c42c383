// Adam and AdamW against plain-JS transcriptions of torch.optim.Adam / AdamW.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Adam, AdamOptions, AdamW } from '../src/optim/index.js';
import { Problem, assertClose, backward, disposeAll, jsGrad, makeParams, problem, values } from './optim-helpers.js';

type Ref = Required<AdamOptions> & { decoupled: boolean };

/**
 * Adam in plain numbers: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w -= lr / (1 - b1^t) * m / (sqrt(vmax or v) / sqrt(1 - b2^t) + eps), with
 * the decay either added to g (Adam) or applied as w *= 1 - lr wd (AdamW).
 */
function referenceAdam(pb: Problem, o: Ref, steps: number): number[][] {
  const [b1, b2] = o.betas;
  const w = pb.w0.map((x) => [...x]);
  const m = w.map((x) => x.map(() => 0));
  const v = w.map((x) => x.map(() => 0));
  const vmax = w.map((x) => x.map(() => 0));
  for (let t = 1; t <= steps; t++) {
    w.forEach((wi, i) => {
      let g = jsGrad(wi, pb.a[i], pb.c[i]).map((x) => (o.maximize ? -x : x));
      let cur = wi;
      if (o.decoupled) cur = wi.map((x) => x * (1 - o.lr * o.weightDecay));
      else g = g.map((x, j) => x + o.weightDecay * wi[j]);
      w[i] = cur.map((x, j) => {
        m[i][j] = b1 * m[i][j] + (1 - b1) * g[j];
        v[i][j] = b2 * v[i][j] + (1 - b2) * g[j] * g[j];
        vmax[i][j] = Math.max(vmax[i][j], v[i][j]);
        const second = o.amsgrad ? vmax[i][j] : v[i][j];
        const denom = Math.sqrt(second) / Math.sqrt(1 - b2 ** t) + o.eps;
        return x - (o.lr / (1 - b1 ** t)) * (m[i][j] / denom);
      });
    });
  }
  return w;
}

const defaults: Required<AdamOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };

function run(Kind: typeof Adam, options: AdamOptions, steps = 8): number[][] {
  const pb = problem();
  const params = makeParams(pb);
  const opt = new Kind(params, options);
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
  }
  const out = values(params);
  opt.dispose();
  disposeAll(params);
  return out;
}

const adamCases: [string, AdamOptions][] = [
  ['defaults', {}],
  ['lr 0.1, betas (0.8, 0.9), L2 decay', { lr: 0.1, betas: [0.8, 0.9], weightDecay: 0.05 }],
  ['amsgrad', { lr: 0.3, betas: [0.5, 0.6], amsgrad: true }],
  ['maximize, large eps', { lr: 0.05, eps: 0.1, maximize: true }],
];
for (const [name, options] of adamCases) {
  test(`Adam (${name}) matches the reference update to 1e-10`, () => {
    const ref = referenceAdam(problem(), { ...defaults, ...options, decoupled: false }, 8);
    assertClose(run(Adam, options), ref, 1e-10, name);
  });
}

const adamWCases: [string, AdamOptions][] = [
  ['defaults (weightDecay 1e-2)', {}],
  ['lr 0.1, strong decay, amsgrad', { lr: 0.1, weightDecay: 0.3, amsgrad: true, betas: [0.7, 0.8] }],
];
for (const [name, options] of adamWCases) {
  test(`AdamW (${name}) matches the reference update to 1e-10`, () => {
    const ref = referenceAdam(problem(), { ...defaults, weightDecay: 1e-2, ...options, decoupled: true }, 8);
    assertClose(run(AdamW, options), ref, 1e-10, name);
  });
}

test('amsgrad changes the trajectory once the second moment shrinks', () => {
  const options: AdamOptions = { lr: 0.3, betas: [0.5, 0.6] };
  const plain = run(Adam, options, 12);
  const ams = run(Adam, { ...options, amsgrad: true }, 12);
  assert.ok(Math.abs(plain[0][0] - ams[0][0]) > 1e-6);
});

test('Adam bias correction: the first step moves every coordinate by lr against the gradient sign', () => {
  // m1 / (1 - b1) = g and sqrt(v1 / (1 - b2)) = |g|, so the step is lr * g / (|g| + eps).
  const pb = problem();
  const params = makeParams(pb);
  const opt = new Adam(params, { lr: 0.01, eps: 1e-12 });
  backward(params, pb);
  opt.step();
  const after = values(params);
  after.forEach((row, i) => row.forEach((x, j) => {
    const g = pb.a[i][j] * (pb.w0[i][j] - pb.c[i][j]);
    assert.ok(Math.abs(x - (pb.w0[i][j] - 0.01 * Math.sign(g))) < 1e-12, `parameter ${i}[${j}]`);
  }));
  opt.dispose();
  disposeAll(params);
});

test('AdamW decay is decoupled: with a zero gradient AdamW shrinks w by (1 - lr wd), Adam does not move', () => {
  const make = () => torch.keep(torch.tensor([2, -4], { dtype: 'float64', requiresGrad: true }));
  const zeroGrad = (p: torch.Tensor) => { const g = torch.zerosLike(p); p.grad = g; g.dispose(); };
  const pw = make();
  const pa = make();
  const adamw = new AdamW([pw], { lr: 0.1, weightDecay: 0.5 });
  const adam = new Adam([pa], { lr: 0.1, weightDecay: 0.5 });
  zeroGrad(pw);
  adamw.step();
  assert.deepEqual(pw.toFlatArray(), [2 * 0.95, -4 * 0.95]);
  // Adam turns the decay into a gradient 0.5 w, normalized: the first step is lr * sign(w).
  zeroGrad(pa);
  adam.step();
  assertClose([pa.toFlatArray()], [[2 - 0.1, -4 + 0.1]], 1e-9, 'Adam L2');
  adamw.dispose();
  adam.dispose();
  disposeAll([pw, pa]);
});

test('Adam state holds step, exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad)', () => {
  const pb = problem();
  const params = makeParams(pb);
  const opt = new Adam(params, { amsgrad: true });
  backward(params, pb);
  opt.step();
  opt.step();
  const s = opt.stateDict().state.get(1)!;
  assert.deepEqual(Object.keys(s).sort(), ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
  assert.equal(s.step, 2);
  assert.deepEqual((s.exp_avg as torch.Tensor).shape, [2, 2]);
  opt.dispose();
  disposeAll(params);
});

test('Adam / AdamW: invalid options are rejected with the option named', () => {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  for (const Kind of [Adam, AdamW]) {
    assert.throws(() => new Kind([p], { lr: -1e-3 }), new RegExp(`${Kind.name}: invalid learning rate -0\\.001`));
    assert.throws(() => new Kind([p], { betas: [1, 0.999] }), /invalid beta parameter at index 0: 1 \(expected 0 <= beta < 1\)/);
    assert.throws(() => new Kind([p], { betas: [0.9, -0.1] }), /invalid beta parameter at index 1: -0\.1/);
    assert.throws(() => new Kind([p], { betas: [0.9] as unknown as [number, number] }), /betas must be a pair/);
    assert.throws(() => new Kind([p], { eps: -1 }), /invalid epsilon value -1/);
    assert.throws(() => new Kind([p], { weightDecay: -0.1 }), /invalid weightDecay value -0\.1/);
  }
  p.dispose();
});
