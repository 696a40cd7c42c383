// Orthogonium's scripts/ortho_gan/ortho_GAN.py in TypeScript: a DCGAN whose
// generator is built from AdaptiveOrthoConvTranspose2d + MaxMin + BatchNorm2d
// and whose discriminator is 1-Lipschitz (AdaptiveOrthoConv2d + MaxMin) up to
// its sigmoid; BCE loss, Adam(1e-4, β = (0.5, 0.999)), manual optimization in
// the Trainer. Trained on Fashion-MNIST (offline; the script uses CelebA).
//
//   npm run gan                                   (6,000 images at 32×32, 2 epochs: 84 s on an idle 2-core EPYC)
//   npm run gan -- --image-size 64 --train 60000 --epochs 20    (the script's architecture and length)
//
// Options: --epochs N --batch-size N --image-size S (4·2^k) --nz N --ngf N --ndf N --lr X
// --train N (images used) --seed N --print-every N --data-dir DIR --out DIR --device cpu|cuda|auto --json
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { manualSeed, scope } from '../src/torch/index.js';
import { DEBIAN_FASHION_MNIST_DIR, saveImage } from '../src/data/index.js';
import { CSVLogger, Trainer } from '../src/train/index.js';
import type { Accelerator } from '../src/train/index.js';
import { doublingStages } from './ortho-gan/models.js';
import { GanStats, OrthoGanModule } from './ortho-gan/gan-module.js';
import { GanProgressPrinter, SampleGridWriter } from './ortho-gan/callbacks.js';
import { TensorLoader, loadGanImages } from './ortho-gan/data.js';

export interface GanRunOptions {
  epochs: number;
  batchSize: number;
  imageSize: number;
  nz: number;
  ngf: number;
  ndf: number;
  lr: number;
  /** How many Fashion-MNIST training images to train on (the first ones). */
  trainSize: number;
  seed: number;
  /** Where the grids and metrics.csv go. */
  out: string;
  dataDir: string;
  device: Accelerator;
  /** Print the script's line every N batches (0: only the epoch means). */
  printEvery: number;
  /** Stop each epoch after this many batches (for tests); default: the whole epoch. */
  limitTrainBatches?: number;
  quiet: boolean;
}

export const DEFAULT_GAN_OPTIONS: GanRunOptions = {
  epochs: 2, batchSize: 128, imageSize: 32, nz: 100, ngf: 64, ndf: 64, lr: 1e-4, trainSize: 6000, seed: 999,
  out: '', dataDir: DEBIAN_FASHION_MNIST_DIR, device: 'cpu', printEvery: 50, quiet: false,
};

export interface GanRunResult {
  epochs: number;
  trainSize: number;
  imageSize: number;
  batchesPerEpoch: number;
  seconds: number;
  /** Per-epoch means of Loss_D, Loss_G, D(x), D(G(z)) before / after D's step. */
  epochStats: GanStats[];
  /** Every image file written, real_images.png first. */
  images: string[];
  metricsCsv: string;
}

