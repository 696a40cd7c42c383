// Lightning's manual optimization and several optimizers: a trainingStep that
// zeroes, backpropagates (manualBackward) and steps its optimizers itself
// trains exactly as the same loop written by hand; two optimizers (a GAN's
// pattern, with toggleOptimizer) count two global steps per batch, resume
// exactly from a checkpoint, log one learning rate each; the options only
// automatic optimization honours are refused with the fix named; LBFGS gets
// the training step as its closure, automatically or from a manual step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear, clipGradNorm_ } from '../src/nn/index.js';
import { Adam, LBFGS, LRScheduler, ReduceLROnPlateau, SGD, StepLR } from '../src/optim/index.js';
import type { Optimizer } from '../src/optim/index.js';
import { Compose, DataLoader, Normalize, ToTensor } from '../src/data/index.js';
import type { Batch } from '../src/data/index.js';
import { LearningRateMonitor, LightningModule, PrecisionPlugin, Trainer, readCheckpoint, saveCheckpoint } from '../src/train/index.js';
import type { DataModuleLike, TrainerOptions } from '../src/train/index.js';
import type { ConfigureOptimizersResult } from '../src/train/index.js';
import { TINY_MEAN, TINY_STD, captureOutput, tinyDataset } from './helpers/tiny-training.js';
import { MemoryLogger } from './helpers/memory-logger.js';

const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, precision: '64-true', ...o });

/** The tiny problem in a fixed order (no shuffling). */
function orderedData(batchSize = 32): DataModuleLike {
  const train = tinyDataset(96, 1);
  const transform = () => new Compose([new ToTensor(), new Normalize(TINY_MEAN, TINY_STD)]);
  return { trainDataloader: () => new DataLoader(train, { batchSize, transform: transform() }) };
}

const mse = (out: Tensor, y: Tensor): Tensor => out.sub(y.to(out.dtype).unsqueeze(1)).square().mean();

/**
 * Two linear heads on the same input, each with its optimizer: `a` fits the
 * labels; `b` fits them on top of `a`'s (frozen for b's step) output.
 */
class TwoHeads extends LightningModule {
  readonly a = this.registerModule('a', new Linear(64, 1));
  readonly b = this.registerModule('b', new Linear(64, 1));
  override automaticOptimization = false;
  clipAt: number | null = null;
  clippedNorms: number[] = [];
  rawNorms: number[] = [];
  stepSchedulerEachEpoch = false;
  schedulerName: string | undefined;
  /** requiresGrad of a's weight seen during b's backward. */
  aRequiresGradInB: boolean[] = [];

  forward(x: Tensor): Tensor { return this.b.forward(x.flatten(1)).add(this.a.forward(x.flatten(1))); }

  trainingStep(batch: Batch): Tensor {
    const [optA, optB] = this.optimizers();
    const x = batch.x.flatten(1);
    optA.zeroGrad();
    const lossA = mse(this.a.forward(x), batch.y);
    this.manualBackward(lossA);
    if (this.clipAt !== null) {
      this.rawNorms.push(gradNorm(this.a.parameters()));
      this.clipGradients(optA, this.clipAt, 'norm');
    }
    optA.step();

    this.toggleOptimizer(optB);
    optB.zeroGrad();
    this.aRequiresGradInB.push(this.a.weight.requiresGrad);
    const lossB = mse(this.b.forward(x).add(this.a.forward(x)), batch.y);
    this.manualBackward(lossB);
    optB.step();
    this.untoggleOptimizer(optB);
    this.log('loss_b', lossB, { onEpoch: true });
    return lossA;
  }

  override onBeforeOptimizerStep(optimizer: Optimizer): void {
    if (this.clipAt !== null && optimizer.paramGroups[0].params.includes(this.a.weight)) this.clippedNorms.push(gradNorm(this.a.parameters()));
  }

  override onTrainEpochEnd(): void {
    if (this.stepSchedulerEachEpoch) for (const s of this.lrSchedulers()) if (s instanceof LRScheduler) s.step();
  }

