// The reparametrizers behind every orthogonal layer: each orthogonalizer
// returns orthonormal rows (wide matrices) or columns (tall ones), power
// iteration normalizes the spectral norm, the gradients are right (finite
// differences in float64), and the OrthoParams presets are wired as documented.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  BatchedBjorckOrthogonalization, BatchedCholeskyOrthogonalization, BatchedExponentialOrthogonalization, BatchedIdentity, BatchedPowerIteration,
  BatchedQROrthogonalization, DEFAULT_ORTHO_PARAMS, DEFAULT_TEST_ORTHO_PARAMS, L2Normalize, ORTHO_PARAMS_PRESETS, resolveOrthoParams,
} from '../src/ortho/index.js';
import type { Parametrization } from '../src/nn/index.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';
import { maxAbsDiff } from './helpers/operator.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;

const SHAPES: Record<string, number[]> = { square: [3, 6, 6], wide: [3, 4, 9], tall: [3, 9, 4], unbatched: [5, 7] };

/** max |W Wᵀ − I| for wide (or square) matrices, max |Wᵀ W − I| for tall ones, in float64. */
function orthonormalityError(w: Tensor): number {
  return torch.noGrad(() => torch.scope(() => {
    const x = w.to('float64');
    const [m, n] = x.shape.slice(-2);
    const gram = m <= n ? x.matmul(x.mT) : x.mT.matmul(x);
    const size = Math.min(m, n);
    return (gram.sub(torch.eye(size, size, { dtype: 'float64' })).abs().max() as Tensor).item();
  }));
}

/** Largest singular value of each matrix of the batch. */
function spectralNorms(w: Tensor): number[] {
  return torch.noGrad(() => torch.scope(() => {
    const sv = torch.linalg.svdvals(w.to('float64'));
    return (sv.ndim === 1 ? sv.narrow(0, 0, 1) : sv.narrow(-1, 0, 1)).reshape([-1]).toFlatArray();
  }));
}

describe('each orthogonalizer gives orthonormal rows (wide) / columns (tall)', () => {
  // Björck and the Taylor exponential need ‖w‖₂ ≤ 1 first: a power iteration, as in the presets.
  const cases: { label: string; make: (shape: number[]) => Parametrization[]; tol: number }[] = [
    { label: 'power iteration + Björck (25 iterations)', make: (s) => [new BatchedPowerIteration(s, { iterations: 10 }), new BatchedBjorckOrthogonalization(s, { iterations: 25 })], tol: 1e-5 },
    { label: 'power iteration + Björck pass-through (25 iterations)', make: (s) => [new BatchedPowerIteration(s, { iterations: 10 }), new BatchedBjorckOrthogonalization(s, { iterations: 25, passThrough: true })], tol: 1e-5 },
    { label: 'QR', make: (s) => [new BatchedQROrthogonalization(s)], tol: 1e-5 },
    { label: 'power iteration + exponential (12 terms)', make: (s) => [new BatchedPowerIteration(s, { iterations: 10 }), new BatchedExponentialOrthogonalization(s, { iterations: 12 })], tol: 1e-5 },
  ];
  for (const { label, make, tol } of cases) {
    test(label, () => {
      torch.manualSeed(1);
      for (const [kind, shape] of Object.entries(SHAPES)) {
        torch.scope(() => {
          const x = torch.randn(shape);
          let w = x;
          for (const step of make(shape)) w = step.forward(w);
          assert.deepEqual(w.shape, shape, `${label} ${kind}: shape`);
          const err = orthonormalityError(w);
          assert.ok(err <= tol, `${label} on ${kind} [${shape}]: orthonormality error ${err} > ${tol}`);
          // Orthonormal rows or columns: every singular value is 1.
          const norms = spectralNorms(w);
          assert.ok(norms.every((s) => Math.abs(s - 1) <= tol), `${label} ${kind}: spectral norms ${norms}`);
        });
      }
    });
  }
});

