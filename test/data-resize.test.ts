// Resize against PyTorch 1.13's antialiased bilinear interpolation (the
// kernel torchvision's Resize runs on tensors), its output-size rule, and
// the loader paths it runs in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/data/rng.js';
import { Compose, Normalize, RandomResizedCrop, ToTensor, makeImage, transformFromSpec } from '../src/data/transforms.js';
import { Resize, resizeAntialiased, resizedSize } from '../src/data/resize.js';
import { nativeImageModule } from '../src/data/native-image.js';
import { DataLoader } from '../src/data/loader.js';
import { arrayImageDataset } from '../src/data/images.js';
import { runTorch, skipWithoutTorch } from './helpers/pytorch.js';

function randomImage(channels: number, height: number, width: number, seed: number, float = false) {
  const rng = new Rng(seed);
  const n = channels * height * width;
  const data = float ? new Float32Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = float ? rng.uniform(-2, 3) : rng.int(0, 256);
  return makeImage(data, channels, height, width);
}

// shrinking by non-integer and large factors, enlarging, one axis only, a 1-pixel edge
const CASES: [number, number, number, number][] = [
  [37, 53, 16, 21], [64, 48, 7, 5], [20, 30, 45, 61], [33, 40, 33, 13], [9, 9, 1, 4], [50, 17, 24, 17], [5, 6, 11, 3],
];

test('Resize: antialiased bilinear matches PyTorch interpolate(antialias=True) on float32 images', { skip: skipWithoutTorch }, () => {
  const images = CASES.map(([h, w], i) => randomImage(2, h, w, 100 + i, true));
  const ours = CASES.map(([, , oh, ow], i) => new Resize([oh, ow]).apply(images[i]));
  const ref = runTorch(`
out['y'] = []
for c in inp:
    x = torch.tensor(c['x'], dtype=torch.float32).reshape(1, 2, c['h'], c['w'])
    y = F.interpolate(x, size=(c['oh'], c['ow']), mode='bilinear', align_corners=False, antialias=True)
    out['y'].append(y.flatten().tolist())
`, CASES.map(([h, w, oh, ow], i) => ({ x: Array.from(images[i].data), h, w, oh, ow })));
  CASES.forEach(([, , oh, ow], i) => {
    assert.deepEqual([ours[i].channels, ours[i].height, ours[i].width], [2, oh, ow]);
    const want: number[] = ref.y[i];
    let worst = 0;
    want.forEach((v, k) => { worst = Math.max(worst, Math.abs(v - ours[i].data[k])); });
    assert.ok(worst < 2e-6, `case ${CASES[i]}: max |ours − torch| = ${worst}`);
  });
});

test('Resize: uint8 images are torch.round(interpolate(float)) (off by one only on a rounding tie)', { skip: skipWithoutTorch }, () => {
  const images = CASES.map(([h, w], i) => randomImage(3, h, w, 200 + i));
  const ours = CASES.map(([, , oh, ow], i) => new Resize([oh, ow]).apply(images[i]));
  const ref = runTorch(`
out['y'] = []
for c in inp:
    x = torch.tensor(c['x'], dtype=torch.uint8).reshape(1, 3, c['h'], c['w']).float()
    y = torch.round(F.interpolate(x, size=(c['oh'], c['ow']), mode='bilinear', align_corners=False, antialias=True)).clamp(0, 255)
    out['y'].append(y.flatten().tolist())
`, CASES.map(([h, w, oh, ow], i) => ({ x: Array.from(images[i].data), h, w, oh, ow })));
  let total = 0;
  let differing = 0;
  CASES.forEach((_, i) => {
    assert.ok(ours[i].data instanceof Uint8Array, 'a uint8 image stays uint8');
    (ref.y[i] as number[]).forEach((v, k) => {
      const d = Math.abs(v - ours[i].data[k]);
      assert.ok(d <= 1, `case ${CASES[i]} pixel ${k}: ${ours[i].data[k]} vs torch ${v}`);
      total++;
      if (d) differing++;
    });
  });
  assert.ok(differing <= total * 1e-3, `${differing} of ${total} pixels differ by one`);
});

test('Resize(antialias: false) is plain bilinear, as interpolate without antialiasing', { skip: skipWithoutTorch }, () => {
  const img = randomImage(1, 40, 31, 7, true);
  const ours = new Resize([13, 9], { antialias: false }).apply(img);
  const ref = runTorch(`
x = torch.tensor(inp, dtype=torch.float32).reshape(1, 1, 40, 31)
out['y'] = F.interpolate(x, size=(13, 9), mode='bilinear', align_corners=False).flatten().tolist()
`, Array.from(img.data));
  // the existing 2-tap kernel agrees with libtorch's to float32 rounding of its lerps, not bit for bit
  (ref.y as number[]).forEach((v, k) => assert.ok(Math.abs(v - ours.data[k]) < 1e-5, `pixel ${k}: ${ours.data[k]} vs ${v}`));
});

