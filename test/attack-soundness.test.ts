// Certificates checked against an attack. First on linear classifiers whose
// smallest adversarial perturbation is known in closed form (the attack must
// find it, and the certificate must not exceed it); then on a small
// 1-Lipschitz network (orthogonal RKO convolution, OrthoLinear layers,
// MaxMin) trained briefly on real Fashion-MNIST: no sample may be fooled
// inside its certified radius, the attack must come close to the
// certificates, and accuracy under attack must stay ≥ certified accuracy.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as torch from '../src/torch/index.js';
import { Flatten, Module, Sequential } from '../src/nn/index.js';
import { AdaptiveOrthoConv2d, OrthoLinear } from '../src/ortho/index.js';
import { Adam } from '../src/optim/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/mnist.js';
import { CertifiedAccuracy, LossXent, attackL2, certificates, certify } from '../src/losses/index.js';
import type { AttackL2Result, CertifyResult } from '../src/losses/index.js';

torch.setNumThreads(2);

type Tensor = torch.Tensor;

/** MaxMin (GroupSort of size 2) on channel halves: 1-Lipschitz and gradient-norm preserving. */
class MaxMin extends Module {
  forward(x: Tensor): Tensor {
    const [a, b] = x.chunk(2, 1);
    return torch.cat([a.maximum(b), a.minimum(b)], 1);
  }
}

/** f(x) = x Wᵀ + b with fixed float64 weights. */
class FixedLinear extends Module {
  constructor(w: Tensor, b: Tensor) {
    super();
    this.registerBuffer('w', w);
    this.registerBuffer('b', b);
  }
  forward(x: Tensor): Tensor { return torch.F.linear(x.flatten(1), this.getBuffer('w')!, this.getBuffer('b')!); }
}

/** Rows of an orthonormal basis of R^d (from a QR decomposition), float64 [k, d]. */
const orthonormalRows = (k: number, d: number): Tensor => torch.scope(() => torch.linalg.qr(torch.randn([d, d], { dtype: 'float64' })).Q.narrow(0, 0, k).clone());

/** Exact smallest adversarial L2 norm of a linear classifier: min_j (f_y − f_j) / ‖w_y − w_j‖ (0 when misclassified). */
function exactLinearNorms(w: number[][], logits: number[][], labels: number[]): number[] {
  return logits.map((f, i) => {
    const y = labels[i];
    const predicted = f.indexOf(Math.max(...f));
    if (predicted !== y) return 0;
    let best = Infinity;
    for (let j = 0; j < f.length; j++) {
      if (j === y) continue;
      const dist = Math.sqrt(w[y].reduce((a, v, k) => a + (v - w[j][k]) ** 2, 0));
      best = Math.min(best, (f[y] - f[j]) / dist);
    }
    return best;
  });
}

const close01 = (a: number, b: number): void => assert.ok(Math.abs(a - b) <= 1e-12, `${a} vs ${b}`);

