// Singular values of convolution operators: the FFT method against dense
// operator matrices (circular padding, strides, groups, dilation, transposed
// convolutions), hand-built orthogonal kernels, the Gram-iteration bound
// against dense zero-padded operators, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, nn, ortho } from '../src/index.js';
import {
  convSingularValues, convSpectralNormBound, denseSingularValues, getConvSv, layerSingularValues, layerSpectralNormBound, operatorMatrix,
} from '../src/ortho/singular-values.js';
import { randomTensor } from './helpers/gradcheck.js';

const { F, scope, linalg } = torch;
type Tensor = torch.Tensor;
const f64 = { dtype: 'float64' as const };

/** Sorted (decreasing) flat values; compares two spectra to atol = tol * max(1, largest). */
function assertSameSpectrum(actual: Tensor, expected: Tensor, tol: number, label: string): void {
  const a = actual.flatten().sort(0, true).values.toFlatArray();
  const e = expected.flatten().sort(0, true).values.toFlatArray();
  assert.equal(a.length, e.length, `${label}: ${a.length} singular values, expected ${e.length}`);
  const atol = tol * Math.max(1, e[0]);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
  assert.ok(worst <= atol, `${label}: largest difference ${worst.toExponential(3)} > ${atol.toExponential(3)}`);
}

/** The circular convolution PyTorch-style: pad circularly ('same' split, left = total // 2), then a padding-0 conv. */
function circularConv(w: Tensor, o: { stride?: number; groups?: number; dilation?: number } = {}) {
  const d = o.dilation ?? 1;
  const th = d * (w.shape[2] - 1);
  const tw = d * (w.shape[3] - 1);
  const pads = [Math.floor(tw / 2), tw - Math.floor(tw / 2), Math.floor(th / 2), th - Math.floor(th / 2)];
  return (x: Tensor): Tensor => F.conv2d(F.pad(x, pads, 'circular'), w, { stride: o.stride ?? 1, groups: o.groups ?? 1, dilation: d });
}

/** A circular transposed convolution on an n-grid: the ordinary one, with its overhang folded back onto the (n*s)-grid. */
function circularConvTranspose(w: Tensor, n: [number, number], o: { stride?: number; groups?: number } = {}) {
  const s = o.stride ?? 1;
  const big = [n[0] * s, n[1] * s];
  return (x: Tensor): Tensor => {
    const y = F.convTranspose2d(x, w, { stride: s, groups: o.groups ?? 1 });
    const [b, c, h, wd] = y.shape;
    const m = [Math.ceil(h / big[0]), Math.ceil(wd / big[1])];
    const padded = F.pad(y, [0, m[1] * big[1] - wd, 0, m[0] * big[0] - h]);
    return padded.reshape([b, c, m[0], big[0], m[1], big[1]]).sum([2, 4]);
  };
}

interface Case { out: number; in: number; k: [number, number]; groups?: number; stride?: number; dilation?: number; n: [number, number] }

const circularCases: Case[] = [
  { out: 4, in: 3, k: [3, 3], n: [6, 6] },
  { out: 2, in: 5, k: [3, 3], n: [6, 6] }, // in > out
  { out: 3, in: 4, k: [2, 2], n: [6, 6] }, // even kernel
  { out: 5, in: 2, k: [4, 4], n: [8, 8] }, // even, in < out
  { out: 2, in: 6, k: [1, 1], n: [6, 6] },
  { out: 3, in: 2, k: [5, 5], n: [6, 8] }, // rectangular input
  { out: 3, in: 2, k: [2, 3], n: [6, 6] }, // rectangular kernel
  { out: 4, in: 4, k: [3, 3], groups: 2, n: [6, 6] },
  { out: 6, in: 4, k: [2, 2], groups: 2, n: [6, 6] },
  { out: 2, in: 6, k: [5, 5], groups: 2, n: [6, 6] },
  { out: 4, in: 3, k: [3, 3], stride: 2, n: [8, 8] },
  { out: 3, in: 5, k: [4, 4], stride: 2, n: [8, 8] },
  { out: 8, in: 2, k: [2, 2], stride: 2, n: [6, 6] }, // kernel == stride
  { out: 4, in: 4, k: [5, 5], groups: 2, stride: 2, n: [8, 6] },
  { out: 2, in: 3, k: [3, 3], stride: 3, n: [9, 9] },
  { out: 3, in: 2, k: [3, 3], dilation: 2, n: [8, 8] },
  { out: 4, in: 2, k: [2, 2], groups: 2, dilation: 3, stride: 2, n: [8, 8] },
];

