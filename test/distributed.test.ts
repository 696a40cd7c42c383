// Multi-process data parallel on c10d: real processes on 127.0.0.1, each test
// on its own free port. Worker code: test/helpers/ddp-worker.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { arrayImageDataset } from '../src/data/images.js';
import { DataLoader } from '../src/data/loader.js';
import { freePort, initProcessGroup, launch, LaunchError } from '../src/distributed/index.js';
import * as torch from '../src/torch/index.js';
import { trainTiny } from './helpers/ddp-training.js';

const WORKER = fileURLToPath(new URL('./helpers/ddp-worker.js', import.meta.url));

/** Runs the worker on `nprocs` ranks through launch() and returns each rank's RESULT, by rank. */
async function runRanks(scenario: string, nprocs = 2, env: Record<string, string> = {}): Promise<any[]> {
  let text = '';
  const sink = { write: (t: string) => { text += t; } };
  await launch({ nprocs, script: WORKER, args: [scenario], env, stdout: sink, stderr: sink, masterPort: await freePort() });
  const results: any[] = [];
  for (const m of text.matchAll(/^\[rank (\d+)\] RESULT (.*)$/gm)) results[Number(m[1])] = JSON.parse(m[2]);
  assert.equal(results.filter((r) => r !== undefined).length, nprocs, `every rank reports a result; output:\n${text}`);
  return results;
}

