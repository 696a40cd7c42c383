// Creation functions, dtypes and random number reproducibility.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertClose, assertTensor } from './helpers/gradcheck.js';

const { scope } = torch;

test('zeros, ones, full, eye: shapes, dtypes and values', () => scope(() => {
  const z = torch.zeros([2, 3]);
  assert.equal(z.dtype, 'float32');
  assertTensor(z, [2, 3], [0, 0, 0, 0, 0, 0]);
  const o = torch.ones([4], { dtype: 'float64' });
  assert.equal(o.dtype, 'float64');
  assertTensor(o, [4], [1, 1, 1, 1]);
  const f = torch.full([2, 2], 2.5);
  assert.equal(f.dtype, 'float32');
  assertTensor(f, [2, 2], [2.5, 2.5, 2.5, 2.5]);
  const fb = torch.full([3], true);
  assert.equal(fb.dtype, 'bool');
  assert.deepEqual(fb.toArray(), [true, true, true]);
  const fi = torch.full([2], 7, { dtype: 'int32' });
  assert.equal(fi.dtype, 'int32');
  assert.deepEqual(fi.toArray(), [7, 7]);
  const e = torch.eye(3);
  assert.deepEqual(e.toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  const e2 = torch.eye(2, 4, { dtype: 'float64' });
  assert.deepEqual(e2.toArray(), [[1, 0, 0, 0], [0, 1, 0, 0]]);
  assert.equal(e2.dtype, 'float64');
  const e3 = torch.eye(2, { dtype: 'int32' });  // options in m's place, as torch.eye(2, dtype=…)
  assert.deepEqual([e3.toArray(), e3.dtype], [[[1, 0], [0, 1]], 'int32']);
  const s = torch.zeros([]);
  assert.deepEqual(s.shape, []);
  assert.equal(s.numel(), 1);
  assert.equal(s.toArray(), 0);
  const empty = torch.zeros([0, 3]);
  assert.equal(empty.numel(), 0);
  assert.deepEqual(empty.toArray(), []);
}));

test('arange and linspace', () => scope(() => {
  const a = torch.arange(5);
  assert.equal(a.dtype, 'int64', 'integer arange is int64 like PyTorch');
  assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
  const b = torch.arange(2, 11, 3);
  assert.deepEqual(b.toArray(), [2, 5, 8]);
  const c = torch.arange(0, 1, 0.25);
  assert.equal(c.dtype, 'float32');
  assertClose(c.toFlatArray(), [0, 0.25, 0.5, 0.75]);
  const d = torch.arange(5, 0, -2);
  assert.deepEqual(d.toArray(), [5, 3, 1]);
  const f = torch.arange(3, undefined, 1, { dtype: 'float64' });
  assert.equal(f.dtype, 'float64');
  assert.deepEqual(f.toArray(), [0, 1, 2]);
  assert.throws(() => torch.arange(0, 5, 0), /step must not be zero/);

  const l = torch.linspace(-1, 1, 5);
  assertClose(l.toFlatArray(), [-1, -0.5, 0, 0.5, 1]);
  const l64 = torch.linspace(0, 1, 11, { dtype: 'float64' });
  assert.equal(l64.dtype, 'float64');
  assertClose(l64.toFlatArray(), Array.from({ length: 11 }, (_, i) => i / 10), { atol: 1e-15 });
  assert.deepEqual(torch.linspace(3, 3, 1).toArray(), [3]);
}));

test('rand, randn, randint, randperm: ranges and rough statistics', () => scope(() => {
  torch.manualSeed(7);
  const u = torch.rand([20000]);
  const uv = u.toFlatArray();
  assert.ok(uv.every((v) => v >= 0 && v < 1), 'rand in [0, 1)');
  const mean = uv.reduce((a, b) => a + b, 0) / uv.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `rand mean ${mean}`);

  const n = torch.randn([20000], { dtype: 'float64' });
  assert.equal(n.dtype, 'float64');
  const nv = n.toFlatArray();
  const nm = nv.reduce((a, b) => a + b, 0) / nv.length;
  const nvar = nv.reduce((a, b) => a + (b - nm) ** 2, 0) / (nv.length - 1);
  assert.ok(Math.abs(nm) < 0.03, `randn mean ${nm}`);
  assert.ok(Math.abs(nvar - 1) < 0.05, `randn variance ${nvar}`);

  const r = torch.randint(-3, 4, [5000]);
  assert.equal(r.dtype, 'int64');
  const rv = r.toFlatArray();
  assert.ok(rv.every((v) => Number.isInteger(v) && v >= -3 && v < 4), 'randint in [-3, 4)');
  assert.equal(new Set(rv).size, 7, 'all 7 values drawn');
  const ri = torch.randint(0, 10, [3, 2], { dtype: 'int32' });
  assert.equal(ri.dtype, 'int32');
  assert.deepEqual(ri.shape, [3, 2]);

  const p = torch.randperm(50);
  assert.equal(p.dtype, 'int64');
  const pv = p.toFlatArray();
  assert.deepEqual([...pv].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(pv, Array.from({ length: 50 }, (_, i) => i), 'a permutation of 50 is almost surely not the identity');
}));

test('tensor() from nested arrays, booleans, scalars and typed arrays', () => scope(() => {
  const t = torch.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  const nested3 = torch.tensor([[[1], [2]], [[3], [4]]], { dtype: 'float64' });
  assert.deepEqual(nested3.shape, [2, 2, 1]);
  assert.deepEqual(nested3.toFlatArray(), [1, 2, 3, 4]);

  const b = torch.tensor([[true, false], [false, true]]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [[true, false], [false, true]]);
  const bf = torch.tensor([true, false], { dtype: 'float32' });
  assert.deepEqual(bf.toArray(), [1, 0]);

  const s = torch.tensor(3.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.5);

  const precise = torch.tensor([0.1, 1 / 3], { dtype: 'float64' });
  assert.deepEqual(precise.toFlatArray(), [0.1, 1 / 3], 'float64 keeps full precision');
  const big = torch.tensor([2 ** 40 + 1, -7], { dtype: 'int64' });
  assert.deepEqual(big.toFlatArray(), [2 ** 40 + 1, -7]);

  const f64 = torch.tensor(new Float64Array([1.25, -2]));
  assert.equal(f64.dtype, 'float64');
  assert.deepEqual(f64.toFlatArray(), [1.25, -2]);
  const i32 = torch.tensor(new Int32Array([1, -2, 3]));
  assert.equal(i32.dtype, 'int32');
  const u8 = torch.tensor(new Uint8Array([0, 255]));
  assert.equal(u8.dtype, 'uint8');
  assert.deepEqual(u8.toFlatArray(), [0, 255]);
  const i64 = torch.tensor(new BigInt64Array([5n, -(2n ** 50n)]));
  assert.equal(i64.dtype, 'int64');
  assert.deepEqual(i64.dataSync(), new BigInt64Array([5n, -(2n ** 50n)]));
  const cast = torch.tensor(new Float32Array([1.5, 2.5]), { dtype: 'float64' });
  assert.equal(cast.dtype, 'float64');
  assert.deepEqual(cast.toFlatArray(), [1.5, 2.5]);
}));

test('fromTypedArray copies the data, honours shape, subarray offsets and requiresGrad', () => scope(() => {
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = torch.fromTypedArray(data, [3, 2]);
  data[0] = 100;
  assert.deepEqual(t.toArray(), [[1, 2], [3, 4], [5, 6]], 'the tensor owns a copy');
  const backing = new Float64Array([9, 8, 7, 6, 5]);
  const sub = torch.fromTypedArray(backing.subarray(1, 4));
  assert.deepEqual(sub.toFlatArray(), [8, 7, 6], 'byteOffset of a subarray is respected');
  const g = torch.fromTypedArray(new Float64Array([1, 2]), [2], { requiresGrad: true });
  assert.equal(g.requiresGrad, true);
  assert.equal(g.isLeaf, true);
  const i = torch.fromTypedArray(new Int32Array([1, 2, 3, 4]), [2, 2], { dtype: 'int64' });
  assert.equal(i.dtype, 'int64');
  assert.deepEqual(i.toArray(), [[1, 2], [3, 4]]);
}));

test('like-variants keep shape and dtype unless told otherwise', () => scope(() => {
  const base = torch.tensor([[1, 2], [3, 4]], { dtype: 'float64' });
  const z = torch.zerosLike(base);
  assert.equal(z.dtype, 'float64');
  assertTensor(z, [2, 2], [0, 0, 0, 0]);
  const o = torch.onesLike(base, { dtype: 'int32' });
  assert.equal(o.dtype, 'int32');
  assert.deepEqual(o.toArray(), [[1, 1], [1, 1]]);
  const f = torch.fullLike(base, -3);
  assertTensor(f, [2, 2], [-3, -3, -3, -3]);
  const r = torch.randLike(base);
  assert.equal(r.dtype, 'float64');
  assert.deepEqual(r.shape, [2, 2]);
  assert.ok(r.toFlatArray().every((v) => v >= 0 && v < 1));
  const n = torch.randnLike(base, { requiresGrad: true });
  assert.equal(n.requiresGrad, true);
  assert.deepEqual(n.shape, [2, 2]);
  const e = torch.emptyLike(base);
  assert.deepEqual(e.shape, [2, 2]);
  assert.equal(e.dtype, 'float64');
}));

test('dtypes: every supported dtype can be created and round-trips through to()', () => scope(() => {
  const values = [0, 1, 2, 5, 100];
  for (const dtype of ['float32', 'float64', 'bfloat16', 'float16', 'int64', 'int32', 'uint8'] as const) {
    const t = torch.tensor(values, { dtype });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.toFlatArray(), values, `${dtype} holds small integers exactly`);
    const back = t.to('float64').to(dtype);
    assert.equal(back.dtype, dtype);
    assert.ok(back.equal(t), `${dtype} -> float64 -> ${dtype}`);
  }
  const b = torch.tensor([true, false, true]);
  const bi = b.to('int32');
  assert.deepEqual(bi.toArray(), [1, 0, 1]);
  assert.deepEqual(bi.to('bool').toArray(), [true, false, true]);
  assert.deepEqual(torch.tensor([0, -2, 0.5]).to('bool').toArray(), [false, true, true], 'non-zero is true');

  // Rounding behaviour of the narrow types, computed by hand.
  const x = torch.tensor([1 + 2 ** -9, 1 + 2 ** -7, 3.14159, -2.5, 1e-3], { dtype: 'float64' });
  // bfloat16 keeps 8 significant bits: 1 + 2^-9 rounds to 1, 1 + 2^-7 is exact, pi -> 3.140625.
  assertClose(x.to('bfloat16').toFlatArray(), [1, 1 + 2 ** -7, 3.140625, -2.5, 0.00099945068359375], { atol: 0, rtol: 0 });
  // float16 keeps 11 significant bits: 1 + 2^-9 exact; pi -> 3.140625; 1e-3 -> 0.0010004043579101562.
  assertClose(x.to('float16').toFlatArray(), [1 + 2 ** -9, 1 + 2 ** -7, 3.140625, -2.5, 0.0010004043579101562], { atol: 0, rtol: 0 });
  assertClose(x.to('float32').toFlatArray(), [1 + 2 ** -9, 1 + 2 ** -7, Math.fround(3.14159), -2.5, Math.fround(1e-3)], { atol: 0, rtol: 0 });
  // Float -> int truncates toward zero; uint8 wraps modulo 256.
  assert.deepEqual(torch.tensor([2.7, -2.7]).to('int32').toArray(), [2, -2]);
  assert.deepEqual(torch.tensor([300, 7], { dtype: 'int32' }).to('uint8').toArray(), [44, 7]);
  // The raw bits of half types come out of dataSync as uint16.
  const h = torch.tensor([1, -2], { dtype: 'bfloat16' }).dataSync();
  assert.ok(h instanceof Uint16Array);
  assert.deepEqual([...h], [0x3f80, 0xc000]);
  const h16 = torch.tensor([1, -2], { dtype: 'float16' }).dataSync();
  assert.deepEqual([...h16], [0x3c00, 0xc000]);
  // Conversion helpers.
  const base = torch.tensor([1.5]);
  assert.equal(base.double().dtype, 'float64');
  assert.equal(base.long().dtype, 'int64');
  assert.equal(base.double().float().dtype, 'float32');
  assert.equal(base.bool().dtype, 'bool');
  assert.equal(torch.isFloatingDType('bfloat16'), true);
  assert.equal(torch.isFloatingDType('int64'), false);
}));

