// CIFAR files in the official binary format, generated for tests.
import { CIFAR10_CLASSES } from '../../src/data/cifar.js';

export const PIX = 3072;

/** Deterministic pixel bytes for image `k`: distinct per image, channel and position. */
export function pixel(k: number, c: number, y: number, x: number): number {
  return (k * 31 + c * 101 + y * 7 + x * 3 + ((y * x) % 5)) % 256;
}

/** Records in the official format: label byte(s), then R plane, G plane, B plane (32×32 each). */
export function records(labels: number[][], firstImage: number): Buffer {
  const parts: Buffer[] = [];
  labels.forEach((lab, r) => {
    const rec = Buffer.alloc(lab.length + PIX);
    lab.forEach((l, i) => { rec[i] = l; });
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) rec[lab.length + c * 1024 + y * 32 + x] = pixel(firstImage + r, c, y, x);
    parts.push(rec);
  });
  return Buffer.concat(parts);
}

export function tarHeader(name: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

export function tar(files: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of files) {
    parts.push(tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// 5 train batches with 2, 1, 3, 1, 2 images; test batch with 3.
export const TRAIN_COUNTS = [2, 1, 3, 1, 2];
export function cifar10Files(): [string, Buffer][] {
  const files: [string, Buffer][] = [];
  let k = 0;
  TRAIN_COUNTS.forEach((n, b) => {
    const labels = Array.from({ length: n }, (_, r) => [(k + r) % 10]);
    files.push([`data_batch_${b + 1}.bin`, records(labels, k)]);
    k += n;
  });
  files.push(['test_batch.bin', records([[9], [0], [5]], 100)]);
  files.push(['batches.meta.txt', Buffer.from(CIFAR10_CLASSES.map((c) => c.toUpperCase()).join('\n') + '\n\n')]);
  return files;
}