const describe = (c: Case): string => `out ${c.out}, in ${c.in}, k ${c.k.join('x')}, groups ${c.groups ?? 1}, stride ${c.stride ?? 1}, ` +
  `dilation ${c.dilation ?? 1}, input ${c.n.join('x')}`;

test('convSingularValues equals the dense circular operator (groups, strides, dilation, even kernels)', () => {
  circularCases.forEach((c, i) => scope(() => {
    const g = c.groups ?? 1;
    const w = randomTensor([c.out, c.in / g, ...c.k], 100 + i);
    const options = { groups: g, stride: c.stride, dilation: c.dilation };
    const result = convSingularValues(w, c.n, options);
    const dense = denseSingularValues(circularConv(w, options), [1, c.in, ...c.n], { batch: 64 });
    const s = c.stride ?? 1;
    assert.deepEqual(result.values.shape, [g, c.n[0] / s, c.n[1] / s, Math.min(c.out / g, (c.in / g) * s * s)], describe(c));
    assertSameSpectrum(result.values, dense, 1e-8, describe(c));
    const d = dense.toFlatArray();
    assert.ok(Math.abs(result.max - d[0]) <= 1e-8 * d[0], `${describe(c)}: max`);
    assert.ok(Math.abs(result.min - d[d.length - 1]) <= 1e-8 * d[0], `${describe(c)}: min`);
    const stable = d.reduce((a, v) => a + v * v, 0) / (d[0] * d[0]);
    assert.ok(Math.abs(result.stableRank - stable) <= 1e-8 * stable, `${describe(c)}: stable rank`);
  }));
});

test('values[g, u, v] are the singular values at DFT frequency (u, v) of each group', () => {
  for (const n of [[5, 7], [6, 4]] as [number, number][]) scope(() => {
    const w = randomTensor([4, 3, 3, 2], 150 + n[0]); // groups 2: [2, 2, 3, 3, 2]
    const values = convSingularValues(w, n, { groups: 2 }).values;
    const perGroup = w.reshape([2, 2, 3, 3, 2]);
    const direct = linalg.svdvals(torch.fft.fft2(perGroup, n).permute([0, 3, 4, 1, 2]));
    assert.deepEqual(values.shape, direct.shape);
    assert.ok(values.sub(direct).abs().max().item() < 1e-12, `input ${n.join('x')}`);
  });
});

test('the dense comparison can fail: a slightly different kernel or a missing stride is caught', () => scope(() => {
  const w = randomTensor([3, 2, 3, 3], 7);
  const dense = denseSingularValues(circularConv(w, { stride: 2 }), [1, 2, 8, 8], { batch: 64 });
  const nudged = w.clone();
  nudged.select(0, 1).select(0, 1).select(0, 2).add_(1e-6); // one tap of one filter
  const off = convSingularValues(nudged, [8, 8], { stride: 2 }).values;
  assert.throws(() => assertSameSpectrum(off, dense, 1e-8, 'nudged kernel'), assert.AssertionError);
  const unstrided = convSingularValues(w, [8, 8]).values;
  assert.throws(() => assertSameSpectrum(unstrided, dense, 1e-8, 'stride left out'), assert.AssertionError);
}));

test('float32 kernels give the float64 answer for the same numbers', () => scope(() => {
  const w32 = randomTensor([4, 3, 3, 3], 9).float();
  const a = convSingularValues(w32, [6, 6]);
  const b = convSingularValues(w32.double(), [6, 6]);
  assert.equal(a.values.dtype, 'float64');
  assertSameSpectrum(a.values, b.values, 1e-14, 'float32 vs float64');
}));