  configureOptimizers(): ConfigureOptimizersResult {
    const optA = new SGD(this.a.parameters(), { lr: 0.05, momentum: 0.9 });
    const optB = new Adam(this.b.parameters(), { lr: 0.01 });
    return [
      { optimizer: optA, lrScheduler: { scheduler: new StepLR(optA, { stepSize: 1, gamma: 0.5 }), interval: 'step' } },
      { optimizer: optB, lrScheduler: { scheduler: new StepLR(optB, { stepSize: 1, gamma: 0.5 }), name: this.schedulerName } },
    ];
  }
}

function gradNorm(params: Tensor[]): number {
  return Math.sqrt(params.reduce((sum, p) => sum + (p.grad ? p.grad.square().sum().item() : 0), 0));
}

function twoHeads(seed: number): TwoHeads {
  torch.manualSeed(seed);
  return new TwoHeads();
}

/** The same training written as a plain loop over the same batches, in float64. */
async function handLoop(module: TwoHeads, epochs: number, clipAt: number | null = null): Promise<void> {
  module.to('float64');
  const optA = new SGD(module.a.parameters(), { lr: 0.05, momentum: 0.9 });
  const optB = new Adam(module.b.parameters(), { lr: 0.01 });
  for (let e = 0; e < epochs; e++) {
    for await (const batch of orderedData().trainDataloader()) {
      torch.scope(() => {
        const x = batch.x.to('float64').flatten(1);
        optA.zeroGrad();
        mse(module.a.forward(x), batch.y).backward();
        if (clipAt !== null) clipGradNorm_(module.a.parameters(), clipAt);
        optA.step();
        optB.zeroGrad();
        mse(module.b.forward(x).add(module.a.forward(x).detach()), batch.y).backward();
        optB.step();
      });
      batch.x.dispose();
      batch.y.dispose();
    }
  }
  optA.dispose();
  optB.dispose();
}

function maxDifference(a: LightningModule, b: LightningModule): number {
  const other = b.stateDict();
  let worst = 0;
  for (const [k, t] of a.stateDict()) worst = Math.max(worst, t.sub(other.get(k)!).abs().max().item());
  return worst;
}

test('manual optimization with two optimizers trains as the hand-written loop; each optimizer step is a global step', async () => {
  const module = twoHeads(3);
  const reference = twoHeads(3);
  const trainer = new Trainer(quiet({ maxEpochs: 2 }));
  const result = await trainer.fit(module, orderedData());
  await handLoop(reference, 2);
  assert.ok(maxDifference(module, reference) < 1e-12, `largest weight difference ${maxDifference(module, reference)}`);
  assert.equal(result.globalStep, 2 * 2 * 3, 'two optimizer steps per batch, 3 batches, 2 epochs');
  assert.ok(module.aRequiresGradInB.every((r) => r === false), "toggleOptimizer froze a's parameters during b's step");
  assert.equal(module.a.weight.requiresGrad, true, 'untoggleOptimizer gave them back');
  assert.ok(Number.isFinite(result.metrics.loss_b), 'values logged in a manual step reach the epoch metrics');
  // Schedulers are the module's to step under manual optimization (their interval is ignored, as in Lightning).
  assert.deepEqual(trainer.optimizers.map((o) => o.paramGroups[0].lr), [0.05, 0.01]);
  trainer.dispose();
});

test('manual clipGradients clips the optimizer\'s gradients before its step, as clipGradNorm_ in the hand loop', async () => {
  const module = twoHeads(4);
  module.clipAt = 0.05;
  const reference = twoHeads(4);
  const trainer = new Trainer(quiet({ maxEpochs: 1 }));
  await trainer.fit(module, orderedData());
  await handLoop(reference, 1, 0.05);
  assert.ok(module.rawNorms.some((n) => n > 0.05), `some raw gradient norms exceed the bound: ${module.rawNorms}`);
  for (const n of module.clippedNorms) assert.ok(n <= 0.05 + 1e-12, `clipped norm ${n}`);
  assert.ok(maxDifference(module, reference) < 1e-12);
  trainer.dispose();
});

