// Autograd semantics (backward, accumulation, grad modes, autograd.grad,
// higher order) and float64 finite-difference checks of every
// differentiable op that layers use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertClose, gradcheck, randomTensor } from './helpers/gradcheck.js';

const { scope, F, linalg } = torch;
type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };
const i64 = { dtype: 'int64' as const };

/** A float64 leaf with requiresGrad, values in [lo, hi). */
const leaf = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => randomTensor(shape, seed, lo, hi, true);

// ---- semantics -------------------------------------------------------------------

test('backward: leaf gradients, explicit gradient argument, non-scalar outputs', () => scope(() => {
  const x = torch.tensor([1, 2, 3], { ...f64, requiresGrad: true });
  assert.equal(x.isLeaf, true);
  assert.equal(x.grad, null, 'no gradient before backward');
  const y = x.mul(x).sum(); // d/dx = 2x
  assert.equal(y.requiresGrad, true);
  assert.equal(y.hasGradFn, true);
  assert.equal(y.isLeaf, false);
  y.backward();
  assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
  // Non-scalar output needs a gradient: vector-Jacobian product.
  const x2 = torch.tensor([1, 2, 3], { ...f64, requiresGrad: true });
  const z = x2.pow(3);
  assert.throws(() => z.backward(), /scalar outputs|implicitly created only for scalar/);
  z.backward(torch.tensor([1, 0.5, -1], f64));
  assert.deepEqual(x2.grad!.toArray(), [3, 0.5 * 12, -27]);
  // Several outputs at once.
  const a = torch.tensor([2], { ...f64, requiresGrad: true });
  torch.autograd.backward([a.mul(3).sum(), a.mul(a).sum()]);
  assert.deepEqual(a.grad!.toArray(), [3 + 4]);
  // backward on something that does not require grad is refused with a clear message.
  assert.throws(() => torch.tensor([1, 2]).sum().backward(), /does not require grad/);
}));

test('retainGraph, accumulation across backward calls, zeroing with grad = null', () => scope(() => {
  const x = torch.tensor([1, -2], { ...f64, requiresGrad: true });
  const y = x.exp().sum();
  y.backward(undefined, { retainGraph: true });
  const once = x.grad!.toFlatArray();
  assertClose(once, [Math.exp(1), Math.exp(-2)], { rtol: 1e-15 });
  y.backward();
  assertClose(x.grad!.toFlatArray(), once.map((v) => 2 * v), { rtol: 1e-15 }, 'gradients accumulate');
  assert.throws(() => y.backward(), /backward through the graph a second time/);
  x.grad = null;
  assert.equal(x.grad, null);
  x.mul(4).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [4, 4], 'fresh gradient after zeroing');
  // Setting a gradient by hand; shape is checked.
  x.grad = torch.tensor([7, 8], f64);
  assert.deepEqual(x.grad!.toArray(), [7, 8]);
  assert.throws(() => { x.grad = torch.zeros([3], f64); }, /does not match/);
  // requiresGrad toggles.
  const w = torch.ones([2]);
  assert.equal(w.requiresGrad, false);
  w.requiresGrad = true;
  assert.equal(w.requiresGrad, true);
  w.requiresGrad_(false);
  assert.equal(w.requiresGrad, false);
}));

test('non-leaf gradients with retainGrad; detach stops the flow', () => scope(() => {
  const x = torch.tensor([1, 2], { ...f64, requiresGrad: true });
  const h = x.mul(3).retainGrad();
  h.mul(h).sum().backward();
  assert.deepEqual(h.grad!.toArray(), [6, 12], 'dL/dh = 2h');
  assert.deepEqual(x.grad!.toArray(), [18, 36]);
  const x2 = torch.tensor([1, 2], { ...f64, requiresGrad: true });
  const d = x2.mul(2).detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.hasGradFn, false);
  x2.mul(d).sum().backward();
  assert.deepEqual(x2.grad!.toArray(), [2, 4], 'the detached factor is a constant');
  const e = x2.clone().detach_();
  assert.equal(e.requiresGrad, false);
}));

