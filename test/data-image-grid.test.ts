// makeGrid / saveImage against torchvision's make_grid / save_image rules,
// with every expected shape, placement and pixel derived by hand here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { decodeJpeg, decodePng, imageToUint8, makeGrid, saveImage } from '../src/data/index.js';

/** B one-channel H×W images, image k filled with the constant (k + 1) / 100. */
function constantImages(count: number, height: number, width: number): Tensor {
  const data = new Float32Array(count * height * width);
  for (let k = 0; k < count; k++) data.fill((k + 1) / 100, k * height * width, (k + 1) * height * width);
  return torch.fromTypedArray(data, [count, 1, height, width]);
}

const tmp = () => mkdtempSync(join(tmpdir(), 'ortho-grid-'));

test('10 images 1×28×28, nrow 8, padding 2: a 3×62×242 grid, each tile where torchvision puts it, the pad value everywhere else', () => {
  const grid = makeGrid(constantImages(10, 28, 28), { padValue: 0.5 });
  // 8 columns and ceil(10/8) = 2 rows of 28 + 2 pixels, plus 2 at the far border.
  assert.deepEqual(grid.shape, [3, 62, 242]);
  const values = grid.toFlatArray();
  const at = (c: number, y: number, x: number) => values[c * 62 * 242 + y * 242 + x];
  // Hand-placed corners: image 0 spans rows/cols 2..29; image 9 (row 1, column 1) spans rows 32..59, cols 32..59.
  for (const [y, x] of [[2, 2], [29, 29], [2, 29]]) assert.equal(at(0, y, x), Math.fround(0.01));
  for (const [y, x] of [[32, 32], [59, 59]]) assert.equal(at(2, y, x), Math.fround(0.10));
  assert.equal(at(1, 2, 212), Math.fround(0.08), 'image 7 ends the first row at columns 212..239');
  for (const [y, x] of [[0, 0], [1, 5], [30, 10], [31, 10], [10, 30], [10, 241], [61, 0], [40, 62], [45, 240]]) {
    assert.equal(at(0, y, x), 0.5, `(${y}, ${x}) is padding`);
  }
  // Every pixel: inside tile (r, c) it is image 8r + c's value (if that image exists), else the pad value.
  let tilePixels = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 62; y++) {
      for (let x = 0; x < 242; x++) {
        const inRow = (y - 2) % 30 < 28 && y >= 2 && y < 60;
        const inColumn = (x - 2) % 30 < 28 && x >= 2 && x < 240;
        const k = 8 * Math.floor((y - 2) / 30) + Math.floor((x - 2) / 30);
        const expected = inRow && inColumn && k < 10 ? Math.fround((k + 1) / 100) : 0.5;
        if (expected !== 0.5) tilePixels++;
        if (at(c, y, x) !== expected) assert.fail(`pixel (${c}, ${y}, ${x}) is ${at(c, y, x)}, expected ${expected}`);
      }
    }
  }
  assert.equal(tilePixels, 3 * 10 * 28 * 28, 'each of the 10 images appears once in each of the 3 channels');
});

test('padding 0, nrow 3: four 2×2 images laid out exactly as written by hand', () => {
  // image k, pixel (i, j) = 10k + 2i + j
  const images = torch.tensor([0, 1, 2, 3].map((k) => [[[10 * k, 10 * k + 1], [10 * k + 2, 10 * k + 3]]]), { dtype: 'float32' });
  const grid = makeGrid(images, { nrow: 3, padding: 0, padValue: 7 });
  const plane = [
    [0, 1, 10, 11, 20, 21],
    [2, 3, 12, 13, 22, 23],
    [30, 31, 7, 7, 7, 7],
    [32, 33, 7, 7, 7, 7],
  ];
  assert.deepEqual(grid.toArray(), [plane, plane, plane], 'one channel repeated to three');
  // Fewer images than nrow: as many columns as images.
  assert.deepEqual(makeGrid(images.narrow(0, 0, 3), { nrow: 8, padding: 1 }).shape, [3, 2 + 2, 3 * 3 + 1]);
  // A list of images is the stacked batch.
  assert.deepEqual(makeGrid(images.unbind(0), { nrow: 3, padding: 0, padValue: 7 }).toArray(), [plane, plane, plane]);
  // Three-channel images keep their channels.
  const rgb = torch.tensor([[[[1]], [[2]], [[3]]], [[[4]], [[5]], [[6]]]], { dtype: 'float32' });
  assert.deepEqual(makeGrid(rgb, { padding: 1 }).toArray(), [[[0, 0, 0, 0, 0], [0, 1, 0, 4, 0], [0, 0, 0, 0, 0]],
    [[0, 0, 0, 0, 0], [0, 2, 0, 5, 0], [0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0], [0, 3, 0, 6, 0], [0, 0, 0, 0, 0]]]);
});