test('manual optimization: the module steps lrSchedulers() itself; LearningRateMonitor logs one rate per optimizer, with scheduler names', async () => {
  const module = twoHeads(5);
  module.stepSchedulerEachEpoch = true;
  module.schedulerName = 'head-b';
  const logger = new MemoryLogger();
  const trainer = new Trainer(quiet({ maxEpochs: 3, logger, callbacks: [new LearningRateMonitor()] }));
  await trainer.fit(module, orderedData());
  assert.deepEqual(trainer.optimizers.map((o) => o.paramGroups[0].lr), [0.05 / 8, 0.01 / 8], 'halved at each of the 3 epoch ends');
  const rates = logger.metricRows.filter((r) => 'lr-SGD' in r);
  assert.deepEqual(rates.map((r) => [r['lr-SGD'], r['head-b']]), [[0.05, 0.01], [0.025, 0.005], [0.0125, 0.0025]]);
  trainer.dispose();
});

test('two optimizers of one class are logged as lr-Adam and lr-Adam-1', async () => {
  class TwoAdams extends TwoHeads {
    override configureOptimizers(): ConfigureOptimizersResult {
      return [new Adam(this.a.parameters(), { lr: 0.02 }), new Adam(this.b.parameters(), { lr: 0.01 })];
    }
  }
  torch.manualSeed(6);
  const module = new TwoAdams();
  const logger = new MemoryLogger();
  const trainer = new Trainer(quiet({ maxEpochs: 1, logger, callbacks: [new LearningRateMonitor()] }));
  await trainer.fit(module, orderedData());
  const row = logger.metricRows.find((r) => 'lr-Adam' in r)!;
  assert.deepEqual([row['lr-Adam'], row['lr-Adam-1']], [0.02, 0.01]);
  trainer.dispose();
  // As Lightning, optimizers with a scheduler are named first: here the second one.
  class SecondScheduled extends TwoHeads {
    override configureOptimizers(): ConfigureOptimizersResult {
      const second = new Adam(this.b.parameters(), { lr: 0.01 });
      return [{ optimizer: new Adam(this.a.parameters(), { lr: 0.02 }) }, { optimizer: second, lrScheduler: new StepLR(second, { stepSize: 5 }) }];
    }
  }
  const logger2 = new MemoryLogger();
  const trainer2 = new Trainer(quiet({ maxEpochs: 1, logger: logger2, callbacks: [new LearningRateMonitor()] }));
  await trainer2.fit(new SecondScheduled(), orderedData());
  const row2 = logger2.metricRows.find((r) => 'lr-Adam' in r)!;
  assert.deepEqual([row2['lr-Adam'], row2['lr-Adam-1']], [0.01, 0.02]);
  trainer2.dispose();
});

