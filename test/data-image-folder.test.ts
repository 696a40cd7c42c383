import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { decodePng } from '../src/data/png.js';
import { loadImageFolder } from '../src/data/image-folder.js';
import { decodeJpeg } from '../src/data/jpeg.js';
import jpeg from 'jpeg-js';

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body, Buffer.alloc(4)]); // CRC not checked by the decoder
}

/** Encodes packed rows (bytes per row given) with the given filter for each row. */
function png(width: number, height: number, colorType: number, depth: number, rows: Uint8Array[], filters: number[], palette?: number[]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  const bpp = Math.max(1, (samples * depth) >> 3);
  const lines: number[] = [];
  let prev: Uint8Array = new Uint8Array(rows[0].length);
  rows.forEach((row, y) => {
    const f = filters[y % filters.length];
    lines.push(f);
    for (let i = 0; i < row.length; i++) {
      const a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      lines.push((row[i] - pred) & 0xff);
    }
    prev = row;
  });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(palette ? [chunk('PLTE', Uint8Array.from(palette))] : []),
    chunk('IDAT', deflateSync(Uint8Array.from(lines))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

const W = 5, H = 4;
const px = (c: number, y: number, x: number) => (c * 71 + y * 37 + x * 13 + ((x * y) % 7) * 29) % 256;

test('PNG decoding: RGB and RGBA with every filter type, grey, palette and 1-bit grey', () => {
  const rgbRows = Array.from({ length: H }, (_, y) => Uint8Array.from({ length: W * 3 }, (_, i) => px(i % 3, y, Math.floor(i / 3))));
  const expectedRgb = Uint8Array.from({ length: 3 * H * W }, (_, i) => px(Math.floor(i / (H * W)), Math.floor((i % (H * W)) / W), i % W));
  for (const filters of [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]]) {
    const img = decodePng(png(W, H, 2, 8, rgbRows, filters));
    assert.deepEqual([img.channels, img.height, img.width], [3, H, W]);
    assert.deepEqual(img.data, expectedRgb, `filters ${filters}`);
  }
  // few distinct values: many Paeth ties, which must break as the PNG spec says (a, then b, then c)
  let state = 12345;
  const next = () => { state = (state * 1103515245 + 12345) % 2147483648; return [0, 40, 60, 80, 120, 200][(state >>> 8) % 6]; };
  const tieRows = Array.from({ length: 16 }, () => Uint8Array.from({ length: 16 * 3 }, next));
  const tie = decodePng(png(16, 16, 2, 8, tieRows, [4, 4, 3, 1]));
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) for (let c = 0; c < 3; c++) assert.equal(tie.data[c * 256 + y * 16 + x], tieRows[y][x * 3 + c]);
  const rgbaRows = rgbRows.map((r) => Uint8Array.from({ length: W * 4 }, (_, i) => (i % 4 === 3 ? 200 : r[Math.floor(i / 4) * 3 + (i % 4)])));
  assert.deepEqual(decodePng(png(W, H, 6, 8, rgbaRows, [4, 3])).data, expectedRgb);
  const greyRows = Array.from({ length: H }, (_, y) => Uint8Array.from({ length: W }, (_, x) => px(0, y, x)));
  const grey = decodePng(png(W, H, 0, 8, greyRows, [2, 4]));
  assert.equal(grey.channels, 1);
  assert.deepEqual(grey.data, Uint8Array.from(greyRows.flatMap((r) => [...r])));
  const pal = decodePng(png(3, 1, 3, 8, [Uint8Array.from([2, 0, 1])], [0], [10, 11, 12, 20, 21, 22, 30, 31, 32]));
  assert.deepEqual([...pal.data], [30, 10, 20, 31, 11, 21, 32, 12, 22]);
  // 1-bit grey: 0b10110000 → 255, 0, 255, 255 (row of 4 pixels)
  assert.deepEqual([...decodePng(png(4, 1, 0, 1, [Uint8Array.from([0b10110000])], [0])).data], [255, 0, 255, 255]);
});

test('PNG errors are named', () => {
  const good = png(2, 2, 2, 8, [new Uint8Array(6), new Uint8Array(6)], [0]);
  assert.throws(() => decodePng(Buffer.from('GIF89a......'), 'x.png'), /x\.png: not a PNG file/);
  assert.throws(() => decodePng(good.subarray(0, good.length - 20), 'cut.png'), /cut\.png: truncated PNG/);
  assert.throws(() => decodePng(png(2, 2, 2, 16, [new Uint8Array(12), new Uint8Array(12)], [0]), 'deep.png'), /deep\.png: PNG bit depth 16 with colour type 2 is not supported/);
  assert.throws(() => decodePng(png(2, 1, 2, 8, [new Uint8Array(6)], [7]), 'f.png'), /f\.png: corrupt PNG \(unknown filter 7 on row 0\)/);
});

