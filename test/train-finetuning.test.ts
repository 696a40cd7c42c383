// Lightning's finetuning callbacks: BaseFinetuning's static helpers (freeze,
// makeTrainable, filterParams, flattenModules, unfreezeAndAddParamGroup and
// its lr rule), BackboneFinetuning's schedule checked against Lightning's
// formula computed here, frozen weights that do not move before the unfreeze
// epoch, BatchNorm handling (trainBn), a custom BaseFinetuning, runs
// interrupted and resumed at several points ending on the weights of a
// straight run, and errors for bad options or a module without `backbone`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { BatchNorm1d, Linear, Module, Sequential, Tanh } from '../src/nn/index.js';
import { SGD, StepLR } from '../src/optim/index.js';
import type { Optimizer } from '../src/optim/index.js';
import { Compose, DataLoader, Normalize, ToTensor } from '../src/data/index.js';
import type { Batch } from '../src/data/index.js';
import { BackboneFinetuning, BaseFinetuning, Callback, LearningRateMonitor, LightningModule, Trainer } from '../src/train/index.js';
import type { BackboneFinetuningOptions, DataModuleLike, OptimizerConfig, TrainerOptions } from '../src/train/index.js';
import { TINY_MEAN, TINY_STD, captureOutput, tinyDataset } from './helpers/tiny-training.js';
import { MemoryLogger } from './helpers/memory-logger.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));
const quiet = (o: TrainerOptions = {}): TrainerOptions => ({
  output: captureOutput(), enableProgressBar: false, enableModelSummary: false, numSanityValSteps: 0, accelerator: 'cpu', precision: '64-true', ...o,
});

/** The tiny problem in a fixed order: 6 training batches of 32 per epoch. */
function orderedData(): DataModuleLike {
  const train = tinyDataset(192, 1);
  const transform = () => new Compose([new ToTensor(), new Normalize(TINY_MEAN, TINY_STD)]);
  return { trainDataloader: () => new DataLoader(train, { batchSize: 32, transform: transform() }) };
}

interface NetOptions { batchNorm?: boolean; scheduler?: boolean; lr?: number }

/** A `backbone` (Linear → [BatchNorm] → Tanh) and a linear `head`, trained with SGD on the trainable parameters only. */
class BackboneNet extends LightningModule {
  readonly backbone: Sequential;
  readonly head: Linear;
  constructor(private readonly options: NetOptions = {}) {
    super();
    this.backbone = this.registerModule('backbone', new Sequential(new Linear(64, 8), ...(options.batchNorm ? [new BatchNorm1d(8)] : []), new Tanh()));
    this.head = this.registerModule('head', new Linear(8, 3));
  }
  forward(x: Tensor): Tensor { return this.head.forward(this.backbone.forward(x.flatten(1)) as Tensor); }
  trainingStep(batch: Batch): Tensor {
    return this.forward(batch.x).sub(batch.y.to(batch.x.dtype).unsqueeze(1)).square().mean();
  }
  configureOptimizers(): OptimizerConfig {
    const optimizer = new SGD(this.parameters().filter((p) => p.requiresGrad), { lr: this.options.lr ?? 0.1, momentum: 0.9 });
    return this.options.scheduler ? { optimizer, scheduler: new StepLR(optimizer, { stepSize: 1, gamma: 0.7 }) } : { optimizer };
  }
}

function net(seed: number, options: NetOptions = {}): BackboneNet {
  torch.manualSeed(seed);
  return new BackboneNet(options);
}

/** Copies of a module's parameters and buffers, by name. */
function snapshot(module: Module): Map<string, Tensor> {
  return new Map([...module.stateDict()].map(([name, t]) => {
    const copy = torch.keep(t.clone());
    t.dispose();
    return [name, copy];
  }));
}

function maxDifference(a: Map<string, Tensor>, b: Map<string, Tensor>, prefix = ''): number {
  let worst = 0;
  for (const [name, t] of a) if (name.startsWith(prefix)) worst = Math.max(worst, torch.scope(() => t.sub(b.get(name)!).abs().max().item()));
  return worst;
}

