// Data parallel on one machine: the same number of fmnist-small training
// steps at the same global batch, run as 2 processes × 1 thread (c10d gloo,
// each rank half of every batch) with the gradients averaged during backward
// (DistributedDataParallel: c10d's Reducer) and after it (GradientSynchronizer),
// and as 1 process × 2 threads (and, for reference, 1 process × 1 thread). Runs alternate (A B C A B C …) so that load from elsewhere hits both;
// the best run of each is reported. `npm run bench:ddp`.
// The same file is the per-rank worker when started by launch() (RANK set).
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { manualSeed, scope, getNumThreads } from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { LossXent } from '../src/losses/index.js';
import { DataLoader, FashionMnistDataModule } from '../src/data/index.js';
import { initProcessGroup, broadcastParameters, DistributedDataParallel, GradientSynchronizer, launch, reduceMetrics } from '../src/distributed/index.js';
import { machine, round } from './common.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 128);
const STEPS = Number(process.env.BENCH_STEPS ?? 20);
const WARMUP = 2;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
// fmnist-small's gradients (under 1 MiB) fit PyTorch's default first bucket: one all-reduce at the end of
// backward, nothing to overlap. 16 KiB buckets split them into several.
const SMALL_BUCKET_MB = 1 / 64;

async function worker(): Promise<void> {
  const group = initProcessGroup({ timeoutMs: 300000 });
  const world = group.worldSize;
  manualSeed(0);
  const model = buildPreset('fmnist-small');
  const duringBackward = process.env.BENCH_AVERAGING === 'ddp';
  const bucketCapMB = process.env.BENCH_BUCKET_MB ? Number(process.env.BENCH_BUCKET_MB) : undefined;
  const ddp = duringBackward ? new DistributedDataParallel(model, { group, bucketCapMB }) : null;
  if (!ddp) broadcastParameters(model, 0, group);
  const loss = new LossXent({ nClasses: 10, offset: 1, temperature: 0.125 });
  const optimizer = new AdamWScheduleFree(model.parameters(), { lr: 5e-3 });
  const sync = ddp ? null : new GradientSynchronizer(model.parameters(), { group });
  model.train();
  optimizer.train();
  const data = new FashionMnistDataModule();
  const loader = new DataLoader(data.dataset(true), {
    batchSize: BATCH / world, shuffle: true, transform: data.transform(), shard: { rank: group.rank, worldSize: world },
  });
  let steps = 0;
  let start = 0;
  let syncSeconds = 0;
  for await (const batch of loader) {
    if (steps === WARMUP) {
      group.barrier();
      start = performance.now();
    }
    scope(() => {
      const value = loss.forward((ddp ?? model).forward(batch.x), batch.y);
      optimizer.zeroGrad();
      value.backward();
      const s = performance.now();
      sync?.sync();
      if (steps >= WARMUP) syncSeconds += (performance.now() - s) / 1000;
      optimizer.step();
    });
    batch.x.dispose();
    batch.y.dispose();
    if (++steps === STEPS + WARMUP) break;
  }
  group.barrier();
  const seconds = (performance.now() - start) / 1000;
  const mean = reduceMetrics({ syncSeconds }, 1, group);
  const buckets = ddp ? ddp.bucketSizes.length : sync!.lastBuckets;
  if (group.rank === 0) console.log(`RESULT ${JSON.stringify({ seconds, syncSeconds: mean.syncSeconds, threads: getNumThreads(), buckets })}`);
  ddp?.destroy();
  await loader.close();
  optimizer.dispose();
  group.destroy();
}

async function run(nprocs: number, threads: number, averaging: 'ddp' | 'after-backward' = 'ddp', bucketMB?: number): Promise<{ seconds: number; syncSeconds: number; threads: number; buckets: number }> {
  let text = '';
  const sink = { write: (t: string) => { text += t; } };
  const env = { BENCH_AVERAGING: averaging, ...(bucketMB === undefined ? {} : { BENCH_BUCKET_MB: String(bucketMB) }) };
  await launch({ nprocs, script: fileURLToPath(import.meta.url), threadsPerProcess: threads, stdout: sink, stderr: sink, env });
  const m = /\[rank 0\] RESULT (.*)$/m.exec(text);
  if (!m) throw new Error(`bench:ddp: no result from the ranks; their output:\n${text}`);
  return JSON.parse(m[1]);
}

if (process.env.RANK !== undefined) {
  await worker();
} else {
  const loadBefore = loadavg()[0];
  const single: number[] = [];
  const oneThread: number[] = [];
  const ddp: number[] = [];
  const afterBackward: number[] = [];
  const smallBuckets: number[] = [];
  let smallBucketCount = 0;
  let syncShare = 0;
  let buckets = 0;
  let ddpBuckets = 0;
  const threads = { single: 0, ddp: 0 };
  for (let r = 0; r < REPEATS; r++) {
    const s = await run(1, 2);
    single.push(s.seconds);
    threads.single = s.threads;
    const d = await run(2, 1);
    threads.ddp = d.threads;
    ddp.push(d.seconds);
    ddpBuckets = d.buckets;
    oneThread.push((await run(1, 1)).seconds);
    const small = await run(2, 1, 'ddp', SMALL_BUCKET_MB);
    smallBuckets.push(small.seconds);
    smallBucketCount = small.buckets;
    const a = await run(2, 1, 'after-backward');
    afterBackward.push(a.seconds);
    syncShare = a.syncSeconds / a.seconds;
    buckets = a.buckets;
  }
  const best = (xs: number[]) => Math.min(...xs);
  const singleIps = (STEPS * BATCH) / best(single);
  const ddpIps = (STEPS * BATCH) / best(ddp);
  console.log(JSON.stringify({
    machine: machine(),
    model: 'fmnist-small', globalBatch: BATCH, steps: STEPS, repeats: REPEATS,
    oneProcessTwoThreads: { threadsPerProcess: threads.single, imagesPerSecond: round(singleIps), secondsPerRun: single.map((s) => round(s)) },
    twoProcessesOneThread: { threadsPerProcess: threads.ddp, averaging: 'DistributedDataParallel (all-reduce during backward)', imagesPerSecond: round(ddpIps), secondsPerRun: ddp.map((s) => round(s)), buckets: ddpBuckets },
    twoProcessesOneThreadSmallBuckets: { averaging: `DistributedDataParallel, ${SMALL_BUCKET_MB} MiB buckets (several all-reduces overlap backward)`, imagesPerSecond: round((STEPS * BATCH) / best(smallBuckets)), secondsPerRun: smallBuckets.map((s) => round(s)), buckets: smallBucketCount },
    twoProcessesOneThreadAfterBackward: { averaging: 'GradientSynchronizer (all-reduce after backward)', imagesPerSecond: round((STEPS * BATCH) / best(afterBackward)), secondsPerRun: afterBackward.map((s) => round(s)), gradientSyncShareOfTime: round(syncShare), buckets },
    ddpOverSingleRatio: round(ddpIps / singleIps),
    duringOverAfterBackwardRatio: round(best(afterBackward) / best(ddp)),
    reference: { oneProcessOneThread: { imagesPerSecond: round((STEPS * BATCH) / best(oneThread)), secondsPerRun: oneThread.map((s) => round(s)) } },
    loadAverage1min: { before: round(loadBefore), after: round(loadavg()[0]) },
    note: 'best of the alternated runs; each run times STEPS steps after 2 warm-up steps; fashion-mnist from /usr/share/datasets. ' +
      'On a machine shared with other work (load average above the core count), one process with 2 OpenMP threads suffers most: its threads wait for each other at every parallel region.',
  }, null, 2));
}
