// Module: the base of every layer and network, modelled on torch.nn.Module —
// registered parameters, buffers and children with dotted names, train/eval
// mode, state dicts, device/dtype moves.
import { Tensor, noGrad, keep } from '../torch/index.js';
import type { DType } from '../torch/index.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class StateDictError extends Error {
  constructor(readonly missingKeys: string[], readonly unexpectedKeys: string[], readonly shapeMismatches: string[], moduleName: string) {
    const parts: string[] = [];
    if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
    if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (shapeMismatches.length) parts.push(`shape mismatches: ${shapeMismatches.join('; ')}`);
    super(`error loading state dict into ${moduleName}: ${parts.join(' | ')}`);
    this.name = 'StateDictError';
  }
}

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module | null>();
  private readonly _caches: { clear(): void }[] = [];

  /** Computes the module's output. Subclasses narrow the signature. */
  abstract forward(input: Tensor, ...rest: unknown[]): unknown;

  /** The class name, used in summaries and error messages. */
  get typeName(): string { return this.constructor.name; }

  // ---- registration ---------------------------------------------------------
  /** Registers a trainable tensor (made a leaf with requiresGrad) and returns it. */
  registerParameter(name: string, value: Tensor | null, requiresGrad = true): Tensor {
    checkName(name, this);
    if (value !== null) {
      keep(value);
      if (requiresGrad && !value.requiresGrad) value.requiresGrad_(true);
    }
    this._parameters.set(name, value);
    return value as Tensor;
  }

  /** Registers a state tensor that is not trained (running stats, power-iteration vectors …). */
  registerBuffer(name: string, value: Tensor | null, persistent = true): Tensor {
    checkName(name, this);
    if (value !== null) keep(value);
    this._buffers.set(name, value);
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    return value as Tensor;
  }

  registerModule<M extends Module | null>(name: string, module: M): M {
    checkName(name, this);
    this._modules.set(name, module);
    return module;
  }

  /** Replaces a registered buffer's tensor (the old one is disposed). */
  protected setBuffer(name: string, value: Tensor): void {
    if (!this._buffers.has(name)) throw new Error(`${this.typeName} has no buffer '${name}'`);
    const old = this._buffers.get(name);
    keep(value);
    this._buffers.set(name, value);
    if (old && old !== value) old.dispose();
  }

  /** @internal removes a parameter from the registry without disposing it (used by parametrizations). */
  _takeParameter(name: string): Tensor | null {
    const p = this._parameters.get(name) ?? null;
    this._parameters.delete(name);
    return p;
  }

  getParameter(name: string): Tensor | null { return this._parameters.get(name) ?? null; }

  /**
   * The tensor a layer should use for `name`: the parametrized value when a
   * parametrization is registered for it (see parametrize.ts), else the plain parameter.
   */
  protected weightOf(name: string): Tensor {
    const list = this._modules.get('parametrizations')?._modules.get(name) as unknown as { compute?: () => Tensor } | undefined;
    if (list?.compute) return list.compute();
    const p = this._parameters.get(name) ?? this._buffers.get(name);
    if (!p) throw new Error(`${this.typeName} has no parameter '${name}'`);
    return p;
  }

  /** True when `name` is computed by a parametrization. */
  isParametrized(name?: string): boolean {
    const dict = this._modules.get('parametrizations');
    if (!dict) return false;
    return name === undefined ? dict._modules.size > 0 : dict._modules.has(name);
  }
  getBuffer(name: string): Tensor | null { return this._buffers.get(name) ?? null; }
  getSubmodule(path: string): Module {
    let current: Module = this;
    for (const part of path.split('.').filter(Boolean)) {
      const next = current._modules.get(part);
      if (!next) throw new Error(`${this.typeName} has no submodule '${path}' (stopped at '${part}')`);
      current = next;
    }
    return current;
  }

  // ---- traversal --------------------------------------------------------------
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, m] of this._modules) if (m) yield [name, m];
  }
  children(): Module[] { return [...this.namedChildren()].map(([, m]) => m); }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }
  modules(): Module[] { return [...this.namedModules()].map(([, m]) => m); }

  *namedParameters(prefix = '', recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of recurse ? this.namedModules(prefix) : [[prefix, this] as [string, Module]]) {
      for (const [name, p] of m._parameters) {
        if (p && !seen.has(p)) {
          seen.add(p);
          yield [path ? `${path}.${name}` : name, p];
        }
      }
    }
  }
  parameters(recurse = true): Tensor[] { return [...this.namedParameters('', recurse)].map(([, p]) => p); }

  *namedBuffers(prefix = '', recurse = true): Generator<[string, Tensor]> {
    for (const [path, m] of recurse ? this.namedModules(prefix) : [[prefix, this] as [string, Module]]) {
      for (const [name, b] of m._buffers) if (b) yield [path ? `${path}.${name}` : name, b];
    }
  }
  buffers(recurse = true): Tensor[] { return [...this.namedBuffers('', recurse)].map(([, b]) => b); }

  /** Number of parameter elements (trainable only, or all). */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters().filter((p) => !options.trainableOnly || p.requiresGrad).reduce((n, p) => n + p.numel(), 0);
  }

  /** Calls fn on every module (children first), like nn.Module.apply. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes ----------------------------------------------------------------------
  train(mode = true): this {
    for (const m of this.modules()) {
      if (m.training !== mode) {
        m.training = mode;
        m.dropCaches();
      }
    }
    return this;
  }
  eval(): this { return this.train(false); }
  /** Registers a cache of derived tensors, dropped on mode changes, loads, moves and dispose. */
  protected registerCache<C extends { clear(): void }>(cache: C): C {
    this._caches.push(cache);
    return cache;
  }
  /** Drops every registered cache (called on train/eval switches and when parameters are replaced). */
  protected dropCaches(): void {
    for (const cache of this._caches) cache.clear();
  }

  /** Sets requiresGrad on every parameter (false freezes the module), like nn.Module.requires_grad_. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  // ---- state dicts ----------------------------------------------------------------
  /**
   * Parameters and persistent buffers by dotted name, as detached handles
   * sharing the module's storage (dispose them, or call inside a scope).
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [path, m] of this.namedModules()) {
      const at = (name: string) => (path ? `${path}.${name}` : name);
      for (const [name, p] of m._parameters) if (p) out.set(at(name), p.detach());
      for (const [name, b] of m._buffers) if (b && !m._nonPersistent.has(name)) out.set(at(name), b.detach());
    }
    return out;
  }

  /**
   * How to fill this module's own parameter or buffer `name` (unprefixed) when
   * a loaded state dict lacks it, as PyTorch modules do in _load_from_state_dict
   * (BatchNorm: num_batches_tracked of old checkpoints); null (the default):
   * the key is missing. A filled key counts as loaded, strict or not.
   */
  protected missingStateDefault(_name: string): ((target: Tensor) => void) | null {
    return null;
  }

  /**
   * Copies values into the module's tensors (keeping their identity). With
   * strict (default) every key must match (see missingStateDefault); any shape
   * mismatch is an error.
   */
  loadStateDict(state: StateDict | Record<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const targets = new Map<string, Tensor>();
    const defaults = new Map<string, (target: Tensor) => void>();
    for (const [path, m] of this.namedModules()) {
      const at = (name: string) => (path ? `${path}.${name}` : name);
      const add = (name: string, t: Tensor) => {
        targets.set(at(name), t);
        const fill = incoming.has(at(name)) ? null : m.missingStateDefault(name);
        if (fill) defaults.set(at(name), fill);
      };
      for (const [name, p] of m._parameters) if (p) add(name, p);
      for (const [name, b] of m._buffers) if (b && !m._nonPersistent.has(name)) add(name, b);
    }
    const missing = [...targets.keys()].filter((k) => !incoming.has(k) && !defaults.has(k));
    const unexpected = [...incoming.keys()].filter((k) => !targets.has(k));
    const mismatched: string[] = [];
    for (const [key, target] of targets) {
      const value = incoming.get(key);
      if (value && !sameShape(value.shape, target.shape)) {
        mismatched.push(`${key}: checkpoint [${value.shape.join(', ')}] vs model [${target.shape.join(', ')}]`);
      }
    }
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      throw new StateDictError(strict ? missing : [], strict ? unexpected : [], mismatched, this.typeName);
    }
    noGrad(() => {
      for (const [key, target] of targets) {
        const value = incoming.get(key);
        if (value) target.copy_(value);
        else defaults.get(key)?.(target);
      }
    });
    for (const m of this.modules()) m.dropCaches();
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** Moves (or casts) every parameter and buffer in place; floating dtypes only are cast. */
  to(target: DType | string | { dtype?: DType; device?: string }): this {
    const options = typeof target === 'string'
      ? (/^(cpu|cuda|cuda:\d+|meta)$/.test(target) ? { device: target } : { dtype: target as DType })
      : target;
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        const isFloat = t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bfloat16';
        const moved = t.to({ device: options.device, dtype: isFloat ? options.dtype : undefined });
        t.setData(moved);
        moved.dispose();
      }
    });
    for (const m of this.modules()) m.dropCaches();
    return this;
  }

  /** Frees every parameter and buffer of the module tree now. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const p of m._parameters.values()) p?.dispose();
      for (const b of m._buffers.values()) b?.dispose();
      m.dropCaches();
    }
  }

  /** A short description of the module's settings, shown by toString(). */
  extraRepr(): string { return ''; }

  toString(indent = ''): string {
    const children = [...this.namedChildren()];
    const head = `${this.typeName}(${this.extraRepr()}`;
    if (children.length === 0) return `${head})`;
    const inner = children.map(([name, m]) => `${indent}  (${name}): ${m.toString(indent + '  ')}`).join('\n');
    return `${head}${this.extraRepr() ? ',' : ''}\n${inner}\n${indent})`;
  }
}

function checkName(name: string, owner: Module): void {
  if (name === '' || name.includes('.')) throw new TypeError(`${owner.typeName}: invalid attribute name '${name}' (must be non-empty and contain no '.')`);
}

const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