test('noGrad and enableGrad nest and restore the mode, even on exceptions', () => scope(() => {
  const x = torch.tensor([1], { ...f64, requiresGrad: true });
  assert.equal(torch.isGradEnabled(), true);
  const y = torch.noGrad(() => {
    assert.equal(torch.isGradEnabled(), false);
    const inner = torch.enableGrad(() => {
      assert.equal(torch.isGradEnabled(), true);
      return x.mul(2);
    });
    assert.equal(inner.requiresGrad, true, 'enableGrad records inside noGrad');
    assert.equal(torch.isGradEnabled(), false);
    return x.mul(2);
  });
  assert.equal(y.requiresGrad, false, 'noGrad results are not recorded');
  assert.equal(torch.isGradEnabled(), true);
  assert.throws(() => torch.noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(torch.isGradEnabled(), true, 'restored after an exception');
  const prev = torch.setGradEnabled(false);
  assert.equal(prev, true);
  assert.equal(x.mul(2).requiresGrad, false);
  torch.setGradEnabled(true);
  // In-place updates of a leaf under noGrad, as optimizers do.
  torch.noGrad(() => x.sub_(torch.tensor([0.5], f64)));
  assert.deepEqual(x.toArray(), [0.5]);
  assert.equal(x.isLeaf, true);
  assert.throws(() => x.sub_(torch.tensor([0.5], f64)), /leaf Variable that requires grad/);
}));

test('autograd.grad: gradOutputs, allowUnused, retainGraph, createGraph (second derivative of x³)', () => scope(() => {
  const x = torch.tensor([0.5, -1, 2], { ...f64, requiresGrad: true });
  const y = x.pow(3).sum();
  const [g] = torch.autograd.grad(y, x, { createGraph: true });
  assertClose(g!.toFlatArray(), [0.5, -1, 2].map((v) => 3 * v * v), { rtol: 1e-15 });
  assert.equal(g!.requiresGrad, true, 'createGraph keeps the gradient differentiable');
  const [g2] = torch.autograd.grad(g!.sum(), x);
  assertClose(g2!.toFlatArray(), [0.5, -1, 2].map((v) => 6 * v), { rtol: 1e-15 }, 'd²/dx² x³ = 6x');
  assert.equal(x.grad, null, 'autograd.grad does not touch .grad');
  // Third derivative through two createGraph levels: 6.
  const x3 = torch.tensor([1.5], { ...f64, requiresGrad: true });
  const [d1] = torch.autograd.grad(x3.pow(3).sum(), x3, { createGraph: true });
  const [d2] = torch.autograd.grad(d1!.sum(), x3, { createGraph: true });
  const [d3] = torch.autograd.grad(d2!.sum(), x3);
  assertClose(d3!.toFlatArray(), [6], { rtol: 1e-15 });

  const a = torch.tensor([1, 2], { ...f64, requiresGrad: true });
  const b = torch.tensor([3, 4], { ...f64, requiresGrad: true });
  const unused = torch.tensor([0], { ...f64, requiresGrad: true });
  const out = a.mul(b);
  const grads = torch.autograd.grad(out, [a, b, unused], { gradOutputs: [torch.tensor([1, -1], f64)], allowUnused: true, retainGraph: true });
  assert.deepEqual(grads[0]!.toArray(), [3, -4]);
  assert.deepEqual(grads[1]!.toArray(), [1, -2]);
  assert.equal(grads[2], null, 'unused input gives null');
  assert.throws(() => torch.autograd.grad(out.sum(), [a, unused], { retainGraph: true }), /not have been used/);
  const again = torch.autograd.grad(out.sum(), [a]);
  assert.deepEqual(again[0]!.toArray(), [3, 4], 'retainGraph kept the graph for another call');
  // A gradient penalty: d/dw ||d(w·x)/dx||² uses the second-order graph.
  const w = torch.tensor([1, -2], { ...f64, requiresGrad: true });
  const xin = torch.tensor([0.3, 0.7], { ...f64, requiresGrad: true });
  const [gx] = torch.autograd.grad(w.mul(xin).sum().pow(2), xin, { createGraph: true }); // 2 (w·x) w
  const penalty = gx!.pow(2).sum(); // 4 (w·x)² |w|²
  const [gw] = torch.autograd.grad(penalty, w);
  const s = 0.3 * 1 + 0.7 * -2;
  const wn = 1 + 4;
  // d/dw [4 s² |w|²] = 8 s x |w|² + 8 s² w
  assertClose(gw!.toFlatArray(), [0, 1].map((i) => 8 * s * [0.3, 0.7][i] * wn + 8 * s * s * [1, -2][i]), { rtol: 1e-13 });
}));

test('gradcheck itself detects a wrong gradient', () => scope(() => {
  const x = leaf([4], 1);
  // detach() hides one factor from autograd: analytic x, true derivative 2x.
  assert.throws(() => gradcheck((t) => t.detach().mul(t), [x]), /gradcheck: input 0/);
  const report = gradcheck((t) => t.mul(t), [x]);
  assert.equal(report.checked, 4);
  assert.ok(report.maxAbsError < 1e-8);
}));

// ---- finite-difference checks -------------------------------------------------------------

test('gradcheck conv2d: stride, padding, dilation, groups, bias, same', () => scope(() => {
  const cases: [number[], number[], torch.F.Conv2dOptions][] = [
    [[2, 2, 5, 5], [3, 2, 3, 3], { padding: 1 }],
    [[1, 2, 7, 6], [2, 2, 3, 2], { stride: [2, 1], padding: [1, 0] }],
    [[1, 2, 7, 7], [2, 2, 3, 3], { dilation: 2, padding: 2 }],
    [[1, 4, 5, 5], [4, 2, 3, 3], { groups: 2, stride: 2, padding: 1, dilation: [1, 2] }],
    [[1, 3, 4, 4], [3, 1, 2, 2], { groups: 3, padding: 'same' }],
  ];
  cases.forEach(([xs, ws, opts], k) => {
    const x = leaf(xs, 10 + k);
    const w = leaf(ws, 20 + k);
    const b = leaf([ws[0]], 30 + k);
    gradcheck((xi, wi, bi) => F.conv2d(xi, wi, { ...opts, bias: bi }), [x, w, b]);
  });
}));

test('gradcheck convTranspose2d: stride, padding, outputPadding, groups, dilation, bias', () => scope(() => {
  const cases: [number[], number[], torch.F.ConvTranspose2dOptions][] = [
    [[1, 2, 3, 3], [2, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
    [[2, 4, 3, 2], [4, 1, 2, 3], { groups: 2, stride: [1, 2], dilation: [2, 1] }],
    [[1, 2, 2, 3], [2, 2, 3, 2], { stride: 3, padding: [1, 0], outputPadding: [2, 1], dilation: 1 }],
  ];
  cases.forEach(([xs, ws, opts], k) => {
    const x = leaf(xs, 40 + k);
    const w = leaf(ws, 50 + k);
    const outChannels = ws[1] * (opts.groups ?? 1);
    const b = leaf([outChannels], 60 + k);
    gradcheck((xi, wi, bi) => F.convTranspose2d(xi, wi, { ...opts, bias: bi }), [x, w, b]);
  });
}));

test('gradcheck linear, matmul (broadcast), bmm, einsum', () => scope(() => {
  gradcheck((x, w, b) => F.linear(x, w, b), [leaf([3, 4], 70), leaf([2, 4], 71), leaf([2], 72)]);
  gradcheck((x, w) => F.linear(x, w), [leaf([2, 2, 3], 73), leaf([4, 3], 74)]);
  gradcheck((a, b) => a.matmul(b), [leaf([2, 1, 3, 4], 75), leaf([3, 4, 2], 76)]);
  gradcheck((a, v) => a.matmul(v), [leaf([3, 4], 77), leaf([4], 78)]);
  gradcheck((a, b) => a.bmm(b), [leaf([2, 3, 2], 79), leaf([2, 2, 3], 80)]);
  gradcheck((a, b) => torch.einsum('bij,jk->bik', a, b), [leaf([2, 2, 3], 81), leaf([3, 2], 82)]);
  gradcheck((a, b) => torch.einsum('oc,nchw->nohw', a, b), [leaf([2, 3], 83), leaf([1, 3, 2, 2], 84)]);
  gradcheck((a) => torch.einsum('ii', a), [leaf([3, 3], 85)]);
}));

test('gradcheck pad in each mode', () => scope(() => {
  const x = leaf([1, 2, 3, 4], 90);
  gradcheck((t) => F.pad(t, [1, 2, 0, 1], 'constant', 0.5), [x]);
  gradcheck((t) => F.pad(t, [2, 1, 1, 2], 'reflect'), [x]);
  gradcheck((t) => F.pad(t, [3, 0, 2, 1], 'replicate'), [x]);
  gradcheck((t) => F.pad(t, [1, 3, 2, 1], 'circular'), [x]);
}));

test('gradcheck pooling: avgPool2d (padding, countIncludePad), maxPool2d, adaptiveAvgPool2d, interpolate', () => scope(() => {
  const x = leaf([1, 2, 5, 6], 91);
  gradcheck((t) => F.avgPool2d(t, 2), [x]);
  gradcheck((t) => F.avgPool2d(t, 3, { stride: 2, padding: 1, countIncludePad: false }), [x]);
  gradcheck((t) => F.maxPool2d(t, 2), [x]);
  gradcheck((t) => F.maxPool2d(t, 3, { stride: 1, padding: 1 }), [x]);
  gradcheck((t) => F.adaptiveAvgPool2d(t, [2, 4]), [x]);
  gradcheck((t) => F.interpolate(t, { size: [7, 9], mode: 'bilinear' }), [x]);
  gradcheck((t) => F.interpolate(t, { scaleFactor: 2 }), [x]);
}));

test('gradcheck reductions: sum, mean, max/min along a dim, amax, logsumexp, std, var, norm', () => scope(() => {
  const x = leaf([3, 4], 92);
  gradcheck((t) => t.sum(), [x]);
  gradcheck((t) => t.sum(1, { keepdim: true }), [x]);
  gradcheck((t) => t.mean(), [x]);
  gradcheck((t) => t.mean([0, 1]), [x]);
  gradcheck((t) => t.max(1).values, [x]);
  gradcheck((t) => t.min(0, true).values, [x]);
  gradcheck((t) => t.max(), [x]);
  gradcheck((t) => t.amax(0), [x]);
  gradcheck((t) => t.logsumexp(1), [x]);
  gradcheck((t) => t.std(1), [x]);
  gradcheck((t) => t.var(undefined, { correction: 0 }), [x]);
  gradcheck((t) => t.norm(), [x]);
  gradcheck((t) => t.prod(1), [x]);
  gradcheck((t) => t.cumsum(0), [x]);
}));

test('gradcheck elementwise: sqrt, exp, log, pow, sigmoid, tanh, abs, relu, clamp, division', () => scope(() => {
  const pos = leaf([2, 3], 93, 0.5, 2);
  const any = leaf([2, 3], 94);
  gradcheck((t) => t.sqrt(), [pos]);
  gradcheck((t) => t.rsqrt(), [pos]);
  gradcheck((t) => t.exp(), [any]);
  gradcheck((t) => t.log(), [pos]);
  gradcheck((t) => t.pow(3), [any]);
  gradcheck((t) => t.pow(2.5), [pos]);
  gradcheck((a, b) => a.pow(b), [pos, leaf([2, 3], 95)]);
  gradcheck((t) => t.sigmoid(), [any]);
  gradcheck((t) => t.tanh(), [any]);
  gradcheck((t) => t.abs(), [any]);
  gradcheck((t) => t.relu(), [any]);
  gradcheck((t) => t.clamp(-0.4, 0.3), [any]);
  gradcheck((t, lo) => t.clamp(lo), [any, leaf([2, 3], 96)]);
  gradcheck((a, b) => a.div(b), [any, pos]);
  gradcheck((a, b) => a.mul(b).add(a.sub(b, 0.5)), [any, leaf([3], 97)]);
  gradcheck((a, b) => a.maximum(b), [any, leaf([2, 3], 98)]);
}));

test('gradcheck softmax, logSoftmax, crossEntropy (smoothing, weights), normalize, cosineSimilarity', () => scope(() => {
  const x = leaf([3, 5], 100, -2, 2);
  gradcheck((t) => t.softmax(1), [x]);
  gradcheck((t) => t.softmax(0), [x]);
  gradcheck((t) => t.logSoftmax(1), [x]);
  const y = torch.tensor([4, 0, 2], i64);
  gradcheck((t) => F.crossEntropy(t, y), [x]);
  gradcheck((t) => F.crossEntropy(t, y, { labelSmoothing: 0.2, reduction: 'sum' }), [x]);
  const weight = randomTensor([5], 101, 0.5, 2); // class weights are constants (not differentiable in PyTorch either)
  gradcheck((t) => F.crossEntropy(t, y, { weight, reduction: 'none' }), [x]);
  gradcheck((t) => F.crossEntropy(t, y, { weight, labelSmoothing: 0.1 }), [x]);
  gradcheck((t, p) => F.crossEntropy(t, p.softmax(1)), [x, leaf([3, 5], 102)]);
  gradcheck((t) => F.normalize(t), [x]);
  gradcheck((t) => F.normalize(t, 2, 0), [x]);
  gradcheck((a, b) => F.cosineSimilarity(a, b), [x, leaf([3, 5], 103)]);
  gradcheck((a, b) => F.mseLoss(a, b), [x, leaf([3, 5], 104)]);
}));

test('gradcheck linalg: qr, cholesky, solveTriangular, matrixExp, svdvals, eigvalsh', () => scope(() => {
  gradcheck((a) => {
    const { Q, R } = linalg.qr(a);
    return torch.cat([Q.flatten(), R.flatten()]);
  }, [leaf([4, 3], 110)]);
  gradcheck((a) => {
    const { Q, R } = linalg.qr(a);
    return torch.cat([Q.flatten(), R.flatten()]);
  }, [leaf([3, 3], 111)]);
  // Cholesky of a symmetric positive-definite function of x (the op reads one triangle only).
  const n = 3;
  gradcheck((x) => linalg.cholesky(x.matmul(x.mT).add(torch.eye(n, n, f64))), [leaf([n, n], 112)]);
  gradcheck((x) => linalg.cholesky(x.matmul(x.mT).add(torch.eye(n, n, f64)), { upper: true }), [leaf([n, n], 113)]);
  const lower = torch.tensor([[2, 0, 0], [0.5, 1.5, 0], [-0.3, 0.2, 1.8]], { ...f64, requiresGrad: true });
  gradcheck((a, b) => linalg.solveTriangular(a, b, { upper: false }), [lower, leaf([3, 2], 114)]);
  const upper = torch.tensor([[2, 0.4, -1], [0, 1.5, 0.3], [0, 0, 1.8]], { ...f64, requiresGrad: true });
  gradcheck((a, b) => linalg.solveTriangular(a, b, { upper: true, left: false }), [upper, leaf([2, 3], 115)]);
  gradcheck((a) => linalg.matrixExp(a), [leaf([3, 3], 116, -0.5, 0.5)]);
  gradcheck((a) => linalg.svdvals(a), [leaf([4, 3], 117)]);
  gradcheck((x) => linalg.eigvalsh(x.add(x.mT)), [leaf([3, 3], 118)]);
  gradcheck((a, b) => linalg.solve(a.add(torch.eye(3, 3, f64).mul(3)), b), [leaf([3, 3], 119), leaf([3, 2], 120)]);
}));

test('gradcheck norms: vectorNorm (several orders and dims), matrixNorm (fro, nuc, 2, 1, inf)', () => scope(() => {
  const x = leaf([3, 4], 121);
  gradcheck((t) => linalg.vectorNorm(t), [x]);
  gradcheck((t) => linalg.vectorNorm(t, 1), [x]);
  gradcheck((t) => linalg.vectorNorm(t, 3, 1), [x]);
  gradcheck((t) => linalg.vectorNorm(t, Infinity, 0, true), [x]);
  gradcheck((t) => linalg.matrixNorm(t), [x]);
  gradcheck((t) => linalg.matrixNorm(t, 'nuc'), [x]);
  gradcheck((t) => linalg.matrixNorm(t, 2), [x]);
  gradcheck((t) => linalg.matrixNorm(t, 1), [x]);
  gradcheck((t) => linalg.matrixNorm(t, Infinity), [x]);
  gradcheck((t) => linalg.matrixNorm(t, 'fro', [0, 1], true), [leaf([2, 3, 2], 122)]);
}));

test('gradcheck joining and indexing: cat, stack, slice, narrow, select, indexSelect, gather, index, scatter, where, maskedFill', () => scope(() => {
  const a = leaf([2, 3], 130);
  const b = leaf([2, 3], 131);
  gradcheck((p, q) => torch.cat([p, q], 1), [a, b]);
  gradcheck((p, q) => torch.stack([p, q.mul(2)], 0), [a, b]);
  gradcheck((p) => p.slice(1, 0, 3, 2), [a]);
  gradcheck((p) => p.narrow(1, 1, 2), [a]);
  gradcheck((p) => p.select(0, 1), [a]);
  gradcheck((p) => p.indexSelect(1, torch.tensor([2, 0, 2], i64)), [a]);
  gradcheck((p) => p.gather(1, torch.tensor([[0, 0], [2, 1]], i64)), [a]);
  gradcheck((p) => p.index([torch.tensor([1, 0, 1], i64), torch.tensor([2, 2, 0], i64)]), [a]);
  gradcheck((p, q) => p.scatter(1, torch.tensor([[2], [0]], i64), q.narrow(1, 0, 1)), [a, b]);
  gradcheck((p, q) => p.scatterAdd(1, torch.tensor([[0, 0, 1], [2, 2, 2]], i64), q), [a, b]);
  const cond = torch.tensor([[true, false, true], [false, false, true]]);
  gradcheck((p, q) => torch.where(cond, p, q), [a, b]);
  gradcheck((p) => p.maskedFill(cond, 0), [a]);
  gradcheck((p) => p.permute(1, 0).reshape(6).flip(0).roll(2), [a]);
  gradcheck((p) => p.unsqueeze(0).expand(3, 2, 3), [a]);
  gradcheck((p) => p.tril(), [leaf([3, 3], 132)]);
  gradcheck((p) => p.diagonal(), [leaf([3, 3], 133)]);
  gradcheck((p) => {
    const [u, v] = p.split([1, 2], 1);
    return u.mul(v.sum(1, { keepdim: true }));
  }, [a]);
}));

test('gradients through a small two-layer network agree with finite differences', () => scope(() => {
  const x = randomTensor([2, 1, 6, 6], 140);
  const target = torch.tensor([1, 2], i64);
  gradcheck((w1, w2) => {
    const h = F.conv2d(x, w1, { padding: 1, stride: 2 }).relu();
    const p = F.adaptiveAvgPool2d(h, 1).flatten(1);
    return F.crossEntropy(F.linear(p, w2), target);
  }, [leaf([4, 1, 3, 3], 141), leaf([3, 4], 142)]);
}));