test('transposed convolutions: same singular values as their circular (folded) operator', () => {
  const cases = [
    { in: 3, out: 4, k: 3, groups: 1, stride: 1, n: [6, 6] as [number, number] },
    { in: 4, out: 2, k: 2, groups: 2, stride: 1, n: [5, 5] as [number, number] },
    { in: 2, out: 3, k: 3, groups: 1, stride: 2, n: [4, 4] as [number, number] },
    { in: 4, out: 6, k: 4, groups: 2, stride: 2, n: [3, 4] as [number, number] },
  ];
  cases.forEach((c, i) => scope(() => {
    const w = randomTensor([c.in, c.out / c.groups, c.k, c.k], 200 + i); // [in, out/groups, kh, kw]
    const result = convSingularValues(w, c.n, { groups: c.groups, stride: c.stride, transposed: true });
    const dense = denseSingularValues(circularConvTranspose(w, c.n, c), [1, c.in, ...c.n], { batch: 64 });
    assertSameSpectrum(result.values, dense, 1e-8, `transposed case ${i}`);
  }));
});

test('hand-built orthogonal kernels have all singular values 1', () => scope(() => {
  const expectAllOnes = (r: { min: number; max: number; stableRank: number; values: Tensor }, label: string): void => {
    assert.ok(Math.abs(r.max - 1) < 1e-12 && Math.abs(r.min - 1) < 1e-12, `${label}: min ${r.min}, max ${r.max}`);
    assert.ok(Math.abs(r.stableRank - r.values.numel()) < 1e-9 * r.values.numel(), `${label}: stable rank ${r.stableRank}`);
  };
  // 1x1 convolution with an orthogonal matrix (square, then with orthonormal columns).
  const q = linalg.qr(randomTensor([5, 5], 11)).Q;
  expectAllOnes(convSingularValues(q.reshape([5, 5, 1, 1]), [4, 4]), '1x1 orthogonal');
  const tall = linalg.qr(randomTensor([6, 3], 12)).Q; // 6x3, orthonormal columns
  expectAllOnes(convSingularValues(tall.reshape([6, 3, 1, 1]), [4, 4]), '1x1 orthonormal columns');
  // A pure shift: a 3x3 kernel whose only non-zero tap is off-centre, holding an orthogonal matrix.
  const shift = torch.zeros([5, 5, 3, 3], f64);
  shift.select(3, 2).select(2, 0).copy_(q);
  expectAllOnes(convSingularValues(shift, [6, 7]), 'off-centre shift');
  const dense = denseSingularValues(circularConv(shift), [1, 5, 6, 7], { batch: 64 });
  assertSameSpectrum(dense, torch.ones([dense.numel()], f64), 1e-12, 'dense shift operator');
  // Space-to-depth with an orthogonal mixing: a 2x2 stride-2 kernel from a 12x12 orthogonal matrix.
  const q12 = linalg.qr(randomTensor([12, 12], 13)).Q;
  expectAllOnes(convSingularValues(q12.reshape([12, 3, 2, 2]), [6, 6], { stride: 2 }), 'stride-2 orthogonal');
  // A kernel that is not orthogonal is detected as such: Q at two taps two columns apart has the
  // singular values |1 + e^{2iw}| = 2|cos w| over the 6 horizontal frequencies w = 2 pi j / 6: 1 and 2.
  const two = shift.clone();
  two.select(3, 0).select(2, 0).copy_(q);
  const r = convSingularValues(two, [6, 6]);
  assert.ok(Math.abs(r.max - 2) < 1e-12 && Math.abs(r.min - 1) < 1e-12, `two shifted copies: min ${r.min}, max ${r.max}`);
}));

