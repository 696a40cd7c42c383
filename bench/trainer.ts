// The Trainer's own cost: images/s of fmnist-small training through
// Trainer.fit (metrics, logging, progress, scopes, event-loop yields) beside a
// minimal hand-written loop doing the same optimizer steps on the same
// batches, measured in the same run. `npm run bench:trainer`.
import { performance } from 'node:perf_hooks';
import { manualSeed, scope } from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { LossXent } from '../src/losses/index.js';
import { DatasetModule, openDataset } from '../src/data/index.js';
import { ClassificationModule, Trainer } from '../src/train/index.js';
import { machine, round } from './common.js';

const BATCH = 128;
const STEPS = Number(process.env.BENCH_STEPS ?? 30);

async function handLoop(data: DatasetModule): Promise<number> {
  manualSeed(0);
  const model = buildPreset('fmnist-small');
  const loss = new LossXent({ nClasses: 10, offset: 1, temperature: 0.125 });
  const optimizer = new AdamWScheduleFree(model.parameters(), { lr: 5e-3 });
  model.train();
  optimizer.train();
  const loader = data.trainDataloader();
  let steps = 0;
  let start = 0;
  for await (const batch of loader) {
    if (steps === 2) start = performance.now(); // the first steps build caches and warm allocators
    scope(() => {
      const value = loss.forward(model.forward(batch.x), batch.y);
      optimizer.zeroGrad();
      value.backward();
      optimizer.step();
    });
    batch.x.dispose();
    batch.y.dispose();
    if (++steps === STEPS + 2) break;
  }
  const seconds = (performance.now() - start) / 1000;
  await loader.close();
  optimizer.dispose();
  model.dispose();
  return (STEPS * BATCH) / seconds;
}

async function withTrainer(data: DatasetModule, warm: boolean): Promise<number> {
  manualSeed(0);
  const module = new ClassificationModule({ model: buildPreset('fmnist-small'), loss: new LossXent({ nClasses: 10, offset: 1, temperature: 0.125 }), lipschitz: 1 / 0.353 });
  const trainer = new Trainer({ maxEpochs: 1, limitTrainBatches: warm ? 2 : STEPS + 2, enableProgressBar: true, output: { write: () => true, isTTY: true }, handleSignals: false });
  const noVal = { trainDataloader: () => data.trainDataloader() };
  const start = performance.now();
  const r = await trainer.fit(module, noVal);
  const seconds = (performance.now() - start) / 1000;
  trainer.dispose();
  module.dispose();
  return (r.globalStep * BATCH) / seconds;
}

const data = new DatasetModule(openDataset('fashion-mnist'), { batchSize: BATCH });
const hand = await handLoop(data);
await withTrainer(data, true);
const trainer = await withTrainer(data, false);
console.log(JSON.stringify({
  machine: machine(),
  model: 'fmnist-small', batch: BATCH, steps: STEPS,
  handLoopImagesPerSecond: round(hand),
  trainerImagesPerSecond: round(trainer),
  trainerOverRatio: round(trainer / hand),
  note: 'the Trainer also computes accuracy and VRA per step, logs, and draws a progress bar; its timing includes 2 warm-up steps',
}, null, 2));
