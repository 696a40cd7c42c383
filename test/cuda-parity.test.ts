// Everything a model is made of computes on CUDA what it computes on the CPU:
// every layer type the factory knows (each AOC construction among them), a
// factory model, the losses and the optimizer step, in float64 so that the
// two devices must agree to ~1e-9 (float32 would let cuDNN's TF32 blur it).
// Outputs in train mode (kernels rebuilt) and in eval mode (kernels cached;
// on the CPU some layers take native kernels there), and the gradients of a
// fixed linear functional of the output. Skipped without a GPU;
// ORTHO_PARITY_DEVICE=cpu runs it CPU-against-CPU to check the test itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { ClassParam, buildModel } from '../src/models/index.js';
import { CosineLoss, CrossEntropyLoss, HingeMarginLoss, LossXent, SoftHKRMulticlassLoss } from '../src/losses/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import type { Module } from '../src/nn/index.js';

type Tensor = torch.Tensor;
const DEVICE = process.env.ORTHO_PARITY_DEVICE ?? 'cuda';
const skip = DEVICE === 'cuda' && !torch.cuda.isAvailable() ? 'needs a GPU' : false;
const TOLERANCE = 1e-9;

/** max |a − b| / (1 + max |b|), both read on the host. */
function relativeGap(a: Tensor, b: Tensor): number {
  return torch.noGrad(() => torch.scope(() => {
    const onHost = a.to({ device: 'cpu' });
    const scale = 1 + b.abs().max().item();
    return onHost.sub(b).abs().max().item() / scale;
  }));
}

interface Run { evalOut: Tensor; trainOut: Tensor; grads: Map<string, Tensor> }

/** Eval forward, then train forward + backward of ⟨output, probe⟩; gradients of the input and the parameters. */
function run(module: Module, input: Tensor, probe: Tensor): Run {
  const x = input.detach().requiresGrad_();
  module.eval();
  const evalOut = torch.noGrad(() => module.forward(x) as Tensor);
  module.train();
  module.zeroGrad();
  const trainOut = torch.scope(() => {
    const out = module.forward(x) as Tensor;
    out.mul(probe).sum().backward();
    return out.detach();
  });
  const grads = new Map<string, Tensor>([['input', x.grad!.detach()]]);
  for (const [name, p] of module.namedParameters()) if (p.grad) grads.set(name, p.grad.detach());
  return { evalOut, trainOut, grads };
}

/** Runs `build()`'s module on the CPU, then the same weights on DEVICE, and compares. */
function checkParity(build: () => Module, inputShape: number[]): void {
  torch.manualSeed(0);
  const module = build().to('float64');
  const initial = new Map([...module.stateDict()].map(([k, v]) => [k, v.clone()]));
  const x = torch.randn(inputShape, { dtype: 'float64' });
  const probe = torch.noGrad(() => torch.scope(() => {
    module.eval();
    return torch.randnLike(module.forward(x) as Tensor);
  }));
  const onCpu = run(module, x, probe);
  // Same starting state on the device (the CPU pass moved running statistics).
  module.loadStateDict(initial);
  module.to(DEVICE);
  const onDevice = run(module, x.to(DEVICE), probe.to(DEVICE));
  for (const p of module.parameters()) assert.ok(p.device.startsWith(DEVICE), `a parameter stayed on ${p.device}`);
  assert.ok(onDevice.trainOut.device.startsWith(DEVICE), `the output is on ${onDevice.trainOut.device}`);
  const gaps: Record<string, number> = {
    eval: relativeGap(onDevice.evalOut, onCpu.evalOut),
    train: relativeGap(onDevice.trainOut, onCpu.trainOut),
  };
  assert.deepEqual([...onDevice.grads.keys()], [...onCpu.grads.keys()], 'the same parameters get gradients');
  for (const [name, g] of onCpu.grads) gaps[`grad ${name}`] = relativeGap(onDevice.grads.get(name)!, g);
  for (const [what, gap] of Object.entries(gaps)) assert.ok(gap <= TOLERANCE, `${what}: ${DEVICE} vs cpu differ by ${gap}`);
  const differs = relativeGap(onDevice.trainOut, torch.zerosLike(onCpu.trainOut));
  assert.ok(differs > 1e-3, 'the output is not trivially zero');
}

const layer = (type: string, options: Record<string, unknown> = {}) => () => new ClassParam(type, options).create();
const aoc = (options: Record<string, unknown>) => layer('AdaptiveOrthoConv2d', { bias: true, ...options });

