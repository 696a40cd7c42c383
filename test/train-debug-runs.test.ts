// Lightning's run-shaping Trainer options: the sanity check before training
// (numSanityValSteps), fastDevRun, overfitBatches, minEpochs / minSteps
// against early stop requests, maxTime (the Timer callback, resumed with its
// elapsed time), limitPredictBatches and reloadDataloadersEveryNEpochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { LossXent } from '../src/losses/index.js';
import type { Batch } from '../src/data/index.js';
import { Callback, ClassificationModule, EarlyStopping, ModelCheckpoint, Timer, Trainer, durationSeconds } from '../src/train/index.js';
import type { DataModuleLike, Loader, TrainerOptions } from '../src/train/index.js';
import { TINY_STD, captureOutput, tinyData, tinyModel } from './helpers/tiny-training.js';

const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, accelerator: 'cpu', ...o });

/** The seed's module (schedule-free AdamW, whose eval/train switch moves the weights). */
function tinyModule(seed = 0): ClassificationModule {
  torch.manualSeed(seed);
  return new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
}

function sameWeights(a: ClassificationModule, b: ClassificationModule): boolean {
  const other = b.stateDict();
  return [...a.stateDict()].every(([k, t]) => t.equal(other.get(k)!));
}

/** Records the validation and training batches the loop runs. */
class Counter extends Callback {
  sanity: string[] = [];
  validationBatches = 0;
  trainBatches = 0;
  validationEnds = 0;
  override onSanityCheckStart(trainer: Trainer): void { this.sanity.push(`start:${trainer.sanityChecking}`); }
  override onSanityCheckEnd(trainer: Trainer): void { this.sanity.push(`end:${this.validationBatches}:${trainer.globalStep}`); }
  override onValidationBatchEnd(): void { this.validationBatches++; }
  override onTrainBatchEnd(): void { this.trainBatches++; }
  override onValidationEnd(): void { this.validationEnds++; }
}

test('the sanity check runs numSanityValSteps validation batches before training, monitors nothing and leaves the weights and RNG exact', async () => {
  const counter = new Counter();
  const checked = tinyModule(1);
  const trainer = new Trainer(quiet({ maxEpochs: 2, callbacks: [counter] }));
  const r = await trainer.fit(checked, tinyData({ val: 144 }));
  assert.deepEqual(counter.sanity, ['start:true', 'end:2:0'], 'two of the three validation batches, before any step');
  assert.equal(counter.validationBatches, 2 + 2 * 3);
  assert.equal(counter.validationEnds, 2, 'no onValidationEnd (so no monitoring) for the sanity check');
  assert.equal(r.history.length, 2);
  assert.equal(trainer.sanityChecking, false);

  // The same fit without the check ends on bitwise the same weights: the eval/train switch was undone exactly.
  const unchecked = tinyModule(1);
  await new Trainer(quiet({ maxEpochs: 2, numSanityValSteps: 0 })).fit(unchecked, tinyData({ val: 144 }));
  assert.ok(sameWeights(checked, unchecked));

  const all = new Counter();
  await new Trainer(quiet({ maxEpochs: 1, numSanityValSteps: -1, limitTrainBatches: 1, callbacks: [all] })).fit(tinyModule(1), tinyData({ val: 144 }));
  assert.deepEqual(all.sanity, ['start:true', 'end:3:0'], '-1: every validation batch');
  assert.throws(() => new Trainer({ numSanityValSteps: -2 }), /numSanityValSteps must be a whole number ≥ 0 or -1/);
});

test('a broken validation step fails in the sanity check, before any training step', async () => {
  class BrokenValidation extends ClassificationModule {
    steps = 0;
    override trainingStep(batch: Batch): Tensor { this.steps++; return super.trainingStep(batch); }
    override validationStep(): void { throw new Error('validation bug'); }
  }
  torch.manualSeed(2);
  const module = new BrokenValidation({ model: tinyModel(), loss: new LossXent({ nClasses: 3 }), lipschitz: 1 / TINY_STD[0], eps: 0.05 });
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1 })).fit(module, tinyData()), /validation bug/);
  assert.equal(module.steps, 0);
});

