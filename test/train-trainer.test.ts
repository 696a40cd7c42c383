// The Trainer on a tiny learnable problem: it learns, resumes exactly (from an
// epoch boundary and from the middle of an epoch), stops on NaN losses or
// skips them, clips gradients, and its callbacks keep the right files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { LossXent } from '../src/losses/index.js';
import { Linear, clipGradNorm_, clipGradValue_ } from '../src/nn/index.js';
import { SGD, LambdaLR } from '../src/optim/index.js';
import {
  Callback, ClassificationModule, EarlyStopping, LightningModule, ModelCheckpoint, NonFiniteLossError, Trainer, LearningRateMonitor, CSVLogger,
  readCheckpoint, loadCheckpoint,
} from '../src/train/index.js';
import type { Batch } from '../src/data/index.js';
import { TINY_STD, captureOutput, tinyData, tinyModel } from './helpers/tiny-training.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));

function tinyModule(seed = 0): ClassificationModule {
  torch.manualSeed(seed);
  return new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
}

/** Every tensor of the module's state and the optimizer's state, for bitwise comparisons. */
function snapshot(module: LightningModule, trainer: Trainer): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of module.stateDict()) out.set(`module.${k}`, t);
  const opt = trainer.optimizer!.stateDict();
  for (const [i, s] of opt.state) for (const [k, v] of Object.entries(s)) if (v instanceof Tensor) out.set(`opt.${i}.${k}`, v.clone());
  return out;
}

function assertSameState(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) assert.ok(t.equal(b.get(k)!), `${k} differs`);
}

test('fit learns the tiny problem: validation accuracy and VRA well above chance, metrics per epoch', async () => {
  const out = captureOutput();
  const module = tinyModule();
  const trainer = new Trainer({ maxEpochs: 4, output: out, enableProgressBar: false });
  const result = await trainer.fit(module, tinyData());
  assert.equal(result.epochs, 4);
  assert.equal(result.globalStep, 4 * 6);
  assert.equal(result.history.length, 4);
  assert.ok(result.metrics.val_accuracy > 0.8, `val accuracy ${result.metrics.val_accuracy}`);
  assert.ok(result.metrics.val_vra > 0.3, `val VRA ${result.metrics.val_vra}`);
  assert.ok(result.history[3].loss < result.history[0].loss, 'the training loss decreases');
  for (const key of ['loss', 'accuracy', 'vra', 'val_loss', 'val_accuracy', 'val_vra']) assert.ok(key in result.metrics, key);
  assert.match(out.text(), /epoch 4\/4 · step 24 · loss/);
  assert.match(out.text(), /┃ Validate metric ┃/);
  // After fit the model is in eval mode and the schedule-free optimizer holds the averaged weights (x).
  assert.equal(module.training, false);
  assert.equal((trainer.optimizer as unknown as { trainMode: boolean }).trainMode, false);
  module.dispose();
});

test('resume from an epoch-end checkpoint continues exactly: 2 epochs straight = 1 + 1', async () => {
  const dir = tempDir('resume');
  try {
    const straight = tinyModule();
    const t1 = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false });
    await t1.fit(straight, tinyData());
    const expected = snapshot(straight, t1);

    const first = tinyModule();
    const t2 = new Trainer({ maxEpochs: 1, output: captureOutput(), enableProgressBar: false, defaultRootDir: dir, callbacks: [new ModelCheckpoint({ saveLast: true })] });
    await t2.fit(first, tinyData());
    first.dispose();
    const last = join(dir, 'checkpoints', 'last.ckpt');
    assert.ok(existsSync(last));

    const resumed = tinyModule(123); // different initial weights: everything must come from the checkpoint
    const t3 = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false, defaultRootDir: dir, callbacks: [new ModelCheckpoint({ saveLast: true })] });
    const r = await t3.fit(resumed, tinyData(), { ckptPath: last });
    assert.equal(r.epochs, 2);
    assert.equal(r.globalStep, 12);
    assert.equal(r.history.length, 2, 'the history before the resume is kept');
    assertSameState(expected, snapshot(resumed, t3));
    straight.dispose();
    resumed.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

class InterruptAt extends Callback {
  constructor(private readonly step: number) { super(); }
  override onTrainBatchEnd(trainer: Trainer): void {
    if (trainer.globalStep === this.step) trainer.interrupt();
  }
}

test('an interrupted epoch resumes from the next batch with identical results (workers on)', async () => {
  const dir = tempDir('interrupt');
  try {
    const straight = tinyModule();
    const t1 = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false });
    await t1.fit(straight, tinyData({ workers: 1 }));
    const expected = snapshot(straight, t1);

    const first = tinyModule();
    const t2 = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false, defaultRootDir: dir, callbacks: [new InterruptAt(8)] });
    const stopped = await t2.fit(first, tinyData({ workers: 1 }));
    assert.equal(stopped.interrupted, true);
    assert.equal(stopped.globalStep, 8);
    assert.equal(stopped.interruptedCheckpoint, join(dir, 'checkpoints', 'interrupted.ckpt'));
    first.dispose();

    const resumed = tinyModule(7);
    const t3 = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false });
    const r = await t3.fit(resumed, tinyData({ workers: 1 }), { ckptPath: stopped.interruptedCheckpoint! });
    assert.equal(r.globalStep, 12);
    assertSameState(expected, snapshot(resumed, t3));
    straight.dispose();
    resumed.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