test('Cholesky (plain and stable): singular values σ/√(σ² + ε) of the input\'s σ (ε = 1e-5); rows or columns orthonormal up to that', () => {
  // W = L⁻¹X with L Lᵀ = X Xᵀ + εI gives W Wᵀ = I − ε(LᵀL)⁻¹, whose eigenvalues are σ²/(σ² + ε).
  torch.manualSeed(9);
  for (const stable of [false, true]) {
    for (const [kind, shape] of Object.entries(SHAPES)) {
      torch.scope(() => {
        const x = torch.randn(shape, { dtype: 'float64' });
        const w = new BatchedCholeskyOrthogonalization(shape, { stable }).forward(x);
        assert.deepEqual(w.shape, shape);
        const sx = torch.linalg.svdvals(x);
        const expected = sx.div(sx.square().add(1e-5).sqrt());
        const d = maxAbsDiff(torch.linalg.svdvals(w), expected);
        assert.ok(d <= 1e-9, `${stable ? 'stable' : 'plain'} ${kind}: singular values differ from σ/√(σ²+ε) by ${d}`);
        const err = orthonormalityError(w);
        const bound = (torch.noGrad(() => sx.min()) as Tensor).item();
        assert.ok(err <= 1e-5 / bound ** 2 + 1e-12, `${kind}: orthonormality error ${err} exceeds ε/σ_min² = ${1e-5 / bound ** 2}`);
      });
    }
  }
});

describe('BatchedPowerIteration', () => {
  test('normalizes the spectral norm to 1, better with each call (warm start), and its u, v buffers move', () => {
    torch.manualSeed(2);
    for (const shape of [SHAPES.square, SHAPES.wide, SHAPES.tall]) {
      torch.scope(() => {
        const pi = new BatchedPowerIteration(shape, { iterations: 2 });
        const x = torch.randn(shape).mul(3);
        const u0 = pi.getBuffer('u')!.clone();
        const v0 = pi.getBuffer('v')!.clone();
        assert.deepEqual(u0.shape, [...shape.slice(0, -2), shape[shape.length - 2], 1]);
        assert.deepEqual(v0.shape, [...shape.slice(0, -2), shape[shape.length - 1], 1]);
        const first = spectralNorms(pi.forward(x));
        assert.ok(maxAbsDiff(pi.getBuffer('u')!, u0) > 1e-3 && maxAbsDiff(pi.getBuffer('v')!, v0) > 1e-3, 'u and v are updated by a call');
        // σ is estimated from below, so the normalized norm is ≥ 1 before convergence.
        assert.ok(first.every((s) => s >= 1 - 1e-5), `[${shape}] first call: ${first}`);
        const u1 = pi.getBuffer('u')!.clone();
        let norms = first;
        for (let i = 0; i < 8; i++) norms = spectralNorms(pi.forward(x));
        assert.ok(maxAbsDiff(pi.getBuffer('u')!, u1) > 0, 'later calls still refine u');
        assert.ok(norms.every((s) => Math.abs(s - 1) <= 1e-3), `[${shape}] after 9 calls of 2 iterations: spectral norms ${norms}`);
      });
    }
  });

  test('the gradient flows through σ (not through u, v) and the buffers are not part of the graph', () => {
    torch.manualSeed(3);
    torch.scope(() => {
      const pi = new BatchedPowerIteration([4, 5], { iterations: 20 });
      const x = torch.randn([4, 5]).requiresGrad_(true);
      const y = pi.forward(x);
      assert.equal(pi.getBuffer('u')!.requiresGrad, false);
      y.mul(torch.randn([4, 5])).sum().backward();
      const g = x.grad!;
      assert.ok((g.isfinite().all() as Tensor).item() && (g.abs().max() as Tensor).item() > 0, 'non-zero finite gradient');
      // d/dx of x / σ(x) with σ = uᵀxv: along x itself, the derivative of the normalized map vanishes.
      torch.scope(() => {
        x.grad = null;
        const y2 = pi.forward(x);
        y2.mul(y2.detach()).sum().backward(); // ∂/∂t ‖y(x + t x)‖²/2 = 0 for a scale-invariant y
        const radial = x.grad!.mul(x.detach()).sum().item();
        assert.ok(Math.abs(radial) < 1e-4, `scale invariance: <∇, x> = ${radial}`);
      });
    });
  });

  test('refuses a shape with fewer than 2 dims', () => {
    assert.throws(() => new BatchedPowerIteration([3]), { name: 'RangeError', message: /at least 2 dims/ });
  });
});

