// The Adaptive-SOC convolutions (skew orthogonal convolutions with an
// explicit kernel, ported from Orthogonium's layers/conv/adaptiveSOC).
//
// Bounds. The kernel is the exponential of a skew-symmetric S with ‖S‖ ≤ 1,
// truncated after expNiter terms: with circular padding the operator is p(S),
// whose singular values are |p(iθ)| for the eigenvalues iθ of S, |θ| ≤ 1. For
// the default expNiter = 3, |p(iθ)|² = 1 − θ⁴/12 + θ⁶/36 ∈ [0.9444, 1]: every
// singular value lies in [0.9718, 1]. So the tests assert max ≤ 1 + 1e-4
// (float32 kernels and Björck's precision in the RKO factor) and min ≥
// socTruncationBounds(expNiter).min − 1e-4 where the operator is orthogonal,
// and only max ≤ 1 + 1e-4 with zero padding (a compression of the orthogonal
// operator on ℓ²(ℤ²)). Orthogonium's own tests allow max ≤ 1.08: its AOL step
// rescales rows only, which breaks skew symmetry (see SkewAOLRescale).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Conv2d, PaddingMode, conv2dWithMode } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import {
  AdaptiveSOCConv2d, AdaptiveSOCConvTranspose2d, FastSOC, OrthoConv2dBase, OrthoConvTranspose2dBase, RKOConv2d, RkoConvTranspose2d,
  SOCRkoConv2d, SOCRkoConvTranspose2d, SOCTranspose, socTruncationBounds, toPlainModel,
} from '../src/ortho/index.js';
import { layerSingularValues } from '../src/ortho/singular-values.js';
import { orthogoniumKeyToOurs } from '../src/interop/orthogonium-keys.js';
import { ClassParam } from '../src/models/index.js';
import {
  assertSpectrum, configName, countParametrizationCalls, maxAbsDiff, operatorSingularValues, trainSteps,
} from './helpers/operator.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;

interface Case { cin: number; cout: number; k: number; s?: number; g?: number; d?: number; h?: number; mode?: PaddingMode; n?: number }

const EXP_NITER = 3;
const BOUNDS = socTruncationBounds(EXP_NITER);
const ORTHOGONAL = { maxTol: 1e-4, minBound: BOUNDS.min - 1e-4 };
const BOUNDED = { maxTol: 1e-4, minBound: null };

/** Orthogonium's inner kernel size of the strided constructions: k − s + 1, made odd (+1 up to 2, else −1). */
function innerKernel(k: number, s: number): number {
  const inner = k - s + 1;
  if (inner % 2 === 1) return inner;
  return inner <= 2 ? inner + 1 : inner - 1;
}

/** Size of the explicit kernel, computed here from Orthogonium's rules. */
function explicitSize(c: Case): number {
  const s = c.s ?? 1;
  const n = c.n ?? EXP_NITER;
  if (c.k === s) return c.k;
  if (s === 1) return n * (c.k - 1) + 1;
  return n * (innerKernel(c.k, s) - 1) + 1 + s - 1;
}

/** 'same' for stride 1; strided: the padding that keeps H / s outputs (explicit kernel − s, halved), as Orthogonium's tests. */
function paddingFor(c: Case): number | 'same' {
  const s = c.s ?? 1;
  if (s === 1) return 'same';
  return (explicitSize(c) - s) / 2;
}

const name = (c: Case): string => configName({ in: c.cin, out: c.cout, k: c.k, s: c.s, g: c.g, d: c.d, h: c.h, mode: c.mode, n: c.n });
const inShape = (c: Case): [number, number, number] => [c.cin, c.h ?? 8, c.h ?? 8];

function build(c: Case, bias = false): OrthoConv2dBase {
  return AdaptiveSOCConv2d({
    inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.s ?? 1, groups: c.g ?? 1, dilation: c.d ?? 1, padding: paddingFor(c),
    paddingMode: c.mode ?? 'circular', bias, orthoParams: 'test', expParams: c.n === undefined ? undefined : { expNiter: c.n },
  });
}

