// Lightning's hooks: the exact order in which the Trainer calls the module's
// and the callbacks' hooks during a small fit and a test, skipping the rest
// of an epoch when onTrainBatchStart returns -1, the values onSaveCheckpoint
// stores coming back through onLoadCheckpoint on resume, configureCallbacks
// and onException.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Optimizer } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { Callback, EarlyStopping, LightningModule, ModelCheckpoint, Trainer } from '../src/train/index.js';
import type { DataModuleLike, OptimizerConfig, TrainerOptions } from '../src/train/index.js';
import type { CheckpointHookState, TrainerFn } from '../src/train/lightning-module.js';
import { captureOutput, orderedData } from './helpers/tiny-training.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));
const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, ...o });

/** Records every hook the module receives into a shared log. */
class Recording extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  skipFrom = Infinity;
  extraCallbacks: Callback[] = [];
  saved = 0;
  loaded: CheckpointHookState | null = null;
  constructor(readonly events: string[]) { super(); }
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  override validationStep(batch: Batch): string {
    this.log('val_loss', this.forward(batch.x).square().mean());
    return 'val-output';
  }
  override testStep(): string { return 'test-output'; }
  configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: 0.01 }) }; }
  override configureCallbacks(): Callback[] { this.events.push('m.configureCallbacks'); return this.extraCallbacks; }
  override setup(stage: TrainerFn): void { this.events.push(`m.setup:${stage}`); }
  override teardown(stage: TrainerFn): void { this.events.push(`m.teardown:${stage}`); }
  override onFitStart(): void { this.events.push('m.onFitStart'); }
  override onFitEnd(): void { this.events.push('m.onFitEnd'); }
  override onTrainEpochStart(epoch: number): void { this.events.push(`m.onTrainEpochStart:${epoch}`); }
  override onTrainEpochEnd(epoch: number): void { this.events.push(`m.onTrainEpochEnd:${epoch}`); }
  override onTrainBatchStart(batch: Batch, i: number): number | void {
    assert.equal(batch.x.shape[0], 32);
    this.events.push(`m.onTrainBatchStart:${i}`);
    if (i >= this.skipFrom) return -1;
  }
  override onTrainBatchEnd(loss: number, batch: Batch, i: number): void {
    assert.ok(Number.isFinite(loss));
    assert.equal(batch.y.shape[0], 32);  // the batch is still alive here
    this.events.push(`m.onTrainBatchEnd:${i}`);
  }
  override onBeforeBackward(loss: Tensor): void {
    assert.equal(loss.numel(), 1);
    assert.equal(this.layer.getParameter('weight')!.grad, null);  // SGD zeroes gradients to None; none yet before this backward
    this.events.push('m.onBeforeBackward');
  }
  override onAfterBackward(): void {
    assert.notEqual(this.layer.getParameter('weight')!.grad, null);
    this.events.push('m.onAfterBackward');
  }
  override onBeforeOptimizerStep(optimizer: Optimizer): void { assert.ok(optimizer instanceof SGD); this.events.push('m.onBeforeOptimizerStep'); }
  override onValidationEpochStart(): void { this.events.push('m.onValidationEpochStart'); }
  override onValidationEpochEnd(): void { this.events.push('m.onValidationEpochEnd'); }
  override onValidationBatchEnd(outputs: unknown, _batch: Batch, i: number): void { this.events.push(`m.onValidationBatchEnd:${i}:${String(outputs)}`); }
  override onTestEpochStart(): void { this.events.push('m.onTestEpochStart'); }
  override onTestEpochEnd(): void { this.events.push('m.onTestEpochEnd'); }
  override onTestBatchEnd(outputs: unknown, _batch: Batch, i: number): void { this.events.push(`m.onTestBatchEnd:${i}:${String(outputs)}`); }
  override onSaveCheckpoint(checkpoint: CheckpointHookState): void {
    this.saved++;
    checkpoint.module_counter = this.saved;
    checkpoint.nested = { list: [1, 'two', null] };
    this.events.push('m.onSaveCheckpoint');
  }
  override onLoadCheckpoint(checkpoint: CheckpointHookState): void { this.loaded = checkpoint; this.events.push('m.onLoadCheckpoint'); }
}

