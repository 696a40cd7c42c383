// One rank of the distributed tests, started by launch() or by hand with
// RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT set. argv[2] names the
// scenario; results are printed as one line `RESULT <json>`.
import * as torch from '../../src/torch/index.js';
import { initProcessGroup, reduceMetrics, broadcastParameters, DistributedDataParallel } from '../../src/distributed/index.js';
import type { Backend } from '../../src/distributed/index.js';
import { Linear, Module } from '../../src/nn/index.js';
import { trainTiny } from './ddp-training.js';

const scenario = process.argv[2];
const timeoutMs = Number(process.env.DDP_TIMEOUT_MS ?? 20000);
const print = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);
const spin = (ms: number) => { const end = Date.now() + ms; while (Date.now() < end); };

// DDP_BACKEND / DDP_DEVICE: the CUDA variants (NCCL, or gloo moving CUDA tensors).
const group = initProcessGroup({ timeoutMs, backend: (process.env.DDP_BACKEND ?? 'gloo') as Backend });
const rank = group.rank;
const device = process.env.DDP_DEVICE === 'rank-gpu' ? group.device : (process.env.DDP_DEVICE ?? 'cpu');

if (scenario === 'collectives') {
  const out: Record<string, unknown> = {};
  // rank r holds [r + 1, 10 (r + 1), -(r + 1)]
  const base = () => torch.tensor([rank + 1, 10 * (rank + 1), -(rank + 1)]);
  for (const op of ['sum', 'avg', 'max', 'min'] as const) {
    const t = base();
    out[op] = group.allReduce(t, op).toFlatArray();
    t.dispose();
  }
  const b = torch.tensor([[rank, rank], [rank, rank]], { dtype: 'float64' });
  out.broadcastFrom1 = group.broadcast(b, 1).toArray();
  const gathered = group.allGather(torch.tensor([rank * 100, rank * 100 + 1], { dtype: 'int64' }));
  out.allGather = gathered.map((g) => g.toFlatArray());
  out.allGatherDtypes = gathered.map((g) => g.dtype);
  group.barrier();
  // Mixed dtypes and sizes over several tiny buckets: each element gets (its index + 1) * (rank + 1).
  const many = [torch.arange(0, 5, 1, { dtype: 'float32' }), torch.arange(0, 300, 1, { dtype: 'float64' }).reshape([20, 15]),
    torch.arange(0, 7, 1, { dtype: 'float32' }), torch.arange(0, 1000, 1, { dtype: 'float32' })];
  for (const t of many) torch.noGrad(() => t.add_(1).mul_(rank + 1));
  out.buckets = group.allReduceCoalesced(many, { bucketMB: 1 / 1024, op: 'avg' });
  out.coalesced = many.map((t) => t.toFlatArray());
  out.metrics = reduceMetrics({ loss: rank === 0 ? 1 : 4, acc: rank === 0 ? 0.5 : 1 }, rank === 0 ? 1 : 3, group);
  print(out);
} else if (scenario === 'train') {
  print(await trainTiny(group, 100 + rank));
} else if (scenario === 'train-ddp') {
  print(await trainTiny(group, 100 + rank, 'ddp', device));
} else if (scenario === 'die') {
  // rank 1 exits between two collectives; rank 0 must get an error, not hang
  group.barrier();
  if (rank === 1) process.exit(3);
  const started = Date.now();
  try {
    group.allReduce(torch.ones([4]));
    print({ error: null });
  } catch (error) {
    print({ error: (error as Error).message, ms: Date.now() - started, broken: group.broken });
  }
} else if (scenario === 'hang') {
  // rank 1 stays alive but never calls the collective
  group.barrier();
  if (rank === 1) {
    spin(timeoutMs + 1500);
    process.exit(0);
  }
  const started = Date.now();
  try {
    group.allReduce(torch.ones([4]));
    print({ error: null });
  } catch (error) {
    print({ error: (error as Error).message, ms: Date.now() - started });
  }
} else if (scenario === 'ddp-die') {
  // rank 1 exits after two DDP steps (the second rebuilds the buckets); rank 0's next backward must fail with the all-reduce explained
  const ddp = new DistributedDataParallel(new Linear(4, 3), { group });
  const step = () => torch.scope(() => ddp.backward(ddp.forward(torch.ones([2, 4])).square().sum()));
  step();
  step();
  group.barrier();
  if (rank === 1) process.exit(3);
  const started = Date.now();
  try {
    step();
    print({ error: null });
  } catch (error) {
    print({ error: (error as Error).message, ms: Date.now() - started, broken: group.broken });
  }
} else if (scenario === 'ddp-unused') {
  // the second layer never takes part in the loss: DDP must say so, unless asked to look for unused parameters
  class TwoHeads extends Module {
    used = this.registerModule('used', new Linear(4, 2));
    unused = this.registerModule('unused', new Linear(4, 2));
    forward(x: torch.Tensor): torch.Tensor { return this.used.forward(x); }
  }
  const run = (findUnusedParameters: boolean) => {
    const ddp = new DistributedDataParallel(new TwoHeads(), { group, findUnusedParameters });
    try {
      for (let i = 0; i < 3; i++) torch.scope(() => ddp.forward(torch.full([2, 4], rank + 1)).sum().backward());
      const grads = ddp.module.used.weight.grad!.toFlatArray();
      return { error: null, usedGrad: grads, unusedGrad: ddp.module.unused.weight.grad };
    } catch (error) {
      return { error: (error as Error).message };
    } finally {
      ddp.destroy();
    }
  };
  print({ strict: run(false), find: run(true) });
} else if (scenario === 'mismatch') {
  // rank 1 has one more parameter: every rank must get the same clear error, not a garbled broadcast
  const params = [torch.zeros([3]), torch.zeros([2, 2])];
  if (rank === 1) params.push(torch.zeros([5]));
  try {
    broadcastParameters(params, 0, group);
    print({ error: null });
  } catch (error) {
    print({ error: (error as Error).message });
  }
} else if (scenario === 'fail-fast') {
  // for launch(): rank 1 throws, rank 0 would sleep much longer than the test allows
  if (rank === 1) throw new Error('rank one broke on purpose');
  spin(60000);
} else {
  throw new Error(`ddp-worker: unknown scenario ${scenario}`);
}
group.destroy();
