// AOL layers and SLL residual blocks: exact 1-Lipschitz bounds, checked in
// float64 on the exact Jacobian at random points and on random pairs; the AOL
// rescaling against a value computed here; gradients, shapes, train/eval and
// option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Module } from '../src/nn/index.js';
import { AOLConv2D, AOLConvTranspose2D, AOLLinear, AOLReparametrizer, MultiStepAOLReparametrizer } from '../src/ortho/aol.js';
import { AOCLipschitzResBlock, SDPBasedLipschitzDense, SDPBasedLipschitzResBlock, SLLxAOCLipschitzResBlock } from '../src/ortho/sll.js';
import { convSingularValues } from '../src/ortho/singular-values.js';
import { gradcheck } from './helpers/gradcheck.js';
import * as pkg from '../src/index.js';

torch.setNumThreads(1);
type Tensor = torch.Tensor;
const TOL = 1e-6;

interface Layer extends Module { forward(x: Tensor): Tensor }

/** Largest singular value of the exact Jacobian of f at x (a single sample), one backward per output. */
function jacobianNorm(f: Layer, x: Tensor): number {
  return torch.scope(() => {
    const input = x.detach().double().requiresGrad_(true);
    const out = f.forward(input).flatten();
    const rows: Tensor[] = [];
    for (let i = 0; i < out.shape[0]; i++) {
      const [g] = torch.autograd.grad(out.select(0, i), input, { retainGraph: true });
      rows.push(g!.flatten());
    }
    return torch.linalg.matrixNorm(torch.stack(rows), 2).item();
  });
}

/** max over random pairs (near and far) of ‖f(x) − f(y)‖ / ‖x − y‖. */
function pairRatio(f: Layer, shape: number[]): number {
  return torch.noGrad(() => torch.scope(() => {
    let best = 0;
    for (const scale of [0.01, 1]) {
      const x = torch.randn(shape, { dtype: 'float64' });
      const y = x.add(torch.randn(shape, { dtype: 'float64' }).mul(scale));
      const r = f.forward(x).sub(f.forward(y)).flatten(1).norm(2, 1).div(x.sub(y).flatten(1).norm(2, 1)).max().item();
      best = Math.max(best, r);
    }
    return best;
  }));
}

/** Jacobian norms at 3 random points, pair ratios, in train and eval; returns the largest Jacobian norm. */
function checkLipschitz(name: string, f: Layer, sampleShape: number[]): number {
  f.to('float64');
  let largest = 0;
  for (const mode of ['train', 'eval'] as const) {
    f.train(mode === 'train');
    for (let i = 0; i < 3; i++) {
      const n = jacobianNorm(f, torch.randn([1, ...sampleShape], { dtype: 'float64' }));
      assert.ok(n <= 1 + TOL, `${name} (${mode}): Jacobian norm ${n}`);
      largest = Math.max(largest, n);
    }
    const r = pairRatio(f, [16, ...sampleShape]);
    assert.ok(r <= 1 + TOL, `${name} (${mode}): pair ratio ${r}`);
  }
  f.train();
  return largest;
}

/** A backward pass from the output reaches every parameter with a non-zero gradient. */
function checkGradients(name: string, f: Layer, inShape: number[]): void {
  f.to('float64');
  f.train();
  f.zeroGrad();
  const x = torch.randn(inShape, { dtype: 'float64' });
  const target = torch.randn(f.forward(x).shape, { dtype: 'float64' });
  f.forward(x).sub(target).square().sum().backward();
  for (const [pname, p] of f.namedParameters()) {
    assert.ok(p.grad, `${name}: no gradient for ${pname}`);
    assert.ok(p.grad.abs().sum().item() > 0, `${name}: zero gradient for ${pname}`);
  }
}

