// The layer registry behind configs: every registered name builds from a
// JSON config (after a JSON.stringify/parse round trip) and runs; ClassParam's
// identity, readable form and flattened configs; the JSON spec form of
// orthoParams (same layers as the hand-written OrthoParams, survives model
// configs and checkpoints, clear errors for bad specs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { AvgPool2d, Identity, Module, Sequential } from '../src/nn/index.js';
import { ClassParam, ClassParamSpec, buildModel, flattenConfig, registeredLayers, PatchBasedExpandedCNN } from '../src/models/index.js';
import {
  BJORCK_PASS_THROUGH_ORTHO_PARAMS, BatchedBjorckOrthogonalization, BatchedExponentialOrthogonalization, BatchedPowerIteration, CHOLESKY_ORTHO_PARAMS,
  CHOLESKY_STABLE_ORTHO_PARAMS, EXP_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS, OrthoLinear, QR_ORTHO_PARAMS, canonicalOrthoParamsSpec, orthoParamsFromSpec,
  resolveOrthoParams, AdaptiveOrthoConv2d,
} from '../src/ortho/index.js';
import type { OrthoParams, OrthoParamsSpec } from '../src/ortho/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';

torch.setNumThreads(1);
type Tensor = torch.Tensor;

const conv = (o: Record<string, unknown>) => ({ inChannels: 4, outChannels: 4, kernelSize: 3, orthoParams: 'test', ...o });
const img = [2, 4, 8, 8];

