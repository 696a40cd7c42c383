import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/data/rng.js';
import { arrayImageDataset } from '../src/data/images.js';
import { DataLoader } from '../src/data/loader.js';
import { Compose, Image, makeImage, Normalize, RandomResizedCrop, ToTensor, transformFromSpec } from '../src/data/transforms.js';
import { applyRandAugmentOp, RandAugment, RAND_AUGMENT_OPS, randAugmentMagnitude } from '../src/data/randaugment.js';
import { batchRng, buildBatch } from '../src/data/batch.js';

const grey = (rows: number[][]): Image => makeImage(Uint8Array.from(rows.flat()), 1, rows.length, rows[0].length);
const rowsOf = (img: Image, c = 0): number[][] =>
  Array.from({ length: img.height }, (_, i) => [...img.data.subarray((c * img.height + i) * img.width, (c * img.height + i + 1) * img.width)]);
/** n×n single-channel image with distinct values 10·i + j. */
const square = (n: number): Image => grey(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 10 * i + j)));

test('RandAugment magnitude bins: torchvision mapping at the default 31 bins', () => {
  assert.equal(randAugmentMagnitude('Posterize', 0, 31, 32, 32).magnitude, 8);
  assert.equal(randAugmentMagnitude('Posterize', 9, 31, 32, 32).magnitude, 7); // 8 − round(9 / 7.5)
  assert.equal(randAugmentMagnitude('Posterize', 30, 31, 32, 32).magnitude, 4);
  assert.equal(randAugmentMagnitude('Solarize', 0, 31, 32, 32).magnitude, 255);
  assert.equal(randAugmentMagnitude('Solarize', 9, 31, 32, 32).magnitude, 178.5); // 255 − 9 · 8.5
  assert.equal(randAugmentMagnitude('Solarize', 30, 31, 32, 32).magnitude, 0);
  assert.equal(randAugmentMagnitude('Rotate', 9, 31, 32, 32).magnitude, 9);
  assert.ok(Math.abs(randAugmentMagnitude('ShearX', 30, 31, 32, 32).magnitude - 0.3) < 1e-7);
  assert.ok(Math.abs(randAugmentMagnitude('Brightness', 9, 31, 32, 32).magnitude - 0.27) < 1e-7);
  const tx = randAugmentMagnitude('TranslateX', 9, 31, 20, 32);
  assert.ok(Math.abs(tx.magnitude - (150 / 331) * 32 * 0.3) < 1e-5 && tx.signed);
  assert.ok(Math.abs(randAugmentMagnitude('TranslateY', 9, 31, 20, 32).magnitude - (150 / 331) * 20 * 0.3) < 1e-5);
  for (const op of ['Identity', 'AutoContrast', 'Equalize', 'Posterize', 'Solarize'] as const) assert.equal(randAugmentMagnitude(op, 9, 31, 8, 8).signed, false);
  assert.deepEqual([...RAND_AUGMENT_OPS], ['Identity', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness', 'Posterize', 'Solarize', 'AutoContrast', 'Equalize']);
});

test('Identity, Posterize, Solarize on hand-made values', () => {
  const img = grey([[0, 1, 127, 128, 200, 255]]);
  assert.equal(applyRandAugmentOp(img, 'Identity', 0), img);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Posterize', 7)), [[0, 0, 126, 128, 200, 254]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Posterize', 3)), [[0, 0, 96, 128, 192, 224]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Posterize', 0)), [[0, 0, 0, 0, 0, 0]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Posterize', 8)), rowsOf(img));
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Solarize', 128)), [[0, 1, 127, 127, 55, 0]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Solarize', 178.5)), [[0, 1, 127, 128, 55, 0]]);
});

test('Equalize: torchvision\'s histogram table; a one-value image is unchanged', () => {
  // 1024 pixels: 512 × 10, 256 × 20, 256 × 30 → step = ⌊(512 + 256) / 255⌋ = 3,
  // table[v] = ⌊(pixels below v + ⌊3/2⌋) / 3⌋: 10 → 0, 20 → ⌊513/3⌋ = 171, 30 → ⌊769/3⌋ = 256 → 255
  const values = [...Array(512).fill(10), ...Array(256).fill(20), ...Array(256).fill(30)];
  const img = makeImage(Uint8Array.from(values), 1, 32, 32);
  const out = applyRandAugmentOp(img, 'Equalize', 0);
  assert.deepEqual([...new Set(out.data.subarray(0, 512))], [0]);
  assert.deepEqual([...new Set(out.data.subarray(512, 768))], [171]);
  assert.deepEqual([...new Set(out.data.subarray(768))], [255]);
  const flat = makeImage(new Uint8Array(64).fill(77), 1, 8, 8);
  assert.deepEqual([...applyRandAugmentOp(flat, 'Equalize', 0).data], Array(64).fill(77));
});