test('AOL rescaling of a linear weight matches D_ii = (Σ_j |WᵀW|_ij q_j/q_i)^(-1/2), on the smaller side', () => {
  torch.manualSeed(0);
  for (const [out, inn] of [[5, 3], [3, 5]] as const) {
    const layer = new AOLLinear({ inFeatures: inn, outFeatures: out, bias: false }).to('float64');
    const reparam = layer.getSubmodule('parametrizations.weight.0') as MultiStepAOLReparametrizer;
    const logQ = [0.3, -0.7, 1.1];
    torch.noGrad(() => reparam.q.copy_(torch.tensor(logQ, { dtype: 'float64' }).view(3, 1, 1, 1)));
    const raw = (layer.getSubmodule('parametrizations.weight') as Module).getParameter('original')!.toArray() as number[][];
    const n = Math.min(out, inn);
    // Gram on the smaller side: WᵀW (columns) when tall, W Wᵀ (rows) when wide.
    const entry = (r: number, c: number): number => (out >= inn ? raw[r][c] : raw[c][r]); // side matrix [other, n]
    const other = Math.max(out, inn);
    const d: number[] = [];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        let g = 0;
        for (let k = 0; k < other; k++) g += entry(k, i) * entry(k, j);
        s += Math.abs(g) * Math.exp(logQ[j]) / Math.exp(logQ[i]);
      }
      d.push(1 / Math.sqrt(s));
    }
    const expected = raw.map((row, r) => row.map((v, c) => v * (out >= inn ? d[c] : d[r])));
    const got = layer.weight.toArray() as number[][];
    for (let r = 0; r < out; r++) for (let c = 0; c < inn; c++) assert.ok(Math.abs(got[r][c] - expected[r][c]) < 1e-12, `[${out}x${inn}] (${r}, ${c}): ${got[r][c]} vs ${expected[r][c]}`);
    const sigma = torch.linalg.matrixNorm(layer.weight, 2).item();
    assert.ok(sigma <= 1 + 1e-12 && sigma > 0.3, `‖W‖ = ${sigma}`);
  }
});

test('AOL layers are 1-Lipschitz (exact Jacobian, random pairs) for shapes, strides, groups, dilation, circular padding, niter', () => {
  torch.manualSeed(1);
  const cases: [string, () => Layer, number[]][] = [
    ['conv 4→6 k3', () => new AOLConv2D({ inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1 }), [4, 5, 5]],
    ['conv 6→4 k3 s2', () => new AOLConv2D({ inChannels: 6, outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }), [6, 6, 6]],
    ['conv 4→4 k3 groups 2 circular', () => new AOLConv2D({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, groups: 2, paddingMode: 'circular' }), [4, 5, 5]],
    ['conv 3→5 k2 dilation 2 niter 2', () => new AOLConv2D({ inChannels: 3, outChannels: 5, kernelSize: 2, dilation: 2, padding: 'same', niter: 2 }), [3, 5, 5]],
    ['conv 4→4 k3 niter 3', () => new AOLConv2D({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, niter: 3 }), [4, 4, 4]],
    ['convT 4→6 k3 s2', () => new AOLConvTranspose2D({ inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1 }), [4, 3, 3]],
    ['convT 6→2 k3 groups 2', () => new AOLConvTranspose2D({ inChannels: 6, outChannels: 2, kernelSize: 3, groups: 2 }), [6, 3, 3]],
    ['linear 7→4', () => new AOLLinear({ inFeatures: 7, outFeatures: 4 }), [7]],
    ['linear 4→7 niter 2', () => new AOLLinear({ inFeatures: 4, outFeatures: 7, niter: 2 }), [4]],
  ];
  for (const [name, make, shape] of cases) {
    const layer = make();
    const largest = checkLipschitz(name, layer, shape);
    assert.ok(largest > 0.2, `${name}: Jacobian norm ${largest} is implausibly small`);
  }
});

