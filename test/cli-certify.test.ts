// `orthogonium certify` on a checkpoint: the numbers match certify() run in
// process on the reloaded model, and the CSV / SVG / PNG outputs are written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { certify, lipschitzFromStd } from '../src/losses/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/mnist.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const MEAN = [0.286];
const STD = [0.353];

test('a checkpoint reloads to the same model, and rejects files that are not checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-ckpt-'));
  try {
    torch.manualSeed(0);
    const model = buildPreset('fmnist-small');
    saveCheckpoint(join(dir, 'model.pt'), model, { mean: MEAN, std: STD, dataset: 'fashion-mnist' });
    const loaded = loadCheckpoint(join(dir, 'model.pt'));
    assert.deepEqual(loaded.metadata, { mean: MEAN, std: STD, dataset: 'fashion-mnist' });
    model.eval();
    loaded.model.eval();
    const x = torch.randn([4, 1, 28, 28]);
    assert.ok(torch.noGrad(() => (model.forward(x) as torch.Tensor).equal(loaded.model.forward(x) as torch.Tensor)));
    torch.save({ weights: torch.ones([2]) }, join(dir, 'other.pt'));
    assert.throws(() => loadCheckpoint(join(dir, 'other.pt')), /not an orthogonium-ts checkpoint \(format is null/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orthogonium certify reports what certify() computes and writes radii, SVG and PNG', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-certify-'));
  try {
    torch.manualSeed(1);
    const model = buildPreset('fmnist-small');
    saveCheckpoint(join(dir, 'model.pt'), model, { mean: MEAN, std: STD });
    const r = run('certify', '--checkpoint', join(dir, 'model.pt'), '--dataset', 'fashion-mnist', '--limit', '300', '--eps', '36/255,0.5', '--json', '--out', join(dir, 'out'));
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const expected = torch.scope(() => {
      const { images, labels } = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, false);
      const x = images.narrow(0, 0, 300).float().div(255).sub(MEAN[0]).div(STD[0]);
      return certify(model.eval(), { x, y: labels.narrow(0, 0, 300) }, { eps: [36 / 255, 0.5], lipschitz: lipschitzFromStd(STD) });
    });
    assert.equal(report.samples, 300);
    assert.equal(report.lastLayer, 'global');
    assert.ok(Math.abs(report.cleanAccuracy - expected.cleanAccuracy) < 1e-12);
    assert.deepEqual(report.certifiedAccuracy.map((c: { eps: number }) => c.eps), [36 / 255, 0.5]);
    report.certifiedAccuracy.forEach((c: { accuracy: number }, i: number) => assert.ok(Math.abs(c.accuracy - expected.certifiedAccuracy[i].accuracy) < 1e-12));
    const rows = readFileSync(report.files.radii, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'index,label,prediction,radius');
    assert.equal(rows.length, 301);
    rows.slice(1).forEach((row, i) => assert.ok(Math.abs(Number(row.split(',')[3]) - expected.radii[i]) < 1e-5, `radius ${i}`));
    assert.match(readFileSync(report.files.svg, 'utf8'), /^<svg [^>]*>[\s\S]*<path d="M/);
    assert.deepEqual([...readFileSync(report.files.png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orthogonium certify: bad options exit 2, unreadable checkpoints fail with a clear message', () => {
  const bad = run('certify', '--checkpoint', 'x.pt', '--dataset', 'fashion-mnist', '--eps', '0');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /orthogonium certify: /);
  assert.equal(run('certify', '--checkpoint', 'x.pt', '--dataset', 'imagenet').status, 2);
  assert.equal(run('certify', '--dataset', 'fashion-mnist').status, 2);
  const missing = run('certify', '--checkpoint', '/nonexistent/model.pt', '--dataset', 'fashion-mnist');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\/model\.pt/);
});