function buildTranspose(c: Case, bias = false): OrthoConvTranspose2dBase {
  const s = c.s ?? 1;
  const padding = s === c.k ? 0 : (explicitSize(c) - s) / 2;
  return AdaptiveSOCConvTranspose2d({
    inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: s, groups: c.g ?? 1, padding, bias, orthoParams: 'test',
    expParams: c.n === undefined ? undefined : { expNiter: c.n },
  });
}

/** Orthogonium's factory rule (adaptiveSOC/ortho_conv.py). */
const expectedClass = (c: Case): Function => (c.k === (c.s ?? 1) ? RKOConv2d : (c.s ?? 1) === 1 ? FastSOC : SOCRkoConv2d);
const expectedTransposeClass = (c: Case): Function => (c.k === (c.s ?? 1) ? RkoConvTranspose2d : (c.s ?? 1) === 1 ? SOCTranspose : SOCRkoConvTranspose2d);

test('the truncation bound: |p(iθ)| for the degree-3 Taylor polynomial spans [√(1 − 1/12 + 1/36), 1]', () => {
  assert.ok(Math.abs(BOUNDS.min - Math.sqrt(1 - 1 / 12 + 1 / 36)) < 1e-9, `min ${BOUNDS.min}`);
  assert.ok(Math.abs(BOUNDS.max - 1) < 1e-12, `max ${BOUNDS.max}`);
  // An even number of terms overshoots 1 (|1 + iθ − θ²/2|² = 1 + θ⁴/4): the bound says so.
  assert.ok(socTruncationBounds(2).max > 1.1);
});

describe('AdaptiveSOCConv2d: orthogonal with circular padding (dense operator, before and after training)', () => {
  const cases: Case[] = [
    // FastSOC (stride 1): channel ratios, groups, kernel sizes, dilation, one and two channels.
    { cin: 8, cout: 8, k: 3 }, { cin: 8, cout: 16, k: 3, g: 2 }, { cin: 16, cout: 8, k: 3, g: 4 }, { cin: 4, cout: 4, k: 5 },
    { cin: 4, cout: 8, k: 3, d: 2 }, { cin: 1, cout: 1, k: 3 }, { cin: 2, cout: 1, k: 3 }, { cin: 4, cout: 4, k: 3, n: 4 },
    // SOCRkoConv2d (1 < stride < kernel): in·s² ≤ out, in·s² > out, odd and even inner kernels, groups.
    { cin: 4, cout: 4, k: 4, s: 2 }, { cin: 2, cout: 16, k: 4, s: 2 }, { cin: 16, cout: 2, k: 4, s: 2 },
    { cin: 8, cout: 8, k: 3, s: 2, g: 2 }, { cin: 4, cout: 8, k: 5, s: 2 }, { cin: 4, cout: 32, k: 5, s: 4 },
    // RKOConv2d (kernel == stride), as Orthogonium's factory picks it.
    { cin: 8, cout: 16, k: 2, s: 2, g: 2 }, { cin: 8, cout: 8, k: 1 },
  ];
  for (const c of cases) {
    test(name(c), () => {
      torch.manualSeed(0);
      torch.scope(() => {
        const layer = build(c);
        assert.equal(layer.constructor, expectedClass(c), `${name(c)}: built ${layer.typeName}`);
        const bounds = c.n === undefined ? ORTHOGONAL : { maxTol: socTruncationBounds(c.n).max - 1 + 1e-4, minBound: socTruncationBounds(c.n).min - 1e-4 };
        assertSpectrum(operatorSingularValues(layer, inShape(c)), bounds, `${name(c)} at initialization`);
        const moved = trainSteps(layer, inShape(c), { steps: 10, lr: 0.1 });
        if (Math.max(c.cin, c.cout) / (c.g ?? 1) >= 2) assert.ok(moved > 1e-4, `${name(c)}: training moved the raw weights by only ${moved}`);
        assertSpectrum(operatorSingularValues(layer, inShape(c)), bounds, `${name(c)} after 10 SGD steps`);
      });
    });
  }
});