test('AOL layers: output shapes, weight exposed, gradients reach every parameter, train = eval', () => {
  torch.manualSeed(2);
  const conv = new AOLConv2D({ inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1 });
  assert.deepEqual(conv.forward(torch.randn([2, 4, 8, 8])).shape, [2, 6, 4, 4]);
  assert.deepEqual(conv.weight.shape, [6, 4, 3, 3]);
  const convT = new AOLConvTranspose2D({ inChannels: 4, outChannels: 6, kernelSize: 2, stride: 2 });
  assert.deepEqual(convT.forward(torch.randn([2, 4, 4, 4])).shape, [2, 6, 8, 8]);
  const lin = new AOLLinear({ inFeatures: 5, outFeatures: 3 });
  assert.deepEqual(lin.forward(torch.randn([2, 5])).shape, [2, 3]);
  assert.deepEqual(lin.weight.shape, [3, 5]);
  checkGradients('AOLConv2D', conv, [2, 4, 8, 8]);
  checkGradients('AOLConvTranspose2D', convT, [2, 4, 4, 4]);
  checkGradients('AOLLinear', lin, [2, 5]);
  const x = torch.randn([2, 4, 8, 8], { dtype: 'float64' });
  const yTrain = conv.train().forward(x);
  const yEval = conv.eval().forward(x);
  assert.ok(yTrain.allclose(yEval, 1e-12, 1e-12));
  // The single-sided reparametrizer rescales rows: ‖diag(t) K‖ ≤ 1 on a wide and a tall kernel.
  for (const shape of [[3, 8], [8, 3]]) {
    const k = torch.randn(shape, { dtype: 'float64' }).view(shape[0], shape[1], 1, 1);
    const r = new AOLReparametrizer(shape[0]).to('float64');
    const n = torch.linalg.matrixNorm(r.forward(k).view(shape[0], shape[1]), 2).item();
    assert.ok(n <= 1 + 1e-12 && n > 0.3, `AOLReparametrizer [${shape}]: ${n}`);
  }
});

test('AOL layers reject bad options clearly', () => {
  assert.throws(() => new AOLConv2D({ inChannels: 4, outChannels: 4, kernelSize: 3, paddingMode: 'reflect' }), /paddingMode must be 'zeros' or 'circular'/);
  assert.throws(() => new AOLConv2D({ inChannels: 4, outChannels: 4, kernelSize: 3, niter: 0 }), /niter must be an integer ≥ 1/);
  assert.throws(() => new AOLConv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }), /divisible by groups/);
  assert.throws(() => new AOLLinear({ inFeatures: 4, outFeatures: 4, niter: 1.5 }), /niter/);
  assert.throws(() => new AOLReparametrizer(6, { groups: 4 }), /divisible by groups/);
  assert.throws(() => new AOLReparametrizer(6).forward(torch.randn([5, 2, 1, 1])), /expected 6/);
});

