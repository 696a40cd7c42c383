// LearningRateFinder, Lightning's range test: the rate schedule, the smoothed
// loss, the suggestion at the steepest descent, and a fit that runs the test,
// sets the suggested rate and otherwise trains exactly as without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { ClassificationModule, LearningRateFinder, LightningModule, Trainer, suggestLr } from '../src/train/index.js';
import { rangeLr, SmoothedLoss } from '../src/train/callbacks/lr-finder.js';
import { LossXent } from '../src/losses/index.js';
import { SGD } from '../src/optim/index.js';
import { captureOutput, tinyData, tinyModel, TINY_STD } from './helpers/tiny-training.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('the rate runs from minLr to maxLr, geometrically or linearly', () => {
  close(rangeLr(0, 101, 1e-8, 1, 'exponential'), 1e-8);
  close(rangeLr(100, 101, 1e-8, 1, 'exponential'), 1);
  close(rangeLr(50, 101, 1e-8, 1, 'exponential'), 1e-4);  // the geometric middle
  close(rangeLr(25, 101, 0, 1, 'linear'), 0.25);
});

test('the smoothed loss keeps a constant, and leans slightly to the latest value', () => {
  const constant = new SmoothedLoss();
  for (let i = 0; i < 5; i++) close(constant.add(5), 5);
  const two = new SmoothedLoss();
  two.add(1);
  // (0.98·0.02·1 + 0.02·3) / (1 − 0.98²) = 0.0796 / 0.0396
  close(two.add(3), 2.0101010101, 1e-9);
});

test('the suggestion is the rate of the steepest descent, past the first noisy steps, non-finite losses left out', () => {
  const lrs = Array.from({ length: 30 }, (_, i) => i + 1);
  const losses = lrs.map(() => 10);
  losses[3] = -100;  // a drop inside the first 10 steps is ignored
  losses[20] = 9;
  for (let i = 21; i < 30; i++) losses[i] = 5;
  assert.equal(suggestLr(lrs, losses), 21, 'central difference (5 − 10)/2 at index 20');
  losses[25] = NaN;
  assert.equal(suggestLr(lrs, losses), 21);
  assert.equal(suggestLr(lrs.slice(0, 12), losses.slice(0, 12)), null, 'fewer than 2 usable losses');
});

function moduleAndData() {
  torch.manualSeed(0);
  const module = new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
  return { module, data: tinyData() };
}

const weights = (m: ClassificationModule) => m.parameters().flatMap((p) => p.toFlatArray());

test('with updateAttr off, a fit after the range test ends on the very weights of a fit without it', async () => {
  const plain = moduleAndData();
  const a = await new Trainer({ maxEpochs: 2, output: captureOutput(), enableProgressBar: false, enableModelSummary: false }).fit(plain.module, plain.data);
  const tuned = moduleAndData();
  const finder = new LearningRateFinder({ numTrainingSteps: 20, updateAttr: false });
  const output = captureOutput();
  const b = await new Trainer({ maxEpochs: 2, output, enableProgressBar: false, enableModelSummary: false, callbacks: [finder] }).fit(tuned.module, tuned.data);
  assert.equal(finder.result!.lrs.length, 20, 'the small range never diverges this fast');
  assert.equal(b.globalStep, a.globalStep, 'range-test steps are not training steps');
  assert.deepEqual(weights(tuned.module), weights(plain.module));
  assert.equal(tuned.module.lr, 0.02);
  assert.match(output.text(), /LearningRateFinder: 20 steps from 1e-8 to 1\.00; suggested learning rate [\d.e-]+$/m);
});

test('the suggested rate is set on the module and on its new optimizer', async () => {
  const { module, data } = moduleAndData();
  const finder = new LearningRateFinder({ numTrainingSteps: 30 });
  const trainer = new Trainer({ maxEpochs: 1, output: captureOutput(), enableProgressBar: false, enableModelSummary: false, callbacks: [finder] });
  await trainer.fit(module, data);
  const { lrs, suggestion } = finder.result!;
  assert.ok(suggestion !== null && suggestion >= lrs[10] && suggestion <= lrs[lrs.length - 2], `suggestion ${suggestion} inside the kept range`);
  assert.equal(module.lr, suggestion);
  assert.equal(finder.optimalLr, suggestion);
  assert.ok(trainer.optimizer!.paramGroups.every((g) => g.lr === suggestion), 'the optimizer was made anew at that rate');
});

/** (w − 3)² under plain SGD: converges for rates below 1, diverges above (the curvature is 2). */
class Quadratic extends LightningModule {
  lr = 1e-3;
  readonly w = this.registerParameter('w', torch.tensor([0]));
  forward(x: torch.Tensor): torch.Tensor { return x; }
  trainingStep(): torch.Tensor { return this.w.sub(3).square().sum(); }
  configureOptimizers() { return { optimizer: new SGD([this.w], { lr: this.lr }) }; }
}

test('a range that makes the loss diverge stops early, and the suggestion is a rate that converges', async () => {
  const module = new Quadratic();
  const finder = new LearningRateFinder({ minLr: 1e-3, maxLr: 1e3, numTrainingSteps: 100 });
  await new Trainer({ maxEpochs: 1, limitTrainBatches: 1, output: captureOutput(), enableProgressBar: false, enableModelSummary: false, callbacks: [finder] })
    .fit(module, tinyData());
  const { lrs, losses, suggestion } = finder.result!;
  assert.ok(lrs.length < 100, `stopped after ${lrs.length} of 100 steps`);
  const last = losses[losses.length - 1];
  assert.ok(!Number.isFinite(last) || last > 4 * Math.min(...losses.slice(0, -1)), `the last loss ${last} is beyond 4 × the best`);
  assert.ok(lrs[lrs.length - 1] > 1, 'it ran into the diverging rates');
  assert.ok(suggestion !== null && suggestion < 1, `suggestion ${suggestion}`);
  assert.equal(module.lr, suggestion);
});

test('bad options are named', () => {
  assert.throws(() => new LearningRateFinder({ minLr: 1, maxLr: 0.1 }), /needs 0 < minLr < maxLr/);
  assert.throws(() => new LearningRateFinder({ numTrainingSteps: 1 }), /numTrainingSteps must be an integer >= 2/);
  assert.throws(() => new LearningRateFinder({ mode: 'cosine' as never }), /mode must be 'exponential' or 'linear'/);
  assert.throws(() => new LearningRateFinder({ earlyStopThreshold: 0.5 }), /earlyStopThreshold must be > 1 or null/);
  assert.throws(() => new LearningRateFinder().optimalLr, /the range test runs when fit starts/);
});
