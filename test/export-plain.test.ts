// Plain-weights export: the safetensors and .pt files hold the tensors
// toPlainModel would give, the JSON describes the tree well enough that
// PyTorch (Debian python3-torch) rebuilds the network from it alone, loads
// the .pt strictly and computes our outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import * as nn from '../src/nn/index.js';
import { AOCLipschitzResBlock, AOLConv2D, HouseHolderOrder2, OrthoLinear, SDPBasedLipschitzResBlock, SLLxAOCLipschitzResBlock, toPlainModel } from '../src/ortho/index.js';
import { buildPreset } from '../src/models/index.js';
import { SGD } from '../src/optim/index.js';
import { PlainArchitecture, PlainNode, savePlainModel } from '../src/export/index.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const rebuildScript = fileURLToPath(new URL('../../test/fixtures/rebuild-plain.py', import.meta.url));

function trainedFmnistSmall(seed: number): nn.Module {
  torch.manualSeed(seed);
  const model = buildPreset('fmnist-small');
  const optimizer = new SGD(model.parameters(), { lr: 0.05 });
  const x = torch.randn([4, 1, 28, 28]);
  for (let i = 0; i < 2; i++) {
    torch.scope(() => {
      optimizer.zeroGrad();
      (model.forward(x) as torch.Tensor).square().mean().backward();
      optimizer.step();
    });
  }
  return model.eval();
}

const flatTypes = (node: PlainNode): string[] => [node.type, ...node.children.flatMap((c) => flatTypes(c.module))];