export async function runGan(options: Partial<GanRunOptions> = {}): Promise<GanRunResult> {
  const o: GanRunOptions = { ...DEFAULT_GAN_OPTIONS, ...options };
  if (!o.out) o.out = join('runs', `ortho-gan-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  doublingStages(o.imageSize); // a bad size fails before the data is read
  const start = performance.now();
  mkdirSync(o.out, { recursive: true });
  manualSeed(o.seed);
  const data = loadGanImages({ imageSize: o.imageSize, count: o.trainSize, dataDir: o.dataDir });
  const loader = new TensorLoader(data, o.batchSize, { shuffle: true, seed: o.seed });
  // The script's first figure: 64 training images, min-max normalized.
  const realPath = join(o.out, 'real_images.png');
  scope(() => saveImage(data.images.narrow(0, 0, Math.min(64, o.trainSize)), realPath, { padding: 2, normalize: true }));

  const module = new OrthoGanModule({ imageSize: o.imageSize, channels: 1, nz: o.nz, ngf: o.ngf, ndf: o.ndf, lr: o.lr });
  const grids = new SampleGridWriter(o.out);
  const batchesPerEpoch = Math.min(loader.length, o.limitTrainBatches ?? Infinity);
  const silent = { write: () => true };
  const trainer = new Trainer({
    accelerator: o.device,
    maxEpochs: o.epochs,
    limitTrainBatches: o.limitTrainBatches,
    logger: new CSVLogger(o.out),
    logEveryNSteps: 1, // every iteration's losses, as the script's G_losses / D_losses lists
    enableCheckpointing: false,
    enableProgressBar: false,
    enableModelSummary: !o.quiet,
    callbacks: [grids, new GanProgressPrinter(batchesPerEpoch, o.printEvery)],
    output: o.quiet ? silent : process.stdout,
  });
  try {
    await trainer.fit(module, loader);
  } finally {
    trainer.dispose();
    module.dispose();
    data.images.dispose();
    data.labels.dispose();
  }
  return {
    epochs: o.epochs, trainSize: o.trainSize, imageSize: o.imageSize, batchesPerEpoch,
    seconds: (performance.now() - start) / 1000,
    epochStats: module.epochStats,
    images: [realPath, ...grids.written],
    metricsCsv: join(o.out, 'metrics.csv'),
  };
}

const NUMERIC_FLAGS: Record<string, keyof GanRunOptions> = {
  '--epochs': 'epochs', '--batch-size': 'batchSize', '--image-size': 'imageSize', '--nz': 'nz', '--ngf': 'ngf', '--ndf': 'ndf',
  '--lr': 'lr', '--train': 'trainSize', '--seed': 'seed', '--print-every': 'printEvery',
};

export function parseGanArgs(argv: string[]): Partial<GanRunOptions> & { json: boolean } {
  const options: Partial<GanRunOptions> & { json: boolean } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new TypeError(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--json') options.json = true;
    else if (flag === '--out') options.out = value();
    else if (flag === '--data-dir') options.dataDir = value();
    else if (flag === '--device') {
      const device = value();
      if (!['cpu', 'cuda', 'gpu', 'auto'].includes(device)) throw new TypeError(`--device must be cpu, cuda or auto, got '${device}'`);
      options.device = device as Accelerator;
    } else if (flag in NUMERIC_FLAGS) {
      const key = NUMERIC_FLAGS[flag];
      const text = value();
      const number = Number(text);
      const integer = key !== 'lr';
      const ok = Number.isFinite(number) && (integer ? Number.isInteger(number) : true) && (key === 'seed' || key === 'printEvery' ? number >= 0 : number > 0);
      if (!ok) throw new RangeError(`${flag} needs a ${key === 'seed' || key === 'printEvery' ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got '${text}'`);
      (options as Record<string, unknown>)[key] = number;
    } else throw new TypeError(`unknown option ${flag}`);
  }
  return options;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const { json, ...options } = parseGanArgs(process.argv.slice(2));
    const result = await runGan({ ...options, quiet: json });
    if (json) console.log(JSON.stringify(result));
    else {
      const last = result.epochStats.at(-1);
      console.log(`trained ${result.epochs} epoch(s) on ${result.trainSize} Fashion-MNIST images at ${result.imageSize}×${result.imageSize} in ${result.seconds.toFixed(1)} s` +
        (last ? `; last epoch: Loss_D ${last.lossD.toFixed(4)}, Loss_G ${last.lossG.toFixed(4)}, D(x) ${last.dX.toFixed(4)}, D(G(z)) ${last.dGz1.toFixed(4)} / ${last.dGz2.toFixed(4)}` : ''));
      console.log(`images: ${result.images.join(', ')}\nlosses: ${result.metricsCsv}`);
    }
  } catch (error) {
    console.error(`ortho-gan: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
