// One rank of the data-parallel Trainer test: fits the tiny problem with
// strategy 'ddp' and, on rank 0, writes the trained weights and the final
// metrics to the paths given. The launcher sets RANK / WORLD_SIZE; or, run
// plainly with DDP_DEVICES=N, the Trainer starts the other ranks itself.
// DDP_LR_FIND=1 adds a LearningRateFinder; every rank then prints its
// suggestion, its module's lr and a checksum of its trained weights.
// DDP_ACCUMULATE=N sets accumulateGradBatches and trains a plain linear classifier instead (linearModel()),
// whose result does not depend on how many forward passes it took.
// DDP_MANUAL=1 trains with manual optimization (zeroGrad, manualBackward, step in trainingStep).
import { writeFileSync } from 'node:fs';
import * as torch from '../../src/torch/index.js';
import { LossXent } from '../../src/losses/index.js';
import { SGD } from '../../src/optim/index.js';
import { ClassificationModule, LearningRateFinder, Trainer } from '../../src/train/index.js';
import type { Batch } from '../../src/data/index.js';
import { TINY_STD, linearModel, tinyData, tinyModel } from './tiny-training.js';

const [weightsPath, metricsPath, batch, interruptAt] = process.argv.slice(2);
const finder = process.env.DDP_LR_FIND ? new LearningRateFinder({ numTrainingSteps: 20, maxLr: 0.5 }) : null;
torch.manualSeed(Number(process.env.RANK ?? 0) + 100); // different initial weights per rank: rank 0's are broadcast
/** The same training step under manual optimization. */
class ManualClassification extends ClassificationModule {
  override automaticOptimization = false;
  override trainingStep(batch: Batch): torch.Tensor {
    const [opt] = this.optimizers();
    opt.zeroGrad();
    const loss = super.trainingStep(batch);
    this.manualBackward(loss);
    opt.step();
    return loss;
  }
}
const Module = process.env.DDP_MANUAL ? ManualClassification : ClassificationModule;
const module = new Module({
  model: process.env.DDP_ACCUMULATE ? linearModel() : tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05,
  lastLayer: process.env.DDP_ACCUMULATE ? 'global' : 'auto',
  optimizer: (parameters, lr) => ({ optimizer: new SGD(parameters, { lr: finder ? lr : 0.05, momentum: 0.9 }) }),
});
class Stop extends (await import('../../src/train/index.js')).Callback {
  override onTrainBatchEnd(trainer: Trainer): void {
    if (interruptAt && trainer.globalStep === Number(interruptAt) && trainer.globalRank === 1) trainer.interrupt();
  }
}
const trainer = new Trainer({ strategy: 'ddp', devices: Number(process.env.DDP_DEVICES ?? process.env.WORLD_SIZE), maxEpochs: 2, accumulateGradBatches: Number(process.env.DDP_ACCUMULATE ?? 1), enableProgressBar: false, callbacks: [new Stop(), ...(finder ? [finder] : [])] });
const result = await trainer.fit(module, tinyData({ batchSize: Number(batch) }));
if (trainer.globalRank === 0) {
  torch.save(module.model.stateDict(), weightsPath);
  writeFileSync(metricsPath, JSON.stringify(result));
}
if (finder) {
  const checksum = module.model.parameters().reduce((sum, p) => sum + p.toFlatArray().reduce((a, v) => a + v, 0), 0);
  console.log(`LRFIND ${JSON.stringify({ suggestion: finder.result!.suggestion, steps: finder.result!.lrs.length, lr: module.lr, checksum })}`);
}
