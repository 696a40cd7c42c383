// The main job until `orthogonium train` exists: train the 1-Lipschitz
// `fmnist-small` model (AOC convolutions, MaxMin, PrescaledAdditiveResidual,
// OrthoLinear head) on the offline Fashion-MNIST with LossXent and
// AdamWScheduleFree — the seed tutorial's recipe at CPU scale — then report
// clean accuracy and verified robust accuracy (VRA) on the test set.
// `npm run train:demo`; options: --epochs N --train N --test N --batch-size N --eps 36/255 --seed N --out DIR --json.
import { performance } from 'node:perf_hooks';
import { Tensor, manualSeed, randperm, scope } from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { LossXent, certify, lipschitzFromStd, parseEps } from '../src/losses/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/mnist.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

// Fashion-MNIST's pixel statistics (in [0, 1]); L = 1 / std for the normalized input.
const MEAN = 0.286;
const STD = 0.353;

export interface CertifiedDemoOptions {
  epochs: number; trainSize: number; testSize: number; batchSize: number; lr: number; eps: number[]; seed: number; dataDir: string;
  /** Folder to write the checkpoint (model.pt) to, if any. */
  out?: string;
}

export interface CertifiedDemoResult {
  epochs: number; trainSize: number; testSize: number; seconds: number; epochLosses: number[];
  accuracy: number; vra: { eps: number; accuracy: number }[];
  checkpoint?: string;
}

const normalize = (images: Tensor): Tensor => images.float().div(255).sub(MEAN).div(STD);

export function runCertifiedDemo(o: CertifiedDemoOptions): CertifiedDemoResult {
  return scope(() => {
    manualSeed(o.seed);
    const start = performance.now();
    const train = loadMnistSplit(o.dataDir, true);
    const test = loadMnistSplit(o.dataDir, false);
    const trainX = normalize(train.images.narrow(0, 0, o.trainSize));
    const trainY = train.labels.narrow(0, 0, o.trainSize);
    const model = buildPreset('fmnist-small');
    const lipschitz = lipschitzFromStd([STD]);
    // The seed's offset rule: √2 · L · ε aims the margin at the first radius.
    const loss = new LossXent({ nClasses: 10, offset: Math.SQRT2 * lipschitz * o.eps[0], temperature: 0.125 });
    const optimizer = new AdamWScheduleFree(model.parameters(), { lr: o.lr, weightDecay: 0 });
    const epochLosses: number[] = [];
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      model.train();
      optimizer.train();
      let sum = 0;
      let steps = 0;
      const order = randperm(o.trainSize);
      for (let i = 0; i + o.batchSize <= o.trainSize; i += o.batchSize) {
        sum += scope(() => {
          const index = order.narrow(0, i, o.batchSize);
          const value = loss.forward(model.forward(trainX.indexSelect(0, index)), trainY.indexSelect(0, index));
          optimizer.zeroGrad();
          value.backward();
          optimizer.step();
          return value.item();
        });
        steps++;
      }
      order.dispose();
      epochLosses.push(sum / steps);
    }
    model.eval();
    optimizer.eval();
    const report = certify(model, { x: normalize(test.images.narrow(0, 0, o.testSize)), y: test.labels.narrow(0, 0, o.testSize) },
      { eps: o.eps, lipschitz, lastLayer: 'auto', batchSize: 1000 });
    if (o.out) {
      mkdirSync(o.out, { recursive: true });
      saveCheckpoint(join(o.out, 'model.pt'), model, { dataset: 'fashion-mnist', mean: [MEAN], std: [STD], accuracy: report.cleanAccuracy, vra: report.certifiedAccuracy });
    }
    optimizer.dispose();
    model.dispose();
    return {
      epochs: o.epochs, trainSize: o.trainSize, testSize: o.testSize, seconds: (performance.now() - start) / 1000, epochLosses,
      accuracy: report.cleanAccuracy, vra: report.certifiedAccuracy, checkpoint: o.out ? join(o.out, 'model.pt') : undefined,
    };
  });
}

function parseArgs(argv: string[]): CertifiedDemoOptions & { json: boolean } {
  const o = { epochs: 2, trainSize: 60000, testSize: 10000, batchSize: 128, lr: 5e-3, eps: [36 / 255, 72 / 255, 108 / 255], seed: 0, dataDir: DEBIAN_FASHION_MNIST_DIR, json: false };
  const numeric: Record<string, 'epochs' | 'trainSize' | 'testSize' | 'batchSize' | 'lr' | 'seed'> = {
    '--epochs': 'epochs', '--train': 'trainSize', '--test': 'testSize', '--batch-size': 'batchSize', '--lr': 'lr', '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') o.json = true;
    else if (arg === '--data-dir') o.dataDir = argv[++i];
    else if (arg === '--out') (o as CertifiedDemoOptions).out = argv[++i];
    else if (arg === '--eps') o.eps = parseEps(argv[++i] ?? '');
    else if (arg in numeric) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0 || (arg !== '--lr' && !Number.isInteger(value))) throw new RangeError(`${arg} needs a non-negative ${arg === '--lr' ? 'number' : 'integer'}, got '${argv[i]}'`);
      o[numeric[arg]] = value;
    } else throw new TypeError(`unknown option ${arg}`);
  }
  return o;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`certified-fmnist: ${(error as Error).message}`);
    process.exit(2);
  }
  const result = runCertifiedDemo(options);
  if (options.json) console.log(JSON.stringify(result));
  else {
    result.epochLosses.forEach((l, i) => console.log(`epoch ${i + 1}: train loss ${l.toFixed(4)}`));
    console.log(`test accuracy ${(100 * result.accuracy).toFixed(2)}% on ${result.testSize} Fashion-MNIST test images`);
    for (const { eps, accuracy } of result.vra) console.log(`VRA at ε = ${(eps * 255).toFixed(0)}/255 (L2, pixels in [0, 1]): ${(100 * accuracy).toFixed(2)}%`);
    console.log(`(fmnist-small, ${result.epochs} epochs on ${result.trainSize} images, ${result.seconds.toFixed(0)} s)`);
  }
}
