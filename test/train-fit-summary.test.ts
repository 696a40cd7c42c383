// Lightning's model summary at fit start: the module's children with their
// parameter counts and mode, then trainable / non-trainable / total counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { ClassificationModule, Trainer } from '../src/train/index.js';
import { fitSummary, shortCount } from '../src/train/fit-summary.js';
import { LossXent } from '../src/losses/index.js';
import { captureOutput, tinyData, tinyModel, TINY_STD } from './helpers/tiny-training.js';

test("shortCount follows Lightning's rule: three digits kept, one decimal below 100 of a unit", () => {
  const cases: [number, string][] = [[0, '0'], [7, '7'], [999, '999'], [1000, '1.0 K'], [1234, '1.2 K'], [45678, '45.7 K'],
    [130838, '130 K'], [1783308, '1.8 M'], [250_000_000, '250 M'], [12_345_678_901, '12.3 B']];
  for (const [n, text] of cases) assert.equal(shortCount(n), text, String(n));
});

test('fitSummary counts each child, trainable and frozen parameters, and their bytes', () => torch.scope(() => {
  const model = new Linear(4, 3);  // 12 + 3 parameters
  const module = new ClassificationModule({ model, loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lastLayer: 'global' });
  model.bias!.requiresGrad_(false);
  module.eval();
  const lines = fitSummary(module).split('\n');
  assert.match(lines[0], /^ *\| Name +\| Type +\| Params \| Mode$/);
  assert.match(lines[2], /^0 \| model +\| Linear +\| 15 +\| eval$/);
  assert.match(lines[3], /^1 \| criterion \| LossXent +\| 0 +\| eval$/);
  assert.match(lines[5], /^12 +Trainable params$/);
  assert.match(lines[6], /^3 +Non-trainable params$/);
  assert.match(lines[7], /^15 +Total params$/);
  assert.match(lines[8], /^0\.000 +Total estimated model params size \(MB\)$/, '60 bytes of float32');
}));

test('the Trainer prints the summary when fit starts, unless enableModelSummary is false', async () => {
  for (const enableModelSummary of [undefined, false]) {
    torch.manualSeed(0);
    const module = new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05 });
    const output = captureOutput();
    await new Trainer({ maxEpochs: 1, limitTrainBatches: 1, limitValBatches: 1, output, enableProgressBar: false, enableModelSummary }).fit(module, tinyData());
    const printed = /Trainable params/.test(output.text()) && /0 \| model +\| FactoryModel/.test(output.text());
    assert.equal(printed, enableModelSummary !== false, output.text());
  }
});
