// The browser-safe logic of the certified-inference page, run in Node: the
// dependency-free metadata reader agrees with the protobuf library, model
// info is parsed and checked, the page's prediction and radius agree with
// certificates(), noise has exactly the norm asked for, and the test images
// offered are the first test image of each class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as torch from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { certificates } from '../src/losses/index.js';
import { exportOnnx, readOnnxMetadata } from '../src/export/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistArrays } from '../src/data/index.js';
import { readOnnxMetadataProps } from '../src/serve/onnx-metadata-reader.js';
import { modelInfoFromMetadata, modelInput } from '../src/serve/model-info.js';
import { certifiedPrediction } from '../src/serve/certified-prediction.js';
import { l2Norm, noiseOfNorm, seededRandom } from '../src/serve/exact-norm-noise.js';
import { testSamples } from '../src/serve/test-samples.js';

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

test('readOnnxMetadataProps reads what readOnnxMetadata reads, and ModelInfo follows from it', () => {
  torch.manualSeed(0);
  const model = buildPreset('fmnist-small');
  const bytes = exportOnnx(model, { inputShape: [1, 28, 28], mean: [0.286], std: [0.353], normalizeInput: true, classNames: CLASSES, metadata: { dataset: 'fashion-mnist', note: 'é ✓' } });
  model.dispose();
  const props = readOnnxMetadataProps(bytes);
  assert.deepEqual(props, readOnnxMetadata(bytes));
  assert.equal(props.note, 'é ✓');
  const info = modelInfoFromMetadata(props);
  assert.deepEqual(info, {
    inputShape: [1, 28, 28], normalizedInGraph: true, lipschitz: 1 / 0.353, lastLayer: 'global',
    mean: [0.286], std: [0.353], classNames: CLASSES, dataset: 'fashion-mnist',
  });
  // Normalization in the graph: the page feeds raw pixels.
  const pixels = Float32Array.from([0, 0.5, 1]);
  assert.equal(modelInput(info, pixels), pixels);
});

test('readOnnxMetadataProps refuses bytes that are not a protobuf message', () => {
  assert.throws(() => readOnnxMetadataProps(new TextEncoder().encode('<html>not a model</html>')), /ONNX metadata: /);
  assert.throws(() => readOnnxMetadataProps(Uint8Array.from([0x72, 0x05, 0x0a])), /runs past the end/);
  assert.deepEqual(readOnnxMetadataProps(new Uint8Array(0)), {});
});

test('modelInfoFromMetadata names the missing or malformed entry; modelInput normalizes when the graph does not', () => {
  const good = { input_shape: '[3,2,2]', lipschitz: '4', last_layer: 'classwise', input_mean: '[0.5,0.25,0]', input_std: '[0.5,0.25,1]', input_normalized_in_graph: 'false' };
  const info = modelInfoFromMetadata(good);
  const pixels = Float32Array.from({ length: 12 }, (_, i) => i / 11);
  const expected = pixels.map((v, i) => (v - [0.5, 0.25, 0][Math.floor(i / 4)]) / [0.5, 0.25, 1][Math.floor(i / 4)]);
  modelInput(info, pixels).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `pixel ${i}: ${v} vs ${expected[i]}`));
  const { lipschitz: _, ...noLipschitz } = good;
  assert.throws(() => modelInfoFromMetadata(noLipschitz), /no 'lipschitz' metadata/);
  assert.throws(() => modelInfoFromMetadata({ ...good, input_shape: '[10]' }), /'input_shape' must be \[C, H, W\]/);
  assert.throws(() => modelInfoFromMetadata({ ...good, input_shape: '[3,2' }), /'input_shape' is not valid JSON/);
  assert.throws(() => modelInfoFromMetadata({ ...good, last_layer: 'softmax' }), /'last_layer' must be 'global' or 'classwise'/);
  assert.throws(() => modelInfoFromMetadata({ ...good, input_std: '[0.5,0,1]' }), /std > 0/);
  assert.throws(() => modelInfoFromMetadata({ ...good, class_names: '[1,2]' }), /'class_names' must be a list of strings/);
});