/** Records the callback side of the hooks into the same log. */
class RecordingCallback extends Callback {
  loaded: CheckpointHookState | null = null;
  errors: unknown[] = [];
  constructor(readonly events: string[]) { super(); }
  override setup(_t: Trainer, _m: LightningModule, stage: TrainerFn): void { this.events.push(`c.setup:${stage}`); }
  override teardown(_t: Trainer, _m: LightningModule, stage: TrainerFn): void { this.events.push(`c.teardown:${stage}`); }
  override onFitStart(): void { this.events.push('c.onFitStart'); }
  override onFitEnd(): void { this.events.push('c.onFitEnd'); }
  override onTrainEpochStart(): void { this.events.push('c.onTrainEpochStart'); }
  override onTrainEpochEnd(): void { this.events.push('c.onTrainEpochEnd'); }
  override async onTrainBatchStart(_t: Trainer, _m: LightningModule, _b: Batch, i: number): Promise<void> { this.events.push(`c.onTrainBatchStart:${i}`); }
  override onTrainBatchEnd(_t: Trainer, _m: LightningModule, _loss: number, i: number, batch: Batch): void {
    assert.equal(batch.x.shape[0], 32);
    this.events.push(`c.onTrainBatchEnd:${i}`);
  }
  override onBeforeBackward(): void { this.events.push('c.onBeforeBackward'); }
  override onAfterBackward(): void { this.events.push('c.onAfterBackward'); }
  override onBeforeOptimizerStep(): void { this.events.push('c.onBeforeOptimizerStep'); }
  override onValidationBatchEnd(_t: Trainer, _m: LightningModule, outputs: unknown, _b: Batch, i: number): void { this.events.push(`c.onValidationBatchEnd:${i}:${String(outputs)}`); }
  override onTestBatchEnd(_t: Trainer, _m: LightningModule, outputs: unknown, _b: Batch, i: number): void { this.events.push(`c.onTestBatchEnd:${i}:${String(outputs)}`); }
  override onValidationEnd(): void { this.events.push('c.onValidationEnd'); }
  override onSanityCheckStart(): void { this.events.push('c.onSanityCheckStart'); }
  override onSanityCheckEnd(): void { this.events.push('c.onSanityCheckEnd'); }
  override onSaveCheckpoint(_t: Trainer, _m: LightningModule, checkpoint: CheckpointHookState): void {
    checkpoint.callback_note = 'from the callback';
    this.events.push('c.onSaveCheckpoint');
  }
  override onLoadCheckpoint(_t: Trainer, _m: LightningModule, checkpoint: CheckpointHookState): void { this.loaded = checkpoint; this.events.push('c.onLoadCheckpoint'); }
  override onException(_t: Trainer, _m: LightningModule, error: unknown): void { this.errors.push(error); this.events.push('c.onException'); }
}

const batchHooks = (i: number) => [
  `c.onTrainBatchStart:${i}`, `m.onTrainBatchStart:${i}`,
  'c.onBeforeBackward', 'm.onBeforeBackward', 'c.onAfterBackward', 'm.onAfterBackward',
  'c.onBeforeOptimizerStep', 'm.onBeforeOptimizerStep',
  `c.onTrainBatchEnd:${i}`, `m.onTrainBatchEnd:${i}`,
];