test('SLL blocks are 1-Lipschitz (exact Jacobian, random pairs) in train and eval', () => {
  torch.manualSeed(3);
  const cases: [string, () => Layer, number[]][] = [
    ['SDPBasedLipschitzResBlock k3', () => new SDPBasedLipschitzResBlock({ inChannels: 3, innerDimFactor: 2 }), [3, 5, 5]],
    ['SDPBasedLipschitzResBlock k2 groups 2', () => new SDPBasedLipschitzResBlock({ inChannels: 4, innerDimFactor: 1.5, kernelSize: 2, groups: 2 }), [4, 5, 5]],
    ['SDPBasedLipschitzDense', () => new SDPBasedLipschitzDense({ inFeatures: 12, outFeatures: 12, innerDim: 20 }), [12]],
    ['SDPBasedLipschitzDense innerDim −1', () => new SDPBasedLipschitzDense({ inFeatures: 8 }), [8]],
    ['SLLxAOC 4→4 k3 s2', () => new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 4, innerDimFactor: 2, orthoParams: 'test' }), [4, 6, 6]],
    ['SLLxAOC 4→6 k3 s2 groups 2', () => new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 6, innerDimFactor: 1, groups: 2, orthoParams: 'test' }), [4, 5, 5]],
    ['SLLxAOC 3→3 k5 s3', () => new SLLxAOCLipschitzResBlock({ inChannels: 3, outChannels: 3, innerDimFactor: 1, kernelSize: 5, stride: 3, orthoParams: 'test' }), [3, 6, 6]],
    // stride 5: the skip padding must be 4 here (Orthogonium's (s + s // 2) // 2 = 3 gives a Jacobian norm ≈ 1.5)
    ['SLLxAOC 2→2 k5 s5', () => new SLLxAOCLipschitzResBlock({ inChannels: 2, outChannels: 2, innerDimFactor: 2, kernelSize: 5, stride: 5, orthoParams: 'test' }), [2, 10, 10]],
    ['SLLxAOC 3→2 k4 s2', () => new SLLxAOCLipschitzResBlock({ inChannels: 3, outChannels: 2, innerDimFactor: 2, kernelSize: 4, stride: 2, orthoParams: 'test' }), [3, 5, 5]],
    ['SLLxAOC 2→2 k3 s1', () => new SLLxAOCLipschitzResBlock({ inChannels: 2, outChannels: 2, innerDimFactor: 2, stride: 1, orthoParams: 'test' }), [2, 4, 4]],
  ];
  for (const [name, make, shape] of cases) {
    const block = make();
    if (block instanceof SDPBasedLipschitzDense) torch.noGrad(() => block.bias.normal_(0, 1)); // make some ReLUs active and some not
    const largest = checkLipschitz(name, block, shape);
    assert.ok(largest > 0.2, `${name}: Jacobian norm ${largest} is implausibly small`);
  }
});

test('SLL blocks: output shapes, kernels exposed, gradients reach every parameter, formulas', () => {
  torch.manualSeed(4);
  const res = new SDPBasedLipschitzResBlock({ inChannels: 4, innerDimFactor: 2 });
  assert.deepEqual(res.forward(torch.randn([2, 4, 7, 7])).shape, [2, 4, 7, 7]);
  assert.deepEqual(res.kernel.shape, [8, 4, 3, 3]);
  assert.deepEqual(res.bias.shape, [1, 8, 1, 1]);
  const dense = new SDPBasedLipschitzDense({ inFeatures: 6, outFeatures: 6, innerDim: 10 });
  assert.deepEqual(dense.forward(torch.randn([3, 6])).shape, [3, 6]);
  const down = new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 8, innerDimFactor: 2, orthoParams: 'test' });
  assert.deepEqual(down.forward(torch.randn([2, 4, 8, 8])).shape, [2, 8, 4, 4]);
  assert.deepEqual(down.forward(torch.randn([2, 4, 7, 7])).shape, [2, 8, 4, 4]);
  assert.deepEqual(down.kernel.shape, [16, 4, 2, 2]);
  assert.equal(down.skipPadding, 1); // Orthogonium's (2 + 1) // 2 for stride 2
  checkGradients('SDPBasedLipschitzResBlock', res, [2, 4, 6, 6]);
  checkGradients('SDPBasedLipschitzDense', dense, [4, 6]);
  checkGradients('SLLxAOCLipschitzResBlock', down, [2, 4, 6, 6]);

  // Dense formula: x − 2 Wᵀ(t ⊙ relu(Wx + b)), t_i = 1 / Σ_j |WWᵀ|_ij e^{q_j − q_i}.
  torch.noGrad(() => {
    const w = dense.weight.toArray() as number[][];
    const q = dense.q.toFlatArray() as number[];
    const b = dense.bias.toFlatArray() as number[];
    const x = [0.5, -1, 2, 0.3, -0.2, 1.1];
    const inner = w.map((row, i) => {
      let t = 0;
      for (let j = 0; j < w.length; j++) t += Math.abs(row.reduce((s, v, k) => s + v * w[j][k], 0)) * Math.exp(q[j] - q[i]);
      return Math.max(0, row.reduce((s, v, k) => s + v * x[k], 0) + b[i]) / t;
    });
    const expected = x.map((v, k) => v - 2 * inner.reduce((s, z, i) => s + z * w[i][k], 0));
    const got = dense.forward(torch.tensor([x], { dtype: 'float64' })).toFlatArray() as number[];
    got.forEach((g, k) => assert.ok(Math.abs(g - expected[k]) < 1e-10, `dense output ${k}: ${g} vs ${expected[k]}`));
  });

  // SLLxAOC equals Post ∘ (I − 2Kᵀ relu(K· + b)) ∘ Pre computed with unfused full convolutions.
  torch.noGrad(() => {
    down.eval();
    const x = torch.randn([2, 4, 6, 6], { dtype: 'float64' });
    const pre = down.preConv.weight;
    const post = down.postConv.weight;
    const k = down.kernel;
    const g = torch.F.conv2d(x, pre, { padding: 1 }); // full: 7×7 at positions −1..5
    const z = torch.F.conv2d(g, k, { padding: 0 }).add(down.bias).relu(); // positions −1..4 (= the block's grid)
    const y = g.sub(torch.F.convTranspose2d(z, k).mul(2));
    const expected = torch.F.conv2d(y, post, { stride: 2 }); // blocks starting at −1, 1, 3
    assert.ok(down.forward(x).allclose(expected, 1e-10, 1e-10));
  });
});

