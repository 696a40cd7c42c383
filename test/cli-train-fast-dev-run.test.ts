// `orthogonium train --fast-dev-run [N]` (Lightning's fast_dev_run) on the
// real Fashion-MNIST: N training and N validation batches and a certification
// of N validation batches go through, the metrics are printed, and nothing is
// written, neither the run folder nor anything in the working directory.
// Bad values of N and contradicting flags are refused with exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { UsageError, parseFlags } from '../src/cli/args.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const noData = !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed';
// Batches of 64; the validation loader's are 4 × 64 = 256 images.
const QUICK = ['--dataset', 'fashion-mnist', '--batch-size', '64', '--no-progress'];

/** Runs the CLI in an empty working directory; returns its result and every file left in that directory's parent. */
function runInEmptyDir(...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-fast-dev-'));
  try {
    const cwd = join(dir, 'work');
    mkdirSync(cwd);
    const out = join(dir, 'run');
    const r = spawnSync(process.execPath, [cli, 'train', ...args, '--out', out], { cwd, encoding: 'utf8' });
    return { r, left: readdirSync(dir, { recursive: true }).map(String).sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('train --fast-dev-run runs one training and one validation batch, prints the metrics and writes nothing', { skip: noData }, () => {
  // The bare flag (followed by another flag) means N = 1.
  const { r, left } = runInEmptyDir('--fast-dev-run', ...QUICK);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /fastDevRun: 1 batch of each loop; logging, checkpoints and early stopping stand aside/);
  assert.match(r.stdout, /training on cpu \(precision 32\): 1 batches per epoch, epochs 1–1\n/, 'no run folder is announced');
  assert.match(r.stdout, /^epoch 1\/1 · step 1 · loss \d\.\d+ · accuracy \d\.\d+ · vra \d(\.\d+)? · val_loss \d\.\d+ · val_accuracy \d\.\d+ · val_vra/m);
  assert.match(r.stdout, /Validate metric/);
  assert.match(r.stdout, /fashion-mnist validation split, 1 batch \(fast dev run\): 256 images/);
  assert.match(r.stdout, /VRA at ε = 36\/255 +\d+\.\d\d%/);
  assert.match(r.stdout, /fast dev run: 1 batch of training and of validation, .* nothing was written/);
  assert.deepEqual(left, ['work'], 'no run folder, and nothing in the working directory');
});

test('train --fast-dev-run N --json trains exactly N batches, certifies N validation batches and writes nothing', { skip: noData }, () => {
  // --epochs gives way to the fast dev run's single epoch; the learning-rate finder stands aside.
  const { r, left } = runInEmptyDir(...QUICK, '--epochs', '5', '--lr-find', '--json', '--fast-dev-run', '3');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /LearningRateFinder: skipped in a fastDevRun/);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(result.fastDevRun, 3);
  assert.equal(result.fit.globalStep, 3, 'three training batches, one optimizer step each');
  assert.equal(result.fit.epochs, 1);
  assert.equal(result.fit.stopReason, 'max_steps');
  assert.deepEqual(result.fit.history.map((row: Record<string, number>) => row.step), [3]);
  assert.ok(Number.isFinite(result.fit.metrics.val_accuracy), 'the validation batches ran');
  assert.equal(result.evaluation.samples, 3 * 256, 'the certification covers the three validation batches');
  assert.equal(result.evaluation.certified.length, 3);
  assert.equal(result.out, null);
  assert.deepEqual(result.files, {});
  assert.deepEqual(left, ['work']);
});

test('train --fast-dev-run refuses a bad N and the flags it contradicts, before touching any file', () => {
  const cases: [string[], RegExp][] = [
    [['--fast-dev-run', '0'], /--fast-dev-run must be a positive integer, got '0'/],
    [['--fast-dev-run', '-1'], /--fast-dev-run must be a positive integer, got '-1'/],
    [['--fast-dev-run', '1.5'], /--fast-dev-run must be a positive integer, got '1\.5'/],
    [['--fast-dev-run', 'all'], /--fast-dev-run must be a positive integer, got 'all'/],
    // The checkpoint does not exist: the conflict is reported, not the missing file.
    [['--fast-dev-run', '--resume', 'missing.ckpt'], /--fast-dev-run cannot be combined with --resume: a fast dev run starts afresh/],
    [['--resume', 'missing.ckpt', '--fast-dev-run', '2'], /--fast-dev-run cannot be combined with --resume/],
    [['--fast-dev-run', '--overfit-batches', '2'], /--fast-dev-run cannot be combined with --overfit-batches/],
    [['--limit-train-batches', '5', '--fast-dev-run'], /--fast-dev-run cannot be combined with --limit-train-batches/],
    [['--fast-dev-run', '2', '--limit-val-batches', '1'], /--fast-dev-run cannot be combined with --limit-val-batches/],
  ];
  for (const [args, message] of cases) {
    const { r, left } = runInEmptyDir(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.deepEqual(left, ['work'], args.join(' '));
  }
  const help = spawnSync(process.execPath, [cli, 'train', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /\[--fast-dev-run \[N\]\]/);
  assert.match(help.stdout, /--fast-dev-run \[N\] smoke-tests the whole pipeline/);
});

test('parseFlags: a flag with a bare value takes it when no value follows', () => {
  const flags = { '--n': { key: 'n', kind: 'positive-int' as const, bare: 1 }, '--json': { key: 'json', kind: 'bool' as const } };
  assert.deepEqual(parseFlags(['--n'], flags), { n: 1 });
  assert.deepEqual(parseFlags(['--n', '--json'], flags), { n: 1, json: true });
  assert.deepEqual(parseFlags(['--n', '4', '--json'], flags), { n: 4, json: true });
  assert.throws(() => parseFlags(['--n', '-2'], flags), (e: unknown) => e instanceof UsageError && /--n must be a positive integer, got '-2'/.test(e.message));
  // Without a bare value the flag still needs one.
  assert.throws(() => parseFlags(['--n'], { '--n': { key: 'n', kind: 'positive-int' } }), /--n needs a value/);
});
