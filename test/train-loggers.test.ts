// Loggers and the progress bar: the CSV layout Lightning users know, JSON
// lines with non-finite values, TensorBoard's record format (CRC-32C check
// value, checksums, protobuf fields), resume, and progress output modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSVLogger, JSONLLogger, TensorBoardLogger, readTensorBoardScalars } from '../src/train/index.js';
import { crc32c, readRecords } from '../src/train/loggers/tfrecord.js';
import { ProgressBar } from '../src/train/progress.js';
import { metricsTable } from '../src/train/metrics-table.js';
import { trainingCurvesSvg, writeTrainingCurves } from '../src/train/metric-plots.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'ortho-loggers-'));

test('CSVLogger writes one row per call with the union of columns, and resumes up to a step', () => {
  const dir = tempDir();
  try {
    const a = new CSVLogger(dir);
    a.logMetrics({ loss_step: 0.5 }, 50);
    a.logMetrics({ loss_epoch: 0.4, val_accuracy: 0.75 }, 100);
    a.logMetrics({ loss_step: 0.25 }, 150);
    a.save();
    assert.equal(readFileSync(join(dir, 'metrics.csv'), 'utf8'), 'step,loss_epoch,loss_step,val_accuracy\n50,,0.5,\n100,0.4,,0.75\n150,,0.25,\n');
    // A run resumed at step 100 keeps the rows up to 100 and appends its own.
    const b = new CSVLogger(dir);
    b.resume(100);
    b.logMetrics({ loss_step: 0.125 }, 150);
    b.save();
    assert.equal(readFileSync(join(dir, 'metrics.csv'), 'utf8'), 'step,loss_epoch,loss_step,val_accuracy\n50,,0.5,\n100,0.4,,0.75\n150,,0.125,\n');
    writeFileSync(join(dir, 'metrics.csv'), 'epoch,loss\n1,2\n');
    assert.throws(() => new CSVLogger(dir).resume(5), /cannot continue the log .*metrics\.csv: the first column is not 'step'/);
    const bad = new CSVLogger(dir);
    bad.logMetrics({ 'a,b': 1 }, 1);
    assert.throws(() => bad.save(), /contains a comma/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JSONLLogger writes one object per line and keeps NaN and infinities', () => {
  const dir = tempDir();
  try {
    const logger = new JSONLLogger(dir);
    logger.logMetrics({ loss: NaN, grad: Infinity, acc: 0.5 }, 3);
    logger.logHyperparams({ lr: 0.005, setting: 'robust' });
    logger.save();
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, [{ step: 3, loss: 'NaN', grad: 'Infinity', acc: 0.5 }]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'hparams.json'), 'utf8')), { lr: 0.005, setting: 'robust' });
    const resumed = new JSONLLogger(dir);
    resumed.resume(3);
    resumed.save();
    const again = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(again, lines);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TensorBoard event files: CRC-32C check value, framed records, scalar events read back', () => {
  // The standard CRC-32C check value (RFC 3720, appendix B.4).
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  const dir = tempDir();
  try {
    const logger = new TensorBoardLogger(dir);
    logger.logMetrics({ loss: 0.75, accuracy: 0.5 }, 10);
    logger.logMetrics({ val_vra: 0.25 }, 20);
    logger.finalize();
    const scalars = readTensorBoardScalars(dir);
    assert.deepEqual(scalars, [
      { step: 10, tag: 'loss', value: 0.75 }, { step: 10, tag: 'accuracy', value: 0.5 }, { step: 20, tag: 'val_vra', value: 0.25 },
    ]);
    const file = join(dir, logger.fileName);
    const bytes = readFileSync(file);
    assert.equal(readRecords(bytes).length, 3, 'file-version event and two scalar events');
    assert.match(Buffer.from(readRecords(bytes)[0]).toString('latin1'), /brain\.Event:2/);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 6] ^= 0xff;
    assert.throws(() => readRecords(corrupt), /bad data checksum/);
    assert.throws(() => readRecords(bytes.subarray(0, bytes.length - 2)), /truncated record/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress: a live bar on a terminal, periodic plain lines otherwise', () => {
  let text = '';
  const tty = new ProgressBar({ write: (t: string) => { text += t; }, isTTY: true, columns: 120 });
  tty.begin('epoch 1/3', 10);
  tty.update(5, { loss: 0.5 });
  tty.end();
  assert.match(text, /^\r\x1b\[Kepoch 1\/3 █+░+ 5\/10 [\d.]+ it\/s ETA [\d:-]+ · loss 0\.5000\n$/);
  text = '';
  const plain = new ProgressBar({ write: (t: string) => { text += t; }, isTTY: false }, 0);
  plain.begin('epoch 2/3', 4);
  plain.update(1, {});
  plain.update(2, { accuracy: 0.75 });
  plain.end();
  assert.equal(text.split('\n').filter(Boolean).length, 2);
  assert.doesNotMatch(text, /\r|\x1b/);
  assert.match(text, /epoch 2\/3 2\/4 .* · accuracy 0\.7500/);
});

test('the final metrics table and the training-curve plots', () => {
  const table = metricsTable('Validate metric', { val_loss: 0.25, val_accuracy: 0.875 });
  const lines = table.split('\n');
  assert.equal(lines.length, 6);
  assert.ok(lines.every((l) => [...l].length === [...lines[0]].length), 'a rectangular box');
  assert.match(lines[3], /│ val_accuracy +│ 0\.875 +│/);
  const history = [{ epoch: 1, loss: 1, accuracy: 0.5, vra: 0.1, val_loss: 0.9, val_accuracy: 0.6, val_vra: 0.2 }, { epoch: 2, loss: 0.5, accuracy: 0.7, vra: 0.3, val_loss: 0.6, val_accuracy: 0.7, val_vra: 0.35 }];
  const svg = trainingCurvesSvg(history);
  assert.equal((svg.match(/<path /g) ?? []).length, 6, 'train and validation curves of three panels');
  for (const title of ['Loss', 'Accuracy', 'Verified robust accuracy']) assert.ok(svg.includes(`>${title}</text>`), title);
  const dir = tempDir();
  try {
    const files = writeTrainingCurves(dir, history);
    assert.deepEqual([...readFileSync(files.png).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('name / version: Lightning\'s saveDir/name/version_N folders; a second logger does not overwrite the first', () => {
  const dir = tempDir();
  try {
    const first = new CSVLogger(dir, { name: 'exp' });
    assert.equal(first.dir, join(dir, 'exp', 'version_0'));
    assert.equal(first.logDir, first.dir);
    assert.equal(first.name, 'exp');
    assert.equal(first.version, 0);
    first.logMetrics({ loss: 1 }, 1);
    first.logHyperparams({ lr: 0.1 });
    first.save();
    const second = new CSVLogger(dir, { name: 'exp' });
    assert.equal(second.version, 1);
    second.logMetrics({ loss: 2 }, 1);
    second.save();
    assert.equal(readFileSync(join(dir, 'exp', 'version_0', 'metrics.csv'), 'utf8'), 'step,loss\n1,1\n');
    assert.equal(readFileSync(join(dir, 'exp', 'version_0', 'hparams.yaml'), 'utf8'), 'lr: 0.1\n');
    assert.equal(readFileSync(join(dir, 'exp', 'version_1', 'metrics.csv'), 'utf8'), 'step,loss\n1,2\n');
    // Gaps are not reused: the next is one past the highest.
    mkdirSync(join(dir, 'exp', 'version_7'));
    assert.equal(new JSONLLogger(dir, { name: 'exp' }).dir, join(dir, 'exp', 'version_8'));
    assert.equal(new TensorBoardLogger(dir, { name: '' }).dir, join(dir, 'version_0'));
    assert.equal(new CSVLogger(dir, { version: 3 }).dir, join(dir, 'version_3'));
    assert.equal(new CSVLogger(dir, { name: 'exp', version: 'final' }).dir, join(dir, 'exp', 'final'));
    // The default stays the bare folder.
    const bare = new CSVLogger(dir);
    assert.equal(bare.dir, dir);
    assert.equal(bare.version, null);
    assert.throws(() => new CSVLogger(dir, { version: -1 }), /CSVLogger: version must be an integer ≥ 0 or a non-empty string, got -1/);
    assert.throws(() => new JSONLLogger(dir, { name: 3 as unknown as string }), /JSONLLogger: name must be a string, got 3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
