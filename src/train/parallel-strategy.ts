// Lightning's Strategy for the Trainer: where this process computes (its root
// device) and, in a data-parallel run, its place among the ranks: the process
// group joined at fit, the DistributedDataParallel wrapper over the module's
// trainable parameters, and the collectives the loops need. In one process
// every collective is the identity.
import { Tensor, cuda, ncclAvailable, scope, setNumThreads, stack, tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { DistributedDataParallel, ProcessGroup, getDefaultGroup, initProcessGroup, isInitialized, launchPeers, reduceMetrics } from '../distributed/index.js';
import type { LightningModule } from './lightning-module.js';
import type { MetricCollector } from './epoch-metrics.js';
import type { ProgressOutput } from './progress.js';
import { ddpPlacement } from './trainer-options.js';
import type { DeviceSelection, TrainerOptions } from './trainer-options.js';

export class ParallelStrategy {
  /** Where this process computes: 'cpu', or on CUDA its GPU ('cuda:<devices[LOCAL_RANK]>'). */
  rootDevice: string;
  /** The process group once joined; null in one process. */
  group: ProcessGroup | null = null;
  /** The data-parallel wrapper of the running fit, if any. */
  ddp: DistributedDataParallel | null = null;

  /** `devices`: processes per node and, on CUDA, each local rank's GPU; `print` reports where the Trainer does. */
  constructor(private readonly accelerator: 'cpu' | 'cuda', private readonly devices: DeviceSelection,
    private readonly options: Pick<TrainerOptions, 'ddp' | 'numNodes'>, private readonly print: (line: string) => void) {
    this.rootDevice = devices.gpus ? `cuda:${devices.gpus[0]}` : 'cpu';
  }

  /** This process's rank (0 when not data-parallel). */
  get globalRank(): number { return this.group?.rank ?? 0; }

  get worldSize(): number { return this.group?.worldSize ?? 1; }

  /** Starts local ranks 1 … devices − 1 running this same script; this process takes local rank 0 (NODE_RANK picks the node). */
  async startPeers(stdout: ProgressOutput): Promise<void> {
    const devices = this.devices.count;
    const nodeRank = Number(process.env.NODE_RANK ?? 0);
    const { threads } = await launchPeers({ nprocs: devices, numNodes: this.options.numNodes ?? 1, nodeRank, stdout });
    if (threads !== undefined) setNumThreads(threads);
    this.print(`started ${devices - 1} more process${devices > 2 ? 'es' : ''} running this script as ranks ` +
      `${nodeRank * devices + 1}–${nodeRank * devices + devices - 1} (world size ${process.env.WORLD_SIZE})`);
  }

  /**
   * Joins (or adopts) the process group and picks this rank's device: on CUDA
   * its GPU of `devices`, with NCCL when possible (ddpPlacement).
   */
  joinProcessGroup(): ProcessGroup {
    const placement = ddpPlacement(this.accelerator, {
      localRank: Number(process.env.LOCAL_RANK ?? 0), gpus: this.devices.gpus, nccl: ncclAvailable(),
    }, this.options.ddp?.processGroupBackend);
    const deviceIndex = placement.device.startsWith('cuda:') ? Number(placement.device.slice(5)) : undefined;
    const group = isInitialized() ? getDefaultGroup() : initProcessGroup({ backend: placement.backend, deviceIndex });
    this.group = group;
    this.rootDevice = group.backend === 'nccl' ? group.device : placement.device;
    return group;
  }

  /** Moves the module to this process's device; a GPU becomes current, so tensors made on 'cuda' land there too. */
  placeModule(module: Module, parameterDtype: 'float64' | null): void {
    if (this.rootDevice.startsWith('cuda:')) cuda.setDevice(Number(this.rootDevice.slice(5)));
    module.to(this.rootDevice);
    if (parameterDtype) module.to(parameterDtype);
  }

  /** Wraps the module in DistributedDataParallel over its trainable parameters (a wrapper made before is destroyed). */
  wrapDataParallel(module: LightningModule): void {
    this.ddp?.destroy();
    const { processGroupBackend: _backend, ...ddpOptions } = this.options.ddp ?? {};
    this.ddp = new DistributedDataParallel(module, { ...ddpOptions, group: this.group! });
  }

  /**
   * Under DDP, parameters made trainable after the wrapper was built (a
   * backbone unfrozen by BackboneFinetuning) would train on each rank's own
   * gradients: the wrapper is rebuilt over the new set. (PyTorch's DDP leaves
   * them unsynchronized.) Every rank unfreezes at the same epoch, so all rebuild together.
   */
  followTrainableParameters(module: LightningModule): void {
    if (!this.ddp) return;
    const trainable = module.parameters().filter((p) => p.requiresGrad);
    const reduced = new Set(this.ddp.reducedParameters);
    if (trainable.length === reduced.size && trainable.every((p) => reduced.has(p))) return;
    this.print(`the trainable parameters changed (${reduced.size} → ${trainable.length} tensors): DistributedDataParallel rebuilt over them`);
    this.wrapDataParallel(module);
  }

  /** Epoch means, averaged over the ranks (weighted by the samples each saw) in data-parallel runs. */
  reduceEpochMetrics(collector: MetricCollector): Map<string, number> {
    const local = collector.epoch();
    if (!this.group) return local;
    return new Map(Object.entries(reduceMetrics(Object.fromEntries(local), collector.weights(), this.group)));
  }

  /** `tensor` from every rank stacked into [worldSize, ...shape]; in one process `tensor` itself. */
  allGather(tensor: Tensor): Tensor {
    const group = this.group;
    if (!group || group.worldSize === 1) return tensor;
    return scope(() => stack(group.allGather(tensor), 0));
  }

  /** The mean of `value` over the ranks (`value` itself when not data-parallel). */
  averageOverRanks(value: number): number {
    const group = this.group;
    return group ? scope(() => group.allReduce(tensor([value], { dtype: 'float64' }), 'avg').item()) : value;
  }

  /** True on every rank when `flag` is true on any (`flag` itself when not data-parallel). */
  anyRank(flag: boolean): boolean {
    const group = this.group;
    if (!group) return flag;
    return scope(() => group.allReduce(tensor([flag ? 1 : 0]), 'max').item() > 0);
  }

  /** Takes the wrapper down (the process group stays, for a later fit). */
  teardown(): void {
    this.ddp?.destroy();
    this.ddp = null;
  }
}
