// End to end on real data: a few-layer CNN trained on a slice of Fashion-MNIST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runDemo } from '../examples/fmnist-demo.js';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { memoryStats } from '../src/torch/index.js';

test('a small CNN reaches > 80% test accuracy on real Fashion-MNIST', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, () => {
  const live = memoryStats().liveTensors;
  const result = runDemo({ trainSize: 12000, testSize: 2000, epochs: 2, batchSize: 64, lr: 2e-3, seed: 0, dataDir: DEBIAN_FASHION_MNIST_DIR });
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
  assert.ok(result.epochLosses[1] < result.epochLosses[0], `losses ${result.epochLosses}`);
  assert.equal(memoryStats().liveTensors, live, 'the demo frees everything it created');
});
