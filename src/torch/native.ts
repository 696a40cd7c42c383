// Loads the native addon (native/, built with cmake-js) and describes its
// surface. Everything else in src/torch talks to libtorch through here.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../util/package-root.js';

/** An opaque reference to a libtorch tensor owned by the addon. */
export type Handle = object & { readonly __handle: unique symbol };

export interface BuildInfo {
  torchVersion: string;
  config: string;
  parallelInfo: string;
  openblas: string | null;
  openblasCore: string | null;
  /** libtorch's CUDA part (torch_cuda) is linked in, whether or not a GPU is visible. */
  cudaBuild: boolean;
  cudaAvailable: boolean;
  ncclAvailable: boolean;
  cudaDeviceCount: number;
  avx2: boolean;
  avx512f: boolean;
  avx512bf16: boolean;
  hardwareThreads: number;
}

export interface NativeAddon {
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  shape(h: Handle): number[];
  strides(h: Handle): number[];
  dtype(h: Handle): number;
  device(h: Handle): string;
  numel(h: Handle): number;
  dim(h: Handle): number;
  isContiguous(h: Handle): boolean;
  requiresGrad(h: Handle): boolean;
  setRequiresGrad(h: Handle, flag: boolean): void;
  isLeaf(h: Handle): boolean;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  isSame(a: Handle, b: Handle): boolean;
  setData(h: Handle, src: Handle): void;
  version(h: Handle): number;
  liveTensors(): number;
  accountExternal(h: Handle): void;
  toString(h: Handle): string;
  findOp(name: string, overload: string): number;
  opSchema(id: number): string;
  callOp(id: number, args: unknown[]): unknown;
  backward(tensors: Handle[], grads: (Handle | null)[] | null, retainGraph: boolean, createGraph: boolean): void;
  autogradGrad(outputs: Handle[], inputs: Handle[], gradOutputs: (Handle | null)[] | null, retainGraph: boolean | undefined,
    createGraph: boolean, allowUnused: boolean): (Handle | null)[];
  setGradEnabled(flag: boolean): boolean;
  isGradEnabled(): boolean;
  autocastEnter(deviceType: string, dtype: number): unknown;
  autocastExit(deviceType: string, previous: unknown): void;
  retainGrad(h: Handle): void;
  hasGradFn(h: Handle): boolean;
  pickleSave(value: unknown): Buffer;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  getRngState(): Handle;
  setRngState(state: Handle): void;
  buildInfo(): BuildInfo;
  cudaSetDevice(index: number): void;
  cudaCurrentDevice(): number;
  cudaSynchronize(index?: number): void;
  backendFlags(): import('./backends.js').BackendFlags;
  setBackendFlag(name: string, value: unknown, warnOnly?: boolean): void;
  cpuAllocatorStats(): import('./runtime.js').CpuAllocatorStats;
  cpuEmptyCache(): number;
  cpuResetPeakStats(): void;
  profilerStart(recordShapes: boolean): void;
  profilerStop(): { topLevelSeconds: number; ops: import('./profiler.js').OpProfile[] };
  benchConv(inputShape: number[], weightShape: number[], stride: number, padding: number, groups: number,
    iterations: number, withBackward: boolean): number;
  benchTinyAdd(iterations: number): number;
  choleskyOrthogonalize(x: Handle, stable: boolean): Handle;
  maxMin(x: Handle, dim: number): Handle;
  bjorck(x: Handle, beta: number, iterations: number): Handle;
  groupedConv3x3ChannelsLast(x: Handle, weight: Handle): Handle;
  pgCreate(rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number, device: string,
    backend: 'gloo' | 'nccl'): GroupHandle;
  pgDestroy(g: GroupHandle): void;
  pgAllReduce(g: GroupHandle, t: Handle, op: string): Handle;
  pgBroadcast(g: GroupHandle, t: Handle, root: number): Handle;
  pgAllGather(g: GroupHandle, t: Handle): Handle[];
  pgBarrier(g: GroupHandle): void;
  pgAllReduceCoalesced(g: GroupHandle, tensors: Handle[], bucketBytes: number, op: string): number;
  pgInfo(g: GroupHandle): { rank: number; worldSize: number; backend: string; broken: boolean };
  reducerCreate(g: GroupHandle, params: Handle[], names: string[], bucketCapBytes: number, firstBucketBytes: number,
    findUnusedParameters: boolean, gradientAsBucketView: boolean): ReducerHandle;
  reducerPrepareForward(r: ReducerHandle): boolean;
  reducerPrepareBackward(r: ReducerHandle, outputs: Handle[]): void;
  reducerBackward(r: ReducerHandle, loss: Handle, retainGraph?: boolean, createGraph?: boolean): void;
  reducerBuckets(r: ReducerHandle): number[];
  reducerDestroy(r: ReducerHandle): void;
}

/** An opaque reference to a c10d process group owned by the addon. */
export type GroupHandle = object & { readonly __group: unique symbol };

/** An opaque reference to a c10d::Reducer (DistributedDataParallel's gradient engine) owned by the addon. */
export type ReducerHandle = object & { readonly __reducer: unique symbol };

function loadAddon(): NativeAddon {
  const override = process.env.ORTHOGONIUM_NATIVE;
  const path = override ? resolve(override) : join(packageRoot(), 'build', 'Release', 'orthogonium_native.node');
  if (!existsSync(path)) {
    throw new Error(`orthogonium-ts: the native addon is not built (${path} is missing). ` +
      'Run `npm run build:native` (needs libtorch: `apt-get install libtorch-dev libopenblas0-pthread`, or LIBTORCH=/path/to/libtorch).');
  }
  return createRequire(import.meta.url)(path) as NativeAddon;
}

export const native: NativeAddon = loadAddon();