function checkLinear(name: string, classes: number, orthonormal: boolean): void {
  test(name, () => {
    torch.manualSeed(classes * 7 + (orthonormal ? 1 : 0));
    torch.scope(() => {
      const d = 20;
      const w = orthonormal ? orthonormalRows(classes, d) : torch.randn([classes, d], { dtype: 'float64' });
      const b = torch.randn([classes], { dtype: 'float64' }).mul(0.1);
      const model = new FixedLinear(w, b);
      const x = torch.randn([40, d], { dtype: 'float64' });
      const logits = torch.noGrad(() => model.forward(x));
      // Mostly the predicted class, some deliberately wrong labels (those have norm 0).
      const labels = logits.argmax(1).toFlatArray().map((p, i) => (i % 9 === 4 ? (p + 1) % classes : p));
      const y = torch.tensor(labels, { dtype: 'int64' });
      const exact = exactLinearNorms(w.toArray() as number[][], logits.toArray() as number[][], labels);
      const eps = [0.05, 0.3];
      const result = attackL2(model, x, y, { eps });
      // Certificate: with orthonormal rows the model is 1-Lipschitz; otherwise use L = ‖W‖₂.
      const lipschitz = orthonormal ? 1 : torch.linalg.svdvals(w).max().item();
      const certs = certificates(logits, y, { lastLayer: 'global', lipschitz }).toFlatArray();
      exact.forEach((e, i) => {
        const found = result.norms[i];
        if (e === 0) {
          assert.equal(found, 0, `sample ${i} is misclassified: norm must be 0`);
          assert.ok(certs[i] <= 0, `sample ${i}: a misclassified sample got a positive certificate`);
          return;
        }
        assert.ok(found >= e * (1 - 1e-9), `sample ${i}: the attack reports ${found} below the exact minimum ${e} — not a real adversarial example`);
        assert.ok(found <= e * 1.01, `sample ${i}: the attack found ${found}, the exact minimum is ${e} (more than 1% off)`);
        assert.ok(certs[i] <= e * (1 + 1e-9), `sample ${i}: certificate ${certs[i]} exceeds the exact minimal adversarial norm ${e}`);
        if (orthonormal) assert.ok(Math.abs(certs[i] - e) <= 1e-9 * Math.max(1, e), `sample ${i}: with orthonormal rows the certificate is exact (${certs[i]} vs ${e})`);
        eps.forEach((r, k) => {
          if (Math.abs(e - r) > 0.01 * r) assert.equal(result.success[k][i], e <= r, `sample ${i}: success at eps ${r} (exact ${e})`);
        });
      });
      assert.ok(exact.some((e) => e > 0.3) && exact.some((e) => e > 0 && e < 0.3), 'the data must put samples on both sides of the radii');
    });
  });
}

describe('attackL2 on linear classifiers with a known answer (float64)', () => {
  checkLinear('2 classes, orthonormal rows: finds (f_y − f_o)/√2 within 1%, equal to the certificate', 2, true);
  checkLinear('10 classes, orthonormal rows: finds min_j (f_y − f_j)/√2, the certificate', 10, true);
  checkLinear('10 classes, random rows: finds min_j (f_y − f_j)/‖w_y − w_j‖; the certificate with L = ‖W‖₂ stays below', 10, false);

  test('clip keeps adversarial inputs in the box, adversarial examples are returned and really misclassified', () => {
    torch.manualSeed(5);
    torch.scope(() => {
      const model = new FixedLinear(orthonormalRows(3, 12), torch.zeros([3], { dtype: 'float64' }));
      const x = torch.rand([16, 12], { dtype: 'float64' });
      const y = torch.noGrad(() => model.forward(x).argmax(1));
      const r = attackL2(model, x, y, { eps: 0.2, clip: [0, 1], returnAdversarial: true });
      const adv = r.adversarial!;
      assert.deepEqual(adv.shape, x.shape);
      assert.ok(adv.amin().item() >= 0 && adv.amax().item() <= 1, 'adversarial inputs left the clip box');
      const advPred = torch.noGrad(() => model.forward(adv).argmax(1).toFlatArray());
      const dist = adv.sub(x).flatten(1).norm(2, 1).toFlatArray();
      r.norms.forEach((n, i) => {
        if (Number.isFinite(n)) {
          assert.notEqual(advPred[i], r.labels[i], `sample ${i}: the returned example is not adversarial`);
          assert.ok(Math.abs(dist[i] - n) <= 1e-9, `sample ${i}: norm ${n} vs distance ${dist[i]}`);
        }
      });
    });
  });

  test('batchSize, float32, a custom schedule: same answers, train mode restored, no tensors left behind', () => {
    torch.manualSeed(9);
    const model = new FixedLinear(orthonormalRows(4, 10).to('float32'), torch.zeros([4]));
    const x = torch.randn([23, 10]);
    const y = torch.randint(0, 4, [23]);
    try {
      model.train();
      const before = torch.memoryStats().liveTensors;
      const whole = attackL2(model, x, y, { eps: [0.2, 0.5] });
      const split = attackL2(model, x, y, { eps: [0.2, 0.5], batchSize: 6, schedule: (p) => 1 - p / 2 });
      assert.equal(torch.memoryStats().liveTensors, before, 'attackL2 left tensors alive');
      assert.equal(model.training, true, 'attackL2 must restore the training mode');
      const exact = torch.scope(() => exactLinearNorms(model.getBuffer('w')!.toArray() as number[][], torch.noGrad(() => model.forward(x)).toArray() as number[][], y.toFlatArray()));
      exact.forEach((e, i) => {
        for (const r of [whole, split]) assert.ok(Math.abs(r.norms[i] - e) <= 0.01 * e + 1e-5, `sample ${i}: ${r.norms[i]} vs exact ${e}`);
      });
      assert.deepEqual(split.success, whole.success);
      assert.deepEqual(split.robustAccuracy, whole.robustAccuracy);
      close01(whole.cleanAccuracy, whole.correct.filter(Boolean).length / 23);
    } finally {
      model.dispose();
      torch.dispose([x, y]);
    }
  });

  test('bad options and inputs', () => {
    torch.scope(() => {
      const model = new FixedLinear(orthonormalRows(3, 4), torch.zeros([3], { dtype: 'float64' }));
      const x = torch.rand([5, 4], { dtype: 'float64' });
      const y = torch.tensor([0, 1, 2, 0, 1], { dtype: 'int64' });
      assert.throws(() => attackL2(model, x, y, { eps: 0 }), /eps\[0\] must be a finite number > 0/);
      assert.throws(() => attackL2(model, x, y, { eps: [0.1, NaN] }), /eps\[1\] must be a finite number > 0/);
      assert.throws(() => attackL2(model, x, y, { eps: [] }), /eps must be a radius or a non-empty array/);
      assert.throws(() => attackL2(model, x, y.narrow(0, 0, 4), { eps: 0.1 }), /batch sizes differ: 5 rows of logits but 4 labels/);
      assert.throws(() => attackL2(model, x, torch.tensor([0, 1, 2, 0, 3], { dtype: 'int64' }), { eps: 0.1 }), /label 3 is out of range for 3 classes/);
      assert.throws(() => attackL2(model, x, torch.tensor([0, 1, 2, 0, 1]), { eps: 0.1 }), /labels must be an integer tensor/);
      assert.throws(() => attackL2(model, x, y, { eps: 0.1, schedule: 'exp' as never }), /schedule must be 'cosine', 'linear', 'constant' or a function/);
      assert.throws(() => attackL2(model, x, y, { eps: 0.1, clip: [1, 0] }), /clip must be \[min, max\]/);
      assert.throws(() => attackL2(model, x.mul(3), y, { eps: 0.1, clip: [0, 1] }), /input values lie outside clip/);
    });
  });
});

