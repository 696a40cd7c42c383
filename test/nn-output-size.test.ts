// Two PyTorch 1.13 behaviours checked against PyTorch itself (python3-torch)
// in float64: ConvTranspose1d/2d/3d forward(x, outputSize) (PyTorch's
// output_size: outputs, input, weight and bias gradients; unreachable sizes
// and wrong lengths refused by both), and the adaptive pools' null output
// sizes (PyTorch's None: modules and functional forms, argmax indices,
// input gradients; where PyTorch refuses None, both refuse).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, nn } from '../src/index.js';
import { randomTensor } from './helpers/gradcheck.js';
import { assertMatchesTorch, describe, hasTorch, runTorch, skipWithoutTorch } from './helpers/pytorch.js';
import type { Described } from './helpers/pytorch.js';

type Tensor = torch.Tensor;
const { F } = torch;
const f64 = { dtype: 'float64' as const };

let seed = 4100;
const rnd = (shape: number[], lo = -1, hi = 1): Tensor => torch.keep(randomTensor(shape, seed++, lo, hi));

// ---- ConvTranspose forward(x, outputSize) -------------------------------------------

type ConvT = nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d;
interface ConvTCase { ours: ConvT; python: string; x: Tensor; outputSize: number[]; proj: Tensor }
const convTCases: Record<string, ConvTCase> = {};

/** A case whose output shape is the input's lead dims (channels → outChannels) and the spatial part of outputSize. */
function addConvT(name: string, ours: ConvT, python: string, xShape: number[], outputSize: number[]): void {
  const dims = ours.kernelSize.length;
  const lead = xShape.length - dims;
  const outShape = [...xShape.slice(0, lead - 1), ours.outChannels, ...outputSize.slice(outputSize.length - dims)];
  convTCases[name] = { ours, python, x: rnd(xShape, -2, 2), outputSize, proj: rnd(outShape) };
}

// Every reachable length of a stride-3 layer: min, min + 1, min + 2 (min = (5 - 1)·3 - 2 + 2·2 + 1 = 15).
for (const size of [15, 16, 17]) {
  addConvT(`ConvTranspose1d_length_${size}`, new nn.ConvTranspose1d(4, 6, 3, { stride: 3, padding: 1, dilation: 2, groups: 2, ...f64 }),
    'nn.ConvTranspose1d(4, 6, 3, stride=3, padding=1, dilation=2, groups=2)', [2, 4, 5], [size]);
}
addConvT('ConvTranspose1d_unbatched_full_shape', new nn.ConvTranspose1d(3, 2, 4, { stride: 2, bias: false, ...f64 }),
  'nn.ConvTranspose1d(3, 2, 4, stride=2, bias=False)', [3, 6], [2, 15]);
addConvT('ConvTranspose2d_spatial', new nn.ConvTranspose2d(2, 3, 3, { stride: [2, 3], padding: [1, 0], dilation: [1, 2], ...f64 }),
  'nn.ConvTranspose2d(2, 3, 3, stride=(2, 3), padding=(1, 0), dilation=(1, 2))', [2, 2, 4, 3], [8, 13]);
// The layer's own outputPadding is replaced by the one outputSize needs.
addConvT('ConvTranspose2d_overrides_outputPadding', new nn.ConvTranspose2d(4, 2, 2, { stride: 2, outputPadding: [1, 0], groups: 2, ...f64 }),
  'nn.ConvTranspose2d(4, 2, 2, stride=2, output_padding=(1, 0), groups=2)', [1, 4, 3, 3], [6, 7]);
// Batch and channel entries are ignored, as PyTorch ignores them (a skip connection's shape passed as is).
addConvT('ConvTranspose2d_full_shape_other_channels', new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, ...f64 }),
  'nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)', [2, 3, 3, 4], [2, 16, 6, 8]);