describe('BatchedBjorckOrthogonalization', () => {
  test('pass-through: same forward, and the gradient still reaches the input (Orthogonium detaches it)', () => {
    torch.manualSeed(4);
    for (const shape of [SHAPES.wide, SHAPES.tall]) {
      torch.scope(() => {
        const x = new BatchedPowerIteration(shape, { iterations: 10 }).forward(torch.randn(shape)).detach().requiresGrad_(true);
        const full = new BatchedBjorckOrthogonalization(shape, { iterations: 12 });
        const through = new BatchedBjorckOrthogonalization(shape, { iterations: 12, passThrough: true });
        const r = torch.randn(shape);
        const yFull = full.forward(x);
        const yThrough = through.forward(x);
        assert.ok(maxAbsDiff(yFull, yThrough) <= 1e-6, `forward differs by ${maxAbsDiff(yFull, yThrough)}`);
        const [gFull] = torch.autograd.grad(yFull.mul(r).sum(), [x]);
        const [gThrough] = torch.autograd.grad(yThrough.mul(r).sum(), [x]);
        assert.ok(gThrough !== null, 'pass-through gives the input a gradient');
        const norm = (gThrough!.abs().max() as Tensor).item();
        assert.ok(Number.isFinite(norm) && norm > 1e-3, `pass-through gradient max |g| = ${norm}`);
        // It is the gradient of the last iteration: biased, but pointing the same way as the exact one.
        const cos = torch.F.cosineSimilarity(gFull!.reshape([1, -1]), gThrough!.reshape([1, -1])).item();
        assert.ok(cos > 0.5, `cosine between exact and pass-through gradients: ${cos}`);
      });
    }
  });

  test('gradient matches finite differences in float64', () => {
    const x = randomTensor([2, 3, 5], 11, -0.4, 0.4, true);
    const bjorck = new BatchedBjorckOrthogonalization([2, 3, 5], { iterations: 4 });
    const report = gradcheck((w) => bjorck.forward(w), [x], { rtol: 1e-5, atol: 1e-8 });
    assert.equal(report.checked, 30);
  });

  test('refuses a negative iteration count', () => {
    assert.throws(() => new BatchedBjorckOrthogonalization([3, 3], { iterations: -1 }), { name: 'RangeError', message: /iterations/ });
  });

  test('the fused native iteration gives the unfused values and gradients (small, row-split and multi-threaded cases)', () => {
    // [1, 64, 160] and [2, 160, 64] are large enough for the products to be split by rows over threads.
    const shapes = [SHAPES.wide, SHAPES.tall, SHAPES.square, SHAPES.unbatched, [2, 3, 4, 9], [1, 64, 160], [2, 160, 64]];
    for (const threads of [1, 2]) {
      torch.setNumThreads(threads);
      shapes.forEach((shape, i) => torch.scope(() => {
        const x = randomTensor(shape, 20 + i, -1, 1, true);
        const start = new BatchedPowerIteration(shape, { iterations: 10 }).forward(x);
        const r = randomTensor(shape, 40 + i);
        const run = (fused: boolean) => {
          const y = new BatchedBjorckOrthogonalization(shape, { iterations: 12, fused }).forward(start);
          const [g] = torch.autograd.grad(y.mul(r).sum(), [x], { retainGraph: true });
          return { y, g: g! };
        };
        const fused = run(true);
        const plain = run(false);
        assert.ok(maxAbsDiff(fused.y, plain.y) < 1e-12, `[${shape}] ${threads} threads: values differ by ${maxAbsDiff(fused.y, plain.y)}`);
        assert.ok(maxAbsDiff(fused.g, plain.g) < 1e-10, `[${shape}] ${threads} threads: gradients differ by ${maxAbsDiff(fused.g, plain.g)}`);
      }));
    }
    torch.setNumThreads(1);
  });

  test('the fused iteration on row-split products matches finite differences in float64', () => {
    torch.setNumThreads(2);
    const x = randomTensor([1, 64, 80], 12, -0.1, 0.1, true);
    const bjorck = new BatchedBjorckOrthogonalization([1, 64, 80], { iterations: 3 });
    const report = gradcheck((w) => bjorck.forward(w), [x], { rtol: 1e-5, atol: 1e-8, maxPerInput: 40 });
    assert.equal(report.checked, 40);
    torch.setNumThreads(1);
  });

  test('the fused iteration refuses double backward by name and stays in float32 under bf16 autocast', () => {
    const x = torch.randn([4, 6], { requiresGrad: true });
    const bjorck = new BatchedBjorckOrthogonalization([4, 6], { iterations: 3 });
    assert.throws(() => torch.autograd.grad(bjorck.forward(x).pow(3).sum(), [x], { createGraph: true }), /differentiable once.*fused: false/);
    const unfused = new BatchedBjorckOrthogonalization([4, 6], { iterations: 3, fused: false });
    const [g2] = torch.autograd.grad(unfused.forward(x).pow(3).sum(), [x], { createGraph: true });
    g2!.sum().backward();
    assert.ok(x.grad !== null, 'the unfused form supports double backward');
    const y = torch.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => bjorck.forward(x));
    assert.equal(y.dtype, 'float32');
  });
});