// ---- a trained 1-Lipschitz network ----------------------------------------------------

interface Trained {
  model: Module;
  /** Upper bound of the model's Lipschitz constant: the product of its layers' spectral norms (float64). */
  lipschitz: number;
  x: Tensor;
  y: Tensor;
  cert: CertifyResult;
  attack: AttackL2Result;
  source: string;
}

const EPS = [0.05, 0.1, 0.2, 0.4];

/** 14×14 Fashion-MNIST in [0, 1] (average-pooled), or Gaussian class blobs when the data set is not installed. */
function loadData(nTrain: number, nTest: number): { xtr: Tensor; ytr: Tensor; xte: Tensor; yte: Tensor; source: string } {
  if (existsSync(DEBIAN_FASHION_MNIST_DIR)) {
    const prep = (train: boolean, n: number): { x: Tensor; y: Tensor } => torch.scope(() => {
      const split = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, train);
      return { x: torch.F.avgPool2d(split.images.narrow(0, 0, n).float().div(255), 2), y: split.labels.narrow(0, 0, n).clone() };
    });
    const tr = prep(true, nTrain);
    const te = prep(false, nTest);
    return { xtr: tr.x, ytr: tr.y, xte: te.x, yte: te.y, source: 'Fashion-MNIST' };
  }
  return torch.scope(() => {
    const centers = torch.rand([10, 1, 14, 14]).mul(0.3).add(0.35);
    const make = (n: number): { x: Tensor; y: Tensor } => {
      const y = torch.randint(0, 10, [n]);
      return { x: centers.indexSelect(0, y).add(torch.randn([n, 1, 14, 14]).mul(0.2)).clamp(0, 1), y };
    };
    const tr = make(nTrain);
    const te = make(nTest);
    return { xtr: tr.x, ytr: tr.y, xte: te.x, yte: te.y, source: 'synthetic blobs (dataset-fashion-mnist not installed)' };
  });
}

function spectralNorm(matrix: Tensor): number {
  return torch.scope(() => torch.linalg.svdvals(matrix.to('float64')).max().item());
}

