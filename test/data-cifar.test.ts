import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PIX, pixel, records, tar, tarHeader, cifar10Files, TRAIN_COUNTS } from './helpers/cifar-files.js';
import { CIFAR10_CLASSES, loadCifar10, loadCifar10Tensors, loadCifar100 } from '../src/data/cifar.js';
import { parseTar, readTarFile } from '../src/data/tar.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-cifar-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function checkTrain(ds: ReturnType<typeof loadCifar10>): void {
  assert.equal(ds.length, 9);
  assert.deepEqual([ds.channels, ds.height, ds.width], [3, 32, 32]);
  assert.deepEqual([...ds.labels], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (let k = 0; k < 9; k++) {
    for (const [c, y, x] of [[0, 0, 0], [1, 5, 17], [2, 31, 31], [0, 31, 0], [2, 0, 31]]) {
      assert.equal(ds.images[k * PIX + c * 1024 + y * 32 + x], pixel(k, c, y, x), `image ${k} (${c}, ${y}, ${x})`);
    }
  }
  // and every byte, as a whole
  const expected = new Uint8Array(9 * PIX);
  for (let k = 0; k < 9; k++) for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) expected[k * PIX + c * 1024 + y * 32 + x] = pixel(k, c, y, x);
  assert.deepEqual(ds.images, expected);
  assert.deepEqual(ds.classes, CIFAR10_CLASSES.map((c) => c.toUpperCase()));
}

test('CIFAR-10 from an extracted folder: byte-exact pixels, labels and class names', () => withDir((dir) => {
  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder);
  for (const [name, data] of cifar10Files()) writeFileSync(join(folder, name), data);
  checkTrain(loadCifar10({ root: dir }));
  checkTrain(loadCifar10({ root: folder })); // the batch folder itself
  const testSplit = loadCifar10({ root: dir, train: false });
  assert.deepEqual([...testSplit.labels], [9, 0, 5]);
  assert.equal(testSplit.images[2 * PIX + 1024 + 33], pixel(102, 1, 1, 1));
  const t = loadCifar10Tensors({ root: dir, train: false });
  assert.deepEqual(t.images.shape, [3, 3, 32, 32]);
  assert.equal(t.images.dtype, 'uint8');
  assert.equal(t.labels.dtype, 'int64');
  assert.deepEqual(t.labels.toArray(), [9, 0, 5]);
  assert.equal(t.images.sum().item(), testSplit.images.reduce((a, b) => a + b, 0));
  t.images.dispose();
  t.labels.dispose();
}));

test('CIFAR-10 read directly from cifar-10-binary.tar.gz (no extraction), default class names without the meta file', () => withDir((dir) => {
  const files = cifar10Files().map(([n, d]) => [`cifar-10-batches-bin/${n}`, d] as [string, Buffer]);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), gzipSync(tar(files)));
  checkTrain(loadCifar10({ root: dir }));
  checkTrain(loadCifar10({ root: join(dir, 'cifar-10-binary.tar.gz') }));
  assert.deepEqual([...loadCifar10({ root: dir, train: false }).labels], [9, 0, 5]);
  // a plain (not gzipped) tar works too; without batches.meta.txt the official names are used
  writeFileSync(join(dir, 'plain.tar'), tar(files.filter(([n]) => !n.endsWith('.txt'))));
  assert.deepEqual(loadCifar10({ root: join(dir, 'plain.tar') }).classes, CIFAR10_CLASSES);
  // md5 verification against the official archive rejects this synthetic one
  assert.throws(() => loadCifar10({ root: dir, verifyMd5: true }), /md5 [0-9a-f]{32} does not match the official c32a1d4ab5d03f1284b67883e8d87530/);
}));

