// A small end-to-end run of the engine: a few-layer CNN trained on real
// Fashion-MNIST (Debian's dataset-fashion-mnist) on the CPU, printing test
// accuracy. `npm run demo` runs it; options: --train N --test N --epochs N --seed N --json.
import { performance } from 'node:perf_hooks';
import { Tensor, manualSeed, noGrad, randperm, scope } from '../src/torch/index.js';
import { Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/mnist.js';
import { crossEntropy } from '../src/torch/functional.js';

export interface DemoOptions { trainSize: number; testSize: number; epochs: number; batchSize: number; lr: number; seed: number; dataDir: string }

export interface DemoResult { trainSize: number; testSize: number; epochs: number; testAccuracy: number; seconds: number; epochLosses: number[] }

export function buildDemoNet(): Module {
  return new Sequential(
    new Conv2d(1, 16, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(16, 32, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(32 * 7 * 7, 10),
  );
}

/** uint8 images → float in [0, 1], normalized with Fashion-MNIST's mean and std. */
const preprocess = (images: Tensor): Tensor => images.float().div(255).sub(0.286).div(0.353);

export function runDemo(options: DemoOptions): DemoResult {
  // One scope around the whole run frees the data, the model and every intermediate at the end.
  return scope(() => trainAndEvaluate(options));
}

function trainAndEvaluate(options: DemoOptions): DemoResult {
  manualSeed(options.seed);
  const start = performance.now();
  const train = loadMnistSplit(options.dataDir, true);
  const test = loadMnistSplit(options.dataDir, false);
  const trainX = preprocess(train.images.narrow(0, 0, options.trainSize));
  const trainY = train.labels.narrow(0, 0, options.trainSize);
  const testX = preprocess(test.images.narrow(0, 0, options.testSize));
  const testY = test.labels.narrow(0, 0, options.testSize);
  const model = buildDemoNet();
  const optimizer = new Adam(model.parameters(), { lr: options.lr });
  const epochLosses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    model.train();
    let lossSum = 0;
    let batches = 0;
    const order = randperm(options.trainSize);
    for (let i = 0; i + options.batchSize <= options.trainSize; i += options.batchSize) {
      lossSum += scope(() => {
        const index = order.narrow(0, i, options.batchSize);
        const loss = crossEntropy(model.forward(trainX.indexSelect(0, index)) as Tensor, trainY.indexSelect(0, index));
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        return loss.item();
      });
      batches++;
    }
    order.dispose();
    epochLosses.push(lossSum / batches);
  }
  model.eval();
  const correct = noGrad(() => scope(() => {
    let hits = 0;
    for (let i = 0; i < options.testSize; i += 500) {
      const n = Math.min(500, options.testSize - i);
      const logits = model.forward(testX.narrow(0, i, n)) as Tensor;
      hits += logits.argmax(1).eq(testY.narrow(0, i, n)).sum().item();
    }
    return hits;
  }));
  optimizer.dispose();
  model.dispose();
  return {
    trainSize: options.trainSize, testSize: options.testSize, epochs: options.epochs,
    testAccuracy: correct / options.testSize, seconds: (performance.now() - start) / 1000, epochLosses,
  };
}

function parseArgs(argv: string[]): DemoOptions & { json: boolean } {
  const options = { trainSize: 20000, testSize: 10000, epochs: 2, batchSize: 64, lr: 1e-3, seed: 0, dataDir: DEBIAN_FASHION_MNIST_DIR, json: false };
  const numeric: Record<string, keyof typeof options> = { '--train': 'trainSize', '--test': 'testSize', '--epochs': 'epochs', '--batch-size': 'batchSize', '--lr': 'lr', '--seed': 'seed' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--data-dir') options.dataDir = argv[++i];
    else if (arg in numeric) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${arg} needs a positive number, got '${argv[i]}'`);
      (options as Record<string, unknown>)[numeric[arg]] = value;
    } else throw new TypeError(`unknown option ${arg}`);
  }
  return options;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const result = runDemo(options);
    if (options.json) console.log(JSON.stringify(result));
    else {
      result.epochLosses.forEach((l, i) => console.log(`epoch ${i + 1}: train loss ${l.toFixed(4)}`));
      console.log(`test accuracy ${(100 * result.testAccuracy).toFixed(2)}% on ${result.testSize} Fashion-MNIST test images ` +
        `(trained on ${result.trainSize} images, ${result.epochs} epochs, ${result.seconds.toFixed(1)} s)`);
    }
  } catch (error) {
    console.error(`fmnist-demo: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
