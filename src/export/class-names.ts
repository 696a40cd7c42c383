// Class names of the datasets the CLI knows, in label order, recorded in
// exported models so that consumers can show predictions by name.
import { CIFAR10_CLASSES, FASHION_MNIST_CLASSES, MNIST_CLASSES } from '../data/index.js';

export const DATASET_CLASS_NAMES: Record<string, string[]> = {
  'fashion-mnist': FASHION_MNIST_CLASSES,
  mnist: MNIST_CLASSES,
  cifar10: CIFAR10_CLASSES,
};

const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.every((n) => typeof n === 'string');

/**
 * The class names a checkpoint's metadata gives (`classNames`, or `classes` as the Trainer writes
 * them), else those of its dataset, else undefined.
 */
export function classNamesFor(metadata: { classNames?: unknown; classes?: unknown; dataset?: unknown }): string[] | undefined {
  if (isNames(metadata.classNames)) return metadata.classNames;
  if (isNames(metadata.classes) && metadata.classes.length > 0) return metadata.classes;
  return typeof metadata.dataset === 'string' ? DATASET_CLASS_NAMES[metadata.dataset] : undefined;
}
