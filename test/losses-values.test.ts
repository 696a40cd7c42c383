// Every loss of src/losses against its definition (Orthogonium's losses.py)
// computed by hand in plain JS on small float64 logits, including the
// gradients with respect to the logits, and the errors on bad input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  CosineLoss, CosineVRALoss, CrossEntropyLoss, DEFAULT_CERTIFICATE_EPS, HingeMarginLoss, LossXent, SoftHKRMulticlassLoss, certificates, verified, vra,
} from '../src/losses/index.js';
import { gradcheck } from './helpers/gradcheck.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;

const LOGITS = [
  [1.2, -0.3, 0.5, 0.1],
  [0.2, 0.9, 0.95, -1.1],
  [-0.4, 0.3, 0.0, 2.0],
  [0.7, 0.7, -0.2, 0.4],
];
const LABELS = [0, 2, 1, 1];

const close = (actual: number, expected: number, tol = 1e-10, what = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
};
const closeArrays = (actual: number[], expected: number[], tol = 1e-10, what = ''): void => {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  actual.forEach((a, i) => close(a, expected[i], tol, `${what}[${i}]`));
};

// ---- plain JS definitions -------------------------------------------------------
const softmax = (z: number[]): number[] => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const logSumExp = (z: number[]): number => {
  const m = Math.max(...z);
  return m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
};
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const norm = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + b * b, 0));

function jsLossXent(f: number[][], y: number[], offset: number, T: number): { loss: number; grad: number[][] } {
  const n = f.length;
  let total = 0;
  const grad = f.map((row, i) => {
    const z = row.map((v, j) => (v - (j === y[i] ? offset : 0)) / T);
    total += (logSumExp(z) - z[y[i]]) * T;
    // d/df_j [T·CE(z)] = T · (p_j − [j=y]) / T, averaged over the batch.
    return softmax(z).map((p, j) => (p - (j === y[i] ? 1 : 0)) / n);
  });
  return { loss: total / n, grad };
}

function jsCosine(f: number[][], y: number[]): { loss: number; grad: number[][] } {
  const n = f.length;
  const grad = f.map((row, i) => {
    const r = norm(row);
    return row.map((v, j) => -((j === y[i] ? 1 : 0) / r - (row[y[i]] * v) / r ** 3) / n);
  });
  return { loss: -mean(f.map((row, i) => row[y[i]] / norm(row))), grad };
}

function jsCosineVRA(f: number[][], y: number[], gamma: number, L: number, eps: number, type: 'global' | 'classwise'): number {
  const den = type === 'global' ? Math.SQRT2 * L : 2 * L;
  return mean(f.map((row, i) => {
    const cos = row[y[i]] / norm(row);
    const shortfalls = row.filter((_, j) => j !== y[i]).map((v) => Math.max(0, eps - (row[y[i]] - v) / den));
    const w = softmax(shortfalls);
    const soft = shortfalls.reduce((a, s, k) => a + s * w[k], 0);
    return -(1 - gamma) * cos + gamma * soft;
  }));
}

/** Orthogonium's SoftHKRMulticlassLoss with its running mean, call after call. */
class JsSoftHKR {
  currentMean: number;
  constructor(readonly alpha: number, readonly minMargin: number, readonly alphaMean: number, readonly temperature: number) {
    this.currentMean = minMargin;
  }
  call(f: number[][], y: number[]): { loss: number; grad: number[][] } {
    const n = f.length;
    const batchMean = mean(f.flat().map(Math.abs));
    const updated = this.alphaMean * this.currentMean + (1 - this.alphaMean) * batchMean;
    this.currentMean = Math.min(1000, Math.max(0.005, updated));
    const total = Math.min(20000, Math.max(this.minMargin, updated));
    const tau = Math.min(250, Math.max(0.005, (this.temperature * this.minMargin) / total));
    let loss = 0;
    const grad = f.map((row, i) => {
      const others = row.map((v, j) => (j === y[i] ? -Infinity : tau * v));
      const w = softmax(others).map((p, j) => (j === y[i] ? 1 : p));
      const sign = row.map((_, j) => (j === y[i] ? 1 : -1));
      const s = row.map((v, j) => v * sign[j]);
      const kr = -s.reduce((a, v, j) => a + v * w[j], 0);
      const hingeTerms = s.map((v) => Math.max(0, this.minMargin / 2 - v));
      const hinge = hingeTerms.reduce((a, h, j) => a + h * w[j], 0);
      loss += (1 - this.alpha) * kr + this.alpha * hinge;
      // The weights carry no gradient: d s_j / d f_j = sign_j.
      return row.map((_, j) => ((1 - this.alpha) * -sign[j] * w[j] + this.alpha * (hingeTerms[j] > 0 ? -sign[j] * w[j] : 0)) / n);
    });
    return { loss: loss / n, grad };
  }
}

