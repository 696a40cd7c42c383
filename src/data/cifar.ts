// CIFAR-10 and CIFAR-100 from the official binary format: either the
// `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz` archive read directly
// (no extraction) or its extracted folder.
//
// CIFAR-10 record: 1 label byte + 3072 pixel bytes (R plane, G plane, B plane,
// 32×32 each, row-major). CIFAR-100 record: coarse label byte, fine label
// byte, then the same 3072 pixel bytes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Tensor } from '../torch/index.js';
import { ArrayImageDataset, arrayImageDataset, datasetTensors } from './images.js';
import { readTarFile } from './tar.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface CifarArchiveInfo {
  file: string;
  folder: string;
  url: string;
  md5?: string;
}

export const CIFAR10_ARCHIVE: CifarArchiveInfo = {
  file: 'cifar-10-binary.tar.gz',
  folder: 'cifar-10-batches-bin',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
};

export const CIFAR100_ARCHIVE: CifarArchiveInfo = {
  file: 'cifar-100-binary.tar.gz',
  folder: 'cifar-100-binary',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
};

const PIXELS = 3 * 32 * 32;

export interface CifarOptions {
  /** A folder holding the archive, its extracted folder, or the batch files themselves; or the archive's path. */
  root: string;
  /** Training split (default) or test split. */
  train?: boolean;
  /** Downloading needs the network, which this build never uses: true only changes the wording of the error. */
  download?: boolean;
  /** Check the archive's md5 against the official one (CIFAR-10 only). Default false. */
  verifyMd5?: boolean;
}

export interface Cifar100Options extends CifarOptions {
  /** Which labels `labels` holds (default 'fine', 100 classes); both are always in fineLabels / coarseLabels. */
  labelMode?: 'fine' | 'coarse';
}

export interface Cifar100Dataset extends ArrayImageDataset {
  fineLabels: Int32Array;
  coarseLabels: Int32Array;
  fineClasses: string[];
  coarseClasses: string[];
}

/** Files of one CIFAR variant, found either in a folder or in the archive. */
interface Source {
  describe: string;
  read(name: string): { where: string; bytes: Uint8Array } | null;
}

function folderSource(dir: string): Source {
  return {
    describe: dir,
    read(name) {
      const path = join(dir, name);
      if (!existsSync(path)) return null;
      try {
        return { where: path, bytes: readFileSync(path) };
      } catch (error) {
        throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    },
  };
}

function archiveSource(path: string, md5: string | undefined, verify: boolean): Source {
  if (verify && md5 !== undefined) {
    const actual = createHash('md5').update(readFileSync(path)).digest('hex');
    if (actual !== md5) throw new Error(`${path}: md5 ${actual} does not match the official ${md5}; the archive is corrupt or not the official one`);
  }
  const entries = readTarFile(path);
  return {
    describe: path,
    read(name) {
      const entry = entries.find((e) => basename(e.name) === name);
      return entry ? { where: `${path}:${entry.name}`, bytes: entry.data } : null;
    },
  };
}

function notFound(what: string, archive: CifarArchiveInfo, root: string, firstFile: string, download: boolean): Error {
  const lead = download
    ? `${what}: download: true is not possible (this build never uses the network). `
    : `${what} not found under ${root}. `;
  return new Error(lead +
    `Place the archive at ${join(root, archive.file)} (read directly, no need to extract it), ` +
    `or its extracted folder at ${join(root, archive.folder)} (holding ${firstFile}, …). ` +
    `The official archive is ${archive.url}` + (archive.md5 ? ` (md5 ${archive.md5}).` : '.'));
}

function locate(what: string, archive: CifarArchiveInfo, opts: CifarOptions, firstFile: string): Source {
  const { root } = opts;
  const verify = opts.verifyMd5 ?? false;
  if (existsSync(root) && statSync(root).isFile()) return archiveSource(root, archive.md5, verify);
  const nested = join(root, archive.folder);
  if (existsSync(join(nested, firstFile))) return folderSource(nested);
  if (existsSync(join(root, firstFile))) return folderSource(root);
  const tarPath = join(root, archive.file);
  if (existsSync(tarPath)) return archiveSource(tarPath, archive.md5, verify);
  throw notFound(what, archive, root, firstFile, opts.download ?? false);
}

function need(source: Source, name: string, what: string): { where: string; bytes: Uint8Array } {
  const file = source.read(name);
  if (file === null) throw new Error(`${what}: missing ${name} in ${source.describe}`);
  return file;
}

function classNames(source: Source, name: string, count: number, fallback: string[] | null, what: string): string[] {
  const file = source.read(name);
  if (file === null) {
    if (fallback) return fallback;
    return Array.from({ length: count }, (_, i) => String(i));
  }
  const names = Buffer.from(file.bytes).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length !== count) throw new Error(`${what}: ${file.where} lists ${names.length} class names, expected ${count}`);
  return names;
}

