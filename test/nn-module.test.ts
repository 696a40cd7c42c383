import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import * as nn from '../src/nn/index.js';

const tiny = () => new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(3 * 4 * 4, 5));

test('parameters, buffers and children have dotted names', () => {
  const net = tiny();
  assert.deepEqual([...net.namedParameters()].map(([n, p]) => [n, p.shape]), [
    ['0.weight', [3, 2, 3, 3]], ['0.bias', [3]], ['3.weight', [5, 48]], ['3.bias', [5]],
  ]);
  assert.equal(net.numParameters(), 3 * 2 * 9 + 3 + 5 * 48 + 5);
  assert.deepEqual([...net.namedModules()].map(([n]) => n), ['', '0', '1', '2', '3']);
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.isLeaf));
});

test('train/eval switch every submodule', () => {
  const net = new nn.Sequential(new nn.Dropout(0.5), tiny());
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  const x = torch.ones([1000]);
  net.eval();
  assert.ok((net.at(0).forward(x) as torch.Tensor).equal(x), 'dropout is the identity in eval mode');
});

test('state dict round trip through .pt and safetensors reproduces outputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-nn-'));
  try {
    const a = tiny();
    const b = tiny();
    const x = torch.randn([2, 2, 4, 4]);
    assert.ok(!(a.forward(x) as torch.Tensor).allclose(b.forward(x) as torch.Tensor));
    torch.save(a.stateDict(), join(dir, 'a.pt'));
    b.loadStateDict(torch.loadStateDictFile(join(dir, 'a.pt')));
    assert.ok((a.forward(x) as torch.Tensor).equal(b.forward(x) as torch.Tensor));
    const c = tiny();
    torch.saveSafetensors(a.stateDict(), join(dir, 'a.safetensors'));
    c.loadStateDict(torch.loadSafetensors(join(dir, 'a.safetensors')).tensors);
    assert.ok((a.forward(x) as torch.Tensor).equal(c.forward(x) as torch.Tensor));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadStateDict names missing, unexpected and mismatched keys', () => {
  const net = tiny();
  const state = net.stateDict();
  state.delete('0.bias');
  state.set('extra.weight', torch.zeros([1]));
  state.set('3.weight', torch.zeros([5, 7]));
  assert.throws(() => net.loadStateDict(state), (e: Error) =>
    e instanceof nn.StateDictError && /missing keys: 0\.bias/.test(e.message) && /unexpected keys: extra\.weight/.test(e.message) &&
    /3\.weight: checkpoint \[5, 7\] vs model \[5, 48\]/.test(e.message));
  state.set('3.weight', torch.zeros([5, 48]));
  const result = net.loadStateDict(state, { strict: false });
  assert.deepEqual(result, { missingKeys: ['0.bias'], unexpectedKeys: ['extra.weight'] });
  assert.equal((net.getSubmodule('3').getParameter('weight') as torch.Tensor).abs().sum().item(), 0);
});

test('to(dtype) keeps parameter identity so optimizers stay attached', () => {
  const net = tiny();
  const before = net.parameters();
  net.to('float64');
  const after = net.parameters();
  assert.ok(before.every((p, i) => p === after[i] && p.dtype === 'float64'));
  assert.equal((net.forward(torch.randn([1, 2, 4, 4], { dtype: 'float64' })) as torch.Tensor).dtype, 'float64');
});

test('layers reject inputs of the wrong shape with a clear message', () => {
  assert.throws(() => new nn.Linear(4, 2).forward(torch.ones([3, 5])), /input has 5 features.*expected 4/);
  assert.throws(() => new nn.Conv2d(3, 2, 3).forward(torch.ones([1, 4, 8, 8])), /input has 4 channels, expected 3/);
  assert.throws(() => new nn.Conv2d(3, 2, 3, { groups: 2 }), /divisible by groups/);
  assert.throws(() => new nn.Conv2d(3, 3, 3, { stride: 2, padding: 'same' }), /'same' is only supported with stride 1/);
  assert.throws(() => new nn.Linear(0, 2), /inFeatures must be a positive integer/);
});

test('Conv2d padding modes match padding explicitly then convolving', () => {
  for (const paddingMode of ['zeros', 'reflect', 'replicate', 'circular'] as const) {
    const conv = new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode, dtype: 'float64' });
    const x = torch.randn([1, 2, 5, 5], { dtype: 'float64' });
    const mode = paddingMode === 'zeros' ? 'constant' : paddingMode;
    const expected = torch.F.conv2d(torch.F.pad(x, [1, 1, 1, 1], mode), conv.weight, { bias: conv.bias });
    assert.ok((conv.forward(x) as torch.Tensor).allclose(expected, 1e-12, 1e-12), paddingMode);
  }
});