function assertSameTensors(actual: Map<string, torch.Tensor>, expected: Map<string, torch.Tensor>, label: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${label}: tensor names`);
  for (const [name, t] of expected) {
    const other = actual.get(name)!;
    assert.deepEqual(other.shape, t.shape, `${label}: ${name} shape`);
    const diff = torch.scope(() => other.sub(t).abs().max().item());
    assert.ok(diff <= 1e-6, `${label}: ${name} differs by ${diff}`);
  }
}

test('fmnist-small as safetensors and .pt: the tensors toPlainModel gives, and a JSON tree of types and arguments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-plain-'));
  try {
    const model = trainedFmnistSmall(0);
    const common = { inputShape: [1, 28, 28], mean: [0.286], std: [0.353], classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] };
    const st = savePlainModel(model, join(dir, 'model.safetensors'), { format: 'safetensors', ...common });
    const pt = savePlainModel(model, join(dir, 'weights.pt'), { format: 'pt', ...common, architecturePath: join(dir, 'weights-arch.json') });
    assert.equal(st.architecture, join(dir, 'model.json'));
    assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'model.safetensors', 'weights-arch.json', 'weights.pt'], 'no temporary files left');

    const arch = JSON.parse(readFileSync(st.architecture, 'utf8')) as PlainArchitecture;
    assert.equal(arch.format, 'orthogonium-ts/plain-1');
    assert.equal(arch.last_layer, 'global');
    assert.equal(arch.lipschitz, 1 / 0.353);
    assert.deepEqual(arch.input_shape, [1, 28, 28]);
    assert.deepEqual(arch.source?.architecture, 'PatchBasedExpandedCNN');
    const block = ['PrescaledAdditiveResidual', 'Sequential', 'Conv2d', 'MaxMin', 'Identity', 'Conv2d'];
    assert.deepEqual(flatTypes(arch.model), ['Sequential', 'Conv2d', ...block, ...block, ...block, 'Conv2d', 'Flatten', 'MaxMin', 'Linear']);
    assert.deepEqual(arch.model.children[1].module.children[0].module.children[0].module.args, {
      in_channels: 32, out_channels: 64, kernel_size: [3, 3], stride: [1, 1], padding: 'same', dilation: [1, 1], groups: 16, bias: false, padding_mode: 'zeros',
    });
    assert.deepEqual(Object.keys(arch.types).sort(), ['MaxMin', 'PrescaledAdditiveResidual']);

    const fromSafetensors = torch.loadSafetensors(st.weights);
    assert.equal(JSON.parse(fromSafetensors.metadata.architecture).model.type, 'Sequential');
    const fromPt = torch.loadStateDictFile(pt.weights);
    const plain = toPlainModel(model);
    const expected = plain.stateDict();
    assertSameTensors(fromSafetensors.tensors, expected, 'safetensors');
    assertSameTensors(fromPt, expected, '.pt');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('python3-torch rebuilds fmnist-small from the JSON alone, loads the .pt strictly and computes our outputs', (t) => {
  if (!hasTorch) {
    t.skip('Debian python3-torch is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ortho-plain-py-'));
  try {
    const model = trainedFmnistSmall(1);
    const { weights, architecture } = savePlainModel(model, join(dir, 'model.pt'), { format: 'pt', inputShape: [1, 28, 28] });
    const x = torch.randn([5, 1, 28, 28]);
    torch.save({ x }, join(dir, 'input.pt'));
    const r = spawnSync(PYTHON, [rebuildScript, architecture, weights, join(dir, 'input.pt'), join(dir, 'out.pt')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = torch.load(join(dir, 'out.pt')) as Map<string, torch.Tensor>;
    const expected = torch.noGrad(() => model.forward(x) as torch.Tensor);
    const diff = out.get('y')!.sub(expected).abs().max().item();
    assert.ok(diff <= 1e-5, `python output differs by ${diff}`);
    const loaded = new Map([...out].filter(([k]) => k.startsWith('state.')).map(([k, v]) => [k.slice(6), v]));
    assertSameTensors(loaded, torch.loadStateDictFile(weights), 'tensors python loaded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SLL and AOL blocks are written through their rescaled or fused kernels; unsupported modules and bad options are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-plain-sll-'));
  try {
    torch.manualSeed(2);
    const sll = new SDPBasedLipschitzResBlock({ inChannels: 4, innerDimFactor: 2 });
    const model = new nn.Sequential(
      new AOLConv2D({ inChannels: 2, outChannels: 4, kernelSize: 3, padding: 1 }),
      sll,
      new SLLxAOCLipschitzResBlock({ inChannels: 4, outChannels: 8, innerDimFactor: 1 }),
      new AOCLipschitzResBlock({ inChannels: 8, innerDimFactor: 1, kernelSize: 3 }),
      new nn.Flatten(), new OrthoLinear(8 * 4, 3),
    ).eval();
    const { weights, architecture } = savePlainModel(model, join(dir, 'm.safetensors'), { format: 'safetensors' });
    const arch = JSON.parse(readFileSync(architecture, 'utf8')) as PlainArchitecture;
    assert.deepEqual(flatTypes(arch.model), ['Sequential', 'Conv2d', 'SDPBasedLipschitzResBlock', 'SLLxAOCLipschitzResBlock', 'AOCLipschitzResBlock', 'Flatten', 'Linear']);
    const { tensors } = torch.loadSafetensors(weights);
    assert.deepEqual([...tensors.keys()].sort(), ['0.bias', '0.weight', '1.bias', '1.kernel', '2.bias', '2.residual_in', '2.residual_out', '2.skip', '3.bias', '3.kernel', '5.bias', '5.weight']);
    const kernel = torch.noGrad(() => sll.kernel);
    assert.ok(tensors.get('1.kernel')!.equal(kernel), 'the SLL kernel is the AOL-rescaled one');

    assert.throws(() => savePlainModel(new nn.Sequential(new HouseHolderOrder2(4), new nn.Sequential(new Custom())), join(dir, 'x.pt'), { format: 'pt' }),
      /module '1\.0' of type Custom has no plain description/);
    const live = torch.memoryStats().liveTensors;
    savePlainModel(model, join(dir, 'again.pt'), { format: 'pt' });
    assert.equal(torch.memoryStats().liveTensors, live, 'saving frees the explicit kernels it computes');
    assert.throws(() => savePlainModel(model, join(dir, 'x.onnx'), { format: 'onnx' as 'pt' }), /format must be 'safetensors' or 'pt', got "onnx"/);
    assert.throws(() => savePlainModel(model, join(dir, 'x.json'), { format: 'pt' }), /would overwrite the weights/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

class Custom extends nn.Module {
  forward(x: torch.Tensor): torch.Tensor { return x.mul(2); }
}
