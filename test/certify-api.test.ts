// Certificates, VRA, head-type detection, eps parsing, the streaming
// metrics and certify(), against values computed by hand in plain JS, plus
// every bad input the issue lists.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Dropout, Flatten, Linear, Module, ReLU, Sequential } from '../src/nn/index.js';
import { OrthoLinear, UnitNormLinear } from '../src/ortho/index.js';
import {
  Accuracy, CertifiedAccuracy, MeanMetric, certificates, certify, lastLayerType, lipschitzFromStd, parseEps, verified, vra,
} from '../src/losses/index.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;

const LOGITS = [
  [2.0, 0.5, -1.0], // correct, margin 1.5
  [0.1, 0.3, 0.2], // label 2: wrong (runner-up 0.3 > 0.2), margin −0.1
  [1.0, 1.0, 0.0], // label 0: tie, margin 0
  [-3.0, 4.0, 1.0], // label 1: margin 3
  [0.0, 0.0, 0.25], // label 2: margin 0.25
];
const LABELS = [0, 2, 0, 1, 2];
const MARGINS = [1.5, -0.1, 0, 3, 0.25];

const close = (a: number, b: number, tol = 1e-12, what = ''): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Deterministic pseudo-random logits and labels (no libtorch RNG involved). */
function randomData(n: number, c: number, seed: number): { f: number[][]; y: number[] } {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const f = Array.from({ length: n }, () => Array.from({ length: c }, () => 3 * rnd() - 1.5));
  const y = Array.from({ length: n }, () => Math.floor(rnd() * c));
  return { f, y };
}

const T = (f: number[][], dtype: 'float32' | 'float64' = 'float64'): Tensor => torch.tensor(f, { dtype });
const L = (y: number[]): Tensor => torch.tensor(y, { dtype: 'int64' });