test('ConvTranspose2d is the adjoint of Conv2d with the same weight', () => {
  const conv = new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: false, dtype: 'float64' });
  const convT = new nn.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1, bias: false, dtype: 'float64' });
  torch.noGrad(() => convT.weight.copy_(conv.weight));
  const x = torch.randn([1, 3, 8, 8], { dtype: 'float64' });
  const y = torch.randn([1, 4, 4, 4], { dtype: 'float64' });
  const lhs = (conv.forward(x) as torch.Tensor).mul(y).sum().item();
  const rhs = (convT.forward(y) as torch.Tensor).mul(x).sum().item();
  assert.ok(Math.abs(lhs - rhs) < 1e-9 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
});

test('orthogonal_ gives orthonormal rows or columns', () => {
  for (const shape of [[4, 6], [6, 4], [5, 2, 3, 3]]) {
    const w = nn.init.orthogonal_(torch.empty(shape, { dtype: 'float64' }));
    const m = w.reshape(shape[0], -1);
    const gram = shape[0] <= m.shape[1] ? m.matmul(m.t()) : m.t().matmul(m);
    const eye = torch.eye(gram.shape[0], gram.shape[0], { dtype: 'float64' });
    assert.ok(gram.allclose(eye, 0, 1e-10), `shape ${shape}`);
  }
});

test('kaiming and xavier initializers have the advertised spread', () => {
  torch.manualSeed(1);
  const w = nn.init.kaimingNormal_(torch.empty([400, 250]), { nonlinearity: 'relu' });
  const std = w.std().item();
  assert.ok(Math.abs(std - Math.sqrt(2 / 250)) / Math.sqrt(2 / 250) < 0.02, `std ${std}`);
  const u = nn.init.xavierUniform_(torch.empty([300, 200]));
  const bound = Math.sqrt(6 / 500);
  assert.ok(u.abs().max().item() <= bound && u.abs().max().item() > 0.95 * bound);
});

class Doubler extends nn.Parametrization {
  calls = 0;
  forward(w: torch.Tensor): torch.Tensor { this.calls++; return w.mul(2); }
}

test('parametrizations use PyTorch names and are recomputed in training', () => {
  const lin = new nn.Linear(3, 2, { dtype: 'float64' });
  const raw = lin.getParameter('weight')!.clone();
  const step = new Doubler();
  nn.registerParametrization(lin, 'weight', step);
  assert.deepEqual([...lin.namedParameters()].map(([n]) => n), ['bias', 'parametrizations.weight.original']);
  assert.ok(lin.weight.equal(raw.mul(2)));
  const x = torch.randn([4, 3], { dtype: 'float64' });
  step.calls = 0;
  lin.forward(x).sum().backward();
  lin.forward(x);
  assert.equal(step.calls, 2, 'training with gradients recomputes the weight each use');
  const original = lin.getSubmodule('parametrizations.weight').getParameter('original')!;
  assert.ok(original.grad!.allclose(x.sum(0).unsqueeze(0).expand(2, 3).mul(2)), 'the gradient reaches the raw tensor');
});

test('parametrized weights are cached in eval and under noGrad until the raw tensor changes', () => {
  const lin = new nn.Linear(3, 2);
  const step = new Doubler();
  nn.registerParametrization(lin, 'weight', step);
  lin.eval();
  step.calls = 0;
  const x = torch.randn([4, 3]);
  lin.forward(x);
  lin.forward(x);
  assert.equal(step.calls, 1, 'eval mode computes the weight once');
  torch.noGrad(() => lin.getSubmodule('parametrizations.weight').getParameter('original')!.add_(1));
  const w = lin.weight;
  assert.equal(step.calls, 2, 'an in-place update invalidates the cache');
  lin.train();
  torch.noGrad(() => { lin.forward(x); lin.forward(x); });
  assert.equal(step.calls, 3, 'noGrad in training mode caches too');
  nn.cached(() => { lin.forward(x).sum().backward(); lin.forward(x); });
  assert.equal(step.calls, 4, 'cached() computes once with gradients on');
  assert.ok(w.shape.length === 2);
});

test('removeParametrization keeps the current value as a plain parameter', () => {
  const lin = new nn.Linear(3, 2);
  nn.registerParametrization(lin, 'weight', new Doubler());
  const value = lin.weight.clone();
  nn.removeParametrization(lin, 'weight');
  assert.deepEqual([...lin.namedParameters()].map(([n]) => n), ['bias', 'weight']);
  assert.ok(lin.weight.equal(value));
});
