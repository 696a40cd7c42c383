// torch.backends and the float32 matmul precision: libtorch's own switches,
// read and written through the addon; PyTorch's defaults and couplings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Trainer } from '../src/train/index.js';
import { attackL2, certify } from '../src/losses/index.js';
import { Linear } from '../src/nn/index.js';

/** Runs `fn` and puts every switch back as it was. */
function preserving(fn: () => void): void {
  const saved = {
    benchmark: torch.backends.cudnn.benchmark, deterministic: torch.backends.cudnn.deterministic,
    allowTF32: torch.backends.cudnn.allowTF32, precision: torch.getFloat32MatmulPrecision(),
    algorithms: torch.areDeterministicAlgorithmsEnabled(), warnOnly: torch.isDeterministicAlgorithmsWarnOnlyEnabled(),
  };
  try {
    fn();
  } finally {
    torch.backends.cudnn.benchmark = saved.benchmark;
    torch.backends.cudnn.deterministic = saved.deterministic;
    torch.backends.cudnn.allowTF32 = saved.allowTF32;
    torch.setFloat32MatmulPrecision(saved.precision);
    torch.useDeterministicAlgorithms(saved.algorithms, { warnOnly: saved.warnOnly });
  }
}

test("PyTorch's defaults: no cuDNN benchmark, TF32 in cuDNN but not in matmuls, 'highest' precision, nondeterministic allowed", () => {
  assert.equal(torch.backends.cudnn.benchmark, false);
  assert.equal(torch.backends.cudnn.deterministic, false);
  assert.equal(torch.backends.cudnn.allowTF32, true);
  assert.equal(torch.backends.cuda.matmul.allowTF32, false);
  assert.equal(torch.getFloat32MatmulPrecision(), 'highest');
  assert.equal(torch.areDeterministicAlgorithmsEnabled(), false);
});

test('each switch reads back what was set, and bad values are named', () => preserving(() => {
  for (const value of [true, false]) {
    torch.backends.cudnn.benchmark = value;
    assert.equal(torch.backends.cudnn.benchmark, value);
    torch.backends.cudnn.deterministic = value;
    assert.equal(torch.backends.cudnn.deterministic, value);
    torch.backends.cudnn.allowTF32 = !value;
    assert.equal(torch.backends.cudnn.allowTF32, !value);
  }
  torch.useDeterministicAlgorithms(true, { warnOnly: true });
  assert.deepEqual([torch.areDeterministicAlgorithmsEnabled(), torch.isDeterministicAlgorithmsWarnOnlyEnabled()], [true, true]);
  torch.useDeterministicAlgorithms(false);
  assert.deepEqual([torch.areDeterministicAlgorithmsEnabled(), torch.isDeterministicAlgorithmsWarnOnlyEnabled()], [false, false]);
  assert.throws(() => { torch.backends.cudnn.benchmark = 1 as unknown as boolean; }, /backends\.cudnn\.benchmark must be true or false, got 1/);
  assert.throws(() => torch.setFloat32MatmulPrecision('low' as never), /must be 'highest', 'high' or 'medium', got 'low'/);
  assert.throws(() => torch.useDeterministicAlgorithms('yes' as never), /useDeterministicAlgorithms: mode must be true or false/);
}));

test("the matmul precision drives libtorch's TF32 switch for matmuls, as in PyTorch", () => preserving(() => {
  torch.setFloat32MatmulPrecision('medium');
  assert.equal(torch.getFloat32MatmulPrecision(), 'medium');
  assert.equal(torch.backends.cuda.matmul.allowTF32, true);
  torch.setFloat32MatmulPrecision('highest');
  assert.equal(torch.backends.cuda.matmul.allowTF32, false);
  torch.backends.cuda.matmul.allowTF32 = true;
  assert.equal(torch.getFloat32MatmulPrecision(), 'high');
}));

test("Trainer({ benchmark, deterministic }) sets them, as Lightning's Trainer does", () => preserving(() => {
  new Trainer({ benchmark: true, deterministic: true });
  assert.equal(torch.backends.cudnn.benchmark, true);
  assert.equal(torch.areDeterministicAlgorithmsEnabled(), true);
  new Trainer({ deterministic: 'warn' });
  assert.deepEqual([torch.areDeterministicAlgorithmsEnabled(), torch.isDeterministicAlgorithmsWarnOnlyEnabled()], [true, true]);
  new Trainer({ benchmark: false, deterministic: false });
  assert.deepEqual([torch.backends.cudnn.benchmark, torch.areDeterministicAlgorithmsEnabled()], [false, false]);
  assert.throws(() => new Trainer({ deterministic: 'sometimes' as never }), /deterministic must be true, false or 'warn'/);
  assert.throws(() => new Trainer({ benchmark: 'yes' as never }), /benchmark must be true or false/);
}));

test('withFullFloat32Precision and certify() compute in full float32 and restore the switches, even on error', () => preserving(() => {
  torch.setFloat32MatmulPrecision('medium');
  torch.backends.cudnn.allowTF32 = true;
  const inside = torch.withFullFloat32Precision(() => [torch.getFloat32MatmulPrecision(), torch.backends.cudnn.allowTF32, torch.backends.cuda.matmul.allowTF32]);
  assert.deepEqual(inside, ['highest', false, false]);
  assert.deepEqual([torch.getFloat32MatmulPrecision(), torch.backends.cudnn.allowTF32], ['medium', true]);
  assert.throws(() => torch.withFullFloat32Precision(() => { throw new Error('boom'); }), /boom/);
  assert.deepEqual([torch.getFloat32MatmulPrecision(), torch.backends.cudnn.allowTF32], ['medium', true]);
  // certify() reads the logits under full precision although the run trains under 'medium'.
  torch.scope(() => {
    const seen: string[] = [];
    const model = new Linear(4, 3);
    certify(model, { x: torch.randn([5, 4]), y: torch.tensor([0, 1, 2, 0, 1], { dtype: 'int64' }) }, {
      eps: [0.1], lastLayer: 'global', onLogits: () => seen.push(`${torch.getFloat32MatmulPrecision()} ${torch.backends.cudnn.allowTF32}`),
    });
    assert.deepEqual(seen, ['highest false']);
    model.dispose();
  });
  assert.equal(torch.getFloat32MatmulPrecision(), 'medium');
}));

test('attackL2 computes in full float32 too (a TF32 forward could show a flip the exact network does not make)', () => preserving(() => {
  torch.setFloat32MatmulPrecision('medium');
  const seen = new Set<string>();
  class Spy extends Linear {
    override forward(x: torch.Tensor): torch.Tensor {
      seen.add(`${torch.getFloat32MatmulPrecision()} ${torch.backends.cudnn.allowTF32}`);
      return super.forward(x);
    }
  }
  torch.scope(() => {
    torch.manualSeed(2);
    const model = new Spy(4, 3);
    attackL2(model, torch.rand([6, 4]), torch.tensor([0, 1, 2, 0, 1, 2], { dtype: 'int64' }), { eps: [0.5], restarts: 1, steps: 3 });
    model.dispose();
  });
  assert.deepEqual([...seen], ['highest false']);
  assert.equal(torch.getFloat32MatmulPrecision(), 'medium');
}));
