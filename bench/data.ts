// npm run bench:data — images/s of the seed's CIFAR-10 training transform
// plus batching (RandomResizedCrop, flip, ToTensor, Normalize; batch 256)
// with 0, 1 and 2 worker threads on synthetic CIFAR-format data, beside the
// images/s of one training step of the seed model measured in the same run.
// Steady state: each loader runs one untimed epoch before the timed one.
// Also the CPU time per image (all threads of the process, from
// process.cpuUsage): on a machine shared with other work, wall-clock images/s
// drop with the load while CPU µs per image mostly do not.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Cifar10DataModule, DataLoader } from '../src/data/index.js';
import type { ArrayImageDataset } from '../src/data/index.js';
import { buildPreset } from '../src/models/index.js';
import { LossXent } from '../src/losses/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { Tensor, randint, randn, scope } from '../src/torch/index.js';
import { machine, round } from './common.js';

const quick = process.argv.includes('--quick');
const images = quick ? 5_000 : 20_000;

function syntheticCifar(n: number): ArrayImageDataset {
  const pixels = new Uint8Array(n * 3 * 32 * 32);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  const labels = new Int32Array(n).map((_, i) => i % 10);
  return { images: pixels, labels, channels: 3, height: 32, width: 32, classes: [...'0123456789'], length: n };
}

async function loaderThroughput(dataset: ArrayImageDataset, numWorkers: number): Promise<{ imagesPerSecond: number; cpuMicrosecondsPerImage: number }> {
  const loader = new DataLoader(dataset, { batchSize: 256, shuffle: true, dropLast: true, transform: Cifar10DataModule.trainTransform(), numWorkers, prefetch: 2, seed: 0 });
  try {
    // one untimed epoch first (worker start-up, JIT warm-up): training runs many epochs on one loader
    for await (const { x, y } of loader) { x.dispose(); y.dispose(); }
    let count = 0;
    const start = performance.now();
    const cpu = process.cpuUsage();
    for await (const { x, y } of loader) {
      count += x.shape[0];
      x.dispose();
      y.dispose();
    }
    const used = process.cpuUsage(cpu);
    return { imagesPerSecond: count / ((performance.now() - start) / 1000), cpuMicrosecondsPerImage: (used.user + used.system) / count };
  } finally {
    await loader.close();
  }
}

function seedTrainingStep(batch: number): number {
  const model = buildPreset('seed-cifar10');
  const loss = new LossXent({ nClasses: 10, offset: (Math.SQRT2 / 0.1983) * (36 / 255), temperature: 0.125 });
  const optimizer = new AdamWScheduleFree(model.parameters(), { lr: 5e-3 });
  optimizer.train();
  const x = randn([batch, 3, 32, 32]);
  const y = randint(0, 10, [batch]);
  const step = () => scope(() => {
    optimizer.zeroGrad();
    (loss.forward(model.forward(x) as Tensor, y) as Tensor).backward();
    optimizer.step();
  });
  step();
  const start = performance.now();
  step();
  const seconds = (performance.now() - start) / 1000;
  optimizer.dispose();
  model.dispose();
  return batch / seconds;
}

const dataset = syntheticCifar(images);
const loader: Record<string, number> = {};
const cpu: Record<string, number> = {};
for (const workers of [0, 1, 2]) {
  const r = await loaderThroughput(dataset, workers);
  loader[`workers${workers}ImagesPerSecond`] = round(r.imagesPerSecond);
  cpu[`workers${workers}CpuMicrosecondsPerImage`] = round(r.cpuMicrosecondsPerImage);
}
const training = round(seedTrainingStep(32));
console.log(JSON.stringify({
  benchmark: 'data', machine: machine(), loadAverage1m: round(loadavg()[0]), images, batchSize: 256, loader, cpu,
  seedTrainingStepImagesPerSecond: training,
  loaderOverTraining: round(Math.max(...Object.values(loader)) / training),
}, null, 2));