test('SLL blocks reject bad options and inputs clearly', () => {
  assert.throws(() => new SDPBasedLipschitzResBlock({ inChannels: 3, innerDimFactor: 2, groups: 2 }), /divisible by groups/);
  assert.throws(() => new SDPBasedLipschitzResBlock({ inChannels: 4, innerDimFactor: 0 }), /innerDimFactor must be a positive number/);
  assert.throws(() => new SDPBasedLipschitzResBlock({ inChannels: 4, innerDimFactor: 1, kernelSize: 0 }), /kernelSize must be an integer/);
  assert.throws(() => new SDPBasedLipschitzResBlock({ inChannels: 4, innerDimFactor: 1 }).forward(torch.randn([1, 3, 4, 4])), /3 channels, expected 4/);
  assert.throws(() => new SDPBasedLipschitzDense({ inFeatures: 4, outFeatures: 5 }), /must equal inFeatures/);
  assert.throws(() => new SDPBasedLipschitzDense({ inFeatures: 4, innerDim: 0 }), /innerDim must be an integer/);
  assert.throws(() => new SDPBasedLipschitzDense({ inFeatures: 4 }).forward(torch.randn([2, 3])), /expected input \[\.\.\., 4\]/);
  assert.throws(() => new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 4, innerDimFactor: 1, kernelSize: 2, stride: 3 }), /kernelSize \(2\) must be ≥ stride \(3\)/);
  assert.throws(() => new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 5, innerDimFactor: 1, groups: 2 }), /divisible by groups/);
});