/** At each epoch's start (after the finetuning callback): the groups' lrs and the weights. */
class EpochRecorder extends Callback {
  lrs: number[][] = [];
  weights: Map<string, Tensor>[] = [];
  override onTrainEpochStart(trainer: Trainer, module: LightningModule): void {
    this.lrs.push(trainer.optimizer!.paramGroups.map((g) => g.lr));
    this.weights.push(snapshot(module));
  }
}

/**
 * Lightning's documented schedule, written out: the head's lr (SGD 0.1, ×0.7
 * per epoch with the scheduler); the backbone's lr appears at `at` as
 * initial (or head × ratio), then becomes lambda(epoch + 1) × previous,
 * capped at the head's lr when aligning.
 */
function expectedLrs(epochs: number, o: { at: number; decay: number; lambda: (e: number) => number; ratio: number; initial?: number; align: boolean }): number[][] {
  const out: number[][] = [];
  let previous = 0;
  for (let e = 0; e < epochs; e++) {
    const head = 0.1 * o.decay ** e;
    if (e < o.at) {
      out.push([head]);
      continue;
    }
    if (e === o.at) previous = o.initial ?? head * o.ratio;
    else {
      const grown = o.lambda(e + 1) * previous;
      previous = o.align && grown > head ? head : grown;
    }
    out.push([head, previous]);
  }
  return out;
}

function assertLrs(actual: number[][], expected: number[][], what: string): void {
  assert.deepEqual(actual.map((row) => row.length), expected.map((row) => row.length), `${what}: groups per epoch`);
  actual.forEach((row, e) => row.forEach((lr, g) => {
    assert.ok(Math.abs(lr - expected[e][g]) <= 1e-15 * expected[e][g], `${what}: epoch ${e} group ${g}: ${lr} vs ${expected[e][g]}`);
  }));
}

test('static helpers: flattenModules, freeze (trainBn), makeTrainable, filterParams, freezeModule', () => {
  const bn = new BatchNorm1d(4);
  const inner = new Sequential(bn, new Linear(4, 4));
  const outer = new Sequential(new Linear(4, 4), inner, new Tanh());
  const flat = BaseFinetuning.flattenModules(outer);
  assert.deepEqual(flat.map((m) => m.constructor.name), ['Linear', 'BatchNorm1d', 'Linear', 'Tanh'], 'leaves only (containers have no own parameters)');
  assert.deepEqual(BaseFinetuning.flattenModules([outer, [inner]]).length, 4, 'nested iterables; each module once');
  assert.throws(() => BaseFinetuning.flattenModules([42 as unknown as Module]), /expected a Module or an iterable of Modules, got number/);

  BaseFinetuning.freeze(outer);
  assert.deepEqual(outer.parameters().map((p) => p.requiresGrad), [false, false, true, true, false, false], 'trainBn: the BatchNorm stays trainable');
  assert.equal(bn.trackRunningStats, true);
  assert.equal(BaseFinetuning.filterParams(outer).length, 2, 'the trainable ones: BatchNorm weight and bias');
  assert.equal(BaseFinetuning.filterParams(outer, false).length, 0, 'without BatchNorms: none');
  assert.equal(BaseFinetuning.filterParams(outer, true, false).length, 4, 'the frozen ones');

  BaseFinetuning.freeze(outer, false);
  assert.ok(outer.parameters().every((p) => !p.requiresGrad));
  assert.equal(bn.trackRunningStats, false, 'a frozen BatchNorm stops tracking statistics');
  // A frozen BatchNorm in training leaves its running statistics alone (PyTorch's track_running_stats = False).
  torch.scope(() => {
    bn.train();
    const before = bn.runningMean!.clone();
    bn.forward(torch.randn([8, 4]).add(3));
    assert.equal(bn.runningMean!.sub(before).abs().max().item(), 0);
  });

  BaseFinetuning.makeTrainable(inner);
  assert.deepEqual(outer.parameters().map((p) => p.requiresGrad), [false, false, true, true, true, true]);
  assert.equal(bn.trackRunningStats, true);
  BaseFinetuning.freezeModule(bn);
  assert.equal(bn.weight!.requiresGrad, false);
  outer.dispose();
});