describe(`every layer type computes the same on ${DEVICE} as on the CPU (float64)`, () => {
  const cases: [string, () => Module, number[]][] = [
    ['AOC k3 s1, circular padding (BCOP)', aoc({ inChannels: 8, outChannels: 8, kernelSize: 3, padding: 'same', paddingMode: 'circular' }), [2, 8, 8, 8]],
    ['AOC k3 s2, 8 → 16 (BCOP × RKO)', aoc({ inChannels: 8, outChannels: 16, kernelSize: 3, stride: 2, padding: 1 }), [2, 8, 8, 8]],
    ['AOC kernel = stride 2 (RKO)', aoc({ inChannels: 8, outChannels: 8, kernelSize: 2, stride: 2, padding: 0 }), [2, 8, 8, 8]],
    ['AOC k1, 16 → 8', aoc({ inChannels: 16, outChannels: 8, kernelSize: 1, padding: 0 }), [2, 16, 6, 6]],
    ['AOC k3, 2 channels per group (the seed\'s grouped BCOP)', aoc({ inChannels: 32, outChannels: 64, kernelSize: 3, groups: 16, padding: 'same', bias: false }), [2, 32, 8, 8]],
    ['AOC k3 dilation 2', aoc({ inChannels: 8, outChannels: 8, kernelSize: 3, dilation: 2, padding: 'same' }), [2, 8, 10, 10]],
    ['AOC pool, kernel = stride 4, groups 4', aoc({ inChannels: 8, outChannels: 8, kernelSize: 4, stride: 4, groups: 4, padding: 0, bias: false }), [2, 8, 8, 8]],
    ['AOC transposed k3 s2', layer('AdaptiveOrthoConvTranspose2d', { inChannels: 8, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }), [2, 8, 5, 5]],
    ['OrthoLinear 16 → 32', layer('OrthoLinear', { inFeatures: 16, outFeatures: 32 }), [4, 16]],
    ['UnitNormLinear 16 → 8', layer('UnitNormLinear', { inFeatures: 16, outFeatures: 8 }), [4, 16]],
    ['AOLConv2D', layer('AOLConv2D', { inChannels: 8, outChannels: 8, kernelSize: 3, padding: 1 }), [2, 8, 6, 6]],
    ['AOLLinear', layer('AOLLinear', { inFeatures: 16, outFeatures: 12 }), [4, 16]],
    ['SDPBasedLipschitzResBlock', layer('SDPBasedLipschitzResBlock', { inChannels: 8, innerDimFactor: 2 }), [2, 8, 6, 6]],
    ['SDPBasedLipschitzDense', layer('SDPBasedLipschitzDense', { inFeatures: 16 }), [4, 16]],
    ['SLLxAOCLipschitzResBlock, stride 2', layer('SLLxAOCLipschitzResBlock', { inChannels: 8, outChannels: 16, innerDimFactor: 1, stride: 2 }), [2, 8, 8, 8]],
    ['MaxMin', layer('MaxMin'), [4, 8, 5, 5]],
    ['GroupSort2', layer('GroupSort2'), [4, 8, 5, 5]],
    ['HouseHolder', layer('HouseHolder', { channels: 8 }), [4, 8, 5, 5]],
    ['HouseHolderOrder2', layer('HouseHolderOrder2', { channels: 8 }), [4, 8, 5, 5]],
    ['SoftHuber', layer('SoftHuber'), [4, 8, 5, 5]],
    ['Abs', layer('Abs'), [4, 8, 5, 5]],
    ['LayerCentering2D', layer('LayerCentering2D', { numFeatures: 8 }), [4, 8, 5, 5]],
    ['BatchCentering2D', layer('BatchCentering2D', { numFeatures: 8 }), [4, 8, 5, 5]],
    ['ChannelShuffle', layer('ChannelShuffle', { groupIn: 2, groupOut: 4 }), [4, 8, 5, 5]],
    ['ScaledAvgPool2d', layer('ScaledAvgPool2d', { kernelSize: 2 }), [4, 8, 6, 6]],
    ['GlobalScaledAvgPool2d', layer('GlobalScaledAvgPool2d'), [4, 8, 6, 6]],
    // orthogonium.legacy: complex FFTs and batched complex inverses (Cayley), Taylor terms (SOC: updateFreq 1 so that
    // each training forward runs the same power iterations on both devices), power iteration + Björck (BCOP).
    ['legacy.Cayley, stride 2', layer('legacy.Cayley', { inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2 }), [2, 4, 8, 8]],
    ['legacy.Cayley 8 → 4', layer('legacy.Cayley', { inChannels: 8, outChannels: 4, kernelSize: 3 }), [2, 8, 6, 6]],
    ['legacy.CayleyLinear', layer('legacy.CayleyLinear', { inFeatures: 16, outFeatures: 12 }), [4, 16]],
    ['legacy.SOC, stride 2', layer('legacy.SOC', { inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, updateFreq: 1 }), [2, 4, 8, 8]],
    ['legacy.BCOP', layer('legacy.BCOP', { inChannels: 8, outChannels: 8, kernelSize: 3 }), [2, 8, 6, 6]],
  ];
  for (const [name, build, shape] of cases) test(name, { skip }, () => torch.scope(() => checkParity(build, shape)));

  test('a factory model (PatchBasedExpandedCNN, the seed\'s layers at small width)', { skip }, () => torch.scope(() => checkParity(() => buildModel({
    architecture: 'PatchBasedExpandedCNN',
    options: {
      imgShape: [3, 32, 32], dim: 32, depth: 2, kernelSize: 3, patchSize: 2, expandFactor: 2, groups: null, nClasses: 10, skip: true,
      conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
      act: { type: 'MaxMin' },
      pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: 32, outChannels: 32, groups: 16, bias: false, padding: 0, kernelSize: 16, stride: 16 } },
      lin: { type: 'OrthoLinear', options: { bias: false } },
      norm: null,
    },
  }), [2, 3, 32, 32])));
});

