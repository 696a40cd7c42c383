// CPU autocast (bfloat16): which ops run in reduced precision, and that
// regions nest and restore the previous state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertClose } from './helpers/gradcheck.js';

const { scope, F } = torch;

test('matmul, linear and conv2d give bfloat16 inside autocast, float32 outside', () => scope(() => {
  torch.manualSeed(3);
  const a = torch.randn([4, 5]);
  const b = torch.randn([5, 3]);
  const x = torch.randn([1, 2, 6, 6]);
  const w = torch.randn([3, 2, 3, 3]);
  const inside = torch.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => ({
    mm: a.matmul(b),
    lin: F.linear(a, b.t()),
    conv: F.conv2d(x, w, { padding: 1 }),
    // Elementwise ops are not autocast: they keep their input's dtype.
    add: a.add(1),
  }));
  assert.equal(inside.mm.dtype, 'bfloat16');
  assert.equal(inside.lin.dtype, 'bfloat16');
  assert.equal(inside.conv.dtype, 'bfloat16');
  assert.equal(inside.add.dtype, 'float32');
  const mm = a.matmul(b);
  const conv = F.conv2d(x, w, { padding: 1 });
  assert.equal(mm.dtype, 'float32');
  assert.equal(conv.dtype, 'float32');
  // The reduced-precision result is close to the full one (bfloat16: 8 significant bits).
  assertClose(inside.mm.toFlatArray(), mm.toFlatArray(), { atol: 0.1, rtol: 0.02 });
  assertClose(inside.conv.toFlatArray(), conv.toFlatArray(), { atol: 0.2, rtol: 0.03 });
  // ... and genuinely rounded: not identical to the float32 result.
  assert.notDeepEqual(inside.mm.toFlatArray(), mm.toFlatArray());
  // The default options are CPU bfloat16 too.
  assert.equal(torch.autocast({}, () => a.matmul(b)).dtype, 'bfloat16');
}));

test('nested regions restore the enclosing state; enabled: false switches autocast off inside', () => scope(() => {
  const a = torch.ones([2, 2]);
  const dtypes: string[] = [];
  const probe = () => dtypes.push(a.matmul(a).dtype);
  probe(); // float32
  torch.autocast({}, () => {
    probe(); // bfloat16
    torch.autocast({}, () => probe()); // bfloat16
    probe(); // still bfloat16 after an inner region
    torch.autocast({ enabled: false }, () => {
      probe(); // float32 in a disabled region
      torch.autocast({}, () => probe()); // bfloat16 again
      probe(); // float32
    });
    probe(); // bfloat16 restored
  });
  probe(); // float32
  assert.deepEqual(dtypes, ['float32', 'bfloat16', 'bfloat16', 'bfloat16', 'float32', 'bfloat16', 'float32', 'bfloat16', 'float32']);
  // A disabled region outside any autocast is a no-op.
  assert.equal(torch.autocast({ enabled: false }, () => a.matmul(a)).dtype, 'float32');
}));

test('autocast state is restored when the body throws, and returns its value', () => scope(() => {
  const a = torch.ones([2, 2]);
  assert.throws(() => torch.autocast({}, () => { throw new Error('inside'); }), /inside/);
  assert.equal(a.matmul(a).dtype, 'float32');
  torch.autocast({}, () => {
    assert.throws(() => torch.autocast({ enabled: false }, () => { throw new Error('inner'); }), /inner/);
    assert.equal(a.matmul(a).dtype, 'bfloat16', 'enabled again after the disabled region threw');
  });
  assert.equal(a.matmul(a).dtype, 'float32');
  assert.equal(torch.autocast({}, () => 42), 42);
  assert.throws(() => torch.autocast({ dtype: 'float16' }, () => 0), /bfloat16 only/);
  assert.equal(a.matmul(a).dtype, 'float32', 'a refused region changes nothing');
}));

test('gradients flow through autocast regions back to float32 parameters', () => scope(() => {
  torch.manualSeed(5);
  const w = torch.randn([3, 4], { requiresGrad: true });
  const x = torch.randn([2, 4]);
  const loss = torch.autocast({}, () => F.linear(x, w).float().pow(2).sum());
  assert.equal(loss.dtype, 'float32');
  loss.backward();
  const g = w.grad!;
  assert.equal(g.dtype, 'float32', 'the gradient has the parameter dtype');
  // Compare with the float32 gradient: 2 (x wᵀ)ᵀ x.
  const ref = F.linear(x, w).mul(2).t().matmul(x);
  assertClose(g.toFlatArray(), ref.toFlatArray(), { atol: 0.15, rtol: 0.05 });
}));

test('orthogonal layers build their kernels in float32 under autocast, so a kernel cached there serves plain float32 calls', async () => {
  const { AdaptiveOrthoConv2d } = await import('../src/ortho/index.js');
  scope(() => {
    torch.manualSeed(4);
    for (const kernelSize of [1, 3]) {
      const layer = AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 8, kernelSize, groups: 2, bias: false });
      layer.eval();
      const x = torch.randn([2, 4, 6, 6]);
      const mixed = torch.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => {
        assert.equal(layer.weight.dtype, 'float32', 'the kernel stays float32 under autocast');
        return torch.noGrad(() => layer.forward(x));
      });
      assert.equal(mixed.dtype, 'bfloat16', 'the convolution itself runs in bfloat16');
      // The kernel cached during the autocast call must serve a float32 call (this used to fail with a dtype mismatch).
      const plain = torch.noGrad(() => layer.forward(x));
      assert.equal(plain.dtype, 'float32');
      assert.ok(plain.sub(mixed.float()).abs().max().item() < 0.1, 'bf16 and float32 outputs agree to bf16 precision');
      // Orthogonal to float32 accuracy: WᵀW = I for the [out, in/g·k·k] rows of a k=1 kernel.
      if (kernelSize === 1) {
        const w = layer.weight.reshape([2, 4, 2]);
        const gram = w.mT.matmul(w);
        assert.ok(gram.sub(torch.eye(2).expand([2, 2, 2])).abs().max().item() < 1e-5);
      }
    }
  });
});