test('to() returns a new handle: disposing the result leaves the source alive', () => scope(() => {
  const a = torch.tensor([1, 2, 3]);
  const same = a.to('float32');
  assert.notEqual(same, a);
  same.dispose();
  assert.deepEqual(a.toArray(), [1, 2, 3]);
  const copy = a.to({ dtype: 'float32', copy: true });
  copy.fill_(0);
  assert.deepEqual(a.toArray(), [1, 2, 3], 'copy: true does not share storage');
}));

test('manualSeed makes draws reproducible; getRngState/setRngState restores a sequence', () => scope(() => {
  torch.manualSeed(1234);
  const a1 = torch.rand([8]).toFlatArray();
  const b1 = torch.randn([3, 3]).toFlatArray();
  const c1 = torch.randint(0, 1000, [6]).toFlatArray();
  const p1 = torch.randperm(10).toFlatArray();
  torch.manualSeed(1234);
  assert.deepEqual(torch.rand([8]).toFlatArray(), a1);
  assert.deepEqual(torch.randn([3, 3]).toFlatArray(), b1);
  assert.deepEqual(torch.randint(0, 1000, [6]).toFlatArray(), c1);
  assert.deepEqual(torch.randperm(10).toFlatArray(), p1);
  torch.manualSeed(4321);
  assert.notDeepEqual(torch.rand([8]).toFlatArray(), a1, 'another seed gives other draws');

  const state = torch.getRngState();
  assert.equal(state.dtype, 'uint8');
  assert.equal(state.dim(), 1);
  const first = torch.randn([5]).toFlatArray();
  const second = torch.rand([4]).toFlatArray();
  const third = torch.randn([5]).toFlatArray();
  assert.notDeepEqual(third, first);
  torch.setRngState(state);
  assert.deepEqual(torch.randn([5]).toFlatArray(), first);
  assert.deepEqual(torch.rand([4]).toFlatArray(), second);
  assert.deepEqual(torch.randn([5]).toFlatArray(), third);
  // In-place initializers share the generator.
  torch.setRngState(state);
  const viaInit = torch.empty([5]).normal_(0, 1).toFlatArray();
  assert.deepEqual(viaInit, first);
  assert.throws(() => torch.setRngState(torch.zeros([3])), /uint8/);
}));
