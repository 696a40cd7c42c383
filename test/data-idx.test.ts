import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readIdx } from '../src/data/idx.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/mnist.js';

function idxBytes(shape: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

test('readIdx reads plain and gzipped files byte-exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-idx-'));
  try {
    const data = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
    writeFileSync(join(dir, 'a.idx'), idxBytes([2, 3, 4], data));
    writeFileSync(join(dir, 'b.idx.gz'), gzipSync(idxBytes([2, 3, 4], data)));
    for (const name of ['a.idx', 'b.idx.gz']) {
      const read = readIdx(join(dir, name));
      assert.deepEqual(read.shape, [2, 3, 4]);
      assert.deepEqual([...read.data], data);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readIdx names the problem in corrupt files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-idx-'));
  try {
    const write = (name: string, bytes: Buffer) => { writeFileSync(join(dir, name), bytes); return join(dir, name); };
    assert.throws(() => readIdx(join(dir, 'absent')), /cannot read IDX file .*absent: ENOENT/);
    assert.throws(() => readIdx(write('magic', Buffer.from([1, 2, 3, 4]))), /bad magic number/);
    assert.throws(() => readIdx(write('short', idxBytes([10], [1, 2, 3]))), /announces shape \[10\].*holds 3/);
    assert.throws(() => readIdx(write('header', Buffer.from([0, 0, 8, 3, 0, 0]))), /truncated IDX header/);
    const float = idxBytes([1], [0, 0, 0, 0]);
    float[2] = 0x0d;
    assert.throws(() => readIdx(write('float', float)), /element type 0xd is not supported/);
    assert.throws(() => readIdx(write('gz', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage')]))), /corrupt gzip/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the real Fashion-MNIST from Debian has 60,000 / 10,000 images and balanced labels', { skip: !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed' }, () => {
  const train = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, true);
  const test = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, false);
  assert.deepEqual(train.images.shape, [60000, 1, 28, 28]);
  assert.deepEqual(test.images.shape, [10000, 1, 28, 28]);
  assert.equal(train.images.dtype, 'uint8');
  // Fashion-MNIST is exactly balanced: 6,000 training and 1,000 test images per class.
  const counts = (labels: import('../src/torch/index.js').Tensor) =>
    Array.from({ length: 10 }, (_, c) => labels.eq(c).sum().item());
  assert.deepEqual(counts(train.labels), Array(10).fill(6000));
  assert.deepEqual(counts(test.labels), Array(10).fill(1000));
});
