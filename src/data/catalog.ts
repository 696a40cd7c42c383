// The datasets the command line knows by name, with what training needs
// about each: where its files are by default, its input normalization, and
// the seed's augmentations for the CIFAR family. `folder:<path>` reads
// <path>/train/<class>/… and <path>/val (or test)/<class>/…, and computes the
// normalization from the training images; with an image size, images of any
// size are brought to it (Resize of the shorter edge, CenterCrop) as they are read.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArrayImageDataset, arrayImageDataset } from './images.js';
import { loadCifar10, loadCifar100 } from './cifar.js';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, MNIST_CLASSES, loadMnistArrays } from './mnist.js';
import { loadImageFolder } from './image-folder.js';
import { channelStats } from './stats.js';
import { Cifar10DataModule, LoaderSettingsModule } from './datamodule.js';
import { DataLoader, loaderSettings } from './loader.js';
import { Compose, Normalize, RandomHorizontalFlip, RandomResizedCrop, ToTensor, Transform } from './transforms.js';

export const DATASET_NAMES = ['cifar10', 'cifar100', 'fashion-mnist', 'mnist', 'folder:<path>'];

export interface DatasetInfo {
  name: string;
  /** Folder the files were read from. */
  root: string;
  mean: number[];
  std: number[];
  classes: string[];
  /** [C, H, W] */
  shape: [number, number, number];
  /** The model preset that fits it. */
  defaultModel: string;
}

export interface OpenedDataset {
  info: DatasetInfo;
  train: () => ArrayImageDataset;
  val: () => ArrayImageDataset;
  trainTransform: () => Transform;
  valTransform: () => Transform;
}

const CIFAR100_MEAN = [0.5071, 0.4865, 0.4409];
const CIFAR100_STD = [0.2673, 0.2564, 0.2762];

const normalizeOnly = (mean: number[], std: number[]) => (): Transform => new Compose([new ToTensor(), new Normalize(mean, std)]);

/** The seed's CIFAR augmentation with the given normalization. */
const cifarAugment = (mean: number[], std: number[]) => (): Transform => {
  const p = Cifar10DataModule.PREPROCESSING_PARAMS;
  return new Compose([
    new RandomResizedCrop(p.cropSize, p.randomResizedCropParams.scale, p.randomResizedCropParams.ratio),
    new RandomHorizontalFlip(p.horizontalFlipProb),
    new ToTensor(),
    new Normalize(mean, std),
  ]);
};

/** A lazy dataset: reading happens at the first call, then the arrays are reused. */
function once<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

/**
 * Resolves a dataset name (see DATASET_NAMES) and its folder; nothing is read until train()/val() is
 * called. `download`: fetch the CIFAR archive into the folder when it is not there.
 */