test('convSpectralNormBound is an upper bound of the dense zero-padded operator norm', () => {
  const cases: (Case & { padding: number })[] = [
    { out: 4, in: 3, k: [3, 3], n: [8, 8], padding: 1 },
    { out: 2, in: 5, k: [3, 3], n: [8, 8], padding: 1 },
    { out: 3, in: 3, k: [2, 2], n: [7, 7], padding: 1 },
    { out: 3, in: 2, k: [5, 5], n: [8, 8], padding: 2 },
    { out: 4, in: 4, k: [3, 3], groups: 2, n: [8, 8], padding: 1 },
    { out: 4, in: 3, k: [3, 3], stride: 2, n: [8, 8], padding: 1 },
    { out: 3, in: 2, k: [4, 4], stride: 2, n: [9, 9], padding: 0 },
    { out: 3, in: 2, k: [3, 3], dilation: 2, n: [8, 8], padding: 2 },
    { out: 6, in: 2, k: [2, 2], stride: 2, n: [8, 8], padding: 0 }, // single tap after space-to-depth: exact
  ];
  cases.forEach((c, i) => scope(() => {
    const g = c.groups ?? 1;
    const w = randomTensor([c.out, c.in / g, ...c.k], 300 + i);
    const options = { groups: g, stride: c.stride, dilation: c.dilation };
    const dense = denseSingularValues((x) => F.conv2d(x, w, { ...options, stride: c.stride ?? 1, dilation: c.dilation ?? 1, padding: c.padding }),
      [1, c.in, ...c.n], { batch: 64 });
    const exact = dense.toFlatArray()[0];
    let previous = Infinity;
    for (const iterations of [1, 3, 6]) {
      const bound = convSpectralNormBound(w, c.n, { ...options, iterations });
      assert.ok(bound >= exact * (1 - 1e-12), `${describe(c)}, ${iterations} iterations: bound ${bound} < ${exact}`);
      assert.ok(bound <= previous * (1 + 1e-12), `${describe(c)}: the bound grew with more iterations`);
      previous = bound;
    }
    // It also bounds the circular operator on large grids (whose norm tends to the same limit).
    const circular = convSingularValues(w, [36, 36], options).max;
    assert.ok(previous >= circular * (1 - 1e-12), `${describe(c)}: bound ${previous} < circular ${circular}`);
    if (c.k[0] === (c.stride ?? 1)) assert.ok(Math.abs(previous - exact) <= 1e-12 * exact, `${describe(c)}: not exact`);
  }));
});

/**
 * Gram iteration done directly in space, as in Delattre et al.: the kernel is
 * convolved with itself (full padding) `iterations` times, without rescaling
 * (fine for small kernels and few iterations in float64).
 */
function spatialGramBound(kernel: Tensor, iterations: number): number {
  // T T* when out <= in, else T* T (the smaller Gram operator, as convSpectralNormBound picks).
  let k = kernel.shape[0] <= kernel.shape[1] ? kernel : kernel.transpose(0, 1).contiguous();
  for (let i = 0; i < iterations; i++) k = F.conv2d(k, k, { padding: [k.shape[2] - 1, k.shape[3] - 1] });
  return Math.pow((k.abs().sum([1, 2, 3]).max() as Tensor).item(), 2 ** -iterations);
}

test('convSpectralNormBound equals the spatial Gram iteration of Delattre et al.', () => {
  const shapes = [[3, 5, 3, 3], [5, 3, 3, 3], [2, 2, 2, 4], [4, 3, 5, 5]];
  shapes.forEach((shape, i) => scope(() => {
    const w = randomTensor(shape, 350 + i);
    for (const iterations of [1, 2, 4]) {
      const ours = convSpectralNormBound(w, [8, 8], { iterations });
      const reference = spatialGramBound(w, iterations);
      assert.ok(Math.abs(ours - reference) <= 1e-10 * reference, `[${shape}], ${iterations} iterations: ${ours} vs ${reference}`);
    }
  }));
});

