// Multi-process data parallelism on libtorch's c10d (TCPStore + gloo or NCCL).
export { initProcessGroup, getDefaultGroup, isInitialized, resolveGroupOptions, ProcessGroup } from './process-group.js';
export type { Backend, ProcessGroupOptions, ReduceOp, CoalescedOptions } from './process-group.js';
export { broadcastParameters, GradientSynchronizer, assertSameOnAllRanks } from './gradients.js';
export type { GradientSynchronizerOptions } from './gradients.js';
export { reduceMetrics } from './metrics.js';
export { launch, launchPeers, freePort, LaunchError } from './launch.js';
export type { LaunchOptions, LaunchResult, PeerLaunch } from './launch.js';
export { DistributedDataParallel } from './ddp.js';
export type { DistributedDataParallelOptions } from './ddp.js';