test('image folder: classes from sorted subfolders, byte-exact pixels, mixed grey/colour, errors', () => {
  const root = mkdtempSync(join(tmpdir(), 'ortho-imgfolder-'));
  try {
    const solid = (v: number) => png(2, 2, 2, 8, [Uint8Array.from([v, v + 1, v + 2, v, v + 1, v + 2]), Uint8Array.from([v, v + 1, v + 2, v, v + 1, v + 2])], [0]);
    mkdirSync(join(root, 'dog'));
    mkdirSync(join(root, 'cat'));
    writeFileSync(join(root, 'dog', 'b.png'), solid(50));
    writeFileSync(join(root, 'dog', 'a.png'), solid(40));
    writeFileSync(join(root, 'cat', 'x.png'), solid(10));
    writeFileSync(join(root, 'cat', 'notes.txt'), 'ignored');
    writeFileSync(join(root, 'cat', 'y.png'), png(2, 2, 0, 8, [Uint8Array.from([7, 7]), Uint8Array.from([7, 7])], [0])); // grey → 3 channels
    const ds = loadImageFolder(root);
    assert.deepEqual(ds.classes, ['cat', 'dog']);
    assert.deepEqual([...ds.labels], [0, 0, 1, 1]);
    assert.deepEqual([ds.channels, ds.height, ds.width], [3, 2, 2]);
    assert.deepEqual([...ds.images.subarray(0, 12)], [10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12]);
    assert.deepEqual([...ds.images.subarray(12, 24)], Array(12).fill(7));
    assert.equal(ds.images[24], 40); // dog/a.png before dog/b.png
    assert.equal(ds.images[36 + 8], 52);
    const grey = loadImageFolder(root, { channels: 1 });
    assert.equal(grey.images[0], Math.round(0.299 * 10 + 0.587 * 11 + 0.114 * 12));
    writeFileSync(join(root, 'dog', 'big.png'), png(3, 1, 2, 8, [new Uint8Array(9)], [0]));
    assert.throws(() => loadImageFolder(root), /big\.png: 1×3 image, but the folder's first image is 2×2/);
    rmSync(join(root, 'dog', 'big.png'));
    writeFileSync(join(root, 'dog', 'photo.JPG'), 'x');
    assert.throws(() => loadImageFolder(root), /photo\.JPG: not a JPEG file/);
    rmSync(join(root, 'dog', 'photo.JPG'));
    assert.throws(() => loadImageFolder(join(root, 'none')), /cannot read image folder .*none: ENOENT/);
    assert.throws(() => loadImageFolder(join(root, 'cat')), /no class subfolders/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * A minimal 1-component (grey) JPEG whose 8×8 blocks are each one value:
 * quantization 1, only DC coefficients (8·(v − 128)), Huffman DC categories
 * coded on 4 bits. Baseline (SOF0, DC + an EOB per block) or progressive (SOF2,
 * a DC scan, then an AC scan of an EOB per block: every coefficient is sent, so
 * that no decoder guesses the missing ones, as libjpeg's block smoothing does).
 */
function greyBlockJpeg(width: number, height: number, blockValue: (by: number, bx: number) => number, progressive: boolean): Buffer {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const bytes: number[] = [0xff, 0xd8];
  bytes.push(...seg(0xdb, [0x00, ...Array(64).fill(1)]));
  bytes.push(...seg(progressive ? 0xc2 : 0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]));
  const dcBits = Array(16).fill(0); dcBits[3] = 12;
  const acBits = Array(16).fill(0); acBits[0] = 1;
  bytes.push(...seg(0xc4, [0x00, ...dcBits, ...Array.from({ length: 12 }, (_, i) => i), 0x10, ...acBits, 0x00]));
  bytes.push(...seg(0xda, [1, 1, 0x00, 0, progressive ? 0 : 63, 0]));
  const bits: number[] = [];
  const put = (value: number, n: number) => { for (let k = n - 1; k >= 0; k--) bits.push((value >> k) & 1); };
  let prev = 0;
  for (let by = 0; by < Math.ceil(height / 8); by++) {
    for (let bx = 0; bx < Math.ceil(width / 8); bx++) {
      const dc = 8 * (blockValue(by, bx) - 128);
      const d = dc - prev;
      prev = dc;
      const size = d === 0 ? 0 : Math.floor(Math.log2(Math.abs(d))) + 1;
      put(size, 4); // category k has the 4-bit code k
      if (size > 0) put(d > 0 ? d : d + (1 << size) - 1, size);
      if (!progressive) put(0, 1); // EOB
    }
  }
  const flush = () => {
    while (bits.length % 8) bits.push(1);
    for (let k = 0; k < bits.length; k += 8) {
      const b = parseInt(bits.slice(k, k + 8).join(''), 2);
      bytes.push(b);
      if (b === 0xff) bytes.push(0x00);
    }
    bits.length = 0;
  };
  flush();
  if (progressive) {
    bytes.push(...seg(0xda, [1, 1, 0x00, 1, 63, 0]));
    for (let k = 0; k < Math.ceil(height / 8) * Math.ceil(width / 8); k++) put(0, 1); // EOB: all AC zero
    flush();
  }
  bytes.push(0xff, 0xd9);
  return Buffer.from(bytes);
}

test('JPEG: colour (jpeg-js encoder) within JPEG tolerance, grey baseline and progressive, in a folder with PNGs; errors name the file', () => {
  const root = mkdtempSync(join(tmpdir(), 'ortho-jpeg-'));
  try {
    // a smooth colour image (JPEG keeps it within a few levels at quality 95)
    const w = 24, h = 16;
    const rgba = new Uint8Array(w * h * 4);
    const expect = (c: number, y: number, x: number) => [40 + 6 * x, 30 + 8 * y, 200 - 3 * x - 2 * y][c];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) rgba[(y * w + x) * 4 + c] = expect(c, y, x);
    const colour = jpeg.encode({ data: rgba, width: w, height: h }, 95).data;
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'a', 'one.jpg'), colour);
    writeFileSync(join(root, 'a', 'two.JPEG'), jpeg.encode({ data: rgba, width: w, height: h }, 60).data);
    const rgbPng = png(w, h, 2, 8, Array.from({ length: h }, (_, y) => Uint8Array.from({ length: w * 3 }, (_, i) => expect(i % 3, y, Math.floor(i / 3)))), [0]);
    writeFileSync(join(root, 'b', 'three.png'), rgbPng);
    const ds = loadImageFolder(root);
    assert.deepEqual([ds.length, ds.channels, ds.height, ds.width], [3, 3, h, w]);
    assert.deepEqual([...ds.labels], [0, 0, 1]);
    const plane = h * w;
    for (const [image, tolerance] of [[0, 4], [1, 10], [2, 0]]) {
      let worst = 0;
      for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        worst = Math.max(worst, Math.abs(ds.images[image * 3 * plane + c * plane + y * w + x] - expect(c, y, x)));
      }
      assert.ok(worst <= tolerance, `image ${image}: max error ${worst} > ${tolerance}`);
    }

    // grey: baseline and progressive, sizes not multiples of 8, exact block values (±1 for the IDCT)
    const value = (by: number, bx: number) => [[0, 255, 128], [17, 200, 90]][by][bx];
    for (const progressive of [false, true]) {
      const img = decodeJpeg(greyBlockJpeg(20, 12, value, progressive), 'grey.jpg');
      assert.deepEqual([img.channels, img.height, img.width], [1, 12, 20]);
      for (let y = 0; y < 12; y++) for (let x = 0; x < 20; x++) {
        const got = img.data[y * 20 + x];
        assert.ok(Math.abs(got - value(y >> 3, x >> 3)) <= 1, `${progressive ? 'progressive' : 'baseline'} (${y}, ${x}): ${got} vs ${value(y >> 3, x >> 3)}`);
      }
    }
    // a grey JPEG in a colour folder is repeated over 3 channels; channels: 1 takes the luma of colour ones
    const greyRoot = join(root, 'grey');
    mkdirSync(join(greyRoot, 'x'), { recursive: true });
    writeFileSync(join(greyRoot, 'x', 'g.jpg'), greyBlockJpeg(24, 16, (by, bx) => 60 + 40 * by + 10 * bx, true));
    writeFileSync(join(greyRoot, 'x', 'h.jpg'), colour);
    const g = loadImageFolder(greyRoot, { channels: 3 });
    assert.deepEqual([g.channels, g.length], [3, 2]);
    assert.ok(Math.abs(g.images[0] - 60) <= 1 && g.images[0] === g.images[plane] && g.images[0] === g.images[2 * plane]);
    assert.equal(loadImageFolder(greyRoot).channels, 1);

    // corrupt files: truncated scan, garbage after the header, a 12-bit or CMYK frame
    const bad = join(root, 'bad', 'c');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'cut.jpg'), colour.subarray(0, Math.floor(colour.length / 2)));
    assert.throws(() => loadImageFolder(join(root, 'bad')), (e: Error) => e.message.includes(join(bad, 'cut.jpg')) && /corrupt|truncated/.test(e.message));
    writeFileSync(join(bad, 'cut.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('not really a jpeg at all')]));
    assert.throws(() => loadImageFolder(join(root, 'bad')), new RegExp(`${join(bad, 'cut.jpg').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: corrupt`));
    const twelve = greyBlockJpeg(8, 8, () => 1, false);
    twelve[2 + 69 + 4] = 12; // SOF precision byte
    assert.throws(() => decodeJpeg(twelve, 'deep.jpg'), /deep\.jpg: 12-bit baseline JPEG is not supported/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
