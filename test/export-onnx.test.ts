// ONNX export: the exported graphs, run in onnxruntime, compute what our
// models compute (≤ 1e-5), for the presets, a PatchBasedExpandedCNN variant
// and every layer type the factory uses; certificates computed from the ONNX
// outputs with the file's own metadata equal certify()'s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import * as nn from '../src/nn/index.js';
import {
  AOCLipschitzResBlock, AOLConv2D, AOLLinear, AdaptiveOrthoConv2d, AdaptiveSOCConv2d, AdaptiveSOCConvTranspose2d, AdaptiveOrthoConvTranspose2d, AdditiveResidual, Abs, BatchCentering2D, ChannelShuffle, ConcatResidual,
  GlobalScaledAvgPool2d, GroupSort2, HouseHolder, HouseHolderOrder2, L2NormResidual, LayerCentering2D, MaxMin, OrthoLinear, PrescaledAdditiveResidual,
  SDPBasedLipschitzDense, SDPBasedLipschitzResBlock, SLLxAOCLipschitzResBlock, ScaledAvgPool2d, SoftHuber, UnitNormLinear, toPlainModel,
} from '../src/ortho/index.js';
import { LPPool2d, PatchBasedExpandedCNN, buildModel, buildPreset } from '../src/models/index.js';
import { certify, lastLayerType } from '../src/losses/index.js';
import { SGD } from '../src/optim/index.js';
import { describePlainModel, exportOnnx, readOnnxMetadata } from '../src/export/index.js';
import { runOnnx } from './helpers/onnx-run.js';

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.scope(() => a.sub(b).abs().max().item());

/** Exports `model`, runs it on `x` in onnxruntime and checks the outputs equal ours. */
async function assertSameOutputs(model: nn.Module, x: torch.Tensor, label: string, options: { lastLayer?: 'global' | 'classwise' } = {}): Promise<Uint8Array> {
  model.eval();
  const bytes = exportOnnx(model, { inputShape: x.shape.slice(1), lastLayer: options.lastLayer ?? 'global' });
  const expected = torch.noGrad(() => model.forward(x) as torch.Tensor);
  const actual = await runOnnx(bytes, x);
  assert.deepEqual(actual.shape, expected.shape, `${label}: output shape`);
  const diff = maxDiff(actual, expected);
  assert.ok(diff <= 1e-5, `${label}: max abs difference ${diff}`);
  return bytes;
}

/** A few SGD steps so that weights, gates and angles are not at their initial values. */
function perturb(model: nn.Module, x: torch.Tensor): void {
  const optimizer = new SGD(model.parameters(), { lr: 0.05 });
  for (let i = 0; i < 2; i++) {
    torch.scope(() => {
      optimizer.zeroGrad();
      (model.forward(x) as torch.Tensor).square().mean().backward();
      optimizer.step();
    });
  }
}

test('fmnist-small: ONNX outputs equal ours, metadata describe certification, certificates from ONNX equal certify()', async () => {
  torch.manualSeed(0);
  const model = buildPreset('fmnist-small');
  const x = torch.randn([6, 1, 28, 28]);
  perturb(model, x);
  model.eval();
  const mean = [0.286];
  const std = [0.353];
  const classNames = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  const bytes = exportOnnx(model, { inputShape: [1, 28, 28], mean, std, classNames });
  const meta = readOnnxMetadata(bytes);
  assert.equal(meta.last_layer, 'global');
  assert.equal(Number(meta.lipschitz), 1 / 0.353);
  assert.deepEqual(JSON.parse(meta.input_mean), mean);
  assert.deepEqual(JSON.parse(meta.input_std), std);
  assert.deepEqual(JSON.parse(meta.class_names), classNames);
  assert.deepEqual(JSON.parse(meta.input_shape), [1, 28, 28]);

  const logits = await runOnnx(bytes, x);
  const ours = torch.noGrad(() => model.forward(x) as torch.Tensor);
  assert.ok(maxDiff(logits, ours) <= 1e-5, `max abs difference ${maxDiff(logits, ours)}`);

  // Certificates from the ONNX logits, using only what the file says.
  const labels = ours.argmax(1).toFlatArray().map((p, i) => (i % 3 === 0 ? (p + 1) % 10 : p));
  const denominator = (meta.last_layer === 'global' ? Math.SQRT2 : 2) * Number(meta.lipschitz);
  const rows = logits.toArray() as number[][];
  const fromOnnx = rows.map((row, i) => (row[labels[i]] - Math.max(...row.filter((_, j) => j !== labels[i]))) / denominator);
  const report = certify(model, { x, y: torch.tensor(labels, { dtype: 'int64' }) }, { eps: [0.01], lipschitz: 1 / 0.353 });
  assert.equal(report.lastLayer, meta.last_layer);
  fromOnnx.forEach((r, i) => assert.ok(Math.abs(r - report.radii[i]) <= 1e-5, `sample ${i}: ${r} vs ${report.radii[i]}`));
  assert.ok(fromOnnx.some((r) => r < 0) && fromOnnx.some((r) => r > 0), 'both certified and misclassified samples are compared');
});

