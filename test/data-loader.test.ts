import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../src/torch/index.js';
import { Rng } from '../src/data/rng.js';
import { arrayImageDataset, ArrayImageDataset } from '../src/data/images.js';
import { Batch, DataLoader } from '../src/data/loader.js';
import { Cifar10DataModule, FashionMnistDataModule } from '../src/data/datamodule.js';
import { DEBIAN_FASHION_MNIST_DIR } from '../src/data/mnist.js';
import { Compose, Image, RandomHorizontalFlip, RandomResizedCrop, ToTensor, Transform, TransformSpec } from '../src/data/transforms.js';

/** n images 3×8×8 whose label is their index and whose pixels encode it. */
function synthetic(n: number, c = 3, h = 8, w = 8): ArrayImageDataset {
  const rng = new Rng(n);
  const images = new Uint8Array(n * c * h * w);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(0, 256);
  for (let k = 0; k < n; k++) images[k * c * h * w] = k % 256;
  return arrayImageDataset(images, Int32Array.from({ length: n }, (_, i) => i), [c, h, w], []);
}

async function collect(loader: DataLoader): Promise<{ x: number[][]; y: number[][]; shapes: number[][] }> {
  const out = { x: [] as number[][], y: [] as number[][], shapes: [] as number[][] };
  for await (const batch of loader) {
    assert.equal(batch.x.dtype, 'float32');
    assert.equal(batch.y.dtype, 'int64');
    out.shapes.push(batch.x.shape);
    out.x.push([...(batch.x.dataSync() as Float32Array)]);
    out.y.push(batch.y.toArray() as number[]);
    batch.x.dispose();
    batch.y.dispose();
  }
  return out;
}

test('in-process loader: batches, dropLast, uint8 → float, labels, order without shuffle', async () => {
  const ds = synthetic(10);
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const r = await collect(loader);
  assert.deepEqual(r.shapes, [[4, 3, 8, 8], [4, 3, 8, 8], [2, 3, 8, 8]]);
  assert.deepEqual(r.y, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.equal(r.x[2][192], ds.images[9 * 192] / 255 === 0 ? 0 : Math.fround(ds.images[9 * 192] / 255));
  assert.equal(r.x[0][5], Math.fround(ds.images[5] / 255));
  const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  assert.deepEqual((await collect(dropped)).y, [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize/);
});

test('shuffle: a permutation each epoch, reshuffled every epoch, reproducible from the seed', async () => {
  const ds = synthetic(50);
  const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 3 });
  const e0 = (await collect(loader)).y.flat();
  const e1 = (await collect(loader)).y.flat();
  assert.deepEqual([...e0].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(e0, e1);
  assert.notDeepEqual(e0, Array.from({ length: 50 }, (_, i) => i));
  const again = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 3 });
  assert.deepEqual((await collect(again)).y.flat(), e0);
  const other = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 4 });
  assert.notDeepEqual((await collect(other)).y.flat(), e0);
});

test('workers give exactly the in-process batches (augmentation included), with prefetch and clean close', async () => {
  const ds = synthetic(70);
  const transform = new Compose([new RandomResizedCrop(6, [0.25, 1]), new RandomHorizontalFlip(0.5), new ToTensor()]);
  const opts = { batchSize: 16, shuffle: true, seed: 5, transform };
  const inProcess = new DataLoader(ds, opts);
  const ref0 = await collect(inProcess);
  const ref1 = await collect(inProcess);
  assert.deepEqual(ref0.shapes[0], [16, 3, 6, 6]);
  assert.notDeepEqual(ref0.x, ref1.x);
  for (const numWorkers of [1, 2]) {
    const loader = new DataLoader(ds, { ...opts, numWorkers, prefetch: 2 });
    try {
      const a = await collect(loader);
      const b = await collect(loader);
      assert.deepEqual(a, ref0, `${numWorkers} workers, epoch 0`);
      assert.deepEqual(b, ref1, `${numWorkers} workers, epoch 1`);
      // breaking out of an epoch early leaves the loader usable
      for await (const batch of loader) { batch.x.dispose(); batch.y.dispose(); break; }
      assert.equal((await collect(loader)).y.length, 5);
    } finally {
      await loader.close();
    }
    await loader.close(); // idempotent
    await assert.rejects(async () => { for await (const _ of loader) { /* nothing */ } }, /after close/);
  }
});