test("unfreezeAndAddParamGroup: Lightning's lr rule, parameters already in the optimizer skipped with a warning", () => {
  const frozen = new Linear(3, 3);
  const trained = new Linear(3, 2);
  BaseFinetuning.freeze(frozen);
  const optimizer = new SGD(trained.parameters(), { lr: 0.5, momentum: 0.9 });
  BaseFinetuning.unfreezeAndAddParamGroup(frozen, optimizer);
  assert.equal(optimizer.paramGroups.length, 2);
  assert.equal(optimizer.paramGroups[1].lr, 0.05, 'no lr: the first group\'s lr / initialDenomLr (10)');
  assert.equal(optimizer.paramGroups[1].momentum, 0.9, 'the other hyperparameters: the defaults');
  assert.deepEqual(optimizer.paramGroups[1].params, frozen.parameters());
  assert.ok(frozen.parameters().every((p) => p.requiresGrad));

  const other = new Linear(3, 1);
  BaseFinetuning.freeze(other);
  BaseFinetuning.unfreezeAndAddParamGroup(other, optimizer, { initialDenomLr: 4 });
  assert.equal(optimizer.paramGroups[2].lr, 0.125);
  const third = new Linear(2, 2);
  BaseFinetuning.unfreezeAndAddParamGroup(third, optimizer, { lr: 0.003, initialDenomLr: 4 });
  assert.equal(optimizer.paramGroups[3].lr, 0.003, 'a given lr is used as is (initialDenomLr ignored)');

  const warnings: string[] = [];
  BaseFinetuning.unfreezeAndAddParamGroup([frozen, trained], optimizer, { warn: (m) => warnings.push(m) });
  assert.equal(optimizer.paramGroups.length, 4, 'every parameter is already there: no group');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /4 of the parameters to unfreeze already belong to a group of SGD; they are skipped/);

  assert.throws(() => BaseFinetuning.unfreezeAndAddParamGroup(new Linear(2, 2), optimizer, { lr: -1 }), /lr must be a finite number > 0, got -1/);
  assert.throws(() => BaseFinetuning.unfreezeAndAddParamGroup(new Linear(2, 2), optimizer, { initialDenomLr: 0 }), /initialDenomLr must be a finite number > 0, got 0/);
  assert.throws(() => BaseFinetuning.unfreezeAndAddParamGroup(new Linear(2, 2), optimizer, { trainBn: 1 as unknown as boolean }), /trainBn must be a boolean/);
  optimizer.dispose();
});

test("BackboneFinetuning: frozen until the unfreeze epoch, then a new group on Lightning's lr schedule (aligned to the head's)", async () => {
  const recorder = new EpochRecorder();
  const logger = new MemoryLogger();
  const finetuning = new BackboneFinetuning({ unfreezeBackboneAtEpoch: 1 });
  const module = net(0, { scheduler: true });
  const epochs = 6;
  const trainer = new Trainer(quiet({ maxEpochs: epochs, logger, callbacks: [finetuning, recorder, new LearningRateMonitor()] }));
  await trainer.fit(module, orderedData());

  // Lightning's defaults: ratio 0.1, lambda 2 (its `multiplicative`), aligned; the head decays by 0.7 per epoch.
  const expected = expectedLrs(epochs, { at: 1, decay: 0.7, lambda: () => 2, ratio: 0.1, align: true });
  assertLrs(recorder.lrs, expected, 'defaults');
  assert.equal(expected[4][1], expected[4][0], 'the comparison reaches the alignment (epoch 4: 0.056 > 0.0240 → capped)');
  assert.ok(expected[3][1] < expected[3][0]);

  // The backbone did not move during epoch 0 (frozen), the head did; both moved from epoch 1 on.
  const [start0, start1, start2] = recorder.weights;
  assert.equal(maxDifference(start0, start1, 'backbone.'), 0, 'frozen backbone unchanged');
  assert.ok(maxDifference(start0, start1, 'head.') > 1e-4, 'the head trained');
  assert.ok(maxDifference(start1, start2, 'backbone.') > 1e-6, 'the backbone trains once unfrozen');
  assert.ok(module.backbone.parameters().every((p) => p.requiresGrad));

  // LearningRateMonitor sees the new group: lr-SGD, then lr-SGD/pg1 and lr-SGD/pg2.
  const lrRows = logger.metricRows.filter((row) => Object.keys(row).some((k) => k.startsWith('lr-SGD')));
  assert.deepEqual(Object.keys(lrRows[0]), ['lr-SGD']);
  assert.deepEqual(Object.keys(lrRows[1]).sort(), ['lr-SGD/pg1', 'lr-SGD/pg2']);
  assert.ok(Math.abs(lrRows[2]['lr-SGD/pg2'] - expected[2][1]) <= 1e-17);

  // The state names the groups' parameters (Lightning's internal_optimizer_metadata) and the backbone's lr.
  const state = finetuning.stateDict() as { internal_optimizer_metadata: Record<string, { params: string[]; lr: number }[]>; previous_backbone_lr: number };
  assert.deepEqual(state.internal_optimizer_metadata['0'].map((g) => g.params), [['head.weight', 'head.bias'], ['backbone.0.weight', 'backbone.0.bias']]);
  assert.equal(state.previous_backbone_lr, expected[epochs - 1][1]);
  trainer.dispose();
  module.dispose();
});

