// Pins the exact bytes of augmented batches (fixed seed) so that speed-ups of
// the per-image path (fused ToTensor+Normalize, reused buffers, precomputed
// resize weights) cannot change a single bit. The digests were recorded on the
// code before those optimizations (commit e760139).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Rng } from '../src/data/rng.js';
import { arrayImageDataset, ArrayImageDataset } from '../src/data/images.js';
import { batchRng, buildBatch } from '../src/data/batch.js';
import { DataLoader } from '../src/data/loader.js';
import { Cifar10DataModule } from '../src/data/datamodule.js';
import { CenterCrop, Compose, Normalize, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, ToTensor, Transform } from '../src/data/transforms.js';

function dataset(n: number, c: number, h: number, w: number, seed: number): ArrayImageDataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * c * h * w);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(0, 256);
  return arrayImageDataset(images, Int32Array.from({ length: n }, (_, i) => (i * 7) % 10), [c, h, w], []);
}

function digest(ds: ArrayImageDataset, transform: Transform | null, batches: number, batchSize: number): string {
  const hash = createHash('sha256');
  const order = new Rng(99).permutation(ds.length);
  for (let b = 0; b < batches; b++) {
    const raw = buildBatch(ds, order.subarray(b * batchSize, (b + 1) * batchSize), transform, batchRng(5, 1, b));
    hash.update(new Uint8Array(raw.x.buffer, raw.x.byteOffset, raw.x.byteLength));
    hash.update(new Uint8Array(raw.y.buffer, raw.y.byteOffset, raw.y.byteLength));
    hash.update(raw.shape.join(','));
  }
  return hash.digest('hex');
}

const cases: { name: string; ds: () => ArrayImageDataset; transform: () => Transform | null; expected: string }[] = [
  { name: 'seed CIFAR training transform (RandomResizedCrop + flip + ToTensor + Normalize)', ds: () => dataset(512, 3, 32, 32, 1), transform: () => Cifar10DataModule.trainTransform(), expected: 'e2e6670502cc4dcda594e53eaa1a29ab04987b5c2d3ea40ffd8a70833f2edd65' },
  { name: 'validation transform (ToTensor + Normalize)', ds: () => dataset(300, 3, 32, 32, 2), transform: () => Cifar10DataModule.valTransform(), expected: 'cf7f381292e03ba403f59588f7546876cb945828f6d605673e383dc6df10c0cb' },
  { name: 'no transform (uint8 → float)', ds: () => dataset(300, 1, 28, 28, 3), transform: () => null, expected: 'afcebee9e48e2b281b3f2f08921c3bee26444c2fd1df71e27f6a093b931dde5c' },
  { name: 'non-square crop to another size, grey, single-value Normalize', ds: () => dataset(300, 1, 40, 36, 4), transform: () => new Compose([new RandomResizedCrop([24, 20], [0.1, 1], [0.5, 2]), new RandomHorizontalFlip(0.3), new ToTensor(), new Normalize([0.5], [0.25])]), expected: 'fd17c89d3eef552dcadbd1d83c95c4aa152d3fd8a88e5527bb2fe3204ceed450' },
  { name: 'ToTensor before the crop (float path), RandomCrop with padding, CenterCrop', ds: () => dataset(300, 3, 20, 20, 5), transform: () => new Compose([new ToTensor(), new RandomCrop(18, { padding: 2, paddingMode: 'reflect' }), new RandomResizedCrop(16), new CenterCrop(14), new Normalize([0.1, 0.2, 0.3], [0.5, 0.6, 0.7])]), expected: 'c0bbc54c66a9a1e935428eeed6dffff7a7f91d1a6ccb1e67f9a2842670ae2ec5' },
  { name: 'upscaling crop without Normalize (uint8 result scaled on the fly)', ds: () => dataset(300, 3, 16, 16, 6), transform: () => new Compose([new RandomResizedCrop(32, [0.3, 1]), new RandomHorizontalFlip()]), expected: '67d192df8ca6ce076e20af5ef4551850db4129ce789062048e1b385ef92d1723' },
];

for (const c of cases) {
  test(`batch bytes unchanged: ${c.name}`, () => {
    const got = digest(c.ds(), c.transform(), 4, 64);
    if (process.env.PRINT_GOLDEN) console.log(JSON.stringify(c.name), got);
    assert.equal(got, c.expected);
  });
}

test('batch bytes unchanged through 2 workers (seed CIFAR training transform)', async () => {
  const ds = dataset(512, 3, 32, 32, 1);
  const loader = new DataLoader(ds, { batchSize: 64, shuffle: true, seed: 5, transform: Cifar10DataModule.trainTransform(), numWorkers: 2 });
  const inProcess = new DataLoader(ds, { batchSize: 64, shuffle: true, seed: 5, transform: Cifar10DataModule.trainTransform() });
  try {
    const hashes: string[] = [];
    for (const l of [loader, inProcess]) {
      const hash = createHash('sha256');
      for await (const { x, y } of l) {
        hash.update(x.dataSync() as Float32Array);
        hash.update(new Uint8Array((y.to('int32').dataSync() as Int32Array).buffer));
        x.dispose();
        y.dispose();
      }
      hashes.push(hash.digest('hex'));
    }
    assert.equal(hashes[0], hashes[1]);
  } finally {
    await loader.close();
  }
});
