// examples/imagenet.ts (Orthogonium's scripts/imagenet.py) end to end on a
// small generated ImageNet-style folder: JPEG and PNG images of several sizes,
// read per batch by loader workers, a small AOCNetV1 of the script's design.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { encodePng } from '../src/data/png.js';
import { runImagenet } from '../examples/imagenet.js';
import { loadCheckpoint } from '../src/train/index.js';
import { Tensor, randn } from '../src/torch/index.js';

/** Class k: a bright blob at a class-specific place on a noisy background (learnable, not trivial). */
function photo(k: number, height: number, width: number, seed: number): Uint8Array {
  const data = new Uint8Array(3 * height * width);
  let s = seed * 7919 + 17;
  for (let c = 0; c < 3; c++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const blob = Math.hypot(y / height - [0.3, 0.7, 0.5][k], x / width - [0.3, 0.5, 0.7][k]) < 0.2 ? 150 : 0;
    data[(c * height + y) * width + x] = Math.min(255, 40 + blob + (s >>> 26));
  }
  return data;
}

function writeImage(path: string, data: Uint8Array, height: number, width: number): void {
  if (path.endsWith('.png')) { writeFileSync(path, encodePng({ data, channels: 3, height, width })); return; }
  const rgba = Buffer.alloc(4 * height * width);
  const plane = height * width;
  for (let p = 0; p < plane; p++) { for (let c = 0; c < 3; c++) rgba[4 * p + c] = data[c * plane + p]; rgba[4 * p + 3] = 255; }
  writeFileSync(path, jpeg.encode({ data: rgba, width, height }, 90).data);
}

test('examples/imagenet: the ImageNet script\'s pipeline trains on an image folder of mixed sizes and writes its best and last checkpoints', async () => {
  const root = mkdtempSync(join(tmpdir(), 'imagenet-example-'));
  try {
    const sizes: [number, number][] = [[40, 52], [48, 36], [44, 44], [60, 45]];
    for (const [split, perClass] of [['train', 8], ['val', 3]] as const) {
      for (const k of [0, 1, 2]) {
        const dir = join(root, split, `n0${k}`);
        mkdirSync(dir, { recursive: true });
        for (let i = 0; i < perClass; i++) {
          const [h, w] = sizes[i % sizes.length];
          writeImage(join(dir, `img${i}.${i % 2 ? 'png' : 'jpg'}`), photo(k, h, w, 100 * k + i + (split === 'val' ? 50 : 0)), h, w);
        }
      }
    }
    const outDir = join(root, 'out');
    const { metrics, bestCheckpoint, lastCheckpoint } = await runImagenet({
      root, crop: 32, resize: 36, embeddingDim: 32, blockDepth: 1, epochs: 2, batchSize: 6, numWorkers: 1,
      device: 'cpu', precision: '32', outDir, quiet: true,
    });
    for (const name of ['loss', 'accuracy', 'vra', 'val_loss', 'val_accuracy', 'val_vra']) {
      assert.ok(Number.isFinite(metrics[name]), `${name} = ${metrics[name]}`);
    }
    assert.ok(metrics.val_vra <= metrics.val_accuracy, 'a certified sample is a correct one');
    assert.ok(bestCheckpoint.startsWith(outDir) && existsSync(bestCheckpoint), `best checkpoint ${bestCheckpoint}`);
    assert.ok(lastCheckpoint !== null && existsSync(lastCheckpoint), `last checkpoint ${lastCheckpoint}`);
    // the file rebuilds the script's model (AOCNetV1 from its saved configuration) with the trained weights
    const saved = loadCheckpoint(lastCheckpoint!);
    assert.equal(saved.config.architecture, 'AOCNetV1');
    const out = saved.model.forward(randn([2, 3, 32, 32])) as Tensor;
    assert.deepEqual(out.shape, [2, 3]);
    saved.model.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