/** A minimal JSON config and input shape for each registered name. */
const SAMPLES: Record<string, { options?: Record<string, unknown>; input: number[]; outShape?: number[] }> = {
  AdaptiveOrthoConv2d: { options: conv({}), input: img, outShape: [2, 4, 8, 8] },
  AdaptiveOrthoConvTranspose2d: { options: conv({ kernelSize: 2, stride: 2, outChannels: 2 }), input: img, outShape: [2, 2, 16, 16] },
  AdaptiveSOCConv2d: { options: conv({ expParams: { expNiter: 2 } }), input: img, outShape: [2, 4, 8, 8] },
  AdaptiveSOCConvTranspose2d: { options: conv({ padding: 3 }), input: img, outShape: [2, 4, 8, 8] },
  FastBlockConv2d: { options: conv({}), input: img, outShape: [2, 4, 8, 8] },
  RKOConv2d: { options: conv({ kernelSize: 2, stride: 2, outChannels: 8, padding: 0 }), input: img, outShape: [2, 8, 4, 4] },
  BcopRkoConv2d: { options: conv({ kernelSize: 3, stride: 2, outChannels: 8, padding: 1 }), input: img, outShape: [2, 8, 4, 4] },
  FastBlockConvTranspose2d: { options: conv({ padding: 1 }), input: img, outShape: [2, 4, 8, 8] },
  FastBlockConvTranspose2D: { options: conv({ padding: 1 }), input: img, outShape: [2, 4, 8, 8] },
  RkoConvTranspose2d: { options: conv({ kernelSize: 2, stride: 2, outChannels: 2 }), input: img, outShape: [2, 2, 16, 16] },
  BcopRkoConvTranspose2d: { options: conv({ kernelSize: 4, stride: 2, outChannels: 2, padding: 1 }), input: img, outShape: [2, 2, 16, 16] },
  FastSOC: { options: conv({}), input: img, outShape: [2, 4, 8, 8] },
  SOCRkoConv2d: { options: conv({ kernelSize: 4, stride: 2, padding: 3, outChannels: 8 }), input: img },
  SOCTranspose: { options: conv({ padding: 3 }), input: img, outShape: [2, 4, 8, 8] },
  SOCRkoConvTranspose2d: { options: conv({ kernelSize: 4, stride: 2, padding: 3, outChannels: 2 }), input: img },
  OrthoLinear: { options: { inFeatures: 6, outFeatures: 3, orthoParams: 'test' }, input: [2, 6], outShape: [2, 3] },
  UnitNormLinear: { options: { inFeatures: 6, outFeatures: 3 }, input: [2, 6], outShape: [2, 3] },
  Linear: { options: { inFeatures: 6, outFeatures: 3 }, input: [2, 6], outShape: [2, 3] },
  Conv2d: { options: { inChannels: 4, outChannels: 2, kernelSize: 3, padding: 1 }, input: img, outShape: [2, 2, 8, 8] },
  ConvTranspose2d: { options: { inChannels: 4, outChannels: 2, kernelSize: 2, stride: 2 }, input: img, outShape: [2, 2, 16, 16] },
  MaxMin: { input: img, outShape: img },
  GroupSort2: { input: img, outShape: img },
  Abs: { input: img, outShape: img },
  ReLU: { input: img, outShape: img },
  SoftHuber: { options: { delta: 0.1 }, input: img, outShape: img },
  HouseHolder: { options: { channels: 4 }, input: img, outShape: img },
  HouseHolderOrder2: { options: { channels: 4 }, input: img, outShape: img },
  HouseHolder_Order_2: { options: { channels: 4 }, input: img, outShape: img },
  LayerCentering2D: { options: { numFeatures: 4 }, input: img, outShape: img },
  BatchCentering2D: { options: { numFeatures: 4, momentum: 0.2 }, input: img, outShape: img },
  ChannelShuffle: { options: { groupIn: 2, groupOut: 2 }, input: img, outShape: img },
  ScaledAvgPool2d: { options: { kernelSize: 2 }, input: img, outShape: [2, 4, 4, 4] },
  GlobalScaledAvgPool2d: { input: img, outShape: [2, 4, 1, 1] },
  AvgPool2d: { options: { kernelSize: 2, divisorOverride: 2 }, input: img, outShape: [2, 4, 4, 4] },
  MaxPool2d: { options: { kernelSize: [2, 4] }, input: img, outShape: [2, 4, 4, 2] },
  AdaptiveAvgPool2d: { options: { outputSize: 1 }, input: img, outShape: [2, 4, 1, 1] },
  LPPool2d: { options: { normType: 4, kernelSize: 2 }, input: img, outShape: [2, 4, 4, 4] },
  Dropout: { options: { p: 0.25 }, input: img, outShape: img },
  Flatten: { options: { startDim: 2 }, input: img, outShape: [2, 4, 64] },
  Identity: { input: img, outShape: img },
  Sequential: { options: { layers: [{ type: 'MaxMin' }, 'Flatten', { type: 'Linear', options: { inFeatures: 256, outFeatures: 3 } }] }, input: img, outShape: [2, 3] },
  AOLConv2D: { options: { inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1 }, input: img, outShape: img },
  AOLConvTranspose2D: { options: { inChannels: 4, outChannels: 2, kernelSize: 2, stride: 2 }, input: img, outShape: [2, 2, 16, 16] },
  AOLLinear: { options: { inFeatures: 6, outFeatures: 3 }, input: [2, 6], outShape: [2, 3] },
  SDPBasedLipschitzResBlock: { options: { inChannels: 4, innerDimFactor: 2, kernelSize: 3 }, input: img, outShape: img },
  SDPBasedLipschitzDense: { options: { inFeatures: 6 }, input: [2, 6], outShape: [2, 6] },
  SLLxAOCLipschitzResBlock: { options: { inChannels: 4, outChannels: 8, innerDimFactor: 1, orthoParams: 'test' }, input: img, outShape: [2, 8, 4, 4] },
  AOCLipschitzResBlock: { options: { inChannels: 4, innerDimFactor: 1, kernelSize: 3, orthoParams: 'test' }, input: img, outShape: img },
  // orthogonium.legacy: padding / paddingMode as the architectures pass them are accepted and ignored.
  'legacy.Cayley': { options: { inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1 }, input: img, outShape: [2, 8, 4, 4] },
  'legacy.CayleyLinear': { options: { inFeatures: 6, outFeatures: 3 }, input: [2, 6], outShape: [2, 3] },
  'legacy.SOC': { options: { inChannels: 4, outChannels: 4, kernelSize: 3, padding: 'same', paddingMode: 'circular' }, input: img, outShape: img },
  'legacy.BCOP': { options: { inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2 }, input: img, outShape: [2, 8, 4, 4] },
  // Residual wrappers: in JSON the branch is a layer spec (or an array of them).
  ConcatResidual: { options: { fn: { type: 'AdaptiveOrthoConv2d', options: conv({ inChannels: 2, outChannels: 2 }) } }, input: img, outShape: img },
  L2NormResidual: { options: { fn: [{ type: 'MaxMin' }, { type: 'AdaptiveOrthoConv2d', options: conv({}) }], eps: 1e-6 }, input: img, outShape: img },
  AdditiveResidual: { options: { fn: 'MaxMin', initVal: 0.5 }, input: img, outShape: img },
  PrescaledAdditiveResidual: { options: { fn: { type: 'HouseHolder', options: { channels: 4 } }, initVal: 2 }, input: img, outShape: img },
};

