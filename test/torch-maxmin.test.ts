// The fused MaxMin kernel (F.maxMin) against plain JS on every layout it
// walks, its float64 gradients against finite differences, ties, NaN, double
// backward against the composite of split/maximum/minimum/cat, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';

const { F, scope } = torch;
type Tensor = torch.Tensor;

/** [max(a, b), min(a, b)] of the halves of `dim`, computed in JS from the nested array. */
function reference(x: Tensor, dim: number): number[] {
  const shape = x.shape;
  const d = dim < 0 ? dim + shape.length : dim;
  const flat = Array.from(x.contiguous().to('float64').flatten().toArray() as number[]);
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const size = shape[d]!;
  const half = size / 2;
  const out = new Array<number>(flat.length);
  for (let o = 0; o < flat.length / (size * inner); o++) {
    for (let c = 0; c < half; c++) {
      for (let i = 0; i < inner; i++) {
        const ia = (o * size + c) * inner + i;
        const ib = (o * size + c + half) * inner + i;
        out[ia] = Math.max(flat[ia]!, flat[ib]!);
        out[ib] = Math.min(flat[ia]!, flat[ib]!);
      }
    }
  }
  return out;
}

const values = (t: Tensor): number[] => Array.from(t.contiguous().to('float64').flatten().toArray() as number[]);

/** The unfused definition, differentiable twice by autograd. */
const composite = (x: Tensor, dim: number): Tensor => {
  const [a, b] = x.chunk(2, dim);
  return torch.cat([a.maximum(b), a.minimum(b)], dim);
};

test('F.maxMin equals the plain-JS definition for NCHW, channels-last, a last-axis split and a strided view', () => scope(() => {
  const x = randomTensor([3, 6, 4, 5], 1);
  const cases: [string, Tensor, number][] = [
    ['NCHW, channels', x, 1],
    ['channels-last, channels', x.contiguousChannelsLast(), 1],
    ['NCHW, last axis', x.narrow(3, 0, 4), -1],
    ['transposed view, channels', x.transpose(2, 3), 1],
    ['2-d, features', randomTensor([7, 10], 2), 1],
    ['batch axis', x.narrow(0, 0, 2), 0],
  ];
  for (const [name, input, dim] of cases) {
    for (const dtype of ['float64', 'float32', 'bfloat16'] as const) {
      const typed = input.to(dtype);
      const out = F.maxMin(typed, dim);
      assert.equal(out.dtype, dtype, name);
      assert.deepEqual(out.shape, typed.shape, name);
      // max and min select values, so the result is exact in every dtype
      assert.deepEqual(values(out), reference(typed, dim), `${name} (${dtype})`);
    }
  }
  // channels-last in, channels-last out: the next convolution needs no reorder
  const out = F.maxMin(x.contiguousChannelsLast(), 1);
  const [n, c, h, w] = out.shape;
  assert.deepEqual(out.strides, [c! * h! * w!, 1, w! * c!, c!]);
  void n;
}));

test('F.maxMin propagates NaN to both outputs of the pair, as torch.maximum/minimum do', () => scope(() => {
  const x = torch.tensor([[NaN, 1, 2, 0.5], [3, -1, NaN, 4]]);
  const out = values(F.maxMin(x, 1));
  const expected = values(composite(x, 1));
  out.forEach((v, i) => assert.ok(Number.isNaN(v) ? Number.isNaN(expected[i]!) : v === expected[i], `element ${i}: ${v} vs ${expected[i]}`));
  assert.ok(Number.isNaN(out[0]!) && Number.isNaN(out[2]!) && Number.isNaN(out[4]!) && Number.isNaN(out[6]!));
}));

test('F.maxMin gradients match finite differences in float64 (NCHW and channels-last)', () => scope(() => {
  const x = randomTensor([2, 4, 3, 3], 3, -1, 1, true);
  gradcheck((t) => F.maxMin(t, 1), [x]);
  gradcheck((t) => F.maxMin(t.contiguousChannelsLast(), 1), [x]);
  gradcheck((t) => F.maxMin(t, -1), [randomTensor([3, 5, 6], 4, -1, 1, true)]);
}));

test('F.maxMin shares the gradient of tied pairs equally, like the composite', () => scope(() => {
  const x = torch.tensor([[1, 2, 1, -2]], { dtype: 'float64', requiresGrad: true });
  const weights = torch.tensor([[2, 10, 4, 20]], { dtype: 'float64' });
  F.maxMin(x, 1).mul(weights).sum().backward();
  // pair (1, 1) tied: each gets (2 + 4) / 2; pair (2, -2): max 2 takes 10, min -2 takes 20
  assert.deepEqual(x.grad!.toArray(), [[3, 10, 3, 20]]);
  const y = torch.tensor([[1, 2, 1, -2]], { dtype: 'float64', requiresGrad: true });
  composite(y, 1).mul(weights).sum().backward();
  assert.deepEqual(x.grad!.toArray(), y.grad!.toArray());
}));

test('F.maxMin supports double backward (create_graph), agreeing with the composite', () => scope(() => {
  const secondOrder = (fn: (t: Tensor) => Tensor) => scope(() => {
    const x = randomTensor([2, 4, 3, 3], 5, -1, 1, true);
    const [g] = torch.autograd.grad(fn(x).pow(3).sum(), x, { createGraph: true });
    const [gg] = torch.autograd.grad(g!.square().sum(), x);
    return values(gg!);
  });
  const fused = secondOrder((t) => F.maxMin(t, 1));
  const unfused = secondOrder((t) => composite(t, 1));
  fused.forEach((v, i) => assert.ok(Math.abs(v - unfused[i]!) < 1e-12, `element ${i}: ${v} vs ${unfused[i]}`));
}));

test('F.maxMin refuses an odd dimension and a dimension out of range by name', () => scope(() => {
  assert.throws(() => F.maxMin(torch.ones([2, 3]), 1), /maxMin: dimension 1 must have an even size/);
  assert.throws(() => F.maxMin(torch.ones([2, 4]), 2), /maxMin: dimension 2 must have an even size/);
  // integer tensors take the composite path and give the same values
  assert.deepEqual(F.maxMin(torch.tensor([[3, -1, 2, 5]]), 1).toArray(), [[3, 5, 2, -1]]);
}));
