// The orthogonal convolutions (AOC) are orthogonal: the singular values of
// the actual operator — the dense matrix obtained by feeding the identity
// basis through layer.forward — are all 1 with circular padding, before and
// after training, over a grid of kernel sizes, strides, groups, dilations,
// channel ratios and presets (sampled from Orthogonium's own test grids:
// tests/test_orthogonality_conv.py, test_rko.py, test_block_conv.py).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Conv2d, PaddingMode } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import {
  AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, BcopRkoConv2d, FastBlockConv2d, OrthoConv2dBase, ORTHO_PARAMS_PRESETS, RKOConv2d, composeKernels,
  convOrthogonal_, convSingularValues, denseSingularValues,
} from '../src/ortho/index.js';
import * as pkg from '../src/index.js';
import {
  assertGradientsReachParameters, assertSpectrum, configName, countParametrizationCalls, maxAbsDiff, operatorSingularValues, trainSteps,
} from './helpers/operator.js';

// These layers are made of many tiny ops: one intra-op thread is several
// times faster than two on the 2-core machine (no OpenMP hand-offs).
torch.setNumThreads(1);

type Tensor = torch.Tensor;

interface Case {
  cin: number;
  cout: number;
  k: number;
  s?: number;
  g?: number;
  d?: number;
  /** Spatial size of the test input (default 8). */
  h?: number;
  mode?: PaddingMode;
  preset?: string;
}

/** Orthogonium's paddings: 'same' for stride 1, (k−1)//2 when strided, its dilation formula when both. */
function paddingFor(c: Case): number | 'same' {
  const s = c.s ?? 1;
  const d = c.d ?? 1;
  if (s === 1) return 'same';
  if (d > 1) return Math.ceil((d * (c.k - 1) + 1 - s) / 2);
  return Math.floor((c.k - 1) / 2);
}

function build(c: Case, bias = false): OrthoConv2dBase {
  return AdaptiveOrthoConv2d({
    inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.s ?? 1, groups: c.g ?? 1, dilation: c.d ?? 1,
    padding: paddingFor(c), paddingMode: c.mode ?? 'circular', bias, orthoParams: c.preset ?? 'test',
  });
}

/** Orthogonium's factory rule (ortho_conv.py). */
function expectedClass(c: Case): typeof RKOConv2d | typeof FastBlockConv2d | typeof BcopRkoConv2d {
  const s = c.s ?? 1;
  if (c.k === s) return RKOConv2d;
  if (s === 1 || (c.cin >= c.cout && (c.d ?? 1) > 1)) return FastBlockConv2d;
  return BcopRkoConv2d;
}

const name = (c: Case): string => configName({ in: c.cin, out: c.cout, k: c.k, s: c.s, g: c.g, d: c.d, h: c.h, mode: c.mode, preset: c.preset });
const inShape = (c: Case): [number, number, number] => [c.cin, c.h ?? 8, c.h ?? 8];

/**
 * Orthogonium's check_orthogonal_layer, on the dense operator: class, kernel
 * shape, orthogonality before training, 10 SGD steps that really move the raw
 * weights, orthogonality again.
 */
function checkOrthogonalLayer(c: Case, bounds: { minBound?: number | null } = {}): void {
  torch.manualSeed(0); // as Orthogonium: each configuration starts from the same seed
  torch.scope(() => {
    const layer = build(c);
    assert.ok(layer instanceof expectedClass(c), `${name(c)}: factory built ${layer.typeName}, expected ${expectedClass(c).name}`);
    assert.deepEqual(torch.noGrad(() => torch.scope(() => layer.weight.shape)), [c.cout, c.cin / (c.g ?? 1), c.k, c.k], `${name(c)}: weight shape`);
    assertSpectrum(operatorSingularValues(layer, inShape(c)), bounds, `${name(c)} at initialization`);
    const moved = trainSteps(layer, inShape(c), { steps: 10, lr: 0.1 });
    // A layer with a single channel per group has no free parameter to move.
    if (Math.max(c.cin, c.cout) / (c.g ?? 1) >= 2) assert.ok(moved > 1e-4, `${name(c)}: training moved the raw weights by only ${moved}`);
    assertSpectrum(operatorSingularValues(layer, inShape(c)), bounds, `${name(c)} after 10 SGD steps`);
  });
}

