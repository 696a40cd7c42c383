// The orthogonal transposed convolutions (AdaptiveOrthoConvTranspose2d) are
// orthogonal. Two views, as in Orthogonium's test_orthogonality_conv_transpose.py:
//
// * With its natural padding (zeros, padding 0, output padding 0) a
//   transposed convolution outputs the full support of the result, so when
//   the convolution it is the adjoint of is row-orthogonal on ℓ²(ℤ²) (out·s² ≥ in,
//   or kernel == stride, or 1×1) the transposed layer is an exact isometry:
//   every singular value of its dense operator is 1. Otherwise (Orthogonium:
//   "not handled yet") only the Lipschitz bound holds on finite inputs.
// * The kernel itself is orthogonal as a circular convolution in every case:
//   its exact circular singular values (convSingularValues, by FFT, checked
//   here against dense circular operators) are all 1.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { ConvTranspose2d } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import {
  AdaptiveOrthoConvTranspose2d, BcopRkoConvTranspose2d, FastBlockConvTranspose2d, OrthoConvTranspose2dBase, ORTHO_PARAMS_PRESETS, RkoConvTranspose2d,
} from '../src/ortho/index.js';
import { convSingularValues } from '../src/ortho/singular-values.js';
import {
  assertGradientsReachParameters, assertSpectrum, configName, countParametrizationCalls, maxAbsDiff, operatorSingularValues, singularValues, trainSteps,
} from './helpers/operator.js';

// Many tiny ops: one intra-op thread is much faster on the 2-core machine.
torch.setNumThreads(1);

type Tensor = torch.Tensor;

interface Case {
  cin: number;
  cout: number;
  k: number;
  s?: number;
  g?: number;
  d?: number;
  /** Spatial size of the transposed convolution's input (default 4). */
  h?: number;
  preset?: string;
}

const name = (c: Case): string => configName({ in: c.cin, out: c.cout, k: c.k, s: c.s, g: c.g, d: c.d, h: c.h, preset: c.preset });
const inShape = (c: Case): [number, number, number] => [c.cin, c.h ?? 4, c.h ?? 4];

function build(c: Case, bias = false): OrthoConvTranspose2dBase {
  return AdaptiveOrthoConvTranspose2d({
    inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.s ?? 1, groups: c.g ?? 1, dilation: c.d ?? 1, bias, orthoParams: c.preset ?? 'test',
  });
}

/** Orthogonium's factory rule for transposed convolutions. */
function expectedClass(c: Case): Function {
  const s = c.s ?? 1;
  if (c.k === s) return RkoConvTranspose2d;
  if (s === 1) return FastBlockConvTranspose2d;
  return BcopRkoConvTranspose2d;
}

/** Where the zero-padded transposed layer is an exact isometry (Orthogonium skips the rest). */
const exactWithZeroPadding = (c: Case): boolean => !(c.k > 1 && c.k !== (c.s ?? 1) && c.cout * (c.s ?? 1) ** 2 < c.cin);

/** Exact circular singular values of the layer's kernel, as a transposed convolution on h×h inputs. */
function circularValues(layer: OrthoConvTranspose2dBase, c: Case): number[] {
  return torch.noGrad(() => torch.scope(() => {
    const sv = convSingularValues(layer.weight, [c.h ?? 4, c.h ?? 4], { groups: c.g ?? 1, stride: c.s ?? 1, dilation: c.d ?? 1, transposed: true });
    return sv.values.reshape([-1]).toFlatArray();
  }));
}

function assertCircularOrthogonal(layer: OrthoConvTranspose2dBase, c: Case, minBound: number, what: string): void {
  const values = circularValues(layer, c);
  const h = c.h ?? 4;
  const s = c.s ?? 1;
  // One value per element of the smaller side: min(in·h², out·(h·s)²).
  assertSpectrum({ values, rows: c.cin * h * h, cols: c.cout * h * h * s * s }, { minBound }, `${what} (circular, by FFT)`);
}