test('Resize: one number matches the shorter edge, keeping the aspect ratio; maxSize bounds the longer edge', () => {
  // torchvision: short → size, long → int(size · long / short)
  assert.deepEqual(resizedSize(375, 500, 256), [256, 341]);
  assert.deepEqual(resizedSize(500, 375, 256), [341, 256]);
  assert.deepEqual(resizedSize(300, 300, 224), [224, 224]);
  assert.deepEqual(resizedSize(100, 1000, 50, 300), [30, 300]);
  assert.deepEqual(resizedSize(100, 200, 50, 300), [50, 100]);
  assert.deepEqual(resizedSize(10, 20, [7, 9]), [7, 9]);
  const out = new Resize(16).apply(randomImage(3, 24, 40, 3));
  assert.deepEqual([out.height, out.width], [16, 26]);
});

test('Resize: an image already at the target size passes through untouched', () => {
  const img = randomImage(1, 12, 20, 4);
  assert.equal(new Resize(12).apply(img), img);
  assert.equal(new Resize([12, 20]).apply(img), img);
});

test('Resize: a constant image stays constant, shrinking or enlarging', () => {
  const img = makeImage(new Uint8Array(3 * 29 * 41).fill(77), 3, 29, 41);
  for (const size of [[7, 10], [60, 90], [29, 5]] as [number, number][]) {
    const out = new Resize(size).apply(img);
    assert.ok(out.data.every((v) => v === 77), `to ${size}`);
  }
});

test('Resize: bad sizes and options are errors naming the problem', () => {
  assert.throws(() => new Resize(0), /Resize: size must be a positive integer/);
  assert.throws(() => new Resize([3, 2.5]), /Resize: size must be/);
  assert.throws(() => new Resize([3, 4, 5] as unknown as [number, number]), /Resize: size must be/);
  assert.throws(() => new Resize([32, 32], { maxSize: 64 }), /maxSize applies only when size is a single number/);
  assert.throws(() => new Resize(32, { maxSize: 32 }), /maxSize must be an integer greater than size 32/);
  assert.throws(() => new Resize(1).apply(randomImage(1, 1, 600, 1)) && new Resize(1, { maxSize: 2 }).apply(randomImage(1, 1, 600, 1)), /would become/);
});

test('Resize: its spec rebuilds the same transform (loader workers), and worker batches equal in-thread ones', async () => {
  const t = new Compose([new Resize(20, { maxSize: 30 }), new RandomResizedCrop(16, [0.5, 1]), new ToTensor(), new Normalize([0.5], [0.25])]);
  const rebuilt = transformFromSpec(JSON.parse(JSON.stringify(t.spec())));
  assert.deepEqual(rebuilt.spec(), t.spec());
  const n = 10;
  const images = new Uint8Array(n * 1 * 24 * 36);
  const rng = new Rng(9);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(0, 256);
  const ds = arrayImageDataset(images, Int32Array.from({ length: n }, (_, i) => i % 3), [1, 24, 36], ['a', 'b', 'c']);
  const collect = async (numWorkers: number) => {
    const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 5, transform: t, numWorkers });
    const out: number[][] = [];
    for await (const b of loader) {
      assert.deepEqual(b.x.shape.slice(1), [1, 16, 16]);
      out.push(b.x.toFlatArray());
      b.x.dispose();
      b.y.dispose();
    }
    loader.close();
    return out;
  };
  assert.deepEqual(await collect(2), await collect(0));
});

test('Resize: the native passes give the same bits as the TypeScript ones, uint8 and float32', { skip: nativeImageModule() === null ? 'the native image module is not built' : false }, () => {
  CASES.forEach(([h, w, oh, ow], i) => {
    for (const float of [false, true]) {
      const img = randomImage(3, h, w, 300 + i, float);
      const native = resizeAntialiased(img, oh, ow, true);
      const js = resizeAntialiased(img, oh, ow, false);
      assert.equal(native.data.constructor, js.data.constructor);
      assert.deepEqual(Array.from(native.data), Array.from(js.data), `case ${CASES[i]} ${float ? 'float32' : 'uint8'}`);
    }
  });
});
