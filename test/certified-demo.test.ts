// The README's main job, shortened: a 1-Lipschitz model trained on real
// Fashion-MNIST reaches well-above-chance accuracy and certified accuracy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCertifiedDemo } from '../examples/certified-fmnist.js';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { memoryStats } from '../src/torch/index.js';

test('fmnist-small trained with LossXent certifies a good share of test images', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, () => {
  const live = memoryStats().liveTensors;
  const eps = [36 / 255, 72 / 255];
  const r = runCertifiedDemo({ epochs: 1, trainSize: 4000, testSize: 1000, batchSize: 128, lr: 5e-3, eps, seed: 0, dataDir: DEBIAN_FASHION_MNIST_DIR });
  assert.ok(r.accuracy > 0.6, `accuracy ${r.accuracy}`);
  assert.ok(r.vra[0].accuracy > 0.25, `VRA at 36/255 ${r.vra[0].accuracy}`);
  assert.ok(r.vra[0].accuracy <= r.accuracy && r.vra[1].accuracy <= r.vra[0].accuracy, 'certified accuracy shrinks with the radius');
  assert.deepEqual(r.vra.map((v) => v.eps), eps);
  assert.equal(memoryStats().liveTensors, live, 'the run frees everything it created');
});