const roundTrip = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('layer registry', () => {
  test('the names Orthogonium users put in configs are registered, and every registered name has a sample here', () => {
    const names = registeredLayers();
    for (const n of ['AOLConvTranspose2D', 'ConcatResidual', 'L2NormResidual', 'RKOConv2d', 'FastBlockConv2d', 'BcopRkoConv2d', 'RkoConvTranspose2d',
      'FastBlockConvTranspose2d', 'BcopRkoConvTranspose2d', 'MaxPool2d', 'AdaptiveSOCConv2d', 'AdaptiveSOCConvTranspose2d', 'FastSOC', 'SOCRkoConv2d',
      'SOCTranspose', 'SOCRkoConvTranspose2d', 'FastBlockConvTranspose2D', 'HouseHolder_Order_2']) {
      assert.ok(names.includes(n), `${n} is registered`);
    }
    assert.deepEqual(names, Object.keys(SAMPLES).sort(), 'a sample for every registered name (add one when registering a layer)');
  });

  for (const [name, sample] of Object.entries(SAMPLES)) {
    test(`${name}: built from its JSON config after a stringify/parse round trip, runs, and its ClassParam serializes back to the same spec`, () => {
      torch.manualSeed(3);
      const spec: ClassParamSpec = roundTrip({ type: name, options: sample.options ?? {} });
      const cp = ClassParam.from(spec);
      assert.deepEqual(roundTrip(cp), spec);
      assert.deepEqual(roundTrip(ClassParam.from(roundTrip(cp))), spec);
      const layer = cp.create();
      assert.ok(layer instanceof Module);
      layer.eval();
      const shape = torch.noGrad(() => torch.scope(() => {
        const y = layer.forward(torch.randn(sample.input)) as Tensor;
        assert.ok(y.isfinite().all().item(), `${name}: finite output`);
        return y.shape;
      }));
      if (sample.outShape) assert.deepEqual(shape, sample.outShape, `${name}: output shape`);
    });
  }

  test('residual wrappers refuse a branch that is neither a Module nor a layer spec', () => {
    assert.throws(() => ClassParam.from({ type: 'ConcatResidual', options: { fn: 3 } }).create(), /ConcatResidual: option 'fn' \(the residual branch\) must be a Module, a layer spec/);
    assert.throws(() => ClassParam.from({ type: 'Sequential', options: { layers: 'MaxMin' } }).create(), /Sequential: option 'layers' must be an array/);
  });

  test('AvgPool2d divisorOverride: each window sum divided by the override (PyTorch\'s definition)', () => torch.scope(() => {
    const x = torch.arange(0, 32, 1, { dtype: 'float64' }).reshape([1, 2, 4, 4]);
    const y = new AvgPool2d(2, { divisorOverride: 3 }).forward(x).toFlatArray();
    const xs = x.toFlatArray();
    const expected: number[] = [];
    for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      let sum = 0;
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) sum += xs[c * 16 + (2 * i + a) * 4 + 2 * j + b];
      expected.push(sum / 3);
    }
    assert.deepEqual(y.map((v) => Math.round(v * 1e9) / 1e9), expected.map((v) => Math.round(v * 1e9) / 1e9));
    const viaConfig = ClassParam.from({ type: 'AvgPool2d', options: { kernelSize: 2, divisorOverride: 3 } }).create().forward(x) as Tensor;
    assert.deepEqual(viaConfig.toFlatArray(), y);
    assert.throws(() => new AvgPool2d(2, { divisorOverride: 0 }), /divisorOverride must be a positive integer/);
  }));
});