function trainModel(): Trained {
  torch.manualSeed(0);
  const data = torch.keep(loadData(3000, 200));
  // RKO convolution (kernel = stride = 2): 1×14×14 → 4×7×7, then OrthoLinear layers with MaxMin.
  const conv = AdaptiveOrthoConv2d({ inChannels: 1, outChannels: 4, kernelSize: 2, stride: 2, padding: 0 });
  const model = new Sequential(conv, new MaxMin(), new Flatten(), new OrthoLinear(196, 64), new MaxMin(), new OrthoLinear(64, 64), new MaxMin(), new OrthoLinear(64, 10));
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  const loss = new LossXent({ nClasses: 10, offset: 1, temperature: 0.25 });
  model.train();
  for (let step = 0; step < 300; step++) {
    torch.scope(() => {
      const index = torch.randint(0, 3000, [64]);
      const l = loss.forward(model.forward(data.xtr.indexSelect(0, index)) as Tensor, data.ytr.indexSelect(0, index));
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
    });
  }
  optimizer.dispose();
  torch.dispose([data.xtr, data.ytr]);
  // Evaluate in float64 so that rounding cannot blur the comparison; bound the Lipschitz constant of exactly
  // the weights used (eval mode caches them): a conv with kernel = stride acts on disjoint patches, so its
  // norm is the spectral norm of its kernel as an [out, in·k·k] matrix.
  model.to('float64').eval();
  const x = data.xte.to('float64');
  data.xte.dispose();
  const lipschitz = torch.noGrad(() => torch.scope(() => {
    const shape = (conv.forward(x.narrow(0, 0, 1)) as Tensor).shape;
    assert.deepEqual(shape, [1, 4, 7, 7], 'the RKO convolution must map 1×14×14 to 4×7×7 without padding');
    let bound = spectralNorm(conv.weight.flatten(1));
    for (const m of model.modules()) if (m instanceof OrthoLinear) bound *= spectralNorm(m.weight);
    return bound;
  }));
  const cert = certify(model, { x, y: data.yte }, { eps: EPS, lipschitz, lastLayer: 'global' });
  const attack = attackL2(model, x, data.yte, { eps: EPS });
  return { model, lipschitz, x, y: data.yte, cert, attack, source: data.source };
}

