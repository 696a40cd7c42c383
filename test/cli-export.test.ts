// `orthogonium export` end to end: a checkpoint written here becomes an ONNX
// model computing the checkpoint's outputs (with its normalization and class
// names in the metadata) and plain weights with their JSON; bad input exits
// with a message naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { readOnnxMetadata } from '../src/export/index.js';
import { toPlainModel } from '../src/ortho/index.js';
import { runOnnx } from './helpers/onnx-run.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const MEAN = [0.286];
const STD = [0.353];

test('orthogonium export writes ONNX, safetensors and .pt files that match the checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-export-cli-'));
  try {
    torch.manualSeed(0);
    const model = buildPreset('fmnist-small');
    const checkpoint = join(dir, 'model.pt');
    saveCheckpoint(checkpoint, model, { mean: MEAN, std: STD, dataset: 'fashion-mnist' });

    const onnxPath = join(dir, 'out', 'model.onnx');
    const r = run('export', '--checkpoint', checkpoint, '--format', 'onnx', '--out', onnxPath, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).files, { onnx: onnxPath });
    const bytes = readFileSync(onnxPath);
    const meta = readOnnxMetadata(bytes);
    assert.deepEqual(JSON.parse(meta.input_mean), MEAN);
    assert.deepEqual(JSON.parse(meta.input_std), STD);
    assert.equal(JSON.parse(meta.class_names)[9], 'Ankle boot');
    assert.equal(meta.dataset, 'fashion-mnist');
    assert.equal(meta.last_layer, 'global');
    model.eval();
    const x = torch.randn([3, 1, 28, 28]);
    const expected = torch.noGrad(() => model.forward(x) as torch.Tensor);
    const diff = (await runOnnx(bytes, x)).sub(expected).abs().max().item();
    assert.ok(diff <= 1e-5, `ONNX output differs by ${diff}`);

    const normalized = run('export', '--checkpoint', checkpoint, '--format', 'onnx', '--out', join(dir, 'raw.onnx'), '--normalize-input');
    assert.equal(normalized.status, 0, normalized.stderr);
    const raw = torch.rand([2, 1, 28, 28]);
    const rawDiff = (await runOnnx(readFileSync(join(dir, 'raw.onnx')), raw)).sub(torch.noGrad(() => model.forward(raw.sub(MEAN[0]).div(STD[0])) as torch.Tensor)).abs().max().item();
    assert.ok(rawDiff <= 1e-5, `normalizing ONNX output differs by ${rawDiff}`);

    const st = run('export', '--checkpoint', checkpoint, '--format', 'safetensors', '--out', join(dir, 'plain', 'model.safetensors'));
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /wrote weights: .*model\.safetensors\nwrote architecture: .*model\.json/);
    const pt = run('export', '--checkpoint', checkpoint, '--format', 'pt', '--out', join(dir, 'plain', 'weights.pt'));
    assert.equal(pt.status, 0, pt.stderr);
    assert.deepEqual(readdirSync(join(dir, 'plain')).sort(), ['model.json', 'model.safetensors', 'weights.json', 'weights.pt']);
    const names = [...toPlainModel(model).stateDict().keys()].sort();
    assert.deepEqual([...torch.loadSafetensors(join(dir, 'plain', 'model.safetensors')).tensors.keys()].sort(), names);
    assert.deepEqual([...torch.loadStateDictFile(join(dir, 'plain', 'weights.pt')).keys()].sort(), names);
    const arch = JSON.parse(readFileSync(join(dir, 'plain', 'weights.json'), 'utf8'));
    assert.deepEqual(arch.input_std, STD);
    assert.deepEqual(arch.metadata.dataset, 'fashion-mnist');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orthogonium export refuses a missing file, an unknown format, a non-checkpoint and missing options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-export-bad-'));
  try {
    const missing = run('export', '--checkpoint', join(dir, 'nope.pt'), '--format', 'onnx', '--out', join(dir, 'x.onnx'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*nope\.pt: ENOENT/);

    const format = run('export', '--checkpoint', join(dir, 'nope.pt'), '--format', 'tflite', '--out', join(dir, 'x'));
    assert.equal(format.status, 2);
    assert.match(format.stderr, /unknown format 'tflite'; expected one of onnx, safetensors, pt/);

    torch.save({ weights: torch.ones([2]) }, join(dir, 'other.pt'));
    const other = run('export', '--checkpoint', join(dir, 'other.pt'), '--format', 'pt', '--out', join(dir, 'x.pt'));
    assert.equal(other.status, 1);
    assert.match(other.stderr, /not an orthogonium-ts checkpoint/);

    writeFileSync(join(dir, 'text.pt'), 'hello');
    const text = run('export', '--checkpoint', join(dir, 'text.pt'), '--format', 'safetensors', '--out', join(dir, 'x.safetensors'));
    assert.equal(text.status, 1);
    assert.match(text.stderr, /text\.pt/);

    const noOut = run('export', '--checkpoint', join(dir, 'other.pt'), '--format', 'pt');
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /--out is required/);
    const normalizePlain = run('export', '--checkpoint', join(dir, 'other.pt'), '--format', 'pt', '--out', join(dir, 'x.pt'), '--normalize-input');
    assert.equal(normalizePlain.status, 2);
    assert.match(normalizePlain.stderr, /--normalize-input applies to --format onnx only/);
    assert.deepEqual(readdirSync(dir).sort(), ['other.pt', 'text.pt'], 'nothing written on failure');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
