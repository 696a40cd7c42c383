// Tensor methods (argsort, bincount, unique, nonzero, maskedSelect, isinf,
// nanToNum, log2, log10, erf, cumprod, median, tile, repeatInterleave) and
// the initializers truncNormal_, dirac_, eye_ against PyTorch 1.13
// (python3-torch), plus their error messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, nn } from '../src/index.js';
import { randomTensor } from './helpers/gradcheck.js';
import { assertMatchesTorch, describe, hasTorch, runTorch, skipWithoutTorch } from './helpers/pytorch.js';

type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };
const i64 = { dtype: 'int64' as const };

const x = torch.keep(randomTensor([3, 4], 7, 0.1, 3));
const special = torch.keep(torch.tensor([1.5, NaN, Infinity, -Infinity, -2, 0], f64));
const ints = torch.keep(torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], i64));
const dupes = torch.keep(torch.tensor([[2, 1, 2, 2], [3, 1, 3, 0]], f64));
const mask = torch.keep(x.gt(1.5));
const weights = torch.keep(randomTensor([11], 8, 0, 1));

// name → [ours, python expression over the same inputs]
const cases: Record<string, [() => Tensor, string]> = {
  argsort: [() => x.argsort(), 'x.argsort()'],
  'argsort dim 0 descending': [() => x.argsort(0, true), 'x.argsort(dim=0, descending=True)'],
  'argsort stable': [() => ints.argsort(-1, false, { stable: true }), 'torch.argsort(ints, stable=True)'],
  bincount: [() => ints.bincount(), 'ints.bincount()'],
  'bincount weights minlength': [() => ints.bincount({ weights, minlength: 12 }), 'ints.bincount(weights=w, minlength=12)'],
  unique: [() => ints.unique(), 'ints.unique()'],
  'unique counts': [() => ints.unique({ returnCounts: true }).counts!, 'ints.unique(return_counts=True)[1]'],
  'unique inverse': [() => ints.unique({ returnInverse: true }).inverse!, 'ints.unique(return_inverse=True)[1]'],
  'unique dim 1': [() => dupes.unique({ dim: 1 }), 'dupes.unique(dim=1)'],
  nonzero: [() => dupes.sub(2).nonzero(), '(dupes - 2).nonzero()'],
  maskedSelect: [() => x.maskedSelect(mask), 'x.masked_select(x > 1.5)'],
  isinf: [() => special.isinf(), 'sp.isinf()'],
  nanToNum: [() => special.nanToNum(), 'sp.nan_to_num()'],
  'nanToNum values': [() => special.nanToNum({ nan: -1, posinf: 100, neginf: -100 }), 'sp.nan_to_num(nan=-1.0, posinf=100.0, neginf=-100.0)'],
  log2: [() => x.log2(), 'x.log2()'],
  log10: [() => x.log10(), 'x.log10()'],
  erf: [() => x.sub(1.5).erf(), '(x - 1.5).erf()'],
  cumprod: [() => x.cumprod(1), 'x.cumprod(1)'],
  median: [() => x.median(), 'x.median()'],
  'median even count (lower)': [() => ints.narrow(0, 0, 10).median(), 'ints[:10].median()'],
  'median dim values': [() => x.median(1).values, 'x.median(1).values'],
  'median dim indices keepdim': [() => x.median(0, true).indices, 'x.median(0, keepdim=True).indices'],
  tile: [() => x.tile(2, 1), 'x.tile((2, 1))'],
  'tile more dims': [() => x.tile([2, 1, 3]), 'x.tile((2, 1, 3))'],
  repeatInterleave: [() => x.repeatInterleave(2), 'x.repeat_interleave(2)'],
  'repeatInterleave dim': [() => x.repeatInterleave(3, 0), 'x.repeat_interleave(3, dim=0)'],
  'repeatInterleave tensor': [() => x.repeatInterleave(torch.tensor([1, 0, 2, 3], i64), 1), 'x.repeat_interleave(torch.tensor([1, 0, 2, 3]), dim=1)'],
};