class NaNAt extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  constructor(private readonly badSteps: Set<number>, private step = 0) { super(); }
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor {
    const loss = this.forward(batch.x).square().mean();
    return this.badSteps.has(++this.step) ? loss.mul(NaN) : loss;
  }
  configureOptimizers() { return { optimizer: new SGD(this.parameters(), { lr: 0.01 }) }; }
}

test('a NaN loss stops training with a message naming the step, or is skipped on request', async () => {
  const stop = new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false });
  await assert.rejects(stop.fit(new NaNAt(new Set([9])), tinyData()), (e: Error) => e instanceof NonFiniteLossError && /loss is NaN at epoch 1, batch 2 \(global step 9\)/.test(e.message));

  const module = new NaNAt(new Set([2, 5]));
  const before = module.layer.getParameter('weight')!.clone();
  const out = captureOutput();
  const skip = new Trainer({ maxEpochs: 1, output: out, enableProgressBar: false, onNonFiniteLoss: 'skip' });
  const r = await skip.fit(module, tinyData());
  assert.equal(r.skippedBatches, 2);
  assert.equal(r.globalStep, 4, 'skipped batches take no optimizer step');
  assert.match(out.text(), /skipped the batch at epoch 0, batch 1 \(global step 2\): the loss is NaN/);
  const after = module.layer.getParameter('weight')!;
  assert.ok(Number.isFinite(after.sum().item()) && !after.equal(before), 'the other batches trained the layer with finite values');
});

test('clipGradNorm_ and clipGradValue_ match their definitions (float64)', () => {
  const a = torch.randn([5, 3], { dtype: 'float64' }).requiresGrad_();
  const b = torch.randn([4], { dtype: 'float64' }).requiresGrad_();
  a.mul(3).sum().add(b.square().sum().mul(2)).backward();
  const ga = a.grad!.clone();
  const gb = b.grad!.clone();
  const norm = Math.sqrt(ga.square().sum().item() + gb.square().sum().item());
  const returned = clipGradNorm_([a, b], 1.5);
  assert.ok(Math.abs(returned - norm) < 1e-9 * norm);
  const scale = 1.5 / (norm + 1e-6);
  assert.ok(a.grad!.sub(ga.mul(scale)).abs().max().item() < 1e-12);
  assert.ok(b.grad!.sub(gb.mul(scale)).abs().max().item() < 1e-12);
  // Below the threshold nothing changes.
  const small = a.grad!.clone();
  clipGradNorm_([a, b], 10);
  assert.ok(a.grad!.equal(small));
  clipGradValue_([a], 0.1);
  assert.ok(a.grad!.abs().max().item() <= 0.1);
  assert.throws(() => clipGradNorm_([a], 0), /maxNorm must be a finite number > 0/);
});

