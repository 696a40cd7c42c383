// saveHyperparameters / hparams: kept in checkpoints' metadata
// (hyper_parameters, as Lightning's checkpoint key) and given to the loggers
// at fit start: CSVLogger and TensorBoardLogger write hparams.yaml, JSONLLogger hparams.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { CSVLogger, JSONLLogger, LightningModule, ModelCheckpoint, TensorBoardLogger, Trainer, readCheckpoint } from '../src/train/index.js';
import type { OptimizerConfig } from '../src/train/index.js';
import { toYaml } from '../src/train/loggers/yaml.js';
import { captureOutput, tinyData } from './helpers/tiny-training.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `ortho-${name}-`));

class WithHparams extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  constructor(readonly lr: number, width: number) {
    super();
    this.saveHyperparameters({ lr, width, name: 'linear net', optimizer: { type: 'SGD', momentum: 0 }, milestones: [3, 6], flag: true, none: null });
  }
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: this.lr }) }; }
}

const EXPECTED = { lr: 0.05, width: 64, name: 'linear net', optimizer: { type: 'SGD', momentum: 0 }, milestones: [3, 6], flag: true, none: null };

test('saveHyperparameters: hparams go to the checkpoint metadata and to every logger at fit start', async () => {
  const dir = tempDir('hparams');
  try {
    torch.manualSeed(0);
    const module = new WithHparams(0.05, 64);
    assert.deepEqual(module.hparams, EXPECTED);
    const loggers = [new CSVLogger(join(dir, 'csv')), new JSONLLogger(join(dir, 'jsonl')), new TensorBoardLogger(join(dir, 'tb'))];
    const trainer = new Trainer({ maxEpochs: 1, limitTrainBatches: 2, defaultRootDir: dir, logger: loggers, callbacks: [new ModelCheckpoint({ saveLast: true })],
      output: captureOutput(), enableProgressBar: false, enableModelSummary: false });
    await trainer.fit(module, tinyData());
    trainer.dispose();
    const yaml = [
      'lr: 0.05', 'width: 64', 'name: linear net', 'optimizer:', '  type: SGD', '  momentum: 0', 'milestones:', '  - 3', '  - 6', 'flag: true', 'none: null', '',
    ].join('\n');
    assert.equal(readFileSync(join(dir, 'csv', 'hparams.yaml'), 'utf8'), yaml);
    assert.equal(readFileSync(join(dir, 'tb', 'hparams.yaml'), 'utf8'), yaml);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'jsonl', 'hparams.json'), 'utf8')), EXPECTED);
    const { metadata, state, training } = readCheckpoint(join(dir, 'checkpoints', 'last.ckpt'));
    for (const t of state.values()) t.dispose();
    void training;
    assert.deepEqual(metadata.hyper_parameters, EXPECTED);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no hparams: nothing is written for them and the metadata has no hyper_parameters', async () => {
  const dir = tempDir('hparams-none');
  try {
    class Plain extends WithHparams { constructor() { super(0.05, 64); this.hparams = {}; } }
    const trainer = new Trainer({ maxEpochs: 1, limitTrainBatches: 1, defaultRootDir: dir, logger: new CSVLogger(dir), callbacks: [new ModelCheckpoint({ saveLast: true })],
      output: captureOutput(), enableProgressBar: false, enableModelSummary: false });
    await trainer.fit(new Plain(), tinyData());
    trainer.dispose();
    assert.equal(existsSync(join(dir, 'hparams.yaml')), false);
    const { metadata, state } = readCheckpoint(join(dir, 'checkpoints', 'last.ckpt'));
    for (const t of state.values()) t.dispose();
    assert.equal('hyper_parameters' in metadata, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saveHyperparameters refuses values JSON cannot hold, naming them', () => {
  const module = new WithHparams(0.05, 64);
  assert.throws(() => module.saveHyperparameters({ fn: () => 1 }), /saveHyperparameters: 'fn' is .* which JSON cannot hold/);
  assert.throws(() => module.saveHyperparameters({ lr: NaN }), /saveHyperparameters: 'lr' is NaN/);
  assert.throws(() => module.saveHyperparameters({ big: 1n }), /saveHyperparameters: the values must be JSON-able/);
  assert.throws(() => module.saveHyperparameters([1] as unknown as Record<string, unknown>), /expected an object/);
  module.saveHyperparameters({ width: 32 });
  assert.equal(module.hparams.width, 32);
  assert.equal(module.hparams.lr, 0.05);
});

test('toYaml quotes strings YAML would misread', () => {
  assert.equal(toYaml({ a: 'yes', b: '0.1', c: 'x: y', d: '', e: [], f: {}, g: [{ k: 1, l: 'm' }], h: Infinity }),
    'a: "yes"\nb: "0.1"\nc: "x: y"\nd: ""\ne: []\nf: {}\ng:\n  - k: 1\n    l: m\nh: .inf\n');
  assert.equal(toYaml({}), '{}\n');
});
