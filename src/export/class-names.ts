// Class names of the datasets the CLI knows, in label order, recorded in
// exported models so that consumers can show predictions by name.
export const DATASET_CLASS_NAMES: Record<string, string[]> = {
  'fashion-mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  cifar10: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
};

/** The class names a checkpoint's metadata gives (`classNames`), else those of its dataset, else undefined. */
export function classNamesFor(metadata: { classNames?: unknown; dataset?: unknown }): string[] | undefined {
  const given = metadata.classNames;
  if (Array.isArray(given) && given.every((n) => typeof n === 'string')) return given as string[];
  return typeof metadata.dataset === 'string' ? DATASET_CLASS_NAMES[metadata.dataset] : undefined;
}
