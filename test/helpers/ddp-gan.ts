// One rank of the manual-optimization DDP test: two networks with BatchNorm,
// each with its optimizer, two backward passes per step (a GAN's pattern,
// the second network's loss reading the first, toggled off). Every rank
// prints `WEIGHTS <json>`: its trained weights and BatchNorm statistics, and
// what LightningModule.allGather collects from both ranks.
import * as torch from '../../src/torch/index.js';
import { Tensor } from '../../src/torch/index.js';
import { BatchNorm1d, Linear, Sequential } from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import type { Batch } from '../../src/data/index.js';
import { LightningModule, Trainer } from '../../src/train/index.js';
import type { ConfigureOptimizersResult } from '../../src/train/index.js';
import { tinyData } from './tiny-training.js';

const head = () => new Sequential(new Linear(64, 8), new BatchNorm1d(8), new Linear(8, 1));
const mse = (out: Tensor, y: Tensor): Tensor => out.sub(y.to(out.dtype).unsqueeze(1)).square().mean();

class TwoNetworks extends LightningModule {
  readonly a = this.registerModule('a', head());
  readonly b = this.registerModule('b', head());
  override automaticOptimization = false;
  forward(x: Tensor): Tensor { return this.a.forward(x.flatten(1)); }
  trainingStep(batch: Batch): Tensor {
    const [optA, optB] = this.optimizers();
    const x = batch.x.flatten(1);
    optA.zeroGrad();
    const lossA = mse(this.a.forward(x), batch.y);
    this.manualBackward(lossA);
    optA.step();
    this.toggleOptimizer(optB);
    optB.zeroGrad();
    const lossB = mse(this.b.forward(x).add(this.a.forward(x)), batch.y);
    this.manualBackward(lossB);
    optB.step();
    this.untoggleOptimizer(optB);
    return lossA;
  }
  configureOptimizers(): ConfigureOptimizersResult {
    return [new SGD(this.a.parameters(), { lr: 0.05, momentum: 0.9 }), new Adam(this.b.parameters(), { lr: 0.01 })];
  }
}

torch.manualSeed(Number(process.env.RANK ?? 0) + 200); // different initial weights per rank: rank 0's are broadcast
const module = new TwoNetworks();
// Each backward reaches one network's parameters only: the reducer must look for the unused ones.
const trainer = new Trainer({ strategy: 'ddp', devices: Number(process.env.WORLD_SIZE), maxEpochs: 2, enableProgressBar: false, enableModelSummary: false,
  ddp: { findUnusedParameters: true } });
const result = await trainer.fit(module, tinyData({ batchSize: 16 }));
const weights = Object.fromEntries([...module.stateDict()].map(([k, t]) => [k, t.toFlatArray()]));
const gathered = module.allGather(torch.tensor([module.globalRank, 10 + module.globalRank])).toArray();
console.log(`WEIGHTS ${JSON.stringify({ globalStep: result.globalStep, weights, gathered })}`);