describe('certificates and VRA', () => {
  test('global: margin / (√2·L); classwise: margin / (2·L)', () => {
    torch.scope(() => {
      for (const lipschitz of [1, 2.5]) {
        const g = certificates(T(LOGITS), L(LABELS), { lastLayer: 'global', lipschitz }).toFlatArray();
        const c = certificates(T(LOGITS), L(LABELS), { lastLayer: 'classwise', lipschitz }).toFlatArray();
        MARGINS.forEach((m, i) => {
          close(g[i], m / (Math.SQRT2 * lipschitz), 1e-12, `global[${i}] L=${lipschitz}`);
          close(c[i], m / (2 * lipschitz), 1e-12, `classwise[${i}] L=${lipschitz}`);
        });
      }
      // Default lipschitz is 1; float32 logits give float32 certificates on the logits' device.
      const f32 = certificates(T(LOGITS, 'float32'), L(LABELS), { lastLayer: 'global' });
      assert.equal(f32.dtype, 'float32');
      assert.equal(f32.device, 'cpu');
      close(f32.toFlatArray()[3], 3 / Math.SQRT2, 1e-6, 'float32');
    });
  });
  test('exact for large logits (no "subtract 1e6" trick) and with int32 labels', () => {
    torch.scope(() => {
      const big = [[5e6, 4e6 + 0.5, -1e7]];
      const r = certificates(T(big), torch.tensor([0], { dtype: 'int32' }), { lastLayer: 'global' }).toFlatArray();
      close(r[0], (1e6 - 0.5) / Math.SQRT2, 1e-12, 'large logits');
    });
  });
  test('vra counts certificates strictly above eps; misclassified and tied samples never count', () => {
    torch.scope(() => {
      const f = T(LOGITS);
      const y = L(LABELS);
      // Global certificates: 1.0607, −0.0707, 0, 2.1213, 0.1768.
      assert.equal(vra(f, y, { lastLayer: 'global', eps: 0.1 }), 3 / 5);
      assert.equal(vra(f, y, { lastLayer: 'global', eps: 1.0 }), 2 / 5);
      // Classwise certificates (exact in binary): 0.75, −0.05, 0, 1.5, 0.125.
      assert.equal(vra(f, y, { lastLayer: 'classwise', eps: 0.75 }), 1 / 5, 'a certificate equal to eps does not count');
      assert.equal(vra(f, y, { lastLayer: 'classwise', eps: 1.5 }), 0, 'a certificate equal to eps does not count');
      assert.equal(vra(f, y, { lastLayer: 'classwise', eps: 0.5, lipschitz: 1 }), 2 / 5);
      assert.equal(vra(f, y, { lastLayer: 'classwise', eps: 0.5, lipschitz: 2 }), 1 / 5);
      assert.equal(vra(f, y, { lastLayer: 'global', eps: 1e-9 }), 3 / 5, 'the wrong sample (−0.07) and the tie (0) never count');
      assert.deepEqual(verified(f, y, { lastLayer: 'global', eps: 0.1 }).toArray(), [true, false, false, true, true]);
    });
  });
  test('bad input gives clear errors', () => {
    torch.scope(() => {
      const f = T(LOGITS);
      const y = L(LABELS);
      const nan = T([[NaN, 1, 2], [0, 1, 2]]);
      assert.throws(() => certificates(nan, L([0, 1]), { lastLayer: 'global' }), /logits contain 1 NaN value/);
      assert.throws(() => certificates(f, L([0, 2, 0, 1, 3]), { lastLayer: 'global' }), /label 3 is out of range for 3 classes/);
      assert.throws(() => certificates(f, L([0, 2, 0, -1, 2]), { lastLayer: 'global' }), /label -1 is out of range/);
      assert.throws(() => certificates(f, torch.tensor(LABELS), { lastLayer: 'global' }), /labels must be an integer tensor.*got float32/);
      assert.throws(() => certificates(f, L([0, 1]), { lastLayer: 'global' }), /batch sizes differ: 5 rows of logits but 2 labels/);
      assert.throws(() => certificates(f, torch.tensor([[0, 1]], { dtype: 'int64' }), { lastLayer: 'global' }), /labels must be 1-d/);
      assert.throws(() => certificates(f, y, { lastLayer: 'layerwise' as never }), /lastLayer must be 'global' \(OrthoLinear head\) or 'classwise'/);
      // Options are optional (Orthogonium's defaults: classwise, L = 1), but must be an object when given.
      assert.deepEqual(certificates(f, y).toFlatArray(), certificates(f, y, { lastLayer: 'classwise', lipschitz: 1 }).toFlatArray());
      assert.throws(() => certificates(f, y, null as never), /options must be an object/);
      assert.throws(() => certificates(f, y, { lastLayer: 'global', lipschitz: 0 }), /lipschitz must be a finite number > 0/);
      assert.throws(() => certificates(f, y, { lastLayer: 'global', lipschitz: Infinity }), /lipschitz must be a finite number > 0/);
      for (const eps of [0, -0.1, NaN, Infinity]) {
        assert.throws(() => vra(f, y, { lastLayer: 'global', eps }), /eps must be a finite number > 0/, `eps ${eps}`);
      }
      assert.throws(() => certificates(torch.tensor([1, 2, 3]), L([0]), { lastLayer: 'global' }), /logits must have shape \[batch, classes\]/);
      assert.throws(() => certificates(torch.tensor([[1, 2]], { dtype: 'int64' }), L([0]), { lastLayer: 'global' }), /logits must be a floating-point tensor/);
    });
  });
  test('runs on CUDA when available (no hard-coded device)', { skip: !torch.cuda.isAvailable() && 'no CUDA device' }, () => {
    torch.scope(() => {
      const f = T(LOGITS).to('cuda');
      const y = L(LABELS).to('cuda');
      const r = certificates(f, y, { lastLayer: 'global' });
      assert.ok(r.device.startsWith('cuda'));
      r.toFlatArray().forEach((v, i) => close(v, MARGINS[i] / Math.SQRT2, 1e-12, `cuda[${i}]`));
      assert.equal(vra(f, y, { lastLayer: 'global', eps: 0.1 }), 3 / 5);
      const metric = new CertifiedAccuracy({ eps: [0.1], lastLayer: 'global' });
      metric.update(f, y);
      assert.equal(metric.compute().certified[0].accuracy, 3 / 5);
    });
  });
});