function checkTransposedLayer(c: Case, bounds: { minBound?: number } = {}): void {
  const minBound = bounds.minBound ?? 1 - 1e-4;
  torch.manualSeed(0); // as Orthogonium: each configuration starts from the same seed
  torch.scope(() => {
    const layer = build(c);
    assert.ok(layer instanceof expectedClass(c), `${name(c)}: factory built ${layer.typeName}, expected ${expectedClass(c).name}`);
    assert.deepEqual(torch.noGrad(() => torch.scope(() => layer.weight.shape)), [c.cin, c.cout / (c.g ?? 1), c.k, c.k], `${name(c)}: weight shape`);
    const check = (when: string): void => {
      const spec = operatorSingularValues(layer, inShape(c));
      const s = c.s ?? 1;
      const outSide = ((c.h ?? 4) - 1) * s + (c.d ?? 1) * (c.k - 1) + 1;
      assert.equal(spec.cols, c.cout * outSide * outSide, `${name(c)}: the transposed layer outputs the full support`);
      assertSpectrum(spec, { minBound: exactWithZeroPadding(c) ? minBound : null }, `${name(c)} ${when} (zero padding, dense)`);
      assertCircularOrthogonal(layer, c, minBound, `${name(c)} ${when}`);
    };
    check('at initialization');
    const moved = trainSteps(layer, inShape(c), { steps: 10, lr: 0.1 });
    assert.ok(moved > 1e-4, `${name(c)}: training moved the raw weights by only ${moved}`);
    check('after 10 SGD steps');
  });
}

describe('AdaptiveOrthoConvTranspose2d is orthogonal (test preset, before and after training)', () => {
  // Orthogonium's test_convtranspose grid: k 1–3, in 4/8/16, out 4/8/32, stride 1–2,
  // groups 1–2; every (k, stride, in, out) once, groups rotating.
  let i = 0;
  for (const k of [1, 2, 3]) {
    for (const s of [1, 2]) {
      if (k < s) continue;
      for (const cin of [4, 8, 16]) {
        for (const cout of [4, 8, 32]) {
          const c: Case = { cin, cout, k, s, g: [1, 2][i++ % 2] };
          test(`${name(c)}${exactWithZeroPadding(c) ? '' : ' (zero padding: Lipschitz only)'}`, () => checkTransposedLayer(c));
        }
      }
    }
  }
  // Beyond Orthogonium's grid: larger kernels, strides 3 and 4, groups 4, dilation 3.
  const extra: Case[] = [
    { cin: 8, cout: 8, k: 4, s: 2, g: 4 }, { cin: 4, cout: 8, k: 5, s: 2 }, { cin: 16, cout: 8, k: 5, s: 2, g: 2 },
    { cin: 8, cout: 8, k: 3, s: 3, g: 2 }, { cin: 8, cout: 4, k: 4, s: 4 }, { cin: 4, cout: 8, k: 5, s: 4, g: 4, h: 3 },
    { cin: 8, cout: 8, k: 5, s: 1, g: 4, h: 5 }, { cin: 8, cout: 16, k: 3, s: 2, d: 3 }, { cin: 8, cout: 8, k: 3, s: 1, d: 2, h: 6 },
    { cin: 16, cout: 8, k: 3, s: 2, d: 3 },
  ];
  for (const c of extra) test(`${name(c)}${exactWithZeroPadding(c) ? '' : ' (zero padding: Lipschitz only)'}`, () => checkTransposedLayer(c));
});

