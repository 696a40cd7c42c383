// The StochasticWeightAveraging callback in the Trainer, in float64: the
// module ends the fit with the equal-weight (or custom) average of the
// weights each epoch from swaEpochStart on started from (Lightning's timing),
// the lr follows SWALR after the configured scheduler, BatchNorm statistics
// are recomputed for the averaged weights over the training data, an early
// stop leaves the trained weights, and interrupted runs (before SWA, at and
// after its start, mid-epoch and at epoch ends, with a ReduceLROnPlateau as
// the configured scheduler) resume to the very weights of a straight run.
// Also the options' errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { BatchNorm1d, Linear, Module, ReLU, Sequential } from '../src/nn/index.js';
import { ReduceLROnPlateau, SGD, StepLR, SWALR, updateBn } from '../src/optim/index.js';
import type { AvgFn } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { DataLoader } from '../src/data/index.js';
import { Callback, LightningModule, ModelCheckpoint, StochasticWeightAveraging, Trainer } from '../src/train/index.js';
import type { OptimizerConfig, TrainerOptions } from '../src/train/index.js';
import { assertClose } from './helpers/gradcheck.js';
import { captureOutput, tinyData } from './helpers/tiny-training.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));
const quiet = (o: TrainerOptions = {}): TrainerOptions => ({
  accelerator: 'cpu', precision: '64-true', output: captureOutput(), enableProgressBar: false, enableModelSummary: false, logger: false, ...o,
});

type MakeOptimizers = (m: Net) => OptimizerConfig;
const sgd: MakeOptimizers = (m) => ({ optimizer: new SGD(m.parameters(), { lr: 0.1, momentum: 0.5 }) });

