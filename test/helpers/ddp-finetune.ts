// One rank of the BackboneFinetuning-under-DDP test: a frozen backbone is
// unfrozen at epoch 1; every rank prints `WEIGHTS <json>` (its weights at the
// end, and the backbone's at the start of epoch 1 and at the end).
import * as torch from '../../src/torch/index.js';
import { Tensor } from '../../src/torch/index.js';
import { Linear, Sequential, Tanh } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import type { Batch } from '../../src/data/index.js';
import { BackboneFinetuning, LightningModule, Trainer } from '../../src/train/index.js';
import type { ConfigureOptimizersResult } from '../../src/train/index.js';
import { tinyData } from './tiny-training.js';

class BackboneNet extends LightningModule {
  readonly backbone = this.registerModule('backbone', new Sequential(new Linear(64, 8), new Tanh()));
  readonly head = this.registerModule('head', new Linear(8, 1));
  forward(x: Tensor): Tensor { return this.head.forward(this.backbone.forward(x.flatten(1)) as Tensor); }
  trainingStep(batch: Batch): Tensor { return this.forward(batch.x).sub(batch.y.to(batch.x.dtype).unsqueeze(1)).square().mean(); }
  configureOptimizers(): ConfigureOptimizersResult { return new SGD(this.parameters().filter((p) => p.requiresGrad), { lr: 0.05, momentum: 0.9 }); }
}

torch.manualSeed(Number(process.env.RANK ?? 0) + 300); // different initial weights per rank: rank 0's are broadcast
const module = new BackboneNet();
let backboneAtEpoch1: number[] = [];
const trainer = new Trainer({
  strategy: 'ddp', devices: Number(process.env.WORLD_SIZE), maxEpochs: 3, enableProgressBar: false, enableModelSummary: false, numSanityValSteps: 0,
  callbacks: [new BackboneFinetuning({ unfreezeBackboneAtEpoch: 1, backboneInitialRatioLr: 1 }), new (class extends (await import('../../src/train/index.js')).Callback {
    override onTrainEpochStart(t: Trainer): void { if (t.currentEpoch === 1) backboneAtEpoch1 = module.backbone.parameters()[0].toFlatArray(); }
  })()],
});
await trainer.fit(module, tinyData({ batchSize: 16 }));
const weights = Object.fromEntries([...module.stateDict()].map(([k, t]) => [k, t.toFlatArray()]));
console.log(`WEIGHTS ${JSON.stringify({ weights, backboneAtEpoch1 })}`);