test('convSingularValues(transposed) agrees with the dense matrix of the equivalent circular convolution', () => {
  // The transposed layer with weight W [in, out/g, k, k] is the adjoint of the
  // convolution out → in with the same W as an ordinary weight: same singular values.
  const configs: Case[] = [
    { cin: 8, cout: 8, k: 3, s: 1, g: 2 }, { cin: 8, cout: 16, k: 3, s: 2 }, { cin: 16, cout: 4, k: 3, s: 2, g: 2 },
    { cin: 8, cout: 4, k: 2, s: 2 }, { cin: 8, cout: 8, k: 3, s: 2, d: 3 },
  ];
  for (const c of configs) {
    torch.scope(() => {
      const layer = build(c);
      trainSteps(layer, inShape(c), { steps: 3, lr: 0.1 });
      const h = c.h ?? 4;
      const s = c.s ?? 1;
      const d = c.d ?? 1;
      const w = torch.noGrad(() => layer.weight.to('float64'));
      const extent = d * (c.k - 1) + 1;
      const total = extent - s; // circular padding that maps an (h·s)-grid to an h-grid
      const pads = [Math.floor(total / 2), total - Math.floor(total / 2), Math.floor(total / 2), total - Math.floor(total / 2)];
      const conv = (x: Tensor): Tensor => torch.F.conv2d(torch.F.pad(x.to('float64'), pads, 'circular'), w, { stride: s, dilation: d, groups: c.g ?? 1 });
      const dense = operatorSingularValues(conv, [c.cout, h * s, h * s]);
      assert.equal(dense.cols, c.cin * h * h);
      const fromFft = circularValues(layer, c).sort((a, b) => b - a);
      assert.equal(fromFft.length, dense.values.length, `${name(c)}: number of singular values`);
      const worst = Math.max(...fromFft.map((v, j) => Math.abs(v - dense.values[j])));
      assert.ok(worst <= 1e-6, `${name(c)}: FFT and dense circular singular values differ by ${worst}`);
      assertSpectrum(dense, {}, `${name(c)} dense circular adjoint`);
    });
  }
});

describe('every OrthoParams preset keeps the transposed layer 1-Lipschitz (and orthogonal up to its precision)', () => {
  // Orthogonium's test_parametrizers_standard_configs (transposed), sampled.
  const configs: Case[] = [{ cin: 4, cout: 8, k: 3, s: 1, g: 2 }, { cin: 8, cout: 4, k: 3, s: 2 }, { cin: 8, cout: 8, k: 1, s: 1 }, { cin: 4, cout: 4, k: 2, s: 2, g: 2 }];
  for (const preset of Object.keys(ORTHO_PARAMS_PRESETS)) {
    const minBound = preset.startsWith('cholesky') ? 0.95 : 0.999;
    for (const c of configs) test(name({ ...c, preset }), () => checkTransposedLayer({ ...c, preset }, { minBound }));
  }
});

test('the library default preset gives an orthogonal transposed layer at initialization, whatever the seed', () => {
  // RkoConvTranspose2d 8 → 8, kernel 1: its RKO matrix is square (8×8).
  const c: Case = { cin: 8, cout: 8, k: 1, preset: 'default' };
  const mins: string[] = [];
  for (let seed = 0; seed < 10; seed++) {
    torch.manualSeed(seed);
    torch.scope(() => {
      const spec = operatorSingularValues(build(c), inShape(c));
      mins.push(Math.min(...spec.values).toFixed(4));
      assertSpectrum(spec, { minBound: null }, `${name(c)} seed ${seed}`);
    });
  }
  assert.ok(mins.every((m) => Number(m) >= 0.999), `${name(c)}: smallest singular value per seed 0..9: ${mins.join(' ')}`);
});

describe('gradients reach every raw parameter', () => {
  const constructions: Case[] = [{ cin: 8, cout: 8, k: 3 }, { cin: 2, cout: 2, k: 3 }, { cin: 8, cout: 4, k: 2, s: 2, g: 2 }, { cin: 4, cout: 8, k: 3, s: 2 }];
  for (const preset of Object.keys(ORTHO_PARAMS_PRESETS)) {
    test(`preset ${preset}: FastBlockConvTranspose2d, RkoConvTranspose2d, BcopRkoConvTranspose2d`, () => {
      for (const c of constructions) {
        torch.scope(() => {
          const layer = build({ ...c, preset }, true);
          assert.ok(layer instanceof expectedClass(c));
          assertGradientsReachParameters(layer, inShape(c), `${layer.typeName} ${name({ ...c, preset })}`);
        });
      }
    });
  }
});