function jsHinge(f: number[][], y: number[], margin: number): { loss: number; grad: number[][] } {
  const n = f.length;
  let loss = 0;
  const grad = f.map((row, i) => {
    let k = -1;
    row.forEach((v, j) => { if (j !== y[i] && (k < 0 || v > row[k])) k = j; });
    const h = margin - (row[y[i]] - row[k]);
    loss += Math.max(0, h);
    return row.map((_, j) => (h > 0 ? ((j === y[i] ? -1 : 0) + (j === k ? 1 : 0)) / n : 0));
  });
  return { loss: loss / n, grad };
}

function jsCrossEntropy(f: number[][], y: number[], ls: number): number {
  return mean(f.map((row, i) => {
    const logp = row.map((v) => v - logSumExp(row));
    return -(1 - ls) * logp[y[i]] - (ls / row.length) * logp.reduce((a, b) => a + b, 0);
  }));
}

// ---- helpers ------------------------------------------------------------------------
function evaluate(loss: (f: Tensor, y: Tensor) => Tensor, f: number[][] = LOGITS, y: number[] = LABELS): { value: number; grad: number[][] } {
  return torch.scope(() => {
    const logits = torch.tensor(f, { dtype: 'float64', requiresGrad: true });
    const labels = torch.tensor(y, { dtype: 'int64' });
    const out = loss(logits, labels);
    assert.deepEqual(out.shape, [], 'a loss must return a 0-d tensor');
    const [g] = torch.autograd.grad(out, logits);
    return { value: out.item(), grad: g!.toArray() as number[][] };
  });
}

const checkGrad = (actual: number[][], expected: number[][], what: string, tol = 1e-10): void => closeArrays(actual.flat(), expected.flat(), tol, what);

describe('LossXent', () => {
  test('default offset 2.12132 and temperature 0.25: value and gradient', () => {
    const ref = jsLossXent(LOGITS, LABELS, 2.12132, 0.25);
    const loss = new LossXent({ nClasses: 4 });
    assert.equal(loss.offset, 2.12132);
    assert.equal(loss.temperature, 0.25);
    const got = evaluate((f, y) => loss.forward(f, y));
    close(got.value, ref.loss, 1e-12, 'value');
    checkGrad(got.grad, ref.grad, 'gradient');
  });
  test('custom offset and temperature (the seed recipe √2/0.1983·36/255)', () => {
    const offset = (Math.SQRT2 / 0.1983) * (36 / 255);
    const ref = jsLossXent(LOGITS, LABELS, offset, 1.5);
    const got = evaluate((f, y) => new LossXent({ nClasses: 4, offset, temperature: 1.5 }).forward(f, y));
    close(got.value, ref.loss, 1e-12, 'value');
    checkGrad(got.grad, ref.grad, 'gradient');
  });
  test('offset 0 and temperature 1 is plain cross-entropy', () => {
    const got = evaluate((f, y) => new LossXent({ nClasses: 4, offset: 0, temperature: 1 }).forward(f, y));
    close(got.value, jsCrossEntropy(LOGITS, LABELS, 0), 1e-12, 'value');
  });
  test('float32 logits and int32 labels work', () => {
    const v = torch.scope(() => new LossXent({ nClasses: 4 }).forward(torch.tensor(LOGITS), torch.tensor(LABELS, { dtype: 'int32' })).item());
    close(v, jsLossXent(LOGITS, LABELS, 2.12132, 0.25).loss, 1e-6, 'float32 value');
  });
  test('bad options and inputs', () => {
    assert.throws(() => new LossXent({ nClasses: 1 }), /nClasses must be an integer ≥ 2/);
    assert.throws(() => new LossXent({ nClasses: 4, temperature: 0 }), /temperature must be > 0/);
    assert.throws(() => new LossXent({ nClasses: 4, offset: NaN }), /offset must be a finite number/);
    const loss = new LossXent({ nClasses: 4 });
    torch.scope(() => {
      assert.throws(() => loss.forward(torch.tensor(LOGITS), torch.tensor([0, 1, 4, 1], { dtype: 'int64' })), /label 4 is out of range for 4 classes/);
      assert.throws(() => loss.forward(torch.tensor(LOGITS), torch.tensor([0, 1, -1, 1], { dtype: 'int64' })), /label -1 is out of range/);
      assert.throws(() => loss.forward(torch.tensor(LOGITS), torch.tensor([0, 1, 2], { dtype: 'int64' })), /batch sizes differ: 4 rows of logits but 3 labels/);
      assert.throws(() => loss.forward(torch.tensor(LOGITS), torch.tensor([0, 1, 2, 1])), /labels must be an integer tensor.*float32/);
      assert.throws(() => loss.forward(torch.tensor([1, 2, 3, 4]), torch.tensor([0], { dtype: 'int64' })), /logits must have shape \[batch, classes\]/);
      assert.throws(() => new LossXent({ nClasses: 3 }).forward(torch.tensor(LOGITS), torch.tensor(LABELS, { dtype: 'int64' })), /built for 3 classes but the logits have 4/);
    });
  });
});

