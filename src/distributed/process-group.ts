// A c10d process group (libtorch's TCPStore rendezvous + ProcessGroupGloo for
// CPU tensors or ProcessGroupNCCL for CUDA tensors): the collectives of
// torch.distributed. Calls block like PyTorch's; each waits at most
// `timeoutMs`, so a rank that died or stopped answering makes the others
// throw a clear Error instead of hanging.
import { Tensor, cuda, ncclAvailable, noGrad } from '../torch/index.js';
import { GroupHandle, native } from '../torch/native.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';
/** 'gloo' moves CPU tensors over TCP; 'nccl' moves CUDA tensors between GPUs. */
export type Backend = 'gloo' | 'nccl';

export interface ProcessGroupOptions {
  /** This process's rank in [0, worldSize) (default: env RANK). */
  rank?: number;
  /** Number of processes (default: env WORLD_SIZE). */
  worldSize?: number;
  /** Address of rank 0, which hosts the rendezvous store (default: env MASTER_ADDR, else 127.0.0.1). */
  masterAddr?: string;
  /** Port of the rendezvous store on rank 0 (default: env MASTER_PORT, else 29500). */
  masterPort?: number;
  /** Longest wait of the rendezvous and of every collective, in ms (default 60000). */
  timeoutMs?: number;
  /** Network interface for gloo's connections (default: env GLOO_SOCKET_IFNAME; else loopback when masterAddr is loopback, else this host's name). */
  interface?: string;
  /** 'gloo' (default) or 'nccl', which needs an addon built with NCCL (see `ncclAvailable()`) and a GPU per rank. */
  backend?: Backend;
  /** With 'nccl': the GPU of this rank (default: env LOCAL_RANK, else rank modulo the number of GPUs). */
  deviceIndex?: number;
}

let defaultGroup: ProcessGroup | null = null;

/** The group made by the first initProcessGroup() still alive; throws when there is none. */
export function getDefaultGroup(): ProcessGroup {
  if (defaultGroup === null) throw new Error('distributed: no process group: call initProcessGroup() first');
  return defaultGroup;
}

export function isInitialized(): boolean {
  return defaultGroup !== null;
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new RangeError(`initProcessGroup: environment variable ${name} must be an integer, got '${raw}'`);
  return n;
}

function isLoopback(addr: string): boolean {
  return addr === 'localhost' || addr === '::1' || /^127\.\d+\.\d+\.\d+$/.test(addr);
}

