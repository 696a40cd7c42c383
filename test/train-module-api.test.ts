// What Lightning's LightningModule knows of its run: trainer, currentEpoch,
// globalStep, device, print, logDict, allGather, freeze / unfreeze.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import type { Batch } from '../src/data/index.js';
import { LightningModule, Trainer } from '../src/train/index.js';
import type { ConfigureOptimizersResult } from '../src/train/index.js';
import { captureOutput, orderedData } from './helpers/tiny-training.js';
import { MemoryLogger } from './helpers/memory-logger.js';

class Probe extends LightningModule {
  readonly layer = this.registerModule('layer', new Linear(64, 1));
  seen: string[] = [];
  forward(x: Tensor): Tensor { return this.layer.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor {
    this.seen.push(`epoch ${this.currentEpoch} step ${this.globalStep} on ${this.device}`);
    const loss = this.forward(batch.x).sub(batch.y.to(batch.x.dtype).unsqueeze(1)).square().mean();
    this.logDict({ a: 1, b: loss }, { onEpoch: true, onStep: false });
    return loss;
  }
  override validationStep(batch: Batch): void {
    this.print('validating with', this.trainer === null ? 'no trainer' : 'the trainer');
    this.log('val_x', batch.x.mean());
  }
  configureOptimizers(): ConfigureOptimizersResult { return new SGD(this.parameters(), { lr: 0.01 }); }
}

test('inside the loop the module sees its trainer, epoch, global step and device; logDict logs each value; print goes to the trainer', async () => {
  torch.manualSeed(0);
  const module = new Probe();
  assert.equal(module.trainer, null);
  assert.equal(module.currentEpoch, 0);
  const output = captureOutput();
  const logger = new MemoryLogger();
  const trainer = new Trainer({ maxEpochs: 2, output, logger, enableProgressBar: false, enableModelSummary: false, numSanityValSteps: 0, accelerator: 'cpu' });
  const r = await trainer.fit(module, orderedData());
  assert.equal(module.trainer, trainer);
  assert.deepEqual(module.seen, ['epoch 0 step 0 on cpu', 'epoch 0 step 1 on cpu', 'epoch 1 step 2 on cpu', 'epoch 1 step 3 on cpu']);
  assert.equal(r.metrics.a, 1);
  assert.ok(Number.isFinite(r.metrics.b));
  assert.equal(logger.metricRows.filter((row) => 'a' in row && 'b' in row).length, 2, 'both values in each epoch row');
  assert.equal(output.text().match(/validating with the trainer/g)?.length, 2);
  assert.equal(module.globalStep, 4);
  assert.throws(() => module.logDict(null as never), /logDict: expected an object/);
  trainer.dispose();
});

test('allGather in one process gives the tensor back unchanged (Lightning adds no dimension); freeze / unfreeze', () => {
  const module = new Probe();
  const t = torch.tensor([1, 2, 3]);
  assert.equal(module.allGather(t), t);
  module.freeze();
  assert.equal(module.training, false);
  assert.ok(module.parameters().every((p) => !p.requiresGrad));
  module.unfreeze();
  assert.equal(module.training, true);
  assert.ok(module.parameters().every((p) => p.requiresGrad));
  assert.throws(() => module.allGather([1] as never), /allGather: expected a Tensor/);
});

test('fit takes loaders (train, val) as Lightning does, or the loaders the module defines; loaders passed in stay usable', async () => {
  const quiet = { enableProgressBar: false, enableModelSummary: false, numSanityValSteps: 0, accelerator: 'cpu' as const, logger: false as const };
  torch.manualSeed(3);
  const viaModule = new Probe();
  await new Trainer({ ...quiet, maxEpochs: 2, output: captureOutput() }).fit(viaModule, orderedData());

  torch.manualSeed(3);
  const viaLoaders = new Probe();
  const data = orderedData();
  const train = data.trainDataloader();
  const val = data.valDataloader!()!;
  const trainer = new Trainer({ ...quiet, maxEpochs: 2, output: captureOutput() });
  const r = await trainer.fit(viaLoaders, train, val);
  const reference = viaModule.stateDict();
  for (const [k, t] of viaLoaders.stateDict()) assert.ok(t.equal(reference.get(k)!), `${k}: the same training as with the data module`);
  assert.ok(Number.isFinite(r.metrics.val_x), 'the validation loader ran');
  const again = await trainer.validate(viaLoaders, val);
  assert.ok(Math.abs(again.val_x - r.metrics.val_x) < 1e-6, 'the loader passed in was not closed');

  class SelfFed extends Probe {
    override trainDataloader() { return orderedData().trainDataloader(); }
    override valDataloader() { return orderedData().valDataloader!(); }
  }
  torch.manualSeed(3);
  const selfFed = new SelfFed();
  const own = await new Trainer({ ...quiet, maxEpochs: 2, output: captureOutput() }).fit(selfFed);
  assert.equal(own.globalStep, 4);
  assert.ok(Number.isFinite(own.metrics.val_x));
  for (const [k, t] of selfFed.stateDict()) assert.ok(t.equal(reference.get(k)!), `${k}: the module's own loaders train the same`);

  await assert.rejects(new Trainer(quiet).fit(new Probe()), /no data: pass a data module or loaders, or define trainDataloader\(\)/);
  await assert.rejects(new Trainer(quiet).fit(new Probe(), 42 as never), /expected a data module \(with trainDataloader\(\)\) or a training loader/);
});