describe('lipschitzFromStd, lastLayerType, parseEps', () => {
  test('lipschitzFromStd is 1/min(std)', () => {
    close(lipschitzFromStd([0.2470, 0.2435, 0.2616]), 1 / 0.2435);
    close(lipschitzFromStd(0.5), 2);
    assert.throws(() => lipschitzFromStd([]), /non-empty array/);
    assert.throws(() => lipschitzFromStd([0.2, 0]), /std\[1\] must be a finite number > 0/);
    assert.throws(() => lipschitzFromStd([0.2, NaN]), /std\[1\]/);
  });
  test('lastLayerType finds the last linear layer anywhere in the module tree', () => {
    torch.manualSeed(0);
    class Net extends Module {
      constructor(readonly body: Module, readonly head: Module) {
        super();
        this.registerModule('body', body);
        this.registerModule('head', head);
      }
      forward(x: Tensor): Tensor { return this.head.forward(this.body.forward(x) as Tensor) as Tensor; }
    }
    assert.equal(lastLayerType(new Sequential(new Flatten(), new OrthoLinear(4, 3))), 'global');
    assert.equal(lastLayerType(new Sequential(new Flatten(), new UnitNormLinear(4, 3))), 'classwise');
    assert.equal(lastLayerType(new Sequential(new Flatten(), new Linear(4, 3))), 'unknown');
    assert.equal(lastLayerType(new Sequential(new Flatten(), new ReLU())), 'unknown');
    assert.equal(lastLayerType(new Sequential(new UnitNormLinear(4, 4), new ReLU(), new OrthoLinear(4, 3))), 'global');
    assert.equal(lastLayerType(new Sequential(new OrthoLinear(4, 4), new ReLU(), new UnitNormLinear(4, 3))), 'classwise');
    assert.equal(lastLayerType(new Sequential(new OrthoLinear(4, 4), new Linear(4, 3))), 'unknown');
    // Nested: the head sits inside a child module.
    assert.equal(lastLayerType(new Net(new Sequential(new OrthoLinear(4, 4)), new Sequential(new ReLU(), new UnitNormLinear(4, 3)))), 'classwise');
    assert.equal(lastLayerType(new Net(new Sequential(new UnitNormLinear(4, 4)), new Sequential(new OrthoLinear(4, 3), new Dropout(0.1)))), 'global');
  });
  test('parseEps reads fractions, decimals and exponents; bad values are named', () => {
    assert.deepEqual(parseEps('36/255,72/255,0.5'), [36 / 255, 72 / 255, 0.5]);
    assert.deepEqual(parseEps(' 1e-2 , 108/255 '), [0.01, 108 / 255]);
    assert.deepEqual(parseEps('.25'), [0.25]);
    assert.throws(() => parseEps(''), /no radius given/);
    assert.throws(() => parseEps('36/255,abc'), /'abc' \(item 2\) is not a number or a fraction/);
    assert.throws(() => parseEps('36/0'), /'36\/0' \(item 1\) is not a number/);
    assert.throws(() => parseEps('1/2/3'), /is not a number or a fraction/);
    assert.throws(() => parseEps('0.1,,0.2'), /'' \(item 2\)/);
    assert.throws(() => parseEps('0'), /must be a finite radius > 0, got 0/);
    assert.throws(() => parseEps('-36/255'), /must be a finite radius > 0/);
    assert.throws(() => parseEps('1e999'), /must be a finite radius > 0, got Infinity/);
  });
});