test('a run with two optimizers resumes from its checkpoint to the weights of an uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-manual-'));
  try {
    const whole = twoHeads(7);
    whole.stepSchedulerEachEpoch = true;
    const wholeTrainer = new Trainer(quiet({ maxEpochs: 2 }));
    await wholeTrainer.fit(whole, orderedData());

    const first = twoHeads(7);
    first.stepSchedulerEachEpoch = true;
    const firstTrainer = new Trainer(quiet({ maxEpochs: 1 }));
    await firstTrainer.fit(first, orderedData());
    const path = join(dir, 'epoch1.ckpt');
    await firstTrainer.saveCheckpoint(path);
    const resumed = twoHeads(99);
    resumed.stepSchedulerEachEpoch = true;
    const resumedTrainer = new Trainer(quiet({ maxEpochs: 2 }));
    const result = await resumedTrainer.fit(resumed, orderedData(), { ckptPath: path });
    assert.equal(result.globalStep, 12);
    assert.ok(maxDifference(resumed, whole) < 1e-12, 'momentum and Adam moments of both optimizers were restored');
    // Each scheduler got its own state back (they start from different rates, so a swap would show).
    assert.deepEqual(resumedTrainer.optimizers.map((o) => o.paramGroups[0].lr), wholeTrainer.optimizers.map((o) => o.paramGroups[0].lr));
    assert.deepEqual(resumedTrainer.lrSchedulerConfigs.map((c) => c.scheduler.stateDict()), wholeTrainer.lrSchedulerConfigs.map((c) => c.scheduler.stateDict()));

    // A module configuring a different number of optimizers cannot resume from it.
    class OneHead extends TwoHeads {
      override configureOptimizers(): ConfigureOptimizersResult { return new SGD(this.parameters(), { lr: 0.1 }); }
    }
    const one = new OneHead();
    await assert.rejects(new Trainer(quiet({ maxEpochs: 2 })).fit(one, orderedData(), { ckptPath: path }), /holds the state of 2 optimizer\(s\) but configureOptimizers\(\) returned 1/);
    for (const t of [wholeTrainer, firstTrainer, resumedTrainer]) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** One linear head trained by a manual step equivalent to automatic optimization. */
class ManualSingle extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 1));
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  constructor(manual: boolean) {
    super();
    this.automaticOptimization = !manual;
  }
  trainingStep(batch: Batch): Tensor {
    const loss = mse(this.layer.forward(batch.x.flatten(1)), batch.y);
    if (this.automaticOptimization) return loss;
    const [opt] = this.optimizers();
    opt.zeroGrad();
    this.manualBackward(loss);
    opt.step();
    return loss;
  }
  configureOptimizers(): ConfigureOptimizersResult { return new SGD(this.parameters(), { lr: 0.05, momentum: 0.9 }); }
}

test('one optimizer: a manual step (zeroGrad, manualBackward, step) trains to the weights of automatic optimization', async () => {
  torch.manualSeed(8);
  const manual = new ManualSingle(true);
  torch.manualSeed(8);
  const automatic = new ManualSingle(false);
  const t1 = new Trainer(quiet({ maxEpochs: 2 }));
  const t2 = new Trainer(quiet({ maxEpochs: 2 }));
  const r1 = await t1.fit(manual, orderedData());
  const r2 = await t2.fit(automatic, orderedData());
  assert.ok(maxDifference(manual, automatic) < 1e-12);
  assert.equal(r1.globalStep, r2.globalStep);
  // optimizers() also answers under automatic optimization (e.g. to read the learning rate).
  assert.equal(automatic.optimizers()[0].paramGroups[0].lr, 0.05);
  t1.dispose();
  t2.dispose();
});

test('manual optimization refuses what only automatic optimization does, naming the fix', async () => {
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, accumulateGradBatches: 2 })).fit(twoHeads(1), orderedData()), /accumulateGradBatches is not supported with manual optimization/);
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, gradientClipVal: 1 })).fit(twoHeads(1), orderedData()), /call this\.clipGradients\(optimizer, value\)/);
  class TwoAutomatic extends TwoHeads { override automaticOptimization = true; }
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1 })).fit(new TwoAutomatic(), orderedData()), /2 optimizers: several optimizers need manual optimization/);
  class BackwardInAutomatic extends ManualSingle {
    override trainingStep(batch: Batch): Tensor {
      const loss = mse(this.layer.forward(batch.x.flatten(1)), batch.y);
      this.manualBackward(loss);
      return loss;
    }
  }
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1 })).fit(new BackwardInAutomatic(false), orderedData()), /manualBackward: only with manual optimization/);
  const idle = new ManualSingle(true);
  assert.throws(() => idle.optimizers(), /available while a Trainer fits this module/);
  class BadConfig extends ManualSingle {
    override configureOptimizers(): ConfigureOptimizersResult { return 'sgd' as unknown as ConfigureOptimizersResult; }
  }
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1 })).fit(new BadConfig(true), orderedData()), /must return an Optimizer, a config/);
  // A step taken outside trainingStep (here: at the epoch's end) is refused rather than silently uncounted.
  class StepOutside extends ManualSingle {
    override onTrainEpochEnd(): void { this.optimizers()[0].step(); }
  }
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1 })).fit(new StepOutside(true), orderedData()), /optimizer\.step: call it inside trainingStep/);
});

