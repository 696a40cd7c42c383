// What `orthogonium certify` and `orthogonium attack` share: their common
// options, loading a checkpoint with its input normalization, and the test
// split of a dataset as pixels in [0, 1].
import { Tensor, scope } from '../torch/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadCifar10Tensors, loadMnistSplit } from '../data/index.js';
import { lastLayerType, lipschitzFromStd, parseEps } from '../losses/index.js';
import { Linear } from '../nn/index.js';
import { FactoryModel } from '../models/index.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { PixelSpaceModel } from '../train/pixel-model.js';

/** A mistake in the command line: the command prints it with the usage and exits 2. */
export class UsageError extends Error {}

export const DATASETS = ['fashion-mnist', 'mnist', 'cifar10'];

export interface EvalArgs {
  checkpoint: string;
  dataset: string;
  dataDir?: string;
  eps: number[];
  limit?: number;
  json: boolean;
  out?: string;
}

/** Handles one command-specific option; `value()` consumes and returns its argument. */
export type OptionHandler = (value: () => string) => void;

export function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return n;
}

/** Parses the shared options plus the command's own (`extra`, by flag). */
export function parseEvalArgs(args: string[], extra: Record<string, OptionHandler> = {}): EvalArgs {
  const out: Partial<EvalArgs> & { json: boolean; eps: number[] } = { json: false, eps: [36 / 255, 72 / 255, 108 / 255] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string => {
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
        if (error instanceof UsageError) throw error;
        throw new UsageError(`--eps: ${(error as Error).message.replace(/^parseEps: /, '')}`);
      }
    } else if (arg === '--limit') out.limit = positiveInt('--limit', value());
    else if (Object.hasOwn(extra, arg)) extra[arg](value);
    else throw new UsageError(`unknown option ${arg}`);
  }
  if (!out.checkpoint) throw new UsageError('--checkpoint is required');
  if (!out.dataset) throw new UsageError(`--dataset is required (one of ${DATASETS.join(', ')})`);
  if (!DATASETS.includes(out.dataset)) throw new UsageError(`unknown dataset '${out.dataset}'; expected one of ${DATASETS.join(', ')}`);
  return out as EvalArgs;
}

/** The test split as uint8 images [N, C, H, W] and int64 labels. */
function testSet(a: EvalArgs): { images: Tensor; labels: Tensor } {
  if (a.dataset === 'cifar10') {
    const { images, labels } = loadCifar10Tensors({ root: a.dataDir ?? './data', train: false });
    return { images, labels };
  }
  const dir = a.dataDir ?? (a.dataset === 'fashion-mnist' ? DEBIAN_FASHION_MNIST_DIR : './data/mnist');
  return loadMnistSplit(dir, false);
}

export interface Evaluation {
  /** The checkpoint's model behind its input normalization: takes pixels in [0, 1]. */
  model: PixelSpaceModel;
  /** The network as stored (without the normalization). */
  network: FactoryModel;
  /** Test images as pixels in [0, 1] (float32, or float64 with `dtype`) and their labels, the first `limit` of them. */
  x: Tensor;
  y: Tensor;
  /** Lipschitz constant of the normalization, 1/min(std): the certificates' L in pixel units. */
  lipschitz: number;
}

/** Loads the checkpoint and the test split (disposing nothing of the caller's); free with disposeEvaluation. */
export function loadEvaluation(a: EvalArgs, dtype: 'float32' | 'float64' = 'float32'): Evaluation {
  const { model: network, metadata } = loadCheckpoint(a.checkpoint);
  try {
    if (lastLayerType(network) === 'unknown') {
      const last = [...network.modules()].filter((m) => m instanceof Linear).at(-1);
      throw new Error(`${a.checkpoint}: unknown head type: the model's last linear layer is ${last ? `a ${last.typeName}` : 'missing'}, ` +
        "neither an OrthoLinear ('global' certificates) nor a UnitNormLinear ('classwise'), so no certificate is valid for it");
    }
    const { mean, std } = metadata;
    if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== std.length || std.some((s) => !(s > 0))) {
      throw new Error(`${a.checkpoint}: the checkpoint's metadata has no valid input normalization (mean/std), which certificates need`);
    }
    const { x, y } = scope(() => {
      let { images, labels } = testSet(a);
      if (a.limit !== undefined) {
        images = images.narrow(0, 0, Math.min(a.limit, images.shape[0]));
        labels = labels.narrow(0, 0, images.shape[0]);
      }
      if (images.shape[1] !== mean.length) {
        throw new Error(`dataset '${a.dataset}' has ${images.shape[1]} channels but the checkpoint was trained on ${mean.length}`);
      }
      return { x: images.to(dtype).div(255), y: labels.clone() };
    });
    const model = new PixelSpaceModel(network, mean, std);
    if (dtype !== 'float32') model.to(dtype);
    return { model, network, x, y, lipschitz: lipschitzFromStd(std) };
  } catch (error) {
    network.dispose();
    throw error;
  }
}

export function disposeEvaluation(e: Evaluation): void {
  e.model.dispose();
  e.x.dispose();
  e.y.dispose();
}

/** A radius as it is usually written: 36/255 when it is a whole number of 255ths, else the number. */
export function formatRadius(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-9 ? `${Math.round(k)}/255` : String(Number(eps.toPrecision(6)));
}