describe('ClassParam', () => {
  test('null is the identity (Orthogonium\'s ClassParam(None)): an Identity module whatever the options, serialized as null', () => {
    for (const cp of [new ClassParam(null), ClassParam.from(null), ClassParam.from({ type: null })]) {
      assert.ok(cp.isIdentity);
      assert.ok(cp.create({ inChannels: 3 }) instanceof Identity);
      assert.equal(JSON.stringify(cp), 'null');
      assert.equal(cp.toString(), 'Identity(null)');
    }
    // In an architecture: act null → no activation, and the config rebuilds the same model.
    torch.manualSeed(1);
    const m = PatchBasedExpandedCNN({ imgShape: [1, 8, 8], dim: 4, depth: 1, kernelSize: 3, nClasses: 3, act: null, norm: null,
      conv: { type: 'AdaptiveOrthoConv2d', options: { orthoParams: 'test' } }, lin: { type: 'OrthoLinear', options: { orthoParams: 'test' } } });
    assert.ok([...m.modules()].every((x) => x.constructor.name !== 'MaxMin'));
    assert.equal(roundTrip(m.config).options.act, null);
    torch.manualSeed(1);
    const again = buildModel(roundTrip(m.config));
    torch.noGrad(() => torch.scope(() => {
      const x = torch.randn([2, 1, 8, 8]);
      m.eval(); again.eval();
      assert.deepEqual((again.forward(x) as Tensor).toFlatArray(), (m.forward(x) as Tensor).toFlatArray());
    }));
  });

  test('toString reads like Orthogonium\'s __str__, nested specs and orthoParams included', () => {
    const cp = new ClassParam('AdaptiveOrthoConv2d', { bias: false, padding: 'same', kernelSize: [3, 3], orthoParams: QR_ORTHO_PARAMS });
    assert.equal(cp.toString(), "AdaptiveOrthoConv2d(bias=false, padding='same', kernelSize=[3, 3], orthoParams='qr')");
    const res = new ClassParam('PrescaledAdditiveResidual', { initVal: 2, fn: { type: 'MaxMin' } });
    assert.equal(res.toString(), 'PrescaledAdditiveResidual(initVal=2, fn=MaxMin())');
    assert.equal(`${new ClassParam('ReLU')}`, 'ReLU()');
  });

  test('getConfig() nests, getConfig({ flatten: true }) and flattenConfig give one level of loggable values', () => {
    const spec: OrthoParamsSpec = { orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { niters: 6 } } };
    const conv = new ClassParam('AdaptiveOrthoConv2d', { bias: false, orthoParams: orthoParamsFromSpec(spec) });
    const nested = conv.getConfig();
    assert.deepEqual(nested, {
      type: 'AdaptiveOrthoConv2d',
      options: {
        bias: false,
        orthoParams: {
          spectralNormalizer: { type: 'BatchedPowerIteration', options: { iterations: 3, eps: 1e-6 } },
          orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { iterations: 6 } },
        },
      },
    });
    assert.deepEqual(conv.getConfig({ flatten: true }), {
      type: 'AdaptiveOrthoConv2d',
      bias: false,
      'orthoParams/spectralNormalizer/type': 'BatchedPowerIteration',
      'orthoParams/spectralNormalizer/iterations': 3,
      'orthoParams/spectralNormalizer/eps': 1e-6,
      'orthoParams/orthogonalizer/type': 'BatchedBjorckOrthogonalization',
      'orthoParams/orthogonalizer/iterations': 6,
    });
    const model = PatchBasedExpandedCNN({
      imgShape: [1, 8, 8], dim: 4, depth: 1, nClasses: 3, norm: null, conv, lin: new ClassParam('OrthoLinear', { bias: false }), act: 'MaxMin',
    });
    const flat = flattenConfig(model.config);
    assert.equal(flat.architecture, 'PatchBasedExpandedCNN');
    assert.equal(flat['options/imgShape'], '[1, 8, 8]');
    assert.equal(flat['options/conv/type'], 'AdaptiveOrthoConv2d');
    assert.equal(flat['options/conv/orthoParams/orthogonalizer/iterations'], 6);
    assert.equal(flat['options/lin/bias'], false);
    assert.equal(flat['options/act'], 'MaxMin');
    assert.equal(flat['options/norm'], null);
    for (const [k, v] of Object.entries(flat)) assert.ok(v === null || ['string', 'number', 'boolean'].includes(typeof v), `${k}: ${String(v)}`);
    assert.deepEqual(flattenConfig(model.config), flattenConfig(roundTrip(model.config)), 'the same from the stored JSON');
  });
});