describe('BatchedQROrthogonalization', () => {
  test('sign correction: an orthogonal input comes back unchanged', () => {
    torch.manualSeed(5);
    for (const [kind, shape] of Object.entries(SHAPES)) {
      torch.scope(() => {
        const [m, n] = shape.slice(-2);
        const tallShape = [...shape.slice(0, -2), Math.max(m, n), Math.min(m, n)];
        // Orthonormal columns with arbitrary signs (QR's Q, then columns flipped at random).
        const { Q } = torch.linalg.qr(torch.randn(tallShape), 'reduced');
        const signs = torch.randint(0, 2, [...shape.slice(0, -2), 1, Math.min(m, n)]).mul(2).sub(1).to('float32');
        let q = Q.mul(signs);
        if (m < n) q = q.mT.contiguous();
        assert.ok(orthonormalityError(q) < 1e-5);
        const out = new BatchedQROrthogonalization(shape).forward(q);
        assert.ok(maxAbsDiff(out, q) <= 1e-5, `${kind}: QR changed an orthogonal matrix by ${maxAbsDiff(out, q)}`);
      });
    }
  });

  test('continuity: a small perturbation moves the output a little (no sign flips)', () => {
    torch.manualSeed(6);
    torch.scope(() => {
      const qr = new BatchedQROrthogonalization([3, 6, 4]);
      const x = torch.randn([3, 6, 4], { dtype: 'float64' });
      const d = maxAbsDiff(qr.forward(x), qr.forward(x.add(torch.randn([3, 6, 4], { dtype: 'float64' }).mul(1e-7))));
      assert.ok(d < 1e-5, `output moved by ${d}`);
    });
  });

  test('gradient matches finite differences in float64', () => {
    for (const shape of [[2, 5, 3], [2, 3, 5]]) {
      const x = randomTensor(shape, 12, -1, 1, true);
      const qr = new BatchedQROrthogonalization(shape);
      gradcheck((w) => qr.forward(w), [x], { rtol: 1e-5, atol: 1e-8 });
    }
  });
});