describe('CosineLoss', () => {
  test('value −mean(f_y/‖f‖) and gradient', () => {
    const ref = jsCosine(LOGITS, LABELS);
    const got = evaluate((f, y) => new CosineLoss().forward(f, y));
    close(got.value, ref.loss, 1e-12, 'value');
    checkGrad(got.grad, ref.grad, 'gradient');
  });
});

describe('CosineVRALoss', () => {
  test('defaults: gamma 0.1, L 1, eps 36/255, classwise', () => {
    const loss = new CosineVRALoss();
    assert.deepEqual([loss.gamma, loss.L, loss.eps, loss.lastLayerType], [0.1, 1, 36 / 255, 'classwise']);
    const got = evaluate((f, y) => loss.forward(f, y));
    close(got.value, jsCosineVRA(LOGITS, LABELS, 0.1, 1, 36 / 255, 'classwise'), 1e-12, 'value');
  });
  test('global head, L and eps large enough that the shortfalls matter, gamma override at call time', () => {
    const loss = new CosineVRALoss({ gamma: 0.3, L: 2, eps: 0.5, lastLayerType: 'global' });
    close(evaluate((f, y) => loss.forward(f, y)).value, jsCosineVRA(LOGITS, LABELS, 0.3, 2, 0.5, 'global'), 1e-12, 'gamma 0.3');
    close(evaluate((f, y) => loss.forward(f, y, 0.8)).value, jsCosineVRA(LOGITS, LABELS, 0.8, 2, 0.5, 'global'), 1e-12, 'gamma 0.8 at call');
    const soft = torch.scope(() => loss.softVRA(torch.tensor(LOGITS, { dtype: 'float64' }), torch.tensor(LABELS, { dtype: 'int64' })).toFlatArray());
    const expected = LOGITS.map((row, i) => {
      const s = row.filter((_, j) => j !== LABELS[i]).map((v) => Math.max(0, 0.5 - (row[LABELS[i]] - v) / (Math.SQRT2 * 2)));
      const w = softmax(s);
      return s.reduce((a, v, k) => a + v * w[k], 0);
    });
    closeArrays(soft, expected, 1e-12, 'softVRA per sample');
  });
  test('gradient matches finite differences (float64)', () => {
    const loss = new CosineVRALoss({ gamma: 0.4, eps: 0.6, lastLayerType: 'global' });
    torch.scope(() => {
      const labels = torch.tensor(LABELS, { dtype: 'int64' });
      gradcheck((f) => loss.forward(f, labels), [torch.tensor(LOGITS, { dtype: 'float64', requiresGrad: true })], { rtol: 1e-5, atol: 1e-7 });
    });
  });
  test('bad options', () => {
    assert.throws(() => new CosineVRALoss({ lastLayerType: 'unknown' as never }), /lastLayer must be 'global'.*or 'classwise'/);
    assert.throws(() => new CosineVRALoss({ L: 0 }), /lipschitz must be a finite number > 0/);
  });
});

