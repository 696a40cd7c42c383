// nn.functional against naive JS implementations on small inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertClose, assertTensor, randomTensor } from './helpers/gradcheck.js';

const { scope, F } = torch;
type Tensor = torch.Tensor;
type Arr4 = number[][][][];
const f64 = { dtype: 'float64' as const };
const tight = { atol: 1e-12, rtol: 1e-12 };

interface ConvSpec {
  stride?: [number, number];
  pad?: [number, number, number, number]; // top, bottom, left, right
  dilation?: [number, number];
  groups?: number;
  bias?: number[];
}

/** Direct convolution (cross-correlation, as in PyTorch) with zero padding. */
function convJs(x: Arr4, w: Arr4, spec: ConvSpec = {}): Arr4 {
  const [sh, sw] = spec.stride ?? [1, 1];
  const [pt, pb, pl, pr] = spec.pad ?? [0, 0, 0, 0];
  const [dh, dw] = spec.dilation ?? [1, 1];
  const groups = spec.groups ?? 1;
  const N = x.length;
  const Cin = x[0].length;
  const H = x[0][0].length;
  const W = x[0][0][0].length;
  const Cout = w.length;
  const cpg = w[0].length; // input channels per group
  const kh = w[0][0].length;
  const kw = w[0][0][0].length;
  assert.equal(cpg * groups, Cin);
  const Ho = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const opg = Cout / groups;
  const out: Arr4 = [];
  for (let n = 0; n < N; n++) {
    out.push([]);
    for (let o = 0; o < Cout; o++) {
      const g = Math.floor(o / opg);
      const plane: number[][] = [];
      for (let i = 0; i < Ho; i++) {
        const row: number[] = [];
        for (let j = 0; j < Wo; j++) {
          let acc = spec.bias ? spec.bias[o] : 0;
          for (let c = 0; c < cpg; c++) {
            for (let a = 0; a < kh; a++) {
              for (let b = 0; b < kw; b++) {
                const y = i * sh - pt + a * dh;
                const z = j * sw - pl + b * dw;
                if (y >= 0 && y < H && z >= 0 && z < W) acc += x[n][g * cpg + c][y][z] * w[o][c][a][b];
              }
            }
          }
          row.push(acc);
        }
        plane.push(row);
      }
      out[n].push(plane);
    }
  }
  return out;
}

const flat4 = (a: Arr4): number[] => a.flat(3);