/** Splits records into pixels and label bytes, checking sizes and label ranges. */
function parseRecords(
  files: { where: string; bytes: Uint8Array }[], labelBytes: number, labelLimits: number[],
): { images: Uint8Array; labels: Int32Array[] } {
  const record = labelBytes + PIXELS;
  let total = 0;
  for (const { where, bytes } of files) {
    if (bytes.length === 0 || bytes.length % record !== 0) {
      throw new Error(`${where}: ${bytes.length} bytes is not a whole, non-zero number of ${record}-byte records ` +
        `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${PIXELS} pixel bytes each); the file is truncated or not in the CIFAR binary format`);
    }
    total += bytes.length / record;
  }
  const images = new Uint8Array(total * PIXELS);
  const labels = labelLimits.map(() => new Int32Array(total));
  let n = 0;
  for (const { where, bytes } of files) {
    const count = bytes.length / record;
    for (let r = 0; r < count; r++, n++) {
      const base = r * record;
      for (let k = 0; k < labelBytes; k++) {
        const label = bytes[base + k];
        if (label >= labelLimits[k]) {
          throw new Error(`${where}: record ${r} has label ${label}, out of range 0..${labelLimits[k] - 1}` +
            (labelBytes > 1 ? ` (label byte ${k}: ${k === 0 ? 'coarse' : 'fine'})` : ''));
        }
        labels[k][n] = label;
      }
      images.set(bytes.subarray(base + labelBytes, base + record), n * PIXELS);
    }
  }
  return { images, labels };
}

/** CIFAR-10 train (data_batch_1..5.bin, 50,000 images) or test (test_batch.bin, 10,000) split. */
export function loadCifar10(opts: CifarOptions): ArrayImageDataset {
  const train = opts.train ?? true;
  const what = `CIFAR-10 (${train ? 'train' : 'test'})`;
  const names = train ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const source = locate('CIFAR-10', CIFAR10_ARCHIVE, opts, names[0]);
  const files = names.map((name) => need(source, name, what));
  const classes = classNames(source, 'batches.meta.txt', 10, CIFAR10_CLASSES, what);
  const { images, labels } = parseRecords(files, 1, [10]);
  return arrayImageDataset(images, labels[0], [3, 32, 32], classes);
}

/** CIFAR-100 train (train.bin, 50,000 images) or test (test.bin, 10,000) split. */
export function loadCifar100(opts: Cifar100Options): Cifar100Dataset {
  const train = opts.train ?? true;
  const what = `CIFAR-100 (${train ? 'train' : 'test'})`;
  const name = train ? 'train.bin' : 'test.bin';
  const source = locate('CIFAR-100', CIFAR100_ARCHIVE, opts, name);
  const file = need(source, name, what);
  const coarseClasses = classNames(source, 'coarse_label_names.txt', 20, null, what);
  const fineClasses = classNames(source, 'fine_label_names.txt', 100, null, what);
  const { images, labels } = parseRecords([file], 2, [20, 100]);
  const [coarseLabels, fineLabels] = labels;
  const coarse = opts.labelMode === 'coarse';
  const ds = arrayImageDataset(images, coarse ? coarseLabels : fineLabels, [3, 32, 32], coarse ? coarseClasses : fineClasses);
  return { ...ds, fineLabels, coarseLabels, fineClasses, coarseClasses };
}

/** Convenience: a CIFAR split as engine tensors (uint8 [N, 3, 32, 32], int64 [N]) plus class names. */
export function loadCifar10Tensors(opts: CifarOptions): { images: Tensor; labels: Tensor; classes: string[] } {
  const ds = loadCifar10(opts);
  return { ...datasetTensors(ds), classes: ds.classes };
}
