// One rank of the data-parallel Trainer test: fits the tiny problem with
// strategy 'ddp' and, on rank 0, writes the trained weights and the final
// metrics to the paths given. The launcher sets RANK / WORLD_SIZE; or, run
// plainly with DDP_DEVICES=N, the Trainer starts the other ranks itself.
import { writeFileSync } from 'node:fs';
import * as torch from '../../src/torch/index.js';
import { LossXent } from '../../src/losses/index.js';
import { SGD } from '../../src/optim/index.js';
import { ClassificationModule, Trainer } from '../../src/train/index.js';
import { TINY_STD, tinyData, tinyModel } from './tiny-training.js';

const [weightsPath, metricsPath, batch, interruptAt] = process.argv.slice(2);
torch.manualSeed(Number(process.env.RANK ?? 0) + 100); // different initial weights per rank: rank 0's are broadcast
const module = new ClassificationModule({
  model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05,
  optimizer: (parameters) => ({ optimizer: new SGD(parameters, { lr: 0.05, momentum: 0.9 }) }),
});
class Stop extends (await import('../../src/train/index.js')).Callback {
  override onTrainBatchEnd(trainer: Trainer): void {
    if (interruptAt && trainer.globalStep === Number(interruptAt) && trainer.globalRank === 1) trainer.interrupt();
  }
}
const trainer = new Trainer({ strategy: 'ddp', devices: Number(process.env.DDP_DEVICES ?? process.env.WORLD_SIZE), maxEpochs: 2, enableProgressBar: false, callbacks: [new Stop()] });
const result = await trainer.fit(module, tinyData({ batchSize: Number(batch) }));
if (trainer.globalRank === 0) {
  torch.save(module.model.stateDict(), weightsPath);
  writeFileSync(metricsPath, JSON.stringify(result));
}