describe('zero padding: 1-Lipschitz only', () => {
  const cases: Case[] = [{ cin: 8, cout: 8, k: 3 }, { cin: 4, cout: 8, k: 5, g: 2 }, { cin: 8, cout: 16, k: 3, s: 2 }, { cin: 16, cout: 4, k: 4, s: 2 }];
  for (const c of cases) {
    test(name({ ...c, mode: 'zeros' }), () => torch.scope(() => {
      torch.manualSeed(1);
      const layer = build({ ...c, mode: 'zeros' });
      trainSteps(layer, inShape(c), { steps: 5, lr: 0.1 });
      const spec = operatorSingularValues(layer, inShape(c));
      assertSpectrum(spec, BOUNDED, name({ ...c, mode: 'zeros' }));
      assert.ok(Math.max(...spec.values) > 0.9, `${name(c)}: largest singular value ${Math.max(...spec.values)}: degenerate operator`);
    }));
  }
});

describe('AdaptiveSOCConvTranspose2d: 1-Lipschitz with zero padding, orthogonal as a circular operator', () => {
  const cases: Case[] = [
    { cin: 8, cout: 8, k: 3 }, { cin: 4, cout: 8, k: 3, g: 2 }, { cin: 8, cout: 4, k: 1 }, { cin: 4, cout: 2, k: 5, g: 2, h: 13 },
    { cin: 4, cout: 8, k: 4, s: 2 }, { cin: 8, cout: 4, k: 4, s: 2, g: 2 }, { cin: 16, cout: 2, k: 3, s: 2 }, { cin: 8, cout: 8, k: 2, s: 2 },
  ];
  for (const c of cases) {
    test(name(c), () => {
      torch.manualSeed(0);
      torch.scope(() => {
        const layer = buildTranspose(c);
        assert.equal(layer.constructor, expectedTransposeClass(c), `${name(c)}: built ${layer.typeName}`);
        const shape = inShape(c);
        trainSteps(layer, shape, { steps: 5, lr: 0.1 });
        // The layer itself (zero padding): bounded.
        assertSpectrum(operatorSingularValues(layer, shape), BOUNDED, `${name(c)} zero-padded`);
        // Its kernel as a circular transposed convolution (FFT, exact): orthogonal.
        const sv = layerSingularValues(layer, [shape[1], shape[2]], { transposed: true });
        assert.ok(sv.max <= 1 + 1e-4 && sv.min >= BOUNDS.min - 1e-4, `${name(c)} circular: singular values in [${sv.min}, ${sv.max}]`);
        sv.values.dispose();
      });
    });
  }
});