test('bf16-mixed precision trains on the CPU with finite losses; gradient clipping and batch limits apply', async () => {
  const module = tinyModule();
  const trainer = new Trainer({ maxEpochs: 1, precision: 'bf16-mixed', gradientClipVal: 0.5, limitTrainBatches: 0.5, output: captureOutput(), enableProgressBar: false });
  const r = await trainer.fit(module, tinyData());
  assert.equal(r.globalStep, 3, 'half of 6 batches');
  assert.ok(Number.isFinite(r.metrics.loss) && Number.isFinite(r.metrics.val_loss));
  module.dispose();
  assert.throws(() => new Trainer({ precision: 'fp8' as never }), /precision must be one of 32, bf16-mixed, 16-mixed, 64-true \(or Lightning's aliases.*got "fp8"/);
  assert.throws(() => new Trainer({ precision: 'bf16-true' as never }), /precision "bf16-true" \(weights held in half precision\) is not supported; supported: '32'/);
  assert.throws(() => new Trainer({ limitTrainBatches: 1.5 }), /limitTrainBatches must be a positive batch count or a fraction/);
  assert.throws(() => new Trainer({ maxEpochs: 0 }), /maxEpochs must be a positive integer/);
});

/** Logs a scripted validation score per epoch, to drive the callbacks. */
class Scripted extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  constructor(private readonly scores: number[]) { super(); }
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  override validationStep(): void { this.log('val_score', this.scores[(this as unknown as { epoch: number }).epoch]); }
  override onValidationEpochStart(): void { (this as unknown as { epoch: number }).epoch = ((this as unknown as { epoch?: number }).epoch ?? -1) + 1; }
  configureOptimizers() {
    const optimizer = new SGD(this.parameters(), { lr: 0.1 });
    return { optimizer, scheduler: new LambdaLR(optimizer, (epoch) => 0.5 ** epoch) };
  }
}

test('ModelCheckpoint keeps the k best files by the monitored metric; EarlyStopping stops after its patience', async () => {
  const dir = tempDir('callbacks');
  try {
    const scores = [0.5, 0.9, 0.7, 0.95, 0.6, 0.1, 0.2];
    const checkpoint = new ModelCheckpoint({ monitor: 'val_score', mode: 'max', saveTopK: 2, filename: 'best-{epoch}' });
    const early = new EarlyStopping({ monitor: 'val_score', mode: 'max', patience: 2 });
    const lr = new LearningRateMonitor({ loggingInterval: 'epoch' });
    const logger = new CSVLogger(dir);
    const trainer = new Trainer({ numSanityValSteps: 0, maxEpochs: 7, defaultRootDir: dir, callbacks: [checkpoint, early, lr], logger, output: captureOutput(), enableProgressBar: false });
    const r = await trainer.fit(new Scripted(scores), tinyData());
    // Best 0.95 at epoch 3; epochs 4 and 5 do not improve: stop after epoch 5 (index), 6 epochs run.
    assert.equal(r.epochs, 6);
    assert.match(r.stopReason, /EarlyStopping: val_score did not improve/);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')).sort(), ['best-epoch=1.ckpt', 'best-epoch=3.ckpt']);
    assert.equal(checkpoint.bestModelPath, join(dir, 'checkpoints', 'best-epoch=3.ckpt'));
    assert.ok(Math.abs(checkpoint.bestModelScore! - 0.95) < 1e-12);
    const best = readCheckpoint(checkpoint.bestModelPath);
    assert.ok(Math.abs((best.metadata.metrics as Record<string, number>).val_score - 0.95) < 1e-12);
    for (const t of best.state.values()) t.dispose();
    // The learning rate the scheduler set at each epoch start was logged: 0.1 · 0.5^epoch.
    const rows = logger['rows'] as { metrics: Record<string, number> }[];
    const lrs = rows.filter((row) => 'lr-SGD' in row.metrics).map((row) => row.metrics['lr-SGD']);
    assert.deepEqual(lrs, [0, 1, 2, 3, 4, 5].map((e) => 0.1 * 0.5 ** e));
    assert.throws(() => loadCheckpoint(checkpoint.bestModelPath), /not built by the factory \(no model_config\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume refuses a model-only checkpoint and a module that does not fit', async () => {
  const dir = tempDir('resume-bad');
  try {
    const module = tinyModule();
    const trainer = new Trainer({ maxEpochs: 1, defaultRootDir: dir, output: captureOutput(), enableProgressBar: false });
    await trainer.fit(module, tinyData());
    const [ckpt] = readdirSync(join(dir, 'checkpoints'));
    const { saveCheckpoint } = await import('../src/train/index.js');
    saveCheckpoint(join(dir, 'model-only.ckpt'), module.model);
    await assert.rejects(new Trainer({ maxEpochs: 2, output: captureOutput() }).fit(tinyModule(), tinyData(), { ckptPath: join(dir, 'model-only.ckpt') }), /holds a model only \(no training state\)/);
    await assert.rejects(new Trainer({ maxEpochs: 2, output: captureOutput() }).fit(new Scripted([1, 1]), tinyData(), { ckptPath: join(dir, 'checkpoints', ckpt) }), /layer\.weight|missing|unexpected/);
    await assert.rejects(new Trainer({ maxEpochs: 2, output: captureOutput() }).fit(tinyModule(), tinyData(), { ckptPath: join(dir, 'nope.ckpt') }), /nope\.ckpt/);
    module.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NaN logits refused by the loss count as a diverged step too (named, or skipped)', async () => {
  const { Module } = await import('../src/nn/index.js');
  class Poisoned extends Module {
    calls = 0;
    readonly inner = this.registerModule('inner', tinyModel());
    forward(x: Tensor): Tensor {
      const y = this.inner.forward(x) as Tensor;
      return this.training && ++this.calls === 3 ? y.mul(NaN) : y;
    }
  }
  const make = () => new ClassificationModule({ model: new Poisoned(), loss: new LossXent({ nClasses: 3 }), lastLayer: 'global', lr: 0.01 });
  await assert.rejects(new Trainer({ maxEpochs: 1, output: captureOutput(), enableProgressBar: false }).fit(make(), tinyData()),
    (e: Error) => e instanceof NonFiniteLossError && /loss is NaN \(LossXent: logits contain \d+ NaN values.*at epoch 0, batch 2 \(global step 3\)/.test(e.message));
  const r = await new Trainer({ maxEpochs: 1, output: captureOutput(), enableProgressBar: false, onNonFiniteLoss: 'skip' }).fit(make(), tinyData());
  assert.equal(r.skippedBatches, 1);
  assert.equal(r.globalStep, 5);
});
