// `orthogonium train --dataset folder:<path> --image-size N`: a folder of
// images of several sizes, brought to N×N as read, trained on, certified, and
// evaluated again from the checkpoint at the same size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../src/data/png.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

/** Grey PNGs: class a dark with a bright left half, class b the mirror image; sizes vary. */
function makeFolder(): string {
  const root = mkdtempSync(join(tmpdir(), 'cli-folder-'));
  const sizes: [number, number][] = [[30, 40], [28, 35], [50, 29], [33, 33]];
  for (const [split, count] of [['train', 12], ['val', 6]] as const) {
    for (const [k, cls] of ['a', 'b'].entries()) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < count; i++) {
        const [h, w] = sizes[i % sizes.length];
        const data = Uint8Array.from({ length: h * w }, (_, p) => ((p % w < w / 2) === (k === 0) ? 200 : 30) + ((p * 31 + i) % 17));
        writeFileSync(join(root, split, cls, `${i}.png`), encodePng({ data, channels: 1, height: h, width: w }));
      }
    }
  }
  return root;
}

test('orthogonium train on an image folder of mixed sizes with --image-size; eval reads it at the trained size', () => {
  const root = makeFolder();
  try {
    const out = join(root, 'run');
    const r = run('train', '--dataset', `folder:${root}`, '--image-size', '28', '--epochs', '1', '--batch-size', '8', '--no-progress',
      '--num-sanity-val-steps', '0', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(result.evaluation.samples, 12, 'the whole validation folder is certified');
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.imageSize, 28);
    assert.deepEqual(config.model.options.imgShape, [1, 28, 28], 'the 1×28×28 preset was picked for the resized images');
    assert.equal(config.model.options.nClasses, 2);
    const e = run('eval', '--checkpoint', join(out, 'model.ckpt'), '--json');
    assert.equal(e.status, 0, e.stderr);
    const evaluation = JSON.parse(e.stdout);
    assert.equal(evaluation.samples, 12);
    assert.equal(evaluation.accuracy, result.evaluation.accuracy, 'eval resized the folder as training did');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('orthogonium train: a mixed-size folder without --image-size, and --image-size on a named dataset, are clear errors', () => {
  const root = makeFolder();
  try {
    const mixed = run('train', '--dataset', `folder:${root}`, '--epochs', '1', '--no-progress', '--out', join(root, 'x'));
    assert.notEqual(mixed.status, 0);
    assert.match(mixed.stderr, /all images must have the same size, or give a size to resize them to: .*--image-size on the command line/);
    const named = run('train', '--dataset', 'fashion-mnist', '--image-size', '28', '--epochs', '1');
    assert.equal(named.status, 2);
    assert.match(named.stderr, /'imageSize' must be null for dataset 'fashion-mnist' \(it applies to folder:<path> datasets\)/);
    const zero = run('train', '--dataset', `folder:${root}`, '--image-size', '0');
    assert.equal(zero.status, 2);
    assert.match(zero.stderr, /--image-size/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