test('AOCLipschitzResBlock is 1-Lipschitz (exact Jacobian, random pairs) for padding modes, kernels, dilation, groups', () => {
  torch.manualSeed(5);
  const cases: [string, () => AOCLipschitzResBlock, number[]][] = [
    ['k3 circular', () => new AOCLipschitzResBlock({ inChannels: 3, innerDimFactor: 2, kernelSize: 3, orthoParams: 'test' }), [3, 5, 5]],
    ['k3 zeros', () => new AOCLipschitzResBlock({ inChannels: 3, innerDimFactor: 2, kernelSize: 3, paddingMode: 'zeros', orthoParams: 'test' }), [3, 5, 5]],
    ['k2 circular (uneven padding)', () => new AOCLipschitzResBlock({ inChannels: 2, innerDimFactor: 2, kernelSize: 2, orthoParams: 'test' }), [2, 5, 4]],
    ['k2 zeros dilation 2', () => new AOCLipschitzResBlock({ inChannels: 2, innerDimFactor: 1, kernelSize: 2, dilation: 2, paddingMode: 'zeros', orthoParams: 'test' }), [2, 5, 5]],
    ['k3 circular groups 2, inner < in', () => new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 0.5, kernelSize: 3, groups: 2, orthoParams: 'test' }), [4, 4, 4]],
    ['k3 circular dilation 2 no bias', () => new AOCLipschitzResBlock({ inChannels: 2, innerDimFactor: 2, kernelSize: 3, dilation: 2, bias: false, orthoParams: 'test' }), [2, 5, 5]],
  ];
  for (const [name, make, shape] of cases) {
    const block = make();
    // A bias of a few units turns some ReLUs on and some off at random inputs.
    if (block.bias) torch.noGrad(() => block.bias!.normal_(0, 1));
    const largest = checkLipschitz(`AOCLipschitzResBlock ${name}`, block, shape);
    assert.ok(largest > 0.5, `${name}: Jacobian norm ${largest} is implausibly small`);
  }
});

test('AOCLipschitzResBlock: the formula x − 2 Kᵀ relu(K x + b) with K the padded convolution and Kᵀ its adjoint', () => {
  torch.manualSeed(6);
  torch.noGrad(() => {
    for (const paddingMode of ['circular', 'zeros'] as const) {
      for (const [kernelSize, dilation] of [[3, 1], [2, 1], [2, 3]]) {
        const block = new AOCLipschitzResBlock({ inChannels: 2, innerDimFactor: 1.5, kernelSize, dilation, paddingMode, orthoParams: 'test' }).to('float64').eval();
        torch.noGrad(() => block.bias!.normal_(0, 1));
        const x = torch.randn([1, 2, 6, 5], { dtype: 'float64' });
        const k = block.kernel;
        // K as a plain 'same' convolution in the padding mode; Kᵀ from the dense matrix of K.
        const conv = (v: Tensor): Tensor => torch.F.conv2d(torch.F.pad(v, block.pads, paddingMode === 'circular' ? 'circular' : 'constant'), k, { dilation });
        const n = 2 * 6 * 5;
        const eye = torch.eye(n, n, { dtype: 'float64' }).view(n, 2, 6, 5);
        const matrix = conv(eye).view(n, -1).t(); // [inner·30, 60]
        const z = conv(x).add(block.bias!.view(1, -1, 1, 1)).relu().view(-1);
        const expected = x.view(-1).sub(matrix.t().matmul(z).mul(2));
        const got = block.forward(x).view(-1);
        const err = got.sub(expected).abs().max().item();
        assert.ok(err < 1e-12, `${paddingMode} k${kernelSize} d${dilation}: max |block − formula| = ${err}`);
        // Circular padding: K is an isometry (inner ≥ in), so its operator has all singular values 1.
        if (paddingMode === 'circular' && dilation === 1) {
          const sv = torch.linalg.svdvals(matrix).toFlatArray() as number[];
          assert.ok(Math.abs(sv[0] - 1) < 1e-4 && Math.abs(sv[sv.length - 1] - 1) < 1e-4, `circular k${kernelSize}: σ in [${sv[sv.length - 1]}, ${sv[0]}]`);
        }
      }
    }
  });
});