test('tar reader: long names, checksums, truncation', () => {
  const long = 'x'.repeat(150) + '.bin';
  const data = Buffer.from('hello');
  const archive = Buffer.concat([tarHeader('././@LongLink', long.length + 1, 'L'), Buffer.from(long + '\0'), Buffer.alloc(512 - long.length - 1), tar([['short', data]])]);
  const entries = parseTar(archive, 'a.tar');
  assert.equal(entries[0].name, long);
  assert.equal(Buffer.from(entries[0].data).toString(), 'hello');
  const bad = tar([['f', data]]);
  bad[10] ^= 1;
  assert.throws(() => parseTar(bad, 'bad.tar'), /bad\.tar: corrupt tar header at byte 0 \(checksum/);
  const big = tar([['f', Buffer.alloc(2000)]]);
  assert.throws(() => parseTar(big.subarray(0, 1500), 'cut.tar'), /cut\.tar: truncated tar archive \(entry "f" needs 2000 bytes/);
  withDir((dir) => {
    writeFileSync(join(dir, 'x.tar.gz'), gzipSync(big).subarray(0, 40));
    assert.throws(() => readTarFile(join(dir, 'x.tar.gz')), /x\.tar\.gz: corrupt or truncated gzip data/);
    assert.throws(() => readTarFile(join(dir, 'none.tar.gz')), /cannot read archive .*none\.tar\.gz: ENOENT/);
  });
});

test('CIFAR-100: coarse and fine labels, class names, byte-exact pixels', () => withDir((dir) => {
  const folder = join(dir, 'cifar-100-binary');
  mkdirSync(folder);
  writeFileSync(join(folder, 'train.bin'), records([[3, 42], [19, 99], [0, 0]], 0));
  writeFileSync(join(folder, 'test.bin'), records([[7, 13]], 50));
  writeFileSync(join(folder, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n'));
  writeFileSync(join(folder, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'));
  const ds = loadCifar100({ root: dir });
  assert.equal(ds.length, 3);
  assert.deepEqual([...ds.labels], [42, 99, 0]);
  assert.deepEqual([...ds.fineLabels], [42, 99, 0]);
  assert.deepEqual([...ds.coarseLabels], [3, 19, 0]);
  assert.equal(ds.classes[99], 'fine99');
  assert.equal(ds.coarseClasses[19], 'coarse19');
  assert.equal(ds.images[PIX + 2 * 1024 + 31 * 32 + 30], pixel(1, 2, 31, 30));
  assert.equal(ds.images[0], pixel(0, 0, 0, 0));
  const coarse = loadCifar100({ root: dir, labelMode: 'coarse', train: false });
  assert.deepEqual([...coarse.labels], [7]);
  assert.equal(coarse.classes.length, 20);
  assert.equal(coarse.images[1024 + 3], pixel(50, 1, 0, 3));
  // read from the archive as well
  writeFileSync(join(dir, 'arch.tar.gz'), gzipSync(tar([['cifar-100-binary/train.bin', records([[1, 2]], 0)]])));
  assert.deepEqual([...loadCifar100({ root: join(dir, 'arch.tar.gz') }).coarseLabels], [1]);
  // a fine label out of range names the byte
  writeFileSync(join(folder, 'train.bin'), records([[3, 42], [5, 100]], 0));
  assert.throws(() => loadCifar100({ root: dir }), /train\.bin: record 1 has label 100, out of range 0\.\.99 \(label byte 1: fine\)/);
  writeFileSync(join(folder, 'train.bin'), records([[20, 1]], 0));
  assert.throws(() => loadCifar100({ root: dir }), /record 0 has label 20, out of range 0\.\.19 \(label byte 0: coarse\)/);
  // a CIFAR-10 file (3073-byte records) is not a CIFAR-100 file
  writeFileSync(join(folder, 'train.bin'), records([[1], [2]], 0));
  assert.throws(() => loadCifar100({ root: dir }), /train\.bin: 6146 bytes is not a whole, non-zero number of 3074-byte records/);
}));

test('CIFAR errors name the file and what was expected', () => withDir((dir) => {
  // nothing there: where to put what, with the official URL and md5
  const missing = /CIFAR-10 not found under .*Place the archive at .*cifar-10-binary\.tar\.gz .*extracted folder at .*cifar-10-batches-bin .*data_batch_1\.bin.*https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz \(md5 c32a1d4ab5d03f1284b67883e8d87530\)/;
  assert.throws(() => loadCifar10({ root: dir }), missing);
  assert.throws(() => loadCifar10({ root: join(dir, 'nope') }), missing);
  assert.throws(() => loadCifar100({ root: dir }), /CIFAR-100 not found under .*cifar-100-binary\.tar\.gz.*cifar-100-binary .*train\.bin/);

  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder);
  const files = cifar10Files();
  const write = (skip: string | null, replace?: [string, Buffer]) => {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder);
    for (const [n, d] of files) if (n !== skip) writeFileSync(join(folder, n), replace && replace[0] === n ? replace[1] : d);
  };
  write('data_batch_3.bin');
  assert.throws(() => loadCifar10({ root: dir }), /CIFAR-10 \(train\): missing data_batch_3\.bin in .*cifar-10-batches-bin/);
  assert.equal(loadCifar10({ root: dir, train: false }).length, 3); // the test split does not need it
  write(null, ['data_batch_2.bin', records([[1]], 0).subarray(0, 3000)]);
  assert.throws(() => loadCifar10({ root: dir }), /data_batch_2\.bin: 3000 bytes is not a whole, non-zero number of 3073-byte records \(1 label byte \+ 3072 pixel bytes each\)/);
  write(null, ['data_batch_4.bin', Buffer.alloc(0)]);
  assert.throws(() => loadCifar10({ root: dir }), /data_batch_4\.bin: 0 bytes is not a whole, non-zero number/);
  write(null, ['data_batch_5.bin', records([[3], [10]], 0)]);
  assert.throws(() => loadCifar10({ root: dir }), /data_batch_5\.bin: record 1 has label 10, out of range 0\.\.9/);
  write(null, ['batches.meta.txt', Buffer.from('a\nb\n')]);
  assert.throws(() => loadCifar10({ root: dir }), /batches\.meta\.txt lists 2 class names, expected 10/);
  // inside an archive, the error names archive and member
  rmSync(folder, { recursive: true, force: true });
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), gzipSync(tar([['cifar-10-batches-bin/test_batch.bin', records([[11]], 0)]])));
  assert.throws(() => loadCifar10({ root: dir, train: false }), /cifar-10-binary\.tar\.gz:cifar-10-batches-bin\/test_batch\.bin: record 0 has label 11/);
  assert.throws(() => loadCifar10({ root: dir }), /missing data_batch_1\.bin in .*cifar-10-binary\.tar\.gz/);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), gzipSync(tar(files.map(([n, d]) => [`cifar-10-batches-bin/${n}`, d] as [string, Buffer]))).subarray(0, 5000));
  assert.throws(() => loadCifar10({ root: dir }), /cifar-10-binary\.tar\.gz: corrupt or truncated gzip data/);
}));