describe('gradients (float64, central differences)', () => {
  test('input gradient of every construction (gradcheck helper)', () => {
    const cases: [Case, boolean][] = [
      [{ cin: 4, cout: 4, k: 3, h: 5 }, false], [{ cin: 2, cout: 4, k: 4, s: 2, h: 4 }, false], [{ cin: 4, cout: 2, k: 3, g: 2, h: 5 }, true],
      [{ cin: 4, cout: 2, k: 4, s: 2, h: 3 }, true],
    ];
    for (const [c, transposed] of cases) {
      torch.manualSeed(2);
      torch.scope(() => {
        const layer = (transposed ? buildTranspose(c, true) : build(c, true)).to('float64');
        layer.eval();
        const x = randomTensor([1, ...inShape(c)], 7, -1, 1, true);
        const report = gradcheck((xi) => layer.forward(xi), [x], { rtol: 1e-6, atol: 1e-9 });
        assert.ok(report.checked === x.numel(), `${name(c)}: checked ${report.checked}`);
      });
    }
  });

  test('raw parameter → explicit kernel → convolution, through the layer\'s own parametrization steps (gradcheck helper)', () => {
    torch.manualSeed(3);
    torch.scope(() => {
      const c: Case = { cin: 4, cout: 2, k: 3, g: 2, h: 5 };
      const layer = build(c).to('float64');
      const steps = [0, 1, 2].map((i) => layer.getSubmodule(`parametrizations.weight.${i}`) as unknown as { forward(t: Tensor): Tensor });
      const rawNow = layer.getSubmodule('parametrizations.weight').getParameter('original')!;
      const raw = torch.noGrad(() => rawNow.detach().clone()).requiresGrad_(true);
      const x = randomTensor([1, ...inShape(c)], 8, -1, 1, true);
      const fn = (w: Tensor, xi: Tensor): Tensor => conv2dWithMode(xi, steps.reduce((t, s) => s.forward(t), w), null, layer);
      // The chain must be what the layer computes.
      assert.ok(maxAbsDiff(torch.noGrad(() => fn(raw, x)), torch.noGrad(() => layer.forward(x))) < 1e-12);
      const report = gradcheck(fn, [raw, x], { rtol: 1e-6, atol: 1e-9 });
      assert.equal(report.checked, raw.numel() + x.numel());
    });
  });

  test('every trainable parameter of FastSOC and SOCTranspose, perturbed in place in the real layer', () => {
    const layers = (): [string, OrthoConv2dBase | OrthoConvTranspose2dBase, number[]][] => [
      ['FastSOC', build({ cin: 4, cout: 6, k: 3, g: 2 }, true), [4, 5, 5]],
      ['SOCTranspose', buildTranspose({ cin: 4, cout: 2, k: 3 }, true), [4, 5, 5]],
    ];
    torch.manualSeed(4);
    for (const [what, built, shape] of layers()) {
      torch.scope(() => {
        const layer = built.to('float64');
        layer.train();
        // Move q away from its uniform start so that its gradient is not trivially zero.
        torch.noGrad(() => { for (const [n, p] of layer.namedParameters()) if (n.endsWith('.q')) p.add_(torch.randnLike(p).mul(0.3)); });
        const x = randomTensor([2, ...shape], 9);
        const v = torch.noGrad(() => torch.randnLike(layer.forward(x)));
        const project = (): number => torch.scope(() => layer.forward(x).mul(v).sum().item());
        layer.zeroGrad();
        torch.scope(() => layer.forward(x).mul(v).sum().backward());
        const eps = 1e-6;
        for (const [n, p] of layer.namedParameters()) {
          const grad = p.grad!.toFlatArray();
          const count = Math.min(p.numel(), 12);
          for (let j = 0; j < count; j++) {
            const e = Math.floor((j * p.numel()) / count);
            const at = (delta: number): number => {
              torch.noGrad(() => p.view(-1).narrow(0, e, 1).add_(delta));
              return project();
            };
            const numeric = (at(eps) - at(-2 * eps)) / (2 * eps);
            at(eps); // restore
            const err = Math.abs(numeric - grad[e]);
            assert.ok(err <= 1e-6 * Math.max(1, Math.abs(grad[e])), `${what} ${n}[${e}]: analytic ${grad[e]} vs numeric ${numeric}`);
          }
        }
        layer.zeroGrad();
      });
    }
  });
});