test('convSpectralNormBound is within a few percent of the zero-padded norm after enough iterations', () => scope(() => {
  const w = randomTensor([3, 2, 3, 3], 400);
  const n: [number, number] = [20, 20];
  const exact = denseSingularValues((x) => F.conv2d(x, w, { padding: 1 }), [1, 2, ...n], { batch: 100 }).toFlatArray()[0];
  const loose = convSpectralNormBound(w, n, { iterations: 2 });
  const tight = convSpectralNormBound(w, n, { iterations: 8 });
  assert.ok(tight >= exact && tight <= 1.03 * exact, `8 iterations: bound ${tight}, norm ${exact}`);
  assert.ok(loose > tight, 'more iterations tighten the bound');
  // Default iterations: 6 when they fit in memory, fewer under a small maxBytes; zero kernels give 0.
  assert.equal(convSpectralNormBound(w, n), convSpectralNormBound(w, n, { iterations: 6 }));
  const wide = randomTensor([16, 16, 3, 3], 402);
  assert.equal(convSpectralNormBound(wide, [8, 8], { maxBytes: 2 ** 25 }), convSpectralNormBound(wide, [8, 8], { iterations: 5 }));
  assert.throws(() => convSpectralNormBound(wide, [8, 8], { iterations: 6, maxBytes: 2 ** 25 }), /over maxBytes/);
  const zero = torch.zeros([4, 4, 3, 3], f64);
  zero.select(0, 0).select(0, 1).fill_(1); // group 0 non-zero, group 1 all zero
  const grouped = convSpectralNormBound(zero, [6, 6], { groups: 2 });
  // Non-negative taps: the row-sum bound is exact, the sum of the taps (9).
  assert.ok(Math.abs(grouped - 9) < 1e-9, `one-group kernel: ${grouped}`);
  assert.equal(convSpectralNormBound(torch.zeros([2, 2, 3, 3], f64), [6, 6]), 0);
  assert.equal(convSingularValues(torch.zeros([2, 2, 3, 3], f64), [6, 6]).max, 0);
  // 1x1 kernels: the exact matrix norm.
  const m = randomTensor([4, 6, 1, 1], 401);
  const norm = (linalg.matrixNorm(m.reshape([4, 6]), 2)).item();
  assert.ok(Math.abs(convSpectralNormBound(m, [3, 3]) - norm) < 1e-12 * norm);
}));

test('layerSingularValues / layerSpectralNormBound read weight, groups, stride, dilation and transposed', () => scope(() => {
  torch.manualSeed(5);
  const conv = new nn.Conv2d(4, 6, 3, { groups: 2, padding: 'same', paddingMode: 'circular', dtype: 'float64' });
  const viaLayer = layerSingularValues(conv, [6, 6]);
  const dense = denseSingularValues((x) => conv.forward(x), [1, 4, 6, 6], { batch: 64 }); // the bias is left out
  assertSameSpectrum(viaLayer.values, dense, 1e-8, 'Conv2d layer');
  const strided = new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, dtype: 'float64' });
  const zeroDense = denseSingularValues((x) => strided.forward(x), [1, 3, 8, 8], { batch: 64 }).toFlatArray()[0];
  assert.ok(layerSpectralNormBound(strided, [8, 8], { iterations: 4 }) >= zeroDense);
  assertSameSpectrum(layerSingularValues(strided, [8, 8]).values,
    convSingularValues(strided.weight, [8, 8], { stride: 2 }).values, 0, 'stride read from the layer');
  // A plain object with the small interface, flagged transposed; and ConvTranspose2d with the option.
  const w = randomTensor([4, 3, 2, 2], 500);
  const flagged = layerSingularValues({ weight: w, groups: 1, stride: [2, 2], transposed: true }, [3, 3]);
  assertSameSpectrum(flagged.values, convSingularValues(w, [3, 3], { stride: 2, transposed: true }).values, 0, 'flagged object');
  const tconv = new nn.ConvTranspose2d(4, 3, 2, { stride: 2, dtype: 'float64' });
  const fromClass = layerSingularValues(tconv, [3, 3], { transposed: true });
  const folded = denseSingularValues(circularConvTranspose(tconv.weight, [3, 3], { stride: 2 }), [1, 4, 3, 3], { batch: 64 });
  assertSameSpectrum(fromClass.values, folded, 1e-8, 'ConvTranspose2d layer');
  assert.throws(() => layerSingularValues({} as never, [4, 4]), /weight/);
}));