describe(`losses and the optimizer step on ${DEVICE} match the CPU (float64)`, () => {
  test('LossXent, CosineLoss, SoftHKRMulticlassLoss, HingeMarginLoss, CrossEntropyLoss: values and logit gradients', { skip }, () => torch.scope(() => {
    torch.manualSeed(3);
    const logits = torch.randn([16, 10], { dtype: 'float64' });
    const labels = torch.randint(0, 10, [16]);
    // Built afresh for each device: SoftHKR keeps a running margin that every training forward moves.
    const losses: [string, () => Module][] = [
      ['LossXent', () => new LossXent({ nClasses: 10, offset: 0.5, temperature: 0.25 })],
      ['CosineLoss', () => new CosineLoss()],
      ['SoftHKRMulticlassLoss', () => new SoftHKRMulticlassLoss({ alpha: 0.9, minMargin: 0.5 })],
      ['HingeMarginLoss', () => new HingeMarginLoss()],
      ['CrossEntropyLoss', () => new CrossEntropyLoss()],
    ];
    for (const [name, make] of losses) {
      const valueAndGrad = (device: string) => {
        const loss = make().to(device);
        const leaf = logits.to(device).detach().requiresGrad_();
        const value = loss.forward(leaf, labels.to(device)) as Tensor;
        value.backward();
        return { value: value.detach(), grad: leaf.grad!.detach() };
      };
      const cpu = valueAndGrad('cpu');
      const dev = valueAndGrad(DEVICE);
      assert.ok(dev.value.device.startsWith(DEVICE), `${name}: computed on ${dev.value.device}`);
      assert.ok(relativeGap(dev.value, cpu.value) <= TOLERANCE, `${name}: value ${dev.value.item()} vs ${cpu.value.item()}`);
      assert.ok(relativeGap(dev.grad, cpu.grad) <= TOLERANCE, `${name}: gradient differs`);
    }
  }));

  test('AdamWScheduleFree: five steps move the same weights the same way', { skip }, () => torch.scope(() => {
    const steps = (device: string) => {
      torch.manualSeed(4);
      const w = torch.randn([6, 5], { dtype: 'float64' }).to(device).requiresGrad_();
      const target = torch.randn([6, 5], { dtype: 'float64' }).to(device);
      const optimizer = new AdamWScheduleFree([w], { lr: 0.05, weightDecay: 0.01, warmupSteps: 2 });
      optimizer.train();
      for (let i = 0; i < 5; i++) {
        torch.scope(() => {
          optimizer.zeroGrad();
          w.sub(target).square().sum().backward();
          optimizer.step();
        });
      }
      optimizer.eval();
      const out = w.detach().clone();
      optimizer.dispose();
      return out;
    };
    const cpu = steps('cpu');
    const dev = steps(DEVICE);
    assert.ok(dev.device.startsWith(DEVICE));
    assert.ok(relativeGap(dev, cpu) <= TOLERANCE, `weights differ by ${relativeGap(dev, cpu)}`);
  }));
});