test('conv2d matches a naive convolution: stride, padding (int, pair), dilation, groups, bias', () => scope(() => {
  const cases: { name: string; x: number[]; w: number[]; opts: torch.F.Conv2dOptions; spec: ConvSpec }[] = [
    { name: 'plain 3x3', x: [2, 3, 6, 5], w: [4, 3, 3, 3], opts: {}, spec: {} },
    { name: 'stride 2, padding 1', x: [1, 2, 7, 6], w: [3, 2, 3, 3], opts: { stride: 2, padding: 1 }, spec: { stride: [2, 2], pad: [1, 1, 1, 1] } },
    { name: 'pair stride/padding', x: [1, 2, 6, 7], w: [2, 2, 2, 3], opts: { stride: [1, 2], padding: [2, 0] }, spec: { stride: [1, 2], pad: [2, 2, 0, 0] } },
    { name: 'dilation 2', x: [1, 1, 7, 7], w: [2, 1, 3, 3], opts: { dilation: 2, padding: 1 }, spec: { dilation: [2, 2], pad: [1, 1, 1, 1] } },
    { name: 'pair dilation', x: [1, 2, 8, 6], w: [2, 2, 2, 2], opts: { dilation: [3, 1] }, spec: { dilation: [3, 1] } },
    { name: 'groups 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], opts: { groups: 2, padding: 1 }, spec: { groups: 2, pad: [1, 1, 1, 1] } },
    { name: 'depthwise', x: [1, 3, 5, 4], w: [3, 1, 3, 2], opts: { groups: 3 }, spec: { groups: 3 } },
    { name: 'all at once', x: [1, 4, 9, 8], w: [4, 2, 3, 3], opts: { groups: 2, stride: 2, padding: [1, 2], dilation: [1, 2] },
      spec: { groups: 2, stride: [2, 2], pad: [1, 1, 2, 2], dilation: [1, 2] } },
  ];
  cases.forEach((c, k) => {
    const x = randomTensor(c.x, 100 + k);
    const w = randomTensor(c.w, 200 + k);
    const expected = convJs(x.toArray() as Arr4, w.toArray() as Arr4, c.spec);
    const got = F.conv2d(x, w, c.opts);
    assert.deepEqual(got.shape, [expected.length, expected[0].length, expected[0][0].length, expected[0][0][0].length], c.name);
    assertClose(got.toFlatArray(), flat4(expected), tight, c.name);
  });
  // With bias.
  const x = randomTensor([1, 2, 4, 4], 300);
  const w = randomTensor([3, 2, 3, 3], 301);
  const bias = [0.5, -1, 2];
  const got = F.conv2d(x, w, { bias: torch.tensor(bias, f64), padding: 1 });
  assertClose(got.toFlatArray(), flat4(convJs(x.toArray() as Arr4, w.toArray() as Arr4, { bias, pad: [1, 1, 1, 1] })), tight, 'bias');
  // float32 agrees with float64 to float32 precision.
  const got32 = F.conv2d(x.float(), w.float(), { padding: 1 });
  assertClose(got32.toFlatArray(), flat4(convJs(x.toArray() as Arr4, w.toArray() as Arr4, { pad: [1, 1, 1, 1] })), { atol: 1e-5, rtol: 1e-5 });
}));

test("conv2d padding 'same' (odd, even and dilated kernels) and 'valid'", () => scope(() => {
  const x = randomTensor([1, 2, 6, 7], 400);
  const xv = x.toArray() as Arr4;
  for (const [kh, kw, dh, dw] of [[3, 3, 1, 1], [4, 2, 1, 1], [3, 2, 2, 3], [1, 4, 1, 1]]) {
    const w = randomTensor([3, 2, kh, kw], 401 + kh * 10 + kw);
    const got = F.conv2d(x, w, { padding: 'same', dilation: [dh, dw] });
    assert.deepEqual(got.shape, [1, 3, 6, 7], `same keeps the size for ${kh}x${kw}`);
    // PyTorch puts the extra padding of an even total on the bottom/right.
    const th = dh * (kh - 1);
    const tw = dw * (kw - 1);
    const pad: [number, number, number, number] = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
    const expected = convJs(xv, w.toArray() as Arr4, { pad, dilation: [dh, dw] });
    assertClose(got.toFlatArray(), flat4(expected), tight, `same ${kh}x${kw} dilation ${dh},${dw}`);
  }
  const w = randomTensor([2, 2, 3, 3], 450);
  const valid = F.conv2d(x, w, { padding: 'valid' });
  assert.deepEqual(valid.shape, [1, 2, 4, 5]);
  assertClose(valid.toFlatArray(), flat4(convJs(xv, w.toArray() as Arr4)), tight, 'valid');
  assert.throws(() => F.conv2d(x, w, { padding: 'full' as 'same' }), /padding must be/);
  assert.throws(() => F.conv2d(x, w, { padding: 'same', stride: 2 }), /same/);
}));

test('convTranspose2d is the adjoint of conv2d: <conv(x), y> = <convT(y), x>', () => scope(() => {
  const configs = [
    { cin: 2, cout: 3, k: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, H: 5, W: 6 },
    { cin: 2, cout: 4, k: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1, H: 7, W: 8 },
    { cin: 4, cout: 2, k: [2, 3], stride: [2, 3], padding: [0, 1], dilation: [1, 1], groups: 2, H: 6, W: 9 },
    { cin: 3, cout: 3, k: [3, 2], stride: [1, 2], padding: [2, 1], dilation: [2, 1], groups: 3, H: 6, W: 7 },
    { cin: 2, cout: 2, k: [3, 3], stride: [3, 2], padding: [1, 0], dilation: [2, 2], groups: 1, H: 10, W: 9 },
  ];
  configs.forEach((c, k) => {
    const x = randomTensor([2, c.cin, c.H, c.W], 500 + k);
    const w = randomTensor([c.cout, c.cin / c.groups, c.k[0], c.k[1]], 600 + k);
    const convOpts = { stride: c.stride as [number, number], padding: c.padding as [number, number], dilation: c.dilation as [number, number], groups: c.groups };
    const cx = F.conv2d(x, w, convOpts);
    const [Ho, Wo] = cx.shape.slice(2);
    // output_padding recovers the input size lost to the stride's floor.
    const op = [0, 1].map((d) => {
      const size = d === 0 ? c.H : c.W;
      return (size + 2 * c.padding[d] - c.dilation[d] * (c.k[d] - 1) - 1) % c.stride[d];
    }) as [number, number];
    const y = randomTensor([2, c.cout, Ho, Wo], 700 + k);
    const ty = F.convTranspose2d(y, w, { ...convOpts, outputPadding: op });
    assert.deepEqual(ty.shape, x.shape, `config ${k}: convT output shape`);
    const lhs = cx.mul(y).sum().item();
    const rhs = ty.mul(x).sum().item();
    assertClose([lhs], [rhs], { atol: 1e-12, rtol: 1e-12 }, `config ${k}: adjoint identity`);
    assert.ok(Math.abs(lhs) > 1e-3, 'a non-trivial inner product');
  });
  // The transposed convolution of a single pixel paints the kernel at stride offsets (with bias).
  const y = torch.zeros([1, 1, 2, 2], f64);
  y.select(2, 1).select(2, 1).fill_(1);
  const w = torch.tensor([[[[1, 2], [3, 4]]]], f64);
  const out = F.convTranspose2d(y, w, { stride: 2, bias: torch.tensor([0.5], f64) });
  assertTensor(out, [1, 1, 4, 4], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.5, 2.5, 0.5, 0.5, 3.5, 4.5]);
}));

