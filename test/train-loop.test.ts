// The Trainer's loop options, as Lightning's: maxEpochs / accelerator /
// precision defaults and aliases, monitoring with checkValEveryNEpoch > 1,
// the epoch end of an epoch cut short by maxSteps, gradient accumulation,
// mid-epoch validation (valCheckInterval), predict and ckptPath, and
// ReduceLROnPlateau driven by a monitored metric.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD, LambdaLR, ReduceLROnPlateau } from '../src/optim/index.js';
import { Compose, DataLoader, Normalize, ToTensor } from '../src/data/index.js';
import type { Batch } from '../src/data/index.js';
import { Callback, EarlyStopping, LightningModule, ModelCheckpoint, Trainer } from '../src/train/index.js';
import type { DataModuleLike, OptimizerConfig, TrainerOptions } from '../src/train/index.js';
import { TINY_MEAN, TINY_STD, captureOutput, tinyData, tinyDataset } from './helpers/tiny-training.js';
import { MemoryLogger } from './helpers/memory-logger.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));
// No sanity check: several modules here script one value per validation (the sanity check is tested in train-debug-runs).
const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, numSanityValSteps: 0, ...o });

/** A linear classifier with a squared-error loss (no batch-dependent layer); logs a scripted validation score per validation. */
class Linear64 extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  validations = -1;
  constructor(private readonly scores: number[] = [], private readonly makeOptimizers: (m: Linear64) => OptimizerConfig = (m) => ({ optimizer: new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }) })) { super(); }
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor {
    const loss = this.forward(batch.x).sub(batch.y.to(batch.x.dtype).unsqueeze(1)).square().mean();
    this.log('loss', loss.item(), { onEpoch: true });
    return loss;
  }
  override onValidationEpochStart(): void { this.validations++; }
  override validationStep(batch: Batch): void {
    this.log('val_loss', this.forward(batch.x).sub(batch.y.to(batch.x.dtype).unsqueeze(1)).square().mean());
    if (this.scores.length > 0) this.log('val_score', this.scores[this.validations]);
  }
  configureOptimizers(): OptimizerConfig { return this.makeOptimizers(this); }
}

function linear(seed: number, scores: number[] = [], optimizers?: (m: Linear64) => OptimizerConfig): Linear64 {
  torch.manualSeed(seed);
  return new Linear64(scores, optimizers);
}

/** The tiny problem in a fixed order (no shuffling), at any batch size. */
function orderedData(batchSize: number): DataModuleLike {
  const train = tinyDataset(192, 1);
  const val = tinyDataset(96, 2);
  const transform = () => new Compose([new ToTensor(), new Normalize(TINY_MEAN, TINY_STD)]);
  return {
    trainDataloader: () => new DataLoader(train, { batchSize, transform: transform() }),
    valDataloader: () => new DataLoader(val, { batchSize: 48, transform: transform() }),
  };
}

/** Records what callbacks see. */
class Recorder extends Callback {
  validations: { epoch: number; batch: number; step: number; val: number | undefined }[] = [];
  epochEnds: { epoch: number; step: number; lr: number }[] = [];
  weightsAt = new Map<number, Tensor>();
  override onValidationEnd(trainer: Trainer): void {
    this.validations.push({ epoch: trainer.currentEpoch, batch: (trainer as unknown as { batchInEpoch: number }).batchInEpoch, step: trainer.globalStep, val: trainer.callbackMetrics.get('val_loss') });
  }
  override onTrainEpochEnd(trainer: Trainer, module: LightningModule): void {
    this.epochEnds.push({ epoch: trainer.currentEpoch, step: trainer.globalStep, lr: trainer.optimizer!.paramGroups[0].lr });
    this.weightsAt.set(trainer.currentEpoch, (module as Linear64).layer.getParameter('weight')!.clone());
  }
}