/** Starts the ranks by hand (no launch(): nobody kills the survivors) and collects each one's output and exit code. */
async function spawnRanks(scenario: string, nprocs: number, env: Record<string, string>) {
  const port = await freePort();
  return Promise.all(Array.from({ length: nprocs }, (_, rank) => new Promise<{ out: string; code: number | null }>((resolve) => {
    const child = spawn(process.execPath, [WORKER, scenario], {
      env: { ...process.env, ...env, RANK: String(rank), WORLD_SIZE: String(nprocs), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), OMP_NUM_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.on('close', (code) => resolve({ out, code }));
  })));
}

const resultOf = (out: string): any => {
  const m = /^RESULT (.*)$/m.exec(out);
  assert.ok(m, `a RESULT line in:\n${out}`);
  return JSON.parse(m[1]);
};

test('collectives over 2 ranks: allReduce sum/avg/max/min, broadcast, allGather, barrier, bucketed allReduce, reduceMetrics', async () => {
  const results = await runRanks('collectives');
  for (const r of results) {
    // rank 0 holds [1, 10, -1], rank 1 [2, 20, -2]
    assert.deepEqual(r.sum, [3, 30, -3]);
    assert.deepEqual(r.avg, [1.5, 15, -1.5]);
    assert.deepEqual(r.max, [2, 20, -1]);
    assert.deepEqual(r.min, [1, 10, -2]);
    assert.deepEqual(r.broadcastFrom1, [[1, 1], [1, 1]]);
    assert.deepEqual(r.allGather, [[0, 1], [100, 101]]);
    assert.deepEqual(r.allGatherDtypes, ['int64', 'int64']);
    // (i + 1) (r + 1) averaged over r = 0, 1 is 1.5 (i + 1), for every tensor and dtype
    for (const [k, n] of [5, 300, 7, 1000].entries()) {
      assert.deepEqual(r.coalesced[k], Array.from({ length: n }, (_, i) => 1.5 * (i + 1)), `tensor ${k}`);
    }
    // 1 KiB buckets: float32 [5, 7, 1000 elems] → 2 buckets ((5 + 7) · 4 B, then 4000 B), float64 2400 B → 1
    assert.equal(r.buckets, 3);
    // weights 1 and 3: loss (1 + 12) / 4, acc (0.5 + 3) / 4
    assert.deepEqual(r.metrics, { loss: 13 / 4, acc: 3.5 / 4 });
  }
});

test('2 ranks on half batches with averaged gradients train to the weights of 1 process on the full batch', async () => {
  // Rank r starts from seed 100 + r: broadcastParameters must make rank 1 start from rank 0's weights.
  const ranks = await runRanks('train');
  const single = await trainTiny(null, 100);
  const initial = await untrainedWeights(100);
  // float32, 6 SGD steps (momentum 0.9) through orthogonal parametrizations, weights of size ~1: only the
  // summation order differs. Tolerance: absolute 1e-5 (measured: 5.7e-7; without the gradient averaging the
  // ranks already disagree with each other, and the weights move by ~1.7).
  const tolerance = 1e-5;
  let compared = 0;
  let worst = 0;
  let change = 0;
  for (const name of Object.keys(single)) {
    const [a, b] = [ranks[0][name] as number[], ranks[1][name] as number[]];
    const s = single[name];
    assert.equal(a.length, s.length, name);
    for (let i = 0; i < s.length; i++) {
      assert.equal(a[i], b[i], `${name}[${i}]: the two ranks hold identical weights`);
      worst = Math.max(worst, Math.abs(a[i] - s[i]));
      change = Math.max(change, Math.abs(s[i] - initial[name][i]));
      compared++;
    }
  }
  assert.ok(compared > 100, 'the model has parameters to compare');
  assert.ok(worst <= tolerance, `2 ranks vs 1 process: max |Δw| = ${worst}`);
  assert.ok(change > 1000 * tolerance, `training changed the weights (max ${change})`);
});

test('DistributedDataParallel (c10d Reducer, all-reduce during backward) trains 2 ranks to the weights of 1 process', async () => {
  const ranks = await runRanks('train-ddp');
  const single = await trainTiny(null, 100);
  // Same run and tolerance as above: float32, only the summation order differs.
  const tolerance = 1e-5;
  let worst = 0;
  for (const name of Object.keys(single)) {
    for (let i = 0; i < single[name].length; i++) {
      assert.equal(ranks[0][name][i], ranks[1][name][i], `${name}[${i}]: the two ranks hold identical weights`);
      worst = Math.max(worst, Math.abs(ranks[0][name][i] - single[name][i]));
    }
  }
  assert.ok(worst <= tolerance, `2 ranks vs 1 process: max |Δw| = ${worst}`);
  // 1 KiB buckets: the gradients went through several all-reduces, not one.
  assert.ok(ranks[0].bucketCount[0] > 2, `buckets: ${ranks[0].bucketCount}`);
});

async function untrainedWeights(seed: number): Promise<Record<string, number[]>> {
  const { tinyModel } = await import('./helpers/tiny-training.js');
  torch.manualSeed(seed);
  const model = tinyModel();
  const out: Record<string, number[]> = {};
  for (const [name, p] of model.namedParameters()) out[name] = p.toFlatArray();
  return out;
}

test('ranks with different models: broadcastParameters fails on every rank, naming the disagreement', async () => {
  const results = await runRanks('mismatch');
  assert.match(results[0].error, /broadcastParameters: the models differ between ranks: rank 0 and rank 1 disagree \(rank 0 has 0:float32\[3\] 1:float32\[2,2\]\)/);
  assert.match(results[1].error, /rank 1 and rank 0 disagree \(rank 1 has 0:float32\[3\] 1:float32\[2,2\] 2:float32\[5\]\)/);
});

test('a rank that exits makes the other fail with a clear error, quickly', async () => {
  const [r0, r1] = await spawnRanks('die', 2, { DDP_TIMEOUT_MS: '20000' });
  assert.equal(r1.code, 3);
  const res = resultOf(r0.out);
  assert.match(res.error, /allReduce on rank 0 of 2: rank 1 (closed its connection|did not answer)/);
  assert.ok(res.ms < 20000, `failed after ${res.ms} ms`);
  assert.equal(res.broken, true);
});

test('DistributedDataParallel: a rank that exits makes the other\'s backward fail with a clear error, quickly', async () => {
  const [r0, r1] = await spawnRanks('ddp-die', 2, { DDP_TIMEOUT_MS: '20000' });
  assert.equal(r1.code, 3);
  const res = resultOf(r0.out);
  assert.match(res.error, /gradient all-reduce \(DistributedDataParallel backward\) on rank 0 of 2: rank 1 (closed its connection|did not answer)/);
  assert.ok(res.ms < 20000, `failed after ${res.ms} ms`);
  assert.equal(res.broken, true);
});

test('DistributedDataParallel: a parameter without gradient is an error naming the fix; findUnusedParameters handles it', async () => {
  const results = await runRanks('ddp-unused');
  for (const r of results) {
    assert.match(r.strict.error, /Expected to have finished reduction in the prior iteration.*find_unused_parameters/s);
    assert.equal(r.find.error, null);
    assert.equal(r.find.unusedGrad, null, 'the unused layer gets no gradient');
  }
  // Each rank's input is full of (rank + 1): the gradients of the sum are 3 steps × 2 rows × mean(1, 2) per weight.
  assert.deepEqual(results[0].find.usedGrad, results[1].find.usedGrad);
  assert.deepEqual(results[0].find.usedGrad, Array(8).fill(3 * 2 * 1.5));
});

test('a rank that stops answering makes the other fail once the timeout passes', async () => {
  const [r0] = await spawnRanks('hang', 2, { DDP_TIMEOUT_MS: '8000' });
  const res = resultOf(r0.out);
  assert.match(res.error, /allReduce on rank 0 of 2: rank 1 did not answer within 8 s/);
  assert.ok(res.ms >= 7500 && res.ms < 12000, `failed after ${res.ms} ms`);
});

test('launch: a failing rank stops the others and its error is the rejection', async () => {
  const started = Date.now();
  let output = '';
  const sink = { write: (t: string) => { output += t; } };
  await assert.rejects(
    launch({ nprocs: 2, script: WORKER, args: ['fail-fast'], stdout: sink, stderr: sink, masterPort: await freePort(), killGraceMs: 2000 }),
    (e: unknown) => {
      assert.ok(e instanceof LaunchError);
      assert.equal(e.rank, 1);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /^launch: rank 1 of 2 exited with code 1: .*rank one broke on purpose/);
      return true;
    });
  assert.ok(Date.now() - started < 30000, 'rank 0 (spinning for 60 s) was stopped');
  assert.match(output, /^\[rank 1\] .*rank one broke on purpose/m);
});

test('a rank missing at the rendezvous: rank 0 and rank 1 alone each fail after the timeout with a clear error', async () => {
  const port = await freePort();
  let started = Date.now();
  assert.throws(() => initProcessGroup({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 2000 }),
    new RegExp(`rank 0 of 2\\): not every rank joined the rendezvous at 127\\.0\\.0\\.1:${port} within 2 s`));
  assert.ok(Date.now() - started < 6000);
  started = Date.now();
  assert.throws(() => initProcessGroup({ rank: 1, worldSize: 2, masterPort: port, timeoutMs: 2000 }),
    new RegExp(`rank 1 of 2\\): could not reach the rendezvous store at 127\\.0\\.0\\.1:${port} within 2 s`));
  assert.ok(Date.now() - started < 6000);
});

test('a port already in use gives a clear error; bad options are named', async () => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    const started = Date.now();
    assert.throws(() => initProcessGroup({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 5000 }),
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    assert.ok(Date.now() - started < 4000, 'no wait for the timeout');
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  assert.throws(() => initProcessGroup({ rank: 2, worldSize: 2 }), /rank must be an integer in \[0, 1\], got 2/);
  assert.throws(() => initProcessGroup({ rank: 0, worldSize: 1, masterPort: 70000 }), /masterPort must be an integer in \[1, 65535\]/);
  const saved = process.env.WORLD_SIZE;
  delete process.env.WORLD_SIZE;
  try {
    assert.throws(() => initProcessGroup({ rank: 0 }), /WORLD_SIZE is not set/);
  } finally {
    if (saved !== undefined) process.env.WORLD_SIZE = saved;
  }
});

test('a group of one process: collectives are identities, destroy is final', async () => {
  const g = initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 5000 });
  try {
    const t = torch.tensor([1, 2, 3]);
    assert.deepEqual(g.allReduce(t, 'avg').toFlatArray(), [1, 2, 3]);
    const [only] = g.allGather(t);
    assert.deepEqual(only.toFlatArray(), [1, 2, 3]);
    g.barrier();
    assert.throws(() => g.allReduce(torch.tensor([1, 2, 3], { dtype: 'int64' }), 'avg'), /'avg' needs a floating-point tensor/);
    assert.throws(() => g.broadcast(t, 1), /root must be a rank in \[0, 0\], got 1/);
    assert.throws(() => g.allReduce(torch.ones([2, 3]).t()), /must be contiguous/);
    t.dispose();
    only.dispose();
  } finally {
    g.destroy();
  }
  assert.throws(() => g.barrier(), /used after destroy/);
});