addConvT('ConvTranspose3d_spatial', new nn.ConvTranspose3d(2, 3, [2, 3, 3], { stride: [2, 1, 3], padding: [0, 1, 1], ...f64 }),
  'nn.ConvTranspose3d(2, 3, (2, 3, 3), stride=(2, 1, 3), padding=(0, 1, 1))', [1, 2, 3, 3, 2], [7, 3, 6]);
addConvT('ConvTranspose3d_unbatched_full_shape', new nn.ConvTranspose3d(2, 2, 2, { stride: 2, ...f64 }),
  'nn.ConvTranspose3d(2, 2, 2, stride=2)', [2, 2, 3, 2], [2, 5, 6, 4]);

/** Requests that both PyTorch and we refuse: [layer, python, input shape, outputSize, our message]. */
const convTErrors: Record<string, [ConvT, string, number[], number[], RegExp]> = {
  above_range: [new nn.ConvTranspose2d(3, 4, 3, { stride: 2, padding: 1 }), 'nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)', [2, 3, 5, 6], [9, 13],
    /^RangeError: ConvTranspose2d: outputSize 13 in dim 3 is unreachable from input size 6 there: the output size can be 11 to 12/],
  below_range: [new nn.ConvTranspose3d(2, 2, 2, { stride: 3 }), 'nn.ConvTranspose3d(2, 2, 2, stride=3)', [2, 2, 2, 2], [3, 4, 4],
    /^RangeError: ConvTranspose3d: outputSize 3 in dim 1 is unreachable from input size 2 there: the output size can be 5 to 7 \(stride 3, padding 0, dilation 1, kernel size 2\)/],
  stride_one: [new nn.ConvTranspose1d(2, 2, 3), 'nn.ConvTranspose1d(2, 2, 3)', [1, 2, 5], [8],
    /^RangeError: ConvTranspose1d: outputSize 8 in dim 2 is unreachable from input size 5 there: the output size can be only 7 /],
  too_short: [new nn.ConvTranspose2d(2, 2, 2, { stride: 2 }), 'nn.ConvTranspose2d(2, 2, 2, stride=2)', [1, 2, 3, 3], [6],
    /^RangeError: ConvTranspose2d: outputSize must be 2 spatial sizes or 4 output sizes for a 4D input, got \[6\]/],
  // An unbatched input takes 1 + dims entries, not 2 + dims.
  batched_length_unbatched_input: [new nn.ConvTranspose2d(2, 2, 2, { stride: 2 }), 'nn.ConvTranspose2d(2, 2, 2, stride=2)', [2, 3, 3], [1, 2, 6, 6],
    /^RangeError: ConvTranspose2d: outputSize must be 2 spatial sizes or 3 output sizes for a 3D input, got \[1,2,6,6\]/],
};

// ---- adaptive pools with null output sizes ------------------------------------------

type Pooled = Tensor | { values: Tensor; indices: Tensor };
interface PoolCase { ours: (x: Tensor) => Pooled; python: string; x: Tensor }
const poolCases: Record<string, PoolCase> = {};
const addPool = (name: string, ours: (x: Tensor) => Pooled, python: string, xShape: number[]): void => {
  poolCases[name] = { ours, python, x: rnd(xShape, -3, 3) };
};

addPool('AdaptiveAvgPool2d_keep_height', (x) => new nn.AdaptiveAvgPool2d([null, 3]).forward(x), 'nn.AdaptiveAvgPool2d((None, 3))(x)', [2, 3, 5, 7]);
addPool('AdaptiveAvgPool2d_keep_width_unbatched', (x) => new nn.AdaptiveAvgPool2d([2, null]).forward(x), 'nn.AdaptiveAvgPool2d((2, None))(x)', [3, 5, 7]);
addPool('AdaptiveAvgPool2d_keep_both', (x) => new nn.AdaptiveAvgPool2d([null, null]).forward(x), 'nn.AdaptiveAvgPool2d((None, None))(x)', [1, 2, 4, 3]);
addPool('AdaptiveAvgPool3d_keep_outer', (x) => new nn.AdaptiveAvgPool3d([null, 2, null]).forward(x), 'nn.AdaptiveAvgPool3d((None, 2, None))(x)', [2, 2, 3, 5, 4]);
addPool('AdaptiveAvgPool3d_unbatched', (x) => new nn.AdaptiveAvgPool3d([2, null, 3]).forward(x), 'nn.AdaptiveAvgPool3d((2, None, 3))(x)', [2, 5, 3, 7]);
addPool('AdaptiveMaxPool2d_indices', (x) => new nn.AdaptiveMaxPool2d([null, 2]).forwardWithIndices(x),
  'nn.AdaptiveMaxPool2d((None, 2), return_indices=True)(x)', [2, 3, 4, 5]);