test('AutoContrast stretches each channel; a constant channel is unchanged', () => {
  const img = makeImage(Uint8Array.from([50, 100, 150, 9, 9, 9]), 2, 1, 3);
  assert.deepEqual([...applyRandAugmentOp(img, 'AutoContrast', 0).data], [0, 127, 255, 9, 9, 9]); // (v − 50) · 2.55, truncated
});

test('Brightness, Color, Contrast, Sharpness: float32 blends, clamped and truncated', () => {
  const img = grey([[0, 100, 200, 101]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Brightness', 0.5)), [[0, 150, 255, 151]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Brightness', -0.5)), [[0, 50, 100, 50]]);
  // contrast of a grey image: blend with its mean (100.25)
  assert.deepEqual(rowsOf(applyRandAugmentOp(grey([[0, 100, 200, 100]]), 'Contrast', 1)), [[0, 100, 255, 100]]); // 2v − 100
  assert.deepEqual(rowsOf(applyRandAugmentOp(grey([[0, 100, 200, 100]]), 'Contrast', -1)), [[100, 100, 100, 100]]);
  // Color at factor 0 is the grey image: trunc(0.2989 r + 0.587 g + 0.114 b)
  const rgb = makeImage(Uint8Array.from([255, 0, 0, 100, /* g */ 0, 255, 0, 100, /* b */ 0, 0, 255, 100]), 3, 1, 4);
  const desat = applyRandAugmentOp(rgb, 'Color', -1);
  for (let c = 0; c < 3; c++) assert.deepEqual([...desat.data.subarray(c * 4, c * 4 + 4)], [76, 149, 29, 99]);
  // factor 2 on the grey pixel (100, 100, 100): 2 · 100 − 99 = 101
  assert.equal(applyRandAugmentOp(rgb, 'Color', 1).data[3], 101);
  assert.equal(applyRandAugmentOp(grey([[5, 6]]), 'Color', 0.5).data[1], 6); // one channel: unchanged
  // Sharpness: the blurred centre of a lone 130 is round(5 · 130 / 13) = 50; borders keep the original
  const dot = grey([[0, 0, 0], [0, 130, 0], [0, 0, 0]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(dot, 'Sharpness', -1)), [[0, 0, 0], [0, 50, 0], [0, 0, 0]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(dot, 'Sharpness', 1)), [[0, 0, 0], [0, 210, 0], [0, 0, 0]]);
  assert.deepEqual(rowsOf(applyRandAugmentOp(grey([[1, 2], [3, 4]]), 'Sharpness', 1)), [[1, 2], [3, 4]]);
});

test('geometric ops: Rotate ±90° and 180° are exact transposes/flips, translations shift with fill, shear by rows', () => {
  for (const n of [4, 5]) {
    const img = square(n);
    const a = rowsOf(img);
    // counter-clockwise by 90°: out[i][j] = in[j][n − 1 − i]
    const ccw = a.map((_, i) => a.map((__, j) => a[j][n - 1 - i]));
    const cw = a.map((_, i) => a.map((__, j) => a[n - 1 - j][i]));
    const half = a.map((_, i) => a.map((__, j) => a[n - 1 - i][n - 1 - j]));
    assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Rotate', 90)), ccw, `${n}×${n} rotate 90`);
    assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Rotate', -90)), cw, `${n}×${n} rotate −90`);
    assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'Rotate', 180)), half, `${n}×${n} rotate 180`);
  }
  const img = square(4);
  const a = rowsOf(img);
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'TranslateX', 2.9, [7])), a.map((r) => [7, 7, r[0], r[1]])); // truncated to 2
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'TranslateX', -1)), a.map((r) => [r[1], r[2], r[3], 0]));
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'TranslateY', 1, [9])), [[9, 9, 9, 9], a[0], a[1], a[2]]);
  // ShearX by 0.5 about the top-left corner: row i reads column j + round(0.5 · (i + ½)) = j + [0, 1, 1, 2][i]
  const shift = [0, 1, 1, 2];
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'ShearX', 0.5, [1])), a.map((r, i) => r.map((_, j) => (j + shift[i] < 4 ? r[j + shift[i]] : 1))));
  assert.deepEqual(rowsOf(applyRandAugmentOp(img, 'ShearY', 0.5, [1])), a.map((r, i) => r.map((_, j) => (i + shift[j] < 4 ? a[i + shift[j]][j] : 1))));
  // per-channel fill
  const rgb = makeImage(new Uint8Array(3 * 4).fill(50), 3, 2, 2);
  const moved = applyRandAugmentOp(rgb, 'TranslateX', 1, [1, 2, 3]);
  assert.deepEqual([...moved.data], [1, 50, 1, 50, 2, 50, 2, 50, 3, 50, 3, 50]);
});