test('defaults and aliases as Lightning: maxEpochs, accelerator, precision', async () => {
  assert.equal(new Trainer({ maxSteps: 5 }).maxEpochs, -1, 'only maxSteps: no epoch limit');
  assert.equal(new Trainer({}).maxEpochs, 1000);
  assert.equal(new Trainer({ maxEpochs: -1, maxSteps: 3 }).maxEpochs, -1);
  assert.throws(() => new Trainer({ maxEpochs: -2 }), /maxEpochs must be a positive integer or -1 \(no limit\), got -2/);
  assert.throws(() => new Trainer({ maxSteps: 1.5 }), /maxSteps must be a positive integer or -1, got 1.5/);
  assert.equal(new Trainer({}).device, torch.cuda.isAvailable() ? 'cuda' : 'cpu', "accelerator defaults to 'auto'");
  if (torch.cuda.isAvailable()) assert.equal(new Trainer({ accelerator: 'gpu' }).device, 'cuda');
  else assert.throws(() => new Trainer({ accelerator: 'gpu' }), /accelerator 'cuda' asked for, but CUDA is not available/);
  assert.throws(() => new Trainer({ accelerator: 'tpu' as never }), /accelerator must be 'cpu', 'cuda' \(or 'gpu'\) or 'auto', got "tpu"/);
  for (const [given, precision] of [[32, '32'], ['32', '32'], ['32-true', '32'], ['bf16', 'bf16-mixed'], ['bf16-mixed', 'bf16-mixed'], [64, '64-true'], ['64-true', '64-true']] as const) {
    assert.equal(new Trainer({ accelerator: 'cpu', precision: given }).precision, precision, String(given));
  }
  assert.throws(() => new Trainer({ accelerator: 'cpu', precision: 16 }), /precision '16-mixed' runs float16 autocast, which needs a CUDA device/);
  assert.throws(() => new Trainer({ accelerator: 'cpu', precision: '16-true' as never }), /precision "16-true" \(weights held in half precision\) is not supported/);
  assert.throws(() => new Trainer({ accumulateGradBatches: 0 }), /accumulateGradBatches must be a positive integer, got 0/);
  assert.throws(() => new Trainer({ valCheckInterval: 1.5 }), /valCheckInterval must be a fraction in \(0, 1\] of the epoch or a whole number of batches, got 1.5/);

  // Only maxSteps: epochs run until the steps are done (6 batches per epoch → 2 epochs, the second partial).
  const r = await new Trainer(quiet({ accelerator: 'cpu', maxSteps: 8 })).fit(linear(0), tinyData());
  assert.equal(r.globalStep, 8);
  assert.equal(r.epochs, 2);
  assert.equal(r.stopReason, 'max_steps');
});

test("precision '64-true' trains in float64: parameters and inputs", async () => {
  const module = linear(0);
  let inputDtype = '';
  const original = module.trainingStep.bind(module);
  module.trainingStep = (batch: Batch) => { inputDtype = batch.x.dtype; return original(batch); };
  const r = await new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 1, precision: 64 })).fit(module, tinyData());
  assert.equal(module.layer.getParameter('weight')!.dtype, 'float64');
  assert.equal(inputDtype, 'float64');
  assert.ok(Number.isFinite(r.metrics.loss) && Number.isFinite(r.metrics.val_loss));
});