addPool('AdaptiveMaxPool2d', (x) => new nn.AdaptiveMaxPool2d([3, null]).forward(x), 'nn.AdaptiveMaxPool2d((3, None))(x)', [3, 7, 4]);
addPool('AdaptiveMaxPool3d_indices_unbatched', (x) => new nn.AdaptiveMaxPool3d([3, null, null]).forwardWithIndices(x),
  'nn.AdaptiveMaxPool3d((3, None, None), return_indices=True)(x)', [2, 5, 3, 4]);
addPool('F.adaptiveAvgPool2d', (x) => F.adaptiveAvgPool2d(x, [null, 4]), 'F.adaptive_avg_pool2d(x, (None, 4))', [2, 2, 3, 9]);
addPool('F.adaptiveAvgPool3d', (x) => F.adaptiveAvgPool3d(x, [2, 2, null]), 'F.adaptive_avg_pool3d(x, (2, 2, None))', [1, 2, 5, 4, 3]);
addPool('F.adaptiveMaxPool2d', (x) => F.adaptiveMaxPool2d(x, [null, 3], true), 'F.adaptive_max_pool2d(x, (None, 3), return_indices=True)', [2, 6, 7]);
addPool('F.adaptiveMaxPool3d', (x) => F.adaptiveMaxPool3d(x, [null, 2, null]), 'F.adaptive_max_pool3d(x, (None, 2, None))', [1, 2, 3, 5, 2]);

/** Null where PyTorch refuses None too: 1-d pools, and a bare null. Python expressions over x. */
const poolErrors: Record<string, string> = {
  AdaptiveAvgPool1d: 'nn.AdaptiveAvgPool1d((None,))(x)', AdaptiveMaxPool1d: 'nn.AdaptiveMaxPool1d((None,))(x)',
  adaptive_avg_pool1d: 'F.adaptive_avg_pool1d(x, (None,))', adaptive_max_pool1d: 'F.adaptive_max_pool1d(x, (None,))',
  AdaptiveAvgPool2d_bare_None: 'nn.AdaptiveAvgPool2d(None)(x.reshape(1, 2, 3, 4))',
};

const pooledTensor = (p: Pooled): Tensor => (p instanceof torch.Tensor ? p : p.values);

