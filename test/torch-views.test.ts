// Views, reshaping, indexing, joining and padding, against hand-computed results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertTensor } from './helpers/gradcheck.js';

const { scope, F } = torch;
type Tensor = torch.Tensor;

/** 0, 1, …, n-1 as float32 in the given shape. */
const iota = (shape: number[]): Tensor => torch.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, { dtype: 'float32' }).reshape(shape);
const idx = (values: number[] | number[][]): Tensor => torch.tensor(values, { dtype: 'int64' });

/** Row-major strides of a shape. */
const stridesOf = (shape: number[]): number[] => {
  const s = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
};

test('metadata: shape, size, numel, dim, strides, contiguity', () => scope(() => {
  const x = iota([2, 3, 4]);
  assert.deepEqual(x.shape, [2, 3, 4]);
  assert.deepEqual(x.size(), [2, 3, 4]);
  assert.equal(x.size(1), 3);
  assert.equal(x.size(-1), 4);
  assert.throws(() => x.size(3), RangeError);
  assert.equal(x.numel(), 24);
  assert.equal(x.dim(), 3);
  assert.equal(x.ndim, 3);
  assert.deepEqual(x.strides, [12, 4, 1]);
  assert.equal(x.isContiguous(), true);
  assert.equal(x.device, 'cpu');
}));

test('view, reshape, flatten, unflatten share or copy data correctly', () => scope(() => {
  const x = iota([2, 3, 4]);
  const v = x.view(6, 4);
  assert.deepEqual(v.shape, [6, 4]);
  assert.deepEqual(v.toFlatArray(), x.toFlatArray());
  const v2 = x.view([4, -1]);
  assert.deepEqual(v2.shape, [4, 6]);
  // A view shares storage: writing through it changes the base.
  v.select(0, 0).fill_(-1);
  assert.deepEqual(x.select(0, 0).select(0, 0).toFlatArray(), [-1, -1, -1, -1]);
  const y = iota([2, 3, 4]);
  assert.deepEqual(y.reshape(3, 8).shape, [3, 8]);
  assert.deepEqual(y.reshape(-1).shape, [24]);
  assert.deepEqual(y.flatten().shape, [24]);
  assert.deepEqual(y.flatten(1).shape, [2, 12]);
  assert.deepEqual(y.flatten(0, 1).shape, [6, 4]);
  assert.deepEqual(y.flatten(1).unflatten(1, [4, 3]).shape, [2, 4, 3]);
  // view() of a non-contiguous tensor is refused, reshape copies.
  const t = y.transpose(0, 2);
  assert.throws(() => t.view(24), /view/);
  const r = t.reshape(24);
  const expected: number[] = [];
  for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) expected.push(i * 12 + j * 4 + k);
  assert.deepEqual(r.toFlatArray(), expected);
}));

test('permute, transpose, mT, t(), contiguous', () => scope(() => {
  const x = iota([2, 3, 4]);
  const p = x.permute(2, 0, 1);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.equal(p.isContiguous(), false);
  const flat: number[] = [];
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) flat.push(i * 12 + j * 4 + k);
  assert.deepEqual(p.toFlatArray(), flat);
  const c = p.contiguous();
  assert.equal(c.isContiguous(), true);
  assert.deepEqual(c.strides, stridesOf([4, 2, 3]));
  assert.deepEqual(c.toFlatArray(), flat);
  const tr = x.transpose(1, 2);
  assert.deepEqual(tr.shape, [2, 4, 3]);
  assert.deepEqual(tr.strides, [12, 1, 4]);
  const m = x.mT;
  assert.ok(m.equal(tr));
  const mat = torch.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(mat.t().toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(x.permute([0, 2, 1]).shape, [2, 4, 3]);
}));