test('a PatchBasedExpandedCNN with GroupSort2, centering, circular padding, global pool and a UnitNormLinear head', async () => {
  torch.manualSeed(1);
  const model = PatchBasedExpandedCNN({
    imgShape: [3, 16, 16], dim: 16, depth: 2, kernelSize: 3, patchSize: 2, expandFactor: 2, nClasses: 5, skip: true,
    conv: { type: 'AdaptiveOrthoConv2d', options: { bias: true, padding: 'same', paddingMode: 'circular' } },
    act: 'GroupSort2', pool: 'GlobalScaledAvgPool2d', lin: { type: 'UnitNormLinear', options: { bias: true } }, norm: 'LayerCentering2D',
  });
  const x = torch.randn([4, 3, 16, 16]);
  perturb(model, x);
  const bytes = await assertSameOutputs(model, x, 'PatchBasedExpandedCNN', { lastLayer: 'classwise' });
  model.eval();
  assert.equal(readOnnxMetadata(exportOnnx(model, { inputShape: [3, 16, 16] })).last_layer, 'classwise');
  assert.ok(bytes.byteLength > 0);
});

test('every activation, residual, pool, transposed conv, padding mode and centering layer exports exactly', async () => {
  torch.manualSeed(2);
  const conv = (options: Record<string, unknown>) => AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, ...options });
  const bc = new BatchCentering2D(8);
  torch.noGrad(() => bc.getBuffer('running_mean')!.copy_(torch.randn([1, 8, 1, 1])));
  const cases: [string, nn.Module, number[]][] = [
    ['MaxMin', new MaxMin(), [8, 6, 6]],
    ['MaxMin on the last axis', new MaxMin(-1), [8, 6, 6]],
    ['GroupSort2', new GroupSort2(), [8, 6, 6]],
    ['Abs', new Abs(), [8, 6, 6]],
    ['SoftHuber', new SoftHuber(0.1), [8, 6, 6]],
    ['HouseHolder', new HouseHolder(8), [8, 6, 6]],
    ['HouseHolderOrder2', new HouseHolderOrder2(8), [8, 6, 6]],
    ['ReLU', new nn.ReLU(), [8, 6, 6]],
    ['AdditiveResidual', new AdditiveResidual(new nn.Sequential(conv({}), new MaxMin()), 0.3), [8, 6, 6]],
    ['PrescaledAdditiveResidual', new PrescaledAdditiveResidual(new nn.Sequential(conv({}), new GroupSort2()), 2), [8, 6, 6]],
    ['ConcatResidual', new ConcatResidual(AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 4, kernelSize: 3 })), [8, 6, 6]],
    ['L2NormResidual', new L2NormResidual(conv({})), [8, 6, 6]],
    ['ScaledAvgPool2d', new ScaledAvgPool2d(2), [8, 6, 6]],
    ['ScaledAvgPool2d 3×2', new ScaledAvgPool2d([3, 2]), [8, 6, 6]],
    ['GlobalScaledAvgPool2d', new GlobalScaledAvgPool2d(), [8, 6, 6]],
    ['AvgPool2d', new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true }), [8, 7, 7]],
    ['MaxPool2d', new nn.MaxPool2d(2, { stride: 2 }), [8, 6, 6]],
    ['LPPool2d', new LPPool2d(2, 2), [8, 6, 6]],
    ['AdaptiveAvgPool2d 1', new nn.AdaptiveAvgPool2d(1), [8, 6, 6]],
    ['AdaptiveAvgPool2d 3', new nn.AdaptiveAvgPool2d(3), [8, 6, 6]],
    ['AdaptiveAvgPool2d [null, 3] (height kept)', new nn.AdaptiveAvgPool2d([null, 3]), [8, 5, 6]],
    ['AdaptiveOrthoConvTranspose2d', AdaptiveOrthoConvTranspose2d({ inChannels: 8, outChannels: 4, kernelSize: 2, stride: 2 }), [8, 5, 5]],
    ['AdaptiveOrthoConvTranspose2d k3 s2', AdaptiveOrthoConvTranspose2d({ inChannels: 8, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2 }), [8, 5, 5]],
    ['ConvTranspose2d', new nn.ConvTranspose2d(8, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 1 }), [8, 5, 5]],
    ['Conv2d circular, strided, grouped', new nn.Conv2d(8, 4, 3, { stride: 2, padding: 1, groups: 2, paddingMode: 'circular' }), [8, 7, 7]],
    ['Conv2d reflect', new nn.Conv2d(8, 4, 3, { padding: [1, 2], paddingMode: 'reflect' }), [8, 7, 7]],
    ['Conv2d replicate, dilated', new nn.Conv2d(8, 4, 3, { padding: 'same', dilation: 2, paddingMode: 'replicate' }), [8, 7, 7]],
    ['Conv2d same, even kernel', new nn.Conv2d(8, 4, 2, { padding: 'same' }), [8, 7, 7]],
    ['AdaptiveOrthoConv2d circular', conv({ paddingMode: 'circular', groups: 2 }), [8, 6, 6]],
    ['AdaptiveOrthoConv2d stride 2', conv({ stride: 2, padding: 1, bias: true }), [8, 6, 6]],
    ['LayerCentering2D', new LayerCentering2D(8), [8, 6, 6]],
    ['BatchCentering2D', bc, [8, 6, 6]],
    ['ChannelShuffle', new ChannelShuffle(2, 4), [8, 6, 6]],
    ['Flatten + Linear + Dropout', new nn.Sequential(new nn.Flatten(), new nn.Linear(8 * 9, 7), new nn.Dropout(0.5), new UnitNormLinear(7, 3)), [8, 3, 3]],
    ['Linear on 3-d input', new OrthoLinear(6, 4, { bias: true }), [5, 6]],
    ['Identity', new nn.Identity(), [2, 3, 3]],
  ];
  for (const [label, model, shape] of cases) {
    const x = torch.randn([3, ...shape]);
    if (model.parameters().length > 0) perturb(model, x);
    await assertSameOutputs(model, x, label);
  }
});

