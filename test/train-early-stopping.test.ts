// EarlyStopping's Lightning options: stoppingThreshold, divergenceThreshold,
// checkFinite and strict, each driven by a scripted validation metric.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { EarlyStopping, LightningModule, Trainer } from '../src/train/index.js';
import type { OptimizerConfig } from '../src/train/index.js';
import { captureOutput, tinyData } from './helpers/tiny-training.js';

/** Logs `score` = scores[validation index] while the script lasts. */
class Scripted extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  validations = -1;
  constructor(private readonly scores: number[]) { super(); }
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  override onValidationEpochStart(): void { this.validations++; }
  override validationStep(): void {
    if (this.validations < this.scores.length) this.log('score', this.scores[this.validations]);
  }
  configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: 0.01 }) }; }
}

async function fit(scores: number[], early: EarlyStopping, maxEpochs = 8) {
  torch.manualSeed(0);
  const output = captureOutput();
  const trainer = new Trainer({ numSanityValSteps: 0, output, enableProgressBar: false, enableModelSummary: false, accelerator: 'cpu', maxEpochs, logger: false, callbacks: [early] });
  const r = await trainer.fit(new Scripted(scores), tinyData({ train: 32, val: 16, batchSize: 32 }));
  return { r, text: output.text() };
}

test('stoppingThreshold stops once the metric is better than it (min and max)', async () => {
  const low = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 10, stoppingThreshold: 0.2 });
  const a = await fit([0.9, 0.5, 0.2, 0.19, 0.1, 0.05], low);
  assert.equal(a.r.epochs, 4); // 0.2 is not below 0.2; 0.19 at epoch 3 is
  assert.equal(low.stoppedEpoch, 3);
  assert.match(a.r.stopReason, /EarlyStopping: score = 0\.19 reached the stopping threshold < 0\.2/);
  const high = new EarlyStopping({ monitor: 'score', mode: 'max', patience: 10, stoppingThreshold: 0.8 });
  const b = await fit([0.1, 0.85, 0.9], high);
  assert.equal(b.r.epochs, 2);
  assert.match(b.r.stopReason, /score = 0\.85 reached the stopping threshold > 0\.8/);
});

test('divergenceThreshold stops once the metric is worse than it', async () => {
  const early = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 10, divergenceThreshold: 5 });
  const { r } = await fit([1, 4, 5, 6, 0.1], early);
  assert.equal(r.epochs, 4);
  assert.match(r.stopReason, /EarlyStopping: score = 6 diverged past the divergence threshold > 5/);
});

test('checkFinite: NaN stops at once by default; with false it counts as no improvement', async () => {
  const on = new EarlyStopping({ monitor: 'score', patience: 10 });
  const a = await fit([1, 0.5, NaN, 0.1], on);
  assert.equal(a.r.epochs, 3);
  assert.match(a.r.stopReason, /EarlyStopping: score = NaN is not finite/);
  const off = new EarlyStopping({ monitor: 'score', patience: 2, checkFinite: false });
  const b = await fit([1, 0.5, NaN, Infinity, 0.1], off);
  assert.equal(b.r.epochs, 4); // NaN and Infinity never improve: patience 2 runs out at epoch 3
  assert.equal(off.best, 0.5);
  assert.match(b.r.stopReason, /did not improve .* in the last 2 checks \(best 0\.5\)/);
});

test('strict: a metric never logged is an error by default; strict false warns and skips', async () => {
  await assert.rejects(fit([1, 0.5], new EarlyStopping({ monitor: 'val_acc', patience: 10 }), 3), /EarlyStopping: the monitored metric 'val_acc' was not logged; available: .*score/);
  const lax = new EarlyStopping({ monitor: 'val_acc', patience: 1, strict: false });
  const { r, text } = await fit([1, 0.5], lax, 3);
  assert.equal(r.epochs, 3); // every check skipped: patience 1 never runs out
  assert.equal(lax.wait, 0);
  assert.equal(lax.best, null);
  assert.equal(text.match(/warning: EarlyStopping skipped its check: the monitored metric 'val_acc' was not logged \(strict: false\)/g)?.length, 3);
});

test('EarlyStopping rejects bad options, naming them', () => {
  assert.throws(() => new EarlyStopping({ monitor: 'x', stoppingThreshold: 'a' as unknown as number }), /stoppingThreshold must be a number/);
  assert.throws(() => new EarlyStopping({ monitor: 'x', divergenceThreshold: NaN }), /divergenceThreshold must be a number/);
  assert.throws(() => new EarlyStopping({ monitor: 'x', strict: 1 as unknown as boolean }), /strict must be a boolean/);
  assert.throws(() => new EarlyStopping({ monitor: 'x', checkFinite: 'no' as unknown as boolean }), /checkFinite must be a boolean/);
});
