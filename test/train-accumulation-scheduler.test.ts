// GradientAccumulationScheduler: the accumulation factor by epoch, set at
// each epoch's start (also in a resumed run), and refused where automatic
// accumulation cannot apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { LossXent } from '../src/losses/index.js';
import { Callback, ClassificationModule, GradientAccumulationScheduler, ModelCheckpoint, Trainer } from '../src/train/index.js';
import type { TrainerOptions } from '../src/train/index.js';
import { TINY_STD, captureOutput, tinyData, tinyModel } from './helpers/tiny-training.js';

const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, accelerator: 'cpu', numSanityValSteps: 0, ...o });

function tinyModule(seed = 0): ClassificationModule {
  torch.manualSeed(seed);
  return new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
}

/** Optimizer steps per epoch. */
class Steps extends Callback {
  steps: number[] = [];
  override onTrainEpochStart(): void { this.steps.push(0); }
  override onBeforeOptimizerStep(): void { this.steps[this.steps.length - 1]++; }
}

test('the factor follows the schedule epoch by epoch (6 batches: 6, 3, 2 steps), and a resumed run takes its epoch\'s factor', async () => {
  const schedule = () => new GradientAccumulationScheduler({ 1: 2, 2: 3 });
  const steps = new Steps();
  const trainer = new Trainer(quiet({ maxEpochs: 3, callbacks: [schedule(), steps] }));
  const whole = tinyModule(1);
  const r = await trainer.fit(whole, tinyData());
  assert.deepEqual(steps.steps, [6, 3, 2]);
  assert.equal(r.globalStep, 11);
  assert.equal(trainer.accumulateGradBatches, 3);
  assert.equal(schedule().factorAt(0), 1, 'epoch 0 defaults to 1');

  const dir = mkdtempSync(join(tmpdir(), 'ortho-accsched-'));
  try {
    // The checkpoint written at epoch 2's end, in training mode (after fit the schedule-free weights are the averaged ones).
    const first = new Trainer(quiet({ maxEpochs: 2, defaultRootDir: dir, logger: false, callbacks: [schedule(), new ModelCheckpoint({ saveLast: true })] }));
    await first.fit(tinyModule(1), tinyData());
    const path = join(dir, 'checkpoints', 'last.ckpt');
    const resumedSteps = new Steps();
    const resumed = tinyModule(5);
    const again = await new Trainer(quiet({ maxEpochs: 3, callbacks: [schedule(), resumedSteps] })).fit(resumed, tinyData(), { ckptPath: path });
    assert.deepEqual(resumedSteps.steps, [2]);
    assert.equal(again.globalStep, 11);
    const reference = whole.stateDict();
    for (const [k, t] of resumed.stateDict()) assert.ok(t.equal(reference.get(k)!), `${k}: the resumed run ends on the uninterrupted run's weights`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GradientAccumulationScheduler refuses bad schedules, a Trainer accumulateGradBatches, and manual optimization', async () => {
  assert.throws(() => new GradientAccumulationScheduler({}), /non-empty \{ epoch: factor \} object/);
  assert.throws(() => new GradientAccumulationScheduler({ 0: 0 }), /the factor of epoch 0 must be a positive integer/);
  assert.throws(() => new GradientAccumulationScheduler({ [-1]: 2 } as never), /epochs must be whole numbers ≥ 0/);
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, accumulateGradBatches: 2, callbacks: [new GradientAccumulationScheduler({ 0: 4 })] })).fit(tinyModule(), tinyData()),
    /already has accumulateGradBatches 2; use one or the other/);
  class Manual extends ClassificationModule { override automaticOptimization = false; }
  torch.manualSeed(0);
  const manual = new Manual({ model: tinyModel(), loss: new LossXent({ nClasses: 3 }), lipschitz: 1 / TINY_STD[0], eps: 0.05 });
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, callbacks: [new GradientAccumulationScheduler({ 0: 4 })] })).fit(manual, tinyData()),
    /not supported with manual optimization/);
  assert.throws(() => { new Trainer().accumulateGradBatches = 0; }, /accumulateGradBatches must be a positive integer, got 0/);
});