const reference = hasTorch ? runTorch(`
x = T(inp['x']); sp = T(inp['special']); ints = T(inp['ints']); dupes = T(inp['dupes']); w = T(inp['weights'])
for name, expr in inp['cases'].items():
    out[name] = J(eval(expr))
torch.manual_seed(0)
names = {'dirac': nn.init.dirac_(torch.empty(6, 4, 3, 3), groups=2), 'dirac1d': nn.init.dirac_(torch.empty(3, 5, 4)), 'eye': nn.init.eye_(torch.empty(3, 5))}
for k, v in names.items(): out[k] = J(v)
`, {
  x: describe(x), special: describe(special), ints: describe(ints), dupes: describe(dupes), weights: describe(weights),
  cases: Object.fromEntries(Object.entries(cases).map(([k, [, py]]) => [k, py])),
}) : null;

for (const [name, [ours]] of Object.entries(cases)) {
  test(`${name} matches PyTorch (values, shape, dtype)`, { skip: skipWithoutTorch }, () => {
    torch.scope(() => {
      const t = ours();
      assert.equal(t.dtype, reference[name].dtype, `${name} dtype`);
      assertMatchesTorch(t, reference[name], { atol: 1e-14, rtol: 1e-14 }, name);
    });
  });
}

test('dirac_ and eye_ match PyTorch', { skip: skipWithoutTorch }, () => {
  torch.scope(() => {
    assertMatchesTorch(nn.init.dirac_(torch.empty([6, 4, 3, 3]), 2), reference.dirac, undefined, 'dirac groups 2');
    assertMatchesTorch(nn.init.dirac_(torch.empty([3, 5, 4])), reference.dirac1d, undefined, 'dirac 1-d');
    assertMatchesTorch(nn.init.eye_(torch.empty([3, 5])), reference.eye, undefined, 'eye');
  });
});

test('unique gives values with counts and inverse indices together, sorted by default', () => {
  torch.scope(() => {
    const { values, counts, inverse } = ints.unique({ returnCounts: true, returnInverse: true });
    assert.deepEqual(values.toArray(), [1, 2, 3, 4, 5, 6, 9]);
    assert.deepEqual(counts!.toArray(), [2, 1, 2, 1, 3, 1, 1]);
    assert.ok(values.index([inverse!]).equal(ints));
    const onlyCounts = ints.unique({ returnCounts: true });
    assert.equal(onlyCounts.inverse, undefined);
  });
});

test('truncNormal_ stays within [a, b] with the truncated normal\'s mean and spread', () => {
  torch.scope(() => {
    torch.manualSeed(5);
    const t = nn.init.truncNormal_(torch.empty([200000], f64), { mean: 1, std: 2, a: 0, b: 3 });
    assert.ok(t.min().item() >= 0 && t.max().item() <= 3);
    // Normal(1, 2²) truncated to [0, 3]: α = -0.5, β = 1; mean = μ + σ (φ(α) - φ(β)) / Z.
    const phi = (z: number) => Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI);
    const Z = 0.8413447460685429 - 0.3085375387259869;
    const mean = 1 + 2 * (phi(-0.5) - phi(1)) / Z;
    const variance = 4 * (1 + (-0.5 * phi(-0.5) - 1 * phi(1)) / Z - ((phi(-0.5) - phi(1)) / Z) ** 2);
    assert.ok(Math.abs(t.mean().item() - mean) < 0.01, `mean ${t.mean().item()} vs ${mean}`);
    assert.ok(Math.abs(t.var().item() - variance) < 0.01, `variance ${t.var().item()} vs ${variance}`);
    const standard = nn.init.truncNormal_(torch.empty([1000]));
    assert.ok(standard.abs().max().item() <= 2, 'default bounds [-2, 2]');
    assert.equal(standard.requiresGrad, false);
  });
});

test('bad arguments are rejected with messages naming the problem', () => {
  assert.throws(() => x.bincount(), /bincount: expected a 1-d integer tensor, got a 2-d float64 tensor/);
  assert.throws(() => nn.init.truncNormal_(torch.empty([3]), { a: 1, b: -1 }), /a < b, got a = 1, b = -1/);
  assert.throws(() => nn.init.truncNormal_(torch.empty([3]), { std: 0 }), /std must be > 0/);
  assert.throws(() => nn.init.dirac_(torch.empty([3, 3])), /dirac_: only 3, 4 or 5-d tensors are supported, got shape \[3, 3\]/);
  assert.throws(() => nn.init.dirac_(torch.empty([3, 3, 3]), 2), /dim 0 \(3\) must be divisible by groups \(2\)/);
  assert.throws(() => nn.init.eye_(torch.empty([3])), /eye_: only 2-d tensors are supported/);
});