test('SLL and AOL layers export through their rescaled / fused kernels', async () => {
  torch.manualSeed(3);
  const cases: [string, nn.Module, number[]][] = [
    ['SDPBasedLipschitzResBlock', new SDPBasedLipschitzResBlock({ inChannels: 8, innerDimFactor: 2, kernelSize: 3, groups: 2 }), [8, 6, 6]],
    ['SLLxAOCLipschitzResBlock', new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 8, innerDimFactor: 1, kernelSize: 3, stride: 2 }), [4, 8, 8]],
    ['SDPBasedLipschitzDense', new SDPBasedLipschitzDense({ inFeatures: 10, innerDim: 6 }), [10]],
    ['AOLConv2D', new AOLConv2D({ inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, paddingMode: 'circular' }), [4, 6, 6]],
    ['AOLLinear', new AOLLinear({ inFeatures: 10, outFeatures: 4 }), [10]],
  ];
  for (const [label, model, shape] of cases) {
    const x = torch.randn([3, ...shape]);
    perturb(model, x);
    await assertSameOutputs(model, x, label);
  }
});

test('Adaptive-SOC convolutions and the AOC residual block export exactly', async () => {
  torch.manualSeed(6);
  const cases: [string, nn.Module, number[]][] = [
    ['AdaptiveSOCConv2d (FastSOC)', AdaptiveSOCConv2d({ inChannels: 6, outChannels: 6, kernelSize: 3, groups: 2 }), [6, 8, 8]],
    ['AdaptiveSOCConv2d zeros, 4→8', AdaptiveSOCConv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, paddingMode: 'zeros' }), [4, 8, 8]],
    ['AdaptiveSOCConv2d stride 2 (SOC×RKO)', AdaptiveSOCConv2d({ inChannels: 4, outChannels: 8, kernelSize: 4, stride: 2, padding: 3 }), [4, 8, 8]],
    ['AdaptiveSOCConvTranspose2d', AdaptiveSOCConvTranspose2d({ inChannels: 8, outChannels: 4, kernelSize: 2, stride: 2 }), [8, 4, 4]],
    ['AOCLipschitzResBlock', new AOCLipschitzResBlock({ inChannels: 6, innerDimFactor: 2, kernelSize: 3 }), [6, 6, 6]],
    ['AOCLipschitzResBlock zeros, dilated', new AOCLipschitzResBlock({ inChannels: 4, innerDimFactor: 1, kernelSize: 3, dilation: 2, paddingMode: 'zeros' }), [4, 7, 7]],
  ];
  for (const [label, model, shape] of cases) {
    const x = torch.randn([3, ...shape]);
    perturb(model, x);
    await assertSameOutputs(model, x, label);
  }
});

