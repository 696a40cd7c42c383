// Data-parallel training of fmnist-small on Fashion-MNIST with 2 processes:
// `node dist/examples/ddp-fmnist.js [steps]` starts the ranks itself (each
// rank is this same file with RANK set), like `torchrun --nproc-per-node 2`.
import { fileURLToPath } from 'node:url';
import { scope, manualSeed } from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { LossXent } from '../src/losses/index.js';
import { DataLoader, FashionMnistDataModule } from '../src/data/index.js';
import { initProcessGroup, DistributedDataParallel, reduceMetrics, launch } from '../src/distributed/index.js';

const steps = Number(process.argv[2] ?? 50);
const globalBatch = 128;

if (process.env.RANK === undefined) {
  await launch({ nprocs: 2, script: fileURLToPath(import.meta.url), args: [String(steps)] });
} else {
  const group = initProcessGroup();             // RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT from launch()
  manualSeed(group.rank);                       // different on purpose: DDP starts every rank from rank 0's weights
  const model = new DistributedDataParallel(buildPreset('fmnist-small'));
  const loss = new LossXent({ nClasses: 10, offset: 1, temperature: 0.125 });
  const optimizer = new AdamWScheduleFree(model.parameters(), { lr: 5e-3 });
  const data = new FashionMnistDataModule();
  const loader = new DataLoader(data.dataset(true), {
    batchSize: globalBatch / group.worldSize, shuffle: true, transform: data.transform(),
    shard: { rank: group.rank, worldSize: group.worldSize },   // each rank its own part of every epoch
  });
  model.train();
  optimizer.train();
  let step = 0;
  for await (const { x, y } of loader) {
    const value = scope(() => {
      const l = loss.forward(model.forward(x), y);
      optimizer.zeroGrad();
      l.backward();                             // gradients averaged over the ranks, bucket by bucket, during backward
      optimizer.step();
      return l.item();
    });
    const n = x.shape[0];
    x.dispose();
    y.dispose();
    if (++step % 10 === 0 || step === steps) {
      const { loss: mean } = reduceMetrics({ loss: value }, n);   // weighted by samples seen
      if (group.rank === 0) console.log(`step ${step}: loss ${mean.toFixed(4)} (mean over ${group.worldSize} ranks)`);
    }
    if (step === steps) break;
  }
  await loader.close();
  optimizer.dispose();
  model.destroy();
  group.destroy();
}