test('a single image comes back without padding (grey to three channels), as a new tensor', () => {
  const grey = torch.arange(0, 12, 1, { dtype: 'float32' }).view(3, 4);
  for (const input of [grey, grey.unsqueeze(0), grey.view(1, 1, 3, 4)]) {
    const out = makeGrid(input, { padding: 5 });
    assert.deepEqual(out.shape, [3, 3, 4]);
    for (let c = 0; c < 3; c++) assert.deepEqual(out.select(0, c).toArray(), grey.toArray());
  }
  const rgb = torch.rand([3, 4, 5]);
  const out = makeGrid(rgb);
  assert.ok(out.equal(rgb));
  out.fill_(0);
  assert.ok(rgb.max().item() > 0, 'writing to the result leaves the input alone');
});

test('normalize: min-max over the batch, a valueRange with clamping, scaleEach per image; padding is not normalized', () => {
  const images = torch.tensor([[[[-1, 1]]], [[[3, 0]]]], { dtype: 'float32' }); // two 1×1×2 images
  const row = (g: Tensor) => g.select(0, 0).select(0, 1).toArray();
  // Over the batch: (x + 1) / 4.
  assert.deepEqual(row(makeGrid(images, { normalize: true, padding: 1, padValue: 9 })), [9, 0, 0.5, 9, 1, 0.25, 9]);
  // valueRange [0, 2]: clamp then x / 2.
  assert.deepEqual(row(makeGrid(images, { normalize: true, valueRange: [0, 2], padding: 1 })), [0, 0, 0.5, 0, 1, 0, 0]);
  // scaleEach: image 0 by [-1, 1], image 1 by [0, 3].
  const each = row(makeGrid(images, { normalize: true, scaleEach: true, padding: 1 })) as number[];
  assert.deepEqual(each.map((v) => Math.round(v * 1e6) / 1e6), [0, 0, 1, 0, 1, 0, 0]);
  // scaleEach with a valueRange applies the range to each image.
  assert.deepEqual(row(makeGrid(images, { normalize: true, scaleEach: true, valueRange: [0, 2], padding: 1 })), [0, 0, 0.5, 0, 1, 0, 0]);
  // A constant batch divides by 1e-5 after subtracting its value: all zeros, not NaN.
  assert.deepEqual(makeGrid(torch.full([2, 1, 1, 1], 4), { normalize: true, padding: 0 }).toFlatArray(), [0, 0, 0, 0, 0, 0]);
  // The input is not modified.
  assert.deepEqual(images.toFlatArray(), [-1, 1, 3, 0]);
});

test('makeGrid refuses what it cannot lay out, naming the problem', () => {
  assert.throws(() => makeGrid(torch.zeros([2, 1, 1, 3, 3])), /expected \[H, W\], \[C, H, W\] or \[B, C, H, W\] images, got shape \[2, 1, 1, 3, 3\]/);
  assert.throws(() => makeGrid(torch.zeros([5])), /got shape \[5\]/);
  assert.throws(() => makeGrid(torch.zeros([0, 3, 4, 4])), /no pixels/);
  assert.throws(() => makeGrid([]), /empty list/);
  assert.throws(() => makeGrid([torch.zeros([1, 2, 2]), torch.zeros([1, 3, 3])]), /share one shape/);
  assert.throws(() => makeGrid(torch.zeros([2, 1, 2, 2]), { nrow: 0 }), /nrow must be an integer ≥ 1/);
  assert.throws(() => makeGrid(torch.zeros([2, 1, 2, 2]), { padding: -1 }), /padding must be an integer ≥ 0/);
  assert.throws(() => makeGrid(torch.zeros([2, 1, 2, 2]), { normalize: true, valueRange: [1, 0] }), /valueRange must be \[min, max\]/);
  assert.throws(() => makeGrid(torch.zeros([2, 1, 2, 2], { dtype: 'uint8' }), { normalize: true }), /normalize needs floating-point images, got dtype uint8/);
  assert.throws(() => makeGrid(torch.zeros([2, 1, 2, 2], { dtype: 'bool' })), /real numbers/);
  // Integer images without normalize are laid out as they are (torchvision's new_full on any dtype).
  assert.equal(makeGrid(torch.full([2, 1, 2, 2], 200, { dtype: 'uint8' })).dtype, 'uint8');
});

