// The CUDA side of data parallelism: the NCCL backend, each rank's GPU, and
// gloo moving CUDA tensors. Without a GPU (or an addon built without NCCL)
// the checks of what a user is told still run; the GPU runs are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DistributedDataParallel, freePort, initProcessGroup, launch } from '../src/distributed/index.js';
import { ddpPlacement, resolveDevices } from '../src/train/trainer-options.js';
import * as torch from '../src/torch/index.js';
import { trainTiny } from './helpers/ddp-training.js';
import { ClassificationModule, Trainer } from '../src/train/index.js';
import { LossXent } from '../src/losses/index.js';
import { TINY_STD, captureOutput, tinyData, tinyModel } from './helpers/tiny-training.js';

const WORKER = fileURLToPath(new URL('./helpers/ddp-worker.js', import.meta.url));
const hasCuda = torch.cuda.isAvailable();
const hasNccl = torch.ncclAvailable();
const gpus = hasCuda ? torch.cuda.deviceCount() : 0;

/** True when `port` can be bound on 127.0.0.1, i.e. nobody (no rendezvous store) holds it. */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test("backend: unknown names are rejected; 'nccl' says what it lacks before any rendezvous", async () => {
  assert.throws(() => initProcessGroup({ rank: 0, worldSize: 1, backend: 'mpi' as never }), /backend must be 'gloo' or 'nccl', got 'mpi'/);
  assert.throws(() => initProcessGroup({ rank: 0, worldSize: 1, backend: 'nccl', deviceIndex: -1 }), /deviceIndex must be an integer >= 0/);
  const port = await freePort();
  const started = Date.now();
  // worldSize 2 with nobody else coming: a rendezvous would wait for the timeout instead of failing at once.
  const attempt = () => initProcessGroup({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 20000, backend: 'nccl', deviceIndex: gpus });
  if (!hasNccl) assert.throws(attempt, /backend 'nccl': this addon was built without NCCL .*use backend 'gloo'/);
  else if (!hasCuda) assert.throws(attempt, /backend 'nccl' needs a GPU, and CUDA is not available/);
  else assert.throws(attempt, new RegExp(`deviceIndex ${gpus} is not a GPU of this machine \\(it has ${gpus}\\)`));
  assert.ok(Date.now() - started < 5000, 'failed before any rendezvous');
  assert.ok(await portIsFree(port), 'no rendezvous store was started');
});

test('cuda.isBuilt() says whether libtorch_cuda is loaded in this process, GPU or not', () => {
  // Independent witness: the shared objects the dynamic loader mapped into this process.
  const maps = readFileSync('/proc/self/maps', 'utf8');
  assert.equal(torch.cuda.isBuilt(), /libtorch_cuda\.so/.test(maps));
  if (hasCuda) assert.ok(torch.cuda.isBuilt(), 'a visible GPU implies a CUDA build');
  if (!hasCuda) {
    const why = torch.cuda.isBuilt() ? /this CUDA libtorch sees no GPU/ : /built against a CPU-only libtorch/;
    assert.throws(() => torch.cuda.setDevice(0), why);
  }
});

test('cuda.setDevice / currentDevice / synchronize: the current GPU, or a clear error', () => {
  if (!hasCuda) {
    assert.throws(() => torch.cuda.setDevice(0), /cuda\.setDevice: CUDA is not available/);
    assert.throws(() => torch.cuda.currentDevice(), /cuda\.currentDevice: CUDA is not available/);
    assert.throws(() => torch.cuda.synchronize(), /cuda\.synchronize: CUDA is not available/);
    return;
  }
  assert.throws(() => torch.cuda.setDevice(gpus), new RegExp(`device index must be in \\[0, ${gpus - 1}\\], got ${gpus}`));
  torch.cuda.setDevice(gpus - 1);
  assert.equal(torch.cuda.currentDevice(), gpus - 1);
  // A tensor asked for on 'cuda' lands on the current device.
  const t = torch.zeros([2], { device: 'cuda' });
  assert.equal(t.device, `cuda:${gpus - 1}`);
  t.dispose();
  torch.cuda.synchronize();
  assert.throws(() => torch.cuda.synchronize(gpus), /device index must be in/);
  torch.cuda.setDevice(0);
});

