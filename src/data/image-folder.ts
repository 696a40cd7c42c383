// An image-folder dataset: root/<class>/<image>.png|.jpg|.jpeg, one subfolder
// per class (classes sorted by name, like torchvision's ImageFolder). PNG with
// the built-in decoder; JPEG (baseline and progressive, grey or colour) with
// jpeg-js. Other files are skipped; undecodable images are errors naming them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ArrayImageDataset, arrayImageDataset } from './images.js';
import { decodeJpeg } from './jpeg.js';
import { decodePng } from './png.js';

export interface ImageFolderOptions {
  /** Convert every image to this many channels (1: grey by ITU-R 601 luma, 3: grey repeated). Default: that of the first image. */
  channels?: 1 | 3;
}

export function loadImageFolder(root: string, opts: ImageFolderOptions = {}): ArrayImageDataset {
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch (error) {
    throw new Error(`cannot read image folder ${root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const classes = entries.filter((e) => !e.startsWith('.') && statSync(join(root, e)).isDirectory());
  if (classes.length === 0) throw new Error(`${root}: no class subfolders (expected ${root}/<class>/<image>.png or .jpg)`);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  let shape: [number, number, number] | null = null;
  classes.forEach((cls, label) => {
    for (const name of readdirSync(join(root, cls)).sort()) {
      const path = join(root, cls, name);
      const ext = extname(name).toLowerCase();
      const jpeg = ext === '.jpg' || ext === '.jpeg';
      if (ext !== '.png' && !jpeg) continue;
      const bytes = readFileSync(path);
      const img = jpeg ? decodeJpeg(bytes, path) : decodePng(bytes, path);
      const channels = opts.channels ?? shape?.[0] ?? img.channels;
      let data = img.data;
      if (channels !== img.channels) {
        const plane = img.height * img.width;
        const conv = new Uint8Array(channels * plane);
        if (channels === 3) for (let c = 0; c < 3; c++) conv.set(img.data, c * plane);
        else for (let p = 0; p < plane; p++) conv[p] = Math.round(0.299 * img.data[p] + 0.587 * img.data[plane + p] + 0.114 * img.data[2 * plane + p]);
        data = conv;
      }
      if (shape === null) shape = [channels, img.height, img.width];
      else if (img.height !== shape[1] || img.width !== shape[2]) {
        throw new Error(`${path}: ${img.height}×${img.width} image, but the folder's first image is ${shape[1]}×${shape[2]} (all images must have the same size)`);
      }
      images.push(data);
      labels.push(label);
    }
  });
  if (shape === null) throw new Error(`${root}: no .png/.jpg/.jpeg images in the class subfolders`);
  const per = (shape as [number, number, number]).reduce((a, b) => a * b, 1);
  const all = new Uint8Array(images.length * per);
  images.forEach((d, i) => all.set(d, i * per));
  return arrayImageDataset(all, Int32Array.from(labels), shape, classes);
}
