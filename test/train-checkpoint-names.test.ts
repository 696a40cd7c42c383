// ModelCheckpoint as Lightning's: file name templates with Python format
// specs ({epoch:02d}, {val_loss:.2f}), autoInsertMetricName, '/' in metric
// names, everyNTrainSteps and saveWeightsOnly, checked by the files written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { LightningModule, ModelCheckpoint, Trainer, readCheckpoint } from '../src/train/index.js';
import type { OptimizerConfig, TrainerOptions } from '../src/train/index.js';
import { formatCheckpointName, formatNumber } from '../src/train/callbacks/checkpoint-name.js';
import { captureOutput, orderedData } from './helpers/tiny-training.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));
const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, logger: false, ...o });

class Small extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  override validationStep(batch: Batch): void {
    const loss = this.forward(batch.x).square().mean();
    this.log('val_loss', loss);
    this.log('val/acc', 0.5);
  }
  configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: 0.05 }) }; }
}

test('formatNumber follows Python\'s format specs', () => {
  const cases: [number, string, string][] = [
    [3, '02d', '03'], [12, '02d', '12'], [3, '03', '003'], [0.123456, '.2f', '0.12'], [0.125, '.1f', '0.1'], [1.5, '.3f', '1.500'],
    [-0.5, '.2f', '-0.50'], [-3, '04d', '-003'], [1234.5, '.2e', '1.23e+03'], [0.00012, '.3g', '0.00012'], [0.5, '.1%', '50.0%'],
    [3, '>4d', '   3'], [3, '*<4d', '3***'], [3, '+d', '+3'], [1234567, ',d', '1,234,567'], [2.5, '', '2.5'], [1e-7, 'g', '1e-07'], [123456789, '.3g', '1.23e+08'],
  ];
  for (const [value, spec, expected] of cases) assert.equal(formatNumber(value, spec, 'test'), expected, `${value}:${spec}`);
  assert.throws(() => formatNumber(1.5, '02d', 'ModelCheckpoint'), /ModelCheckpoint: format spec ':02d' needs an integer, got 1.5/);
  assert.throws(() => formatNumber(1, 'zz', 'ModelCheckpoint'), /ModelCheckpoint: unsupported format spec ':zz'/);
});

test('formatCheckpointName: Lightning\'s name=value insertion, \'/\' in names, and bare values', () => {
  const values = new Map([['epoch', 3], ['step', 40], ['val_loss', 0.1234], ['val/acc', 0.875]]);
  assert.equal(formatCheckpointName('{epoch:02d}-{val_loss:.2f}', values, true), 'epoch=03-val_loss=0.12');
  assert.equal(formatCheckpointName('{epoch}-{step}', values, true), 'epoch=3-step=40');
  assert.equal(formatCheckpointName('model-{val/acc:.3f}', values, true), 'model-val_acc=0.875');
  assert.equal(formatCheckpointName('e{epoch:03d}_{val_loss}', values, false), 'e003_0.1234');
  assert.throws(() => formatCheckpointName('{val_nope}', values, true), /ModelCheckpoint: the file name template uses '\{val_nope\}', which was not logged; available: epoch, step, val\/acc, val_loss/);
});

test('ModelCheckpoint writes files named by the template, and saveWeightsOnly files hold the model only', async () => {
  const dir = tempDir('ckpt-names');
  try {
    torch.manualSeed(0);
    const named = new ModelCheckpoint({ dirpath: join(dir, 'named'), filename: 'net-{epoch:02d}-{val_loss:.2f}-{val/acc:.1f}', monitor: 'val_loss', saveTopK: -1 });
    const bare = new ModelCheckpoint({ dirpath: join(dir, 'bare'), filename: '{epoch:03d}', autoInsertMetricName: false, saveWeightsOnly: true, saveLast: true });
    const trainer = new Trainer(quiet({ maxEpochs: 2, callbacks: [named, bare] }));
    await trainer.fit(new Small(), orderedData());
    trainer.dispose();
    const scores = [...named.bestK.values()];
    assert.equal(scores.length, 2);
    assert.deepEqual(readdirSync(join(dir, 'named')).sort(), scores.map((s, e) => `net-epoch=0${e}-val_loss=${s.toFixed(2)}-val_acc=0.5.ckpt`).sort());
    assert.deepEqual(readdirSync(join(dir, 'bare')).sort(), ['001.ckpt', 'last.ckpt']);
    const full = readCheckpoint(join(dir, 'named', readdirSync(join(dir, 'named'))[0]));
    assert.notEqual(full.training, null);
    for (const t of full.state.values()) t.dispose();
    const weights = readCheckpoint(join(dir, 'bare', '001.ckpt'));
    assert.equal(weights.training, null);
    assert.deepEqual([...weights.state.keys()].sort(), ['layer.bias', 'layer.weight']);
    assert.equal(weights.metadata.epoch, 1);
    for (const t of weights.state.values()) t.dispose();
    await assert.rejects(new Trainer(quiet({ maxEpochs: 3 })).fit(new Small(), orderedData(), { ckptPath: join(dir, 'bare', 'last.ckpt') }), /holds a model only \(no training state\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('everyNTrainSteps saves every N optimizer steps (not at epoch ends), and such a file resumes mid-epoch', async () => {
  const dir = tempDir('ckpt-steps');
  try {
    torch.manualSeed(0);
    const steps = new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 3, saveTopK: -1 });
    const trainer = new Trainer(quiet({ maxEpochs: 3, callbacks: [steps] }));
    await trainer.fit(new Small(), orderedData());
    trainer.dispose();
    assert.deepEqual(readdirSync(dir).sort(), ['epoch=1-step=3.ckpt', 'epoch=2-step=6.ckpt']);
    const mid = readCheckpoint(join(dir, 'epoch=1-step=3.ckpt'));
    assert.equal(Number(mid.training!.get('batch_in_epoch')), 1);
    for (const t of mid.state.values()) t.dispose();
    const resumed = new Trainer(quiet({ maxEpochs: 3 }));
    const r = await resumed.fit(new Small(), orderedData(), { ckptPath: join(dir, 'epoch=1-step=3.ckpt') });
    resumed.dispose();
    assert.equal(r.globalStep, 6);
    assert.throws(() => new ModelCheckpoint({ everyNTrainSteps: 2, everyNEpochs: 1 }), /everyNTrainSteps and everyNEpochs are mutually exclusive/);
    assert.throws(() => new ModelCheckpoint({ everyNTrainSteps: 1.5 }), /ModelCheckpoint: everyNTrainSteps must be an integer ≥ 0, got 1.5/);
    assert.throws(() => new ModelCheckpoint({ saveWeightsOnly: 'yes' as unknown as boolean }), /ModelCheckpoint: saveWeightsOnly must be a boolean/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
