// The training run that the data-parallel test does twice: with 2 ranks that
// each see half of every global batch (gradients averaged), and in one
// process on the whole batch. Plain loop (no Trainer): model, SGD, loader.
import * as torch from '../../src/torch/index.js';
import { F } from '../../src/torch/index.js';
import { DataLoader, Compose, ToTensor, Normalize } from '../../src/data/index.js';
import { SGD } from '../../src/optim/index.js';
import { ProcessGroup, broadcastParameters, GradientSynchronizer, DistributedDataParallel } from '../../src/distributed/index.js';
import { tinyDataset, tinyModel, TINY_MEAN, TINY_STD } from './tiny-training.js';

export const GLOBAL_BATCH = 32;
export const SAMPLES = 96;
export const EPOCHS = 2;

/**
 * How the ranks average gradients: 'synchronizer' all-reduces after backward
 * (GradientSynchronizer), 'ddp' during backward (DistributedDataParallel's reducer).
 */
export type Averaging = 'synchronizer' | 'ddp';

/** Trains on `device` and returns every parameter, flattened, in namedParameters order. */
export async function trainTiny(group: ProcessGroup | null, initSeed: number, averaging: Averaging = 'synchronizer',
  device = 'cpu'): Promise<Record<string, number[]>> {
  torch.manualSeed(initSeed);
  const model = tinyModel();
  model.to(device);
  const world = group?.worldSize ?? 1;
  const ddp = group && averaging === 'ddp' ? new DistributedDataParallel(model, { group, bucketCapMB: 0.001 }) : null;
  if (group && !ddp) broadcastParameters(model, 0, group);
  const loader = new DataLoader(tinyDataset(SAMPLES, 1), {
    batchSize: GLOBAL_BATCH / world, shuffle: true, seed: 5,
    transform: new Compose([new ToTensor(), new Normalize(TINY_MEAN, TINY_STD)]),
    shard: group ? { rank: group.rank, worldSize: world } : undefined,
  });
  const opt = new SGD(model.parameters(), { lr: 0.2, momentum: 0.9 });
  const sync = group && !ddp ? new GradientSynchronizer(model.parameters(), { bucketMB: 0.001, group }) : null;
  model.train();
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for await (const batch of loader) {
      const [x, y] = device === 'cpu' ? [batch.x, batch.y] : [batch.x.to(device), batch.y.to(device)];
      if (device !== 'cpu') { batch.x.dispose(); batch.y.dispose(); }
      torch.scope(() => {
        opt.zeroGrad();
        F.crossEntropy((ddp ?? model).forward(x), y).backward();
        sync?.sync();
        opt.step();
      });
      x.dispose();
      y.dispose();
    }
  }
  const out: Record<string, number[]> = {};
  for (const [name, p] of model.namedParameters()) out[name] = p.toFlatArray();
  opt.dispose();
  if (ddp) out.bucketCount = [ddp.bucketSizes.length];
  ddp?.destroy();
  return out;
}