/** Resolved options, validated: what initProcessGroup will use. */
export function resolveGroupOptions(opts: ProcessGroupOptions = {}):
  Required<Omit<ProcessGroupOptions, 'interface' | 'deviceIndex'>> & { interface?: string; deviceIndex?: number } {
  const rank = opts.rank ?? envInt('RANK');
  const worldSize = opts.worldSize ?? envInt('WORLD_SIZE');
  if (worldSize === undefined) throw new Error('initProcessGroup: worldSize is not given and the environment variable WORLD_SIZE is not set');
  if (rank === undefined) throw new Error('initProcessGroup: rank is not given and the environment variable RANK is not set');
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`initProcessGroup: worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`initProcessGroup: rank must be an integer in [0, ${worldSize - 1}], got ${rank}`);
  const masterAddr = opts.masterAddr ?? (process.env.MASTER_ADDR || '127.0.0.1');
  if (typeof masterAddr !== 'string' || masterAddr.length === 0) throw new TypeError('initProcessGroup: masterAddr must be a non-empty host name or address');
  const masterPort = opts.masterPort ?? envInt('MASTER_PORT') ?? 29500;
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535) throw new RangeError(`initProcessGroup: masterPort must be an integer in [1, 65535], got ${masterPort}`);
  const timeoutMs = opts.timeoutMs ?? 60000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`initProcessGroup: timeoutMs must be a positive number, got ${timeoutMs}`);
  const iface = opts.interface ?? (process.env.GLOO_SOCKET_IFNAME || undefined);
  const backend = opts.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new TypeError(`initProcessGroup: backend must be 'gloo' or 'nccl', got '${String(backend)}'`);
  const deviceIndex = backend === 'nccl' ? opts.deviceIndex ?? envInt('LOCAL_RANK') : undefined;
  if (deviceIndex !== undefined && !(Number.isInteger(deviceIndex) && deviceIndex >= 0)) {
    throw new RangeError(`initProcessGroup: deviceIndex must be an integer >= 0, got ${deviceIndex}`);
  }
  return { rank, worldSize, masterAddr, masterPort, timeoutMs: Math.round(timeoutMs), interface: iface, backend, deviceIndex };
}

// The GPU an NCCL rank works on, made its current device before the rendezvous.
function ncclDevice(rank: number, deviceIndex: number | undefined): string {
  if (!ncclAvailable()) {
    throw new Error("initProcessGroup: backend 'nccl': this addon was built without NCCL (that needs a CUDA libtorch and " +
      "NCCL's header nccl.h at build time, see the README); use backend 'gloo'");
  }
  if (!cuda.isAvailable()) throw new Error("initProcessGroup: backend 'nccl' needs a GPU, and CUDA is not available on this machine");
  const index = deviceIndex ?? rank % cuda.deviceCount();
  if (index >= cuda.deviceCount()) {
    throw new RangeError(`initProcessGroup: deviceIndex ${index} is not a GPU of this machine (it has ${cuda.deviceCount()})`);
  }
  cuda.setDevice(index);
  return `cuda:${index}`;
}

/**
 * Joins the group: rank 0 hosts the TCPStore at masterAddr:masterPort, the
 * others connect to it, then gloo connects every pair of ranks. Blocks until
 * all `worldSize` ranks have joined (at most timeoutMs). Options default to
 * the RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT environment, as torchrun sets it.
 */
export function initProcessGroup(opts: ProcessGroupOptions = {}): ProcessGroup {
  const o = resolveGroupOptions(opts);
  const device = o.backend === 'nccl' ? ncclDevice(o.rank, o.deviceIndex) : 'cpu';
  const glooDevice = o.interface ? `iface:${o.interface}` : isLoopback(o.masterAddr) ? `host:${o.masterAddr}` : 'default';
  const handle = native.pgCreate(o.rank, o.worldSize, o.masterAddr, o.masterPort, o.timeoutMs, glooDevice, o.backend);
  const group = new ProcessGroup(handle, o.rank, o.worldSize, o.timeoutMs, o.backend, device);
  if (defaultGroup === null) defaultGroup = group;
  return group;
}

export interface CoalescedOptions {
  /** Bucket size in MiB (default 25, as PyTorch's DDP). */
  bucketMB?: number;
  /** 'sum' (default) or 'avg'. */
  op?: 'sum' | 'avg';
}

export class ProcessGroup {
  private handle: GroupHandle | null;

  /**
   * @internal use initProcessGroup(). `device` is where the backend's tensors
   * live: 'cpu' for gloo, this rank's 'cuda:i' for NCCL.
   */
  constructor(handle: GroupHandle, readonly rank: number, readonly worldSize: number, readonly timeoutMs: number,
    readonly backend: Backend = 'gloo', readonly device: string = 'cpu') {
    this.handle = handle;
  }

  // NCCL takes CUDA tensors only: a CPU tensor (a metric, a flag) travels through this rank's GPU and back.
  private staged<T>(tensor: Tensor, op: (onDevice: Tensor) => T, copyBack = true): T {
    if (this.backend !== 'nccl' || tensor.isCuda) return op(tensor);
    const onDevice = tensor.to({ device: this.device });
    try {
      const result = op(onDevice);
      if (copyBack) noGrad(() => tensor.copy_(onDevice));  // in place, like the collective itself
      return result;
    } finally {
      onDevice.dispose();
    }
  }

  private get h(): GroupHandle {
    if (this.handle === null) throw new Error('ProcessGroup: used after destroy()');
    return this.handle;
  }

  /** @internal the addon's handle, for DistributedDataParallel's reducer. */
  get _handle(): GroupHandle { return this.h; }

  /** Reduces `tensor` over all ranks, in place ('avg' = sum / worldSize). Returns `tensor`. */
  allReduce(tensor: Tensor, op: ReduceOp = 'sum'): Tensor {
    this.staged(tensor, (t) => native.pgAllReduce(this.h, t.handle, op));
    return tensor;
  }

  /** Copies rank `root`'s `tensor` into every rank's `tensor` (same shape and dtype everywhere), in place. */
  broadcast(tensor: Tensor, root = 0): Tensor {
    this.staged(tensor, (t) => native.pgBroadcast(this.h, t.handle, root));
    return tensor;
  }

  /** Every rank's `tensor` (same shape and dtype everywhere), in rank order, on `tensor`'s device; the caller owns the results. */
  allGather(tensor: Tensor): Tensor[] {
    const device = tensor.device;
    return this.staged(tensor, (t) => native.pgAllGather(this.h, t.handle).map((h) => {
      const gathered = Tensor._wrap(h);
      if (gathered.device === device) return gathered;
      try { return gathered.to({ device }); } finally { gathered.dispose(); }
    }), false);
  }

  /** Returns once every rank has called barrier(). */
  barrier(): void {
    native.pgBarrier(this.h);
  }

  /**
   * All-reduces many tensors at once, in place: they are flattened into
   * buckets of about `bucketMB` (per dtype, in order), each bucket is reduced
   * with one collective, and the results are copied back. Returns the number
   * of buckets. Every rank must pass tensors of the same shapes in the same order.
   */
  allReduceCoalesced(tensors: Tensor[], options: CoalescedOptions = {}): number {
    const bucketMB = options.bucketMB ?? 25;
    if (!(bucketMB > 0)) throw new RangeError(`allReduceCoalesced: bucketMB must be positive, got ${bucketMB}`);
    const op = options.op ?? 'sum';
    if (op !== 'sum' && op !== 'avg') throw new TypeError(`allReduceCoalesced: op must be 'sum' or 'avg', got '${op}'`);
    if (tensors.length === 0) return 0;
    return native.pgAllReduceCoalesced(this.h, tensors.map((t) => t.handle), bucketMB * 1024 * 1024, op);
  }

  /** True once a collective failed (a peer died or timed out): the group cannot be used reliably any more. */
  get broken(): boolean {
    return this.handle !== null && native.pgInfo(this.handle).broken;
  }

  get destroyed(): boolean {
    return this.handle === null;
  }

  /** Leaves the group and frees its connections (idempotent). Call it on every rank at the end. */
  destroy(): void {
    if (this.handle === null) return;
    native.pgDestroy(this.handle);
    this.handle = null;
    if (defaultGroup === this) defaultGroup = null;
  }

  [Symbol.dispose](): void { this.destroy(); }
}