test('AOCLipschitzResBlock: float64 gradients agree with finite differences, shapes, names, registry', () => {
  torch.manualSeed(7);
  for (const paddingMode of ['circular', 'zeros'] as const) {
    const block = new AOCLipschitzResBlock({ inChannels: 2, innerDimFactor: 2, kernelSize: 3, paddingMode, orthoParams: 'test' }).to('float64');
    torch.noGrad(() => block.bias!.normal_(0, 0.5));
    // Against the input (away from ReLU kinks: random points almost surely are).
    const x = torch.randn([1, 2, 4, 4], { dtype: 'float64' }).requiresGrad_(true);
    const report = gradcheck((v) => block.forward(v), [x], { rtol: 1e-5, atol: 1e-7 });
    assert.ok(report.checked === 32, `${paddingMode}: ${report.checked} elements checked`);
    // Against the kernel and the bias, through the explicit formula on the block's own kernel.
    const kernel = block.kernel.detach().clone().requiresGrad_(true);
    const bias = block.bias!.detach().clone().requiresGrad_(true);
    const input = x.detach();
    const viaParams = (k: Tensor, b: Tensor): Tensor => {
      const inner = torch.F.conv2d(torch.F.pad(input, block.pads, paddingMode === 'circular' ? 'circular' : 'constant'), k, { bias: b }).relu();
      if (paddingMode === 'zeros') return input.sub(torch.F.convTranspose2d(inner, k, { padding: 1 }).mul(2));
      // Circular adjoint written differently from the block: the full transposed
      // convolution (6×6, positions −1..4) folded back onto the 4×4 torus.
      const full = torch.F.pad(torch.F.convTranspose2d(inner, k), [0, 2, 0, 2]);
      const folded = full.reshape([1, 2, 2, 4, 2, 4]).sum([2, 4]).roll([-1, -1], [2, 3]);
      return input.sub(folded.mul(2));
    };
    const direct = torch.noGrad(() => viaParams(block.kernel, block.bias!));
    const err = torch.noGrad(() => direct.sub(block.forward(input)).abs().max().item());
    assert.ok(err < 1e-12, `${paddingMode}: independent formula differs by ${err}`);
    gradcheck(viaParams, [kernel, bias], { rtol: 1e-5, atol: 1e-7 });
    // And autograd through the block reaches the raw AOC parameters.
    checkGradients(`AOCLipschitzResBlock ${paddingMode}`, block, [2, 2, 5, 5]);
  }
  const block = new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 2, kernelSize: 3 });
  assert.deepEqual(block.forward(torch.randn([2, 4, 7, 6])).shape, [2, 4, 7, 6]);
  assert.deepEqual(block.kernel.shape, [8, 4, 3, 3]);
  assert.ok([...block.stateDict().keys()].every((key) => key.startsWith('in_conv.')), 'parameters live under in_conv (Orthogonium\'s name)');
  // toPlainModel swaps in_conv for a plain Conv2d: the block computes the same function with it.
  const x = torch.randn([2, 4, 5, 5]);
  const before = torch.noGrad(() => block.eval().forward(x));
  pkg.ortho.toPlainModel(block);
  assert.equal(block.inConv.typeName, 'Conv2d');
  assert.ok(torch.noGrad(() => block.forward(x)).allclose(before, 1e-6, 1e-6), 'same output after toPlainModel');
  const viaPackage = new pkg.ortho.AOCLipschitzResBlock({ inChannels: 2, innerDimFactor: 1, kernelSize: 3 });
  assert.deepEqual(viaPackage.forward(torch.randn([1, 2, 4, 4])).shape, [1, 2, 4, 4]);
  const viaRegistry = pkg.models.ClassParam.from({ type: 'AOCLipschitzResBlock', options: { inChannels: 2, innerDimFactor: 1, kernelSize: 3, paddingMode: 'zeros' } }).create();
  assert.ok(viaRegistry instanceof AOCLipschitzResBlock && viaRegistry.paddingMode === 'zeros');
});