test('BackboneFinetuning: a given initial lr, a custom lambda without alignment, verbose lines', async () => {
  const recorder = new EpochRecorder();
  const output = captureOutput();
  const trainer = new Trainer(quiet({
    maxEpochs: 5, logger: false, output,
    callbacks: [new BackboneFinetuning({ unfreezeBackboneAtEpoch: 2, lambdaFunc: (e) => e / 2, backboneInitialLr: 0.08, shouldAlign: false, verbose: true, rounding: 4 }), recorder],
  }));
  const module = net(1);
  await trainer.fit(module, orderedData());
  const expected = expectedLrs(5, { at: 2, decay: 1, lambda: (e) => e / 2, ratio: 0.1, initial: 0.08, align: false });
  assertLrs(recorder.lrs, expected, 'custom');
  assert.ok(expected[4][1] > 0.1, 'not capped at the head\'s lr');
  const lines = output.text().split('\n').filter((l) => l.startsWith('Current lr'));
  assert.deepEqual(lines, ['Current lr: 0.1, Backbone lr: 0.08', 'Current lr: 0.1, Backbone lr: 0.16', 'Current lr: 0.1, Backbone lr: 0.4']);
  trainer.dispose();
  module.dispose();
});

test('BackboneFinetuning with BatchNorm: trainBn false freezes it (no statistics either); the default trains it from the start', async () => {
  // trainBn: false — the BatchNorm's weights and running statistics stay put until the unfreeze epoch.
  const recorder = new EpochRecorder();
  const module = net(2, { batchNorm: true });
  const trainer = new Trainer(quiet({ maxEpochs: 2, logger: false, callbacks: [new BackboneFinetuning({ unfreezeBackboneAtEpoch: 1, trainBn: false }), recorder] }));
  await trainer.fit(module, orderedData());
  const [start0, start1] = recorder.weights;
  assert.equal(maxDifference(start0, start1, 'backbone.'), 0, 'weights and running statistics unchanged in epoch 0');
  assert.equal(trainer.optimizer!.paramGroups[1].params.length, 2, "the new group: the Linear's weight and bias, not the BatchNorm's (Lightning's filter)");
  const bn = module.backbone.children()[1] as BatchNorm1d;
  assert.equal(bn.trackRunningStats, true, 'made trainable: it tracks statistics again');
  assert.ok(bn.numBatchesTracked!.item() === 6, 'tracked during epoch 1 only');
  trainer.dispose();
  module.dispose();

  // Default trainBn: the BatchNorm trains from the start (it is in the first group); the unfreeze skips it with a warning.
  const output = captureOutput();
  const withBn = net(2, { batchNorm: true });
  const second = new EpochRecorder();
  const trained = new Trainer(quiet({ maxEpochs: 2, logger: false, output, callbacks: [new BackboneFinetuning({ unfreezeBackboneAtEpoch: 1 }), second] }));
  await trained.fit(withBn, orderedData());
  assert.ok(maxDifference(second.weights[0], second.weights[1], 'backbone.1.') > 1e-6, 'the BatchNorm trained in epoch 0');
  assert.equal(maxDifference(second.weights[0], second.weights[1], 'backbone.0.'), 0, 'the Linear did not');
  assert.match(output.text(), /warning: BaseFinetuning: 2 of the parameters to unfreeze already belong to a group of SGD; they are skipped/);
  trained.dispose();
  withBn.dispose();
});

