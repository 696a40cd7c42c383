// An image-folder dataset read into memory: root/<class>/<image>.png|.jpg|.jpeg,
// one subfolder per class (classes sorted by name, like torchvision's
// ImageFolder), every image of the same size. PNG with the built-in decoder;
// JPEG (baseline and progressive, grey or colour) with jpeg-js. Other files are
// skipped; undecodable images are errors naming them. imageFolderFiles
// (image-files.ts) reads folders of any size or image shape lazily instead.
import { ArrayImageDataset, arrayImageDataset } from './images.js';
import { ImageFolderOptions, listImageFolder, readImageFile } from './image-files.js';

export type { ImageFolderOptions } from './image-files.js';

export function loadImageFolder(root: string, opts: ImageFolderOptions = {}): ArrayImageDataset {
  const { files, labels, classes } = listImageFolder(root);
  let shape: [number, number, number] | null = null;
  const images = files.map((path) => {
    const img = readImageFile(path, opts.channels ?? (shape?.[0] as 1 | 3 | undefined));
    if (shape === null) shape = [img.channels, img.height, img.width];
    else if (img.height !== shape[1] || img.width !== shape[2]) {
      throw new Error(`${path}: ${img.height}×${img.width} image, but the folder's first image is ${shape[1]}×${shape[2]} ` +
        '(all images must have the same size here; imageFolderFiles reads images of any size, with a Resize in the transform)');
    }
    return img.data;
  });
  const chw = shape as unknown as [number, number, number];
  const per = chw[0] * chw[1] * chw[2];
  const all = new Uint8Array(images.length * per);
  images.forEach((d, i) => all.set(d, i * per));
  return arrayImageDataset(all, labels, chw, classes);
}
