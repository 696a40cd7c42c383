// Parametrizations, like torch.nn.utils.parametrize: a layer's weight is
// computed from raw tensors by a chain of modules (normalizers,
// orthogonalizers). The raw tensor lives at `parametrizations.<name>.original`
// and each step's own state at `parametrizations.<name>.<i>.…`, the names
// PyTorch uses, so checkpoints map one to one.
//
// Caching: the computed weight is reused while its inputs are unchanged
// (tracked by autograd version counters) whenever no gradient can be wanted —
// grad mode off, or the module in eval mode — and within a cached() region.
// In training with gradients it is recomputed on every use.
import { Tensor, isGradEnabled, keep, noGrad, withoutAutocast } from '../torch/index.js';
import { Module } from './module.js';
import { ModuleDict } from './containers.js';

/** One step of a parametrization chain: maps the raw tensor to the constrained one. */
export abstract class Parametrization extends Module {
  abstract override forward(x: Tensor): Tensor;
  /** Optional inverse used when registering: the raw value that maps to `w`. */
  rightInverse?(w: Tensor): Tensor;
}

let cachedDepth = 0;
const cachedRegionLists = new Set<ParametrizationList>();

/**
 * Runs fn computing each parametrized weight at most once (like
 * `parametrize.cached()`), even with gradients on; the cache is dropped at exit.
 */
export function cached<T>(fn: () => T): T {
  cachedDepth++;
  try {
    return fn();
  } finally {
    cachedDepth--;
    if (cachedDepth === 0) {
      for (const list of cachedRegionLists) list.invalidate();
      cachedRegionLists.clear();
    }
  }
}

export class ParametrizationList extends Module {
  readonly original: Tensor;
  private readonly steps: Parametrization[];
  private cache: { value: Tensor; versions: number[]; withGraph: boolean } | null = null;

  constructor(steps: Parametrization[], original: Tensor) {
    super();
    this.steps = steps;
    steps.forEach((step, i) => this.registerModule(String(i), step));
    this.original = this.registerParameter('original', original);
  }

  forward(): Tensor { return this.compute(); }

  // Weights are built in the parameters' precision, also under autocast (see withoutAutocast).
  private computeFresh(): Tensor {
    return withoutAutocast(() => this.applySteps());
  }

  private applySteps(): Tensor {
    let w = this.original;
    for (const step of this.steps) {
      const next = step.forward(w);
      if (w !== this.original && next !== w) w.dispose();
      w = next;
    }
    return w === this.original ? w.detach() : w;
  }

  private versions(): number[] {
    return [this.original.version, ...this.buffers().map((b) => b.version)];
  }

  /** The constrained tensor, from the cache when allowed and still valid. */
  compute(): Tensor {
    const gradEnabled = isGradEnabled();
    const inCachedRegion = cachedDepth > 0;
    const mayCache = inCachedRegion || !gradEnabled || !this.training;
    if (!mayCache) return this.computeFresh();
    // Inside cached() with gradients on, only a cache that carries the graph will do.
    const needGraph = inCachedRegion && gradEnabled;
    if (this.cache) {
      const now = this.versions();
      const fresh = now.length === this.cache.versions.length && now.every((v, i) => v === this.cache!.versions[i]);
      if (fresh && (this.cache.withGraph || !needGraph)) return needGraph ? this.cache.value.view(this.cache.value.shape) : this.cache.value.detach();
      this.invalidate();
    }
    // Outside an explicit cached() region, a cached weight is a constant.
    const value = keep(needGraph ? this.computeFresh() : noGrad(() => this.computeFresh()));
    this.cache = { value, versions: this.versions(), withGraph: needGraph };
    if (needGraph) {
      cachedRegionLists.add(this);
      // Inside cached() the graph must flow to the raw parameters: hand out a view, not a detached copy.
      return value.view(value.shape);
    }
    return value.detach();
  }

  invalidate(): void {
    this.cache?.value.dispose();
    this.cache = null;
  }

  protected override dropCaches(): void {
    super.dropCaches();
    this.invalidate();
  }
}

/**
 * Makes `module[name]` computed by `steps` applied to a raw tensor. The raw
 * tensor starts as the current parameter (or its right inverse when the
 * first step defines one).
 */
export function registerParametrization(module: Module, name: string, ...steps: Parametrization[]): void {
  if (steps.length === 0) throw new TypeError('registerParametrization: give at least one parametrization');
  if (module.isParametrized(name)) throw new Error(`${module.typeName}.${name} is already parametrized`);
  const current = module._takeParameter(name);
  if (!current) throw new Error(`${module.typeName} has no parameter '${name}' to parametrize`);
  let original = current;
  const inverse = steps[0].rightInverse?.bind(steps[0]);
  if (inverse) {
    const inverted = noGrad(() => inverse(current));
    original = inverted.detach();
    if (inverted !== current) inverted.dispose(); // the detached handle keeps the storage
    current.dispose();
  }
  let dict: ModuleDict;
  try {
    dict = module.getSubmodule('parametrizations') as ModuleDict;
  } catch {
    dict = module.registerModule('parametrizations', new ModuleDict());
  }
  const list = new ParametrizationList(steps, original);
  dict.set(name, list);
  // Like PyTorch (which evaluates a parametrization when registering it), run the chain once: in
  // training mode this advances running state such as power-iteration vectors, whose random start an
  // immediate evaluation would otherwise use as is (an underestimated norm can make Björck diverge).
  noGrad(() => list.compute()).dispose();
  list.invalidate();
}

/** Removes a parametrization, keeping the current computed value as a plain parameter. */
export function removeParametrization(module: Module, name: string): void {
  if (!module.isParametrized(name)) throw new Error(`${module.typeName}.${name} is not parametrized`);
  const dict = module.getSubmodule('parametrizations') as ModuleDict;
  const list = dict.get(name) as ParametrizationList;
  const value = noGrad(() => list.compute()).clone();
  dict.delete(name);
  list.dispose();
  module.registerParameter(name, value);
}