describe('eval mode: the kernel is computed once, and the layer is a plain ConvTranspose2d with `weight`', () => {
  const configs: Case[] = [{ cin: 8, cout: 8, k: 3 }, { cin: 8, cout: 4, k: 2, s: 2 }, { cin: 4, cout: 8, k: 3, s: 2, g: 2 }];
  for (const c of configs) {
    test(name(c), () => torch.scope(() => {
      const layer = build(c, true);
      torch.noGrad(() => layer.getParameter('bias')!.copy_(torch.randn([c.cout])));
      const calls = countParametrizationCalls(layer);
      const x = torch.randn([3, c.cin, 5, 5]);
      layer.train();
      torch.scope(() => layer.forward(x));
      const perForward = calls();
      assert.ok(perForward > 0, 'the counter sees the reparametrizers');
      torch.scope(() => layer.forward(x));
      assert.equal(calls(), 2 * perForward, 'training forwards recompute the kernel each time');

      layer.eval();
      const before = calls();
      const y1 = torch.noGrad(() => layer.forward(x));
      const afterFirst = calls();
      assert.ok(afterFirst > before, 'the first eval forward computes the kernel');
      const y2 = torch.noGrad(() => layer.forward(x));
      const w = torch.noGrad(() => layer.weight);
      assert.equal(calls(), afterFirst, `${layer.typeName}: a second eval forward recomputed the kernel`);
      assert.equal(maxAbsDiff(y1, y2), 0);

      const ref = torch.F.convTranspose2d(x, w, { bias: layer.bias, stride: c.s ?? 1, groups: c.g ?? 1 });
      assert.ok(maxAbsDiff(y1, ref) <= 1e-6, `F.convTranspose2d with weight differs by ${maxAbsDiff(y1, ref)}`);
      const plain = new ConvTranspose2d(c.cin, c.cout, c.k, { stride: c.s ?? 1, groups: c.g ?? 1 });
      plain.loadStateDict(new Map([['weight', w], ['bias', layer.bias!]]));
      assert.ok(maxAbsDiff(torch.noGrad(() => plain.forward(x)), y1) <= 1e-6, 'a plain ConvTranspose2d with the same weight gives the same output');
      plain.dispose();

      layer.train();
      const opt = new SGD(layer.parameters(), { lr: 0.5 });
      torch.scope(() => { opt.zeroGrad(); const y = layer.forward(x); y.mul(torch.randnLike(y)).sum().backward(); opt.step(); });
      layer.eval();
      const countBefore = calls();
      const y3 = torch.noGrad(() => layer.forward(x));
      assert.ok(calls() > countBefore, 'eval forward after a weight update recomputes the kernel');
      assert.ok(maxAbsDiff(y3, y1) > 1e-4, 'the output changed after the weight update');
    }));
  }
});