test('configureOptimizers in Lightning\'s two-list form: [optimizers], [schedulers]', async () => {
  class TwoLists extends TwoHeads {
    override configureOptimizers(): ConfigureOptimizersResult {
      const optA = new SGD(this.a.parameters(), { lr: 0.05, momentum: 0.9 });
      const optB = new Adam(this.b.parameters(), { lr: 0.01 });
      return [[optA, optB], [new StepLR(optB, { stepSize: 1, gamma: 0.1 })]];
    }
  }
  torch.manualSeed(9);
  const module = new TwoLists();
  module.stepSchedulerEachEpoch = true;
  const trainer = new Trainer(quiet({ maxEpochs: 1 }));
  await trainer.fit(module, orderedData());
  assert.equal(trainer.lrSchedulerConfigs.length, 1);
  assert.deepEqual(trainer.optimizers.map((o) => o.paramGroups[0].lr), [0.05, 0.01 * 0.1]);
  trainer.dispose();
});

/** Least squares on the tiny problem, stepped by LBFGS: automatically, or by a manual step with a closure. */
class LeastSquaresLBFGS extends ManualSingle {
  override trainingStep(batch: Batch): Tensor {
    const lossOf = () => mse(this.layer.forward(batch.x.flatten(1)), batch.y);
    if (this.automaticOptimization) return lossOf();
    const [opt] = this.optimizers();
    return opt.step(() => {
      opt.zeroGrad();
      const loss = lossOf();
      this.manualBackward(loss);
      return loss;
    })!;
  }
  override configureOptimizers(): ConfigureOptimizersResult {
    return new LBFGS(this.parameters(), { maxIter: 4, historySize: 3, lineSearchFn: 'strong_wolfe' });
  }
}

test('LBFGS in the Trainer: the training step is its closure (automatic and manual), as the hand loop with a closure', async () => {
  torch.manualSeed(10);
  const reference = new LeastSquaresLBFGS(false);
  reference.to('float64');
  const optimizer = new LBFGS(reference.parameters(), { maxIter: 4, historySize: 3, lineSearchFn: 'strong_wolfe' });
  let evaluations = 0;
  for (let epoch = 0; epoch < 2; epoch++) {
    for await (const batch of orderedData().trainDataloader()) {
      torch.scope(() => optimizer.step(() => {
        evaluations++;
        optimizer.zeroGrad();
        const loss = mse(reference.layer.forward(batch.x.to('float64').flatten(1)), batch.y);
        loss.backward();
        return loss;
      }));
      batch.x.dispose();
      batch.y.dispose();
    }
  }
  assert.ok(evaluations > 6, `the line search evaluated the loss more than once per batch (${evaluations} for 6 batches)`);
  for (const manual of [false, true]) {
    torch.manualSeed(10);
    const module = new LeastSquaresLBFGS(manual);
    let closureCalls = 0;
    module.onBeforeOptimizerStep = () => { closureCalls++; };
    const trainer = new Trainer(quiet({ maxEpochs: 2 }));
    const result = await trainer.fit(module, orderedData());
    assert.ok(maxDifference(module, reference) < 1e-12, `${manual ? 'manual' : 'automatic'}: largest weight difference ${maxDifference(module, reference)}`);
    assert.equal(result.globalStep, 6, 'one global step per LBFGS step');
    assert.equal(closureCalls, evaluations, 'onBeforeOptimizerStep ran after each evaluation of the closure, as Lightning');
    trainer.dispose();
  }
  optimizer.dispose();
  torch.manualSeed(10);
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, accumulateGradBatches: 2 })).fit(new LeastSquaresLBFGS(false), orderedData()),
    /accumulateGradBatches is not supported with LBFGS/);
});