test('checkValEveryNEpoch 2: monitoring callbacks run after validations; EarlyStopping patience counts validations', async () => {
  const dir = tempDir('val-every');
  try {
    // Validations after epochs 1, 3, 5, 7 (0-based): best 0.9 at epoch 3; 0.7 and 0.6 do not improve → stop after epoch 7.
    const early = new EarlyStopping({ monitor: 'val_score', mode: 'max', patience: 2 });
    const checkpoint = new ModelCheckpoint({ monitor: 'val_score', mode: 'max', filename: 'best-{epoch}' });
    const trainer = new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 20, checkValEveryNEpoch: 2, defaultRootDir: dir, logger: false, callbacks: [early, checkpoint] }));
    const r = await trainer.fit(linear(0, [0.5, 0.9, 0.7, 0.6, 0.95]), tinyData());
    assert.equal(r.epochs, 8);
    assert.equal(early.wait, 2);
    assert.match(r.stopReason, /EarlyStopping: val_score did not improve by more than 0 in the last 2 checks \(best 0\.9\)/);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')), ['best-epoch=3.ckpt']);
    assert.equal(checkpoint.bestModelScore, 0.9);
    // The history holds validation values only for the epochs that validated; callbackMetrics keeps the latest.
    assert.deepEqual(r.history.map((row) => 'val_score' in row), [false, true, false, true, false, true, false, true]);
    assert.equal(r.metrics.val_score, 0.6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxSteps in the middle of an epoch still runs its epoch end: metrics, callbacks, checkpoint', async () => {
  const dir = tempDir('max-steps');
  try {
    const recorder = new Recorder();
    const trainer = new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 5, maxSteps: 8, defaultRootDir: dir, callbacks: [recorder], logger: false }));
    const r = await trainer.fit(linear(0), tinyData());
    assert.equal(r.stopReason, 'max_steps');
    assert.equal(r.epochs, 2);
    assert.deepEqual(recorder.epochEnds.map((e) => [e.epoch, e.step]), [[0, 6], [1, 8]]);
    assert.equal(r.history.length, 2);
    assert.equal(r.history[1].step, 8);
    assert.ok(Number.isFinite(r.history[1].loss), 'the partial epoch has its training loss (over its 2 batches)');
    assert.ok(!('val_loss' in r.history[1]), 'as Lightning, no validation after an epoch cut short by maxSteps');
    assert.equal(r.metrics.loss, r.history[1].loss);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')), ['epoch=1-step=8.ckpt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function snapshotWeights(module: Linear64): Tensor[] {
  return module.parameters().map((p) => p.clone());
}

function assertClose(a: Tensor[], b: Tensor[], tol: number, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((t, i) => {
    const diff = t.sub(b[i]).abs().max().item();
    assert.ok(diff <= tol, `${what}: parameter ${i} differs by ${diff}`);
  });
}

test('accumulateGradBatches 2 at batch 16 = batch 32 (float64): steps, step-interval scheduler, clipping of the accumulated gradient', async () => {
  const withScheduler = (m: Linear64): OptimizerConfig => {
    const optimizer = new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
    return { optimizer, scheduler: { scheduler: new LambdaLR(optimizer, (s) => 0.9 ** s), interval: 'step' } };
  };
  const run = async (batchSize: number, n: number) => {
    const module = linear(0, [], withScheduler);
    const trainer = new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 2, precision: '64-true', accumulateGradBatches: n, gradientClipVal: 0.05 }));
    const r = await trainer.fit(module, orderedData(batchSize));
    return { r, weights: snapshotWeights(module), lr: trainer.optimizer!.paramGroups[0].lr };
  };
  const big = await run(32, 1);
  const small = await run(16, 2);
  assert.equal(big.r.globalStep, 12);
  assert.equal(small.r.globalStep, 12, 'globalStep counts optimizer steps');
  assert.equal(small.lr, big.lr, 'the step scheduler stepped once per optimizer step');
  assert.ok(Math.abs(small.lr - 0.1 * 0.9 ** 12) < 1e-15);
  assertClose(small.weights, big.weights, 1e-12, 'N=2 at 16 vs N=1 at 32');
  const unaccumulated = await run(16, 1);
  assert.ok(unaccumulated.weights[0].sub(big.weights[0]).abs().max().item() > 1e-6, 'the comparison can fail: batch 16 without accumulation differs');

  // A remainder window at the epoch's end still steps: 12 batches in windows of 5 → 5, 5, 2 → 3 steps per epoch.
  const trainer = new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 1, accumulateGradBatches: 5 }));
  assert.equal((await trainer.fit(linear(0), orderedData(16))).globalStep, 3);
});

