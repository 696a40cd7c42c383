// Image folders read lazily (FileImageDataset): images of any size decoded per
// batch, in this thread or in loader workers, and Orthogonium's ImageNet data
// module over such a folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { encodePng } from '../src/data/png.js';
import { Rng } from '../src/data/rng.js';
import { CenterCrop, Compose, Normalize, ToTensor } from '../src/data/transforms.js';
import { Resize } from '../src/data/resize.js';
import { DataLoader } from '../src/data/loader.js';
import { fileImageDataset, imageFolderFiles, readImageFile } from '../src/data/image-files.js';
import { loadImageFolder } from '../src/data/image-folder.js';
import { ImagenetDataModule } from '../src/data/imagenet-datamodule.js';
import { openDataset } from '../src/data/catalog.js';

function randomPixels(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => rng.int(0, 256));
}

/** A PNG (grey or colour) of the given size with random pixels. */
function pngFile(path: string, channels: 1 | 3, height: number, width: number, seed: number): Uint8Array {
  const data = randomPixels(channels * height * width, seed);
  writeFileSync(path, encodePng({ data, channels, height, width }));
  return data;
}

/** A colour JPEG of the given size (lossy: compare with what our decoder reads back). */
function jpegFile(path: string, height: number, width: number, seed: number): void {
  const rgba = randomPixels(4 * height * width, seed).map((v, i) => (i % 4 === 3 ? 255 : v));
  writeFileSync(path, jpeg.encode({ data: Buffer.from(rgba), width, height }, 90).data);
}

/** root/{train,val}/{ant,bee}/… with images of several sizes, PNG and JPEG, grey and colour. */
function makeFolder(): string {
  const root = mkdtempSync(join(tmpdir(), 'image-files-'));
  const sizes: [number, number][] = [[40, 52], [33, 30], [64, 41], [29, 29], [50, 75]];
  let seed = 1;
  for (const split of ['train', 'val']) {
    for (const cls of ['ant', 'bee']) {
      mkdirSync(join(root, split, cls), { recursive: true });
      sizes.forEach(([h, w], i) => {
        if (i === 2) jpegFile(join(root, split, cls, `img${i}.jpg`), h, w, seed++);
        else pngFile(join(root, split, cls, `img${i}.png`), i === 3 ? 1 : 3, h, w, seed++);
      });
    }
  }
  return root;
}

async function collect(loader: DataLoader): Promise<{ x: number[][]; y: number[][]; shapes: number[][] }> {
  const out = { x: [] as number[][], y: [] as number[][], shapes: [] as number[][] };
  try {
    for await (const b of loader) {
      out.x.push(b.x.toFlatArray());
      out.y.push(b.y.toFlatArray());
      out.shapes.push(b.x.shape);
      b.x.dispose();
      b.y.dispose();
    }
  } finally {
    await loader.close();
  }
  return out;
}

