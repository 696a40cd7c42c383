// The tutorial told with the TypeScript API, shortened: a 1-Lipschitz model
// trained on real Fashion-MNIST by the Trainer reaches well-above-chance
// accuracy and VRA, and the run frees every tensor it created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runTutorial } from '../examples/tutorial.js';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { memoryStats } from '../src/torch/index.js';

test('the tutorial trains fmnist-small to good accuracy and VRA, freeing everything', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, async () => {
  const live = memoryStats().liveTensors;
  const metrics = await runTutorial({ setting: 'mildly_robust', dataset: 'fashion-mnist', epochs: 1, limitTrainBatches: 40, limitValBatches: 2, device: 'cpu', quiet: true });
  // 10 classes: chance is 10% accuracy, 0% VRA.
  assert.ok(metrics.val_accuracy > 0.6, `accuracy ${metrics.val_accuracy}`);
  assert.ok(metrics.val_vra > 0.25, `VRA at 36/255 ${metrics.val_vra}`);
  assert.ok(metrics.val_vra <= metrics.val_accuracy);
  assert.equal(memoryStats().liveTensors, live, 'the run frees everything it created');
});