test("the Trainer's devices and ddp placement: Lightning's devices, a GPU per local rank, NCCL only when each has its own", () => {
  // devices as Lightning reads them
  assert.deepEqual(resolveDevices('cpu', undefined, 0), { count: 1, gpus: null });
  assert.deepEqual(resolveDevices('cpu', 3, 0), { count: 3, gpus: null });
  assert.deepEqual(resolveDevices('cpu', 'auto', 0), { count: 1, gpus: null });
  assert.throws(() => resolveDevices('cpu', [0], 0), /devices on the CPU must be a positive integer \(processes\) or 'auto', got \[0\]/);
  assert.deepEqual(resolveDevices('cuda', undefined, 4), { count: 1, gpus: [0] });
  assert.deepEqual(resolveDevices('cuda', 2, 4), { count: 2, gpus: [0, 1] });
  assert.deepEqual(resolveDevices('cuda', [1], 4), { count: 1, gpus: [1] }, "the seed's devices=[1]");
  assert.deepEqual(resolveDevices('cuda', -1, 4), { count: 4, gpus: [0, 1, 2, 3] });
  assert.deepEqual(resolveDevices('cuda', 'auto', 2), { count: 2, gpus: [0, 1] });
  assert.deepEqual(resolveDevices('cuda', [0, 0], 1), { count: 2, gpus: [0, 0] });
  assert.throws(() => resolveDevices('cuda', 2, 1), /devices 2 asks for 2 GPUs, this machine has 1 \(a list such as \[0, 0\]/);
  assert.throws(() => resolveDevices('cuda', [2], 2), /devices \[2\] must list GPU indices in \[0, 1\]/);
  assert.throws(() => resolveDevices('cuda', 0, 2), /devices must be a positive integer, a list of GPU indices, -1 or 'auto', got 0/);
  // placement of one rank
  const on = (localRank: number, gpus: number[] | null, nccl: boolean) => ({ localRank, gpus, nccl });
  assert.deepEqual(ddpPlacement('cpu', on(1, null, false)), { backend: 'gloo', device: 'cpu' });
  assert.deepEqual(ddpPlacement('cpu', on(1, null, true)), { backend: 'gloo', device: 'cpu' });
  assert.throws(() => ddpPlacement('cpu', on(0, null, true), 'nccl'), /'nccl' works on CUDA tensors/);
  // Two GPUs, two ranks: each its own GPU, NCCL when built in.
  assert.deepEqual(ddpPlacement('cuda', on(1, [0, 1], true)), { backend: 'nccl', device: 'cuda:1' });
  assert.deepEqual(ddpPlacement('cuda', on(1, [0, 1], false)), { backend: 'gloo', device: 'cuda:1' });
  assert.deepEqual(ddpPlacement('cuda', on(1, [0, 1], true), 'gloo'), { backend: 'gloo', device: 'cuda:1' });
  assert.deepEqual(ddpPlacement('cuda', on(0, [3, 1], true)), { backend: 'nccl', device: 'cuda:3' }, 'the listed GPU, not the rank number');
  // Two ranks listed on one GPU: they share it, which only gloo allows.
  assert.deepEqual(ddpPlacement('cuda', on(1, [0, 0], true)), { backend: 'gloo', device: 'cuda:0' });
  assert.throws(() => ddpPlacement('cuda', on(1, [0, 0], true), 'nccl'), /needs a GPU per local rank, and devices \[0, 0\] share one/);
  assert.throws(() => ddpPlacement('cuda', on(2, [0, 1], true)), /local rank 2 has no GPU in devices \[0, 1\]/);
  assert.throws(() => ddpPlacement('cuda', on(0, [0], true), 'mpi' as never), /processGroupBackend must be 'gloo' or 'nccl'/);
});

test("Trainer({ devices: [i] }) on the CPU is refused with Lightning's rule", () => {
  assert.throws(() => new Trainer({ accelerator: 'cpu', devices: [1] }), /devices on the CPU must be a positive integer \(processes\) or 'auto', got \[1\]/);
  assert.throws(() => new Trainer({ accelerator: 'cpu', devices: -1 }), /devices on the CPU must be a positive integer/);
});

test("Trainer({ accelerator: 'cuda', devices: [last GPU] }) trains there, as the seed's devices=[1]", { skip: !hasCuda && 'needs a GPU' }, async () => {
  torch.manualSeed(0);
  const module = new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
  const output = captureOutput();
  const trainer = new Trainer({ maxEpochs: 3, accelerator: 'cuda', devices: [gpus - 1], output, enableProgressBar: false });
  const r = await trainer.fit(module, tinyData());
  assert.ok(r.metrics.val_accuracy > 0.8, `val accuracy ${r.metrics.val_accuracy}`);
  for (const p of module.parameters()) assert.equal(p.device, `cuda:${gpus - 1}`);
  assert.match(output.text(), new RegExp(`training on cuda:${gpus - 1}`));
  torch.cuda.setDevice(0);
});

test('NCCL, one process: collectives on the GPU, CPU tensors staged through it, DDP gradients = plain ones',
  { skip: !(hasNccl && hasCuda) && 'needs an addon built with NCCL and a GPU' }, async () => {
    const g = initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 20000, backend: 'nccl' });
    try {
      assert.equal(g.backend, 'nccl');
      assert.equal(g.device, 'cuda:0');
      const onGpu = torch.tensor([1, 2, 3], { device: 'cuda' });
      assert.deepEqual(g.allReduce(onGpu, 'avg').cpu().toFlatArray(), [1, 2, 3]);
      const onHost = torch.tensor([4, 5], { dtype: 'float64' });
      assert.deepEqual(g.allReduce(onHost, 'max').toFlatArray(), [4, 5]);
      const [gathered] = g.allGather(onHost);
      assert.equal(gathered.device, 'cpu', 'gathered where the input was');
      g.barrier();
      assert.throws(() => g.allReduceCoalesced([onHost]), /the nccl process group works on CUDA tensors, got one on cpu/);
      // DDP over NCCL: with one rank the averaged gradient is the plain gradient.
      const model = new (await import('../src/nn/index.js')).Linear(4, 3).to('cuda');
      const x = torch.randn([5, 4], { device: 'cuda' });
      model.forward(x).square().sum().backward();
      const plain = model.weight.grad!.cpu().toFlatArray();
      model.zeroGrad();
      const ddp = new DistributedDataParallel(model, { group: g });
      ddp.backward(ddp.forward(x).square().sum());
      const averaged = model.weight.grad!.cpu().toFlatArray();
      plain.forEach((v, i) => assert.ok(Math.abs(v - averaged[i]) <= 1e-5 * (1 + Math.abs(v)), `grad[${i}]: ${averaged[i]} vs ${v}`));
      ddp.destroy();
      const onCpu = new (await import('../src/nn/index.js')).Linear(2, 2);
      assert.throws(() => new DistributedDataParallel(onCpu, { group: g }), /parameter 'weight' is on cpu, but the nccl process group works on CUDA tensors/);
    } finally {
      g.destroy();
    }
  });