test('worker and transform errors reach the iterating code', async () => {
  class Odd implements Transform {
    apply(img: Image): Image { return img; }
    spec(): TransformSpec { return { type: 'Odd' } as unknown as TransformSpec; }
  }
  const ds = synthetic(8);
  const loader = new DataLoader(ds, { batchSize: 4, transform: new Odd(), numWorkers: 1 });
  try {
    await assert.rejects(collect(loader), /DataLoader worker: transformFromSpec: unknown transform "Odd"/);
  } finally {
    await loader.close();
  }
  // in process, any Transform works
  assert.equal((await collect(new DataLoader(ds, { batchSize: 4, transform: new Odd() }))).y.length, 2);
  // images that come out in different sizes cannot be stacked
  let k = 0;
  const ragged: Transform = { apply: (img) => (k++ === 1 ? { ...img, width: 4, data: img.data.subarray(0, 96) } : img), spec: () => ({ type: 'ToTensor' }) };
  await assert.rejects(collect(new DataLoader(ds, { batchSize: 4, transform: ragged })), /image 1 came out of the transform as 3×8×4, but the batch's first image is 3×8×8/);
});

test('a loader with workers that is never closed does not keep the process alive', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const script = `
    import { DataLoader } from ${JSON.stringify(new URL('../src/data/loader.js', import.meta.url).href)};
    import { arrayImageDataset } from ${JSON.stringify(new URL('../src/data/images.js', import.meta.url).href)};
    const ds = arrayImageDataset(new Uint8Array(40 * 12), Int32Array.from({ length: 40 }, (_, i) => i), [3, 2, 2], []);
    const loader = new DataLoader(ds, { batchSize: 4, numWorkers: 2 });
    let n = 0;
    for await (const b of loader) { b.x.dispose(); b.y.dispose(); if (++n === 3) break; }
    console.log('done', n);
  `;
  const dir = mkdtempSync(join(tmpdir(), 'ortho-loader-'));
  const file = join(dir, 'script.mjs');
  writeFileSync(file, script);
  const started = Date.now();
  const r = spawnSync(process.execPath, [file], { cwd: here, timeout: 20000, encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.signal, null, `the process hung (killed after ${Date.now() - started} ms)`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done 3/);
});

test('Cifar10DataModule: the seed settings, batch 256 / 1024, normalized float batches', async () => {
  const P = Cifar10DataModule.PREPROCESSING_PARAMS;
  assert.equal(Cifar10DataModule.BATCH_SIZE, 256);
  assert.deepEqual(P.imgMean, [0.41757566, 0.26098573, 0.25888634]);
  assert.deepEqual(P.imgStd, [0.21938758, 0.1983, 0.19342837]);
  assert.deepEqual(P.randomResizedCropParams, { scale: [0.25, 1], ratio: [0.75, 4 / 3] });
  const spec = Cifar10DataModule.trainTransform().spec();
  assert.deepEqual(spec, {
    type: 'Compose', transforms: [
      { type: 'RandomResizedCrop', size: [32, 32], scale: [0.25, 1], ratio: [0.75, 4 / 3] },
      { type: 'RandomHorizontalFlip', p: 0.5 },
      { type: 'ToTensor' },
      { type: 'Normalize', mean: P.imgMean.map(Math.fround), std: P.imgStd.map(Math.fround) },
    ],
  });
  const ds = synthetic(1100, 3, 32, 32);
  const dm = new Cifar10DataModule({ numWorkers: 2 });
  const train = dm.trainDataloader(ds);
  const val = dm.valDataloader(ds);
  try {
    assert.equal(train.length, 5);
    assert.equal(val.length, 2);
    assert.ok(train.shuffle && !val.shuffle);
    let first: Batch | null = null;
    for await (const b of train) { first = b; break; }
    assert.deepEqual(first!.x.shape, [256, 3, 32, 32]);
    first!.x.dispose(); first!.y.dispose();
    const shapes: number[][] = [];
    let checked = false;
    for await (const b of val) {
      shapes.push(b.x.shape);
      if (!checked) { // validation: normalize only — pixel 0 of image 0, channel 0
        const v = (b.x.dataSync() as Float32Array)[0];
        assert.equal(v, Math.fround(Math.fround(Math.fround(ds.images[0] / 255) - Math.fround(P.imgMean[0])) / Math.fround(P.imgStd[0])));
        checked = true;
      }
      b.x.dispose(); b.y.dispose();
    }
    assert.deepEqual(shapes, [[1024, 3, 32, 32], [76, 3, 32, 32]]);
  } finally {
    await train.close();
    await val.close();
  }
});

test('FashionMnistDataModule on the real Fashion-MNIST', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, async () => {
  const dm = new FashionMnistDataModule();
  const train = dm.dataset(true);
  assert.equal(train.length, 60000);
  assert.equal(train.classes[9], 'Ankle boot');
  const loader = dm.trainDataloader(train);
  assert.equal(loader.length, Math.ceil(60000 / 256));
  let batch: Batch | null = null;
  for await (const b of loader) { batch = b; break; }
  const { x, y } = batch!;
  assert.deepEqual(x.shape, [256, 1, 28, 28]);
  assert.ok((x.min().item() as number) >= 0 && (x.max().item() as number) <= 1);
  assert.ok((x.max().item() as number) > 0.9);
  assert.ok((y.min().item() as number) >= 0 && (y.max().item() as number) <= 9);
  (x as Tensor).dispose(); y.dispose();
  assert.equal(dm.valDataloader().length, Math.ceil(10000 / 1024));
});
