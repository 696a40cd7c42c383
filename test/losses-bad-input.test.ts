// Issue #5's bad input, for every loss and the attack: logits with NaN,
// labels out of range, mismatched batch sizes, eps ≤ 0 — each a clear error
// naming the function and the problem, never a NaN result or a crash.
// (certificates, vra, the metrics and certify() are covered in
// certify-api.test.ts; the commands in cli-attack / cli-certify.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Module } from '../src/nn/index.js';
import {
  CosineLoss, CosineVRALoss, CrossEntropyLoss, HingeMarginLoss, LossXent, SoftHKRMulticlassLoss, attackL2, soundnessReport,
} from '../src/losses/index.js';
import type { CertifyResult } from '../src/losses/index.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;
const LOGITS = [[1.2, -0.3, 0.5, 0.1], [0.2, 0.9, 0.95, -1.1], [-0.4, 0.3, 0.0, 2.0]];
const LABELS = [0, 2, 3];
const labels = (values: number[], dtype: 'int64' | 'int32' = 'int64'): Tensor => torch.tensor(values, { dtype });

const LOSSES: [string, (f: Tensor, y: Tensor) => Tensor][] = [
  ['LossXent', (f, y) => new LossXent({ nClasses: 4 }).forward(f, y)],
  ['CosineLoss', (f, y) => new CosineLoss().forward(f, y)],
  ['CosineVRALoss', (f, y) => new CosineVRALoss().forward(f, y)],
  ['CosineVRALoss.softVRA', (f, y) => new CosineVRALoss().softVRA(f, y)],
  ['SoftHKRMulticlassLoss', (f, y) => new SoftHKRMulticlassLoss().forward(f, y)],
  ['HingeMarginLoss', (f, y) => new HingeMarginLoss().forward(f, y)],
  ['CrossEntropyLoss', (f, y) => new CrossEntropyLoss().forward(f, y)],
];

describe('every loss rejects bad logits and labels by name', () => {
  for (const [name, loss] of LOSSES) {
    test(name, () => torch.scope(() => {
      const f = torch.tensor(LOGITS, { dtype: 'float64' });
      // Valid input, int64 or int32 labels: a finite value.
      for (const dtype of ['int64', 'int32'] as const) assert.ok(loss(f, labels(LABELS, dtype)).isfinite().all().item(), `${name}: valid input`);
      const withNaN = torch.tensor([[1, NaN, 0, 0], [0, 1, 0, 0], [NaN, NaN, 0, 0]], { dtype: 'float64' });
      const escaped = name.replace('.', '\\.');
      assert.throws(() => loss(withNaN, labels(LABELS)), new RegExp(`^RangeError: ${escaped}: logits contain 3 NaN values \\(the model diverged`));
      assert.throws(() => loss(withNaN.narrow(0, 0, 1), labels([0])), new RegExp(`${escaped}: logits contain 1 NaN value \\(`));
      assert.throws(() => loss(f, labels([0, 4, 1])), new RegExp(`${escaped}: label 4 is out of range for 4 classes \\(labels must be in 0\\.\\.3\\)`));
      assert.throws(() => loss(f, labels([0, -1, 1], 'int32')), new RegExp(`${escaped}: label -1 is out of range for 4 classes`));
      assert.throws(() => loss(f, labels([0, 1])), new RegExp(`${escaped}: batch sizes differ: 3 rows of logits but 2 labels`));
      assert.throws(() => loss(f.narrow(0, 0, 2), labels(LABELS)), new RegExp(`${escaped}: batch sizes differ: 2 rows of logits but 3 labels`));
      assert.throws(() => loss(f, torch.tensor([[0, 1, 2]], { dtype: 'int64' })), new RegExp(`${escaped}: labels must be 1-d`));
      assert.throws(() => loss(f, torch.tensor(LABELS, { dtype: 'float32' })), new RegExp(`${escaped}: labels must be an integer tensor`));
      assert.throws(() => loss(f.flatten(), labels(LABELS)), new RegExp(`${escaped}: logits must have shape \\[batch, classes\\]`));
    }));
  }

  test('eps < 0 or not finite in CosineVRALoss; the out-of-range label is reported before NaN logits', () => {
    for (const eps of [-0.1, NaN, Infinity]) assert.throws(() => new CosineVRALoss({ eps }), /CosineVRALoss: eps must be a finite number ≥ 0/, `eps ${eps}`);
    torch.scope(() => {
      const withNaN = torch.tensor([[NaN, 0], [0, 1]]);
      assert.throws(() => new HingeMarginLoss().forward(withNaN, labels([0, 2])), /label 2 is out of range for 2 classes/);
    });
  });
});