describe('dispatch and shapes', () => {
  test('AdaptiveSOCConv2d picks the class Orthogonium picks; weight is [out, in/g, K, K] with the explicit K', () => {
    const table: Case[] = [
      { cin: 4, cout: 4, k: 1 }, { cin: 4, cout: 8, k: 2, s: 2 }, { cin: 4, cout: 4, k: 3, s: 3 }, { cin: 4, cout: 8, k: 3 },
      { cin: 8, cout: 4, k: 5 }, { cin: 8, cout: 4, k: 3, s: 2 }, { cin: 4, cout: 8, k: 5, s: 4 }, { cin: 4, cout: 4, k: 4, s: 2 },
      { cin: 4, cout: 4, k: 3, n: 5 }, { cin: 4, cout: 8, k: 3, s: 2, n: 1 },
    ];
    for (const c of table) {
      torch.scope(() => {
        const layer = build(c);
        assert.equal(layer.constructor, expectedClass(c), `${name(c)}: got ${layer.typeName}`);
        const K = explicitSize(c);
        assert.deepEqual(torch.noGrad(() => layer.weight.shape), [c.cout, c.cin, K, K], name(c));
        assert.deepEqual(layer.kernelSize, [K, K], `${name(c)}: kernelSize reports the explicit kernel`);
      });
    }
  });

  test('AdaptiveSOCConvTranspose2d picks the class Orthogonium picks; weight is [in, out/g, K, K]', () => {
    for (const c of [{ cin: 4, cout: 8, k: 2, s: 2 }, { cin: 4, cout: 8, k: 3 }, { cin: 8, cout: 4, k: 4, s: 2 }, { cin: 8, cout: 4, k: 1 }] as Case[]) {
      torch.scope(() => {
        const layer = buildTranspose(c);
        assert.equal(layer.constructor, expectedTransposeClass(c), `${name(c)}: got ${layer.typeName}`);
        const K = explicitSize(c);
        assert.deepEqual(torch.noGrad(() => layer.weight.shape), [c.cin, c.cout, K, K], name(c));
      });
    }
  });

  test('model configs can name the SOC layers', () => {
    torch.scope(() => {
      const layer = ClassParam.from({ type: 'AdaptiveSOCConv2d', options: { inChannels: 4, outChannels: 4, kernelSize: 3, expParams: { expNiter: 2 } } }).create();
      assert.ok(layer instanceof FastSOC);
      assert.equal((layer as FastSOC).expNiter, 2);
      const t = ClassParam.from({ type: 'AdaptiveSOCConvTranspose2d', options: { inChannels: 4, outChannels: 8, kernelSize: 4, stride: 2, padding: 3 } }).create();
      assert.ok(t instanceof SOCRkoConvTranspose2d);
      layer.dispose();
      t.dispose();
    });
  });
});

describe('bad options are refused with errors naming the problem', () => {
  const base = { inChannels: 8, outChannels: 8, kernelSize: 3 };
  test('even kernels with stride 1 (SOC needs a centre)', () => {
    assert.throws(() => AdaptiveSOCConv2d({ ...base, kernelSize: 4 }), { name: 'RangeError', message: /FastSOC: kernelSize must be odd.*got 4/ });
    assert.throws(() => AdaptiveSOCConvTranspose2d({ ...base, kernelSize: 2, padding: 0 }), { name: 'RangeError', message: /SOCTranspose: kernelSize must be odd/ });
  });
  test('kernel < stride, groups, channels, strides, expNiter, padding', () => {
    const o = { inChannels: 8, outChannels: 4, kernelSize: 2, stride: 3, padding: 0 };
    for (const make of [() => AdaptiveSOCConv2d(o), () => new FastSOC(o), () => new SOCRkoConv2d(o), () => AdaptiveSOCConvTranspose2d(o), () => new SOCTranspose(o)]) {
      assert.throws(make, { name: 'RangeError', message: /kernelSize \(2\) < stride \(3\).*no orthogonal convolution/ });
    }
    assert.throws(() => AdaptiveSOCConv2d({ ...base, groups: 3 }), { name: 'RangeError', message: /divisible by groups \(3\)/ });
    assert.throws(() => new FastSOC({ inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 3 }), { name: 'RangeError', message: /outChannels > inChannels.*SOCRkoConv2d/ });
    assert.throws(() => AdaptiveSOCConv2d({ inChannels: 1, outChannels: 1, kernelSize: 3, stride: 2, padding: 3 }), { name: 'RangeError', message: /at least 2 channels/ });
    assert.throws(() => AdaptiveSOCConv2d({ ...base, expParams: { expNiter: 0 } }), { name: 'RangeError', message: /expParams\.expNiter must be an integer ≥ 1, got 0/ });
    assert.throws(() => AdaptiveSOCConv2d({ ...base, stride: 2 }), { name: 'RangeError', message: /padding 'same' is only supported with stride 1.*such as 3/ });
    assert.throws(() => AdaptiveSOCConv2d({ ...base, kernelSize: 4, stride: 2, padding: 3, dilation: 2 }), { name: 'RangeError', message: /dilation \(2\) must not be a multiple of stride \(2\)/ });
    torch.scope(() => {
      const layer = build({ cin: 8, cout: 8, k: 3 });
      assert.throws(() => layer.forward(torch.randn([1, 4, 8, 8])), { name: 'RangeError', message: /expected input \[N, 8, H, W\]/ });
    });
  });
});