describe('streaming metrics', () => {
  const { f, y } = randomData(97, 5, 7);
  // Hand-computed reference values.
  const argmax = (row: number[]): number => row.indexOf(Math.max(...row));
  const correct = f.map((row, i) => argmax(row) === y[i]);
  const accuracy = correct.filter(Boolean).length / f.length;
  const margin = (row: number[], label: number): number => row[label] - Math.max(...row.filter((_, j) => j !== label));
  const EPS = [0.05, 0.2, 0.5];

  const splits = [[97], [1, 96], [10, 20, 30, 37], [50, 47], [13, 13, 13, 13, 13, 13, 13, 6]];
  const batches = (sizes: number[]): [number[][], number[]][] => {
    let start = 0;
    return sizes.map((s) => {
      const part: [number[][], number[]] = [f.slice(start, start + s), y.slice(start, start + s)];
      start += s;
      return part;
    });
  };

  test('Accuracy (micro) is the same however the data is split, from logits or predictions, and resets', () => {
    torch.scope(() => {
      const metric = new Accuracy({ numClasses: 5 });
      for (const sizes of splits) {
        metric.reset();
        assert.ok(Number.isNaN(metric.compute()), 'no samples → NaN');
        for (const [bf, by] of batches(sizes)) metric.update(T(bf, 'float32'), L(by));
        close(metric.compute(), accuracy, 1e-12, `split ${sizes}`);
        assert.equal(metric.count, 97);
      }
      metric.reset();
      const batchValue = metric.update(L(f.map(argmax)), L(y));
      close(batchValue, accuracy);
      close(metric.compute(), accuracy);
    });
  });
  test('Accuracy (macro) is the mean per-class recall', () => {
    torch.scope(() => {
      const metric = new Accuracy({ numClasses: 5, average: 'macro' });
      for (const [bf, by] of batches([40, 57])) metric.update(T(bf), L(by));
      const recalls: number[] = [];
      for (let k = 0; k < 5; k++) {
        const idx = y.map((v, i) => [v, i]).filter(([v]) => v === k).map(([, i]) => i);
        if (idx.length > 0) recalls.push(idx.filter((i) => correct[i]).length / idx.length);
      }
      close(metric.compute(), recalls.reduce((a, b) => a + b, 0) / recalls.length, 1e-12, 'macro');
      assert.throws(() => new Accuracy({ average: 'macro' }), /'macro' needs numClasses/);
    });
  });
  test('Accuracy bad input', () => {
    torch.scope(() => {
      const metric = new Accuracy({ numClasses: 5 });
      assert.throws(() => metric.update(T([[NaN, 0, 0, 0, 0]]), L([0])), /logits contain 1 NaN/);
      assert.throws(() => metric.update(T(f.slice(0, 3)), L([0, 1])), /batch sizes differ/);
      assert.throws(() => metric.update(T(f.slice(0, 2)), L([0, 5])), /label 5 is out of range for 5 classes/);
      assert.throws(() => metric.update(L([0, 7]), L([0, 1])), /label 7 is out of range/);
      assert.throws(() => metric.update(T([[1, 2, 3]]), L([0])), /built for 5 classes but the logits have 3/);
      assert.equal(metric.count, 0, 'a refused batch is not counted');
    });
  });
  test('MeanMetric: weighted mean over numbers, arrays and tensors; NaN handling; reset', () => {
    torch.scope(() => {
      const m = new MeanMetric();
      m.update(2);
      m.update([4, 6], 2);
      m.update(torch.tensor([1, 3]), torch.tensor([0.5, 1.5]));
      m.update(torch.tensor(10), 0);
      close(m.compute(), (2 + 2 * 4 + 2 * 6 + 0.5 * 1 + 1.5 * 3) / (1 + 2 + 2 + 0.5 + 1.5));
      // Per-sample VRA flags averaged batch by batch equal the VRA of all the data (the tutorial's use).
      const vraMetric = new MeanMetric();
      for (const [bf, by] of batches([30, 67])) vraMetric.update(verified(T(bf), L(by), { lastLayer: 'global', eps: 0.2 }));
      close(vraMetric.compute(), f.filter((row, i) => margin(row, y[i]) / Math.SQRT2 > 0.2).length / 97, 1e-12, 'vra mean');
      assert.throws(() => m.update(NaN), /value 0 is NaN/);
      const ignoring = new MeanMetric({ nanStrategy: 'ignore' });
      ignoring.update([1, NaN, 3]);
      close(ignoring.compute(), 2);
      assert.throws(() => m.update([1, 2], [1, 2, 3]), /2 values but 3 weights/);
      assert.throws(() => m.update(1, -1), /weights must be finite and ≥ 0/);
      m.reset();
      assert.ok(Number.isNaN(m.compute()));
    });
  });
  test('CertifiedAccuracy at several radii is the same however the data is split, and resets', () => {
    for (const lastLayer of ['global', 'classwise'] as const) {
      const lipschitz = lastLayer === 'global' ? 1 : 1.7;
      const den = lastLayer === 'global' ? Math.SQRT2 * lipschitz : 2 * lipschitz;
      const expected = EPS.map((e) => f.filter((row, i) => margin(row, y[i]) / den > e).length / 97);
      const metric = new CertifiedAccuracy({ eps: EPS, lastLayer, lipschitz });
      for (const sizes of splits) {
        metric.reset();
        torch.scope(() => { for (const [bf, by] of batches(sizes)) metric.update(T(bf, 'float32'), L(by)); });
        const r = metric.compute();
        assert.equal(r.samples, 97);
        close(r.cleanAccuracy, accuracy, 1e-12, 'clean');
        r.certified.forEach(({ eps, accuracy: a }, k) => {
          assert.equal(eps, EPS[k]);
          close(a, expected[k], 1e-12, `${lastLayer} eps ${eps} split ${sizes}`);
        });
      }
      // Certified accuracy never exceeds clean accuracy and decreases with eps.
      const r = metric.compute();
      assert.ok(r.certified.every(({ accuracy: a }) => a <= r.cleanAccuracy));
      assert.ok(expected[0] > expected[2], 'the test data must separate the radii');
    }
    assert.throws(() => new CertifiedAccuracy({ eps: [0.1, 0], lastLayer: 'global' }), /eps\[1\] must be a finite number > 0/);
    assert.throws(() => new CertifiedAccuracy({ eps: [0.1], lastLayer: 'nope' as never }), /lastLayer must be/);
    const m = new CertifiedAccuracy({ eps: [0.1], lastLayer: 'global' });
    torch.scope(() => assert.throws(() => m.update(T([[NaN, 1]]), L([0])), /NaN/));
    assert.ok(Number.isNaN(m.compute().cleanAccuracy));
  });
});