/** A model whose logits are NaN for inputs with a negative first value. */
class NaNWhereNegative extends Module {
  forward(x: Tensor): Tensor {
    const logits = x.flatten(1).narrow(1, 0, 3);
    return torch.where(x.flatten(1).narrow(1, 0, 1).lt(0), torch.fullLike(logits, NaN), logits);
  }
}

describe('attackL2 and soundnessReport on bad input', () => {
  test('attackL2: NaN logits from the model are an error, not a silent "no adversarial found"', () => torch.scope(() => {
    const x = torch.tensor([[1, 0, 0, 0], [-1, 0, 0, 0]], { dtype: 'float64' });
    assert.throws(() => attackL2(new NaNWhereNegative(), x, labels([0, 1]), { eps: 0.1 }), /attackL2: clean logits contain 3 NaN values/);
    assert.throws(() => attackL2(new NaNWhereNegative(), x.abs(), labels([0, 5]), { eps: 0.1 }), /attackL2: label 5 is out of range for 3 classes/);
    for (const eps of ['0.1' as never, -1, 0]) assert.throws(() => attackL2(new NaNWhereNegative(), x, labels([0, 1]), { eps }), /eps/);
  }));

  const cert = (radii: number[], predictions: number[], labelsOf: number[]): CertifyResult => ({
    predictions, labels: labelsOf, radii, cleanAccuracy: NaN, certifiedAccuracy: [{ eps: 0.1, accuracy: NaN }], lastLayer: 'global', lipschitz: 1,
  });

  test('soundnessReport: hand-made cases', () => {
    // 0: certified 0.3, attacked at 0.45 (sound); 1: certified 0.2, fooled at 0.1 (violation);
    // 2: misclassified (distance 0); 3: certified 0.05, fooled at 0.0499999999 (within rounding tolerance);
    // 4: correct, radius 0.08, nothing found by the attack.
    const r = soundnessReport(cert([0.3, 0.2, -0.1, 0.05, 0.08], [1, 0, 2, 1, 0], [1, 0, 1, 1, 0]), [0.45, 0.1, 0, 0.0499999999, Infinity], { eps: [0.1, 0.25] });
    assert.equal(r.samples, 5);
    assert.equal(r.cleanAccuracy, 4 / 5);
    assert.equal(r.certified, 4);
    assert.deepEqual(r.violations, [{ index: 1, label: 0, radius: 0.2, attackDistance: 0.1 }]);
    assert.equal(r.withinTolerance, 1);
    assert.equal(r.ratio.min, 0.5);
    // Ratios over correct samples with an adversarial found: 1.5, 0.5, 0.999999998 (sample 4 has none).
    assert.ok(Math.abs(r.ratio.median - 0.999999998) < 1e-12, `median ${r.ratio.median}`);
    const [at01, at025] = r.perEps;
    // ε 0.1: certified 0 and 1 (2/5); not fooled within 0.1: 0 and 4 (2/5); correct but not certified: 3 and 4.
    assert.deepEqual([at01.certifiedAccuracy, at01.robustAccuracy, at01.uncertified, at01.broken], [2 / 5, 2 / 5, 2, 1]);
    assert.equal(at01.medianAttackDistance, 0.0499999999);
    assert.equal(at01.medianRadius, (0.05 + 0.08) / 2);
    // ε 0.25: certified 0 only; not fooled within 0.25: 0 and 4; open: 1, 3, 4 (two fooled within 0.25).
    assert.deepEqual([at025.certifiedAccuracy, at025.robustAccuracy, at025.uncertified, at025.broken], [1 / 5, 2 / 5, 3, 2]);
    assert.equal(at025.medianRadius, 0.08);
  });

  test('soundnessReport: mismatched lengths, bad distances, bad eps', () => {
    const c = cert([0.3, 0.2], [0, 1], [0, 1]);
    assert.throws(() => soundnessReport(c, [0.4]), /2 certified samples but 1 attack distances/);
    assert.throws(() => soundnessReport(c, [0.4, NaN]), /attack distance 1 must be a number ≥ 0/);
    assert.throws(() => soundnessReport(c, [0.4, -1]), /attack distance 1 must be a number ≥ 0/);
    assert.throws(() => soundnessReport(c, [0.4, 0.3], { eps: [0.1, 0] }), /eps\[1\] must be a finite number > 0/);
    assert.throws(() => soundnessReport(c, [0.4, 0.3], { tolerance: { relative: -1 } }), /tolerance\.relative must be a finite number ≥ 0/);
  });
});
