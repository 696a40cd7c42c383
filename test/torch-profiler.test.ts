// torch.profile: per-operator times from libtorch's hooks, forward and
// backward, self times adding up to libtorch's share, shapes on request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';

const { F, scope } = torch;

function trainingStep(): void {
  scope(() => {
    const x = torch.randn([2, 3, 8, 8]);
    const w = torch.randn([4, 3, 3, 3], { requiresGrad: true });
    for (let i = 0; i < 3; i++) F.conv2d(x, w, { padding: 1 }).relu().sum().backward();
  });
}

test('profile times every operator of forward and backward; self times add up to the time inside libtorch', () => {
  const { profile: p } = torch.profile(trainingStep);
  const byName = new Map(p.ops.map((o) => [o.name, o]));
  assert.equal(byName.get('aten::conv2d')?.calls, 3);
  assert.ok(p.ops.some((o) => /ConvolutionBackward/.test(o.name)), `no backward node among ${p.ops.map((o) => o.name).join(', ')}`);
  for (const o of p.ops) {
    assert.ok(o.selfSeconds <= o.totalSeconds + 1e-9 && o.selfSeconds >= -1e-9, `${o.name}: self ${o.selfSeconds} total ${o.totalSeconds}`);
  }
  const selfSum = p.ops.reduce((s, o) => s + o.selfSeconds, 0);
  assert.ok(Math.abs(selfSum - p.libtorchSeconds) <= 1e-6 + 1e-6 * p.libtorchSeconds, `self ${selfSum} vs libtorch ${p.libtorchSeconds}`);
  assert.ok(p.libtorchSeconds <= p.wallSeconds);
  for (let i = 1; i < p.ops.length; i++) assert.ok(p.ops[i - 1]!.selfSeconds >= p.ops[i]!.selfSeconds, 'sorted by self time');
  const table = torch.formatProfile(p, 5);
  assert.match(table, /^operator/);
  assert.match(table, /outside libtorch/);
  assert.equal(table.split('\n').length, 1 + Math.min(5, p.ops.length) + 2);
});

test('recordShapes groups operators by their input shapes', () => {
  const { profile: p } = torch.profile(() => scope(() => {
    F.conv2d(torch.randn([2, 3, 8, 8]), torch.randn([4, 3, 3, 3]));
    F.conv2d(torch.randn([1, 3, 5, 5]), torch.randn([4, 3, 3, 3]));
  }), { recordShapes: true });
  const convs = p.ops.filter((o) => o.name === 'aten::conv2d');
  assert.equal(convs.length, 2);
  assert.ok(convs.some((o) => o.inputShapes!.startsWith('[2, 3, 8, 8], [4, 3, 3, 3]')));
  assert.ok(convs.some((o) => o.inputShapes!.startsWith('[1, 3, 5, 5], [4, 3, 3, 3]')));
});

test('a function that throws stops the profile; nesting is refused with a clear error', () => {
  assert.throws(() => torch.profile(() => { throw new Error('boom'); }), /boom/);
  assert.throws(() => torch.profile(() => torch.profile(() => 1)), /already being recorded/);
  assert.equal(torch.profile(() => 7).value, 7, 'the profiler was left stopped after the errors');
});
