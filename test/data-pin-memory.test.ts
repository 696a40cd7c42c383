// DataLoader({ pinMemory }): batches in page-locked memory for asynchronous
// copies to a GPU. Its own file: the "no CUDA" warning is once per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { arrayImageDataset } from '../src/data/images.js';
import { DataLoader } from '../src/data/loader.js';
import { Cifar10DataModule, FashionMnistDataModule } from '../src/data/datamodule.js';
import { ToTensor } from '../src/data/transforms.js';

const hasCuda = torch.cuda.isAvailable();

function dataset(n = 10) {
  const images = Uint8Array.from({ length: n * 3 * 4 * 4 }, (_, i) => (i * 37) % 256);
  return arrayImageDataset(images, Int32Array.from({ length: n }, (_, i) => i % 3), [3, 4, 4], []);
}

async function batches(loader: DataLoader): Promise<{ x: number[]; y: number[]; pinned: boolean[] }[]> {
  const out = [];
  for await (const b of loader) {
    out.push({ x: b.x.toFlatArray(), y: b.y.toFlatArray(), pinned: [b.x.isPinned(), b.y.isPinned()] });
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

test('pinMemory without CUDA: one warning, the same batches in ordinary memory', { skip: hasCuda && 'CUDA is available' }, async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const options = { batchSize: 4, shuffle: true, seed: 3, transform: new ToTensor() };
    const pinnedLoader = new DataLoader(dataset(), { ...options, pinMemory: true });
    new DataLoader(dataset(), { ...options, pinMemory: true });
    await new Promise((r) => setImmediate(r)); // warnings are delivered on the next tick
    assert.equal(warnings.length, 1, 'warned once for two loaders');
    assert.match(warnings[0].message, /pinMemory is set but CUDA is not available/);
    assert.equal(pinnedLoader.pinMemory, false);
    const got = await batches(pinnedLoader);
    const expected = await batches(new DataLoader(dataset(), options));
    assert.deepEqual(got, expected);
    assert.ok(got.every((b) => !b.pinned[0] && !b.pinned[1]));
  } finally {
    process.off('warning', onWarning);
  }
  assert.throws(() => torch.ones([2]).pinMemory(), /pinMemory: page-locked memory is allocated by CUDA, and CUDA is not available/);
});

test('data modules pass pinMemory to both loaders', () => {
  const cifar = new Cifar10DataModule({ pinMemory: true });
  const fmnist = new FashionMnistDataModule({ pinMemory: true });
  assert.equal(cifar.pinMemory, true);
  assert.equal(fmnist.pinMemory, true);
  for (const loader of [cifar.trainDataloader(dataset()), cifar.valDataloader(dataset()), fmnist.trainDataloader(dataset()), fmnist.valDataloader(dataset())]) {
    assert.equal(loader.pinMemory, hasCuda);
  }
  assert.equal(new FashionMnistDataModule().trainDataloader(dataset()).pinMemory, false);
});

test('pinMemory with CUDA: every batch pinned, same values, copied to the GPU without blocking', { skip: !hasCuda && 'no CUDA device' }, async () => {
  const options = { batchSize: 4, shuffle: true, seed: 3, transform: new ToTensor(), numWorkers: 1 };
  const got = await batches(new DataLoader(dataset(), { ...options, pinMemory: true }));
  const expected = await batches(new DataLoader(dataset(), options));
  assert.deepEqual(got.map((b) => b.pinned), got.map(() => [true, true]));
  assert.deepEqual(got.map(({ x, y }) => ({ x, y })), expected.map(({ x, y }) => ({ x, y })));
  for await (const b of new DataLoader(dataset(), { ...options, pinMemory: true })) {
    const onGpu = b.x.to({ device: 'cuda', nonBlocking: true });
    assert.deepEqual(onGpu.cpu().toFlatArray(), b.x.toFlatArray());
    for (const t of [b.x, b.y, onGpu]) t.dispose();
  }
});
