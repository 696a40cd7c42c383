// Elementwise math with broadcasting, in-place variants, reductions and comparisons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertClose, assertTensor } from './helpers/gradcheck.js';

const { scope } = torch;

const A = [[1.5, -2, 3], [0.25, 4, -1]];
const B = [10, 20, 30];
const f64 = { dtype: 'float64' as const };

test('binary ops broadcast like NumPy', () => scope(() => {
  const a = torch.tensor(A, f64);
  const b = torch.tensor(B, f64);
  const col = torch.tensor([[2], [-3]], f64);
  const expect = (fn: (x: number, y: number) => number, other: number[][]) =>
    A.flatMap((row, i) => row.map((v, j) => fn(v, other[i][j])));
  const bb = [B, B];
  const cc = [[2, 2, 2], [-3, -3, -3]];
  assertTensor(a.add(b), [2, 3], expect((x, y) => x + y, bb));
  assertTensor(a.add(b, 0.5), [2, 3], expect((x, y) => x + 0.5 * y, bb));
  assertTensor(a.sub(col), [2, 3], expect((x, y) => x - y, cc));
  assertTensor(a.mul(col), [2, 3], expect((x, y) => x * y, cc));
  assertTensor(a.div(b), [2, 3], expect((x, y) => x / y, bb), { rtol: 1e-15 });
  assertTensor(a.pow(col), [2, 3], expect((x, y) => x ** y, cc), { rtol: 1e-14 });
  assertTensor(a.add(1), [2, 3], A.flat().map((x) => x + 1));
  assertTensor(a.mul(-2), [2, 3], A.flat().map((x) => -2 * x));
  assertTensor(a.div(4), [2, 3], A.flat().map((x) => x / 4));
  assertTensor(a.sub(1, 2), [2, 3], A.flat().map((x) => x - 2));
  assertTensor(a.rsub(1), [2, 3], A.flat().map((x) => 1 - x));
  assertTensor(a.remainder(2), [2, 3], A.flat().map((x) => x - 2 * Math.floor(x / 2)), {}, 'Python-style remainder');
  assertTensor(a.maximum(col), [2, 3], expect(Math.max, cc));
  assertTensor(a.minimum(col), [2, 3], expect(Math.min, cc));
  assertTensor(a.lerp(col, 0.25), [2, 3], expect((x, y) => x + 0.25 * (y - x), cc));
  // Outer sum by broadcasting [3,1] + [1,4].
  const o = torch.tensor([[1], [2], [3]]).add(torch.tensor([[10, 20, 30, 40]]));
  assert.deepEqual(o.toArray(), [[11, 21, 31, 41], [12, 22, 32, 42], [13, 23, 33, 43]]);
  assert.throws(() => a.add(torch.ones([2])), /size of tensor a \(3\) must match the size of tensor b \(2\)/);
  // Integer tensors stay integral with integer scalars; true division promotes.
  const i = torch.tensor([7, -7], { dtype: 'int64' });
  assert.equal(i.add(2).dtype, 'int64');
  assert.deepEqual(i.mul(3).toArray(), [21, -21]);
  assert.equal(i.div(2).dtype, 'float32');
  assert.deepEqual(i.div(2).toArray(), [3.5, -3.5]);
  assert.equal(i.add(0.5).dtype, 'float32');
}));