/** Interrupts the fit after batch `batch` of epoch `epoch`. */
class InterruptAt extends Callback {
  constructor(private readonly epoch: number, private readonly batch: number) { super(); }
  override onTrainBatchEnd(trainer: Trainer, _m: LightningModule, _loss: number, batchIndex: number): void {
    if (trainer.currentEpoch === this.epoch && batchIndex === this.batch) trainer.interrupt();
  }
}

test('a run interrupted and resumed (before, during and after the unfreeze epoch) ends on the weights and lrs of a straight run', async () => {
  const dir = tempDir('finetune-resume');
  const options: BackboneFinetuningOptions = { unfreezeBackboneAtEpoch: 1, lambdaFunc: () => 1.5 };
  const epochs = 4;
  try {
    const straight = net(3, { scheduler: true, batchNorm: true });
    const straightTrainer = new Trainer(quiet({ maxEpochs: epochs, logger: false, callbacks: [new BackboneFinetuning(options)] }));
    await straightTrainer.fit(straight, orderedData());
    const expectedWeights = snapshot(straight);
    const expectedLrs = straightTrainer.optimizer!.paramGroups.map((g) => g.lr);
    assert.equal(expectedLrs.length, 2);

    // After the last batch of epoch 0 (resumes at epoch 1's start), in the middle of the unfreeze epoch, and two epochs later.
    for (const [epoch, batch] of [[0, 5], [1, 2], [3, 3]]) {
      const first = net(3, { scheduler: true, batchNorm: true });
      const stopped = await new Trainer(quiet({ maxEpochs: epochs, defaultRootDir: dir, logger: false, callbacks: [new BackboneFinetuning(options), new InterruptAt(epoch, batch)] }))
        .fit(first, orderedData());
      assert.equal(stopped.interrupted, true);
      const output = captureOutput();
      const resumed = net(11, { scheduler: true, batchNorm: true });
      const trainer = new Trainer(quiet({ maxEpochs: epochs, logger: false, output, callbacks: [new BackboneFinetuning(options)] }));
      const result = await trainer.fit(resumed, orderedData(), { ckptPath: stopped.interruptedCheckpoint! });
      assert.equal(result.globalStep, epochs * 6);
      assert.equal(maxDifference(snapshot(resumed), expectedWeights), 0, `resumed after epoch ${epoch} batch ${batch} vs straight`);
      assert.deepEqual(trainer.optimizer!.paramGroups.map((g) => g.lr), expectedLrs, `lrs after epoch ${epoch} batch ${batch}`);
      // The BatchNorm (trained from the start) is skipped with a warning where the unfreezing runs: only in a run resumed before it.
      if (epoch === 0) assert.match(output.text(), /already belong to a group/);
      else assert.doesNotMatch(output.text(), /already belong to a group/, 'the unfreezing is not repeated on resume');
      first.dispose();
      resumed.dispose();
      trainer.dispose();
    }
    straight.dispose();
    straightTrainer.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A BaseFinetuning of its own: unfreezes the backbone's first layer at epoch 1, the head's bias stays frozen until epoch 2. */
class TwoStage extends BaseFinetuning {
  override freezeBeforeTraining(module: LightningModule): void {
    const m = module as BackboneNet;
    BaseFinetuning.freeze([m.backbone]);
    m.head.getParameter('bias')!.requiresGrad_(false);
  }
  override finetuneFunction(module: LightningModule, epoch: number, optimizer: Optimizer): void {
    const m = module as BackboneNet;
    if (epoch === 1) BaseFinetuning.unfreezeAndAddParamGroup(m.backbone, optimizer, { initialDenomLr: 5 });
    if (epoch === 2) optimizer.addParamGroup({ params: [m.head.getParameter('bias')!.requiresGrad_(true)], lr: 0.3 });
  }
}

test('a BaseFinetuning subclass: groups added at two epochs are recorded by name and rebuilt on resume', async () => {
  const dir = tempDir('finetune-custom');
  try {
    const recorder = new EpochRecorder();
    const straight = net(4);
    const straightTrainer = new Trainer(quiet({ maxEpochs: 4, logger: false, callbacks: [new TwoStage(), recorder] }));
    await straightTrainer.fit(straight, orderedData());
    assert.deepEqual(recorder.lrs, [[0.1], [0.1, 0.02], [0.1, 0.02, 0.3], [0.1, 0.02, 0.3]]);
    const callback = new TwoStage();
    const first = net(4);
    const stopped = await new Trainer(quiet({ maxEpochs: 4, defaultRootDir: dir, logger: false, callbacks: [callback, new InterruptAt(2, 1)] })).fit(first, orderedData());
    const state = callback.stateDict() as { internal_optimizer_metadata: Record<string, { params: string[] }[]>; frozen_parameters: string[] };
    assert.deepEqual(state.internal_optimizer_metadata['0'].map((g) => g.params), [['head.weight'], ['backbone.0.weight', 'backbone.0.bias'], ['head.bias']]);
    assert.deepEqual(state.frozen_parameters, []);
    const resumed = net(12);
    const trainer = new Trainer(quiet({ maxEpochs: 4, logger: false, callbacks: [new TwoStage()] }));
    await trainer.fit(resumed, orderedData(), { ckptPath: stopped.interruptedCheckpoint! });
    assert.equal(maxDifference(snapshot(resumed), snapshot(straight)), 0, 'resumed vs straight');
    assert.deepEqual(trainer.optimizer!.paramGroups.map((g) => g.params.length), [1, 2, 1]);
    for (const m of [straight, first, resumed]) m.dispose();
    straightTrainer.dispose();
    trainer.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BackboneFinetuning: bad options and a module without a registered `backbone` are errors', async () => {
  const bad: [BackboneFinetuningOptions, RegExp][] = [
    [{ unfreezeBackboneAtEpoch: -1 }, /unfreezeBackboneAtEpoch must be an integer ≥ 0, got -1/],
    [{ unfreezeBackboneAtEpoch: 1.5 }, /unfreezeBackboneAtEpoch must be an integer ≥ 0, got 1.5/],
    [{ lambdaFunc: 2 as unknown as () => number }, /lambdaFunc must be a function of the epoch, got number/],
    [{ backboneInitialRatioLr: 0 }, /backboneInitialRatioLr must be a finite number > 0, got 0/],
    [{ backboneInitialLr: -0.1 }, /backboneInitialLr must be a finite number > 0, got -0.1/],
    [{ initialDenomLr: Infinity }, /initialDenomLr must be a finite number > 0/],
    [{ shouldAlign: 'yes' as unknown as boolean }, /shouldAlign must be a boolean, got "yes"/],
    [{ trainBn: 0 as unknown as boolean }, /trainBn must be a boolean, got 0/],
    [{ rounding: -1 }, /rounding must be an integer in \[0, 100\], got -1/],
  ];
  for (const [options, message] of bad) assert.throws(() => new BackboneFinetuning(options), message);
  assert.throws(() => new BackboneFinetuning(null as unknown as BackboneFinetuningOptions), /options must be an object/);

  class NoBackbone extends LightningModule {
    readonly body = this.registerModule('body', new Linear(64, 3));
    forward(x: Tensor): Tensor { return this.body.forward(x.flatten(1)); }
    trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
    configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: 0.1 }) }; }
  }
  class UnregisteredBackbone extends NoBackbone {
    readonly backbone = new Linear(3, 3);
  }
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, logger: false, callbacks: [new BackboneFinetuning()] })).fit(new NoBackbone(), orderedData()),
    /BackboneFinetuning: the LightningModule should have a `backbone` child Module .*NoBackbone has none/);
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, logger: false, callbacks: [new BackboneFinetuning()] })).fit(new UnregisteredBackbone(), orderedData()),
    /UnregisteredBackbone has a backbone that is not registered as its child/);
  await assert.rejects(new Trainer(quiet({ maxEpochs: 2, logger: false, callbacks: [new BackboneFinetuning({ unfreezeBackboneAtEpoch: 0, lambdaFunc: () => NaN })] }))
    .fit(net(0), orderedData()), /lambdaFunc\(2\) × the previous backbone lr 0.01\d* gives NaN, not a finite lr ≥ 0/);
  assert.throws(() => new BackboneFinetuning().loadStateDict({ previous_backbone_lr: 'x' }), /previous_backbone_lr must be a number or null/);
  assert.throws(() => new BackboneFinetuning().loadStateDict({ previous_backbone_lr: null }), /expected \{ internal_optimizer_metadata, … \}/);
});
