// OrthoLinear is orthogonal (all singular values 1, rows or columns
// orthonormal when the shape is not square) and UnitNormLinear has unit-norm
// rows (each output 1-Lipschitz), before and after training; both train.
// Orthogonium's reference: tests/test_ortho_linear.py.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { OrthoLinear, ORTHO_PARAMS_PRESETS, UnitNormLinear } from '../src/ortho/index.js';
import {
  assertGradientsReachParameters, assertSpectrum, countParametrizationCalls, denseOperator, maxAbsDiff, operatorSingularValues, singularValues, trainSteps,
} from './helpers/operator.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;

const SHAPES: [number, number][] = [[16, 16], [16, 32], [32, 16], [64, 16]];

describe('OrthoLinear is orthogonal (test preset), before and after training', () => {
  for (const [inF, outF] of SHAPES) {
    test(`${inF} → ${outF}`, () => {
      torch.manualSeed(0);
      torch.scope(() => {
        const layer = new OrthoLinear(inF, outF, { bias: false, orthoParams: 'test' });
        const weightShape = torch.noGrad(() => torch.scope(() => layer.weight.shape));
        assert.deepEqual(weightShape, [outF, inF]);
        const check = (when: string): void => {
          // The weight's singular values and the actual operator's (identity basis through forward) agree.
          const w = torch.noGrad(() => layer.weight);
          assertSpectrum({ values: singularValues(w), rows: outF, cols: inF }, {}, `${inF}→${outF} weight ${when}`);
          const op = operatorSingularValues(layer, [inF]);
          assert.equal(op.rows, inF);
          assertSpectrum(op, {}, `${inF}→${outF} operator ${when}`);
          // Rows orthonormal when wide (out ≤ in), columns when tall.
          const gram = torch.noGrad(() => (outF <= inF ? w.matmul(w.mT) : w.mT.matmul(w)));
          const size = Math.min(inF, outF);
          assert.ok(maxAbsDiff(gram, torch.eye(size, size)) <= 1e-4, `${inF}→${outF} ${when}: Gram matrix is not the identity`);
        };
        check('at initialization');
        const moved = trainSteps(layer, [inF], { steps: 10, lr: 0.1, batch: 8 });
        assert.ok(moved > 1e-3, `training moved the raw weight by only ${moved}`);
        check('after 10 SGD steps');
      });
    });
  }
});

test('OrthoLinear preserves norms when in ≤ out and never increases them', () => {
  torch.manualSeed(1);
  for (const [inF, outF] of SHAPES) {
    torch.scope(() => {
      const layer = new OrthoLinear(inF, outF, { bias: false, orthoParams: 'test' }).eval();
      const x = torch.randn([8, inF]).mul(2);
      const y = torch.noGrad(() => layer.forward(x));
      const nx = x.norm(2, 1).toFlatArray();
      const ny = y.norm(2, 1).toFlatArray();
      nx.forEach((n, i) => {
        if (inF <= outF) assert.ok(Math.abs(ny[i] / n - 1) <= 1e-4, `${inF}→${outF} sample ${i}: ‖y‖/‖x‖ = ${ny[i] / n}`);
        else assert.ok(ny[i] <= n * (1 + 1e-4), `${inF}→${outF} sample ${i}: ‖y‖ ${ny[i]} > ‖x‖ ${n}`);
      });
    });
  }
});

describe('OrthoLinear with every preset stays 1-Lipschitz (and orthogonal up to its precision), before and after training', () => {
  for (const preset of Object.keys(ORTHO_PARAMS_PRESETS)) {
    test(preset, () => {
      torch.manualSeed(2);
      const minBound = preset.startsWith('cholesky') ? 0.95 : 0.999;
      for (const [inF, outF] of [[16, 32], [32, 16], [16, 16]] as [number, number][]) {
        torch.scope(() => {
          const layer = new OrthoLinear(inF, outF, { bias: true, orthoParams: preset });
          const spectrum = () => ({ values: singularValues(torch.noGrad(() => layer.weight)), rows: outF, cols: inF });
          assertSpectrum(spectrum(), { minBound }, `${preset} ${inF}→${outF} at initialization`);
          assertGradientsReachParameters(layer, [inF], `${preset} ${inF}→${outF}`);
          trainSteps(layer, [inF], { steps: 10, lr: 0.1, batch: 8 });
          assertSpectrum(spectrum(), { minBound }, `${preset} ${inF}→${outF} after 10 SGD steps`);
        });
      }
    });
  }
});

test('OrthoLinear: bias is added, and in eval mode the weight is computed once', () => {
  torch.manualSeed(3);
  torch.scope(() => {
    const layer = new OrthoLinear(12, 20, { orthoParams: 'test' });
    torch.noGrad(() => layer.bias!.copy_(torch.randn([20])));
    const calls = countParametrizationCalls(layer);
    layer.eval();
    const x = torch.randn([5, 12]);
    const y1 = torch.noGrad(() => layer.forward(x));
    const first = calls();
    assert.ok(first > 0);
    const y2 = torch.noGrad(() => layer.forward(x));
    const w = torch.noGrad(() => layer.weight);
    assert.equal(calls(), first, 'a second eval forward recomputed the weight');
    assert.equal(maxAbsDiff(y1, y2), 0);
    assert.ok(maxAbsDiff(y1, torch.F.linear(x, w, layer.bias)) <= 1e-6, 'the layer is F.linear with its weight and bias');
  });
});

