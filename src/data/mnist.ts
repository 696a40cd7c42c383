// MNIST-style datasets (MNIST, Fashion-MNIST) from their four IDX files.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, fromTypedArray } from '../torch/index.js';
import { readIdx } from './idx.js';

/** Where Debian's `dataset-fashion-mnist` package installs the real data. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface ImageSplit {
  /** uint8 [N, 1, 28, 28] */
  images: Tensor;
  /** int64 [N] */
  labels: Tensor;
}

function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`missing ${stem}(.gz) in ${dir}` +
    (dir === DEBIAN_FASHION_MNIST_DIR ? ' (install it with: apt-get install dataset-fashion-mnist)' : ''));
}

/** Reads the train or test split as typed arrays (uint8 images [N, 1, H, W], int32 labels), checking that images and labels agree. */
export function loadMnistArrays(dir: string, train: boolean): { images: Uint8Array; labels: Int32Array; chw: [number, number, number] } {
  const prefix = train ? 'train' : 't10k';
  const imagesPath = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.shape.length !== 3) throw new Error(`${imagesPath}: expected 3 dimensions [N, H, W], got [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1) throw new Error(`${labelsPath}: expected 1 dimension [N], got [${labels.shape.join(', ')}]`);
  if (labels.shape[0] !== images.shape[0]) {
    throw new Error(`${dir}: ${images.shape[0]} images but ${labels.shape[0]} labels in the ${prefix} split`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${labelsPath}: label ${labels.data[bad]} at index ${bad} is out of range 0..9`);
  return { images: images.data, labels: Int32Array.from(labels.data), chw: [1, images.shape[1], images.shape[2]] };
}

/** Reads the train or test split of an MNIST-format folder as engine tensors. */
export function loadMnistSplit(dir: string, train: boolean): ImageSplit {
  const { images, labels, chw } = loadMnistArrays(dir, train);
  const n = labels.length;
  return {
    images: fromTypedArray(images, [n, ...chw]),
    labels: fromTypedArray(labels, [n], { dtype: 'int64' }),
  };
}
