// An image-folder dataset read into memory: root/<class>/<image>.png|.jpg|.jpeg,
// one subfolder per class (classes sorted by name, like torchvision's
// ImageFolder), every image of the same size. PNG with the built-in decoder;
// JPEG (baseline and progressive, grey or colour) with jpeg-js. Other files are
// skipped; undecodable images are errors naming them. imageFolderFiles
// (image-files.ts) reads folders of any size or image shape lazily instead.
import { ArrayImageDataset, arrayImageDataset } from './images.js';
import { ImageFolderOptions, listImageFolder, readImageFile } from './image-files.js';
import { CenterCrop, Image } from './transforms.js';
import { Resize } from './resize.js';

export interface InMemoryImageFolderOptions extends ImageFolderOptions {
  /** Bring every image to size × size as it is read: Resize(size) (shorter edge), then CenterCrop(size). */
  size?: number;
}

export function loadImageFolder(root: string, opts: InMemoryImageFolderOptions = {}): ArrayImageDataset {
  const { files, labels, classes } = listImageFolder(root);
  const fit = opts.size === undefined ? null : sizeFitter(opts.size);
  let shape: [number, number, number] | null = null;
  const images = files.map((path) => {
    const read = readImageFile(path, opts.channels ?? (shape?.[0] as 1 | 3 | undefined));
    const img = fit ? fit(read) : read;
    if (shape === null) shape = [img.channels, img.height, img.width];
    else if (img.height !== shape[1] || img.width !== shape[2]) {
      throw new Error(`${path}: ${img.height}×${img.width} image, but the folder's first image is ${shape[1]}×${shape[2]} ` +
        '(all images must have the same size, or give a size to resize them to: `size` here, --image-size on the command line; ' +
        'imageFolderFiles reads images of any size lazily, with a Resize in the transform)');
    }
    return img.data as Uint8Array;
  });
  const chw = shape as unknown as [number, number, number];
  const per = chw[0] * chw[1] * chw[2];
  const all = new Uint8Array(images.length * per);
  images.forEach((d, i) => all.set(d, i * per));
  return arrayImageDataset(all, labels, chw, classes);
}

/** Resize (shorter edge) then CenterCrop to size × size (both deterministic). */
function sizeFitter(size: number): (img: Image) => Image {
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`loadImageFolder: size must be a positive integer, got ${size}`);
  const resize = new Resize(size);
  const crop = new CenterCrop(size);
  return (img) => crop.apply(resize.apply(img));
}
