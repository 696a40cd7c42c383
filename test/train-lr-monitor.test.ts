// LearningRateMonitor's logMomentum / logWeightDecay: Lightning's keys
// (lr-<Optimizer>-momentum, lr-<Optimizer>-weight_decay, /pg<i> per group),
// momentum or beta1, and 0 with a warning for optimizers with neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { Adagrad, AdamW, SGD } from '../src/optim/index.js';
import type { Optimizer } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { LearningRateMonitor, LightningModule, Trainer } from '../src/train/index.js';
import type { OptimizerConfig } from '../src/train/index.js';
import { captureOutput, tinyData } from './helpers/tiny-training.js';
import { MemoryLogger } from './helpers/memory-logger.js';

class Two extends LightningModule {
  readonly a = this.registerModule('a', new Linear(64, 3));
  readonly b = this.registerModule('b', new Linear(3, 3));
  constructor(private readonly make: (m: Two) => Optimizer) { super(); }
  forward(x: Tensor): Tensor { return this.b.forward(this.a.forward(x.flatten(1))); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  configureOptimizers(): OptimizerConfig { return { optimizer: this.make(this) }; }
}

async function monitor(make: (m: Two) => Optimizer, options: ConstructorParameters<typeof LearningRateMonitor>[0]) {
  torch.manualSeed(0);
  const logger = new MemoryLogger();
  const output = captureOutput();
  const trainer = new Trainer({ output, enableProgressBar: false, enableModelSummary: false, accelerator: 'cpu', maxEpochs: 1, logger, callbacks: [new LearningRateMonitor(options)] });
  await trainer.fit(new Two(make), tinyData({ train: 64, val: 16, batchSize: 32 }));
  const keys = (prefix: string) => logger.metricRows.filter((r) => Object.keys(r).some((k) => k.startsWith(prefix)));
  return { rows: keys('lr-'), text: output.text() };
}

test('logMomentum and logWeightDecay per group, with Lightning key names', async () => {
  const { rows } = await monitor((m) => new SGD([
    { params: m.a.parameters(), momentum: 0.9, weightDecay: 1e-4 },
    { params: m.b.parameters(), lr: 0.01, momentum: 0.5 },
  ], { lr: 0.1, momentum: 0.8 }), { loggingInterval: 'step', logMomentum: true, logWeightDecay: true });
  assert.equal(rows.length, 2); // one row per step
  const lrKeys = Object.fromEntries(Object.entries(rows[0]).filter(([k]) => k.startsWith('lr-')));
  assert.deepEqual(lrKeys, {
    'lr-SGD/pg1': 0.1, 'lr-SGD-momentum/pg1': 0.9, 'lr-SGD-weight_decay/pg1': 1e-4,
    'lr-SGD/pg2': 0.01, 'lr-SGD-momentum/pg2': 0.5, 'lr-SGD-weight_decay/pg2': 0,
  });
});

test('logMomentum logs beta1 for Adam-like optimizers; off by default', async () => {
  const on = await monitor((m) => new AdamW(m.parameters(), { lr: 0.001, betas: [0.8, 0.99], weightDecay: 0.05 }), { logMomentum: true, logWeightDecay: true });
  assert.equal(on.rows.length, 1); // per epoch
  assert.equal(on.rows[0]['lr-AdamW'], 0.001);
  assert.equal(on.rows[0]['lr-AdamW-momentum'], 0.8);
  assert.equal(on.rows[0]['lr-AdamW-weight_decay'], 0.05);
  const off = await monitor((m) => new AdamW(m.parameters(), { lr: 0.001 }), {});
  assert.deepEqual(Object.keys(off.rows[0]).filter((k) => k.startsWith('lr-')), ['lr-AdamW']);
});

test('logMomentum with an optimizer without momentum logs 0 and warns once', async () => {
  const { rows, text } = await monitor((m) => new Adagrad(m.parameters(), { lr: 0.01 }), { loggingInterval: 'step', logMomentum: true });
  assert.deepEqual(rows.map((r) => r['lr-Adagrad-momentum']), [0, 0]);
  assert.equal(text.match(/LearningRateMonitor: logMomentum is set but Adagrad has no momentum or betas/g)?.length, 1);
});

test('LearningRateMonitor rejects non-boolean flags, naming them', () => {
  assert.throws(() => new LearningRateMonitor({ logMomentum: 1 as unknown as boolean }), /LearningRateMonitor: logMomentum must be a boolean/);
  assert.throws(() => new LearningRateMonitor({ logWeightDecay: 'yes' as unknown as boolean }), /LearningRateMonitor: logWeightDecay must be a boolean/);
});