test("'16-mixed' loss scaling with several optimizer steps per batch: each step sees its true gradients once unscaled", () => {
  // The plugin's scaler logic, on CPU tensors (the float16 autocast itself needs CUDA).
  const plugin = new PrecisionPlugin('16-mixed', 'cuda');
  const scale = plugin.scaler!.getScale();
  torch.manualSeed(11);
  const wa = torch.randn([4], { dtype: 'float64' }).requiresGrad_();
  const wb = torch.randn([4], { dtype: 'float64' }).requiresGrad_();
  const expectedA = wa.detach().clone();
  const expectedB = wb.detach().clone();
  const optA = new SGD([wa], { lr: 0.1 });
  const optB = new SGD([wb], { lr: 0.1 });
  const backward = (w: Tensor) => plugin.lossForBackward(w.square().sum()).backward();
  torch.noGrad(() => {
    // Two critic steps on A in one batch (a WGAN's pattern), then B.
    expectedA.sub_(expectedA.mul(0.2));
    expectedA.sub_(expectedA.mul(0.2));
    expectedB.sub_(expectedB.mul(0.2));
  });
  for (let k = 0; k < 2; k++) {
    optA.zeroGrad();
    backward(wa);
    plugin.unscaleGradients(optA);
    plugin.unscaleGradients(optA); // a second call (clipGradients, then step) unscales nothing more
    plugin.optimizerStep(optA);
  }
  optB.zeroGrad();
  backward(wb);
  plugin.optimizerStep(optB);
  plugin.updateScale();
  assert.ok(wa.detach().sub(expectedA).abs().max().item() < 1e-12, 'A stepped twice with its true gradients');
  assert.ok(wb.detach().sub(expectedB).abs().max().item() < 1e-12, 'B stepped with its true gradients');
  assert.equal(plugin.skippedSteps, 0);
  assert.equal(plugin.scaler!.getScale(), scale, 'finite gradients: the scale grows only after growthInterval updates');
  // B unscaled, then A stepped (updating the scale): B's step would unscale its gradients twice, and says so.
  optB.zeroGrad();
  backward(wb);
  plugin.unscaleGradients(optB);
  optA.zeroGrad();
  backward(wa);
  plugin.optimizerStep(optA);
  assert.throws(() => plugin.optimizerStep(optB), /gradients of SGD were unscaled before another optimizer's step updated the loss scale/);
  plugin.updateScale();
  optA.dispose();
  optB.dispose();
});

test('manual optimization: a ReduceLROnPlateau without monitor is stepped by the module; toggleOptimizer leaves parameters no optimizer owns alone', async () => {
  class Plateau extends TwoHeads {
    readonly extra = this.registerParameter('extra', torch.zeros([1], { dtype: 'float64' }));
    override configureOptimizers(): ConfigureOptimizersResult {
      const optA = new SGD(this.a.parameters(), { lr: 0.05, momentum: 0.9 });
      const optB = new Adam(this.b.parameters(), { lr: 0.01 });
      return [{ optimizer: optA, lrScheduler: new ReduceLROnPlateau(optA, { patience: 0, factor: 0.5 }) }, { optimizer: optB }];
    }
    override onTrainEpochEnd(): void {
      const [plateau] = this.lrSchedulers();
      (plateau as ReduceLROnPlateau).step(1); // a constant metric: no improvement after the first epoch
    }
    override trainingStep(batch: Batch): Tensor {
      this.toggleOptimizer(this.optimizers()[1]);
      this.extraRequiresGrad.push(this.extra.requiresGrad);
      this.untoggleOptimizer();
      return super.trainingStep(batch);
    }
    extraRequiresGrad: boolean[] = [];
  }
  torch.manualSeed(12);
  const module = new Plateau();
  const trainer = new Trainer(quiet({ maxEpochs: 3 }));
  await trainer.fit(module, orderedData());
  assert.deepEqual(trainer.optimizers.map((o) => o.paramGroups[0].lr), [0.05 / 4, 0.01], 'halved after epochs 2 and 3');
  assert.ok(module.extraRequiresGrad.every((r) => r), 'a parameter of no optimizer keeps requiring grad');
  trainer.dispose();
});

test('under automatic optimization, stepping an optimizer from trainingStep says it is only for manual optimization', async () => {
  class Steps extends ManualSingle {
    override trainingStep(batch: Batch): Tensor {
      this.optimizers()[0].step();
      return super.trainingStep(batch);
    }
  }
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1 })).fit(new Steps(false), orderedData()), /optimizer\.step: only under manual optimization/);
});