test('pixels are floor(clamp(x·255 + 0.5, 0, 255)) as save_image; PNG files decode to exactly them', () => {
  const dir = tmp();
  try {
    // One 3×1×8 image: each value's pixel worked out by hand.
    const values = [-0.2, 0.4 / 255, 0.6 / 255, 2.4 / 255, 2.6 / 255, 0.5, 1, 1.7];
    const pixels = [0, 0, 1, 2, 3, 128, 255, 255]; // 0.4 + 0.5 → 0, 0.6 + 0.5 → 1, 0.5·255 + 0.5 = 128
    const image = torch.tensor([values, values.map((v) => v / 2), values.map(() => 0.25)], { dtype: 'float64' }).view(3, 1, 8);
    assert.deepEqual([...imageToUint8(image).data.subarray(0, 8)], pixels);
    const path = join(dir, 'one.png');
    saveImage(image, path);
    const decoded = decodePng(readFileSync(path));
    assert.deepEqual([decoded.channels, decoded.height, decoded.width], [3, 1, 8]);
    assert.deepEqual([...decoded.data.subarray(0, 8)], pixels);
    assert.deepEqual([...decoded.data.subarray(8, 16)], [0, 0, 0, 1, 1, 64, 128, 217]); // x/2: 0.3 + 0.5 → 0, 1.2 + 0.5 → 1, 0.25·255 + 0.5 = 64.25, 0.85·255 + 0.5 = 217.25
    assert.deepEqual([...decoded.data.subarray(16)], new Array(8).fill(64));
    assert.deepEqual(readdirSync(dir), ['one.png'], 'no temporary file left behind');

    // A batch of grey images: the decoded grid is RGB, of makeGrid's size, tiles and padding in place.
    const gridPath = join(dir, 'grid.PNG');
    saveImage(constantImages(10, 28, 28), gridPath, { padValue: 1 });
    const grid = decodePng(readFileSync(gridPath));
    assert.deepEqual([grid.channels, grid.height, grid.width], [3, 62, 242]);
    const px = (c: number, y: number, x: number) => grid.data[c * 62 * 242 + y * 242 + x];
    assert.equal(px(0, 0, 0), 255, 'pad value 1 → 255');
    assert.equal(px(1, 2, 2), 3, 'image 0: 0.01·255 + 0.5 = 3.05');
    assert.equal(px(2, 59, 29), 23, 'image 8 (second row, first column): 0.09·255 + 0.5 = 23.45');
    assert.equal(px(0, 31, 29), 255, 'between the rows: padding');
    assert.equal(px(0, 40, 70), 255, 'an empty slot of the second row is padding');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JPEG by extension (.jpg, .jpeg): a decodable RGB image of the grid\'s size, close to the pixels', () => {
  const dir = tmp();
  try {
    const image = torch.full([3, 16, 24], 0.5);
    image.select(0, 0).fill_(0.9);
    for (const name of ['a.jpg', 'b.JPEG']) {
      saveImage(image, join(dir, name), { quality: 95 });
      const decoded = decodeJpeg(readFileSync(join(dir, name)));
      assert.deepEqual([decoded.channels, decoded.height, decoded.width], [3, 16, 24]);
      const mean = (c: number) => decoded.data.subarray(c * 384, (c + 1) * 384).reduce((s, v) => s + v, 0) / 384;
      assert.ok(Math.abs(mean(0) - 230) < 3 && Math.abs(mean(1) - 128) < 3 && Math.abs(mean(2) - 128) < 3, `channel means ${[0, 1, 2].map(mean)}`);
    }
    // format overrides the extension.
    saveImage(image, join(dir, 'c.img'), { format: 'png' });
    assert.equal(decodePng(readFileSync(join(dir, 'c.img'))).width, 24);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saveImage refuses bad input and paths with clear errors, leaving existing files untouched', () => {
  const dir = tmp();
  try {
    const image = torch.rand([3, 4, 4]);
    assert.throws(() => saveImage(image, join(dir, 'x.bmp')), /cannot tell the image format of .*x\.bmp.*use \.png, \.jpg or \.jpeg/);
    assert.throws(() => saveImage(image, join(dir, 'noext')), /cannot tell the image format/);
    assert.throws(() => saveImage(torch.zeros([3, 4, 4], { dtype: 'uint8' }), join(dir, 'x.png')), /floating-point values in \[0, 1\], got dtype uint8/);
    assert.throws(() => saveImage(torch.full([3, 2, 2], NaN), join(dir, 'x.png')), /NaN/);
    assert.throws(() => saveImage(torch.rand([2, 4, 4]), join(dir, 'x.jpg')), /JPEG image is written from 3 channels/);
    assert.throws(() => saveImage(image, join(dir, 'x.jpg'), { quality: 0 }), /quality must be an integer from 1 to 100/);
    assert.throws(() => saveImage(image, join(dir, 'missing', 'x.png')), /saveImage: cannot write .*missing.*x\.png: ENOENT/);
    mkdirSync(join(dir, 'taken.png'));
    assert.throws(() => saveImage(image, join(dir, 'taken.png')), /saveImage: cannot write .*taken\.png/);
    writeFileSync(join(dir, 'keep.png'), 'old');
    assert.throws(() => saveImage(torch.full([3, 2, 2], NaN), join(dir, 'keep.png')), /NaN/);
    assert.equal(readFileSync(join(dir, 'keep.png'), 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).sort(), ['keep.png', 'taken.png'], 'no stray temporary files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