test('linear: x Wᵀ + b, with and without bias, batched', () => scope(() => {
  const x = randomTensor([2, 3, 4], 800);
  const w = randomTensor([5, 4], 801);
  const b = randomTensor([5], 802);
  const xv = x.toArray() as number[][][];
  const wv = w.toArray() as number[][];
  const bv = b.toFlatArray();
  const expected = xv.flatMap((m) => m.flatMap((row) => wv.map((wr, o) => wr.reduce((s, v, k) => s + v * row[k], bv[o]))));
  assertTensor(F.linear(x, w, b), [2, 3, 5], expected, tight);
  const noBias = xv.flatMap((m) => m.flatMap((row) => wv.map((wr) => wr.reduce((s, v, k) => s + v * row[k], 0))));
  assertTensor(F.linear(x, w), [2, 3, 5], noBias, tight);
}));

test('avgPool2d, maxPool2d, adaptiveAvgPool2d', () => scope(() => {
  const x = randomTensor([1, 2, 5, 6], 900);
  const xv = x.toArray() as Arr4;
  const pool = (k: [number, number], s: [number, number], p: [number, number], reduce: (vals: number[], count: number) => number,
    includePad: boolean): Arr4 => xv.map((n) => n.map((plane) => {
    const H = plane.length;
    const W = plane[0].length;
    const Ho = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
    const Wo = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
    const out: number[][] = [];
    for (let i = 0; i < Ho; i++) {
      out.push([]);
      for (let j = 0; j < Wo; j++) {
        const vals: number[] = [];
        let count = 0;
        for (let a = 0; a < k[0]; a++) {
          for (let b = 0; b < k[1]; b++) {
            const y = i * s[0] - p[0] + a;
            const z = j * s[1] - p[1] + b;
            const inside = y >= 0 && y < H && z >= 0 && z < W;
            if (inside) vals.push(plane[y][z]);
            if (inside || includePad) count++;
          }
        }
        out[i].push(reduce(vals, count));
      }
    }
    return out;
  }));
  const mean = (v: number[], count: number) => v.reduce((a, b) => a + b, 0) / count;
  const max = (v: number[]) => Math.max(...v);
  assertClose(F.avgPool2d(x, 2).toFlatArray(), flat4(pool([2, 2], [2, 2], [0, 0], mean, true)), tight, 'avg 2x2');
  assertClose(F.avgPool2d(x, 3, { stride: 1, padding: 1 }).toFlatArray(), flat4(pool([3, 3], [1, 1], [1, 1], mean, true)), tight, 'avg pad, count pad');
  assertClose(F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }).toFlatArray(),
    flat4(pool([3, 3], [2, 2], [1, 1], mean, false)), tight, 'avg without counting padding');
  assertClose(F.avgPool2d(x, [2, 3], { divisorOverride: 2 }).toFlatArray(),
    flat4(pool([2, 3], [2, 3], [0, 0], (v) => v.reduce((a, b) => a + b, 0) / 2, true)), tight, 'divisor override');
  assertClose(F.maxPool2d(x, 2).toFlatArray(), flat4(pool([2, 2], [2, 2], [0, 0], max, true)), tight, 'max 2x2');
  assertClose(F.maxPool2d(x, 3, { stride: [1, 2], padding: 1 }).toFlatArray(), flat4(pool([3, 3], [1, 2], [1, 1], max, true)), tight, 'max padded');
  assert.deepEqual(F.maxPool2d(x, 2, { ceilMode: true }).shape, [1, 2, 3, 3]);
  // Adaptive: bins [floor(i*in/out), ceil((i+1)*in/out)).
  const adaptive = (oh: number, ow: number): Arr4 => xv.map((n) => n.map((plane) => {
    const H = plane.length;
    const W = plane[0].length;
    return Array.from({ length: oh }, (_, i) => Array.from({ length: ow }, (_, j) => {
      const [h0, h1] = [Math.floor((i * H) / oh), Math.ceil(((i + 1) * H) / oh)];
      const [w0, w1] = [Math.floor((j * W) / ow), Math.ceil(((j + 1) * W) / ow)];
      let s = 0;
      for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) s += plane[a][b];
      return s / ((h1 - h0) * (w1 - w0));
    }));
  }));
  assertClose(F.adaptiveAvgPool2d(x, [3, 4]).toFlatArray(), flat4(adaptive(3, 4)), tight, 'adaptive 3x4 (overlapping bins)');
  assertClose(F.adaptiveAvgPool2d(x, 1).toFlatArray(), flat4(adaptive(1, 1)), tight, 'global average');
}));