async function ddpOnGpus(env: Record<string, string>): Promise<void> {
  let text = '';
  const sink = { write: (t: string) => { text += t; } };
  await launch({ nprocs: 2, script: WORKER, args: ['train-ddp'], env, stdout: sink, stderr: sink, masterPort: await freePort() });
  const ranks: any[] = [];
  for (const m of text.matchAll(/^\[rank (\d+)\] RESULT (.*)$/gm)) ranks[Number(m[1])] = JSON.parse(m[2]);
  assert.equal(ranks.filter(Boolean).length, 2, `both ranks report; output:\n${text}`);
  const single = await trainTiny(null, 100, 'synchronizer', 'cuda:0');
  // float32 on the GPU: the summation order of cuDNN and of the all-reduce differ from one process.
  let worst = 0;
  for (const name of Object.keys(single)) {
    for (let i = 0; i < single[name].length; i++) worst = Math.max(worst, Math.abs(ranks[0][name][i] - single[name][i]), Math.abs(ranks[1][name][i] - single[name][i]));
  }
  assert.ok(worst <= 1e-4, `2 ranks vs 1 process: max |Δw| = ${worst}`);
}

test('DistributedDataParallel over NCCL: 2 ranks on 2 GPUs train to the weights of 1 process',
  { skip: !(hasNccl && gpus >= 2) && 'needs an addon built with NCCL and 2 GPUs' },
  () => ddpOnGpus({ DDP_BACKEND: 'nccl', DDP_DEVICE: 'rank-gpu' }));

test('DistributedDataParallel over gloo with CUDA tensors: 2 ranks sharing one GPU train to the weights of 1 process',
  { skip: !hasCuda && 'needs a GPU' },
  () => ddpOnGpus({ DDP_BACKEND: 'gloo', DDP_DEVICE: 'cuda:0' }));