test('fastDevRun runs N batches of every loop once and writes nothing: no checkpoint, log or early stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-fastdev-'));
  try {
    const counter = new Counter();
    const early = new EarlyStopping({ monitor: 'val_loss', patience: 0 });
    const output = captureOutput();
    const trainer = new Trainer({ output, enableProgressBar: false, accelerator: 'cpu', fastDevRun: 2, maxEpochs: 50, defaultRootDir: dir,
      callbacks: [counter, early, new ModelCheckpoint({ saveLast: true })] });
    const module = tinyModule(3);
    const r = await trainer.fit(module, tinyData({ val: 144 }));
    assert.equal(r.globalStep, 2);
    assert.equal(r.epochs, 1);
    assert.equal(counter.trainBatches, 2);
    assert.equal(counter.validationBatches, 2, 'two validation batches, and no sanity check');
    assert.deepEqual(counter.sanity, []);
    assert.equal(early.wait, 0, 'EarlyStopping did not check');
    assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('.')), [], 'no checkpoint, log or plot');
    assert.match(output.text(), /fastDevRun: 2 batches of each loop/);
    const predictions = await trainer.predict(module, (tinyData({ val: 144 }).valDataloader!())!);
    assert.equal(predictions.length, 2);
    assert.equal(new Trainer({ fastDevRun: true }).fastDevRun, 1);
    assert.throws(() => new Trainer({ fastDevRun: 1.5 }), /fastDevRun must be true, false or a positive number of batches/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overfitBatches trains and validates on the same first batches every epoch, the training loader unshuffled', async () => {
  const seen: number[][] = [];
  class Recording extends ClassificationModule {
    override trainingStep(batch: Batch): Tensor {
      seen.push(batch.x.sum([1, 2, 3]).toFlatArray().slice(0, 4));
      return super.trainingStep(batch);
    }
  }
  torch.manualSeed(4);
  const module = new Recording({ model: tinyModel(), loss: new LossXent({ nClasses: 3 }), lipschitz: 1 / TINY_STD[0], eps: 0.05 });
  const counter = new Counter();
  const output = captureOutput();
  await new Trainer({ output, enableProgressBar: false, accelerator: 'cpu', overfitBatches: 2, maxEpochs: 3, numSanityValSteps: 0, callbacks: [counter] })
    .fit(module, tinyData({ val: 144 }));
  assert.equal(seen.length, 6);
  assert.deepEqual(seen.slice(2, 4), seen.slice(0, 2), 'epoch 2 saw the batches of epoch 1');
  assert.deepEqual(seen.slice(4, 6), seen.slice(0, 2));
  assert.equal(counter.validationBatches, 3 * 2);
  assert.match(output.text(), /overfitBatches: the training loader shuffles; it runs unshuffled/);
});

test('minEpochs and minSteps put off a stop request (EarlyStopping) until they are reached', async () => {
  const early = () => new EarlyStopping({ monitor: 'val_loss', patience: 0, minDelta: 1e9 }); // never improves: stops at the 2nd check
  const output = captureOutput();
  const r = await new Trainer({ output, enableProgressBar: false, accelerator: 'cpu', maxEpochs: 10, minEpochs: 4, numSanityValSteps: 0, callbacks: [early()] })
    .fit(tinyModule(5), tinyData());
  assert.equal(r.epochs, 4);
  assert.match(r.stopReason, /EarlyStopping/);
  assert.match(output.text(), /asked to stop \(EarlyStopping.*\), but minEpochs=4 \/ minSteps=0 are not reached: training continues/);
  const bySteps = await new Trainer(quiet({ maxEpochs: 10, minSteps: 20, numSanityValSteps: 0, callbacks: [early()] })).fit(tinyModule(5), tinyData());
  assert.equal(bySteps.epochs, 4, '6 steps per epoch: the stop waits for step 20, in epoch 4, and ends there');
  assert.ok(bySteps.globalStep >= 20 && bySteps.globalStep <= 24, `global step ${bySteps.globalStep}`);
  const unbounded = await new Trainer(quiet({ maxEpochs: 10, numSanityValSteps: 0, callbacks: [early()] })).fit(tinyModule(5), tinyData());
  assert.equal(unbounded.epochs, 2, 'without a minimum the request stops at once');
  assert.throws(() => new Trainer({ minEpochs: -1 }), /minEpochs must be a whole number ≥ 0/);
});