describe('orthoParams spec form', () => {
  /** Weights and outputs of a small conv and linear layer built with these settings from the same seed. */
  function build(orthoParams: OrthoParams | OrthoParamsSpec | string): number[][] {
    return torch.noGrad(() => torch.scope(() => {
      torch.manualSeed(11);
      const c = AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, orthoParams });
      const l = new OrthoLinear(6, 5, { orthoParams });
      const x = torch.randn([2, 4, 8, 8]);
      const v = torch.randn([3, 6]);
      // Two evaluations in training mode: the power iteration's state moves the same way.
      c.forward(x); l.forward(v);
      return [c.weight.toFlatArray(), (c.forward(x) as Tensor).toFlatArray(), l.weight.toFlatArray(), (l.forward(v) as Tensor).toFlatArray()];
    }));
  }

  test('a spec builds exactly the layers of the equivalent hand-written OrthoParams (same seed: same weights and outputs)', () => {
    const handWritten: OrthoParams = {
      name: 'hand',
      spectralNormalizer: (s) => new BatchedPowerIteration(s, { iterations: 2, eps: 1e-5 }),
      orthogonalizer: (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 6 }),
    };
    const spec: OrthoParamsSpec = {
      // Orthogonium's option names (camelCased) are accepted beside ours.
      spectralNormalizer: { type: 'BatchedPowerIteration', options: { powerItNiter: 2, eps: 1e-5 } },
      orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { beta: 0.5, niters: 6 } },
    };
    const a = build(handWritten);
    assert.deepEqual(build(spec), a);
    assert.deepEqual(build(roundTrip(spec)), a);
    assert.deepEqual(build(roundTrip(orthoParamsFromSpec(spec)) as unknown as OrthoParamsSpec), a, 'OrthoParams built from a spec serialize back to it');
    // Not vacuous: other settings give other weights.
    assert.notDeepEqual(build({ ...spec, orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { niters: 7 } } }), a);
  });

  test('specs equal to the presets build the presets\' layers; omitted parts take Orthogonium\'s OrthoParams() defaults', () => {
    // A bare type name takes the class defaults (Björck: beta 0.5, 12 iterations).
    assert.deepEqual(build({ orthogonalizer: 'BatchedBjorckOrthogonalization' }), build('default'));
    assert.deepEqual(build({ orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { beta: 0.5, iterations: 12 } } }), build('default'));
    assert.deepEqual(build({ spectralNormalizer: { type: 'BatchedPowerIteration', options: { iterations: 3, eps: 1e-6 } } }), build('default'));
    assert.deepEqual(build({ spectralNormalizer: { type: 'BatchedPowerIteration', options: { iterations: 3, eps: 1e-3 } }, orthogonalizer: 'BatchedQROrthogonalization' }), build('qr'));
    assert.deepEqual(build({ spectralNormalizer: 'BatchedIdentity', orthogonalizer: { type: 'BatchedCholeskyOrthogonalization', options: { stable: true } } }), build('cholesky-stable'));
    const exp = resolveOrthoParams({ orthogonalizer: { type: 'BatchedExponentialOrthogonalization', options: { niters: 12 } } });
    const built = exp.orthogonalizer([2, 3, 3]);
    assert.ok(built instanceof BatchedExponentialOrthogonalization && built.iterations === 12);
  });

  test('Orthogonium\'s named constants are the presets, and presets serialize as their names', () => {
    assert.equal(BJORCK_PASS_THROUGH_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS['bjorck-pass-through']);
    assert.equal(EXP_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS.exp);
    assert.equal(QR_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS.qr);
    assert.equal(CHOLESKY_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS.cholesky);
    assert.equal(CHOLESKY_STABLE_ORTHO_PARAMS, ORTHO_PARAMS_PRESETS['cholesky-stable']);
    for (const [name, p] of Object.entries(ORTHO_PARAMS_PRESETS)) {
      assert.equal(JSON.stringify({ orthoParams: p }), `{"orthoParams":"${name}"}`);
      assert.equal(resolveOrthoParams(roundTrip(p) as unknown as string), p);
    }
  });

  test('a model configured with a spec rebuilds identically from its JSON config and from a checkpoint', () => {
    const spec: OrthoParamsSpec = {
      name: 'fast',
      spectralNormalizer: { type: 'BatchedPowerIteration', options: { iterations: 2, eps: 1e-6 } },
      orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { iterations: 8 } },
    };
    torch.manualSeed(5);
    const model = PatchBasedExpandedCNN({
      imgShape: [1, 8, 8], dim: 4, depth: 1, nClasses: 3, norm: null,
      conv: { type: 'AdaptiveOrthoConv2d', options: { orthoParams: orthoParamsFromSpec(spec) } },
      lin: { type: 'OrthoLinear', options: { orthoParams: spec } },
    });
    const stored = roundTrip(model.config);
    const convSpec = (stored.options.conv as ClassParamSpec).options!.orthoParams;
    assert.deepEqual(convSpec, canonicalOrthoParamsSpec(spec));
    const dir = mkdtempSync(join(tmpdir(), 'ortho-spec-'));
    try {
      const path = join(dir, 'model.pt');
      saveCheckpoint(path, model);
      const { model: loaded, config } = loadCheckpoint(path);
      assert.deepEqual(config, stored);
      torch.manualSeed(5);
      const rebuilt = buildModel(stored);
      torch.noGrad(() => torch.scope(() => {
        const x = torch.randn([2, 1, 8, 8]);
        for (const m of [model, loaded, rebuilt]) m.eval();
        const want = (model.forward(x) as Tensor).toFlatArray();
        assert.deepEqual((loaded.forward(x) as Tensor).toFlatArray(), want, 'from the checkpoint');
        assert.deepEqual((rebuilt.forward(x) as Tensor).toFlatArray(), want, 'from the JSON config, same seed');
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad specs give errors naming the problem', () => {
    const cases: [unknown, RegExp][] = [
      [{ orthogonalizer: { type: 'BatchedSVD' } }, /orthoParams\.orthogonalizer: unknown reparametrizer type 'BatchedSVD'; known types: BatchedPowerIteration, .*BatchedIdentity/],
      [{ orthogonalizer: 'Bjorck' }, /orthoParams\.orthogonalizer: unknown reparametrizer type 'Bjorck'/],
      [{ spectralNormalizer: { type: 'BatchedPowerIteration', options: { niters: 3 } } }, /orthoParams\.spectralNormalizer \(BatchedPowerIteration\): unknown option 'niters'; allowed: iterations, eps, powerItNiter/],
      [{ orthogonalizer: { type: 'BatchedQROrthogonalization', options: { iterations: 3 } } }, /\(BatchedQROrthogonalization\): unknown option 'iterations'; it takes no options/],
      [{ orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { iterations: 2.5 } } }, /option 'iterations' must be a non-negative integer, got 2\.5/],
      [{ orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { passThrough: 'yes' } } }, /option 'passThrough' must be a boolean, got 'yes'/],
      [{ orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { niters: 3, iterations: 4 } } }, /option 'iterations' given twice/],
      [{ orthogonalizer: { type: 'BatchedBjorckOrthogonalization', opts: {} } }, /orthoParams\.orthogonalizer: unknown key 'opts'/],
      [{ orthogonalizer: 'BatchedQROrthogonalization', contiguousOptimization: false }, /orthoParams spec: unknown key 'contiguousOptimization'; a spec has name, spectralNormalizer, orthogonalizer/],
      [{ name: 'mine' }, /names neither a spectralNormalizer nor an orthogonalizer.*does not survive JSON/],
      [{ orthogonalizer: 42 }, /orthoParams\.orthogonalizer: expected \{ type, options \} or a type name, got 42/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(() => resolveOrthoParams(spec as OrthoParamsSpec), (e: unknown) => e instanceof TypeError && message.test(e.message), JSON.stringify(spec));
    }
    // The same errors surface when building a layer from a config.
    assert.throws(() => ClassParam.from({ type: 'OrthoLinear', options: { inFeatures: 3, outFeatures: 3, orthoParams: { orthogonalizer: { type: 'Nope' } } } }).create(),
      /unknown reparametrizer type 'Nope'/);
    assert.throws(() => new Sequential(ClassParam.from({ type: 'AdaptiveOrthoConv2d', options: conv({ orthoParams: 'nope' }) }).create()), /unknown orthoParams preset 'nope'/);
  });
});