test('fit calls the module and callback hooks in Lightning\'s order (2 epochs × 2 batches, validation each epoch)', async () => {
  torch.manualSeed(0);
  const events: string[] = [];
  const module = new Recording(events);
  const trainer = new Trainer(quiet({ maxEpochs: 2, callbacks: [new RecordingCallback(events)] }));
  const r = await trainer.fit(module, orderedData());
  assert.equal(r.globalStep, 4);
  const epoch = (e: number) => [
    'c.onTrainEpochStart', `m.onTrainEpochStart:${e}`,
    ...batchHooks(0), ...batchHooks(1),
    'm.onValidationEpochStart', 'c.onValidationBatchEnd:0:val-output', 'm.onValidationBatchEnd:0:val-output', 'm.onValidationEpochEnd', 'c.onValidationEnd',
    `m.onTrainEpochEnd:${e}`, 'c.onTrainEpochEnd',
  ];
  assert.deepEqual(events, [
    'm.configureCallbacks', 'c.setup:fit', 'm.setup:fit', 'c.onFitStart', 'm.onFitStart',
    // Lightning's sanity check: the validation hooks on its batches (here the loader's only one), nothing monitored.
    'c.onSanityCheckStart', 'm.onValidationEpochStart', 'c.onValidationBatchEnd:0:val-output', 'm.onValidationBatchEnd:0:val-output',
    'm.onValidationEpochEnd', 'c.onSanityCheckEnd',
    ...epoch(0), ...epoch(1),
    'c.onFitEnd', 'm.onFitEnd', 'c.teardown:fit', 'm.teardown:fit',
  ]);

  // test runs the test hooks, not the validation ones.
  events.length = 0;
  await trainer.test(module, orderedData());
  assert.deepEqual(events, ['c.setup:test', 'm.setup:test', 'm.onTestEpochStart', 'c.onTestBatchEnd:0:test-output', 'm.onTestBatchEnd:0:test-output', 'm.onTestEpochEnd', 'c.teardown:test', 'm.teardown:test']);
  trainer.dispose();
});

test('onTrainBatchStart returning -1 skips the rest of the epoch; the epoch end still runs', async () => {
  torch.manualSeed(0);
  const events: string[] = [];
  const module = new Recording(events);
  module.skipFrom = 1;
  const trainer = new Trainer(quiet({ maxEpochs: 2 }));
  const r = await trainer.fit(module, orderedData());
  assert.equal(r.globalStep, 2);  // one batch per epoch
  assert.equal(r.epochs, 2);
  assert.equal(r.history.length, 2);
  assert.deepEqual(events.filter((e) => e.startsWith('m.onTrain')), [
    'm.onTrainEpochStart:0', 'm.onTrainBatchStart:0', 'm.onTrainBatchEnd:0', 'm.onTrainBatchStart:1', 'm.onTrainEpochEnd:0',
    'm.onTrainEpochStart:1', 'm.onTrainBatchStart:0', 'm.onTrainBatchEnd:0', 'm.onTrainBatchStart:1', 'm.onTrainEpochEnd:1',
  ]);
  trainer.dispose();
});