test('operatorMatrix gives the matrix of the linear part, with or without batching', () => scope(() => {
  const a = randomTensor([3, 4], 600);
  const b = randomTensor([3], 601);
  const matrix = operatorMatrix((x) => F.linear(x, a, b), [1, 4]);
  assert.deepEqual(matrix.shape, [3, 4]);
  assert.ok(matrix.sub(a).abs().max().item() < 1e-15);
  const batched = operatorMatrix((x) => F.linear(x, a, b), [1, 4], { batch: 3 });
  assert.ok(batched.sub(a).abs().max().item() < 1e-15);
  // Column j is the image of the j-th basis vector in row-major order.
  const w = randomTensor([2, 2, 3, 3], 602);
  const conv = (x: Tensor): Tensor => F.conv2d(x, w, { padding: 1 });
  const m = operatorMatrix(conv, [1, 2, 4, 4], { batch: 7 });
  const x = randomTensor([1, 2, 4, 4], 603);
  const direct = conv(x).reshape([-1]);
  assert.ok(m.matmul(x.reshape([-1])).sub(direct).abs().max().item() < 1e-12);
  const s = denseSingularValues(conv, [1, 2, 4, 4]);
  assertSameSpectrum(s, linalg.svdvals(m), 1e-12, 'denseSingularValues');
  // float32 forward functions, and bad arguments.
  const w32 = w.float();
  const m32 = operatorMatrix((v) => F.conv2d(v, w32, { padding: 1 }), [1, 2, 4, 4], { dtype: 'float32', batch: 32 });
  assert.equal(m32.dtype, 'float64');
  assert.ok(m32.sub(m).abs().max().item() < 1e-5);
  assert.throws(() => operatorMatrix(conv, [2, 2, 4, 4], { batch: 4 }), /leading batch dimension of 1/);
  assert.throws(() => operatorMatrix(conv, [1, 0, 4]), /inputShape/);
  assert.throws(() => operatorMatrix(() => 3 as unknown as Tensor, [1, 2]), /not a Tensor/);
  assert.throws(() => operatorMatrix((v) => v.sum(0, { keepdim: true }), [1, 4], { batch: 2 }), /treat the leading dimension as a batch/);
}));

test('bad input gets clear errors', () => scope(() => {
  const w = randomTensor([4, 2, 3, 3], 700);
  assert.throws(() => convSingularValues(randomTensor([4, 2, 3], 1), [6, 6]), /kernel must be 4-d .*\[4, 2, 3\]/);
  assert.throws(() => convSpectralNormBound(randomTensor([4, 2, 3, 3, 1], 1), [6, 6]), /kernel must be 4-d/);
  assert.throws(() => convSingularValues('kernel' as unknown as Tensor, [6, 6]), TypeError);
  assert.throws(() => convSingularValues(w, [6, 6], { groups: 3 }), /groups \(3\) must divide the number of output channels.*4/);
  assert.throws(() => convSingularValues(w, [6, 6], { groups: 3, transposed: true }), /input channels/);
  assert.throws(() => convSpectralNormBound(w, [6, 6], { groups: 0 }), /groups must be a positive integer/);
  assert.throws(() => convSingularValues(w, [2, 6]), /3x3 kernel is larger than the 2x6 input/);
  assert.throws(() => convSpectralNormBound(w, [6, 2]), /larger than/);
  assert.throws(() => convSingularValues(w, [4, 4], { dilation: 2 }), /dilated to 5x5/);
  assert.throws(() => convSingularValues(w, [7, 7], { stride: 2 }), /not divisible by the stride/);
  assert.throws(() => convSingularValues(w, [6, 6], { stride: 0 }), /stride must be a positive integer/);
  assert.throws(() => convSingularValues(w, [6] as unknown as [number, number]), /inputSize must be \[height, width\]/);
  assert.throws(() => convSingularValues(w, [6, 6.5]), /inputSize/);
  assert.throws(() => convSpectralNormBound(w, [6, 6], { iterations: 0 }), /iterations must be a positive integer/);
  assert.throws(() => convSpectralNormBound(w, [6, 6], { iterations: 30 }), /GiB.*use fewer iterations/);
  assert.throws(() => convSingularValues(torch.zeros([2, 2, 3, 3], { dtype: 'complex64' }), [6, 6]), /real numbers/);
  assert.throws(() => convSpectralNormBound(torch.full([2, 2, 3, 3], NaN, f64), [6, 6]), /NaN or infinite/);
}));

