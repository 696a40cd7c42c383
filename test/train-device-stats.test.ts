// DeviceStatsMonitor: Lightning's keys (`DeviceStatsMonitor.<hook>/<stat>`)
// at each training batch's start and end and each validation / test batch's
// end, at the loggers' step, with plausible values; cpuStats: false and
// filterKeys; and a fit without a logger refused, as Lightning does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../src/torch/index.js';
import * as torch from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { DeviceStatsMonitor, LightningModule, Trainer } from '../src/train/index.js';
import type { DeviceStatsMonitorOptions, OptimizerConfig, TrainerOptions } from '../src/train/index.js';
import { captureOutput, orderedData } from './helpers/tiny-training.js';
import { MemoryLogger } from './helpers/memory-logger.js';

const quiet = (o: TrainerOptions = {}): TrainerOptions => ({ output: captureOutput(), enableProgressBar: false, enableModelSummary: false, numSanityValSteps: 0, accelerator: 'cpu', ...o });

class Net extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 3));
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).square().mean(); }
  override validationStep(batch: Batch): void { this.log('val_loss', this.forward(batch.x).square().mean()); }
  override testStep(batch: Batch): void { this.log('test_loss', this.forward(batch.x).square().mean()); }
  configureOptimizers(): OptimizerConfig { return { optimizer: new SGD(this.parameters(), { lr: 0.01 }) }; }
}

const PREFIX = 'DeviceStatsMonitor.';
const statRows = (logger: MemoryLogger, hook: string) => logger.rows.filter((r) => Object.keys(r.metrics).some((k) => k.startsWith(`${PREFIX}${hook}/`)));

async function fitWith(options: DeviceStatsMonitorOptions, trainerOptions: TrainerOptions = {}): Promise<{ logger: MemoryLogger; output: ReturnType<typeof captureOutput>; trainer: Trainer; module: Net }> {
  const logger = new MemoryLogger();
  const output = captureOutput();
  torch.manualSeed(0);
  const module = new Net();
  const trainer = new Trainer(quiet({ maxEpochs: 2, logger, output, logEveryNSteps: 1, callbacks: [new DeviceStatsMonitor(options)], ...trainerOptions }));
  await trainer.fit(module, orderedData());
  return { logger, output, trainer, module };
}

test("DeviceStatsMonitor logs Lightning's CPU statistics and the process's at each batch's start and end, at the loggers' step", async () => {
  const { logger, trainer, module } = await fitWith({});
  // orderedData: 2 training batches and 1 validation batch per epoch.
  const starts = statRows(logger, 'on_train_batch_start');
  const ends = statRows(logger, 'on_train_batch_end');
  assert.deepEqual(starts.map((r) => r.step), [0, 1, 2, 3], 'before each optimizer step');
  assert.deepEqual(ends.map((r) => r.step), [1, 2, 3, 4], 'after it');
  assert.equal(statRows(logger, 'on_validation_batch_end').length, 2, 'one validation batch per epoch');

  const row = ends[ends.length - 1].metrics;
  const stat = (name: string) => {
    const value = row[`${PREFIX}on_train_batch_end/${name}`];
    assert.equal(typeof value, 'number', `${name} logged`);
    assert.ok(Number.isFinite(value), `${name} finite`);
    return value;
  };
  for (const name of ['cpu_percent', 'cpu_vm_percent', 'cpu_swap_percent']) {
    const value = stat(name);
    assert.ok(value >= 0 && value <= 100, `${name} is a percentage: ${value}`);
  }
  assert.ok(stat('cpu_vm_percent') > 0, 'some memory is in use');
  assert.ok(stat('process_cpu_percent') >= 0);
  const rss = stat('process_rss_bytes');
  assert.ok(rss > 2 ** 20 && rss < 2 ** 40, `resident memory ${rss}`);
  assert.ok(stat('process_heap_used_bytes') > 0 && stat('process_heap_used_bytes') <= stat('process_heap_total_bytes'));
  assert.ok(stat('process_external_bytes') >= 0);
  assert.ok(stat('live_tensors') >= module.parameters().length, 'at least the parameters are alive');
  if (torch.cpuAllocatorStats().enabled) {
    assert.ok(stat('cpu_allocator.allocated_bytes.all.peak') >= stat('cpu_allocator.allocated_bytes.all.current'));
    assert.ok(stat('cpu_allocator.reserved_bytes.all.current') >= stat('cpu_allocator.allocated_bytes.all.current'));
    assert.ok(stat('cpu_allocator.reserved_bytes.all.peak') >= stat('cpu_allocator.reserved_bytes.all.current'));
    for (const name of ['cpu_allocator.segment.all.current', 'cpu_allocator.allocation.all.allocated', 'cpu_allocator.num_device_alloc']) assert.ok(stat(name) >= 0);
  }
  // Every key carries the prefix of its hook; the monitor's rows hold nothing else.
  for (const r of [...starts, ...ends]) assert.ok(Object.keys(r.metrics).every((k) => k.startsWith(PREFIX)));
  assert.deepEqual(Object.keys(starts[0].metrics).map((k) => k.split('/')[1]), Object.keys(row).map((k) => k.split('/')[1]), 'the same statistics at start and end');

  // Trainer.test: the test batches' end too.
  await trainer.test(module, orderedData());
  assert.equal(statRows(logger, 'on_test_batch_end').length, 1);
  trainer.dispose();
  module.dispose();
});