describe('SoftHKRMulticlassLoss', () => {
  const cases: [string, number, number, number, number][] = [
    ['default alpha 0.9', 0.9, 1, 0.99, 1],
    ['alpha 1: hinge only', 1, 1, 0.99, 1],
    ['alpha 0: KR only', 0, 1, 0.99, 1],
    ['alpha 0.5, margin 0.7, fast mean, temperature 3', 0.5, 0.7, 0.5, 3],
    ['margin 4 (clamps the mean up to minMargin)', 0.8, 4, 0.9, 2],
  ];
  for (const [name, alpha, minMargin, alphaMean, temperature] of cases) {
    test(`${name}: three successive calls, values, gradients and the running-mean buffer`, () => {
      const loss = alpha === 0.9 && minMargin === 1 && alphaMean === 0.99 && temperature === 1
        ? new SoftHKRMulticlassLoss()
        : new SoftHKRMulticlassLoss({ alpha, minMargin, alphaMean, temperature });
      const ref = new JsSoftHKR(alpha, minMargin, alphaMean, temperature);
      close(torch.scope(() => loss.currentMean.item()), minMargin, 1e-7, 'initial mean');
      const batches = [LOGITS, LOGITS.map((r) => r.map((v) => 3 * v - 0.5)), LOGITS.map((r) => r.map((v) => -2 * v))];
      for (const [k, f] of batches.entries()) {
        const expected = ref.call(f, LABELS);
        const got = evaluate((t, y) => loss.forward(t, y), f);
        close(got.value, expected.loss, 1e-6, `call ${k} value`);
        // The running mean is float32 (as in Orthogonium), so the softmax temperature is good to ~1e-7.
        checkGrad(got.grad, expected.grad, `call ${k} gradient`, 1e-6);
        close(torch.scope(() => loss.currentMean.item()), ref.currentMean, 1e-6, `call ${k} running mean`);
      }
    });
  }
  test('eval mode freezes the running mean', () => {
    const loss = new SoftHKRMulticlassLoss({ alpha: 0.5 });
    const ref = new JsSoftHKR(0.5, 1, 0.99, 1);
    const big = LOGITS.map((r) => r.map((v) => 50 * v));
    evaluate((t, y) => loss.forward(t, y), big);
    ref.call(big, LABELS);
    const before = torch.scope(() => loss.currentMean.item());
    close(before, ref.currentMean, 1e-6, 'after training call');
    loss.eval();
    evaluate((t, y) => loss.forward(t, y), big);
    assert.equal(torch.scope(() => loss.currentMean.item()), before, 'the mean moved in eval mode');
    assert.ok([...loss.namedBuffers()].some(([n]) => n === 'currentMean'), 'currentMean is a buffer');
    assert.ok(loss.stateDict().has('currentMean'));
  });
  test('alpha outside [0, 1] is refused (Orthogonium’s 10.0 default would fail its own assert)', () => {
    assert.throws(() => new SoftHKRMulticlassLoss({ alpha: 10 }), /alpha must be in \[0, 1\].*10 \/ \(1 \+ 10\)/);
    assert.throws(() => new SoftHKRMulticlassLoss({ alpha: -0.1 }), /alpha must be in \[0, 1\]/);
    assert.throws(() => new SoftHKRMulticlassLoss({ minMargin: 0 }), /minMargin must be > 0/);
    assert.equal(new SoftHKRMulticlassLoss().alpha, 0.9);
  });
});

describe('HingeMarginLoss', () => {
  for (const margin of [1, 0.3, 0]) {
    test(`margin ${margin}: mean relu(margin − (f_y − max_{i≠y} f_i)) and gradient`, () => {
      const ref = jsHinge(LOGITS, LABELS, margin);
      const got = evaluate((f, y) => new HingeMarginLoss({ margin }).forward(f, y));
      close(got.value, ref.loss, 1e-12, 'value');
      checkGrad(got.grad, ref.grad, 'gradient');
    });
  }
  test('negative margin is refused', () => assert.throws(() => new HingeMarginLoss({ margin: -1 }), /margin must be a finite number ≥ 0/));
});

describe('CrossEntropyLoss', () => {
  for (const ls of [0, 0.1, 0.5]) {
    test(`label smoothing ${ls}`, () => {
      close(evaluate((f, y) => new CrossEntropyLoss({ labelSmoothing: ls }).forward(f, y)).value, jsCrossEntropy(LOGITS, LABELS, ls), 1e-12, 'value');
    });
  }
  test('gradient of the unsmoothed loss is (softmax − onehot)/N', () => {
    const got = evaluate((f, y) => new CrossEntropyLoss().forward(f, y));
    checkGrad(got.grad, LOGITS.map((row, i) => softmax(row).map((p, j) => (p - (j === LABELS[i] ? 1 : 0)) / LOGITS.length)), 'gradient');
  });
  test('smoothing outside [0, 1] is refused', () => assert.throws(() => new CrossEntropyLoss({ labelSmoothing: 1.5 }), /labelSmoothing must be in \[0, 1\]/));
});

