import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, fromTypedArray, scope, tensor } from '../src/torch/index.js';
import { Rng, mixSeed } from '../src/data/rng.js';
import { channelStats } from '../src/data/stats.js';
import { imageFromTensor, imageToTensor } from '../src/data/images.js';
import {
  CenterCrop, Compose, Image, Normalize, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, ToTensor,
  makeImage, pad, resizedCrop, transformFromSpec,
} from '../src/data/transforms.js';

function randomImage(rng: Rng, c: number, h: number, w: number): Image {
  const data = new Uint8Array(c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 256);
  return makeImage(data, c, h, w);
}

test('Rng: reproducible, seed-dependent, uniform in range', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xa = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(xa, Array.from({ length: 100 }, () => b.nextUint32()));
  assert.notDeepEqual(xa, Array.from({ length: 100 }, () => c.nextUint32()));
  assert.notEqual(mixSeed(1, 0, 0), mixSeed(0, 1, 0));
  assert.notEqual(mixSeed(2 ** 40), mixSeed(0));
  const r = new Rng(7);
  const counts = new Array(6).fill(0);
  const n = 60000;
  for (let i = 0; i < n; i++) {
    const u = r.random();
    assert.ok(u >= 0 && u < 1);
    counts[r.int(0, 6)]++;
  }
  // chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile
  const chi = counts.reduce((s, k) => s + (k - n / 6) ** 2 / (n / 6), 0);
  assert.ok(chi < 20.5, `chi-square ${chi} for ${counts}`);
  const p = new Rng(3).permutation(50);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.throws(() => r.int(3, 3), /empty range/);
});

test('channelStats matches a direct two-pass computation', () => {
  const rng = new Rng(1);
  const n = 7;
  const img = new Uint8Array(n * 3 * 5 * 6);
  for (let i = 0; i < img.length; i++) img[i] = rng.int(0, 256) >> (i % 3); // channels differ
  const stats = channelStats({ images: img, channels: 3, height: 5, width: 6 });
  for (let c = 0; c < 3; c++) {
    const values: number[] = [];
    for (let k = 0; k < n; k++) for (let p = 0; p < 30; p++) values.push(img[k * 90 + c * 30 + p] / 255);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    assert.ok(Math.abs(stats.mean[c] - mean) < 1e-12, `mean ${c}`);
    assert.ok(Math.abs(stats.std[c] - std) < 1e-12, `std ${c}`);
  }
  const constant = channelStats({ images: new Uint8Array(12).fill(51), channels: 1, height: 2, width: 2 });
  assert.deepEqual(constant, { mean: [0.2], std: [0] });
  assert.throws(() => channelStats({ images: new Uint8Array(5), channels: 1, height: 2, width: 2 }), /not a whole number/);
});

test('ToTensor and Normalize are bit-exact against the engine (float32 x / 255, then (x − mean) / std)', () => scope(() => {
  const rng = new Rng(5);
  const img = randomImage(rng, 3, 4, 5);
  const mean = [0.41757566, 0.26098573, 0.25888634];
  const std = [0.21938758, 0.1983, 0.19342837];
  const out = new Compose([new ToTensor(), new Normalize(mean, std)]).apply(img, rng);
  assert.ok(out.data instanceof Float32Array);
  const t = fromTypedArray(img.data, [3, 4, 5]).to('float32').div(255);
  assert.deepEqual(new ToTensor().apply(img).data, t.dataSync());
  const expected = t.sub(tensor(mean).view(3, 1, 1)).div(tensor(std).view(3, 1, 1));
  assert.deepEqual(out.data, expected.dataSync());
  assert.throws(() => new Normalize(mean, std).apply(img), /expects a float image/);
  assert.throws(() => new Normalize([0], [0]), /non-zero/);
}));

test('bilinear resize (align_corners=False, no antialias) against hand-computed values', () => {
  // 2×2 → 4×4: sample positions 0, 0.25, 0.75, 1 (clamped) in both directions
  const up = resizedCrop(makeImage(Float32Array.from([0, 10, 20, 30]), 1, 2, 2), 0, 0, 2, 2, 4, 4);
  assert.deepEqual([...up.data], [0, 2.5, 7.5, 10, 5, 7.5, 12.5, 15, 15, 17.5, 22.5, 25, 20, 22.5, 27.5, 30]);
  // 4×4 → 2×2: sample positions 0.5 and 2.5, values 4y + x
  const grid = Array.from({ length: 16 }, (_, i) => i);
  const down = resizedCrop(makeImage(Float32Array.from(grid), 1, 4, 4), 0, 0, 4, 4, 2, 2);
  assert.deepEqual([...down.data], [2.5, 4.5, 10.5, 12.5]);
  // uint8 rounds half to even like torch.round
  const downByte = resizedCrop(makeImage(Uint8Array.from(grid), 1, 4, 4), 0, 0, 4, 4, 2, 2);
  assert.ok(downByte.data instanceof Uint8Array);
  assert.deepEqual([...downByte.data], [2, 4, 10, 12]);
  // a 1×3 box starting at column 1 of a wider image → width 2: positions 0.25 and 1.75 of the box
  const row = makeImage(Float32Array.from([99, 0, 10, 40, 99]), 1, 1, 5);
  assert.deepEqual([...resizedCrop(row, 0, 1, 1, 3, 1, 2).data], [2.5, 32.5]);
  assert.throws(() => resizedCrop(row, 0, 3, 1, 3, 1, 2), /not inside/);
});

