// Image files read when a batch needs them, as torchvision's ImageFolder does:
// nothing but the file list is held in memory, images may have any size
// (a Resize/crop in the transform brings them to one), and decoding runs in
// the loader's worker threads when it has some. For datasets too large for
// memory (ImageNet) or with images of many sizes; loadImageFolder reads a
// small folder of same-size images into memory instead.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { decodeJpeg } from './jpeg.js';
import { decodePng, DecodedImage } from './png.js';

export interface FileImageDataset {
  /** One path per image. */
  readonly files: string[];
  /** One label per image. */
  readonly labels: Int32Array;
  readonly classes: string[];
  /** Every image is converted to this many channels when read. */
  readonly channels: 1 | 3;
  readonly length: number;
}

export interface ImageFolderOptions {
  /** Convert every image to this many channels (1: grey by ITU-R 601 luma, 3: grey repeated). Default: that of the first image. */
  channels?: 1 | 3;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** root/<class>/<image>: classes sorted by name (labels in that order), images sorted within each class. */
export function listImageFolder(root: string): { files: string[]; labels: Int32Array; classes: string[] } {
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch (error) {
    throw new Error(`cannot read image folder ${root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const classes = entries.filter((e) => !e.startsWith('.') && statSync(join(root, e)).isDirectory());
  if (classes.length === 0) throw new Error(`${root}: no class subfolders (expected ${root}/<class>/<image>.png or .jpg)`);
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((cls, label) => {
    for (const name of readdirSync(join(root, cls)).sort()) {
      if (!IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) continue;
      files.push(join(root, cls, name));
      labels.push(label);
    }
  });
  if (files.length === 0) throw new Error(`${root}: no .png/.jpg/.jpeg images in the class subfolders`);
  return { files, labels: Int32Array.from(labels), classes };
}

/** Grey ↔ colour: grey repeated into 3 channels, or colour to grey by ITU-R 601 luma. */
export function convertChannels(img: DecodedImage, channels: number): DecodedImage {
  if (channels === img.channels) return img;
  const plane = img.height * img.width;
  const out = new Uint8Array(channels * plane);
  if (channels === 3) for (let c = 0; c < 3; c++) out.set(img.data, c * plane);
  else for (let p = 0; p < plane; p++) out[p] = Math.round(0.299 * img.data[p] + 0.587 * img.data[plane + p] + 0.114 * img.data[2 * plane + p]);
  return { data: out, channels, height: img.height, width: img.width };
}

/** Reads and decodes one PNG or JPEG file (by extension), converted to `channels` when given. */
export function readImageFile(path: string, channels?: 1 | 3): DecodedImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read image ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  const img = ext === '.jpg' || ext === '.jpeg' ? decodeJpeg(bytes, path) : decodePng(bytes, path);
  return channels === undefined ? img : convertChannels(img, channels);
}

/** An image folder as a FileImageDataset: lists the files and reads the first image only (for its channels when not given). */
export function imageFolderFiles(root: string, opts: ImageFolderOptions = {}): FileImageDataset {
  const { files, labels, classes } = listImageFolder(root);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) throw new RangeError(`imageFolderFiles: channels must be 1 or 3, got ${opts.channels}`);
  const channels = opts.channels ?? (readImageFile(files[0]).channels as 1 | 3);
  return fileImageDataset(files, labels, classes, channels);
}

/** A FileImageDataset over given files (any PNG/JPEG paths) and labels. */
export function fileImageDataset(files: string[], labels: Int32Array, classes: string[], channels: 1 | 3): FileImageDataset {
  if (files.length !== labels.length) throw new RangeError(`fileImageDataset: ${files.length} files but ${labels.length} labels`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`fileImageDataset: channels must be 1 or 3, got ${channels}`);
  return { files, labels, classes, channels, length: files.length };
}
