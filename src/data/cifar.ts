// CIFAR-10 and CIFAR-100 from the official binary format: either the
// `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz` archive read directly
// (no extraction) or its extracted folder.
//
// CIFAR-10 record: 1 label byte + 3072 pixel bytes (R plane, G plane, B plane,
// 32×32 each, row-major). CIFAR-100 record: coarse label byte, fine label
// byte, then the same 3072 pixel bytes.
//
// `download: true` fetches the archive when nothing is found (see
// ./download.ts: resumable, md5-checked, atomic). The synchronous loaders run
// the download in a child process (so that they stay synchronous); the
// `…Async` loaders and `downloadCifar` do it in this process.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchiveDownloadJob as DownloadJob, runArchiveDownload } from './download.js';
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
  /** When the files are not found, download the official archive into `root` (resumable, md5-checked). Default false. */
  download?: boolean;
  /** Archive URL for `download` (default: $ORTHOGONIUM_CIFAR_MIRROR/<archive file> when set, else the official URL). */
  url?: string;
  /** md5 the downloaded archive must have (default the official one; null: no md5, only check that the archive opens). */
  md5?: string | null;
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

/** Where `download` fetches from: the `url` option, else $ORTHOGONIUM_CIFAR_MIRROR/<file>, else the official URL. */
export function cifarArchiveUrl(archive: CifarArchiveInfo, opts: { url?: string } = {}): string {
  if (opts.url) return opts.url;
  const mirror = process.env.ORTHOGONIUM_CIFAR_MIRROR;
  return mirror ? `${mirror.replace(/\/+$/, '')}/${archive.file}` : archive.url;
}

function placeIt(archive: CifarArchiveInfo, root: string, firstFile: string): string {
  return `Place the archive at ${join(root, archive.file)} (read directly, no need to extract it), ` +
    `or its extracted folder at ${join(root, archive.folder)} (holding ${firstFile}, …). ` +
    `The official archive is ${archive.url}` + (archive.md5 ? ` (md5 ${archive.md5}).` : '.');
}

function notFound(what: string, archive: CifarArchiveInfo, root: string, firstFile: string): Error {
  return new Error(`${what} not found under ${root}. ` + placeIt(archive, root, firstFile));
}

function downloadFailed(what: string, archive: CifarArchiveInfo, root: string, firstFile: string, reason: string): Error {
  return new Error(`${what}: download failed: ${reason}. Without the network: ${placeIt(archive, root, firstFile)}`);
}

function downloadJob(archive: CifarArchiveInfo, opts: CifarOptions, firstFile: string): DownloadJob {
  const md5 = opts.md5 === undefined ? archive.md5 ?? null : opts.md5;
  return { url: cifarArchiveUrl(archive, opts), dest: join(opts.root, archive.file), md5, member: firstFile };
}

function find(archive: CifarArchiveInfo, opts: CifarOptions, firstFile: string): Source | null {
  const { root } = opts;
  const verify = opts.verifyMd5 ?? false;
  if (existsSync(root) && statSync(root).isFile()) return archiveSource(root, archive.md5, verify);
  const nested = join(root, archive.folder);
  if (existsSync(join(nested, firstFile))) return folderSource(nested);
  if (existsSync(join(root, firstFile))) return folderSource(root);
  const tarPath = join(root, archive.file);
  if (existsSync(tarPath)) return archiveSource(tarPath, archive.md5, verify);
  return null;
}

function locate(what: string, archive: CifarArchiveInfo, opts: CifarOptions, firstFile: string): Source {
  const found = find(archive, opts, firstFile);
  if (found !== null) return found;
  if (!opts.download) throw notFound(what, archive, opts.root, firstFile);
  // synchronous API: the download runs in a child process while this one waits
  const job = downloadJob(archive, opts, firstFile);
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./download-main.js', import.meta.url)), JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8',
  });
  if (child.error || child.status !== 0) {
    const reason = child.error?.message ?? (child.stderr.trim() || `the download process ended with ${child.signal ?? `code ${child.status}`}`);
    throw downloadFailed(what, archive, opts.root, firstFile, reason);
  }
  return find(archive, opts, firstFile) ?? (() => { throw notFound(what, archive, opts.root, firstFile); })();
}

/** Whether find() would find something (without reading any archive). */
function present(archive: CifarArchiveInfo, opts: CifarOptions, firstFile: string): boolean {
  const { root } = opts;
  return existsSync(root) && (statSync(root).isFile() || [join(root, archive.folder, firstFile), join(root, firstFile), join(root, archive.file)].some((p) => existsSync(p)));
}

/** Downloads the archive into opts.root (in this process) unless the data are already there. */
async function ensure(what: string, archive: CifarArchiveInfo, opts: CifarOptions, firstFile: string): Promise<void> {
  if (present(archive, opts, firstFile)) return;
  if (!opts.download) throw notFound(what, archive, opts.root, firstFile);
  try {
    await runArchiveDownload(downloadJob(archive, opts, firstFile));
  } catch (error) {
    throw downloadFailed(what, archive, opts.root, firstFile, (error as Error).message);
  }
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

/** loadCifar10, downloading the archive first (in this process) when `download` is set and nothing is found. */
export async function loadCifar10Async(opts: CifarOptions): Promise<ArrayImageDataset> {
  await ensure('CIFAR-10', CIFAR10_ARCHIVE, opts, (opts.train ?? true) ? 'data_batch_1.bin' : 'test_batch.bin');
  return loadCifar10(opts);
}

/** loadCifar100, downloading the archive first (in this process) when `download` is set and nothing is found. */
export async function loadCifar100Async(opts: Cifar100Options): Promise<Cifar100Dataset> {
  await ensure('CIFAR-100', CIFAR100_ARCHIVE, opts, (opts.train ?? true) ? 'train.bin' : 'test.bin');
  return loadCifar100(opts);
}

/** Convenience: a CIFAR split as engine tensors (uint8 [N, 3, 32, 32], int64 [N]) plus class names. */
export function loadCifar10Tensors(opts: CifarOptions): { images: Tensor; labels: Tensor; classes: string[] } {
  const ds = loadCifar10(opts);
  return { ...datasetTensors(ds), classes: ds.classes };
}
