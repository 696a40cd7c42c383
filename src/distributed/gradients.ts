// The two halves of data-parallel training that touch the model: every rank
// starts from rank 0's weights (broadcastParameters), and after each backward
// the gradients are averaged over the ranks (GradientSynchronizer), so each
// rank's optimizer takes the same step as one process on the global batch.
import { Module } from '../nn/index.js';
import { Tensor, fromTypedArray, noGrad, scope, zerosLike } from '../torch/index.js';
import { ProcessGroup, getDefaultGroup } from './process-group.js';

/** FNV-1a of a string: a 32-bit fingerprint that fits a float64 exactly. */
function fingerprint(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Throws on every rank when the ranks disagree on `description` (compared through a fingerprint). */
export function assertSameOnAllRanks(group: ProcessGroup, description: string, what: string): void {
  const mine = fromTypedArray(new Float64Array([fingerprint(description), description.length]), [2]);
  const all = group.allGather(mine);
  try {
    const values = all.map((t) => t.toFlatArray());
    const differing = values.map((v, r) => (v[0] !== values[group.rank][0] || v[1] !== values[group.rank][1] ? r : -1)).filter((r) => r >= 0);
    if (differing.length > 0) {
      throw new Error(`${what}: rank ${group.rank} and rank${differing.length > 1 ? 's' : ''} ${differing.join(', ')} disagree ` +
        `(rank ${group.rank} has ${description.length > 300 ? description.slice(0, 300) + '…' : description})`);
    }
  } finally {
    mine.dispose();
    for (const t of all) t.dispose();
  }
}

function namedTensorsOf(source: Module | Tensor[]): [string, Tensor][] {
  if (Array.isArray(source)) return source.map((t, i) => [String(i), t]);
  return [...source.namedParameters(), ...source.namedBuffers()];
}

const describe = (named: [string, Tensor][]) => named.map(([n, t]) => `${n}:${t.dtype}[${t.shape.join(',')}]`).join(' ');

/**
 * Copies rank `root`'s parameters and buffers into every rank's module, in
 * place (as DistributedDataParallel does at construction). All ranks must
 * hold the same architecture; a mismatch gives an Error naming the ranks.
 * Returns the number of tensors broadcast.
 */
export function broadcastParameters(source: Module | Tensor[], root = 0, group: ProcessGroup = getDefaultGroup()): number {
  const named = namedTensorsOf(source);
  assertSameOnAllRanks(group, describe(named), 'broadcastParameters: the models differ between ranks');
  noGrad(() => {
    for (const [, t] of named) {
      if (t.isContiguous()) {
        group.broadcast(t, root);
      } else {
        scope(() => t.copy_(group.broadcast(t.contiguous(), root)));
      }
    }
  });
  return named.length;
}

export interface GradientSynchronizerOptions {
  /** Bucket size in MiB for the coalesced all-reduce (default 25, as PyTorch's DDP). */
  bucketMB?: number;
  group?: ProcessGroup;
}

/**
 * Averages the gradients of `parameters` over all ranks after backward():
 * call sync() between loss.backward() and optimizer.step(). Gradients are
 * flattened into buckets and each bucket is all-reduced by one c10d call.
 * A parameter that got no gradient on some ranks counts as a zero gradient
 * there; one that got none on any rank keeps grad === null everywhere.
 */
export class GradientSynchronizer {
  readonly parameters: Tensor[];
  readonly bucketMB: number;
  readonly group: ProcessGroup;
  /** Number of buckets used by the last sync(). */
  lastBuckets = 0;

  constructor(parameters: Iterable<Tensor>, options: GradientSynchronizerOptions = {}) {
    this.parameters = [...parameters].filter((p) => p.requiresGrad);
    this.bucketMB = options.bucketMB ?? 25;
    if (!(this.bucketMB > 0)) throw new RangeError(`GradientSynchronizer: bucketMB must be positive, got ${options.bucketMB}`);
    this.group = options.group ?? getDefaultGroup();
    assertSameOnAllRanks(this.group, describe(this.parameters.map((p, i) => [String(i), p])),
      'GradientSynchronizer: the parameters differ between ranks');
  }

  sync(): void {
    if (this.group.worldSize === 1) return;
    scope(() => {
      const grads = this.parameters.map((p) => p.grad);
      // Ranks must reduce the same list: agree first on which parameters have a gradient anywhere.
      const present = fromTypedArray(Uint8Array.from(grads, (g) => (g === null ? 0 : 1)), [grads.length], { dtype: 'uint8' });
      const anywhere = this.group.allReduce(present, 'max').toFlatArray();
      const list: Tensor[] = [];
      noGrad(() => {
        this.parameters.forEach((p, i) => {
          if (anywhere[i] === 0) return;
          let g = grads[i];
          if (g === null) {
            p.grad = zerosLike(p);
            g = p.grad;
          }
          list.push(g!);
        });
      });
      this.lastBuckets = this.group.allReduceCoalesced(list, { bucketMB: this.bucketMB, op: 'avg' });
    });
  }
}