test('DeviceStatsMonitor samples training batches every logEveryNSteps, as Lightning (trainer.shouldUpdateLogs)', async () => {
  const { logger, trainer, module } = await fitWith({}, { logEveryNSteps: 2 });
  assert.deepEqual(statRows(logger, 'on_train_batch_start').map((r) => r.step), [1, 3], 'the 2nd and 4th batches');
  assert.deepEqual(statRows(logger, 'on_train_batch_end').map((r) => r.step), [2, 4]);
  trainer.dispose();
  module.dispose();
});

test('DeviceStatsMonitor: cpuStats false logs nothing on CPU; filterKeys keeps only those (unknown ones warned about)', async () => {
  const off = await fitWith({ cpuStats: false });
  assert.equal(off.logger.rows.filter((r) => Object.keys(r.metrics).some((k) => k.startsWith(PREFIX))).length, 0);

  const some = await fitWith({ filterKeys: ['cpu_percent', 'process_rss_bytes', 'gpu_magic'] });
  const ends = statRows(some.logger, 'on_train_batch_end');
  assert.equal(ends.length, 4);
  for (const r of ends) assert.deepEqual(Object.keys(r.metrics).sort(), [`${PREFIX}on_train_batch_end/cpu_percent`, `${PREFIX}on_train_batch_end/process_rss_bytes`]);
  assert.match(some.output.text(), /warning: DeviceStatsMonitor: filterKeys names statistics that are not collected and will be ignored: gpu_magic/);
  for (const run of [off, some]) {
    run.trainer.dispose();
    run.module.dispose();
  }
});

test('DeviceStatsMonitor refuses a fit without a logger, and bad options', async () => {
  await assert.rejects(new Trainer(quiet({ maxEpochs: 1, logger: false, callbacks: [new DeviceStatsMonitor()] })).fit(new Net(), orderedData()),
    /DeviceStatsMonitor: cannot be used with a Trainer without a logger/);
  // Evaluation alone needs no logger check (Lightning checks only when fitting).
  const module = new Net();
  await new Trainer(quiet({ logger: false, callbacks: [new DeviceStatsMonitor()] })).validate(module, orderedData());
  assert.throws(() => new DeviceStatsMonitor({ cpuStats: 'yes' as unknown as boolean }), /cpuStats must be a boolean or null, got "yes"/);
  assert.throws(() => new DeviceStatsMonitor({ filterKeys: 'cpu_percent' as unknown as string[] }), /filterKeys must be an iterable of statistic names/);
  assert.throws(() => new DeviceStatsMonitor({ filterKeys: [1 as unknown as string] }), /filterKeys must be an iterable of statistic names/);
  module.dispose();
});