test('a plain model (toPlainModel) exports the same function; its head type must then be given', async () => {
  torch.manualSeed(4);
  const model = buildPreset('fmnist-small');
  model.eval();
  const x = torch.randn([2, 1, 28, 28]);
  const expected = torch.noGrad(() => model.forward(x) as torch.Tensor);
  const plain = toPlainModel(model);
  assert.throws(() => exportOnnx(plain, { inputShape: [1, 28, 28] }), /exportOnnx: cannot tell the model's head type/);
  const out = await runOnnx(exportOnnx(plain, { inputShape: [1, 28, 28], lastLayer: 'global' }), x);
  assert.ok(maxDiff(out, expected) <= 1e-5);
});

test('unsupported modules and bad options are refused with errors that name them', () => {
  class Doubling extends nn.Module {
    forward(x: torch.Tensor): torch.Tensor { return x.mul(2); }
  }
  const model = new nn.Sequential(AdaptiveOrthoConv2d({ inChannels: 2, outChannels: 4, kernelSize: 3 }), new nn.Sequential(new Doubling()), new nn.Flatten(), new OrthoLinear(4 * 16, 2));
  assert.throws(() => exportOnnx(model, { inputShape: [2, 4, 4] }), /module '1\.0' of type Doubling is not supported/);
  class Custom extends nn.Linear {
    override forward(x: torch.Tensor): torch.Tensor { return super.forward(x).mul(2); }
  }
  assert.throws(() => exportOnnx(new Custom(3, 3), { inputShape: [3], lastLayer: 'global' }), /module '\(root\)' of type Custom is not supported/);
  const ok = new nn.Sequential(new nn.Flatten(), new OrthoLinear(4, 2));
  assert.throws(() => exportOnnx(ok, { inputShape: [] }), /inputShape must be a list of positive integers/);
  assert.throws(() => exportOnnx(ok, { inputShape: [1, 2, 2], mean: [0.5] }), /give both mean and std/);
  assert.throws(() => exportOnnx(ok, { inputShape: [1, 2, 2], mean: [0.5, 0.5], std: [0.2, 0.2] }), /one value per input channel/);
});

test('normalizeInput puts (x − mean) / std into the graph', async () => {
  torch.manualSeed(5);
  const model = new nn.Sequential(AdaptiveOrthoConv2d({ inChannels: 2, outChannels: 4, kernelSize: 3 }), new MaxMin(), new nn.Flatten(), new OrthoLinear(4 * 16, 3));
  model.eval();
  const mean = [0.4, 0.6];
  const std = [0.2, 0.3];
  const bytes = exportOnnx(model, { inputShape: [2, 4, 4], mean, std, normalizeInput: true });
  assert.equal(readOnnxMetadata(bytes).input_normalized_in_graph, 'true');
  const raw = torch.rand([3, 2, 4, 4]);
  const normalized = raw.sub(torch.tensor(mean).view(1, 2, 1, 1)).div(torch.tensor(std).view(1, 2, 1, 1));
  const expected = torch.noGrad(() => model.forward(normalized) as torch.Tensor);
  assert.ok(maxDiff(await runOnnx(bytes, raw), expected) <= 1e-5);
});

test("every factory architecture (at a small size) exports to ONNX with our outputs and its own head type", async () => {
  const small: [string, Record<string, unknown>, number[]][] = [
    ['PatchBasedExpandedCNN', { imgShape: [3, 16, 16], dim: 16, depth: 2, kernelSize: 3, nClasses: 4 }, [3, 16, 16]],
    ['ConvMixerInspired', { imgShape: [3, 16, 16], dim: 16, depth: 2, nClasses: 4 }, [3, 16, 16]],
    ['PatchBasedCNN', { imgShape: [3, 16, 16], dim: 16, depth: 2, nClasses: 4 }, [3, 16, 16]],
    ['StagedCNN', { imgShape: [3, 16, 16], dimRepeats: [[8, 1], [16, 1]], dimNbDense: [16, 1], nClasses: 4 }, [3, 16, 16]],
    ['LargeStagedCNN', { imgShape: [3, 16, 16], patchSize: 2, dimRepeats: [[8, 1], [16, 1]], dimNbDense: [16, 1], nClasses: 4 }, [3, 16, 16]],
    ['AOCNetV1', { imgShape: [3, 32, 32], embeddingDim: 64, groups: 2, blockDepth: 1, nClasses: 4 }, [3, 32, 32]],
    ['SplitConcatNet-M4', { imgShape: [3, 32, 32], embeddingDim: 64, kernelSize: 3, groups: null, blockDepth: 1, nClasses: 4 }, [3, 32, 32]],
    ['LipResNet', { imgShape: [3, 32, 32], widths: [8, 16, 16, 32], blocks: [1, 2, 1, 1], nClasses: 4 }, [3, 32, 32]],
    ['LipVGG', { imgShape: [3, 32, 32], widths: [8, 8, 16, 16, 16], denseDim: 16, nClasses: 4 }, [3, 32, 32]],
    ['BCOPLargeCNN', { imgShape: [3, 16, 16], nClasses: 4 }, [3, 16, 16]],
    ['SLLxBCOPResNet50', { imgShape: [3, 32, 32], widths: [8, 8, 16, 16, 32], blocks: [1, 2, 1, 1], nClasses: 4, norm: 'BatchCentering2D' }, [3, 32, 32]],
  ];
  for (const [architecture, options, shape] of small) {
    torch.manualSeed(6);
    const model = buildModel({ architecture, options });
    const x = torch.randn([2, ...shape]);
    // One training-mode pass moves the BatchCentering running means off zero.
    torch.noGrad(() => model.forward(x));
    model.eval();
    const bytes = exportOnnx(model, { inputShape: shape });
    assert.equal(readOnnxMetadata(bytes).last_layer, lastLayerType(model), `${architecture}: head type`);
    const expected = torch.noGrad(() => model.forward(x) as torch.Tensor);
    assert.ok(expected.isfinite().all().item(), `${architecture}: our outputs are finite`);
    const diff = maxDiff(await runOnnx(bytes, x), expected);
    assert.ok(diff <= 1e-5, `${architecture}: max abs difference ${diff}`);
    // The plain-weights description covers the same modules, with no reparametrization left.
    const names = torch.scope(() => torch.noGrad(() => [...describePlainModel(model).tensors.keys()]));
    assert.ok(names.length > 0 && names.every((n) => !n.includes('parametrizations')), `${architecture}: plain tensor names`);
  }
});

test('exporting frees every tensor it creates', () => {
  torch.manualSeed(7);
  const model = buildPreset('fmnist-small');
  exportOnnx(model, { inputShape: [1, 28, 28] });
  const before = torch.memoryStats().liveTensors;
  for (let i = 0; i < 2; i++) exportOnnx(model, { inputShape: [1, 28, 28] });
  assert.equal(torch.memoryStats().liveTensors, before);
  assert.equal(model.training, true, 'the model is back in training mode');
});