test('resizedCrop agrees with the engine\'s bilinear interpolation (align_corners=False) on random boxes', () => scope(() => {
  const rng = new Rng(21);
  const src = randomImage(rng, 3, 32, 32);
  const srcF = makeImage(Float32Array.from(src.data), 3, 32, 32);
  let exactBytes = 0;
  let totalBytes = 0;
  for (let k = 0; k < 40; k++) {
    const [top, left, h, w] = RandomResizedCrop.getParams(32, 32, [0.08, 1], [3 / 4, 4 / 3], rng);
    const [oh, ow] = k % 2 ? [32, 32] : [rng.int(5, 40), rng.int(5, 40)];
    const ours = resizedCrop(srcF, top, left, h, w, oh, ow);
    const box = fromTypedArray(srcF.data, [1, 3, 32, 32]).narrow(2, top, h).narrow(3, left, w).contiguous();
    const ref = F.interpolate(box, { size: [oh, ow], mode: 'bilinear', alignCorners: false });
    const refData = ref.dataSync() as Float32Array;
    assert.equal(ours.data.length, refData.length);
    for (let i = 0; i < refData.length; i++) assert.ok(Math.abs(ours.data[i] - refData[i]) < 1e-3, `box ${[top, left, h, w]} → ${oh}×${ow}, value ${i}: ${ours.data[i]} vs ${refData[i]}`);
    // uint8: torchvision rounds the float result; libtorch's float32 weight arithmetic differs in the last
    // bits, so a value sitting on a .5 boundary may round the other way (±1 on a fraction of a percent)
    const bytes = resizedCrop(src, top, left, h, w, oh, ow).data;
    const rounded = ref.round().dataSync() as Float32Array;
    for (let i = 0; i < rounded.length; i++) {
      assert.ok(Math.abs(bytes[i] - rounded[i]) <= 1);
      if (bytes[i] === rounded[i]) exactBytes++;
      totalBytes++;
    }
  }
  assert.ok(exactBytes / totalBytes > 0.99, `${totalBytes - exactBytes} of ${totalBytes} bytes differ`);
}));

test('RandomResizedCrop: boxes within the scale and ratio bounds; fallback to the center crop', () => {
  const rng = new Rng(11);
  const scale: [number, number] = [0.25, 1];
  const ratio: [number, number] = [3 / 4, 4 / 3];
  let minArea = Infinity;
  let maxArea = 0;
  let logRatioSum = 0;
  const draws = 5000;
  for (let k = 0; k < draws; k++) {
    const [i, j, h, w] = RandomResizedCrop.getParams(32, 32, scale, ratio, rng);
    assert.ok(i >= 0 && j >= 0 && i + h <= 32 && j + w <= 32 && h > 0 && w > 0, `box ${[i, j, h, w]}`);
    // the box is an integer rounding of a box whose area and ratio are within bounds
    assert.ok((w + 0.5) * (h + 0.5) >= 0.25 * 1024, `area ${w * h}`);
    assert.ok((w + 0.5) / (h - 0.5) >= 3 / 4 && (w - 0.5) / (h + 0.5) <= 4 / 3, `ratio ${w}/${h}`);
    minArea = Math.min(minArea, w * h);
    maxArea = Math.max(maxArea, w * h);
    logRatioSum += Math.log(w / h);
  }
  assert.ok(minArea < 0.3 * 1024 && maxArea > 0.95 * 1024, `areas span [${minArea}, ${maxArea}]`);
  assert.ok(Math.abs(logRatioSum / draws) < 0.02, `log-ratio mean ${logRatioSum / draws}`);
  // impossible targets (area ≥ 4× the image): the center-crop fallback
  assert.deepEqual(RandomResizedCrop.getParams(10, 20, [4, 5], [1, 1], rng), [0, 5, 10, 10]);
  assert.deepEqual(RandomResizedCrop.getParams(20, 10, [4, 5], [1, 1], rng), [5, 0, 10, 10]);
  assert.deepEqual(RandomResizedCrop.getParams(10, 12, [4, 5], [0.5, 2], rng), [0, 0, 10, 12]);
  // output size and dtype
  const img = randomImage(rng, 3, 40, 30);
  const out = new RandomResizedCrop(32, scale, ratio).apply(img, rng);
  assert.deepEqual([out.channels, out.height, out.width], [3, 32, 32]);
  assert.ok(out.data instanceof Uint8Array);
  assert.throws(() => new RandomResizedCrop(32, [1, 0.5]), /scale/);
});