test('unary math functions match Math.*', () => scope(() => {
  const xs = [0.1, 0.5, 1, 2.5, 7];
  const signed = [-3, -0.5, 0, 0.5, 3];
  const x = torch.tensor(xs, f64);
  const s = torch.tensor(signed, f64);
  const tol = { rtol: 1e-14, atol: 1e-15 };
  assertClose(x.sqrt().toFlatArray(), xs.map(Math.sqrt), tol);
  assertClose(x.rsqrt().toFlatArray(), xs.map((v) => 1 / Math.sqrt(v)), tol);
  assertClose(x.exp().toFlatArray(), xs.map(Math.exp), tol);
  assertClose(x.log().toFlatArray(), xs.map(Math.log), tol);
  assertClose(x.log1p().toFlatArray(), xs.map(Math.log1p), tol);
  assertClose(x.expm1().toFlatArray(), xs.map(Math.expm1), tol);
  assertClose(x.pow(3).toFlatArray(), xs.map((v) => v ** 3), tol);
  assertClose(x.pow(0.5).toFlatArray(), xs.map(Math.sqrt), tol);
  assertClose(x.pow(-1).toFlatArray(), xs.map((v) => 1 / v), tol);
  assertClose(x.reciprocal().toFlatArray(), xs.map((v) => 1 / v), tol);
  assertClose(s.abs().toFlatArray(), signed.map(Math.abs), tol);
  assertClose(s.neg().toFlatArray(), signed.map((v) => -v), tol);
  assertClose(s.sign().toFlatArray(), signed.map(Math.sign), tol);
  assertClose(s.square().toFlatArray(), signed.map((v) => v * v), tol);
  assertClose(s.sin().toFlatArray(), signed.map(Math.sin), tol);
  assertClose(s.cos().toFlatArray(), signed.map(Math.cos), tol);
  assertClose(s.tanh().toFlatArray(), signed.map(Math.tanh), tol);
  assertClose(s.sigmoid().toFlatArray(), signed.map((v) => 1 / (1 + Math.exp(-v))), tol);
  assertClose(s.relu().toFlatArray(), signed.map((v) => Math.max(v, 0)), tol);
  assertClose(torch.tensor([-1.5, -0.5, 0.5, 1.5, 2.5], f64).round().toFlatArray(), [-2, -0, 0, 2, 2], tol, 'round half to even');
  assertClose(torch.tensor([-1.5, 1.5], f64).floor().toFlatArray(), [-2, 1]);
  assertClose(torch.tensor([-1.5, 1.5], f64).ceil().toFlatArray(), [-1, 2]);
  // IEEE special values.
  const special = torch.tensor([-1, 0], f64);
  const lg = special.log().toFlatArray();
  assert.ok(Number.isNaN(lg[0]));
  assert.equal(lg[1], -Infinity);
  assert.ok(Number.isNaN(special.sqrt().toFlatArray()[0]));
  assert.deepEqual(torch.tensor([NaN, 1, Infinity]).isnan().toArray(), [true, false, false]);
  assert.deepEqual(torch.tensor([NaN, 1, Infinity]).isfinite().toArray(), [false, true, false]);
}));

test('clamp, clampMin, clampMax with scalars and tensors', () => scope(() => {
  const v = [-3, -1, 0, 0.5, 2, 5];
  const x = torch.tensor(v, f64);
  assertClose(x.clamp(-1, 1).toFlatArray(), v.map((a) => Math.min(Math.max(a, -1), 1)));
  assertClose(x.clamp(0).toFlatArray(), v.map((a) => Math.max(a, 0)));
  assertClose(x.clamp(undefined, 1).toFlatArray(), v.map((a) => Math.min(a, 1)));
  assertClose(x.clampMin(0.5).toFlatArray(), v.map((a) => Math.max(a, 0.5)));
  assertClose(x.clampMax(-1).toFlatArray(), v.map((a) => Math.min(a, -1)));
  const lo = torch.tensor([-4, 0, 1, 0, 3, 0], f64);
  assertClose(x.clamp(lo).toFlatArray(), [-3, 0, 1, 0.5, 3, 5]);
  assertClose(x.clamp(lo, torch.tensor(4, f64)).toFlatArray(), [-3, 0, 1, 0.5, 3, 4]);
  // A tensor bound mixed with a numeric one.
  const mixed = x.clamp(lo, 4);
  assert.equal(mixed.dtype, 'float64');
  assertClose(mixed.toFlatArray(), [-3, 0, 1, 0.5, 3, 4]);
  assertClose(x.clamp(-2, torch.tensor([0, 0, 0, 0, 1, 1], f64)).toFlatArray(), [-2, -1, 0, 0, 1, 1]);
  const ints = torch.tensor([-5, 0, 5], { dtype: 'int64' });
  const clampedInts = ints.clamp(torch.tensor([-1, -1, -1], { dtype: 'int64' }), 3);
  assert.equal(clampedInts.dtype, 'int64', 'integer bounds keep an integer tensor integral');
  assert.deepEqual(clampedInts.toArray(), [-1, 0, 3]);
}));

