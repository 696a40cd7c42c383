// `orthogonium certify --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
//   [--eps 36/255,72/255,108/255] [--limit N] [--json] [--out DIR]`
// Certified accuracy of a trained checkpoint on a test set: a table (or one
// JSON object), and with --out the per-sample radii (CSV) and the certified
// accuracy-vs-radius plot (SVG and PNG), each written atomically.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tensor, scope, tensor } from '../torch/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadCifar10Tensors, loadMnistSplit } from '../data/index.js';
import { certify, lipschitzFromStd, parseEps } from '../losses/index.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { certifiedAccuracySvg, svgToPng } from '../train/certified-plot.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export class UsageError extends Error {}

interface CertifyArgs { checkpoint: string; dataset: string; dataDir?: string; eps: number[]; limit?: number; json: boolean; out?: string }

const DATASETS = ['fashion-mnist', 'mnist', 'cifar10'];

function parse(args: string[]): CertifyArgs {
  const out: Partial<CertifyArgs> & { json: boolean } = { json: false, eps: [36 / 255, 72 / 255, 108 / 255] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') out.json = true;
    else if (arg === '--checkpoint') out.checkpoint = value();
    else if (arg === '--dataset') out.dataset = value();
    else if (arg === '--data-dir') out.dataDir = value();
    else if (arg === '--out') out.out = value();
    else if (arg === '--eps') {
      try {
        out.eps = parseEps(value());
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    } else if (arg === '--limit') {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new UsageError('--limit must be a positive integer');
      out.limit = n;
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (!out.checkpoint) throw new UsageError('--checkpoint is required');
  if (!out.dataset) throw new UsageError(`--dataset is required (one of ${DATASETS.join(', ')})`);
  if (!DATASETS.includes(out.dataset)) throw new UsageError(`unknown dataset '${out.dataset}'; expected one of ${DATASETS.join(', ')}`);
  return out as CertifyArgs;
}

function testSet(a: CertifyArgs): { images: Tensor; labels: Tensor } {
  if (a.dataset === 'cifar10') {
    const { images, labels } = loadCifar10Tensors({ root: a.dataDir ?? './data', train: false });
    return { images, labels };
  }
  const dir = a.dataDir ?? (a.dataset === 'fashion-mnist' ? DEBIAN_FASHION_MNIST_DIR : './data/mnist');
  return loadMnistSplit(dir, false);
}

export function certifyCommand(args: string[], usage: string): number {
  let a: CertifyArgs;
  try {
    a = parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`orthogonium certify: ${error.message}\n\n${usage}`);
    return 2;
  }
  const { model, metadata } = loadCheckpoint(a.checkpoint);
  const { mean, std } = metadata;
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== std.length || std.some((s) => !(s > 0))) {
    throw new Error(`${a.checkpoint}: the checkpoint's metadata has no valid input normalization (mean/std), which certificates need`);
  }
  const report = scope(() => {
    let { images, labels } = testSet(a);
    if (a.limit !== undefined) {
      images = images.narrow(0, 0, Math.min(a.limit, images.shape[0]));
      labels = labels.narrow(0, 0, images.shape[0]);
    }
    if (images.shape[1] !== mean.length) {
      throw new Error(`dataset '${a.dataset}' has ${images.shape[1]} channels but the checkpoint was trained on ${mean.length}`);
    }
    const shape = [1, mean.length, 1, 1];
    const x = images.float().div(255).sub(tensor(mean).view(shape)).div(tensor(std).view(shape));
    return certify(model, { x, y: labels }, { eps: a.eps, lipschitz: lipschitzFromStd(std), lastLayer: 'auto', batchSize: 500 });
  });
  model.dispose();
  const files: Record<string, string> = {};
  if (a.out) {
    const dir = resolve(a.out);
    mkdirSync(dir, { recursive: true });
    const csv = ['index,label,prediction,radius', ...report.radii.map((r, i) => `${i},${report.labels[i]},${report.predictions[i]},${r}`)].join('\n') + '\n';
    files.radii = join(dir, 'radii.csv');
    writeFileAtomic(files.radii, Buffer.from(csv));
    const svg = certifiedAccuracySvg(report.radii.map((r) => r), { title: `Certified accuracy — ${a.dataset}`, marks: a.eps });
    files.svg = join(dir, 'certified-accuracy.svg');
    writeFileAtomic(files.svg, Buffer.from(svg));
    files.png = join(dir, 'certified-accuracy.png');
    writeFileAtomic(files.png, svgToPng(svg));
  }
  const summary = {
    checkpoint: a.checkpoint, dataset: a.dataset, samples: report.labels.length, lastLayer: report.lastLayer, lipschitz: report.lipschitz,
    cleanAccuracy: report.cleanAccuracy, certifiedAccuracy: report.certifiedAccuracy, files,
  };
  if (a.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(`${a.dataset}: ${summary.samples} test images, ${report.lastLayer} head, L = ${report.lipschitz.toFixed(4)}`);
    console.log(`clean accuracy        ${(100 * report.cleanAccuracy).toFixed(2)}%`);
    for (const { eps, accuracy } of report.certifiedAccuracy) {
      console.log(`certified at ε=${(eps * 255).toFixed(1).replace(/\.0$/, '')}/255  ${(100 * accuracy).toFixed(2)}%`);
    }
    for (const [kind, path] of Object.entries(files)) console.log(`wrote ${kind}: ${path}`);
  }
  return 0;
}