/** A small regression of the class index on the flattened 8×8 image; with `batchNorm`, a hidden layer with BatchNorm. */
class Net extends LightningModule {
  readonly net: Sequential;
  constructor(private readonly makeOptimizers: MakeOptimizers = sgd, batchNorm = false) {
    super();
    this.net = this.registerModule('net', batchNorm
      ? new Sequential(new Linear(64, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 3))
      : new Sequential(new Linear(64, 3)));
  }
  forward(x: Tensor): Tensor { return this.net.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor {
    const loss = this.forward(batch.x).sub(batch.y.to(batch.x.dtype).unsqueeze(1)).square().mean();
    this.log('loss', loss.item(), { onEpoch: true });
    return loss;
  }
  configureOptimizers(): OptimizerConfig { return this.makeOptimizers(this); }
}

function net(seed: number, makeOptimizers?: MakeOptimizers, batchNorm = false): Net {
  torch.manualSeed(seed);
  return new Net(makeOptimizers, batchNorm);
}

const weightsOf = (m: Module): number[][] => m.parameters().map((p) => p.toFlatArray());

/** Records, at each epoch's start, the lr and the weights the epoch starts from, and at each end the weights. */
class Recorder extends Callback {
  startLrs: number[] = [];
  startWeights: number[][][] = [];
  endWeights: number[][][] = [];
  override onTrainEpochStart(trainer: Trainer, module: LightningModule): void {
    this.startLrs[trainer.currentEpoch] = trainer.optimizer!.paramGroups[0].lr;
    this.startWeights[trainer.currentEpoch] = weightsOf(module);
  }
  override onTrainEpochEnd(trainer: Trainer, module: LightningModule): void {
    this.endWeights[trainer.currentEpoch] = weightsOf(module);
  }
}

/** Running average of the recorded epoch-start weights from `first` to `last` with `fold` (number arithmetic, float64). */
function foldWeights(snapshots: number[][][], first: number, last: number, fold: (avg: number, w: number, n: number) => number): number[][] {
  let avg = snapshots[first].map((w) => [...w]);
  for (let e = first + 1; e <= last; e++) avg = avg.map((row, i) => row.map((a, j) => fold(a, snapshots[e][i][j], e - first)));
  return avg;
}

test('the fit ends on the equal average of the weights each epoch from swaEpochStart starts from; the lr follows SWALR after StepLR', async () => {
  const recorder = new Recorder();
  const swa = new StochasticWeightAveraging({ swaLrs: 0.02, swaEpochStart: 3, annealingEpochs: 2 });
  const out = captureOutput();
  const trainer = new Trainer(quiet({ maxEpochs: 6, output: out, callbacks: [recorder, swa] }));
  const module = net(0, (m) => {
    const optimizer = new SGD(m.parameters(), { lr: 0.1 });
    return { optimizer, lrScheduler: new StepLR(optimizer, { stepSize: 1, gamma: 0.5 }) };
  });
  await trainer.fit(module, tinyData());
  assert.equal(swa.swaStart, 2, 'epoch 3 (1-based) is epoch 2');
  assert.equal(swa.nAveraged, 4, 'epochs 2–5 started from weights that were averaged');
  const mean = foldWeights(recorder.startWeights, 2, 5, (a, w, n) => a + (w - a) / (n + 1));
  weightsOf(module).forEach((row, i) => assertClose(row, mean[i], { atol: 1e-14, rtol: 1e-12 }, `parameter ${i}`));
  assert.notDeepEqual(weightsOf(module), recorder.endWeights[5], 'the trained weights were replaced');
  // StepLR halves the lr at each epoch's end until SWA starts (epoch 2); SWALR then anneals to 0.02 over 2 epochs (cos: half way after one).
  assertClose(recorder.startLrs, [0.1, 0.05, 0.025, 0.5 * 0.02 + 0.5 * 0.025, 0.02, 0.02], { atol: 1e-17, rtol: 1e-14 }, 'lrs');
  assert.ok(trainer.lrSchedulerConfigs[0].scheduler instanceof SWALR);
  assert.equal(trainer.scheduler, swa.swaScheduler);
  assert.equal(trainer.lrSchedulerConfigs[0].interval, 'epoch');
  assert.match(out.text(), /StochasticWeightAveraging: swapping scheduler StepLR for SWALR/);
  assert.equal(swa.averagedParameters!.get('net.0.weight')!.device, 'cpu');
  trainer.dispose();
});

test('a custom avgFn (an EMA) and a fractional swaEpochStart without a configured scheduler', async () => {
  const recorder = new Recorder();
  const ema: AvgFn = (a, m) => a.mul(0.5).add(m.mul(0.5));
  const swa = new StochasticWeightAveraging({ swaLrs: 0.05, swaEpochStart: 0.5, annealingEpochs: 1, annealingStrategy: 'linear', avgFn: ema, device: null });
  const trainer = new Trainer(quiet({ maxEpochs: 5, callbacks: [recorder, swa] }));
  const module = net(1);
  await trainer.fit(module, tinyData());
  assert.equal(swa.swaStart, 1, 'trunc(0.5 × 5) = 2 (1-based) → epoch 1');
  const expected = foldWeights(recorder.startWeights, 1, 4, (a, w) => a * 0.5 + w * 0.5);
  weightsOf(module).forEach((row, i) => assertClose(row, expected[i], { atol: 1e-14, rtol: 1e-12 }, `parameter ${i}`));
  // No scheduler configured: SWALR is added; linear over 1 epoch reaches 0.05 after epoch 1.
  assert.deepEqual(recorder.startLrs, [0.1, 0.1, 0.05, 0.05, 0.05]);
  assert.equal(trainer.lrSchedulerConfigs.length, 1);
  trainer.dispose();
});

test('with BatchNorm, the statistics are recomputed for the averaged weights over the training data (updateBn), momentum kept', async () => {
  const recorder = new Recorder();
  const swa = new StochasticWeightAveraging({ swaLrs: 0.02, swaEpochStart: 2, annealingEpochs: 1 });
  const out = captureOutput();
  const data = tinyData();
  const trainer = new Trainer(quiet({ maxEpochs: 4, output: out, callbacks: [recorder, swa] }));
  const module = net(2, sgd, true);
  await trainer.fit(module, data);
  const mean = foldWeights(recorder.startWeights, 1, 3, (a, w, n) => a + (w - a) / (n + 1));
  weightsOf(module).forEach((row, i) => assertClose(row, mean[i], { atol: 1e-14, rtol: 1e-12 }, `parameter ${i}`));
  const bn = module.net.at(1) as BatchNorm1d;
  assert.equal(bn.momentum, 0.1);
  assert.equal(module.training, false, 'eval mode after fit, as always');
  assert.equal(bn.numBatchesTracked!.item(), 6, 'one cumulative pass over the 6 training batches');
  assert.match(out.text(), /recomputed the BatchNorm statistics/);
  const stats = [bn.runningMean!.toFlatArray(), bn.runningVar!.toFlatArray()];

  // The same pass by hand: the loader at the epoch after the last, inputs in float64 as the Trainer gives them.
  const loader = data.trainDataloader() as DataLoader;
  loader.resumeAt(4);
  async function* inputs(): AsyncGenerator<Tensor> {
    for await (const batch of loader) {
      yield torch.keep(batch.x.to('float64'));
      batch.x.dispose();
      batch.y.dispose();
    }
  }
  await updateBn(inputs(), module);
  assert.deepEqual([bn.runningMean!.toFlatArray(), bn.runningVar!.toFlatArray()], stats);
  trainer.dispose();
});

test('an early stop before the last epoch leaves the trained weights, as Lightning', async () => {
  class StopAt extends Callback {
    override onTrainEpochEnd(trainer: Trainer): void { if (trainer.currentEpoch === 3) trainer.requestStop('test stop'); }
  }
  const recorder = new Recorder();
  const swa = new StochasticWeightAveraging({ swaLrs: 0.02, swaEpochStart: 2 });
  const module = net(3);
  const r = await new Trainer(quiet({ maxEpochs: 6, callbacks: [recorder, swa, new StopAt()] })).fit(module, tinyData());
  assert.equal(r.stopReason, 'test stop');
  assert.deepEqual(weightsOf(module), recorder.endWeights[3]);
  assert.equal(swa.nAveraged, 3);
});

class InterruptAt extends Callback {
  constructor(private readonly epoch: number, private readonly batch: number) { super(); }
  override onTrainBatchEnd(trainer: Trainer, _m: LightningModule, _loss: number, batchIndex: number): void {
    if (trainer.currentEpoch === this.epoch && batchIndex === this.batch) trainer.interrupt();
  }
}

test('interrupted runs resume to the weights of a straight run: before SWA, at its start, mid-epoch and at epoch ends (ReduceLROnPlateau configured)', async () => {
  const dir = tempDir('swa-resume');
  // A plateau scheduler that halves the lr every epoch before SWA (mode 'max' on a falling loss): its state matters before the swap.
  const plateau: MakeOptimizers = (m) => {
    const optimizer = new SGD(m.parameters(), { lr: 0.1, momentum: 0.5 });
    return { optimizer, lrScheduler: { scheduler: new ReduceLROnPlateau(optimizer, { mode: 'max', patience: 0, factor: 0.5 }), monitor: 'loss' } };
  };
  const swaOptions = { swaLrs: 0.03, swaEpochStart: 0.5, annealingEpochs: 3 };
  try {
    const recorder = new Recorder();
    const straight = net(4, plateau);
    const straightSwa = new StochasticWeightAveraging(swaOptions);
    await new Trainer(quiet({ maxEpochs: 6, callbacks: [recorder, straightSwa] })).fit(straight, tinyData());
    assert.deepEqual(recorder.startLrs.slice(0, 3), [0.1, 0.1, 0.05], 'the plateau scheduler ran before SWA (its first step sets the best value)');
    const want = weightsOf(straight);

    // 6 batches per epoch: batch 5 ends an epoch (the checkpoint resumes at the next one's start).
    for (const [epoch, batch] of [[1, 5], [2, 0], [2, 5], [3, 2], [5, 4]]) {
      const first = net(4, plateau);
      const stopped = await new Trainer(quiet({ maxEpochs: 6, defaultRootDir: join(dir, `${epoch}-${batch}`), callbacks: [new StochasticWeightAveraging(swaOptions), new InterruptAt(epoch, batch)] }))
        .fit(first, tinyData());
      assert.equal(stopped.interrupted, true, `${epoch}/${batch}`);
      const resumedSwa = new StochasticWeightAveraging(swaOptions);
      const resumedRecorder = new Recorder();
      const resumed = net(99, plateau);
      const lastDir = join(dir, `${epoch}-${batch}-resumed`);
      const trainer = new Trainer(quiet({ maxEpochs: 6, defaultRootDir: lastDir, callbacks: [resumedRecorder, resumedSwa, new ModelCheckpoint({ saveLast: true })] }));
      await trainer.fit(resumed, tinyData(), { ckptPath: stopped.interruptedCheckpoint! });
      assert.deepEqual(weightsOf(resumed), want, `interrupted at epoch ${epoch}, batch ${batch}`);
      assert.equal(resumedSwa.nAveraged, 4);
      assert.ok(trainer.scheduler instanceof SWALR);
      // Every epoch start of the resumed run (the resumed epoch's too) sees the straight run's lr.
      resumedRecorder.startLrs.forEach((lr, e) => assert.equal(lr, recorder.startLrs[e], `lr at epoch ${e}`));
      trainer.dispose();
      if (epoch === 5) {
        // The last checkpoint holds the trained weights (written before the fit's end) and the average: a fit
        // resumed from it runs no epoch and ends on the average.
        const again = net(98, plateau);
        const finished = new Trainer(quiet({ maxEpochs: 6, callbacks: [new StochasticWeightAveraging(swaOptions)] }));
        await finished.fit(again, tinyData(), { ckptPath: join(lastDir, 'checkpoints', 'last.ckpt') });
        assert.deepEqual(weightsOf(again), want, 'resumed from the finished fit\'s last checkpoint');
        finished.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('option errors name the option; fit-time checks (parameter groups, maxEpochs, manual optimization)', async () => {
  const make = (o: object) => () => new StochasticWeightAveraging({ swaLrs: 0.1, ...o });
  assert.throws(make({ swaLrs: 0 }), /swaLrs must be a positive number or a list of positive numbers/);
  assert.throws(make({ swaLrs: [0.1, -1] }), /swaLrs must be a positive number/);
  assert.throws(make({ swaLrs: '0.1' }), /swaLrs must be/);
  assert.throws(make({ swaEpochStart: 1.5 }), /swaEpochStart must be an integer >= 1 \(an epoch\) or a number in \[0, 1\) \(a fraction of maxEpochs\), got 1.5/);
  assert.throws(make({ swaEpochStart: -1 }), /swaEpochStart must be/);
  assert.throws(make({ annealingEpochs: -1 }), /annealingEpochs must be an integer >= 0, got -1/);
  assert.throws(make({ annealingStrategy: 'exp' }), /annealingStrategy must be 'cos' or 'linear', got "exp"/);
  assert.throws(make({ avgFn: 1 }), /avgFn must be a function/);
  assert.throws(make({ device: 'tpu' }), /device must be 'cpu', 'cuda', 'cuda:<n>' or null/);

  const twoGroups: MakeOptimizers = (m) => ({ optimizer: new SGD([{ params: [m.parameters()[0]] }, { params: [m.parameters()[1]] }], { lr: 0.1 }) });
  await assert.rejects(new Trainer(quiet({ maxEpochs: 2, callbacks: [new StochasticWeightAveraging({ swaLrs: [0.1, 0.2, 0.3] })] })).fit(net(0, twoGroups), tinyData()),
    /swaLrs lists 3 learning rates but the optimizer has 2 parameter groups/);
  await assert.rejects(new Trainer(quiet({ maxEpochs: -1, maxSteps: 3, callbacks: [new StochasticWeightAveraging({ swaLrs: 0.1 })] })).fit(net(0), tinyData()),
    /needs the Trainer's maxEpochs/);
  const manual = net(0);
  manual.automaticOptimization = false;
  await assert.rejects(new Trainer(quiet({ maxEpochs: 2, callbacks: [new StochasticWeightAveraging({ swaLrs: 0.1 })] })).fit(manual, tinyData()),
    /needs automatic optimization/);
  // A per-group list works with as many groups.
  const perGroup = new StochasticWeightAveraging({ swaLrs: [0.01, 0.02], swaEpochStart: 1, annealingEpochs: 0 });
  const trainer = new Trainer(quiet({ maxEpochs: 2, callbacks: [perGroup] }));
  await trainer.fit(net(0, twoGroups), tinyData());
  assert.deepEqual(trainer.optimizer!.paramGroups.map((g) => g.lr), [0.01, 0.02]);
  trainer.dispose();
});