test('AOCLipschitzResBlock rejects bad options and inputs clearly', () => {
  assert.throws(() => new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 1, kernelSize: 3, paddingMode: 'reflect' as never }), /paddingMode must be 'circular' or 'zeros', got "reflect"/);
  assert.throws(() => new AOCLipschitzResBlock({ inChannels: 3, innerDimFactor: 2, kernelSize: 3, groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
  assert.throws(() => new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: -1, kernelSize: 3 }), /innerDimFactor must be a positive number/);
  assert.throws(() => new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 1, kernelSize: 0 }), /kernelSize must be an integer ≥ 1/);
  assert.throws(() => new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 1 } as never), /kernelSize must be an integer/);
  assert.throws(() => new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 1, kernelSize: 3, dilation: 1.5 }), /dilation must be an integer/);
  const block = new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 1, kernelSize: 5, dilation: 2 });
  assert.throws(() => block.forward(torch.randn([1, 3, 8, 8])), /3 channels, expected 4/);
  assert.throws(() => block.forward(torch.randn([1, 4, 3, 8])), /circular padding of 4 needs an input of at least that size, got 3×8/);
});

test('AOLConv2D starts from an orthogonal kernel (convOrthogonal_), AOLConvTranspose2D does not; MultiStepAOLReparametrizer defaults', () => {
  torch.manualSeed(8);
  const rawOf = (m: Module): Tensor => (m.getSubmodule('parametrizations.weight') as Module).getParameter('original')!;
  for (const [inChannels, outChannels, stride, groups] of [[4, 4, 1, 1], [4, 8, 1, 2], [8, 4, 1, 1], [4, 16, 2, 1]]) {
    const conv = new AOLConv2D({ inChannels, outChannels, kernelSize: 3, stride, padding: 1, groups });
    const sv = convSingularValues(rawOf(conv), [8, 8], { stride, groups });
    assert.ok(Math.abs(sv.max - 1) < 1e-4 && Math.abs(sv.min - 1) < 1e-4, `AOLConv2D ${inChannels}→${outChannels} s${stride} g${groups}: raw σ in [${sv.min}, ${sv.max}]`);
    if (stride === 1) {
      // Orthogonal stride-1 kernel: the AOL rescaling leaves it (nearly) unchanged.
      const diff = torch.noGrad(() => conv.weight.sub(rawOf(conv)).abs().max().item());
      assert.ok(diff < 1e-3, `AOLConv2D ${inChannels}→${outChannels}: rescaled kernel moved by ${diff}`);
    }
  }
  // No orthogonal kernel exists (kernel < stride, one channel per group): the default init stays, the layer still works.
  const depthwise = new AOLConv2D({ inChannels: 3, outChannels: 3, kernelSize: 3, groups: 3, padding: 1 });
  assert.deepEqual(depthwise.forward(torch.randn([1, 3, 4, 4])).shape, [1, 3, 4, 4]);
  const small = new AOLConv2D({ inChannels: 2, outChannels: 2, kernelSize: 1, stride: 2 });
  assert.deepEqual(small.forward(torch.randn([1, 2, 4, 4])).shape, [1, 2, 2, 2]);
  // AOLConvTranspose2D keeps ConvTranspose2d's init (Orthogonium does not override it): not orthogonal.
  const convT = new AOLConvTranspose2D({ inChannels: 4, outChannels: 4, kernelSize: 3 });
  const svT = convSingularValues(rawOf(convT), [8, 8], { transposed: true });
  assert.ok(svT.max - svT.min > 0.1, `AOLConvTranspose2D raw kernel spread ${svT.min}..${svT.max}`);

  assert.equal(new MultiStepAOLReparametrizer(4).niter, 4, "Orthogonium's default");
  assert.equal(new MultiStepAOLReparametrizer(4, { niter: 2 }).niter, 2);
  assert.equal(new AOLReparametrizer(4).niter, 1);
  assert.equal(conv4().niter, 1, 'AOLConv2D keeps its own default');
  const reparam = conv4().getSubmodule('parametrizations.weight.0') as MultiStepAOLReparametrizer;
  torch.noGrad(() => reparam.q.normal_(0, 1));
  reparam.resetParameters();
  assert.ok((reparam.q.toFlatArray() as number[]).every((v) => v === 1), 'resetParameters puts q back to 1');
});

function conv4(): AOLConv2D { return new AOLConv2D({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1 }); }