test('in-place variants modify the tensor itself and return it', () => scope(() => {
  const x = torch.tensor([1, 2, 3], f64);
  const r = x.add_(torch.tensor([1, 1, 1], f64));
  assert.equal(r, x, 'add_ returns the same object');
  assert.deepEqual(x.toArray(), [2, 3, 4]);
  x.add_(10, 0.5);
  assert.deepEqual(x.toArray(), [7, 8, 9]);
  x.sub_(torch.tensor([1, 2, 3], f64), 2);
  assert.deepEqual(x.toArray(), [5, 4, 3]);
  x.mul_(2).div_(torch.tensor([2, 4, 3], f64));
  assert.deepEqual(x.toArray(), [5, 2, 2]);
  x.addcmul_(torch.tensor([1, 2, 3], f64), torch.tensor([2, 2, 2], f64), 0.5);
  assert.deepEqual(x.toArray(), [6, 4, 5]);
  x.addcdiv_(torch.tensor([3, 3, 3], f64), torch.tensor([1, 3, 6], f64), 2);
  assert.deepEqual(x.toArray(), [12, 6, 6]);
  x.lerp_(torch.tensor([0, 0, 0], f64), 0.5);
  assert.deepEqual(x.toArray(), [6, 3, 3]);
  x.clamp_(3.5, 5);
  assert.deepEqual(x.toArray(), [5, 3.5, 3.5]);
  x.sqrt_();
  assertClose(x.toFlatArray(), [Math.sqrt(5), Math.sqrt(3.5), Math.sqrt(3.5)], { rtol: 1e-15 });
  x.fill_(2);
  assert.deepEqual(x.toArray(), [2, 2, 2]);
  x.zero_();
  assert.deepEqual(x.toArray(), [0, 0, 0]);
  // In place through a view writes into the base; broadcasting the other operand.
  const m = torch.zeros([2, 3]);
  m.select(0, 1).add_(torch.tensor([1, 2, 3]));
  assert.deepEqual(m.toArray(), [[0, 0, 0], [1, 2, 3]]);
  m.add_(torch.tensor([[10], [20]]));
  assert.deepEqual(m.toArray(), [[10, 10, 10], [21, 22, 23]]);
  // The in-place copy.
  const dst = torch.zeros([3], f64);
  dst.copy_(torch.tensor([1, 2, 3]));
  assert.deepEqual(dst.toArray(), [1, 2, 3]);
  assert.equal(dst.dtype, 'float64');
  // An in-place op whose result cannot be cast back is refused.
  assert.throws(() => torch.tensor([1, 2], { dtype: 'int64' }).add_(0.5), /can't be cast|cannot be cast/);
}));

test('in-place ops called through aten() return the argument itself, which outlives the scope', () => {
  const p = torch.ones([3]);
  scope(() => {
    const r = torch.aten('add_.Tensor', p, torch.ones([3]), 2);
    assert.equal(r, p, 'the same Tensor object, not a second wrapper of its handle');
  });
  assert.equal(p.isDisposed, false);
  assert.deepEqual(p.toArray(), [3, 3, 3]);
  p.dispose();
});

test('sum, mean, prod over all elements, dims and with keepdim', () => scope(() => {
  const v = [[1, 2, 3], [4, 5, 6]];
  const x = torch.tensor(v, f64);
  assert.equal(x.sum().item(), 21);
  assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
  assert.deepEqual(x.sum(1).toArray(), [6, 15]);
  assert.deepEqual(x.sum(-1, { keepdim: true }).toArray(), [[6], [15]]);
  assert.deepEqual(x.sum([0, 1]).toArray(), 21);
  assert.equal(x.mean().item(), 3.5);
  assert.deepEqual(x.mean(0).toArray(), [2.5, 3.5, 4.5]);
  assert.deepEqual(x.mean(1, { keepdim: true }).shape, [2, 1]);
  assert.equal(x.prod().item(), 720);
  assert.deepEqual(x.prod(1).toArray(), [6, 120]);
  assert.deepEqual(x.prod(0, true).toArray(), [[4, 10, 18]]);
  assert.deepEqual(x.cumsum(1).toArray(), [[1, 3, 6], [4, 9, 15]]);
  // Integer sums promote to int64; dtype option.
  const i = torch.tensor([1, 2, 3], { dtype: 'int32' });
  assert.equal(i.sum().dtype, 'int64');
  assert.equal(i.sum(undefined, { dtype: 'float64' }).dtype, 'float64');
  assert.throws(() => x.sum(2), /[Dd]imension out of range/);
}));

test('max/min with indices, argmax/argmin, amax/amin, sort, topk', () => scope(() => {
  const v = [[3, 9, -1, 9], [7, 0, 2, -5]];
  const x = torch.tensor(v, f64);
  assert.equal(x.max().item(), 9);
  assert.equal(x.min().item(), -5);
  const mx = x.max(1);
  assert.deepEqual(mx.values.toArray(), [9, 7]);
  assert.deepEqual(mx.indices.toArray(), [1, 0]);
  assert.equal(mx.indices.dtype, 'int64');
  const mn = x.min(0, true);
  assert.deepEqual(mn.values.toArray(), [[3, 0, -1, -5]]);
  assert.deepEqual(mn.indices.toArray(), [[0, 1, 0, 1]]);
  assert.equal(x.argmax().item(), 1, 'flattened argmax: first occurrence of the max');
  assert.deepEqual(x.argmax(1).toArray(), [1, 0]);
  assert.deepEqual(x.argmin(0).toArray(), [0, 1, 0, 1]);
  assert.deepEqual(x.argmax(1, true).shape, [2, 1]);
  assert.deepEqual(x.amax(1).toArray(), [9, 7]);
  assert.deepEqual(x.amin([0, 1]).toArray(), -5);
  const s = x.sort(1);
  assert.deepEqual(s.values.toArray(), [[-1, 3, 9, 9], [-5, 0, 2, 7]]);
  assert.deepEqual(s.indices.select(1, 0).toArray(), [2, 3]);
  const sd = x.sort(1, true);
  assert.deepEqual(sd.values.select(0, 1).toArray(), [7, 2, 0, -5]);
  const tk = x.topk(2, 1);
  assert.deepEqual(tk.values.toArray(), [[9, 9], [7, 2]]);
  assert.deepEqual(tk.indices.select(0, 1).toArray(), [0, 2]);
  const small = x.topk(1, 1, false);
  assert.deepEqual(small.values.toArray(), [[-1], [-5]]);
}));

test('norm, std, var, logsumexp against JS formulas', () => scope(() => {
  const v = [[1, -2, 3, 0.5], [4, -5, 6, -0.25]];
  const x = torch.tensor(v, f64);
  const flat = v.flat();
  const tol = { rtol: 1e-13, atol: 1e-14 };
  assertClose([x.norm().item()], [Math.sqrt(flat.reduce((a, b) => a + b * b, 0))], tol);
  assertClose([x.norm(1).item()], [flat.reduce((a, b) => a + Math.abs(b), 0)], tol);
  assertClose([x.norm(Infinity).item()], [6], tol);
  assertClose([x.norm(3).item()], [flat.reduce((a, b) => a + Math.abs(b) ** 3, 0) ** (1 / 3)], tol);
  assertClose(x.norm(2, 1).toFlatArray(), v.map((r) => Math.hypot(...r)), tol);
  assert.deepEqual(x.norm(2, 1, true).shape, [2, 1]);

  const mean = (a: number[]) => a.reduce((s, b) => s + b, 0) / a.length;
  const variance = (a: number[], correction: number) => {
    const m = mean(a);
    return a.reduce((s, b) => s + (b - m) ** 2, 0) / (a.length - correction);
  };
  assertClose([x.var().item()], [variance(flat, 1)], tol);
  assertClose([x.std().item()], [Math.sqrt(variance(flat, 1))], tol);
  assertClose([x.var(undefined, { correction: 0 }).item()], [variance(flat, 0)], tol);
  assertClose(x.var(1).toFlatArray(), v.map((r) => variance(r, 1)), tol);
  assertClose(x.std(0, { correction: 0 }).toFlatArray(), [0, 1, 2, 3].map((j) => Math.sqrt(variance([v[0][j], v[1][j]], 0))), tol);
  assert.deepEqual(x.std(1, { keepdim: true }).shape, [2, 1]);

  const lse = (a: number[]) => Math.log(a.reduce((s, b) => s + Math.exp(b), 0));
  assertClose(x.logsumexp(1).toFlatArray(), v.map(lse), tol);
  assertClose(x.logsumexp([0, 1]).toFlatArray(), [lse(flat)], tol);
  // Stable for large inputs where exp overflows.
  const big = torch.tensor([1000, 1000], f64);
  assertClose([big.logsumexp(0).item()], [1000 + Math.log(2)], tol);
}));

test('softmax and logSoftmax along a dim, stable for large logits', () => scope(() => {
  const v = [[1, 2, 3], [-1, 0, 5]];
  const x = torch.tensor(v, f64);
  const softmax = (r: number[]) => {
    const m = Math.max(...r);
    const e = r.map((a) => Math.exp(a - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((a) => a / s);
  };
  const tol = { rtol: 1e-13, atol: 1e-15 };
  assertClose(x.softmax(1).toFlatArray(), v.flatMap(softmax), tol);
  assertClose(x.logSoftmax(1).toFlatArray(), v.flatMap((r) => softmax(r).map(Math.log)), tol);
  const cols = [0, 1, 2].map((j) => softmax([v[0][j], v[1][j]]));
  assertClose(x.softmax(0).toFlatArray(), [0, 1].flatMap((i) => cols.map((c) => c[i])), tol);
  assertClose(torch.F.softmax(x, -1).sum(-1).toFlatArray(), [1, 1], tol);
  const big = torch.tensor([1000, 1001, 1002], f64);
  assertClose(big.softmax(0).toFlatArray(), softmax([0, 1, 2]), tol);
  assertClose(big.logSoftmax(0).toFlatArray(), softmax([0, 1, 2]).map(Math.log), tol);
}));

test('comparisons and logical ops', () => scope(() => {
  const a = torch.tensor([1, 2, 3, 4]);
  const b = torch.tensor([4, 2, 1, 4]);
  assert.deepEqual(a.eq(b).toArray(), [false, true, false, true]);
  assert.deepEqual(a.ne(b).toArray(), [true, false, true, false]);
  assert.deepEqual(a.lt(b).toArray(), [true, false, false, false]);
  assert.deepEqual(a.le(b).toArray(), [true, true, false, true]);
  assert.deepEqual(a.gt(b).toArray(), [false, false, true, false]);
  assert.deepEqual(a.ge(b).toArray(), [false, true, true, true]);
  assert.deepEqual(a.gt(2).toArray(), [false, false, true, true]);
  assert.deepEqual(a.eq(2).toArray(), [false, true, false, false]);
  assert.deepEqual(a.gt(torch.tensor([[0], [3]])).toArray(), [[true, true, true, true], [false, false, false, true]]);
  const m = a.gt(1);
  const n = a.lt(4);
  assert.deepEqual(m.logicalAnd(n).toArray(), [false, true, true, false]);
  assert.deepEqual(m.logicalOr(n).toArray(), [true, true, true, true]);
  assert.deepEqual(m.logicalNot().toArray(), [true, false, false, false]);
  assert.equal(m.any().item(), 1);
  assert.equal(m.all().item(), 0);
  assert.equal(a.equal(a.clone()), true);
  assert.equal(a.equal(b), false);
  assert.equal(a.allclose(a.add(1e-7)), true);
  assert.equal(a.allclose(a.add(1e-3)), false);
}));
