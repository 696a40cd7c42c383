// The Trainer with strategy 'ddp': two processes (c10d gloo on loopback), each
// training on its half of every batch with gradients averaged, end with the
// weights one process gets on the whole batch; a Ctrl-C seen by one rank stops
// both at the same step; `orthogonium train --devices 2` runs a whole job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { LossXent } from '../src/losses/index.js';
import { SGD } from '../src/optim/index.js';
import { launch } from '../src/distributed/index.js';
import { ClassificationModule, Trainer } from '../src/train/index.js';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { TINY_STD, captureOutput, linearModel, tinyData, tinyModel } from './helpers/tiny-training.js';

const script = fileURLToPath(new URL('./helpers/ddp-fit.js', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const quiet = { write: () => true };

for (const manual of [false, true]) {
  test(`2 data-parallel processes at batch 16 each train to the weights of 1 process at batch 32${manual ? ' (manual optimization: manualBackward averages)' : ''}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ortho-ddp-'));
    try {
      await launch({ nprocs: 2, script, args: [join(dir, 'w.pt'), join(dir, 'm.json'), '16'], env: manual ? { DDP_MANUAL: '1' } : {}, stdout: quiet });
      const parallel = torch.load(join(dir, 'w.pt')) as Map<string, Tensor>;
      const metrics = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));

      torch.manualSeed(100); // rank 0's initial weights
      const module = new ClassificationModule({
        model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05,
        optimizer: (parameters) => ({ optimizer: new SGD(parameters, { lr: 0.05, momentum: 0.9 }) }),
      });
      const trainer = new Trainer({ maxEpochs: 2, enableProgressBar: false, output: captureOutput() });
      const single = await trainer.fit(module, tinyData({ batchSize: 32 }));
      assert.equal(metrics.globalStep, single.globalStep, 'the same number of optimizer steps');
      let worst = 0;
      for (const [k, t] of module.model.stateDict()) worst = Math.max(worst, t.sub(parallel.get(k)!).abs().max().item());
      // float32: the all-reduce sums the two half-batch gradients in another order than one batch's mean.
      assert.ok(worst < 1e-4, `largest weight difference ${worst}`);
      assert.ok(Math.abs(metrics.metrics.val_accuracy - single.metrics.val_accuracy) < 1e-9, 'validation metrics are reduced over the ranks');
      assert.ok(Math.abs(metrics.metrics.loss - single.metrics.loss) < 1e-4, `train loss ${metrics.metrics.loss} vs ${single.metrics.loss}`);
      trainer.dispose();
      module.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('manual optimization under ddp: two networks with BatchNorm, two manualBackward per step, stay identical on both ranks', async () => {
  let text = '';
  const sink = { write: (t: string) => { text += t; return true; } };
  const gan = fileURLToPath(new URL('./helpers/ddp-gan.js', import.meta.url));
  await launch({ nprocs: 2, script: gan, args: [], stdout: sink, stderr: sink });
  const ranks: { globalStep: number; weights: Record<string, number[]>; gathered: number[][] }[] = [];
  for (const m of text.matchAll(/^\[rank (\d+)\] WEIGHTS (.*)$/gm)) ranks[Number(m[1])] = JSON.parse(m[2]);
  assert.equal(ranks.filter(Boolean).length, 2, text);
  for (const r of ranks) assert.deepEqual(r.gathered, [[0, 10], [1, 11]], 'allGather: [worldSize, ...shape] on every rank');
  assert.equal(ranks[0].globalStep, 2 * 2 * 6, 'two optimizer steps per batch, 6 batches of 16 per rank (192 samples), 2 epochs');
  const names = Object.keys(ranks[0].weights);
  assert.ok(names.some((n) => n.includes('running_mean')), `the networks hold BatchNorm layers: ${names}`);
  // Both backward passes averaged the gradients, so every rank took the same steps. (The BatchNorm statistics are
  // each rank's own after its last batch: rank 0's are broadcast only before a step's first forward.)
  for (const name of names.filter((n) => !n.includes('running') && !n.includes('num_batches'))) {
    const worst = Math.max(...ranks[0].weights[name].map((v, i) => Math.abs(v - ranks[1].weights[name][i])));
    assert.ok(worst < 1e-6, `${name}: ranks differ by ${worst}`);
  }
});

test('BackboneFinetuning under ddp: the backbone unfrozen at epoch 1 trains on averaged gradients (the DDP wrapper follows it)', async () => {
  let text = '';
  const sink = { write: (t: string) => { text += t; return true; } };
  const script = fileURLToPath(new URL('./helpers/ddp-finetune.js', import.meta.url));
  await launch({ nprocs: 2, script, args: [], stdout: sink, stderr: sink });
  const ranks: { weights: Record<string, number[]>; backboneAtEpoch1: number[] }[] = [];
  for (const m of text.matchAll(/^\[rank (\d+)\] WEIGHTS (.*)$/gm)) ranks[Number(m[1])] = JSON.parse(m[2]);
  assert.equal(ranks.filter(Boolean).length, 2, text);
  assert.match(text, /the trainable parameters changed \(2 → 4 tensors\): DistributedDataParallel rebuilt over them/);
  const moved = Math.max(...ranks[0].weights['backbone.0.weight'].map((v, i) => Math.abs(v - ranks[0].backboneAtEpoch1[i])));
  assert.ok(moved > 1e-4, `the backbone trained after its unfreezing (moved ${moved})`);
  for (const name of Object.keys(ranks[0].weights)) {
    const worst = Math.max(...ranks[0].weights[name].map((v, i) => Math.abs(v - ranks[1].weights[name][i])));
    assert.ok(worst < 1e-6, `${name}: ranks differ by ${worst}`);
  }
});

test('accumulateGradBatches 2 under ddp (no_sync until the window\'s last batch): 2 ranks at batch 8 = 1 process at batch 32', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-ddp-acc-'));
  try {
    await launch({ nprocs: 2, script, args: [join(dir, 'w.pt'), join(dir, 'm.json'), '8'], env: { DDP_ACCUMULATE: '2' }, stdout: quiet });
    const parallel = torch.load(join(dir, 'w.pt')) as Map<string, Tensor>;
    const metrics = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    torch.manualSeed(100);
    const module = new ClassificationModule({
      model: linearModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lastLayer: 'global',
      optimizer: (parameters) => ({ optimizer: new SGD(parameters, { lr: 0.05, momentum: 0.9 }) }),
    });
    const single = await new Trainer({ maxEpochs: 2, enableProgressBar: false, output: captureOutput() }).fit(module, tinyData({ batchSize: 32 }));
    assert.equal(metrics.globalStep, single.globalStep, 'one optimizer step per window of 2 batches');
    let worst = 0;
    for (const [k, t] of module.model.stateDict()) worst = Math.max(worst, t.sub(parallel.get(k)!).abs().max().item());
    assert.ok(worst < 1e-4, `largest weight difference ${worst}`);
    module.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a LearningRateFinder under ddp: the ranks run the range test in step, agree on the rate and stay identical', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-ddp-lr-'));
  try {
    let text = '';
    const sink = { write: (t: string) => { text += t; return true; } };
    await launch({ nprocs: 2, script, args: [join(dir, 'w.pt'), join(dir, 'm.json'), '16'], env: { DDP_LR_FIND: '1' }, stdout: sink, stderr: sink });
    const ranks: { suggestion: number; steps: number; lr: number; checksum: number }[] = [];
    for (const m of text.matchAll(/^\[rank (\d+)\] LRFIND (.*)$/gm)) ranks[Number(m[1])] = JSON.parse(m[2]);
    assert.equal(ranks.filter(Boolean).length, 2, text);
    assert.equal(ranks[0].steps, ranks[1].steps, 'the same number of range-test steps');
    assert.equal(ranks[0].suggestion, ranks[1].suggestion, 'the losses were averaged over the ranks before suggesting');
    assert.ok(ranks[0].suggestion > 1e-8 && ranks[0].suggestion < 0.5, `suggestion ${ranks[0].suggestion}`);
    assert.deepEqual([ranks[0].lr, ranks[1].lr], [ranks[0].suggestion, ranks[0].suggestion]);
    assert.ok(Math.abs(ranks[0].checksum - ranks[1].checksum) < 1e-5, `weights differ between ranks: ${ranks[0].checksum} vs ${ranks[1].checksum}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an interrupt on one rank stops every rank at the same step, with one checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-ddp-int-'));
  try {
    await launch({ nprocs: 2, script, args: [join(dir, 'w.pt'), join(dir, 'm.json'), '16', '3'], stdout: quiet });
    const metrics = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    assert.equal(metrics.interrupted, true);
    assert.equal(metrics.globalStep, 3);
    assert.ok(existsSync(metrics.interruptedCheckpoint));
    rmSync(metrics.interruptedCheckpoint);
    try { rmdirSync(dirname(metrics.interruptedCheckpoint)); } catch { /* not empty: someone else's folder */ }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plain script with Trainer({ devices: 2, strategy: \'ddp\' }) starts the other rank itself and trains like launch()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-ddp-self-'));
  try {
    await launch({ nprocs: 2, script, args: [join(dir, 'launched.pt'), join(dir, 'launched.json'), '16'], stdout: quiet });
    const env: NodeJS.ProcessEnv = { ...process.env, DDP_DEVICES: '2' };
    for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT']) delete env[k];
    const run = spawnSync(process.execPath, [script, join(dir, 'self.pt'), join(dir, 'self.json'), '16'], { env, encoding: 'utf8', timeout: 120000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /started 1 more process running this script as ranks 1–1 \(world size 2\)/);
    const launched = torch.load(join(dir, 'launched.pt')) as Map<string, Tensor>;
    const self = torch.load(join(dir, 'self.pt')) as Map<string, Tensor>;
    assert.deepEqual([...self.keys()], [...launched.keys()]);
    // The same two ranks on the same shards: the same weights, whoever started them.
    for (const [k, t] of launched) assert.ok(t.equal(self.get(k)!), `${k} differs`);
    assert.equal(JSON.parse(readFileSync(join(dir, 'self.json'), 'utf8')).globalStep, JSON.parse(readFileSync(join(dir, 'launched.json'), 'utf8')).globalStep);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ddp Trainer with one device outside a launched process says how to start the ranks', () => {
  assert.throws(() => new Trainer({ strategy: 'ddp' }), /strategy 'ddp' with one device: give devices.*orthogonium launch --nproc N script.js/);
  assert.throws(() => new Trainer({ strategy: 'fsdp' as never, devices: 2 }), /strategy must be one of auto, ddp, ddp_spawn/);
  assert.throws(() => new Trainer({ devices: 0 }), /devices on the CPU must be a positive integer \(processes\) or 'auto', got 0/);
});

test('orthogonium train --devices 2 trains one job in two processes and writes one run folder', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-ddp-cli-'));
  try {
    const out = join(dir, 'run');
    const r = spawnSync(process.execPath, [cli, 'train', '--devices', '2', '--dataset', 'fashion-mnist', '--epochs', '1', '--batch-size', '32',
      '--limit-train-batches', '8', '--limit-val-batches', '1', '--no-progress', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\[rank 0\] .*VRA at ε = 36\/255/);
    assert.doesNotMatch(r.stdout, /\[rank 1\] epoch 1\/1/, 'only rank 0 reports');
    for (const f of ['model.ckpt', 'metrics.csv', 'checkpoints/last.ckpt', 'config.json']) assert.ok(existsSync(join(out, f)), f);
    const bad = spawnSync(process.execPath, [cli, 'train', '--strategy', 'ddp'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--strategy ddp needs --devices N/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