test('losses free their intermediates (no tensors left behind beyond the result)', () => {
  const losses = [new LossXent({ nClasses: 4 }), new CosineLoss(), new CosineVRALoss(), new SoftHKRMulticlassLoss(), new HingeMarginLoss(), new CrossEntropyLoss()];
  torch.scope(() => {
    const f = torch.tensor(LOGITS, { dtype: 'float64' });
    const y = torch.tensor(LABELS, { dtype: 'int64' });
    for (const loss of losses) {
      const before = torch.memoryStats().liveTensors;
      const out = loss.forward(f, y);
      assert.equal(torch.memoryStats().liveTensors, before + 1, `${loss.typeName} left tensors alive`);
      out.dispose();
    }
  });
});

describe('differentiable certificates (Orthogonium\'s VRA(..., return_certs=True))', () => {
  const labels = () => torch.tensor(LABELS, { dtype: 'int64' });
  // LOGITS has a tie among the runners-up of sample 3 (0.7, 0.7 with label 1): move it off the tie for the check.
  const logits = LOGITS.map((r, i) => (i === 3 ? [0.7, 0.75, -0.2, 0.4] : r));

  for (const [lastLayer, lipschitz] of [['global', 1], ['classwise', 2.5]] as const) {
    test(`${lastLayer}, L = ${lipschitz}: float64 finite-difference gradient w.r.t. the logits`, () => {
      const report = gradcheck((f) => certificates(f, labels(), { lastLayer, lipschitz, differentiable: true }),
        [torch.tensor(logits, { dtype: 'float64', requiresGrad: true })]);
      assert.equal(report.checked, 16);
    });
  }

  test('the gradient is ±1/den at the true class and the runner-up, 0 elsewhere; values equal the detached ones', () => torch.scope(() => {
    const f = torch.tensor(logits, { dtype: 'float64', requiresGrad: true });
    const certs = certificates(f, labels(), { lastLayer: 'global', differentiable: true });
    assert.ok(certs.requiresGrad);
    assert.deepEqual(certs.toFlatArray(), certificates(f, labels(), { lastLayer: 'global' }).toFlatArray());
    certs.sum().backward();
    const g = f.grad!.toArray() as number[][];
    const den = Math.SQRT2;
    logits.forEach((row, i) => {
      const y = LABELS[i];
      const other = row.map((v, j) => (j === y ? -Infinity : v));
      const runnerUp = other.indexOf(Math.max(...other));
      row.forEach((_, j) => close(g[i][j], j === y ? 1 / den : j === runnerUp ? -1 / den : 0, 1e-12, `grad[${i}][${j}]`));
    });
  }));

  test('usable in a training loss: a clamped mean of the radii, as in Orthogonium\'s commented recipe, has the finite-difference gradient', () => {
    gradcheck((f) => certificates(f, labels(), { differentiable: true }).clamp(0, 36 / 255).mean(),
      [torch.tensor(logits.map((r) => r.map((v) => v / 4)), { dtype: 'float64', requiresGrad: true })]);
  });

  test('detached by default; defaults are Orthogonium\'s (classwise, L = 1, eps = 36/255)', () => torch.scope(() => {
    const f = torch.tensor(logits, { dtype: 'float64', requiresGrad: true });
    assert.equal(certificates(f, labels()).requiresGrad, false);
    assert.deepEqual(certificates(f, labels()).toFlatArray(), certificates(f, labels(), { lastLayer: 'classwise', lipschitz: 1 }).toFlatArray());
    assert.deepEqual(verified(f, labels()).toArray(), verified(f, labels(), { lastLayer: 'classwise', lipschitz: 1, eps: DEFAULT_CERTIFICATE_EPS }).toArray());
    assert.equal(DEFAULT_CERTIFICATE_EPS, 36 / 255);
    // Radii (classwise): sample 0: (1.2 − 0.5)/2 = 0.35 > 36/255; sample 1: (0.95 − 0.9)/2 = 0.025; 2: (0.3 − 2)/2 < 0; 3: (0.75 − 0.7)/2 = 0.025.
    assert.equal(vra(f, labels()), 1 / 4);
    assert.throws(() => certificates(f, labels(), { differentiable: 'yes' as never }), /differentiable must be a boolean/);
  }));
});