describe('construction rules', () => {
  test('the factory picks RKO for kernel == stride, BCOP for stride 1, BCOP∘RKO otherwise; weight is [in, out/groups, k, k]', () => {
    const table: [Case, Function][] = [
      [{ cin: 4, cout: 8, k: 1 }, RkoConvTranspose2d], [{ cin: 8, cout: 4, k: 2, s: 2, g: 2 }, RkoConvTranspose2d], [{ cin: 4, cout: 4, k: 4, s: 4 }, RkoConvTranspose2d],
      [{ cin: 4, cout: 8, k: 3 }, FastBlockConvTranspose2d], [{ cin: 8, cout: 4, k: 2, g: 4 }, FastBlockConvTranspose2d],
      [{ cin: 8, cout: 4, k: 3, s: 2 }, BcopRkoConvTranspose2d], [{ cin: 4, cout: 8, k: 5, s: 4 }, BcopRkoConvTranspose2d],
    ];
    for (const [c, cls] of table) {
      torch.scope(() => {
        const layer = build(c);
        assert.equal(layer.constructor, cls, `${name(c)}: got ${layer.typeName}, expected ${cls.name}`);
        assert.deepEqual(torch.noGrad(() => layer.weight.shape), [c.cin, c.cout / (c.g ?? 1), c.k, c.k]);
      });
    }
  });

  test('kernel < stride throws a RangeError that says why, in the factory and in every class', () => {
    const o = { inChannels: 8, outChannels: 16, kernelSize: 2, stride: 3 };
    const message = /kernelSize \(2\) < stride \(3\).*no orthogonal convolution/;
    assert.throws(() => AdaptiveOrthoConvTranspose2d(o), { name: 'RangeError', message });
    assert.throws(() => new BcopRkoConvTranspose2d(o), { name: 'RangeError', message });
    assert.throws(() => new FastBlockConvTranspose2d(o), { name: 'RangeError', message });
    assert.throws(() => new RkoConvTranspose2d(o), { name: 'RangeError', message });
  });

  test('dilation a multiple of the stride is refused when out ≤ in (Orthogonium\'s rule)', () => {
    for (const [cin, cout] of [[8, 8], [16, 8]]) {
      assert.throws(() => build({ cin, cout, k: 3, s: 2, d: 2 }), { name: 'RangeError', message: /dilation \(2\) must not be a multiple of stride \(2\)/ }, `${cin}→${cout}`);
    }
  });

  test('with out > in, a dilation that is a multiple of the stride is refused or stays 1-Lipschitz', () => {
    // Minimal cases: 8 → 16, stride 2, dilation 2, with kernel 3 (BcopRkoConvTranspose2d)
    // and kernel 2 (RkoConvTranspose2d; RKOConv2d refuses this dilation whatever the channels).
    for (const c of [{ cin: 8, cout: 16, k: 3, s: 2, d: 2 }, { cin: 8, cout: 16, k: 2, s: 2, d: 2 }] as Case[]) {
      torch.manualSeed(0);
      let layer: OrthoConvTranspose2dBase;
      try {
        layer = build(c);
      } catch (e) {
        assert.ok(e instanceof RangeError, `refused, but with ${String(e)}`);
        continue;
      }
      torch.scope(() => {
        const circular = Math.max(...circularValues(layer, c));
        const dense = Math.max(...operatorSingularValues(layer, inShape(c)).values);
        assert.ok(circular <= 1 + 1e-4 && dense <= 1 + 1e-4,
          `${layer.typeName} ${name(c)} was built but is not 1-Lipschitz: largest singular value ${circular} (circular), ${dense} (zero padding, dense)`);
      });
    }
  });

  test('input with the wrong number of channels is refused', () => {
    torch.scope(() => {
      const layer = build({ cin: 8, cout: 4, k: 3 });
      assert.throws(() => layer.forward(torch.randn([1, 4, 5, 5])), { name: 'RangeError', message: /expected input \[N, 8, H, W\]/ });
    });
  });
});

test('singularValues helper sanity: a matrix with known singular values', () => {
  // Guards the measuring instrument itself: diag(3, 2, 1) padded to 3×5.
  torch.scope(() => {
    const m = torch.zeros([3, 5], { dtype: 'float64' });
    torch.noGrad(() => { m.narrow(1, 0, 3).copy_(torch.tensor([[3, 0, 0], [0, 2, 0], [0, 0, 1]], { dtype: 'float64' })); });
    assert.deepEqual(singularValues(m).map((v) => Math.round(v * 1e12) / 1e12), [3, 2, 1]);
    assert.throws(() => assertSpectrum({ values: [1, 0.5], rows: 2, cols: 3 }, {}, 'x'), /smallest singular value/);
    assert.throws(() => assertSpectrum({ values: [1.01, 1], rows: 2, cols: 3 }, {}, 'x'), /largest singular value/);
    assert.throws(() => assertSpectrum({ values: [1], rows: 2, cols: 3 }, {}, 'x'), /1 singular values for a 2x3 matrix/);
  });
});