test('no tensors are left behind', () => {
  const w = randomTensor([3, 2, 3, 3], 800);
  const before = torch.memoryStats().liveTensors;
  const r = convSingularValues(w, [6, 6], { stride: 2 });
  convSpectralNormBound(w, [6, 6], { iterations: 3 });
  operatorMatrix((x) => F.conv2d(x, w), [1, 2, 4, 4], { batch: 8 }).dispose();
  denseSingularValues((x) => F.conv2d(x, w), [1, 2, 4, 4]).dispose();
  assert.throws(() => convSingularValues(w, [7, 7], { stride: 2 }));
  assert.equal(torch.memoryStats().liveTensors, before + 1); // r.values, owned by the caller
  r.values.dispose();
  assert.equal(torch.memoryStats().liveTensors, before);
  w.dispose();
});

test('getConvSv picks the method from the padding mode, defaults the input size, gives per-group values', () => scope(() => {
  torch.manualSeed(9);
  // Circular, grouped, strided: exact values, equal to the dense operator group by group.
  const conv = new nn.Conv2d(4, 6, 3, { groups: 2, stride: 2, padding: 1, paddingMode: 'circular', dtype: 'float64' });
  const sv = getConvSv(conv, { inputSize: 6 });
  assert.equal(sv.method, 'exact');
  assert.deepEqual(sv.inputSize, [6, 6]);
  assert.equal(sv.perGroup.length, 2);
  const w = conv.weight.detach();
  const groupSpectra = [0, 1].map((g) => denseSingularValues(circularConv(w.narrow(0, 3 * g, 3), { stride: 2 }), [1, 2, 6, 6], { batch: 72 }).toFlatArray() as number[]);
  groupSpectra.forEach((values, g) => {
    const part = sv.perGroup[g];
    assert.ok(Math.abs(part.max - values[0]) < 1e-9 && Math.abs(part.min! - values[values.length - 1]) < 1e-9, `group ${g}: [${part.min}, ${part.max}] vs dense`);
    const sr = values.reduce((s, v) => s + v * v, 0) / values[0] ** 2;
    assert.ok(Math.abs(part.stableRank! - sr) < 1e-9, `group ${g}: stable rank ${part.stableRank} vs ${sr}`);
    assert.ok(Math.abs(part.normalizedStableRank - sr / values.length) < 1e-9, `group ${g}: normalized stable rank`);
  });
  const all = groupSpectra.flat().sort((a, b) => b - a);
  assert.ok(Math.abs(sv.max - all[0]) < 1e-9 && Math.abs(sv.min! - all[all.length - 1]) < 1e-9, 'whole layer: max of maxima, min of minima');
  assert.ok(Math.abs(sv.stableRank! - all.reduce((s, v) => s + v * v, 0) / all[0] ** 2) < 1e-9, 'whole layer: classic stable rank');
  assert.ok(Math.abs(sv.normalizedStableRank - sv.stableRank! / all.length) < 1e-12, 'whole layer: fraction of full rank');
  assert.ok(sv.stableRank! > 1.5 && sv.normalizedStableRank < 1, 'the two definitions differ on a random kernel');
  // Default input size: the kernel size rounded up to the stride (3 → 4 here), as convSingularValues on that grid.
  const byDefault = getConvSv(conv);
  assert.deepEqual(byDefault.inputSize, [4, 4]);
  const onFour = convSingularValues(w, [4, 4], { groups: 2, stride: 2 });
  assert.ok(Math.abs(byDefault.max - onFour.max) < 1e-12 && Math.abs(byDefault.stableRank! - onFour.stableRank) < 1e-12);
  onFour.values.dispose();
  // For a circular convolution the per-position formula (Orthogonium's) is the same number.
  const frob = (w.narrow(0, 0, 3).square().sum().item());
  assert.ok(Math.abs(sv.perGroup[0].normalizedStableRank - frob / (sv.perGroup[0].max ** 2 * Math.min(3, 2 * 4))) < 1e-9);

  // Zero padding (a plain Conv2d's default): an upper bound of each group's dense zero-padded norm.
  const zconv = new nn.Conv2d(4, 4, 3, { groups: 2, padding: 1, dtype: 'float64' });
  const zsv = getConvSv(zconv, { iterations: 5 });
  assert.equal(zsv.method, 'bound');
  assert.equal(zsv.min, null);
  assert.equal(zsv.stableRank, null);
  const zw = zconv.weight.detach();
  [0, 1].forEach((g) => {
    const dense = denseSingularValues((x) => F.conv2d(x, zw.narrow(0, 2 * g, 2), { padding: 1 }), [1, 2, 8, 8], { batch: 64 }).toFlatArray()[0];
    const bound = zsv.perGroup[g].max;
    assert.ok(bound >= dense - 1e-12 && bound <= dense * 1.15, `zeros group ${g}: bound ${bound} vs dense ${dense}`);
  });
  assert.equal(zsv.max, Math.max(zsv.perGroup[0].max, zsv.perGroup[1].max));
  // The padding mode can be overridden; transposed layers are recognized by their outputPadding.
  assert.equal(getConvSv(zconv, { paddingMode: 'circular' }).method, 'exact');
  const tconv = new nn.ConvTranspose2d(4, 3, 2, { stride: 2, dtype: 'float64' });
  const tsv = getConvSv(tconv, { paddingMode: 'circular', inputSize: 3 });
  const folded = denseSingularValues(circularConvTranspose(tconv.weight, [3, 3], { stride: 2 }), [1, 4, 3, 3], { batch: 64 }).toFlatArray() as number[];
  assert.ok(Math.abs(tsv.max - folded[0]) < 1e-9 && Math.abs(tsv.min! - folded[folded.length - 1]) < 1e-9, 'transposed, read from the layer');
}));