describe('AdaptiveOrthoConv2d: the operator is orthogonal (circular padding, test preset, before and after training)', () => {
  // Orthogonium's test_standard_configs: every kernel size (odd and even) with
  // strides 1 and 2 and each channel ratio; groups rotate through 1, 2, 4.
  const standard: Case[] = [];
  let i = 0;
  for (const k of [1, 2, 3, 4, 5]) {
    for (const s of [1, 2]) {
      if (k < s) continue;
      [[8, 8], [8, 16], [16, 8]].forEach(([cin, cout], j) => standard.push({ cin, cout, k, s, g: [1, 2, 4][(i + j) % 3] }));
      i++;
    }
  }
  for (const c of standard) test(`standard ${name(c)}`, () => checkOrthogonalLayer(c));

  // test_strided: strides 2 and 4, strongly unbalanced channels (the cin < cout / s² regime).
  const strided: Case[] = [
    { cin: 2, cout: 32, k: 3, s: 2, h: 4 }, { cin: 32, cout: 2, k: 3, s: 2, h: 4 }, { cin: 4, cout: 4, k: 4, s: 2 },
    { cin: 2, cout: 32, k: 5, s: 2, h: 4 }, { cin: 32, cout: 32, k: 5, s: 2, h: 4 },
    { cin: 2, cout: 32, k: 5, s: 4, h: 4 }, { cin: 32, cout: 2, k: 5, s: 4, h: 4 }, { cin: 4, cout: 4, k: 5, s: 4 },
    { cin: 4, cout: 32, k: 5, s: 4, h: 4 }, { cin: 2, cout: 2, k: 4, s: 4 }, { cin: 32, cout: 4, k: 4, s: 4, h: 4 },
  ];
  for (const c of strided) test(`strided ${name(c)}`, () => checkOrthogonalLayer(c));

  // test_rko: kernel == stride (2, 3, 4; 1 is in the standard grid), groups 1 and 2.
  const rko: Case[] = [
    { cin: 4, cout: 32, k: 2, s: 2, g: 2, h: 4 }, { cin: 32, cout: 4, k: 2, s: 2, h: 4 }, { cin: 8, cout: 8, k: 3, s: 3, h: 6 },
    { cin: 8, cout: 16, k: 3, s: 3, g: 2, h: 6 }, { cin: 16, cout: 8, k: 4, s: 4, g: 2 }, { cin: 4, cout: 32, k: 1, s: 1, g: 2 },
  ];
  for (const c of rko) test(`kernel == stride ${name(c)}`, () => checkOrthogonalLayer(c));

  // test_dilation (stride 1) with dilations 2 and 3, and test_even_kernels' even sizes among them.
  const dilated: Case[] = [];
  i = 0;
  for (const k of [2, 3, 4, 5]) {
    for (const d of [2, 3]) {
      const [cin, cout] = [[8, 8], [8, 16], [16, 8]][i % 3];
      dilated.push({ cin, cout, k, d, g: [1, 2, 4][Math.floor(i / 3) % 3] });
      i++;
    }
  }
  for (const c of dilated) test(`dilated ${name(c)}`, () => checkOrthogonalLayer(c));

  // test_depthwise: one or two channels (a single-channel BCOP is a circular shift).
  for (const cin of [1, 2]) {
    for (const cout of [1, 2]) {
      for (const k of [1, 3, 5]) {
        for (const s of [1, 2]) {
          if (k < s) continue;
          const c: Case = { cin, cout, k, s };
          if (cin === 1 && cout === 1 && s > 1 && k !== s) {
            // Orthogonium expects 1 → 1 to be refused; this one is (the inner convolution needs 2 channels).
            test(`tiny ${name(c)} is refused`, () => assert.throws(() => build(c), { name: 'RangeError', message: /at least 2 channels/ }));
          } else {
            test(`tiny ${name(c)}`, () => checkOrthogonalLayer(c));
          }
        }
      }
    }
  }
});