describe('soundness on a trained 1-Lipschitz network', () => {
  let t: Trained;
  before(() => { t = trainModel(); });

  test('the model is 1-Lipschitz up to float error, trained, and certifies a good share of samples', (ctx) => {
    const ratios = t.cert.radii.map((r, i) => t.attack.norms[i] / r).filter((q, i) => t.cert.radii[i] > 0 && Number.isFinite(q)).sort((p, q) => p - q);
    ctx.diagnostic(`${t.source}: L ≤ ${t.lipschitz.toFixed(12)}, clean ${t.cert.cleanAccuracy}, certified ${JSON.stringify(t.cert.certifiedAccuracy.map((c) => c.accuracy))}, ` +
      `under attack ${JSON.stringify(t.attack.robustAccuracy)}; adversarial norm / certificate: min ${ratios[0]?.toFixed(12)}, median ${ratios[ratios.length >> 1]?.toFixed(4)}, max ${ratios.at(-1)?.toFixed(3)}`);
    assert.equal(certify(t.model, { x: t.x, y: t.y }, { eps: [0.1] }).lastLayer, 'global', 'OrthoLinear head → global certificates');
    assert.ok(t.lipschitz <= 1 + 1e-3 && t.lipschitz >= 1 - 1e-3, `layer spectral norms multiply to ${t.lipschitz}`);
    assert.ok(t.cert.cleanAccuracy >= 0.7, `clean accuracy ${t.cert.cleanAccuracy} on ${t.source}: training failed`);
    assert.ok(t.cert.certifiedAccuracy[1].accuracy >= 0.4, `certified accuracy at 0.1 is only ${t.cert.certifiedAccuracy[1].accuracy}`);
  });

  test('(a) no sample is fooled inside its certified radius: every adversarial norm found ≥ the certificate', () => {
    const violations: string[] = [];
    t.cert.radii.forEach((radius, i) => {
      if (radius <= 0) return;
      // Everything is float64: a real counterexample would be far beyond this tolerance.
      if (t.attack.norms[i] < radius * (1 - 1e-9)) violations.push(`sample ${i}: certified ${radius}, fooled at ${t.attack.norms[i]}`);
    });
    assert.deepEqual(violations, [], `${violations.length} certificate violations`);
    // Clean predictions agree between certify and the attack, so the comparison is about the same samples.
    assert.deepEqual(t.attack.predictions, t.cert.predictions);
    // The weaker class-wise certificates (÷2 instead of ÷√2) hold as well.
    const classwise = torch.scope(() => torch.noGrad(() => certificates(t.model.forward(t.x) as Tensor, t.y, { lastLayer: 'classwise', lipschitz: t.lipschitz }).toFlatArray()));
    classwise.forEach((r, i) => assert.ok(!(r > 0 && t.attack.norms[i] < r), `class-wise certificate violated at sample ${i}`));
  });

  test('(b) the attack is meaningful: it fools nearly every sample close to its certified radius', () => {
    const correct = t.cert.radii.map((r) => r > 0);
    const found = t.attack.norms.filter((n, i) => correct[i] && Number.isFinite(n)).length;
    const nCorrect = correct.filter(Boolean).length;
    assert.ok(found >= 0.95 * nCorrect, `adversarial examples found for only ${found} of ${nCorrect} correctly classified samples`);
    // Not (or only weakly) certified at eps but correctly classified: the attack must fool most of them at eps.
    for (const [k, eps] of EPS.entries()) {
      const weak = t.cert.radii.map((_, i) => i).filter((i) => t.cert.radii[i] > 0 && t.cert.radii[i] <= eps);
      const fooled = weak.filter((i) => t.attack.success[k][i]).length;
      assert.ok(fooled >= 0.8 * weak.length, `eps ${eps}: fooled ${fooled} of ${weak.length} correct samples not certified at eps`);
    }
    const weakAtLargest = t.cert.radii.filter((r) => r > 0 && r <= EPS[EPS.length - 1]).length;
    assert.ok(weakAtLargest >= 10, `only ${weakAtLargest} correct samples are uncertified at ${EPS[EPS.length - 1]}: too few to judge the attack`);
    // For a gradient-norm-preserving network the certificates are nearly tight; the attack must get close to them.
    const ratios = t.cert.radii.map((r, i) => t.attack.norms[i] / r).filter((q, i) => correct[i] && Number.isFinite(q)).sort((p, q) => p - q);
    const median = ratios[Math.floor(ratios.length / 2)];
    assert.ok(median <= 1.2, `median adversarial norm / certificate is ${median}: the attack is too weak to test the certificates`);
  });

  test('(c) accuracy under attack ≥ certified accuracy at every eps (and ≤ clean accuracy)', () => {
    // The streaming metric over uneven batches agrees with certify.
    const metric = new CertifiedAccuracy({ eps: EPS, lastLayer: 'global', lipschitz: t.lipschitz });
    for (const [start, len] of [[0, 37], [37, 100], [137, 63]]) {
      torch.scope(() => torch.noGrad(() => metric.update(t.model.forward(t.x.narrow(0, start, len)) as Tensor, t.y.narrow(0, start, len))));
    }
    const streamed = metric.compute();
    assert.equal(streamed.cleanAccuracy, t.cert.cleanAccuracy);
    streamed.certified.forEach(({ accuracy }, k) => assert.equal(accuracy, t.cert.certifiedAccuracy[k].accuracy));
    EPS.forEach((eps, k) => {
      const robust = t.attack.robustAccuracy[k];
      const certified = t.cert.certifiedAccuracy[k].accuracy;
      assert.ok(robust >= certified, `eps ${eps}: accuracy under attack ${robust} < certified accuracy ${certified}`);
      assert.ok(robust <= t.cert.cleanAccuracy, `eps ${eps}: accuracy under attack ${robust} > clean accuracy`);
    });
  });

  test('the check has teeth: certificates overstated by 5% (a wrong Lipschitz constant) are caught', () => {
    const overstated = t.cert.radii.map((r) => r * 1.05);
    const caught = overstated.filter((r, i) => r > 0 && t.attack.norms[i] < r).length;
    assert.ok(caught >= 10, `only ${caught} violations of 5%-inflated certificates found`);
  });
});
