// npm run bench:data-files — images/s of Orthogonium's ImageNet training
// pipeline (ImagenetDataModule: Resize 256, RandomResizedCrop 224, flip,
// ToTensor, Normalize; batch 64) on a generated folder of 375×500 colour JPEGs
// read lazily (decoded per batch) with 0, 1 and 2 worker threads, beside the
// baseline of the same run: the same images decoded once and held in memory,
// through the same transform. Their ratio is what decoding on the fly costs.
// Last, the lazy loader without the native image module (jpeg-js and the
// TypeScript resize passes), against the native one.
// One untimed epoch first for each loader (worker start-up, JIT warm-up).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import jpeg from 'jpeg-js';
import { DataLoader, ImagenetDataModule, imageFolderFiles, loadImageFolder } from '../src/data/index.js';
import type { LoaderDataset } from '../src/data/index.js';
import { machine, round } from './common.js';

const quick = process.argv.includes('--quick');
const count = quick ? 128 : 384;
const [height, width] = [375, 500];

/** A photo-like JPEG: smooth gradients plus mild noise (pure noise decodes unusually slowly). */
function writeJpeg(path: string, seed: number): void {
  const rgba = Buffer.alloc(4 * height * width);
  let state = seed * 2654435761;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (state * 1103515245 + 12345) >>> 0;
      const noise = (state >>> 27) - 16;
      const k = 4 * (y * width + x);
      rgba[k] = Math.max(0, Math.min(255, ((x * 255) / width + seed * 37 + noise) % 256));
      rgba[k + 1] = Math.max(0, Math.min(255, ((y * 255) / height + noise) % 256));
      rgba[k + 2] = Math.max(0, Math.min(255, (((x + y) * 128) / width + seed * 11 + noise) % 256));
      rgba[k + 3] = 255;
    }
  }
  writeFileSync(path, jpeg.encode({ data: rgba, width, height }, 85).data);
}

async function throughput(dataset: LoaderDataset, module: ImagenetDataModule, numWorkers: number): Promise<{ imagesPerSecond: number; cpuMicrosecondsPerImage: number }> {
  const loader = new DataLoader(dataset, { batchSize: 64, shuffle: true, dropLast: true, transform: module.trainTransform(), numWorkers, seed: 0 });
  try {
    for await (const { x, y } of loader) { x.dispose(); y.dispose(); }
    let seen = 0;
    const start = performance.now();
    const cpu = process.cpuUsage();
    for await (const { x, y } of loader) {
      seen += x.shape[0];
      x.dispose();
      y.dispose();
    }
    const used = process.cpuUsage(cpu);
    return { imagesPerSecond: seen / ((performance.now() - start) / 1000), cpuMicrosecondsPerImage: (used.user + used.system) / seen };
  } finally {
    await loader.close();
  }
}

const root = mkdtempSync(join(tmpdir(), 'bench-data-files-'));
try {
  for (const cls of ['a', 'b']) mkdirSync(join(root, 'train', cls), { recursive: true });
  for (let i = 0; i < count; i++) writeJpeg(join(root, 'train', i % 2 ? 'b' : 'a', `${i}.jpg`), i);
  const module = new ImagenetDataModule({ root });
  const inMemory = loadImageFolder(join(root, 'train'));
  const files = imageFolderFiles(join(root, 'train'), { channels: 3 });
  const result: Record<string, number> = {};
  for (const workers of [0, 1, 2]) {
    const lazy = await throughput(files, module, workers);
    const held = await throughput(inMemory, module, workers);
    result[`workers${workers}LazyImagesPerSecond`] = round(lazy.imagesPerSecond);
    result[`workers${workers}InMemoryImagesPerSecond`] = round(held.imagesPerSecond);
    result[`workers${workers}LazyOverInMemory`] = round(lazy.imagesPerSecond / held.imagesPerSecond);
    result[`workers${workers}LazyCpuMicrosecondsPerImage`] = round(lazy.cpuMicrosecondsPerImage);
  }
  // the same lazy loader (no workers) with the native image module switched off: jpeg-js and the TypeScript resize
  process.env.ORTHOGONIUM_NATIVE_IMAGE = 'off';
  const javascript = await throughput(files, module, 0);
  delete process.env.ORTHOGONIUM_NATIVE_IMAGE;
  result.workers0LazyJavaScriptImagesPerSecond = round(javascript.imagesPerSecond);
  result.workers0NativeOverJavaScript = round(result.workers0LazyImagesPerSecond / javascript.imagesPerSecond);
  console.log(JSON.stringify({
    benchmark: 'data-files', machine: machine(), loadAverage1m: round(loadavg()[0]), images: count, imageSize: [height, width],
    pipeline: 'Resize(256) RandomResizedCrop(224, (0.5, 1)) flip ToTensor Normalize, batch 64', result,
  }, null, 2));
} finally {
  rmSync(root, { recursive: true, force: true });
}