test('what onSaveCheckpoint stores comes back through onLoadCheckpoint on resume (module first, then callbacks)', async () => {
  const dir = tempDir('hooks-ckpt');
  try {
    torch.manualSeed(0);
    const events: string[] = [];
    const first = new Recording(events);
    const trainer = new Trainer(quiet({ maxEpochs: 1, defaultRootDir: dir, logger: false, callbacks: [new RecordingCallback(events), new ModelCheckpoint({ saveLast: true })] }));
    await trainer.fit(first, orderedData());
    trainer.dispose();
    assert.deepEqual(events.filter((e) => e.includes('SaveCheckpoint')), ['c.onSaveCheckpoint', 'm.onSaveCheckpoint', 'c.onSaveCheckpoint', 'm.onSaveCheckpoint']);

    const later: string[] = [];
    const second = new Recording(later);
    const callback = new RecordingCallback(later);
    const resumed = new Trainer(quiet({ maxEpochs: 2, logger: false, callbacks: [callback] }));
    await resumed.fit(second, orderedData(), { ckptPath: join(dir, 'checkpoints', 'last.ckpt') });
    resumed.dispose();
    const expected = { callback_note: 'from the callback', module_counter: 2, nested: { list: [1, 'two', null] } };
    assert.deepEqual(second.loaded, expected);
    assert.deepEqual(callback.loaded, expected);
    const at = later.indexOf('m.onLoadCheckpoint');
    assert.ok(at > later.indexOf('m.setup:fit') && later[at + 1] === 'c.onLoadCheckpoint' && at < later.indexOf('m.onFitStart'), later.join(' '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('onSaveCheckpoint values that JSON cannot hold are refused with a clear error, and callbacks hear it through onException', async () => {
  const dir = tempDir('hooks-bad');
  try {
    class Bad extends Recording {
      override onSaveCheckpoint(checkpoint: CheckpointHookState): void { (checkpoint as Record<string, unknown>).big = 10n; }
    }
    const events: string[] = [];
    const callback = new RecordingCallback(events);
    const trainer = new Trainer(quiet({ maxEpochs: 1, defaultRootDir: dir, logger: false, callbacks: [callback] }));
    await assert.rejects(trainer.fit(new Bad(events), orderedData()), /onSaveCheckpoint: the values added to the checkpoint must be JSON-able/);
    assert.equal(callback.errors.length, 1);
    assert.match(String(callback.errors[0]), /JSON-able/);
    trainer.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configureCallbacks replaces the Trainer\'s callbacks of the same class; ModelCheckpoints go last', async () => {
  const events: string[] = [];
  const module = new Recording(events);
  const mine = new EarlyStopping({ monitor: 'val_loss', patience: 5 });
  const checkpoint = new ModelCheckpoint({ dirpath: tempDir('hooks-cc') });
  const recorder = new RecordingCallback(events);
  module.extraCallbacks = [checkpoint, mine];
  const trainer = new Trainer(quiet({ maxEpochs: 1, logger: false, callbacks: [new EarlyStopping({ monitor: 'val_loss' }), recorder] }));
  await trainer.fit(module, orderedData());
  assert.deepEqual(trainer.callbacks, [recorder, mine, checkpoint]);
  trainer.dispose();
  rmSync(checkpoint.dirpath(trainer), { recursive: true, force: true });
});

test("a data module's prepareData / setup / teardown run in Lightning's order, before its loaders are asked for", async () => {
  torch.manualSeed(0);
  const events: string[] = [];
  const base = orderedData();
  const data: DataModuleLike = {
    prepareData: () => { events.push('d.prepareData'); },
    setup: (stage) => { events.push(`d.setup:${stage}`); },
    teardown: (stage) => { events.push(`d.teardown:${stage}`); },
    trainDataloader: () => { events.push('d.trainDataloader'); return base.trainDataloader(); },
    valDataloader: () => { events.push('d.valDataloader'); return base.valDataloader!(); },
    testDataloader: () => { events.push('d.testDataloader'); return base.testDataloader!(); },
  };
  const module = new Recording(events);
  const trainer = new Trainer(quiet({ maxEpochs: 1, numSanityValSteps: 0, callbacks: [new RecordingCallback(events)] }));
  await trainer.fit(module, data);
  const fitOrder = events.filter((e) => e.startsWith('d.') || e.includes('setup') || e.includes('teardown'));
  assert.deepEqual(fitOrder, ['d.prepareData', 'd.setup:fit', 'c.setup:fit', 'm.setup:fit', 'd.trainDataloader', 'd.valDataloader',
    'd.teardown:fit', 'c.teardown:fit', 'm.teardown:fit']);
  events.length = 0;
  await trainer.test(module, data);
  assert.deepEqual(events.filter((e) => e.startsWith('d.')), ['d.prepareData', 'd.setup:test', 'd.testDataloader', 'd.teardown:test']);
  trainer.dispose();
});
