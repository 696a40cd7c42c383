// `orthogonium train` and `orthogonium eval` end to end on the real
// Fashion-MNIST: a short run learns (accuracy and VRA above chance), fills its
// run folder, and its model evaluates to the same numbers; Ctrl-C writes a
// checkpoint that resumes; bad command lines are refused with exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const noData = !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed';
const QUICK = ['--dataset', 'fashion-mnist', '--batch-size', '64', '--limit-val-batches', '1', '--no-progress'];

test('orthogonium train learns Fashion-MNIST and leaves a complete run folder; eval agrees', { skip: noData }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-train-'));
  try {
    const out = join(dir, 'run');
    // The seed's GPU switches (no effect on the CPU; the final certificates are computed in full float32 anyway).
    const r = run('train', ...QUICK, '--setting', 'mildly_robust', '--epochs', '1', '--limit-train-batches', '40', '--out', out, '--json',
      '--matmul-precision', 'medium', '--max-time', '00:01:00:00', '--min-epochs', '1', '--num-sanity-val-steps', '1');
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(result.fit.globalStep, 40);
    // 10 classes: chance is 10% accuracy and 0% VRA.
    assert.ok(result.evaluation.accuracy > 0.5, `accuracy ${result.evaluation.accuracy}`);
    assert.ok(result.evaluation.certified[0].accuracy > 0.2, `VRA at 36/255 ${result.evaluation.certified[0].accuracy}`);
    assert.equal(result.evaluation.samples, 256, '--limit-val-batches 1 bounds the final certification to one validation batch (4 × 64)');
    for (const f of ['config.json', 'model.ckpt', 'results.json', 'metrics.csv', 'metrics.jsonl', 'checkpoints/last.ckpt',
      'plots/training-curves.svg', 'plots/training-curves.png', 'plots/certified-accuracy.svg', 'plots/certified-accuracy.png']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.setting, 'mildly_robust');
    assert.equal(config.model.architecture, 'PatchBasedExpandedCNN');
    assert.deepEqual([config.matmulPrecision, config.cudnnBenchmark], ['medium', true]);
    assert.deepEqual([config.maxTime, config.minEpochs, config.numSanityValSteps, config.overfitBatches], ['00:01:00:00', 1, 1, null]);
    assert.match(readFileSync(join(out, 'metrics.csv'), 'utf8'), /^step,.*val_vra/);

    const e = run('eval', '--checkpoint', join(out, 'model.ckpt'), '--limit', '256', '--json');
    assert.equal(e.status, 0, e.stderr);
    const evaluation = JSON.parse(e.stdout);
    assert.equal(evaluation.dataset, 'fashion-mnist', 'the dataset comes from the checkpoint');
    assert.equal(evaluation.lossName, 'LossXent', "the loss of the checkpoint's setting");
    assert.equal(evaluation.accuracy, result.evaluation.accuracy);
    assert.deepEqual(evaluation.certified, result.evaluation.certified);
    // float32 logits from two processes may differ in the last bits (oneDNN's kernel choice depends on memory alignment).
    assert.ok(Math.abs(evaluation.loss - result.evaluation.loss) < 1e-6, `${evaluation.loss} vs ${result.evaluation.loss}`);
    const text = run('eval', '--checkpoint', join(out, 'model.ckpt'), '--limit', '256');
    assert.match(text.stdout, /VRA at ε = 72\/255/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C finishes the step, writes interrupted.ckpt and exits 130; --resume finishes the run', { skip: noData }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-sigint-'));
  try {
    const out = join(dir, 'run');
    const child = spawn(process.execPath, [cli, 'train', ...QUICK, '--setting', 'non_robust', '--epochs', '1', '--limit-train-batches', '30', '--out', out]);
    let stdout = '';
    let signalled = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!signalled && stdout.includes('training on cpu')) {
          signalled = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    assert.equal(code, 130, stdout);
    assert.match(stdout, /SIGINT: finishing the current step/);
    assert.match(stdout, /interrupted at epoch 1, batch \d+, step \d+/);
    const ckpt = join(out, 'checkpoints', 'interrupted.ckpt');
    assert.ok(existsSync(ckpt));
    assert.ok(!existsSync(join(out, 'model.ckpt')), 'no final model for an interrupted run');
    const steps = Number(/step (\d+): wrote/.exec(stdout)![1]);
    assert.ok(steps >= 1 && steps < 30);

    const resumed = run('train', '--resume', ckpt, '--json');
    assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
    assert.match(resumed.stdout, new RegExp(`resumed from .*interrupted\\.ckpt: epoch 1, batch ${steps}, step ${steps}`));
    const result = JSON.parse(resumed.stdout.trim().split('\n').pop()!);
    assert.equal(result.fit.globalStep, 30, 'the resumed run trains the remaining batches only');
    assert.equal(result.out, out, 'and writes into the same run folder');
    assert.ok(existsSync(join(out, 'model.ckpt')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orthogonium train --lr-find runs the range test first and trains at its rate', { skip: noData }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-lr-find-'));
  try {
    const r = run('train', ...QUICK, '--epochs', '1', '--limit-train-batches', '5', '--lr-find', '--out', join(dir, 'run'));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const m = /LearningRateFinder: (\d+) steps from 1e-8 to [\d.e-]+; suggested learning rate ([\d.e-]+) \(set\)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const suggested = Number(m[2]);
    assert.ok(suggested > 1e-8 && suggested <= 0.05, `suggestion ${suggested} inside the range`);
    // The run trained at it: LearningRateMonitor logged the optimizer's rate (column lr-AdamWScheduleFree).
    const [header, ...rows] = readFileSync(join(dir, 'run', 'metrics.csv'), 'utf8').trim().split('\n').map((line) => line.split(','));
    const column = header.indexOf('lr-AdamWScheduleFree');
    const logged = rows.map((row) => row[column]).filter((v) => v !== '').map(Number);
    assert.ok(logged.length > 0 && logged.every((lr) => Math.abs(lr / suggested - 1) < 5e-3), `logged ${logged}, suggested ${suggested}`);
    // Lightning's lr_finder.plot: the curve, with the suggestion marked, as SVG and PNG.
    const svg = readFileSync(join(dir, 'run', 'plots', 'lr-finder.svg'), 'utf8');
    assert.match(svg, /^<svg[\s\S]*Learning-rate range test — suggested [\d.e-]+[\s\S]*<\/svg>$/);
    assert.ok(existsSync(join(dir, 'run', 'plots', 'lr-finder.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orthogonium train and eval refuse bad command lines with exit code 2 and a message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-train-args-'));
  try {
    const cases: [string[], RegExp][] = [
      [['train', '--bogus'], /unknown option --bogus/],
      [['train', '--epochs', '0'], /--epochs must be a positive integer, got '0'/],
      [['train', '--epochs'], /--epochs needs a value/],
      [['train', '--lr', 'fast'], /--lr must be a finite number > 0, got 'fast'/],
      [['train', '--setting', 'very_robust'], /unknown setting 'very_robust'; expected one of non_robust, mildly_robust, robust/],
      [['train', '--dataset', 'imagenet'], /unknown dataset 'imagenet'/],
      [['train', '--model', 'seed-cifar10', '--model-config', 'x.json'], /either --model or --model-config/],
      [['train', '--eps', '1/0'], /--eps: '1\/0'/],
      [['train', '--limit-train-batches', '2.5'], /positive batch count or a fraction in \(0, 1\]/],
      [['train', '--matmul-precision', 'low'], /unknown matmulPrecision 'low'; expected one of highest, high, medium/],
      [['train', '--precision', '16-true'], /unknown precision '16-true'; expected one of 32, bf16-mixed, 16-mixed, 64-true/],
      [['train', '--device', 'tpu'], /unknown device 'tpu'; expected one of cpu, cuda, gpu, auto/],
      [['train', '--max-time', '12:00'], /'maxTime' must be seconds > 0, "DD:HH:MM:SS" or null, got "12:00"/],
      [['train', '--num-sanity-val-steps', '-2'], /--num-sanity-val-steps must be an integer ≥ 0, or -1 for all, got '-2'/],
      [['train', '--overfit-batches', '1.5'], /--overfit-batches must be a positive batch count or a fraction in \(0, 1\]/],
      [['train', '--min-epochs', '0'], /--min-epochs must be a positive integer, got '0'/],
      [['train', '--config', join(dir, 'missing.json')], /cannot read the config file .*missing\.json: ENOENT/],
      [['train', '--config', join(dir, 'bad.json')], /bad\.json: not valid JSON/],
      [['train', '--config', join(dir, 'unknown.json')], /unknown field 'learningRate'/],
      [['train', '--model-config', join(dir, 'bad.json')], /--model-config: .*bad\.json: not valid JSON/],
      [['eval'], /--checkpoint is required/],
      [['eval', '--checkpoint', 'x.ckpt', '--limit', '-3'], /--limit must be a positive integer/],
    ];
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    writeFileSync(join(dir, 'unknown.json'), JSON.stringify({ learningRate: 1 }));
    for (const [args, message] of cases) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const missing = run('eval', '--checkpoint', join(dir, 'none.ckpt'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /none\.ckpt/);
    const help = run('train', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--resume FILE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