test('certifiedPrediction gives the argmax, margin and the radius certificates() computes', () => {
  torch.manualSeed(3);
  const logits = torch.randn([64, 10]).mul(2);
  const rows = logits.toArray() as number[][];
  const predicted = logits.argmax(1);
  for (const lastLayer of ['global', 'classwise'] as const) {
    const radii = certificates(logits, predicted, { lastLayer, lipschitz: 2.5 }).toFlatArray();
    rows.forEach((row, i) => {
      const r = certifiedPrediction(row, 2.5, lastLayer);
      assert.equal(r.predicted, predicted.toFlatArray()[i]);
      const sorted = [...row].sort((a, b) => b - a);
      assert.ok(Math.abs(r.margin - (sorted[0] - sorted[1])) < 1e-12);
      assert.ok(Math.abs(r.radius - radii[i]) < 1e-5, `${lastLayer} row ${i}: ${r.radius} vs ${radii[i]}`);
    });
  }
  assert.equal(certifiedPrediction([1, 3, 3], 1, 'global').margin, 0);
  assert.throws(() => certifiedPrediction([1], 1, 'global'), /at least 2 logits/);
});

test('noiseOfNorm has exactly the norm asked for, a random direction, and is reproducible from its seed', () => {
  for (const [length, norm] of [[784, 0.37], [3 * 32 * 32, 2], [5, 1e-3]] as const) {
    const noise = noiseOfNorm(length, norm, seededRandom(7));
    assert.equal(noise.length, length);
    assert.ok(Math.abs(l2Norm(noise) - norm) <= 1e-6 * norm, `norm ${l2Norm(noise)} vs ${norm}`);
  }
  assert.deepEqual(noiseOfNorm(784, 1, seededRandom(1)), noiseOfNorm(784, 1, seededRandom(1)));
  const a = noiseOfNorm(784, 1, seededRandom(1));
  const b = noiseOfNorm(784, 1, seededRandom(2));
  const cosine = a.reduce((s, v, i) => s + v * b[i], 0);
  assert.ok(Math.abs(cosine) < 0.2, `independent draws are nearly orthogonal in 784 dimensions (cosine ${cosine})`);
  // Gaussian coordinates: each coordinate of a unit vector has variance 1/n.
  const big = noiseOfNorm(100_000, Math.sqrt(100_000), seededRandom(5));
  const mean = big.reduce((s, v) => s + v, 0) / big.length;
  const fourth = big.reduce((s, v) => s + v ** 4, 0) / big.length;
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(fourth - 3) < 0.15, `mean ${mean}, fourth moment ${fourth} (3 for a Gaussian)`);
  assert.ok(noiseOfNorm(4, 0, seededRandom(1)).every((v) => v === 0));
  assert.throws(() => noiseOfNorm(0, 1, Math.random), /length must be a positive integer/);
  assert.throws(() => noiseOfNorm(4, -1, Math.random), /norm must be a finite number ≥ 0/);
});

test('testSamples offers the first test image of each class, and says why when it offers none', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, () => {
  const { samples, note } = testSamples({ dataset: 'fashion-mnist', inputShape: [1, 28, 28], classNames: CLASSES });
  assert.equal(note, undefined);
  const { images, labels } = loadMnistArrays(DEBIAN_FASHION_MNIST_DIR, false);
  const first = CLASSES.map((_, c) => labels.indexOf(c));
  assert.deepEqual(samples.map((s) => s.index), first);
  samples.forEach((s, c) => {
    assert.equal(s.label, c);
    assert.equal(s.className, CLASSES[c]);
    assert.deepEqual(s.pixels, Array.from(images.subarray(s.index * 784, (s.index + 1) * 784)));
  });
  assert.equal(testSamples({ dataset: 'fashion-mnist', inputShape: [1, 28, 28], count: 3 }).samples.length, 3);
  assert.match(testSamples({ dataset: 'fashion-mnist', inputShape: [3, 32, 32] }).note!, /has images of \[1, 28, 28\] but the model takes \[3, 32, 32\]/);
  assert.match(testSamples({ dataset: 'mnist', dataDir: '/nonexistent', inputShape: [1, 28, 28] }).note!, /dataset 'mnist' could not be read: missing t10k-images/);
  assert.deepEqual(testSamples({ inputShape: [1, 28, 28] }), { samples: [], note: 'the checkpoint names no dataset' });
});