class InterruptAtBatch extends Callback {
  constructor(private readonly batch: number) { super(); }
  override onTrainBatchEnd(trainer: Trainer, _m: LightningModule, _loss: number, batchIndex: number): void {
    if (trainer.currentEpoch === 0 && batchIndex === this.batch) trainer.interrupt();
  }
}

test('an interrupt in the middle of an accumulation window stops at its end, and the resume is exact', async () => {
  const dir = tempDir('accumulate-resume');
  try {
    const options = (o: TrainerOptions = {}) => quiet({ accelerator: 'cpu', maxEpochs: 2, precision: '64-true', accumulateGradBatches: 3, ...o });
    const straight = linear(0);
    await new Trainer(options()).fit(straight, orderedData(16));

    const first = linear(0);
    const stopped = await new Trainer(options({ defaultRootDir: dir, logger: false, callbacks: [new InterruptAtBatch(4)] })).fit(first, orderedData(16));
    assert.equal(stopped.interrupted, true);
    assert.equal(stopped.globalStep, 2, 'batch 4 is in the second window (3–5): the loop left after batch 5');
    const resumed = linear(9);
    const r = await new Trainer(options()).fit(resumed, orderedData(16), { ckptPath: stopped.interruptedCheckpoint! });
    assert.equal(r.globalStep, 8);
    assertClose(snapshotWeights(resumed), snapshotWeights(straight), 0, 'resumed vs straight');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('valCheckInterval: validation in the middle of the epoch, seen by callbacks, loggers and ModelCheckpoint', async () => {
  const dir = tempDir('val-interval');
  try {
    const recorder = new Recorder();
    const logger = new MemoryLogger();
    const checkpoint = new ModelCheckpoint({ monitor: 'val_loss', saveTopK: -1 });
    const trainer = new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 2, valCheckInterval: 0.5, defaultRootDir: dir, logger, callbacks: [recorder, checkpoint] }));
    await trainer.fit(linear(0), tinyData());
    assert.deepEqual(recorder.validations.map((v) => [v.epoch, v.batch, v.step]), [[0, 3, 3], [0, 6, 6], [1, 3, 9], [1, 6, 12]]);
    assert.ok(recorder.validations.every((v) => Number.isFinite(v.val)));
    assert.notEqual(recorder.validations[0].val, recorder.validations[1].val, 'each validation brings its own values');
    assert.deepEqual(logger.rows.filter((row) => 'val_loss' in row.metrics).map((row) => row.step), [3, 6, 9, 12]);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')).sort(), ['epoch=0-step=3.ckpt', 'epoch=0-step=6.ckpt', 'epoch=1-step=12.ckpt', 'epoch=1-step=9.ckpt']);

    const every2 = new Recorder();
    await new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 1, valCheckInterval: 2, logger: false, callbacks: [every2] })).fit(linear(0), tinyData());
    assert.deepEqual(every2.validations.map((v) => v.batch), [2, 4, 6]);
    await assert.rejects(new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 1, valCheckInterval: 7 })).fit(linear(0), tinyData()),
      /valCheckInterval \(7\) must be at most the number of training batches per epoch \(6\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("predict returns per-batch outputs (or one tensor); validate/test/predict load ckptPath 'best', 'last' or a file", async () => {
  const dir = tempDir('predict');
  try {
    const recorder = new Recorder();
    const checkpoint = new ModelCheckpoint({ monitor: 'val_score', mode: 'max', saveLast: true });
    const trainer = new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 3, defaultRootDir: dir, logger: false, callbacks: [recorder, checkpoint] }));
    const module = linear(0, [0.2, 0.9, 0.5, 0, 0, 0]);
    await trainer.fit(module, tinyData());
    const loader = tinyData().valDataloader!()!;
    const perBatch = await trainer.predict(module, loader);
    assert.equal(perBatch.length, 2);
    assert.deepEqual((perBatch as Tensor[]).map((t) => t.shape), [[48, 3], [48, 3]]);
    const joined = await trainer.predict(module, loader, { concat: true });
    assert.deepEqual(joined.shape, [96, 3]);
    assert.ok(joined.equal(torch.cat(perBatch as Tensor[], 0)));

    // 'best' is epoch 1's checkpoint: its weights come back, whatever the module holds now.
    const bestOut = await trainer.predict(module, loader, { ckptPath: 'best', concat: true });
    assert.ok(module.layer.getParameter('weight')!.equal(recorder.weightsAt.get(1)!));
    assert.ok(!bestOut.equal(joined));
    await trainer.validate(module, tinyData(), { ckptPath: 'last' });
    assert.ok(module.layer.getParameter('weight')!.equal(recorder.weightsAt.get(2)!));
    await trainer.test(module, tinyData(), { ckptPath: checkpoint.bestModelPath });
    assert.ok(module.layer.getParameter('weight')!.equal(recorder.weightsAt.get(1)!));

    // A predictStep of one's own, returning structured values.
    class Argmax extends Linear64 {
      override predictStep(batch: Batch): unknown { return { label: this.forward(batch.x).argmax(1) }; }
    }
    const labels = await trainer.predict(new Argmax(), loader) as { label: Tensor }[];
    assert.deepEqual(labels.map((o) => o.label.shape), [[48], [48]]);
    await assert.rejects(new Trainer(quiet({ accelerator: 'cpu' })).validate(module, tinyData(), { ckptPath: 'best' }), /ckptPath 'best' needs a ModelCheckpoint callback/);
    await assert.rejects(trainer.predict(module, tinyData()), /no predict loader \(implement predictDataloader\(\), or pass a loader\)/);
    assert.ok(existsSync(checkpoint.lastModelPath));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ReduceLROnPlateau from configureOptimizers steps with the monitored metric after validation; a missing metric is named', async () => {
  const plateau = (monitor: string) => (m: Linear64): OptimizerConfig => {
    const optimizer = new SGD(m.parameters(), { lr: 0.01 });
    return { optimizer, lrScheduler: { scheduler: new ReduceLROnPlateau(optimizer, { patience: 0, factor: 0.5 }), monitor } };
  };
  const recorder = new Recorder();
  // min mode: 1 best; 2 worse → 0.5; 3 worse → 0.25; 0.5 best; 0.4 best.
  await new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 5, logger: false, callbacks: [recorder] })).fit(linear(0, [1, 2, 3, 0.5, 0.4], plateau('val_score')), tinyData());
  assert.deepEqual(recorder.epochEnds.map((e) => e.lr), [0.01, 0.005, 0.0025, 0.0025, 0.0025]);

  // Validation every 2 epochs: the scheduler steps only with fresh values (epochs 1, 3, 5), not again with old ones.
  const sparse = new Recorder();
  await new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 6, checkValEveryNEpoch: 2, logger: false, callbacks: [sparse] })).fit(linear(0, [1, 2, 3], plateau('val_score')), tinyData());
  assert.deepEqual(sparse.epochEnds.map((e) => e.lr), [0.01, 0.01, 0.01, 0.005, 0.005, 0.0025]);

  await assert.rejects(new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 2, logger: false })).fit(linear(0, [1, 2], plateau('val_nope')), tinyData()),
    /ReduceLROnPlateau is conditioned on the metric 'val_nope', which is not available at this epoch; available: .*val_score/);
  await assert.rejects(new Trainer(quiet({ accelerator: 'cpu', maxEpochs: 1 })).fit(linear(0, [1], (m) => {
    const optimizer = new SGD(m.parameters(), { lr: 1 });
    return { optimizer, scheduler: new ReduceLROnPlateau(optimizer) };
  }), tinyData()), /a ReduceLROnPlateau scheduler needs 'monitor'/);
});