test('getConvSv on orthogonal layers: everything 1; from the package entry; bad options named', () => scope(() => {
  torch.manualSeed(10);
  const layer = ortho.AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, groups: 2, orthoParams: 'test' });
  const sv = ortho.getConvSv(layer, { inputSize: [8, 8] });
  assert.equal(sv.method, 'exact');
  for (const part of [sv, ...sv.perGroup]) {
    assert.ok(Math.abs(part.max - 1) < 1e-4 && Math.abs(part.min! - 1) < 1e-4 && Math.abs(part.normalizedStableRank - 1) < 1e-4, JSON.stringify(part));
  }
  const zeros = ortho.AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, paddingMode: 'zeros', orthoParams: 'test' });
  const bound = ortho.getConvSv(zeros);
  assert.equal(bound.method, 'bound');
  assert.ok(bound.max >= 1 - 1e-4 && bound.max < 1.05, `zero-padded orthogonal layer: bound ${bound.max}`);
  assert.throws(() => ortho.getConvSv({ weight: torch.randn([2, 2, 3, 3]), paddingMode: 'reflect' }), /padding mode 'reflect' is not supported/);
  assert.throws(() => ortho.getConvSv(layer, { inputSize: 0 }), /inputSize must be a positive integer/);
  assert.throws(() => ortho.getConvSv(layer, { inputSize: [7, 7] }), /not divisible by the stride/);
  assert.throws(() => ortho.getConvSv({} as never), /weight/);
}));