describe('state dict and eval caching', () => {
  const configs: Case[] = [{ cin: 8, cout: 8, k: 3, g: 2 }, { cin: 4, cout: 8, k: 4, s: 2 }];
  for (const c of configs) {
    test(`${name(c)}: Orthogonium's keys, a round trip gives the same layer, eval = train output = plain Conv2d`, () => torch.scope(() => {
      torch.manualSeed(5);
      const layer = build(c, true);
      trainSteps(layer, inShape(c), { steps: 3, lr: 0.1 });
      torch.noGrad(() => layer.getParameter('bias')!.copy_(torch.randn([c.cout])));
      const state = layer.stateDict();
      const keys = [...state.keys()];
      const w = (c.s ?? 1) === 1 ? 'weight' : 'weight_1';
      for (const key of [`parametrizations.${w}.original`, `parametrizations.${w}.1.q`, `parametrizations.${w}.2.identity_kernel`, 'bias']) {
        assert.ok(keys.includes(key), `${name(c)}: no '${key}' in ${keys.join(', ')}`);
      }
      // Orthogonium's SOC q is imported as neutral Schur weights (it cancels there).
      assert.equal(orthogoniumKeyToOurs(`conv.parametrizations.${w}.1.q`).transform, 'neutral-aol-weights');

      const x = torch.randn([2, c.cin, 8, 8]);
      const yTrain = torch.scope(() => layer.train().forward(x).detach());
      layer.eval();
      const calls = countParametrizationCalls(layer);
      const y1 = torch.noGrad(() => layer.forward(x));
      const first = calls();
      const y2 = torch.noGrad(() => layer.forward(x));
      assert.equal(calls(), first, 'a second eval forward recomputed the kernel');
      assert.equal(maxAbsDiff(y1, y2), 0);
      assert.ok(maxAbsDiff(yTrain, y1) <= 1e-5, `train and eval outputs differ by ${maxAbsDiff(yTrain, y1)}`);

      torch.manualSeed(99);
      const other = build(c, true);
      assert.ok(maxAbsDiff(torch.noGrad(() => other.eval().forward(x)), y1) > 1e-3, 'a fresh layer differs before loading');
      other.loadStateDict(state);
      assert.ok(maxAbsDiff(torch.noGrad(() => other.forward(x)), y1) <= 1e-6, 'the loaded layer computes the same');

      // The layer is a plain convolution with its explicit kernel: same output after toPlainModel.
      const plain = toPlainModel(other);
      assert.ok(plain instanceof Conv2d);
      assert.ok(maxAbsDiff(torch.noGrad(() => plain.eval().forward(x)), y1) <= 1e-6, 'toPlainModel changed the output');
      plain.dispose();

      // An optimizer step is seen by the next eval forward.
      layer.train();
      const opt = new SGD(layer.parameters(), { lr: 0.5 });
      torch.scope(() => { opt.zeroGrad(); layer.forward(x).mul(torch.randn([2, c.cout, 1, 1])).sum().backward(); opt.step(); });
      layer.eval();
      const before = calls();
      const y3 = torch.noGrad(() => layer.forward(x));
      assert.ok(calls() > before && maxAbsDiff(y3, y1) > 1e-4, 'the eval forward after an update did not recompute');
    }));
  }
});