const reference = hasTorch ? runTorch(`
out['convT'] = {}
for name, c in inp['convT'].items():
    m = eval(c['python'])
    m.load_state_dict({k: T(v) for k, v in c['state'].items()}, strict=True)
    x = T(c['x'], True)
    y = m(x, output_size=c['outputSize'])
    (y * T(c['proj'])).sum().backward()
    out['convT'][name] = {'y': J(y), 'xGrad': J(x.grad), 'grads': {k: J(p.grad) for k, p in m.named_parameters()}}
out['convTErrors'] = {}
for name, c in inp['convTErrors'].items():
    try:
        eval(c['python'])(T(c['x']), output_size=c['outputSize'])
        out['convTErrors'][name] = None
    except Exception as e:
        out['convTErrors'][name] = type(e).__name__ + ': ' + str(e)
out['pools'] = {}
for name, c in inp['pools'].items():
    x = T(c['x'], True)
    r = eval(c['python'])
    y, idx = r if isinstance(r, tuple) else (r, None)
    (y * y).sum().backward()
    out['pools'][name] = {'y': J(y), 'xGrad': J(x.grad), 'idx': None if idx is None else J(idx)}
out['poolErrors'] = {}
x = torch.ones(2, 3, 4)
for name, expr in inp['poolErrors'].items():
    try:
        eval(expr)
        out['poolErrors'][name] = None
    except Exception as e:
        out['poolErrors'][name] = type(e).__name__ + ': ' + str(e)
`, torch.scope(() => ({
  convT: Object.fromEntries(Object.entries(convTCases).map(([name, c]) => [name, {
    python: c.python, outputSize: c.outputSize, x: describe(c.x), proj: describe(c.proj),
    state: Object.fromEntries([...c.ours.stateDict()].map(([k, v]) => [k, describe(v)])),
  }])),
  convTErrors: Object.fromEntries(Object.entries(convTErrors).map(([name, [, python, shape, outputSize]]) => [name, {
    python, outputSize, x: describe(torch.ones(shape, f64)),
  }])),
  pools: Object.fromEntries(Object.entries(poolCases).map(([name, c]) => [name, { python: c.python, x: describe(c.x) }])),
  poolErrors,
}))) : null;

for (const [name, c] of Object.entries(convTCases)) {
  test(`${name}: forward(x, outputSize [${c.outputSize}]) output and input, weight and bias gradients match PyTorch's output_size`,
    { skip: skipWithoutTorch }, () => torch.scope(() => {
      const want = reference.convT[name] as { y: Described; xGrad: Described; grads: Record<string, Described> };
      const params = [...c.ours.namedParameters()];
      for (const [, p] of params) p.grad = null;
      const x = c.x.detach().requiresGrad_(true);
      const y = c.ours.forward(x, c.outputSize);
      y.mul(c.proj).sum().backward();
      assertMatchesTorch(y, want.y, undefined, `${name} output`);
      assertMatchesTorch(x.grad!, want.xGrad, undefined, `${name} input grad`);
      assert.deepEqual(params.map(([k]) => k), Object.keys(want.grads), `${name} parameter names`);
      for (const [k, p] of params) assertMatchesTorch(p.grad!, want.grads[k], undefined, `${name} grad of ${k}`);
    }));
}

test('ConvTranspose forward without outputSize still uses the layer\'s outputPadding', () => torch.scope(() => {
  const m = convTCases.ConvTranspose2d_overrides_outputPadding.ours;
  assert.deepEqual(m.forward(convTCases.ConvTranspose2d_overrides_outputPadding.x).shape, [1, 2, 7, 6]);
}));

test('ConvTranspose refuses an unreachable or wrong-length outputSize, naming the layer, the dim and the range; PyTorch refuses it too',
  { skip: skipWithoutTorch }, () => {
    for (const [name, [m, , shape, outputSize, message]] of Object.entries(convTErrors)) {
      assert.throws(() => m.forward(torch.ones(shape), outputSize), message, name);
      assert.match(reference.convTErrors[name] ?? 'no error', /^ValueError: /, `PyTorch accepted ${name}`);
    }
    // Not integers: refused before any arithmetic.
    assert.throws(() => new nn.ConvTranspose1d(2, 2, 2).forward(torch.ones([1, 2, 3]), [4.5]),
      /^RangeError: ConvTranspose1d: outputSize must be 1 spatial sizes or 3 output sizes for a 3D input, got \[4\.5\]/);
  });

for (const [name, c] of Object.entries(poolCases)) {
  test(`${name} with null output sizes: output, argmax indices and input gradient match PyTorch's None`, { skip: skipWithoutTorch }, () => torch.scope(() => {
    const want = reference.pools[name] as { y: Described; xGrad: Described; idx: Described | null };
    const x = c.x.detach().requiresGrad_(true);
    const out = c.ours(x);
    const y = pooledTensor(out);
    y.mul(y).sum().backward();
    assertMatchesTorch(y, want.y, undefined, `${name} output`);
    assertMatchesTorch(x.grad!, want.xGrad, undefined, `${name} input grad`);
    assert.equal(want.idx !== null, !(out instanceof torch.Tensor), `${name}: indices on one side only`);
    if (want.idx !== null && !(out instanceof torch.Tensor)) {
      assert.deepEqual(out.indices.shape, want.idx.shape, `${name} indices shape`);
      assert.deepEqual(out.indices.toFlatArray(), want.idx.values, `${name} indices`);
    }
  }));
}