test('DataLoader shards: every sample once per epoch (up to wrap-around padding), disjoint, same batch count per rank', async () => {
  const n = 10;
  const ds = arrayImageDataset(new Uint8Array(n), Int32Array.from({ length: n }, (_, i) => i), [1, 1, 1], []);
  for (const world of [1, 2, 3, 4]) {
    for (const epoch of [0, 1]) {
      const shards = Array.from({ length: world }, (_, rank) =>
        new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 7, shard: { rank, worldSize: world } }));
      const orders = shards.map((l) => [...l.order(epoch)]);
      const full = [...new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 7 }).order(epoch)];
      const per = Math.ceil(n / world);
      for (const o of orders) assert.equal(o.length, per);
      for (const l of shards) assert.equal(l.length, Math.ceil(per / 2));
      // interleaving the shards gives back the full (seed, epoch) order, then its first samples as padding
      const interleaved: number[] = [];
      for (let i = 0; i < per; i++) for (let r = 0; r < world; r++) interleaved.push(orders[r][i]);
      assert.deepEqual(interleaved, [...full, ...full.slice(0, per * world - n)]);
      assert.deepEqual(new Set(interleaved), new Set(full));
    }
  }
  // the shards differ and reshuffle per epoch
  const a = new DataLoader(ds, { shuffle: true, seed: 7, shard: { rank: 0, worldSize: 2 } });
  const b = new DataLoader(ds, { shuffle: true, seed: 7, shard: { rank: 1, worldSize: 2 } });
  assert.notDeepEqual([...a.order(0)], [...b.order(0)]);
  assert.notDeepEqual([...a.order(0)], [...a.order(1)]);
  // the batches really come from the shard
  const labels: number[] = [];
  for await (const { x, y } of new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 7, shard: { rank: 1, worldSize: 3 }, dropLast: false })) {
    labels.push(...(y.toFlatArray()));
    x.dispose();
    y.dispose();
  }
  assert.deepEqual(labels, [...new DataLoader(ds, { shuffle: true, seed: 7, shard: { rank: 1, worldSize: 3 } }).order(0)]);
  assert.throws(() => new DataLoader(ds, { shard: { rank: 2, worldSize: 2 } }), /shard must have an integer worldSize >= 1 and rank in \[0, worldSize\)/);
});