test('RandomHorizontalFlip: frequency ≈ p (binomial bound), flips exactly', () => {
  const rng = new Rng(2);
  const img = makeImage(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 2, 2, 3);
  const flipped = [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10];
  const p = 0.3;
  const n = 4000;
  let count = 0;
  const t = new RandomHorizontalFlip(p);
  for (let k = 0; k < n; k++) {
    const out = t.apply(img, rng);
    if (out.data[0] === 3) { count++; assert.deepEqual([...out.data], flipped); } else assert.deepEqual([...out.data], [...img.data]);
  }
  const sigma = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - n * p) < 5 * sigma, `${count} flips of ${n}`);
  assert.equal([0, 1, 2, 3].filter(() => new RandomHorizontalFlip(0).apply(img, rng) !== img).length, 0);
});

test('pad modes, RandomCrop and CenterCrop', () => {
  const row = makeImage(Uint8Array.from([1, 2, 3]), 1, 1, 3);
  assert.deepEqual([...pad(row, 2, 0, 2, 0, 'reflect').data], [3, 2, 1, 2, 3, 2, 1]);
  assert.deepEqual([...pad(row, 2, 0, 2, 0, 'symmetric').data], [2, 1, 1, 2, 3, 3, 2]);
  assert.deepEqual([...pad(row, 2, 0, 2, 0, 'edge').data], [1, 1, 1, 2, 3, 3, 3]);
  assert.deepEqual([...pad(row, 2, 1, 2, 0, 'constant', 9).data], [9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9]);
  assert.throws(() => pad(row, 3, 0, 0, 0, 'reflect'), /reflect padding/);

  // RandomCrop(32, padding 4): every output is a 32×32 window of the zero-padded image; all offsets 0..8 occur
  const rng = new Rng(9);
  const img = randomImage(rng, 3, 32, 32);
  const padded = pad(img, 4, 4, 4, 4);
  const seen = new Set<string>();
  const crop = new RandomCrop(32, { padding: 4 });
  for (let k = 0; k < 400; k++) {
    const out = crop.apply(img, rng);
    assert.deepEqual([out.channels, out.height, out.width], [3, 32, 32]);
    let found = false;
    for (let i = 0; i <= 8 && !found; i++) {
      for (let j = 0; j <= 8 && !found; j++) {
        let same = true;
        for (let c = 0; c < 3 && same; c++) for (let y = 0; y < 32 && same; y += 7) for (let x = 0; x < 32 && same; x += 5) same = out.data[c * 1024 + y * 32 + x] === padded.data[c * 1600 + (y + i) * 40 + x + j];
        if (same) { found = true; seen.add(`${i},${j}`); }
      }
    }
    assert.ok(found, 'output is a window of the padded image');
  }
  assert.ok(seen.size > 60, `only ${seen.size} of 81 offsets seen`);
  assert.throws(() => new RandomCrop(40).apply(img, rng), /larger than/);
  assert.equal(new RandomCrop(40, { padIfNeeded: true }).apply(img, rng).height, 40);

  const grid = (h: number, w: number) => makeImage(Uint8Array.from({ length: h * w }, (_, i) => i), 1, h, w);
  assert.deepEqual([...new CenterCrop(3).apply(grid(5, 5)).data], [6, 7, 8, 11, 12, 13, 16, 17, 18]);
  assert.deepEqual([...new CenterCrop(3).apply(grid(4, 4)).data], [0, 1, 2, 4, 5, 6, 8, 9, 10]); // round(0.5) = 0
  assert.deepEqual([...new CenterCrop([1, 3]).apply(grid(1, 6)).data], [2, 3, 4]); // round(1.5) = 2
  assert.deepEqual([...new CenterCrop(4).apply(grid(2, 2)).data], [0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0]);
});

test('pipelines are reproducible from a seed and rebuild from their specs; tensor images round-trip', () => scope(() => {
  const pipeline = new Compose([
    new RandomCrop(28, { padding: [2, 3], paddingMode: 'reflect' }),
    new RandomResizedCrop([24, 20], [0.3, 0.9]),
    new RandomHorizontalFlip(0.5),
    new CenterCrop(18),
    new ToTensor(),
    new Normalize([0.5], [0.25]),
  ]);
  const img = randomImage(new Rng(0), 3, 30, 30);
  const run = (t: typeof pipeline | ReturnType<typeof transformFromSpec>, seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 5 }, () => [...t.apply(img, rng).data]);
  };
  assert.deepEqual(run(pipeline, 1), run(pipeline, 1));
  assert.notDeepEqual(run(pipeline, 1), run(pipeline, 2));
  const rebuilt = transformFromSpec(JSON.parse(JSON.stringify(pipeline.spec())));
  assert.deepEqual(run(rebuilt, 1), run(pipeline, 1));
  assert.equal(run(pipeline, 1)[0].length, 3 * 18 * 18);
  assert.throws(() => transformFromSpec({ type: 'Nope' } as never), /unknown transform "Nope"/);

  const t = fromTypedArray(img.data, [3, 30, 30]);
  const back = imageFromTensor(t);
  assert.deepEqual(back.data, img.data);
  assert.deepEqual(imageToTensor(back).shape, [3, 30, 30]);
  const f = imageFromTensor(t.to('float64'));
  assert.ok(f.data instanceof Float32Array);
  assert.equal(f.data[17], img.data[17]);
}));