test('adaptive pools refuse null where PyTorch refuses None, and malformed sizes, with messages naming the problem', { skip: skipWithoutTorch }, () => {
  for (const [name, error] of Object.entries(reference.poolErrors as Record<string, string | null>)) {
    assert.match(error ?? 'no error', /Error: /, `PyTorch accepted ${name}`);
  }
  const x = torch.ones([2, 3, 4]);
  assert.throws(() => new nn.AdaptiveAvgPool1d([null] as unknown as number), /^RangeError: AdaptiveAvgPool1d: outputSize cannot be null for a 1-d pool \(as in PyTorch\), got \[null\]/);
  assert.throws(() => new nn.AdaptiveMaxPool1d([null] as unknown as number), /^RangeError: AdaptiveMaxPool1d: outputSize cannot be null for a 1-d pool/);
  assert.throws(() => F.adaptiveAvgPool1d(x, [null] as unknown as number), /^TypeError: adaptiveAvgPool1d: outputSize cannot be null for a 1-d pool \(as in PyTorch\), got \[null\]/);
  assert.throws(() => F.adaptiveMaxPool1d(x, [null] as unknown as number), /^TypeError: adaptiveMaxPool1d: outputSize cannot be null for a 1-d pool/);
  assert.throws(() => new nn.AdaptiveAvgPool2d(null as unknown as number),
    /^RangeError: AdaptiveAvgPool2d: outputSize must be positive integers \(one, or 2 of them, null keeping the input's size\), got null/);
  assert.throws(() => F.adaptiveAvgPool2d(x, null as unknown as number), /^TypeError: adaptiveAvgPool2d: outputSize must be an integer or a list of 2 \(null keeping the input's size\), got null/);
  assert.throws(() => new nn.AdaptiveMaxPool2d([null] as unknown as number), /^RangeError: AdaptiveMaxPool2d: outputSize must be positive integers \(one, or 2 of them, null keeping the input's size\), got \[null\]/);
  assert.throws(() => new nn.AdaptiveAvgPool3d([null, 0, 2]), /^RangeError: AdaptiveAvgPool3d: outputSize must be positive integers \(one, or 3 of them, null keeping the input's size\), got \[null,0,2\]/);
  assert.throws(() => F.adaptiveAvgPool2d(torch.ones([4]), [null, 2]), /^RangeError: adaptiveAvgPool2d: a null outputSize entry needs an input of at least 3 dims, got shape \[4\]/);
  assert.equal(new nn.AdaptiveAvgPool3d([null, 2, null]).toString(), 'AdaptiveAvgPool3d(outputSize=[null,2,null])');
});

test('forward with outputSize or null pool sizes frees every intermediate tensor', () => {
  const x4 = torch.keep(torch.randn([1, 2, 5, 6]));
  const runs: [nn.Module, () => Tensor][] = [];
  const convT = new nn.ConvTranspose2d(2, 3, 3, { stride: 2 });
  runs.push([convT, () => convT.forward(x4, [12, 14])]);
  const avg = new nn.AdaptiveAvgPool2d([null, 2]);
  runs.push([avg, () => avg.forward(x4)]);
  const max = new nn.AdaptiveMaxPool2d([3, null]);
  runs.push([max, () => max.forward(x4)]);
  for (const [m, run] of runs) {
    run().dispose();
    const before = torch.memoryStats().liveTensors;
    run().dispose();
    assert.equal(torch.memoryStats().liveTensors, before, `${m.typeName} left tensors alive`);
    m.dispose();
  }
  x4.dispose();
});