test('squeeze, unsqueeze, expand, expandAs, repeat', () => scope(() => {
  const x = iota([1, 3, 1]);
  assert.deepEqual(x.squeeze().shape, [3]);
  assert.deepEqual(x.squeeze(0).shape, [3, 1]);
  assert.deepEqual(x.squeeze(-1).shape, [1, 3]);
  assert.deepEqual(x.squeeze(1).shape, [1, 3, 1], 'squeezing a non-1 dim is a no-op');
  assert.deepEqual(x.unsqueeze(0).shape, [1, 1, 3, 1]);
  assert.deepEqual(x.unsqueeze(-1).shape, [1, 3, 1, 1]);
  const row = torch.tensor([1, 2, 3]);
  const e = row.expand(2, 3);
  assert.deepEqual(e.toArray(), [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(e.strides, [0, 1], 'expand does not copy');
  const col = torch.tensor([[1], [2]]);
  assert.deepEqual(col.expand(-1, 3).toArray(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(col.expandAs(torch.zeros([2, 2])).toArray(), [[1, 1], [2, 2]]);
  assert.deepEqual(row.repeat(2, 2).toArray(), [[1, 2, 3, 1, 2, 3], [1, 2, 3, 1, 2, 3]]);
  assert.throws(() => row.expand(2, 4), /expand/);
}));

test('narrow, slice with step, select, unbind', () => scope(() => {
  const x = iota([4, 5]);
  assert.deepEqual(x.narrow(1, 1, 3).toArray(), [[1, 2, 3], [6, 7, 8], [11, 12, 13], [16, 17, 18]]);
  assert.deepEqual(x.narrow(0, 2, 2).toFlatArray(), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(x.slice(1, 0, 5, 2).toArray(), [[0, 2, 4], [5, 7, 9], [10, 12, 14], [15, 17, 19]]);
  assert.deepEqual(x.slice(0, 1).shape, [3, 5], 'open end');
  assert.deepEqual(x.slice(0, -2).toFlatArray(), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'negative start');
  assert.deepEqual(x.slice(1, 3, 100).toArray(), [[3, 4], [8, 9], [13, 14], [18, 19]], 'end past size clamps');
  assert.deepEqual(x.select(0, 2).toArray(), [10, 11, 12, 13, 14]);
  assert.deepEqual(x.select(1, -1).toArray(), [4, 9, 14, 19]);
  const parts = x.unbind(1);
  assert.equal(parts.length, 5);
  assert.deepEqual(parts[3].toArray(), [3, 8, 13, 18]);
}));

test('indexSelect, index, gather, scatter, scatterAdd', () => scope(() => {
  const x = iota([3, 4]);
  assert.deepEqual(x.indexSelect(0, idx([2, 0, 2])).toArray(), [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
  assert.deepEqual(x.indexSelect(1, idx([3, 1])).toArray(), [[3, 1], [7, 5], [11, 9]]);
  assert.deepEqual(x.index([idx([0, 2]), idx([1, 3])]).toArray(), [1, 11]);
  assert.deepEqual(x.index([null, idx([0, 0])]).toArray(), [[0, 0], [4, 4], [8, 8]]);
  // gather: out[i][j] = x[i][index[i][j]] along dim 1.
  const g = x.gather(1, idx([[3, 0], [1, 1], [2, 3]]));
  assert.deepEqual(g.toArray(), [[3, 0], [5, 5], [10, 11]]);
  // gather along dim 0: out[i][j] = x[index[i][j]][j].
  const g0 = x.gather(0, idx([[2, 1, 0, 0]]));
  assert.deepEqual(g0.toArray(), [[8, 5, 2, 3]]);
  // scatter: out[i][index[i][j]] = src[i][j].
  const z = torch.zeros([2, 4]);
  const src = torch.tensor([[1, 2], [3, 4]]);
  assert.deepEqual(z.scatter(1, idx([[0, 3], [2, 1]]), src).toArray(), [[1, 0, 0, 2], [0, 4, 3, 0]]);
  assert.deepEqual(z.toFlatArray(), [0, 0, 0, 0, 0, 0, 0, 0], 'scatter is out of place');
  assert.deepEqual(z.scatter(1, idx([[1], [0]]), 9).toArray(), [[0, 9, 0, 0], [9, 0, 0, 0]]);
  z.scatter_(0, idx([[1, 0, 1, 0]]), 5);
  assert.deepEqual(z.toArray(), [[0, 5, 0, 5], [5, 0, 5, 0]]);
  const acc = torch.zeros([3]).scatterAdd(0, idx([0, 2, 0, 0]), torch.tensor([1, 2, 3, 4]));
  assert.deepEqual(acc.toArray(), [8, 0, 2]);
}));

test('maskedFill, where, comparisons build masks', () => scope(() => {
  const x = torch.tensor([[1, -2, 3], [-4, 5, -6]]);
  const neg = x.lt(0);
  assert.equal(neg.dtype, 'bool');
  assert.deepEqual(x.maskedFill(neg, 0).toArray(), [[1, 0, 3], [0, 5, 0]]);
  assert.deepEqual(x.maskedFill(neg, torch.tensor(7)).toArray(), [[1, 7, 3], [7, 5, 7]]);
  const y = x.clone();
  y.maskedFill_(x.gt(2), -1);
  assert.deepEqual(y.toArray(), [[1, -2, -1], [-4, -1, -6]]);
  const other = torch.tensor([[10, 20, 30], [40, 50, 60]]);
  assert.deepEqual(torch.where(neg, other, x).toArray(), [[1, 20, 3], [40, 5, 60]]);
  assert.deepEqual(torch.where(neg, 0, x).toArray(), [[1, 0, 3], [0, 5, 0]]);
  assert.deepEqual(torch.where(neg, x, 1).toArray(), [[1, -2, 1], [-4, 1, -6]]);
  assert.deepEqual(torch.where(neg, 1, 0).toFlatArray(), [0, 1, 0, 1, 0, 1]);
  // Broadcasting condition.
  const cond = torch.tensor([true, false, true]);
  assert.deepEqual(torch.where(cond, x, other).toArray(), [[1, 20, 3], [-4, 50, -6]]);
}));

test('cat, stack, chunk, split', () => scope(() => {
  const a = iota([2, 2]);
  const b = iota([2, 2]).add(10);
  assert.deepEqual(torch.cat([a, b]).toArray(), [[0, 1], [2, 3], [10, 11], [12, 13]]);
  assert.deepEqual(torch.cat([a, b], 1).toArray(), [[0, 1, 10, 11], [2, 3, 12, 13]]);
  assert.deepEqual(torch.cat([a, torch.ones([1, 2])], 0).shape, [3, 2]);
  const s = torch.stack([a, b]);
  assert.deepEqual(s.shape, [2, 2, 2]);
  assert.deepEqual(torch.stack([a, b], 2).toArray(), [[[0, 10], [1, 11]], [[2, 12], [3, 13]]]);
  assert.deepEqual(torch.stack([a, b], -1).shape, [2, 2, 2]);

  const x = torch.arange(7);
  const ch = x.chunk(3);
  assert.deepEqual(ch.map((c) => c.toArray()), [[0, 1, 2], [3, 4, 5], [6]]);
  const sp = x.split(2);
  assert.deepEqual(sp.map((c) => c.toArray()), [[0, 1], [2, 3], [4, 5], [6]]);
  const sp2 = x.split([1, 4, 2]);
  assert.deepEqual(sp2.map((c) => c.toArray()), [[0], [1, 2, 3, 4], [5, 6]]);
  const m = iota([2, 6]);
  const cols = m.chunk(2, 1);
  assert.deepEqual(cols[1].toArray(), [[3, 4, 5], [9, 10, 11]]);
  assert.throws(() => x.split([1, 2]), /split/);
}));

test('flip, roll, tril, triu, diagonal, diagEmbed', () => scope(() => {
  const x = iota([2, 3]);
  assert.deepEqual(x.flip(0).toArray(), [[3, 4, 5], [0, 1, 2]]);
  assert.deepEqual(x.flip(1).toArray(), [[2, 1, 0], [5, 4, 3]]);
  assert.deepEqual(x.flip(0, 1).toArray(), [[5, 4, 3], [2, 1, 0]]);
  assert.deepEqual(x.roll(1, 1).toArray(), [[2, 0, 1], [5, 3, 4]]);
  assert.deepEqual(x.roll(-1, 1).toArray(), [[1, 2, 0], [4, 5, 3]]);
  assert.deepEqual(x.roll(2).toArray(), [[4, 5, 0], [1, 2, 3]], 'no dims: roll the flattened tensor');
  assert.deepEqual(x.roll([1, 1], [0, 1]).toArray(), [[5, 3, 4], [2, 0, 1]]);

  const m = iota([3, 3]).add(1);
  assert.deepEqual(m.tril().toArray(), [[1, 0, 0], [4, 5, 0], [7, 8, 9]]);
  assert.deepEqual(m.tril(-1).toArray(), [[0, 0, 0], [4, 0, 0], [7, 8, 0]]);
  assert.deepEqual(m.triu().toArray(), [[1, 2, 3], [0, 5, 6], [0, 0, 9]]);
  assert.deepEqual(m.triu(1).toArray(), [[0, 2, 3], [0, 0, 6], [0, 0, 0]]);
  assert.deepEqual(m.diagonal().toArray(), [1, 5, 9]);
  assert.deepEqual(m.diagonal(1).toArray(), [2, 6]);
  assert.deepEqual(m.diagonal(-2).toArray(), [7]);
  const batch = iota([2, 2, 2]);
  assert.deepEqual(batch.diagonal(0, -2, -1).toArray(), [[0, 3], [4, 7]]);
  assert.deepEqual(torch.tensor([1, 2]).diagEmbed().toArray(), [[1, 0], [0, 2]]);
}));

/** F.pad reference for one 2-d plane: pads = [left, right, top, bottom]. */
function padPlane(plane: number[][], pads: [number, number, number, number], mode: string, value = 0): number[][] {
  const [l, r, t, b] = pads;
  const h = plane.length;
  const w = plane[0].length;
  const out: number[][] = [];
  const map = (i: number, n: number): number | null => {
    if (i >= 0 && i < n) return i;
    switch (mode) {
      case 'constant': return null;
      case 'circular': return ((i % n) + n) % n;
      case 'replicate': return Math.min(Math.max(i, 0), n - 1);
      case 'reflect': return i < 0 ? -i : 2 * (n - 1) - i;
      default: throw new Error(mode);
    }
  };
  for (let i = -t; i < h + b; i++) {
    const row: number[] = [];
    for (let j = -l; j < w + r; j++) {
      const si = map(i, h);
      const sj = map(j, w);
      row.push(si === null || sj === null ? value : plane[si][sj]);
    }
    out.push(row);
  }
  return out;
}

test('F.pad in constant, circular, reflect and replicate modes (hand-computed)', () => scope(() => {
  const x = torch.tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
  // Hand-written expectations for one case of each mode.
  assert.deepEqual(F.pad(x, [1, 0, 0, 1], 'constant', -1).toArray(),
    [[[[-1, 1, 2, 3], [-1, 4, 5, 6], [-1, 7, 8, 9], [-1, -1, -1, -1]]]]);
  assert.deepEqual(F.pad(x, [1, 1, 1, 1], 'circular').toArray(),
    [[[[9, 7, 8, 9, 7], [3, 1, 2, 3, 1], [6, 4, 5, 6, 4], [9, 7, 8, 9, 7], [3, 1, 2, 3, 1]]]]);
  assert.deepEqual(F.pad(x, [2, 1, 0, 0], 'reflect').toArray(),
    [[[[3, 2, 1, 2, 3, 2], [6, 5, 4, 5, 6, 5], [9, 8, 7, 8, 9, 8]]]]);
  assert.deepEqual(F.pad(x, [0, 2, 1, 0], 'replicate').toArray(),
    [[[[1, 2, 3, 3, 3], [1, 2, 3, 3, 3], [4, 5, 6, 6, 6], [7, 8, 9, 9, 9]]]]);
  // Asymmetric pads on a non-square, multi-channel input against the reference.
  const y = iota([2, 2, 3, 4]);
  const yv = y.toArray() as number[][][][];
  const cases: [string, [number, number, number, number]][] = [
    ['constant', [2, 0, 1, 3]], ['circular', [3, 1, 2, 0]], ['reflect', [1, 3, 2, 1]], ['replicate', [0, 3, 2, 2]],
  ];
  for (const [mode, pads] of cases) {
    const got = F.pad(y, pads, mode as torch.F.PadMode, 0.5);
    const expected = yv.map((n) => n.map((c) => padPlane(c, pads, mode, 0.5)));
    assert.deepEqual(got.toArray(), expected, `${mode} ${pads}`);
  }
  // 1-d padding of the last dimension only, and negative constant padding crops.
  assert.deepEqual(F.pad(torch.tensor([[1, 2, 3]]), [1, 2]).toArray(), [[0, 1, 2, 3, 0, 0]]);
  assert.deepEqual(F.pad(torch.tensor([[1, 2, 3]]), [-1, 0]).toArray(), [[2, 3]]);
  assert.throws(() => F.pad(x, [1, 1], 'wrap' as torch.F.PadMode), /mode must be/);
  assert.throws(() => F.pad(x, [3, 3, 0, 0], 'reflect'), /[Pp]adding size/);
}));
