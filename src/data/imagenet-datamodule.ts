// Orthogonium's ImageNet data module (scripts/imagenet.py) over any image
// folder laid out as ImageNet's: <root>/train/<class>/<image> and
// <root>/val/<class>/<image>, read lazily (FileImageDataset) so that the
// dataset never has to fit in memory and images may have any size.
import { DataLoader, loaderSettings } from './loader.js';
import { FileImageDataset, imageFolderFiles } from './image-files.js';
import { CenterCrop, Compose, Normalize, RandomHorizontalFlip, RandomResizedCrop, ToTensor, Transform } from './transforms.js';
import { Resize } from './resize.js';
import { join } from 'node:path';
import { DataModuleOptions, LoaderSettingsModule } from './datamodule.js';

export interface ImagenetPreprocessing {
  imgMean: number[];
  imgStd: number[];
  /** Shorter edge after the first Resize (256 for 224 crops). */
  resizeSize: number;
  cropSize: number;
  horizontalFlipProb: number;
  randomResizedCropParams: { scale: [number, number]; ratio: [number, number] };
}

export class ImagenetDataModule extends LoaderSettingsModule {
  static readonly BATCH_SIZE = 256;
  static readonly NUM_WORKERS = 8;
  /** The script's settings: mean = std = 0.5, Resize(256), 224 crops (RandomResizedCrop scale (0.5, 1)), flip 0.5. */
  static readonly PREPROCESSING_PARAMS: ImagenetPreprocessing = {
    imgMean: [0.5, 0.5, 0.5],
    imgStd: [0.5, 0.5, 0.5],
    resizeSize: 256,
    cropSize: 224,
    horizontalFlipProb: 0.5,
    randomResizedCropParams: { scale: [0.5, 1.0], ratio: [3.0 / 4.0, 4.0 / 3.0] },
  };
  readonly root: string;
  readonly batchSize: number;
  readonly params: ImagenetPreprocessing;

  constructor(opts: DataModuleOptions & { preprocessing?: Partial<ImagenetPreprocessing> } = {}) {
    super(opts);
    if (!opts.root) throw new TypeError('ImagenetDataModule: root is required (the folder holding train/<class>/… and val/<class>/…)');
    this.root = opts.root;
    this.batchSize = opts.batchSize ?? ImagenetDataModule.BATCH_SIZE;
    this.params = { ...ImagenetDataModule.PREPROCESSING_PARAMS, ...opts.preprocessing };
    if (this.params.cropSize > this.params.resizeSize) {
      throw new RangeError(`ImagenetDataModule: cropSize ${this.params.cropSize} is larger than resizeSize ${this.params.resizeSize}`);
    }
  }

  trainTransform(): Transform {
    const p = this.params;
    return new Compose([
      new Resize(p.resizeSize),
      new RandomResizedCrop(p.cropSize, p.randomResizedCropParams.scale, p.randomResizedCropParams.ratio),
      new RandomHorizontalFlip(p.horizontalFlipProb),
      new ToTensor(),
      new Normalize(p.imgMean, p.imgStd),
    ]);
  }

  valTransform(): Transform {
    const p = this.params;
    return new Compose([new Resize(p.resizeSize), new CenterCrop(p.cropSize), new ToTensor(), new Normalize(p.imgMean, p.imgStd)]);
  }

  /** The split's files (colour, as the normalization has three channels; grey images are repeated). */
  dataset(split: 'train' | 'val'): FileImageDataset {
    return imageFolderFiles(join(this.root, split), { channels: this.params.imgMean.length === 1 ? 1 : 3 });
  }

  trainDataloader(dataset: FileImageDataset = this.dataset('train')): DataLoader {
    return new DataLoader(dataset, { batchSize: this.batchSize, shuffle: true, transform: this.trainTransform(), ...loaderSettings(this) });
  }

  valDataloader(dataset: FileImageDataset = this.dataset('val')): DataLoader {
    return new DataLoader(dataset, { batchSize: this.batchSize, shuffle: false, transform: this.valTransform(), ...loaderSettings(this) });
  }
}