test("under manual optimization the loggers' step counts batches (Lightning's batches-that-stepped), while globalStep counts optimizer steps", async () => {
  const logger = new MemoryLogger();
  const module = twoHeads(13);
  const trainer = new Trainer(quiet({ maxEpochs: 2, logger, logEveryNSteps: 1 }));
  const result = await trainer.fit(module, orderedData());
  assert.equal(result.globalStep, 12);
  assert.deepEqual(logger.rows.filter((r) => !('epoch' in r.metrics)).map((r) => r.step), [1, 2, 3, 4, 5, 6], 'one row per batch, at its batch count');
  assert.deepEqual(logger.rows.filter((r) => 'epoch' in r.metrics).map((r) => r.step), [3, 6], 'epoch rows at the batches trained');
  trainer.dispose();
});

test("a checkpoint written before several optimizers were supported (one 'optimizer', one 'scheduler') still resumes", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-manual-old-'));
  try {
    class WithScheduler extends ManualSingle {
      override configureOptimizers(): ConfigureOptimizersResult {
        const opt = new SGD(this.parameters(), { lr: 0.05, momentum: 0.9 });
        return { optimizer: opt, lrScheduler: new StepLR(opt, { stepSize: 1, gamma: 0.5 }) };
      }
    }
    torch.manualSeed(14);
    const whole = new WithScheduler(false);
    const wholeTrainer = new Trainer(quiet({ maxEpochs: 2 }));
    await wholeTrainer.fit(whole, orderedData());
    torch.manualSeed(14);
    const first = new WithScheduler(false);
    const firstTrainer = new Trainer(quiet({ maxEpochs: 1 }));
    await firstTrainer.fit(first, orderedData());
    const path = join(dir, 'new.ckpt');
    await firstTrainer.saveCheckpoint(path);
    // Rewrite its training state with the old keys.
    const { state, training, metadata } = readCheckpoint(path);
    for (const t of state.values()) t.dispose();
    const old = new Map(training!);
    old.set('optimizer', (training!.get('optimizer_states') as unknown[])[0] as never);
    old.set('scheduler', JSON.stringify(JSON.parse(String(training!.get('lr_schedulers')))[0]));
    for (const key of ['optimizer_states', 'lr_schedulers', 'batches_that_stepped']) old.delete(key);
    const oldPath = join(dir, 'old.ckpt');
    saveCheckpoint(oldPath, first, metadata, old as never); // `first` holds the checkpoint's weights
    const resumed = new WithScheduler(false);
    const resumedTrainer = new Trainer(quiet({ maxEpochs: 2 }));
    const result = await resumedTrainer.fit(resumed, orderedData(), { ckptPath: oldPath });
    assert.equal(result.globalStep, 6);
    assert.ok(maxDifference(resumed, whole) < 1e-12, 'the momentum came back from the old key');
    assert.equal(resumedTrainer.optimizer!.paramGroups[0].lr, wholeTrainer.optimizer!.paramGroups[0].lr, 'so did the scheduler');
    for (const t of [wholeTrainer, firstTrainer, resumedTrainer]) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manualBackward takes retainGraph: a second backward through the same graph doubles the gradients', async () => {
  const ratios: number[] = [];
  class Twice extends ManualSingle {
    override trainingStep(batch: Batch): Tensor {
      const [opt] = this.optimizers();
      opt.zeroGrad();
      const loss = mse(this.layer.forward(batch.x.flatten(1)), batch.y);
      this.manualBackward(loss, { retainGraph: true });
      const once = this.layer.weight.grad!.clone();
      this.manualBackward(loss);
      ratios.push(this.layer.weight.grad!.div(once).mean().item());
      opt.step();
      return loss;
    }
  }
  torch.manualSeed(15);
  const trainer = new Trainer(quiet({ maxEpochs: 1 }));
  await trainer.fit(new Twice(true), orderedData());
  assert.equal(ratios.length, 3);
  for (const r of ratios) assert.ok(Math.abs(r - 2) < 1e-12, `ratio ${r}`);
  trainer.dispose();
});
