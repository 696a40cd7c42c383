import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cuda, ncclAvailable } from '../src/torch/index.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

test('orthogonium --version prints the package version', () => {
  const r = run('--version');
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('orthogonium doctor --json reports libtorch, BLAS and a real matmul speed', () => {
  const r = run('doctor', '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.match(report.libtorch, /^\d+\.\d+/);
  assert.ok(report.threads >= 1);
  assert.equal(typeof report.cuda.available, 'boolean');
  assert.equal(report.cuda.built, cuda.isBuilt(), 'the command reports whether libtorch has CUDA');
  assert.equal(report.cuda.nccl, ncclAvailable(), 'the command reports whether the addon has NCCL');
  assert.ok(report.matmul2048Gflops > 0);
  // With OpenBLAS active (the setup installs it) a 2048² matmul is far above the reference BLAS's ~5 GFLOP/s.
  if (report.blas.startsWith('OpenBLAS')) assert.ok(report.matmul2048Gflops > 15, `${report.matmul2048Gflops} GFLOP/s`);
});

test('unknown commands and options exit with code 2 and say what was wrong', () => {
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  const o = run('doctor', '--bogus');
  assert.equal(o.status, 2);
  assert.match(o.stderr, /unknown option --bogus/);
});

test('orthogonium summary --model prints the preset\'s table and --json its totals', async () => {
  const { buildPreset } = await import('../src/models/index.js');
  const model = buildPreset('fmnist-small');
  const expected = model.numParameters();
  const table = run('summary', '--model', 'fmnist-small');
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /Layer \(type:depth-idx\)/);
  assert.match(table.stdout, new RegExp(`Total params \\(raw\\): ${expected.toLocaleString('en-US')}`));
  const json = run('summary', '--model', 'fmnist-small', '--json');
  assert.equal(JSON.parse(json.stdout).totals.totalParams, expected);
  const bad = run('summary', '--model', 'nope');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown model preset 'nope'/);
  assert.equal(run('summary', '--input-size', '3,x,2', '--model', 'fmnist-small').status, 2);
});
