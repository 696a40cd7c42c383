// log() with metric objects, as the seed logs torchmetrics (self.log("accuracy",
// self.train_acc)): the batch value per step, compute() per epoch, then a reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import type { Batch } from '../src/data/index.js';
import { Accuracy, LossXent, MeanMetric, vra } from '../src/losses/index.js';
import { ClassificationModule, Trainer } from '../src/train/index.js';
import { captureOutput, tinyData, tinyModel, TINY_STD } from './helpers/tiny-training.js';

/** The seed's module shape: metric objects updated per batch and logged as objects. */
class SeedStyleModule extends ClassificationModule {
  readonly trainAcc = new Accuracy({ numClasses: 3 });
  readonly valVra = new MeanMetric();
  stepValues: number[] = [];

  override trainingStep(batch: Batch): torch.Tensor {
    const loss = super.trainingStep(batch);
    torch.noGrad(() => torch.scope(() => this.trainAcc.update(this.forward(batch.x), batch.y)));
    this.stepValues.push(this.trainAcc.batchValue);
    this.log('acc_metric', this.trainAcc, { onStep: true, onEpoch: true });
    return loss;
  }

  override validationStep(batch: Batch): void {
    super.validationStep(batch);
    torch.noGrad(() => torch.scope(() => {
      const logits = this.forward(batch.x);
      this.valVra.update(vra(logits, batch.y, { eps: this.eps, lipschitz: this.lipschitz, lastLayer: this.lastLayer }), batch.y.shape[0]);
    }));
    this.log('val_vra_metric', this.valVra);
  }
}

test('metric objects logged like the seed: epoch values are compute() over the epoch, step values the batch, then reset', async () => {
  torch.manualSeed(0);
  const module = new SeedStyleModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
  const trainer = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false, enableModelSummary: false, logEveryNSteps: 1 });
  const r = await trainer.fit(module, tinyData());
  // The validation VRA as a MeanMetric weighted by batch size equals the module's own batch-weighted val_vra.
  assert.ok(Math.abs(r.metrics.val_vra_metric - r.metrics.val_vra) < 1e-12, `${r.metrics.val_vra_metric} vs ${r.metrics.val_vra}`);
  // The training accuracy object measured after each step's update: a real accuracy of the epoch's 192 samples.
  const epochAcc = r.metrics.acc_metric_epoch ?? r.metrics.acc_metric;
  assert.ok(epochAcc > 0 && epochAcc <= 1 && Number.isInteger(Math.round(epochAcc * 192 * 1e6) / 1e6), `epoch accuracy ${epochAcc}`);
  const lastEpoch = module.stepValues.slice(-6);  // 192 samples in batches of 32
  const mean = lastEpoch.reduce((a, b) => a + b, 0) / lastEpoch.length;
  assert.ok(Math.abs(epochAcc - mean) < 1e-12, `equal batches: the epoch value ${epochAcc} is the mean of the batch values ${mean}`);
  assert.equal(module.trainAcc.count, 0, 'reset after the epoch');
  assert.equal(module.valVra.totalWeight, 0, 'reset after validation');
  assert.throws(() => module.log('bad', {} as never), /expected a number, a one-element tensor or a metric/);
});