describe('dilation with stride (Orthogonium test_dilation_strided)', () => {
  // Throws exactly when Orthogonium says no orthogonal convolution exists:
  // out ≥ in with dilation a multiple of the stride, or kernel == stride with such a dilation.
  const all: Case[] = [];
  for (const k of [2, 3, 4, 5]) {
    for (const [cin, cout] of [[8, 8], [8, 16], [16, 8]]) {
      for (const d of [2, 3]) for (const g of [1, 2, 4]) all.push({ cin, cout, k, s: 2, d, g });
    }
  }
  const mustThrow = (c: Case): boolean => (c.d! % c.s! === 0) && (c.cout >= c.cin || c.k === c.s);

  test('construction throws a RangeError exactly in the impossible settings', () => {
    for (const c of all) {
      if (mustThrow(c)) {
        assert.throws(() => build(c), { name: 'RangeError', message: /dilation \(2\) must not be a multiple of stride \(2\)/ }, name(c));
      } else {
        torch.scope(() => {
          const layer = build(c);
          assert.ok(layer instanceof expectedClass(c), `${name(c)}: ${layer.typeName}, expected ${expectedClass(c).name}`);
        });
      }
    }
  });

  test('the explicit classes refuse dilation 2 with stride 2 (Orthogonium test_invalid_dilation_with_stride)', () => {
    const o = { inChannels: 8, outChannels: 16, kernelSize: 3, stride: 2, dilation: 2, padding: 0 };
    assert.throws(() => AdaptiveOrthoConv2d(o), RangeError);
    assert.throws(() => new BcopRkoConv2d(o), RangeError);
    assert.throws(() => new RKOConv2d(o), RangeError);
    assert.throws(() => new FastBlockConv2d(o), RangeError);
  });

  // The constructible ones are orthogonal; one group setting per (k, d, channels).
  let i = 0;
  for (const c of all) {
    if (c.g !== [1, 2, 4][Math.floor(i++ / 3) % 3] || mustThrow(c)) continue;
    test(`dilated strided ${name(c)}`, () => checkOrthogonalLayer(c));
  }
});

describe('every OrthoParams preset keeps the layer 1-Lipschitz (and orthogonal up to its precision), before and after training', () => {
  const configs: Case[] = [
    { cin: 8, cout: 8, k: 3, s: 1, g: 1 }, { cin: 8, cout: 16, k: 3, s: 2, g: 2 }, { cin: 16, cout: 8, k: 1, s: 1 },
    { cin: 16, cout: 8, k: 3, s: 2 }, { cin: 8, cout: 8, k: 2, s: 2, g: 2 }, { cin: 2, cout: 2, k: 3, s: 1 },
  ];
  for (const preset of Object.keys(ORTHO_PARAMS_PRESETS)) {
    const minBound = preset.startsWith('cholesky') ? 0.95 : 0.999;
    for (const c of configs) test(`${name({ ...c, preset })}`, () => checkOrthogonalLayer({ ...c, preset }, { minBound }));
  }
});