describe('certify', () => {
  /** A 1-Lipschitz model: flatten, OrthoLinear 12→8, ReLU, OrthoLinear/UnitNormLinear 8→4. */
  function makeModel(head: 'global' | 'classwise' | 'plain'): Module {
    torch.manualSeed(3);
    const last = head === 'global' ? new OrthoLinear(8, 4) : head === 'classwise' ? new UnitNormLinear(8, 4) : new Linear(8, 4);
    return new Sequential(new Flatten(), new OrthoLinear(12, 8), new ReLU(), last);
  }
  const data = (n: number): { x: Tensor; y: Tensor } => {
    torch.manualSeed(11);
    return torch.keep({ x: torch.randn([n, 3, 4]).mul(2), y: torch.randint(0, 4, [n]) });
  };

  test('matches certificates of the logits, with auto head detection, batch splitting and iterables', () => {
    const { x, y } = data(37);
    try {
      for (const head of ['global', 'classwise'] as const) {
        const model = makeModel(head);
        const lipschitz = 1.3;
        const expected = torch.scope(() => torch.noGrad(() => {
          model.eval();
          const logits = model.forward(x) as Tensor;
          return {
            radii: certificates(logits, y, { lastLayer: head, lipschitz }).toFlatArray(),
            preds: logits.argmax(1).toFlatArray(),
          };
        }));
        model.train();
        const eps = [0.01, 0.05, 0.1];
        const whole = certify(model, { x, y }, { eps, lipschitz });
        assert.equal(model.training, true, 'certify restores the training mode');
        assert.equal(whole.lastLayer, head);
        assert.deepEqual(whole.predictions, expected.preds);
        assert.deepEqual(whole.labels, y.toFlatArray());
        whole.radii.forEach((r, i) => close(r, expected.radii[i], 1e-6, `radius ${i}`));
        close(whole.cleanAccuracy, expected.preds.filter((p, i) => p === whole.labels[i]).length / 37);
        whole.certifiedAccuracy.forEach(({ eps: e, accuracy }) => close(accuracy, expected.radii.filter((r) => r > e).length / 37, 1e-12, `eps ${e}`));
        assert.ok(whole.certifiedAccuracy[0].accuracy > 0, 'some samples must be certified for the test to mean something');
        // batchSize and an iterable of batches give the same per-sample results.
        const split = certify(model, { x, y }, { eps, lipschitz, batchSize: 8, lastLayer: head });
        assert.deepEqual(split.predictions, whole.predictions);
        split.radii.forEach((r, i) => close(r, whole.radii[i], 1e-6, `split radius ${i}`));
        const iterable = torch.scope(() => certify(model, [{ x: x.narrow(0, 0, 20), y: y.narrow(0, 0, 20) }, { x: x.narrow(0, 20, 17), y: y.narrow(0, 20, 17) }], { eps, lipschitz }));
        assert.deepEqual(iterable.certifiedAccuracy, whole.certifiedAccuracy);
        model.dispose();
      }
    } finally {
      torch.dispose([x, y]);
    }
  });
  test('runs in eval mode (dropout off) and frees every tensor', () => {
    const { x, y } = data(16);
    const model = new Sequential(new Flatten(), new OrthoLinear(12, 8), new Dropout(0.9), new OrthoLinear(8, 4));
    model.train();
    const before = torch.memoryStats().liveTensors;
    const a = certify(model, { x, y }, { eps: [0.1] });
    const b = certify(model, { x, y }, { eps: [0.1], batchSize: 5 });
    assert.equal(torch.memoryStats().liveTensors, before, 'certify leaked tensors');
    // Dropout(0.9) in training mode would change most radii by far more than rounding.
    a.radii.forEach((r, i) => close(r, b.radii[i], 1e-5, `dropout was active during certification (sample ${i})`));
    model.dispose();
    torch.dispose([x, y]);
  });
  test('bad input', () => {
    const { x, y } = data(6);
    const model = makeModel('global');
    const plain = makeModel('plain');
    try {
      assert.throws(() => certify(plain, { x, y }, { eps: [0.1] }), /cannot tell the model's head type.*neither an OrthoLinear/);
      assert.doesNotThrow(() => certify(plain, { x, y }, { eps: [0.1], lastLayer: 'global' }));
      assert.throws(() => certify(model, { x, y }, { eps: [0.1], lastLayer: 'weird' as never }), /lastLayer must be 'global', 'classwise' or 'auto'/);
      assert.deepEqual(certify(model, { x, y }, { eps: [] }).certifiedAccuracy, [], 'no radii: per-sample results only');
      assert.throws(() => certify(model, { x, y }, { eps: [0.1, -1] }), /eps\[1\] must be a finite number > 0/);
      assert.throws(() => certify(model, { x, y }, { eps: 0.1 as never }), /eps must be an array/);
      torch.scope(() => {
        assert.throws(() => certify(model, { x, y: y.narrow(0, 0, 5) }, { eps: [0.1] }), /6 inputs but 5 labels/);
        assert.throws(() => certify(model, { x, y: torch.tensor([0, 1, 2, 3, 4, 0], { dtype: 'int64' }) }, { eps: [0.1] }), /label 4 is out of range for 4 classes/);
        assert.throws(() => certify(model, { x, y: torch.tensor([0, 1, 2, 3, 1, 0]) }, { eps: [0.1] }), /labels must be an integer tensor/);
      });
      assert.throws(() => certify(model, { x, y }, { eps: [0.1], batchSize: 0 }), /batchSize must be an integer ≥ 1/);
      assert.throws(() => certify(model, 42 as never, { eps: [0.1] }), /data must be \{ x, y \} or an iterable/);
      const nanModel = new Sequential(new Flatten(), new OrthoLinear(12, 4));
      torch.scope(() => assert.throws(() => certify(nanModel, { x: torch.fullLike(x, NaN), y }, { eps: [0.1] }), /logits contain 24 NaN values/));
      nanModel.dispose();
    } finally {
      model.dispose();
      plain.dispose();
      torch.dispose([x, y]);
    }
  });
});
