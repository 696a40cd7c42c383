// LightningDataModule-like helpers with the seed tutorial's exact settings.
import { DataLoader, LoaderSettings, Shard, loaderSettings } from './loader.js';
import { ArrayImageDataset, arrayImageDataset } from './images.js';
import { loadCifar10 } from './cifar.js';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, loadMnistArrays } from './mnist.js';
import { Compose, Normalize, RandomHorizontalFlip, RandomResizedCrop, ToTensor, Transform } from './transforms.js';

export interface DataModuleOptions {
  /** Dataset folder (see the loaders); CIFAR-10 default './data', Fashion-MNIST default the Debian folder. */
  root?: string;
  /** Training batch size (the validation batch is 4× this, like the seed). */
  batchSize?: number;
  numWorkers?: number;
  prefetch?: number;
  seed?: number;
  /** Batches in pinned host memory for asynchronous copies to a CUDA device (see DataLoaderOptions.pinMemory). */
  pinMemory?: boolean;
}

/** What every data module here shares: the loader settings its loaders pass on, and the data-parallel shard. */
export abstract class LoaderSettingsModule implements LoaderSettings {
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly seed: number;
  readonly pinMemory: boolean;
  /** Set by a data-parallel Trainer: each process loads its own part of every epoch. */
  shard: Shard | null = null;

  constructor(opts: Pick<DataModuleOptions, 'numWorkers' | 'prefetch' | 'seed' | 'pinMemory'>) {
    this.numWorkers = opts.numWorkers ?? 0;
    this.prefetch = opts.prefetch ?? 2;
    this.seed = opts.seed ?? 0;
    this.pinMemory = opts.pinMemory ?? false;
  }

  distribute(shard: Shard): void { this.shard = shard; }
}

/** The seed's Cifar10DataModule: batch 256, RandomResizedCrop(32, (0.25, 1), (3/4, 4/3)), flip 0.5, the seed's mean/std; validation normalize only, batch 1024. */
export class Cifar10DataModule extends LoaderSettingsModule {
  static readonly BATCH_SIZE = 256;
  static readonly NUM_WORKERS = 8;
  static readonly PREPROCESSING_PARAMS = {
    imgMean: [0.41757566, 0.26098573, 0.25888634],
    imgStd: [0.21938758, 0.1983, 0.19342837],
    cropSize: 32,
    horizontalFlipProb: 0.5,
    randomResizedCropParams: { scale: [0.25, 1.0] as [number, number], ratio: [3.0 / 4.0, 4.0 / 3.0] as [number, number] },
  };
  readonly root: string;
  readonly batchSize: number;

  constructor(opts: DataModuleOptions = {}) {
    super(opts);
    this.root = opts.root ?? './data';
    this.batchSize = opts.batchSize ?? Cifar10DataModule.BATCH_SIZE;
  }

  static trainTransform(): Transform {
    const p = Cifar10DataModule.PREPROCESSING_PARAMS;
    return new Compose([
      new RandomResizedCrop(p.cropSize, p.randomResizedCropParams.scale, p.randomResizedCropParams.ratio),
      new RandomHorizontalFlip(p.horizontalFlipProb),
      new ToTensor(),
      new Normalize(p.imgMean, p.imgStd),
    ]);
  }

  static valTransform(): Transform {
    const p = Cifar10DataModule.PREPROCESSING_PARAMS;
    return new Compose([new ToTensor(), new Normalize(p.imgMean, p.imgStd)]);
  }

  trainDataloader(dataset: ArrayImageDataset = loadCifar10({ root: this.root, train: true })): DataLoader {
    return new DataLoader(dataset, {
      batchSize: this.batchSize, shuffle: true, transform: Cifar10DataModule.trainTransform(), ...loaderSettings(this),
    });
  }

  valDataloader(dataset: ArrayImageDataset = loadCifar10({ root: this.root, train: false })): DataLoader {
    return new DataLoader(dataset, {
      batchSize: this.batchSize * 4, shuffle: false, transform: Cifar10DataModule.valTransform(), ...loaderSettings(this),
    });
  }

}

/** Fashion-MNIST: shuffled training batches (default 256) scaled to [0, 1]; validation batches 4× larger, in order. */
export class FashionMnistDataModule extends LoaderSettingsModule {
  readonly root: string;
  readonly batchSize: number;
  /** Optional normalization; by default images are only scaled to [0, 1]. */
  readonly mean: number[] | null;
  readonly std: number[] | null;

  constructor(opts: DataModuleOptions & { mean?: number[]; std?: number[] } = {}) {
    super(opts);
    this.root = opts.root ?? DEBIAN_FASHION_MNIST_DIR;
    this.batchSize = opts.batchSize ?? 256;
    this.mean = opts.mean ?? null;
    this.std = opts.std ?? null;
  }

  transform(): Transform {
    const steps: Transform[] = [new ToTensor()];
    if (this.mean && this.std) steps.push(new Normalize(this.mean, this.std));
    return new Compose(steps);
  }

  dataset(train: boolean): ArrayImageDataset {
    const { images, labels, chw } = loadMnistArrays(this.root, train);
    return arrayImageDataset(images, labels, chw, FASHION_MNIST_CLASSES);
  }

  trainDataloader(dataset: ArrayImageDataset = this.dataset(true)): DataLoader {
    return new DataLoader(dataset, { batchSize: this.batchSize, shuffle: true, transform: this.transform(), ...loaderSettings(this) });
  }

  valDataloader(dataset: ArrayImageDataset = this.dataset(false)): DataLoader {
    return new DataLoader(dataset, { batchSize: this.batchSize * 4, shuffle: false, transform: this.transform(), ...loaderSettings(this) });
  }

}