describe('BatchedCholeskyOrthogonalization', () => {
  test('stable and plain variants: same forward, and gradients that match finite differences and each other (float64)', () => {
    for (const shape of [[2, 3, 5], [4, 4], [2, 5, 3]]) {
      torch.scope(() => {
        const plain = new BatchedCholeskyOrthogonalization(shape);
        const stable = new BatchedCholeskyOrthogonalization(shape, { stable: true });
        const x = randomTensor(shape, 13, -1, 1, true);
        const yPlain = plain.forward(x);
        const yStable = stable.forward(x);
        assert.equal(yPlain.dtype, 'float64');
        assert.ok(maxAbsDiff(yPlain, yStable) <= 1e-12, `[${shape}] forward differs by ${maxAbsDiff(yPlain, yStable)}`);
        gradcheck((w) => plain.forward(w), [x], { rtol: 1e-5, atol: 1e-8 });
        gradcheck((w) => stable.forward(w), [x], { rtol: 1e-5, atol: 1e-8 });
        const r = randomTensor(yPlain.shape, 14);
        const [gPlain] = torch.autograd.grad(plain.forward(x).mul(r).sum(), [x]);
        const [gStable] = torch.autograd.grad(stable.forward(x).mul(r).sum(), [x]);
        assert.ok(maxAbsDiff(gPlain!, gStable!) <= 1e-9, `[${shape}] gradients differ by ${maxAbsDiff(gPlain!, gStable!)}`);
      });
    }
  });
});

describe('BatchedExponentialOrthogonalization', () => {
  test('the exponential of a skew-symmetric matrix is orthogonal and equals matrix_exp', () => {
    torch.manualSeed(7);
    torch.scope(() => {
      const b = torch.randn([3, 6, 6], { dtype: 'float64' });
      const skew = b.sub(b.mT).mul(0.25); // ‖A‖ about 1
      const exp12 = new BatchedExponentialOrthogonalization([3, 6, 6], { iterations: 12 }).forward(skew);
      assert.ok(orthonormalityError(exp12) <= 1e-6, `12 terms: orthonormality error ${orthonormalityError(exp12)}`);
      const reference = torch.linalg.matrixExp(skew);
      assert.ok(maxAbsDiff(exp12, reference) <= 1e-6, `12 terms vs matrix_exp: ${maxAbsDiff(exp12, reference)}`);
      // The class default (7 terms) on a smaller skew matrix.
      const small = skew.mul(0.2);
      const exp7 = new BatchedExponentialOrthogonalization([3, 6, 6]).forward(small);
      assert.ok(orthonormalityError(exp7) <= 1e-6, `7 terms: orthonormality error ${orthonormalityError(exp7)}`);
      assert.ok(maxAbsDiff(exp7, torch.linalg.matrixExp(small)) <= 1e-6);
    });
  });

  test('gradient matches finite differences in float64', () => {
    const x = randomTensor([2, 3, 4], 15, -0.3, 0.3, true);
    const e = new BatchedExponentialOrthogonalization([2, 3, 4], { iterations: 12 });
    gradcheck((w) => e.forward(w), [x], { rtol: 1e-5, atol: 1e-8 });
  });
});

test('L2Normalize gives unit norms along its dims', () => {
  torch.scope(() => {
    const x = torch.randn([4, 6, 3]);
    const rows = new L2Normalize(1).forward(x).norm(2, 1).reshape([-1]).toFlatArray();
    assert.ok(rows.every((v) => Math.abs(v - 1) < 1e-5), `norms along dim 1: ${rows}`);
    const all = new L2Normalize().forward(x).norm(2).item();
    assert.ok(Math.abs(all - 1) < 1e-5);
  });
});

test('L2Normalize dtype: the norm is computed in that dtype (torch.norm(..., dtype)), with PyTorch\'s type promotion', () => {
  torch.scope(() => {
    const x = torch.randn([3, 5]);
    const plain = new L2Normalize(1).forward(x);
    assert.equal(plain.dtype, 'float32');
    const wide = new L2Normalize(1, { dtype: 'float64' }).forward(x);
    assert.equal(wide.dtype, 'float64', 'float32 / float64 → float64');
    const reference = x.to('float64').div(x.to('float64').norm(2, 1, true).add(1e-8));
    assert.equal(maxAbsDiff(wide, reference), 0);
    assert.ok(maxAbsDiff(wide.to('float32'), plain) < 1e-6);
    const same = new L2Normalize(-2, { dtype: 'float32' });
    assert.equal(same.forward(x).dtype, 'float32');
    assert.equal(same.extraRepr(), 'dim=-2, dtype=float32');
    assert.throws(() => new L2Normalize(0, { dtype: 'int64' }), /L2Normalize: dtype must be a floating dtype, got "int64"/);
  });
});