test('magnitude bin 0 leaves the geometric ops the identity (either sign)', () => {
  const rng = new Rng(3);
  const img = makeImage(Uint8Array.from({ length: 3 * 7 * 9 }, () => rng.int(0, 256)), 3, 7, 9);
  for (const op of ['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate'] as const) {
    const { magnitude } = randAugmentMagnitude(op, 0, 31, 7, 9);
    assert.deepEqual([...applyRandAugmentOp(img, op, magnitude, [200]).data], [...img.data], op);
    assert.deepEqual([...applyRandAugmentOp(img, op, -magnitude, [200]).data], [...img.data], `${op} negated`);
  }
  // and small non-zero ones move few pixels: rotating by 10° moves the corners (about 1 pixel) but keeps much of a 9×7 image
  const r = applyRandAugmentOp(img, 'Rotate', 10);
  let same = 0;
  for (let k = 0; k < img.data.length; k++) if (r.data[k] === img.data[k]) same++;
  assert.ok(same > img.data.length * 0.3 && same < img.data.length, `${same}`);
});

test('RandAugment: seeded, reproducible, different per batch, through specs and workers; bad options named', async () => {
  const rng = new Rng(1);
  const n = 64;
  const images = Uint8Array.from({ length: n * 3 * 16 * 16 }, () => rng.int(0, 256));
  const ds = arrayImageDataset(images, new Int32Array(n), [3, 16, 16], []);
  const pipeline = () => new Compose([new RandomResizedCrop(16, [0.5, 1]), new RandAugment({ numOps: 2, magnitude: 9 }), new ToTensor(), new Normalize([0.5], [0.5])]);
  const idx = Int32Array.from({ length: 32 }, (_, i) => i);
  const a = buildBatch(ds, idx, pipeline(), batchRng(7, 0, 0));
  const b = buildBatch(ds, idx, transformFromSpec(pipeline().spec()), batchRng(7, 0, 0));
  const c = buildBatch(ds, idx, pipeline(), batchRng(7, 0, 1));
  assert.deepEqual(a.x, b.x);
  assert.notDeepEqual(a.x, c.x);
  // the ops actually change images: compare with the same crop without RandAugment
  const plain = buildBatch(ds, idx, new Compose([new RandomResizedCrop(16, [0.5, 1]), new ToTensor(), new Normalize([0.5], [0.5])]), batchRng(7, 0, 0));
  assert.notDeepEqual(a.x, plain.x);
  // every op is drawn, about uniformly (2 ops × 1400 images)
  const counts = new Map<string, number>();
  const r = new Rng(11);
  for (let k = 0; k < 2800; k++) { const op = RAND_AUGMENT_OPS[r.int(0, 14)]; counts.set(op, (counts.get(op) ?? 0) + 1); }
  for (const op of RAND_AUGMENT_OPS) assert.ok(Math.abs(counts.get(op)! - 200) < 60, `${op}: ${counts.get(op)}`);

  const loader = new DataLoader(ds, { batchSize: 16, shuffle: true, seed: 3, transform: pipeline(), numWorkers: 2 });
  const inline = new DataLoader(ds, { batchSize: 16, shuffle: true, seed: 3, transform: pipeline() });
  try {
    const got: number[][] = [];
    for (const l of [loader, inline]) {
      const all: number[] = [];
      for await (const { x, y } of l) { all.push(...(x.dataSync() as Float32Array)); x.dispose(); y.dispose(); }
      got.push(all);
    }
    assert.deepEqual(got[0], got[1]);
  } finally {
    await loader.close();
  }

  assert.throws(() => new RandAugment({ magnitude: 31 }), /magnitude must be an integer bin in \[0, 30\]/);
  assert.throws(() => new RandAugment({ numOps: -1 }), /numOps/);
  assert.throws(() => new RandAugment({ fill: [] }), /fill/);
  assert.throws(() => new RandAugment().apply(makeImage(new Float32Array(4), 1, 2, 2), new Rng(0)), /uint8 image; put it before ToTensor/);
  assert.throws(() => new RandAugment().apply(makeImage(new Uint8Array(8), 2, 2, 2), new Rng(0)), /1- or 3-channel/);
  assert.throws(() => new RandAugment({ fill: [1, 2] }).apply(makeImage(new Uint8Array(12), 3, 2, 2), new Rng(0)), /2 fill values for a 3-channel/);
});