test('interpolate: nearest and bilinear (align corners or not)', () => scope(() => {
  const x = torch.tensor([[[[1, 2, 3], [4, 5, 6]]]], f64);
  assert.deepEqual(F.interpolate(x, { scaleFactor: 2 }).toArray(),
    [[[[1, 1, 2, 2, 3, 3], [1, 1, 2, 2, 3, 3], [4, 4, 5, 5, 6, 6], [4, 4, 5, 5, 6, 6]]]]);
  // Nearest with an arbitrary size: source index floor(dst * in / out).
  const near = F.interpolate(x, { size: [3, 5] });
  const xv = [[1, 2, 3], [4, 5, 6]];
  const expNear = Array.from({ length: 3 }, (_, i) => Array.from({ length: 5 }, (_, j) => xv[Math.floor((i * 2) / 3)][Math.floor((j * 3) / 5)]));
  assert.deepEqual(near.toArray(), [[expNear]]);
  const bilinear = (out: [number, number], align: boolean): number[][] => {
    const [H, W] = [2, 3];
    const src = (d: number, n: number, o: number) => (align ? (o > 1 ? (d * (n - 1)) / (o - 1) : 0) : Math.max((d + 0.5) * (n / o) - 0.5, 0));
    return Array.from({ length: out[0] }, (_, i) => Array.from({ length: out[1] }, (_, j) => {
      const sy = src(i, H, out[0]);
      const sx = src(j, W, out[1]);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, H - 1);
      const x1 = Math.min(x0 + 1, W - 1);
      const ly = sy - y0;
      const lx = sx - x0;
      return (1 - ly) * ((1 - lx) * xv[y0][x0] + lx * xv[y0][x1]) + ly * ((1 - lx) * xv[y1][x0] + lx * xv[y1][x1]);
    }));
  };
  assertClose(F.interpolate(x, { size: [4, 5], mode: 'bilinear' }).toFlatArray(), bilinear([4, 5], false).flat(), tight, 'bilinear');
  assertClose(F.interpolate(x, { size: [3, 7], mode: 'bilinear', alignCorners: true }).toFlatArray(), bilinear([3, 7], true).flat(), tight,
    'bilinear, align corners');
  assert.throws(() => F.interpolate(x, {}), /exactly one of size and scaleFactor/);
  assert.throws(() => F.interpolate(x, { size: 2, mode: 'lanczos' as 'nearest' }),
    /mode must be one of 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area', got 'lanczos'/);
}));