test('imageFolderFiles lists files and labels without decoding them; batches equal the transform applied to each decoded image', async () => {
  const root = makeFolder();
  try {
    const ds = imageFolderFiles(join(root, 'val'), { channels: 3 });
    assert.deepEqual(ds.classes, ['ant', 'bee']);
    assert.equal(ds.length, 10);
    assert.deepEqual(Array.from(ds.labels), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    const transform = new Compose([new Resize(24), new CenterCrop(20), new ToTensor(), new Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])]);
    const got = await collect(new DataLoader(ds, { batchSize: 4, transform }));
    assert.deepEqual(got.shapes, [[4, 3, 20, 20], [4, 3, 20, 20], [2, 3, 20, 20]]);
    const rng = new Rng(0); // the transform draws nothing
    const want = ds.files.map((f) => Array.from(transform.apply(readImageFile(f, 3), rng).data));
    assert.deepEqual(got.x.flat(), want.flat());
    assert.deepEqual(got.y.flat(), Array.from(ds.labels));
    // the grey PNG is repeated into three channels, as an RGB conversion does
    const grey = readImageFile(ds.files[3], 3);
    const plane = grey.height * grey.width;
    assert.deepEqual(grey.data.subarray(0, plane), grey.data.subarray(plane, 2 * plane));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('file datasets: worker threads decode the same batches as this thread (shuffled, random crops, sharded)', async () => {
  const root = makeFolder();
  try {
    const module = new ImagenetDataModule({ root, batchSize: 3, seed: 11, preprocessing: { resizeSize: 28, cropSize: 16 } });
    const inThread = await collect(module.trainDataloader());
    const workers = await collect(new ImagenetDataModule({ root, batchSize: 3, seed: 11, numWorkers: 2, preprocessing: { resizeSize: 28, cropSize: 16 } }).trainDataloader());
    assert.deepEqual(workers, inThread);
    assert.deepEqual(inThread.shapes[0], [3, 3, 16, 16]);
    assert.equal(inThread.y.flat().length, 10);
    assert.notDeepEqual(inThread.y.flat(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 'shuffled');
    // a data-parallel shard: two ranks see disjoint halves covering the set
    const ranks = await Promise.all([0, 1].map((rank) => {
      const m = new ImagenetDataModule({ root, batchSize: 5, seed: 11, preprocessing: { resizeSize: 28, cropSize: 16 } });
      m.distribute({ rank, worldSize: 2 });
      return collect(m.trainDataloader());
    }));
    assert.equal(ranks[0].y.flat().length + ranks[1].y.flat().length, 10);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ImagenetDataModule: the script\'s pipelines (Resize 256 → 224 crops, mean = std = 0.5) on images of any size', async () => {
  const root = makeFolder();
  try {
    const module = new ImagenetDataModule({ root, batchSize: 4 });
    assert.equal(new ImagenetDataModule({ root }).batchSize, 256, 'the script\'s batch size by default');
    const val = await collect(module.valDataloader());
    assert.deepEqual(val.shapes.map((s) => s.slice(1)), [[3, 224, 224], [3, 224, 224], [3, 224, 224]]);
    const all = val.x.flat();
    assert.ok(all.every((v) => v >= -1 && v <= 1), 'ToTensor then Normalize(0.5, 0.5) maps to [-1, 1]');
    assert.ok(all.some((v) => v < -0.9) && all.some((v) => v > 0.9), 'and spans it (random pixels)');
    const train = await collect(module.trainDataloader());
    assert.deepEqual(train.shapes[0], [4, 3, 224, 224]);
    assert.throws(() => new ImagenetDataModule({}), /root is required/);
    assert.throws(() => new ImagenetDataModule({ root, preprocessing: { resizeSize: 20, cropSize: 32 } }), /cropSize 32 is larger than resizeSize 20/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('file datasets: different sizes without a resizing transform, missing and corrupt files are errors naming the file (also from workers)', async () => {
  const root = makeFolder();
  try {
    const ds = imageFolderFiles(join(root, 'train'));
    await assert.rejects(collect(new DataLoader(ds, { batchSize: 4, transform: new ToTensor() })), /img1\.png\) came out of the transform as 3×33×30.*need a Resize/);
    // the in-memory reader refuses mixed sizes and points to the lazy one
    assert.throws(() => loadImageFolder(join(root, 'train')), /all images must have the same size, or give a size.*imageFolderFiles reads images of any size lazily/);
    const resized = new Compose([new Resize([8, 8]), new ToTensor()]);
    writeFileSync(ds.files[6], 'not an image');
    for (const numWorkers of [0, 2]) {
      await assert.rejects(collect(new DataLoader(ds, { batchSize: 10, transform: resized, numWorkers })), (e: Error) => e.message.includes(ds.files[6]) && /not a PNG file/.test(e.message));
    }
    unlinkSync(ds.files[6]);
    await assert.rejects(collect(new DataLoader(ds, { batchSize: 10, transform: resized, numWorkers: 1 })), (e: Error) => e.message.includes(`cannot read image ${ds.files[6]}: ENOENT`));
    assert.throws(() => fileImageDataset(['a.png'], Int32Array.from([0, 1]), ['x'], 3), /1 files but 2 labels/);
    assert.throws(() => fileImageDataset(['a.png'], Int32Array.from([0]), ['x'], 2 as 3), /channels must be 1 or 3/);
    assert.throws(() => imageFolderFiles(join(root, 'nope')), /cannot read image folder .*nope: ENOENT/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('in-memory image folders with a size: every image resized (shorter edge) and center-cropped as read; the catalog\'s folder:<path> takes it', () => {
  const root = makeFolder();
  try {
    const ds = loadImageFolder(join(root, 'train'), { size: 24, channels: 3 });
    assert.deepEqual([ds.length, ds.channels, ds.height, ds.width], [10, 3, 24, 24]);
    const files = imageFolderFiles(join(root, 'train'), { channels: 3 });
    const fit = new Compose([new Resize(24), new CenterCrop(24)]);
    const per = 3 * 24 * 24;
    files.files.forEach((f, i) => {
      assert.deepEqual(ds.images.subarray(i * per, (i + 1) * per), fit.apply(readImageFile(f, 3), new Rng(0)).data, f);
    });
    const opened = openDataset(`folder:${root}`, undefined, { imageSize: 24 });
    assert.deepEqual(opened.info.shape, [3, 24, 24]);
    assert.equal(opened.val().height, 24);
    assert.throws(() => openDataset(`folder:${root}`).train(), /all images must have the same size, or give a size to resize them to: `size` here, --image-size on the command line/);
    assert.throws(() => openDataset('fashion-mnist', undefined, { imageSize: 24 }), /an image size applies to image folders \(folder:<path>\) only, not to 'fashion-mnist'/);
    assert.throws(() => loadImageFolder(join(root, 'train'), { size: 0 }), /size must be a positive integer, got 0/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