test('OrthoLinear and UnitNormLinear refuse input with the wrong number of features', () => {
  torch.scope(() => {
    assert.throws(() => new OrthoLinear(8, 4).forward(torch.randn([2, 7])), { name: 'RangeError', message: /7 features.*expected 8/ });
    assert.throws(() => new UnitNormLinear(8, 4).forward(torch.randn([2, 7])), { name: 'RangeError', message: /7 features.*expected 8/ });
    assert.throws(() => new OrthoLinear(8, 4, { orthoParams: 'nope' }), { name: 'TypeError', message: /unknown orthoParams preset 'nope'/ });
  });
});

describe('UnitNormLinear: every row of unit norm, so every output is 1-Lipschitz', () => {
  for (const [inF, outF] of SHAPES) {
    test(`${inF} → ${outF}`, () => {
      torch.manualSeed(4);
      torch.scope(() => {
        const layer = new UnitNormLinear(inF, outF, { bias: true });
        const check = (when: string): void => {
          const w = torch.noGrad(() => layer.weight);
          assert.deepEqual(w.shape, [outF, inF]);
          const norms = w.norm(2, 1).toFlatArray();
          assert.ok(norms.every((n) => Math.abs(n - 1) <= 1e-5), `${when}: row norms ${norms}`);
          // The operator itself (bias removed): output j's gradient is row j, of norm 1.
          const op = torch.scope(() => {
            const withBias = denseOperator(layer, [inF]);
            const atZero = torch.noGrad(() => layer.eval().forward(torch.zeros([1, inF])).to('float64'));
            layer.train();
            return withBias.sub(atZero).mT.norm(2, 1).toFlatArray();
          });
          assert.ok(op.every((n) => Math.abs(n - 1) <= 1e-5), `${when}: Jacobian row norms ${op}`);
        };
        check('at initialization');
        assertGradientsReachParameters(layer, [inF], `UnitNormLinear ${inF}→${outF}`);
        const moved = trainSteps(layer, [inF], { steps: 10, lr: 0.1, batch: 8 });
        assert.ok(moved > 1e-3, `training moved the raw weight by only ${moved}`);
        check('after 10 SGD steps');
      });
    });
  }
});

/** Singular values (decreasing) by cyclic Jacobi on the Gram matrix AᵀA of the smaller side, in plain JS: independent of libtorch. */
function jacobiSingularValues(a: number[][]): number[] {
  const tall = a.length >= a[0].length;
  const m = tall ? a : a[0].map((_, j) => a.map((row) => row[j])); // rows ≥ columns
  const n = m[0].length;
  const g = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => m.reduce((s, row) => s + row[i] * row[j], 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += g[p][q] * g[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(g[p][q]) < 1e-300) continue;
        const theta = (g[q][q] - g[p][p]) / (2 * g[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) { // G ← G J
          const gkp = g[k][p]; const gkq = g[k][q];
          g[k][p] = c * gkp - s * gkq; g[k][q] = s * gkp + c * gkq;
        }
        for (let k = 0; k < n; k++) { // G ← Jᵀ G
          const gpk = g[p][k]; const gqk = g[q][k];
          g[p][k] = c * gpk - s * gqk; g[q][k] = s * gpk + c * gqk;
        }
      }
    }
  }
  return g.map((row, i) => Math.sqrt(Math.max(0, row[i]))).sort((x, y) => y - x);
}

test('singularValues() of OrthoLinear and UnitNormLinear: the actual weight\'s, as an independent SVD gives them', () => {
  torch.manualSeed(5);
  for (const [inF, outF] of [[6, 4], [4, 7], [5, 5]] as [number, number][]) {
    for (const layer of [new OrthoLinear(inF, outF, { orthoParams: 'test' }), new UnitNormLinear(inF, outF)]) {
      const name = `${layer.typeName} ${inF}→${outF}`;
      // Move the raw weight away from orthogonal so that the values are not all 1 (for UnitNormLinear).
      trainSteps(layer, [inF], { steps: 5, lr: 0.5, batch: 4 });
      const w = torch.noGrad(() => layer.weight.to('float64').toArray() as number[][]);
      const expected = jacobiSingularValues(w);
      const got = layer.singularValues();
      assert.equal(got.values.length, Math.min(inF, outF), `${name}: number of values`);
      got.values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${name}: σ${i} ${v} vs ${expected[i]}`));
      assert.ok(Math.abs(got.max - expected[0]) < 1e-6 && Math.abs(got.min - expected[expected.length - 1]) < 1e-6, `${name}: min/max`);
      const frob = w.flat().reduce((s, v) => s + v * v, 0);
      assert.ok(Math.abs(got.stableRank - frob / (expected[0] ** 2)) < 1e-6, `${name}: stableRank ${got.stableRank}`);
      assert.ok(Math.abs(got.normalizedStableRank - got.stableRank / Math.min(inF, outF)) < 1e-12, `${name}: normalizedStableRank`);
      if (layer instanceof OrthoLinear) {
        assert.ok(Math.abs(got.max - 1) < 1e-4 && Math.abs(got.min - 1) < 1e-4, `${name}: orthogonal weight, σ in [${got.min}, ${got.max}]`);
      } else {
        // Unit rows: ‖W‖F² = out, so σ_max ≥ 1 and, once the rows are no longer orthogonal, the spread is visible.
        assert.ok(Math.abs(frob - outF) < 1e-5 && got.max >= 1 - 1e-6, `${name}: ‖W‖F² = ${frob}, σ_max ${got.max}`);
        assert.ok(got.max - got.min > 1e-3, `${name}: training should have moved the values apart (${got.min}..${got.max})`);
      }
    }
  }
});