test('oneHot, relu, sigmoid, cosineSimilarity, normalize, mseLoss, nllLoss', () => scope(() => {
  const oh = F.oneHot(torch.tensor([2, 0, 1], { dtype: 'int64' }));
  assert.equal(oh.dtype, 'int64');
  assert.deepEqual(oh.toArray(), [[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
  assert.deepEqual(F.oneHot(torch.tensor([1], { dtype: 'int64' }), 4).toArray(), [[0, 1, 0, 0]]);
  assert.deepEqual(F.relu(torch.tensor([-1, 0, 2])).toArray(), [0, 0, 2]);
  assertClose(F.sigmoid(torch.tensor([0, 2], f64)).toFlatArray(), [0.5, 1 / (1 + Math.exp(-2))], tight);

  const a = [[1, 2, 3], [-1, 0, 2]];
  const b = [[2, 0, 1], [3, 1, -1]];
  const dot = (u: number[], v: number[]) => u.reduce((s, x, i) => s + x * v[i], 0);
  const cos = a.map((u, i) => dot(u, b[i]) / (Math.hypot(...u) * Math.hypot(...b[i])));
  assertClose(F.cosineSimilarity(torch.tensor(a, f64), torch.tensor(b, f64)).toFlatArray(), cos, tight);
  const cos0 = [0, 1, 2].map((j) => dot([a[0][j], a[1][j]], [b[0][j], b[1][j]]) / (Math.hypot(a[0][j], a[1][j]) * Math.hypot(b[0][j], b[1][j])));
  assertClose(F.cosineSimilarity(torch.tensor(a, f64), torch.tensor(b, f64), 0).toFlatArray(), cos0, tight);

  assertClose(F.normalize(torch.tensor(a, f64)).toFlatArray(), a.flatMap((u) => u.map((v) => v / Math.hypot(...u))), tight);
  assertClose(F.normalize(torch.tensor(a, f64), 1, 0).toFlatArray(),
    a.flatMap((u) => u.map((v, j) => v / (Math.abs(a[0][j]) + Math.abs(a[1][j])))), tight);
  assertClose(F.normalize(torch.zeros([1, 3], f64)).toFlatArray(), [0, 0, 0], tight, 'zero vector stays zero (eps)');

  const mse = a.flat().reduce((s, v, i) => s + (v - b.flat()[i]) ** 2, 0);
  assertClose([F.mseLoss(torch.tensor(a, f64), torch.tensor(b, f64)).item()], [mse / 6], tight);
  assertClose([F.mseLoss(torch.tensor(a, f64), torch.tensor(b, f64), 'sum').item()], [mse], tight);
  const lp = torch.tensor(a, f64).logSoftmax(1);
  const lpv = lp.toArray() as number[][];
  const target = torch.tensor([2, 0], { dtype: 'int64' });
  assertClose([F.nllLoss(lp, target).item()], [-(lpv[0][2] + lpv[1][0]) / 2], tight);
}));

/** Cross-entropy reference: log-softmax, label smoothing, class weights, ignore_index, reductions. */
function crossEntropyJs(logits: number[][], target: number[], opts: { smoothing?: number; weight?: number[]; ignore?: number;
  reduction?: 'none' | 'mean' | 'sum' } = {}): number | number[] {
  const eps = opts.smoothing ?? 0;
  const C = logits[0].length;
  const wt = opts.weight ?? new Array(C).fill(1);
  const losses: number[] = [];
  let denom = 0;
  logits.forEach((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    const y = target[i];
    if (y === opts.ignore) {
      losses.push(0);
      return;
    }
    const nll = -wt[y] * logp[y];
    const smooth = -logp.reduce((s, v, c) => s + wt[c] * v, 0) / C;
    losses.push((1 - eps) * nll + eps * smooth);
    denom += wt[y];
  });
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return losses;
  const sum = losses.reduce((a, b) => a + b, 0);
  return reduction === 'sum' ? sum : sum / denom;
}

test('crossEntropy: reductions, label smoothing, weights, ignoreIndex, probability targets', () => scope(() => {
  const logits = [[2, -1, 0.5, 0], [0.1, 0.2, 3, -2], [-1, 4, 0, 1], [1, 1, 1, 1], [0, -3, 2, 5]];
  const target = [0, 2, 1, 3, 3];
  const L = torch.tensor(logits, f64);
  const y = torch.tensor(target, { dtype: 'int64' });
  const tol = { atol: 1e-12, rtol: 1e-12 };
  assertClose([F.crossEntropy(L, y).item()], [crossEntropyJs(logits, target) as number], tol, 'mean');
  assertClose([F.crossEntropy(L, y, { reduction: 'sum' }).item()], [crossEntropyJs(logits, target, { reduction: 'sum' }) as number], tol, 'sum');
  assertTensor(F.crossEntropy(L, y, { reduction: 'none' }), [5], crossEntropyJs(logits, target, { reduction: 'none' }) as number[], tol, 'none');
  for (const smoothing of [0.1, 0.5]) {
    assertClose([F.crossEntropy(L, y, { labelSmoothing: smoothing }).item()], [crossEntropyJs(logits, target, { smoothing }) as number], tol,
      `smoothing ${smoothing}`);
    assertClose(F.crossEntropy(L, y, { labelSmoothing: smoothing, reduction: 'none' }).toFlatArray(),
      crossEntropyJs(logits, target, { smoothing, reduction: 'none' }) as number[], tol);
  }
  const weight = [1, 2, 0.5, 3];
  assertClose([F.crossEntropy(L, y, { weight: torch.tensor(weight, f64) }).item()], [crossEntropyJs(logits, target, { weight }) as number], tol,
    'weighted mean divides by the sum of target weights');
  const withIgnore = [0, -100, 1, 3, -100];
  assertClose([F.crossEntropy(L, torch.tensor(withIgnore, { dtype: 'int64' })).item()],
    [crossEntropyJs(logits, withIgnore, { ignore: -100 }) as number], tol, 'ignored targets do not count');
  assertClose([F.crossEntropy(L, torch.tensor([0, 2, 1, 3, 3], { dtype: 'int64' }), { ignoreIndex: 3 }).item()],
    [crossEntropyJs(logits, target, { ignore: 3 }) as number], tol, 'custom ignoreIndex');
  // Probability targets: -sum p log softmax.
  const probs = logits.map((_, i) => [0.1, 0.2, 0.3, 0.4].map((v, c) => (c === target[i] ? v + 0.5 : v)).map((v, _c, arr) => v / arr.reduce((a, b) => a + b, 0)));
  const soft = logits.map((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    return -row.reduce((s, v, c) => s + probs[i][c] * (v - lse), 0);
  });
  assertClose([F.crossEntropy(L, torch.tensor(probs, f64)).item()], [soft.reduce((a, b) => a + b, 0) / 5], tol, 'probability targets');
  assert.throws(() => F.crossEntropy(L, y, { labelSmoothing: 1.5 }), /labelSmoothing/);
  assert.throws(() => F.crossEntropy(L, y, { reduction: 'avg' as 'mean' }), /reduction must be/);
}));

test('dropout: training zeroes about p and scales survivors by 1/(1-p); eval is the identity', () => scope(() => {
  torch.manualSeed(99);
  const n = 100000;
  const x = torch.full([n], 2, f64);
  for (const p of [0.2, 0.5, 0.8]) {
    const y = F.dropout(x, p, true).toFlatArray();
    const zeros = y.filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / n - p) < 0.01, `p=${p}: zeroed fraction ${zeros / n}`);
    const survivors = y.filter((v) => v !== 0);
    assert.ok(survivors.every((v) => Math.abs(v - 2 / (1 - p)) < 1e-12), `p=${p}: survivors scaled to ${2 / (1 - p)}`);
  }
  const small = torch.tensor([1, 2, 3], f64);
  const ev = F.dropout(small, 0.5, false);
  assert.deepEqual(ev.toArray(), [1, 2, 3]);
  assert.deepEqual(F.dropout(small, 0, true).toArray(), [1, 2, 3]);
  assert.deepEqual(F.dropout(small, 1, true).toArray(), [0, 0, 0]);
  assert.throws(() => F.dropout(small, 1.5), /p must be in \[0, 1\]/);
}));

test('3×3 grouped conv2d with 2 input channels per group on channels-last input (the addon\'s kernel) equals the oneDNN convolution', () => {
  const cases = [
    { n: 3, outPerGroup: 4, groups: 4, h: 5, w: 7 },
    { n: 2, outPerGroup: 8, groups: 2, h: 1, w: 1 },
    { n: 1, outPerGroup: 16, groups: 3, h: 4, w: 2 },
    { n: 2, outPerGroup: 4, groups: 32, h: 16, w: 16 },
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      scope(() => {
        const x = randomTensor([c.n, 2 * c.groups, c.h, c.w], 7).to(dtype);
        const weight = randomTensor([c.outPerGroup * c.groups, 2, 3, 3], 8).to(dtype);
        const bias = randomTensor([c.outPerGroup * c.groups], 9).to(dtype);
        const reference = F.conv2d(x, weight, { bias, padding: 'same', groups: c.groups }); // NCHW input: oneDNN
        for (const padding of ['same', 1] as const) {
          const { value: fast, profile } = torch.profile(() => F.conv2d(x.contiguousChannelsLast(), weight, { bias, padding, groups: c.groups }));
          assert.ok(!profile.ops.some((o) => o.name === 'aten::convolution'), `${JSON.stringify(c)}: the addon's kernel was not used`);
          assert.deepEqual(fast.shape, reference.shape);
          const err = fast.sub(reference).abs().max().item();
          assert.ok(err < (dtype === 'float64' ? 1e-12 : 1e-5), `${dtype} ${JSON.stringify(c)}: max error ${err}`);
        }
      });
    }
  }
  scope(() => {
    // With a gradient wanted, or a layout / shape the kernel does not take, oneDNN runs.
    const usesOneDnn = (fn: () => torch.Tensor) => torch.profile(fn).profile.ops.some((o) => o.name === 'aten::convolution');
    const x = torch.randn([1, 4, 5, 5]).contiguousChannelsLast();
    const w = torch.randn([16, 2, 3, 3]);
    assert.ok(usesOneDnn(() => F.conv2d(x, w.clone().requiresGrad_(true), { padding: 'same', groups: 2 })), 'gradient wanted');
    assert.ok(usesOneDnn(() => F.conv2d(x.contiguous(), w, { padding: 'same', groups: 2 })), 'NCHW input');
    assert.ok(usesOneDnn(() => F.conv2d(x, w, { padding: 1, stride: 2, groups: 2 })), 'stride 2');
    assert.ok(usesOneDnn(() => F.conv2d(x, torch.randn([8, 2, 3, 3]), { padding: 'same', groups: 2 })), '8 output channels');
    assert.ok(!usesOneDnn(() => torch.noGrad(() => F.conv2d(x, w.clone().requiresGrad_(true), { padding: 'same', groups: 2 }))), 'noGrad');
  });
});