export function openDataset(name: string, dataDir?: string, options: { download?: boolean; imageSize?: number | null } = {}): OpenedDataset {
  const imageSize = options.imageSize ?? null;
  if (imageSize !== null && !name.startsWith('folder:')) throw new TypeError(`an image size applies to image folders (folder:<path>) only, not to '${name}'`);
  if (name === 'cifar10' || name === 'cifar100') {
    const root = dataDir ?? './data';
    const ten = name === 'cifar10';
    const mean = ten ? Cifar10DataModule.PREPROCESSING_PARAMS.imgMean : CIFAR100_MEAN;
    const std = ten ? Cifar10DataModule.PREPROCESSING_PARAMS.imgStd : CIFAR100_STD;
    const download = options.download ?? false;
    const load = (train: boolean) => once(() => (ten ? loadCifar10({ root, train, download }) : loadCifar100({ root, train, download })));
    const train = load(true);
    return {
      info: { name, root, mean, std, classes: [], shape: [3, 32, 32], defaultModel: 'seed-cifar10' },
      train, val: load(false), trainTransform: cifarAugment(mean, std), valTransform: normalizeOnly(mean, std),
    };
  }
  if (name === 'fashion-mnist' || name === 'mnist') {
    const fashion = name === 'fashion-mnist';
    const root = dataDir ?? (fashion ? DEBIAN_FASHION_MNIST_DIR : './data/mnist');
    const mean = fashion ? [0.286] : [0.1307];
    const std = fashion ? [0.353] : [0.3081];
    const classes = fashion ? FASHION_MNIST_CLASSES : MNIST_CLASSES;
    const load = (train: boolean) => once(() => {
      const { images, labels, chw } = loadMnistArrays(root, train);
      return arrayImageDataset(images, labels, chw, classes);
    });
    return {
      info: { name, root, mean, std, classes, shape: [1, 28, 28], defaultModel: 'fmnist-small' },
      train: load(true), val: load(false), trainTransform: normalizeOnly(mean, std), valTransform: normalizeOnly(mean, std),
    };
  }
  if (name.startsWith('folder:')) {
    const root = name.slice('folder:'.length);
    if (!root) throw new TypeError("dataset 'folder:<path>' needs a path, e.g. folder:./my-images");
    const valDir = ['val', 'test'].map((d) => join(root, d)).find((d) => existsSync(d));
    if (!existsSync(join(root, 'train'))) throw new Error(`${root}: expected ${join(root, 'train')}/<class>/<image> (and ${join(root, 'val')}/<class>/<image>)`);
    if (!valDir) throw new Error(`${root}: expected a validation split in ${join(root, 'val')} or ${join(root, 'test')}`);
    // with an image size, images of any size are resized (shorter edge) and center-cropped as they are read
    const size = imageSize ?? undefined;
    const train = once(() => loadImageFolder(join(root, 'train'), { size }));
    const ds = train();
    const stats = channelStats(ds);
    // A constant channel has std 0; clamp so that normalization (and L = 1/min std) stays finite.
    const std = stats.std.map((s) => Math.max(s, 1e-3));
    const val = once(() => {
      const v = loadImageFolder(valDir, { channels: ds.channels as 1 | 3, size });
      if (v.classes.join('\n') !== ds.classes.join('\n')) throw new Error(`${valDir}: its classes (${v.classes.join(', ')}) differ from the training classes (${ds.classes.join(', ')})`);
      return v;
    });
    return {
      info: { name, root, mean: stats.mean, std, classes: ds.classes, shape: [ds.channels, ds.height, ds.width], defaultModel: '' },
      train, val, trainTransform: normalizeOnly(stats.mean, std), valTransform: normalizeOnly(stats.mean, std),
    };
  }
  throw new TypeError(`unknown dataset '${name}'; expected one of ${DATASET_NAMES.join(', ')}`);
}

export interface DatasetModuleOptions {
  batchSize?: number;
  /** Validation batch size (default 4× batchSize, as the seed). */
  valBatchSize?: number;
  numWorkers?: number;
  prefetch?: number;
  seed?: number;
  /** Batches in pinned host memory for asynchronous copies to a CUDA device (see DataLoaderOptions.pinMemory). */
  pinMemory?: boolean;
}

/** A LightningDataModule over a catalog dataset: shuffled, augmented training batches; validation in order. */
export class DatasetModule extends LoaderSettingsModule {
  readonly batchSize: number;
  readonly valBatchSize: number;

  constructor(readonly dataset: OpenedDataset, opts: DatasetModuleOptions = {}) {
    super(opts);
    this.batchSize = opts.batchSize ?? 256;
    this.valBatchSize = opts.valBatchSize ?? this.batchSize * 4;
  }

  trainDataloader(): DataLoader {
    return new DataLoader(this.dataset.train(), {
      batchSize: this.batchSize, shuffle: true, transform: this.dataset.trainTransform(), ...loaderSettings(this),
    });
  }

  valDataloader(): DataLoader {
    return new DataLoader(this.dataset.val(), {
      batchSize: this.valBatchSize, shuffle: false, transform: this.dataset.valTransform(), ...loaderSettings(this),
    });
  }


  checkpointMetadata(): { dataset: string; mean: number[]; std: number[]; classes: string[] } {
    const { info } = this.dataset;
    return { dataset: info.name, mean: info.mean, std: info.std, classes: info.classes.length ? info.classes : this.dataset.train().classes };
  }
}
