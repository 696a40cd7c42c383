// Process-wide engine settings and facts: seeds, threads, memory, build.
import { BuildInfo, native } from './native.js';
import { Tensor } from './tensor.js';

/** Seeds libtorch's default generator (all random ops and initializers). */
export const manualSeed = (seed: number): void => native.manualSeed(seed);
/** The CPU generator's state as a uint8 tensor (for checkpoints). */
export const getRngState = (): Tensor => Tensor._wrap(native.getRngState());
export const setRngState = (state: Tensor): void => native.setRngState(state.handle);

/** Intra-op threads libtorch uses (defaults to the number of cores). */
export const getNumThreads = (): number => native.getNumThreads();
export const setNumThreads = (n: number): void => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
};

export interface MemoryStats {
  /** Tensors whose handles are alive (not disposed, not yet finalized). */
  liveTensors: number;
  /** Resident memory of the process in bytes. */
  rss: number;
}

export const memoryStats = (): MemoryStats => ({ liveTensors: native.liveTensors(), rss: process.memoryUsage.rss() });

/**
 * The caching CPU allocator's counters (like `torch.cuda.memory_stats()`): bytes
 * held by live tensors and bytes kept mapped for reuse. Requests under 256 KiB
 * bypass the cache and are not counted. `enabled` is false when the process was
 * started with ORTHOGONIUM_CPU_ALLOCATOR=system (libtorch's own allocator).
 */
export interface CpuAllocatorStats {
  enabled: boolean;
  allocatedBytes: number;
  reservedBytes: number;
  peakAllocatedBytes: number;
  peakReservedBytes: number;
  segments: number;
  allocations: number;
  segmentMaps: number;
}

export const cpuAllocatorStats = (): CpuAllocatorStats => native.cpuAllocatorStats();
/** Unmaps every cached segment no tensor uses (like `torch.cuda.empty_cache()`); returns the bytes released. */
export const emptyCache = (): number => native.cpuEmptyCache();
/** Restarts the peak counters of cpuAllocatorStats() from the current values. */
export const resetPeakMemoryStats = (): void => native.cpuResetPeakStats();

export const buildInfo = (): BuildInfo => native.buildInfo();

export const cuda = {
  isAvailable: (): boolean => native.buildInfo().cudaAvailable,
  /** True when the addon runs on a CUDA build of libtorch, even if no GPU is visible (like `torch.backends.cuda.is_built()`). */
  isBuilt: (): boolean => native.buildInfo().cudaBuild,
  deviceCount: (): number => native.buildInfo().cudaDeviceCount,
  /** Makes `index` this thread's current CUDA device ('cuda' without an index means it), like `torch.cuda.set_device`. */
  setDevice: (index: number): void => native.cudaSetDevice(index),
  /** The current CUDA device's index, like `torch.cuda.current_device()`. */
  currentDevice: (): number => native.cudaCurrentDevice(),
  /** Waits until every kernel queued on GPU `index` (default: the current one) has finished, like `torch.cuda.synchronize`. */
  synchronize: (index?: number): void => native.cudaSynchronize(index),
};

/** True when the addon was built with NCCL's process group (a CUDA libtorch and nccl.h at build time). */
export const ncclAvailable = (): boolean => native.buildInfo().ncclAvailable;