test('maxTime stops training once the time is up; the Timer reports the time and a resumed run counts the earlier time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-timer-'));
  try {
    class Slow extends Callback {
      override onTrainBatchEnd(): void { const end = Date.now() + 30; while (Date.now() < end); }
    }
    const trainer = new Trainer(quiet({ maxEpochs: 5, maxTime: { seconds: 0.1 }, numSanityValSteps: 0, callbacks: [new Slow()] }));
    const r = await trainer.fit(tinyModule(6), tinyData());
    const timer = trainer.callbacks.find((c) => c instanceof Timer) as Timer;
    // Each batch takes ≥ 30 ms, so 0.1 s is up after at most 4 of the 30 batches; the bound leaves room for a loaded machine.
    assert.ok(r.globalStep >= 1 && r.globalStep <= 4, `stopped after ≤ 4 batches of ≥ 30 ms (step ${r.globalStep})`);
    assert.equal(r.epochs, 1, 'the epoch cut short still ends');
    assert.match(r.stopReason, /Timer: the time limit of 00:00:00:00 is reached/);
    assert.ok(timer.timeElapsed('train') >= 0.1);
    assert.ok(timer.timeRemaining('train') <= 0);

    // A Timer without a limit measures; its elapsed time is saved in checkpoints and resumes from there.
    const measuring = new Timer();
    const first = new Trainer(quiet({ maxEpochs: 1, numSanityValSteps: 0, callbacks: [measuring, new Slow()] }));
    await first.fit(tinyModule(7), tinyData());
    const firstTime = measuring.timeElapsed('train');
    const path = join(dir, 'one.ckpt');
    await first.saveCheckpoint(path);
    const resumedTimer = new Timer();
    await new Trainer(quiet({ maxEpochs: 2, numSanityValSteps: 0, callbacks: [resumedTimer] })).fit(tinyModule(7), tinyData(), { ckptPath: path });
    assert.ok(resumedTimer.timeElapsed('train') > firstTime, `${resumedTimer.timeElapsed('train')} s counts the first run's ${firstTime} s`);

    assert.equal(durationSeconds('01:02:03:04', 'test'), ((24 + 2) * 60 + 3) * 60 + 4);
    assert.equal(durationSeconds({ hours: 1, minutes: 30 }, 'test'), 5400);
    assert.throws(() => new Trainer({ maxTime: '12:00' }), /a duration string must be "DD:HH:MM:SS"/);
    assert.throws(() => new Timer({ duration: { weeks: 1 } as never }), /unknown duration field\(s\) weeks/);
    assert.throws(() => new Timer({ duration: 0 }), /must be a positive time/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('limitPredictBatches, and reloadDataloadersEveryNEpochs asks the data module for new loaders every N epochs', async () => {
  const module = tinyModule(8);
  const trainer = new Trainer(quiet({ maxEpochs: 5, numSanityValSteps: 0, limitPredictBatches: 1, reloadDataloadersEveryNEpochs: 2 }));
  const data = tinyData({ val: 144 });
  let made = 0;
  let closed = 0;
  const counted = (make: () => Loader): (() => Loader) => () => {
    made++;
    const loader = make();
    const close = loader.close?.bind(loader);
    return Object.assign(loader, { close: async () => { closed++; await close?.(); } });
  };
  const reloading: DataModuleLike = { ...data, trainDataloader: counted(data.trainDataloader) };
  await trainer.fit(module, reloading);
  assert.equal(made, 3, 'loaded for epochs 1, 3 and 5');
  assert.equal(closed, 3, 'every loader closed');
  const predictions = await trainer.predict(module, data.valDataloader!()!);
  assert.equal(predictions.length, 1);
  assert.throws(() => new Trainer({ reloadDataloadersEveryNEpochs: 0.5 }), /reloadDataloadersEveryNEpochs must be a whole number ≥ 0/);
  assert.ok(!existsSync(join(tmpdir(), 'never')));
});
