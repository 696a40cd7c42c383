// DistributedDataParallel, as torch.nn.parallel's: wraps a module so that
// backward() averages its gradients over the ranks while backward is still
// running. The gradient work is libtorch's own c10d::Reducer (bucketing,
// autograd hooks, all-reduce launched per bucket as soon as its gradients
// are ready, bucket order rebuilt from the first iteration's arrival order);
// this class adds the module-level parts: rank 0's weights at construction,
// rank 0's buffers before each forward, no_sync, and clear errors.
import { Module } from '../nn/index.js';
import { Tensor, cat, isGradEnabled, noGrad, scope } from '../torch/index.js';
import { native, ReducerHandle } from '../torch/native.js';
import { ProcessGroup, getDefaultGroup } from './process-group.js';
import { broadcastParameters } from './gradients.js';

export interface DistributedDataParallelOptions {
  group?: ProcessGroup;
  /** Bucket size in MiB. Default 25 with a 1 MiB first bucket, so communication starts early (as PyTorch); a given size applies to every bucket. */
  bucketCapMB?: number;
  /** Walk the graph from the outputs to find parameters that got no gradient this step (default false: every parameter must get one). */
  findUnusedParameters?: boolean;
  /** Let each .grad be a view into its bucket, saving one copy and one gradient's worth of memory (default false). */
  gradientAsBucketView?: boolean;
  /** Copy rank 0's buffers to every rank before each forward (default true, as PyTorch). */
  broadcastBuffers?: boolean;
}

const FIRST_BUCKET_BYTES = 1024 * 1024;

/** Tensors inside a forward's output (a tensor, or arrays/objects of them). */
function tensorsIn(value: unknown, out: Tensor[] = []): Tensor[] {
  if (value instanceof Tensor) out.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) tensorsIn(v, out);
  return out;
}

/** Broadcasts `tensors` from `root` with one collective per dtype, in place. */
function broadcastCoalesced(tensors: Tensor[], root: number, group: ProcessGroup): void {
  const byDtype = new Map<string, Tensor[]>();
  for (const t of tensors) byDtype.set(t.dtype, [...(byDtype.get(t.dtype) ?? []), t]);
  noGrad(() => scope(() => {
    for (const list of byDtype.values()) {
      const flat = cat(list.map((t) => t.reshape([-1])));
      group.broadcast(flat, root);
      let offset = 0;
      for (const t of list) {
        t.copy_(flat.narrow(0, offset, t.numel()).view(t.shape));
        offset += t.numel();
      }
    }
  }));
}

export class DistributedDataParallel<M extends Module = Module> extends Module {
  readonly module: M;
  readonly group: ProcessGroup;
  readonly findUnusedParameters: boolean;
  readonly broadcastBuffers: boolean;
  private reducer: ReducerHandle | null;
  /** The parameters whose gradients are averaged: those requiring a gradient when the wrapper was made. */
  readonly reducedParameters: readonly Tensor[];
  private requireBackwardGradSync = true;

  constructor(module: M, options: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new TypeError('DistributedDataParallel: expected a Module to wrap');
    const bucketCapMB = options.bucketCapMB ?? 25;
    if (!(bucketCapMB > 0)) throw new RangeError(`DistributedDataParallel: bucketCapMB must be positive, got ${options.bucketCapMB}`);
    this.module = this.registerModule('module', module);
    this.group = options.group ?? getDefaultGroup();
    this.findUnusedParameters = options.findUnusedParameters ?? false;
    this.broadcastBuffers = options.broadcastBuffers ?? true;
    if (this.group.backend === 'nccl') {
      const onHost = [...module.namedParameters()].find(([, p]) => !p.isCuda);
      if (onHost) {
        throw new TypeError(`DistributedDataParallel: parameter '${onHost[0]}' is on ${onHost[1].device}, but the nccl process group ` +
          `works on CUDA tensors: move the module to ${this.group.device} before wrapping it`);
      }
    }
    // Same architecture everywhere (checked, with the disagreeing ranks named) and rank 0's values.
    broadcastParameters(module, 0, this.group);
    const named = [...module.namedParameters()].filter(([, p]) => p.requiresGrad);
    this.reducedParameters = named.map(([, p]) => p);
    this.reducer = native.reducerCreate(this.group._handle, named.map(([, p]) => p.handle), named.map(([n]) => n),
      bucketCapMB * 1024 * 1024, options.bucketCapMB === undefined ? FIRST_BUCKET_BYTES : bucketCapMB * 1024 * 1024, this.findUnusedParameters, options.gradientAsBucketView ?? false);
  }

  private get r(): ReducerHandle {
    if (this.reducer === null) throw new Error('DistributedDataParallel: used after destroy()');
    return this.reducer;
  }

  /** Runs the wrapped module; when gradients are on, its next backward averages them over the ranks. */
  forward(input: Tensor, ...rest: unknown[]): ReturnType<M['forward']> {
    this.preForward();
    const output = this.module.forward(input, ...rest) as ReturnType<M['forward']>;
    this.postForward(output);
    return output;
  }

  /**
   * What forward() does before the module runs (for loops that call the
   * module some other way, like the Trainer's trainingStep): rebuilds the
   * buckets once the first iteration has shown the gradients' order, and
   * brings rank 0's buffers. Every rank must call it at the same step.
   */
  preForward(options: { syncBuffers?: boolean } = {}): void {
    if (isGradEnabled() && this.requireBackwardGradSync) native.reducerPrepareForward(this.r);
    // Not before a further backward of a forward already run: its graph saved the buffers (BatchNorm's statistics).
    if ((options.syncBuffers ?? true) && this.broadcastBuffers && this.requireBackwardGradSync) {
      const buffers = this.module.buffers();
      if (buffers.length > 0) broadcastCoalesced(buffers, 0, this.group);
    }
  }

  /** What forward() does after the module ran: arms the reducer for the coming backward. */
  postForward(output: unknown): void {
    if (!isGradEnabled() || !this.requireBackwardGradSync) return;
    native.reducerPrepareBackward(this.r, this.findUnusedParameters ? tensorsIn(output).map((t) => t.handle) : []);
  }

  /**
   * loss.backward(), with a failed all-reduce (a rank that died or stopped
   * answering) reported as such. Plain loss.backward() averages just as well.
   */
  backward(loss: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.reducerBackward(this.r, loss.handle, options.retainGraph ?? options.createGraph ?? false, options.createGraph ?? false);
  }

  /** Runs `fn` without averaging: gradients of the backward passes inside accumulate locally (as PyTorch's no_sync()). */
  noSync<T>(fn: () => T): T {
    const previous = this.requireBackwardGradSync;
    this.requireBackwardGradSync = false;
    try {
      return fn();
    } finally {
      this.requireBackwardGradSync = previous;
    }
  }

  /** Number of gradient elements in each bucket, in the order they are reduced. */
  get bucketSizes(): number[] {
    return native.reducerBuckets(this.r);
  }

  /** Removes the gradient hooks (idempotent); the wrapped module stays usable alone. */
  destroy(): void {
    if (this.reducer === null) return;
    native.reducerDestroy(this.reducer);
    this.reducer = null;
  }

  [Symbol.dispose](): void { this.destroy(); }
}