describe('OrthoParams presets', () => {
  const names = ['default', 'bjorck-pass-through', 'test', 'exp', 'qr', 'cholesky', 'cholesky-stable'];

  test('every preset resolves by name to itself; undefined gives the default; objects pass through', () => {
    assert.deepEqual(Object.keys(ORTHO_PARAMS_PRESETS).sort(), [...names].sort());
    for (const n of names) assert.equal(resolveOrthoParams(n).name, n);
    assert.equal(resolveOrthoParams(undefined), DEFAULT_ORTHO_PARAMS);
    assert.equal(DEFAULT_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS.default);
    assert.equal(DEFAULT_TEST_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS.test);
    const custom = { name: 'mine', spectralNormalizer: (s: number[]) => new BatchedIdentity(s), orthogonalizer: (s: number[]) => new BatchedQROrthogonalization(s) };
    assert.equal(resolveOrthoParams(custom), custom);
  });

  test("resolveOrthoParams('nope') throws a TypeError that lists the presets", () => {
    assert.throws(() => resolveOrthoParams('nope'), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /unknown orthoParams preset 'nope'/);
      for (const n of names) assert.ok(e.message.includes(n), `message lists ${n}: ${e.message}`);
      return true;
    });
  });

  test('the presets build the documented reparametrizers', () => {
    const shape = [2, 4, 6];
    const built = (n: string) => {
      const p = resolveOrthoParams(n);
      return { sn: p.spectralNormalizer(shape), orth: p.orthogonalizer(shape) };
    };
    const expectBjorck = (n: string, iterations: number, passThrough: boolean, piIterations: number) => {
      const { sn, orth } = built(n);
      assert.ok(sn instanceof BatchedPowerIteration && sn.iterations === piIterations, `${n}: power iteration ×${piIterations}`);
      assert.ok(orth instanceof BatchedBjorckOrthogonalization, `${n}: Björck`);
      assert.equal(orth.iterations, iterations, `${n}: Björck iterations`);
      assert.equal(orth.passThrough, passThrough, `${n}: pass-through`);
    };
    expectBjorck('default', 12, false, 3);
    expectBjorck('bjorck-pass-through', 12, true, 3);
    expectBjorck('test', 25, false, 4);
    assert.ok(built('exp').orth instanceof BatchedExponentialOrthogonalization);
    assert.ok(built('qr').orth instanceof BatchedQROrthogonalization);
    for (const n of ['cholesky', 'cholesky-stable']) {
      const { sn, orth } = built(n);
      assert.ok(sn instanceof BatchedIdentity, `${n}: no spectral normalizer`);
      assert.ok(orth instanceof BatchedCholeskyOrthogonalization && orth.stable === (n === 'cholesky-stable'), `${n}: Cholesky`);
    }
  });

  test('each preset, as a whole (normalizer then orthogonalizer), orthogonalizes random matrices', () => {
    torch.manualSeed(8);
    for (const n of names) {
      for (const [kind, shape] of Object.entries(SHAPES)) {
        torch.scope(() => {
          const p = resolveOrthoParams(n);
          const x = torch.randn(shape);
          const sn = p.spectralNormalizer(shape);
          const orth = p.orthogonalizer(shape);
          // The layers evaluate the chain repeatedly during training: take the third evaluation.
          let w = x;
          for (let i = 0; i < 3; i++) w = orth.forward(sn.forward(x));
          const sv = torch.noGrad(() => torch.scope(() => torch.linalg.svdvals(w.to('float64')).reshape([-1]).toFlatArray()));
          const max = Math.max(...sv);
          const min = Math.min(...sv);
          assert.ok(max <= 1 + 1e-4, `${n} on ${kind}: largest singular value ${max}`);
          // Cholesky (no normalizer, ε = 1e-5) is only approximately orthogonal: σ/√(σ²+ε), tested above.
          if (!n.startsWith('cholesky')) assert.ok(min >= 0.999, `${n} on ${kind}: smallest singular value ${min} < 0.999`);
        });
      }
    }
  });
});