test('the library default preset gives an orthogonal layer at initialization, whatever the seed', () => {
  // BcopRkoConv2d 4 → 16, stride 2: its RKO factor weight_2 is a square 16×16
  // matrix per group. Björck (12 iterations in 'default') only converges from
  // a well-conditioned start, so the start matters.
  const c: Case = { cin: 4, cout: 16, k: 3, s: 2, preset: 'default' };
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
  const constructions: Case[] = [
    { cin: 8, cout: 8, k: 3 }, // FastBlockConv2d
    { cin: 2, cout: 2, k: 3 }, // FastBlockConv2d whose projectors have a single column (L2Normalize path)
    { cin: 8, cout: 16, k: 2, s: 2, g: 2 }, // RKOConv2d
    { cin: 8, cout: 16, k: 3, s: 2 }, // BcopRkoConv2d
    { cin: 16, cout: 8, k: 5, s: 2, d: 3 }, // FastBlockConv2d, strided
  ];
  for (const preset of Object.keys(ORTHO_PARAMS_PRESETS)) {
    test(`preset ${preset}: FastBlockConv2d, RKOConv2d, BcopRkoConv2d`, () => {
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

describe('padding modes other than circular', () => {
  const configs: Case[] = [
    { cin: 8, cout: 8, k: 3 }, { cin: 8, cout: 8, k: 4, g: 2 }, { cin: 4, cout: 8, k: 5 }, { cin: 8, cout: 16, k: 3, s: 2 },
    { cin: 16, cout: 8, k: 5, s: 2 }, { cin: 8, cout: 8, k: 2, s: 2 }, { cin: 8, cout: 8, k: 3, d: 2 },
  ];
  // Zero padding: the operator is a compression of the same convolution on
  // ℓ²(ℤ²), which is orthogonal — so it stays 1-Lipschitz (no longer orthogonal).
  for (const c of configs) {
    test(`zeros: largest singular value ≤ 1 (${name(c)})`, () => torch.scope(() => {
      const layer = build({ ...c, mode: 'zeros' });
      trainSteps(layer, inShape(c), { steps: 3, lr: 0.1 });
      assertSpectrum(operatorSingularValues(layer, inShape(c)), { minBound: null }, name({ ...c, mode: 'zeros' }));
    }));
  }
  // Reflect / replicate padding duplicate border pixels: the padding map P has
  // norm > 1 (about √2 per padded dimension for reflect, √(p+1) for replicate
  // with p pixels of padding), so conv ∘ P is only bounded by ‖P‖ (measured
  // here: up to 1.9 and 2.5), not by 1. The orthogonal kernel must not add
  // anything to that: σ_max(layer) ≤ ‖P‖, with ‖P‖ computed from F.pad's own operator.
  for (const mode of ['reflect', 'replicate'] as const) {
    for (const c of configs.slice(0, 5)) {
      test(`${mode}: largest singular value ≤ ‖padding map‖ (${name(c)})`, () => torch.scope(() => {
        const layer = build({ ...c, mode });
        const shape = inShape(c);
        const pads = paddingPads(c);
        const padNorm = Math.max(...operatorSingularValues((x: Tensor) => torch.F.pad(x, pads, mode), shape).values);
        const spec = operatorSingularValues(layer, shape);
        assertSpectrum(spec, { maxTol: padNorm - 1 + 1e-4, minBound: null }, `${name({ ...c, mode })} (‖P‖ = ${padNorm})`);
      }));
    }
  }
});

/** [left, right, top, bottom] pads of the layer for case c, computed here independently of src. */
function paddingPads(c: Case): number[] {
  const p = paddingFor(c);
  if (p === 'same') {
    const total = (c.d ?? 1) * (c.k - 1);
    const lo = Math.floor(total / 2);
    return [lo, total - lo, lo, total - lo];
  }
  return [p, p, p, p];
}

test('norm preservation: circular, in = out, stride 1 — ‖conv(x)‖ = ‖x‖ on random inputs', () => {
  const configs: (Case & { w?: number })[] = [
    { cin: 8, cout: 8, k: 3 }, { cin: 8, cout: 8, k: 2, g: 4 }, { cin: 16, cout: 16, k: 5, g: 2 }, { cin: 8, cout: 8, k: 3, d: 2 },
    { cin: 4, cout: 4, k: 1 }, { cin: 8, cout: 8, k: 4, w: 12 },
  ];
  for (const c of configs) {
    torch.scope(() => {
      const layer = build(c);
      trainSteps(layer, inShape(c), { steps: 3, lr: 0.1 });
      const x = torch.randn([6, c.cin, 8, c.w ?? 8]).mul(3);
      const y = torch.noGrad(() => layer.forward(x));
      assert.deepEqual(y.shape, x.shape);
      const nx = x.reshape([6, -1]).norm(2, 1).toFlatArray();
      const ny = y.reshape([6, -1]).norm(2, 1).toFlatArray();
      nx.forEach((n, j) => assert.ok(Math.abs(ny[j] / n - 1) <= 1e-4, `${name(c)} sample ${j}: ‖y‖/‖x‖ = ${ny[j] / n}`));
    });
  }
});

describe('eval mode: the kernel is computed once, and the layer is a plain convolution with `weight`', () => {
  const configs: Case[] = [
    { cin: 8, cout: 8, k: 3 }, { cin: 8, cout: 16, k: 2, s: 2 }, { cin: 8, cout: 16, k: 3, s: 2, g: 2 },
    { cin: 16, cout: 8, k: 5, s: 2, d: 3 }, { cin: 8, cout: 8, k: 4, d: 2, g: 2 },
  ];
  for (const c of configs) {
    test(name(c), () => torch.scope(() => {
      const layer = build(c, true);
      torch.noGrad(() => layer.getParameter('bias')!.copy_(torch.randn([c.cout])));
      const calls = countParametrizationCalls(layer);
      const x = torch.randn([3, c.cin, 8, 8]);

      // Training with gradients: every forward rebuilds the kernel (so the counter works).
      layer.train();
      torch.scope(() => layer.forward(x));
      const afterFirstTrain = calls();
      assert.ok(afterFirstTrain > 0, 'the counter sees the reparametrizers');
      torch.scope(() => layer.forward(x));
      assert.equal(calls() - afterFirstTrain, afterFirstTrain, 'training forwards recompute the kernel each time');

      // Eval under noGrad: the first forward computes, the second reuses.
      layer.eval();
      const before = calls();
      const y1 = torch.noGrad(() => layer.forward(x));
      const afterFirstEval = calls();
      assert.ok(afterFirstEval > before, 'the first eval forward computes the kernel');
      const y2 = torch.noGrad(() => layer.forward(x));
      const w1 = torch.noGrad(() => layer.weight);
      assert.equal(calls(), afterFirstEval, `${layer.typeName}: a second eval forward (and reading weight) recomputed the kernel`);
      assert.equal(maxAbsDiff(y1, y2), 0);

      // The same output from an independent circular pad + F.conv2d with `weight` …
      const padded = torch.F.pad(x, paddingPads(c), 'circular');
      const ref = torch.F.conv2d(padded, w1, { bias: layer.bias, stride: c.s ?? 1, dilation: c.d ?? 1, groups: c.g ?? 1 });
      assert.deepEqual(ref.shape, y1.shape);
      assert.ok(maxAbsDiff(y1, ref) <= 1e-6, `F.conv2d with weight differs by ${maxAbsDiff(y1, ref)}`);
      // … and from a plain Conv2d loaded with the layer's weight and bias.
      const plain = new Conv2d(c.cin, c.cout, c.k, { stride: c.s ?? 1, padding: paddingFor(c), dilation: c.d ?? 1, groups: c.g ?? 1, paddingMode: 'circular' });
      plain.loadStateDict(new Map([['weight', w1], ['bias', layer.bias!]]));
      assert.ok(maxAbsDiff(torch.noGrad(() => plain.forward(x)), y1) <= 1e-6, 'a plain Conv2d with the same weight gives the same output');
      plain.dispose();

      // An optimizer step changes the raw weights in place: the next eval forward must see it.
      layer.train();
      const opt = new SGD(layer.parameters(), { lr: 0.5 });
      torch.scope(() => { opt.zeroGrad(); layer.forward(x).mul(torch.randn([3, c.cout, 1, 1])).sum().backward(); opt.step(); });
      layer.eval();
      const countBefore = calls();
      const y3 = torch.noGrad(() => layer.forward(x));
      assert.ok(calls() > countBefore, 'eval forward after a weight update recomputes the kernel');
      assert.ok(maxAbsDiff(y3, y1) > 1e-4, 'the output changed after the weight update');
      const w3 = torch.noGrad(() => layer.weight);
      const ref3 = torch.F.conv2d(torch.F.pad(x, paddingPads(c), 'circular'), w3, { bias: layer.bias, stride: c.s ?? 1, dilation: c.d ?? 1, groups: c.g ?? 1 });
      assert.ok(maxAbsDiff(y3, ref3) <= 1e-6, 'after the update, the output is still the plain convolution with weight');
    }));
  }
});

describe('construction rules', () => {
  test('the factory picks RKO for kernel == stride, BCOP for stride 1 (or in ≥ out with dilation), BCOP∘RKO otherwise', () => {
    const table: [Case, Function][] = [
      [{ cin: 4, cout: 4, k: 1 }, RKOConv2d], [{ cin: 4, cout: 8, k: 2, s: 2 }, RKOConv2d], [{ cin: 4, cout: 4, k: 3, s: 3 }, RKOConv2d],
      [{ cin: 4, cout: 4, k: 4, s: 4 }, RKOConv2d], [{ cin: 4, cout: 8, k: 3 }, FastBlockConv2d], [{ cin: 8, cout: 4, k: 2 }, FastBlockConv2d],
      [{ cin: 8, cout: 4, k: 5, d: 2 }, FastBlockConv2d], [{ cin: 8, cout: 4, k: 3, s: 2, d: 3 }, FastBlockConv2d],
      [{ cin: 8, cout: 8, k: 3, s: 2, d: 3 }, FastBlockConv2d], [{ cin: 4, cout: 8, k: 3, s: 2, d: 3 }, BcopRkoConv2d],
      [{ cin: 8, cout: 4, k: 3, s: 2 }, BcopRkoConv2d], [{ cin: 4, cout: 8, k: 5, s: 4 }, BcopRkoConv2d], [{ cin: 4, cout: 4, k: 4, s: 2 }, BcopRkoConv2d],
    ];
    for (const [c, cls] of table) {
      torch.scope(() => {
        const layer = build(c);
        assert.equal(layer.constructor, cls, `${name(c)}: got ${layer.typeName}, expected ${cls.name}`);
        assert.deepEqual(torch.noGrad(() => layer.weight.shape), [c.cout, c.cin / (c.g ?? 1), c.k, c.k]);
      });
    }
  });

  test('kernel < stride throws a RangeError that says why, in the factory and in every class', () => {
    const o = { inChannels: 8, outChannels: 4, kernelSize: 2, stride: 3, padding: 0 };
    const message = /kernelSize \(2\) < stride \(3\).*no orthogonal convolution/;
    assert.throws(() => AdaptiveOrthoConv2d(o), { name: 'RangeError', message });
    assert.throws(() => new BcopRkoConv2d(o), { name: 'RangeError', message });
    assert.throws(() => new FastBlockConv2d(o), { name: 'RangeError', message });
    assert.throws(() => new RKOConv2d(o), { name: 'RangeError', message });
    assert.throws(() => AdaptiveOrthoConv2d({ ...o, kernelSize: 1, stride: 2 }), { name: 'RangeError', message: /kernelSize \(1\) < stride \(2\)/ });
  });

  test('FastBlockConv2d refuses stride > 1 with out > in; strided with in ≥ out it is row-orthogonal', () => {
    assert.throws(() => new FastBlockConv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1 }), RangeError);
    for (const [cin, cout] of [[16, 8], [8, 8]]) {
      torch.scope(() => {
        const layer = new FastBlockConv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, stride: 2, padding: 1, bias: false, orthoParams: 'test' });
        const spec = operatorSingularValues(layer, [cin, 8, 8]);
        assert.equal(spec.cols, cout * 16);
        assertSpectrum(spec, {}, `FastBlockConv2d ${cin}→${cout} stride 2`);
      });
    }
  });

  test('RKOConv2d with kernel ≠ stride is 1-Lipschitz (Orthogonium test_rko: not orthogonal, bounded)', () => {
    for (const c of [{ cin: 8, cout: 8, k: 3, s: 1 }, { cin: 8, cout: 16, k: 3, s: 2 }, { cin: 16, cout: 8, k: 5, s: 2 }, { cin: 4, cout: 4, k: 5, s: 4 }, { cin: 8, cout: 8, k: 4, s: 1 }]) {
      torch.scope(() => {
        const layer = new RKOConv2d({ inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.s, padding: c.s === 1 ? 'same' : Math.floor((c.k - 1) / 2), bias: false, orthoParams: 'test' });
        trainSteps(layer, [c.cin, 8, 8], { steps: 5, lr: 0.1 });
        const spec = operatorSingularValues(layer, [c.cin, 8, 8]);
        assertSpectrum(spec, { minBound: null }, `RKOConv2d ${name(c)}`);
        // The bound is reached up to the 1/⌈k/s⌉ scale: the operator is not degenerate.
        assert.ok(Math.max(...spec.values) > 0.5 / Math.ceil(c.k / c.s), `RKOConv2d ${name(c)}: largest singular value ${Math.max(...spec.values)}`);
      });
    }
  });

  test('bad options are refused with errors that name them', () => {
    const base = { inChannels: 8, outChannels: 8, kernelSize: 3 };
    assert.throws(() => AdaptiveOrthoConv2d({ ...base, paddingMode: 'bogus' as never }), { name: 'TypeError', message: /paddingMode/ });
    assert.throws(() => AdaptiveOrthoConv2d({ ...base, stride: 2 }), { name: 'RangeError', message: /padding 'same'.*stride 1/ });
    assert.throws(() => AdaptiveOrthoConv2d({ ...base, groups: 3 }), { name: 'RangeError', message: /divisible by groups \(3\)/ });
    assert.throws(() => AdaptiveOrthoConv2d({ ...base, orthoParams: 'nope' }), { name: 'TypeError', message: /unknown orthoParams preset 'nope'/ });
    torch.scope(() => {
      const layer = build({ cin: 8, cout: 8, k: 3 });
      assert.throws(() => layer.forward(torch.randn([1, 4, 8, 8])), { name: 'RangeError', message: /expected input \[N, 8, H, W\]/ });
    });
  });
});

test('a kernel size that is not a positive integer is refused as such, also by the factory', () => {
  // The explicit classes say so; the factory must not first report it as "kernelSize (0) < stride (1)".
  const base = { inChannels: 8, outChannels: 8, kernelSize: 3 };
  assert.throws(() => new FastBlockConv2d({ ...base, kernelSize: 0 }), { name: 'RangeError', message: /kernelSize must be a positive integer/ });
  assert.throws(() => AdaptiveOrthoConv2d({ ...base, kernelSize: 0 }), { name: 'RangeError', message: /kernelSize must be a positive integer/ });
});

test('composeKernels: one convolution with the composed kernel = the two in sequence (Orthogonium test_block_conv)', () => {
  torch.scope(() => {
    for (const [k1, k2, c1, c2, c3, s, g] of [[3, 3, 4, 8, 4, 1, 1], [3, 5, 8, 4, 8, 2, 4], [5, 3, 8, 8, 8, 1, 4], [2, 3, 4, 4, 8, 2, 1]]) {
      const a = torch.randn([c2, c1 / g, k1, k1]);
      const b = torch.randn([c3, c2 / g, k2, k2]);
      const x = torch.randn([2, c1, 16, 16]);
      const seq = torch.F.conv2d(torch.F.conv2d(x, a, { groups: g }), b, { groups: g, stride: s });
      const merged = composeKernels(a, b, g);
      assert.deepEqual(merged.shape, [c3, c1 / g, k1 + k2 - 1, k1 + k2 - 1]);
      const one = torch.F.conv2d(x, merged, { groups: g, stride: s });
      const rel = maxAbsDiff(seq, one) / (seq.abs().max() as Tensor).item();
      assert.ok(rel < 1e-5, `k ${k1},${k2} channels ${c1}→${c2}→${c3} stride ${s} groups ${g}: relative difference ${rel}`);
    }
  });
});

test('convOrthogonal_: the circular convolution with the kernel it draws has all singular values 1 (dense operator)', () => {
  torch.manualSeed(11);
  // [out, in, k, stride, groups, input size]
  const cases: [number, number, number, number, number, number][] = [
    [6, 6, 3, 1, 1, 6], [3, 6, 3, 1, 1, 6], [6, 3, 3, 1, 1, 6], [4, 4, 5, 1, 2, 6],
    [8, 2, 3, 2, 1, 6], [4, 4, 4, 2, 2, 8], [4, 4, 2, 2, 1, 6], [2, 6, 3, 3, 1, 6], [18, 2, 3, 3, 1, 6],
  ];
  for (const [cout, cin, k, s, g, h] of cases) {
    const name = `${cin}→${cout} k${k} s${s} g${g}`;
    torch.scope(() => {
      const w = torch.empty([cout, cin / g, k, k], { dtype: 'float64' });
      assert.equal(convOrthogonal_(w, { stride: s, groups: g }), w, `${name}: returns the tensor it filled (in place)`);
      const left = Math.floor((k - 1) / 2);
      const conv = (x: Tensor): Tensor => torch.F.conv2d(torch.F.pad(x, [left, k - 1 - left, left, k - 1 - left], 'circular'), w, { stride: s, groups: g });
      const sv = denseSingularValues(conv, [1, cin, h, h], { batch: 64 }).toFlatArray() as number[];
      assert.equal(sv.length, Math.min(cin * h * h, cout * (h / s) ** 2), `${name}: operator size`);
      assert.ok(Math.abs(sv[0] - 1) < 1e-5 && Math.abs(sv[sv.length - 1] - 1) < 1e-5, `${name}: σ in [${sv[sv.length - 1]}, ${sv[0]}]`);
    });
  }
});

test('convOrthogonal_: gain, float32 tensors, reproducible seeds that leave the global stream alone, clear errors', () => {
  torch.scope(() => {
    const a = convOrthogonal_(torch.empty([4, 4, 3, 3]), { seed: 3, gain: 2 });
    const b = convOrthogonal_(torch.empty([4, 4, 3, 3], { dtype: 'float64' }), { seed: 3 });
    assert.ok(maxAbsDiff(a, b.mul(2).float()) < 1e-5, 'same seed, same kernel (times the gain)');
    const c = convOrthogonal_(torch.empty([4, 4, 3, 3]), { seed: 4 });
    assert.ok(maxAbsDiff(a, c.mul(2)) > 1e-2, 'another seed, another kernel');
    torch.manualSeed(12);
    const r1 = torch.randn([5]);
    torch.manualSeed(12);
    convOrthogonal_(torch.empty([4, 4, 3, 3]), { seed: 99 });
    assert.equal(maxAbsDiff(torch.randn([5]), r1), 0, 'a seeded draw leaves the global stream where it was');
    const sv = convSingularValues(a, [6, 6]);
    assert.ok(Math.abs(sv.max - 2) < 1e-4 && Math.abs(sv.min - 2) < 1e-4, `gain 2: σ in [${sv.min}, ${sv.max}]`);
  });
  const w = (shape: number[]): Tensor => torch.empty(shape);
  assert.throws(() => convOrthogonal_(w([4, 4, 3])), /4-d convolution weight .*\[4, 4, 3\]/);
  assert.throws(() => convOrthogonal_(w([4, 4, 3, 2])), /square kernels.*3×2/);
  assert.throws(() => convOrthogonal_(w([4, 4, 2, 2]), { stride: 3 }), /kernel size \(2\) < stride \(3\)/);
  assert.throws(() => convOrthogonal_(w([4, 4, 3, 3]), { stride: [2, 1] }), /square strides/);
  assert.throws(() => convOrthogonal_(w([4, 4, 3, 3]), { stride: 0 }), /stride must be a positive integer/);
  assert.throws(() => convOrthogonal_(w([6, 2, 3, 3]), { groups: 4 }), /groups \(4\) must divide the 6 output channels/);
  assert.throws(() => convOrthogonal_(w([3, 1, 3, 3]), { groups: 3 }), /needs at least 2 channels per group, got 1/);
  assert.throws(() => convOrthogonal_(w([4, 4, 3, 3]), { gain: NaN }), /gain must be a finite number/);
  assert.throws(() => convOrthogonal_(w([4, 4, 3, 3]), { seed: 1.5 }), /seed must be an integer/);
  assert.throws(() => convOrthogonal_(w([4, 4, 3, 3]), { orthoParams: 'nope' }), /unknown orthoParams preset 'nope'/);
  assert.throws(() => convOrthogonal_([1, 2] as unknown as Tensor), /expected a Tensor/);
});

test('AOC biases start as PyTorch (and Orthogonium) start them: U(±1/√fanIn), fanIn = in/groups·k² (out/groups·k² transposed)', () => {
  torch.manualSeed(13);
  const check = (name: string, bias: Tensor | null, fanIn: number): void => {
    assert.ok(bias, `${name}: has a bias`);
    const bound = 1 / Math.sqrt(fanIn);
    const values = bias.toFlatArray() as number[];
    const largest = Math.max(...values.map(Math.abs));
    assert.ok(largest <= bound, `${name}: |b| up to ${largest} > 1/√${fanIn} = ${bound}`);
    assert.ok(largest > bound / 2, `${name}: |b| at most ${largest}: not spread over ±${bound}`);
    assert.ok(values.some((v) => v < 0) && values.some((v) => v > 0), `${name}: both signs expected`);
  };
  check('FastBlockConv2d 4→64 k3', AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 64, kernelSize: 3 }).bias, 4 * 9);
  check('RKOConv2d 8→64 k2 s2 groups 2', AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 64, kernelSize: 2, stride: 2, groups: 2, padding: 0 }).bias, 4 * 4);
  check('BcopRkoConv2d 4→64 k3 s2', AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 64, kernelSize: 3, stride: 2, padding: 1 }).bias, 4 * 9);
  check('FastBlockConvTranspose2d 4→64 k3', AdaptiveOrthoConvTranspose2d({ inChannels: 4, outChannels: 64, kernelSize: 3 }).bias, 64 * 9);
  check('BcopRkoConvTranspose2d 4→64 k3 s2 groups 2', AdaptiveOrthoConvTranspose2d({ inChannels: 4, outChannels: 64, kernelSize: 3, stride: 2, groups: 2 }).bias, 32 * 9);
  assert.equal(AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, bias: false }).bias, null);
});

test('the initializer and singular-value tools are reachable from the package entry, as users import them', () => {
  assert.equal(pkg.ortho.convOrthogonal_, convOrthogonal_);
  for (const name of ['convSingularValues', 'convSpectralNormBound', 'layerSingularValues', 'layerSpectralNormBound', 'getConvSv', 'operatorMatrix',
    'denseSingularValues', 'linearSingularValues', 'AOCLipschitzResBlock'] as const) {
    assert.equal(typeof pkg.ortho[name], 'function', `ortho.${name}`);
  }
  const w = pkg.ortho.convOrthogonal_(torch.empty([4, 4, 3, 3]), { seed: 1 });
  assert.ok(Math.abs(pkg.ortho.convSingularValues(w, [4, 4]).min - 1) < 1e-4);
});
