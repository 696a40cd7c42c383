// The Optimizer base class: parameter groups, per-parameter state, zeroGrad,
// and state dicts in PyTorch's layout. Subclasses only write `updateGroup`.
import { noGrad } from '../torch/autograd.js';
import { zerosLike } from '../torch/creation.js';
import { keep, scope } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { asEntries, camelToSnake, snakeToCamel, sameShape } from './util.js';

/** A hyperparameter value that a state dict can hold (betas are number pairs). */
export type HyperValue = number | boolean | string | null | number[];

/** The hyperparameters every optimizer has. */
export interface BaseHyper { lr: number }

/** A parameter group: its tensors, its hyperparameters (mutable, e.g. lr for schedulers) and scheduler bookkeeping. */
export type ParamGroup<H extends BaseHyper = BaseHyper> = H & { params: Tensor[]; [key: string]: unknown };

/** What the constructor accepts for one group: tensors plus hyperparameters overriding the defaults. */
export type ParamGroupSpec<H> = { params: Iterable<Tensor> } & Partial<H>;

/**
 * One state value: a tensor (owned by the optimizer), a number such as the
 * step count, or a list of these (LBFGS's history; null marks an unused slot).
 */
export type StateValue = Tensor | number | null | StateValue[];

/** Per-parameter state: named tensors, numbers and lists of them. */
export type ParamState = Record<string, StateValue>;

/** PyTorch's layout: state by parameter index, groups list their parameters as indices; keys are snake_case. */
export interface OptimizerStateDict {
  state: Map<number, ParamState>;
  param_groups: Array<{ params: number[]; [key: string]: HyperValue }>;
}

export abstract class Optimizer<H extends BaseHyper = BaseHyper> {
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  /** State per parameter tensor; every tensor in it is kept out of scopes and freed by dispose(). */
  protected readonly state = new Map<Tensor, ParamState>();
  /** Group keys whose state-dict name is not their snake_case form (e.g. schedule-free's rPower is 'r'). */
  protected readonly keyAliases: Record<string, string> = {};
  /** State entries that are numbers here but may be 0-d tensors in PyTorch files (e.g. NAdam's mu_product). */
  protected readonly scalarStateKeys: ReadonlySet<string> = new Set(['step']);
  private disposed = false;

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<H>>, defaults: H) {
    this.defaults = defaults;
    const items = Array.from(params as Iterable<Tensor | ParamGroupSpec<H>>);
    if (items.length === 0) throw new TypeError(`${this.name}: got an empty parameter list`);
    const groups = items.every((p) => p instanceof Tensor)
      ? [{ params: items as Tensor[] } as unknown as ParamGroupSpec<H>]
      : items;
    for (const group of groups) {
      if (group instanceof Tensor) throw new TypeError(`${this.name}: pass either tensors or parameter groups ({ params, ... }), not a mix`);
      this.addParamGroup(group);
    }
  }

  /** The class name, used in error messages. */
  get name(): string { return this.constructor.name; }

  /** True for optimizers whose step() evaluates the closure several times (LBFGS): trainers must pass the whole training step as the closure. */
  get requiresClosure(): boolean { return false; }

  /** Checks one group's hyperparameters; throws a RangeError naming the bad option. */
  protected abstract validate(hyper: H): void;

  /** Updates the parameters of one group; runs under noGrad inside a scope. */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** Adds a group (e.g. for layers unfrozen later); missing hyperparameters take the defaults. */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    this.assertAlive();
    if (spec === null || typeof spec !== 'object' || !('params' in spec)) {
      throw new TypeError(`${this.name}: a parameter group must be an object with a 'params' array`);
    }
    const params = spec.params instanceof Tensor ? [spec.params] : Array.from(spec.params);
    if (params.length === 0) throw new TypeError(`${this.name}: parameter group ${this.paramGroups.length} has no parameters`);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${this.name}: parameter ${i} of group ${this.paramGroups.length} is not a Tensor`);
      if (!p.isLeaf) throw new TypeError(`${this.name}: parameter ${i} of group ${this.paramGroups.length} is not a leaf tensor (it has a grad_fn); optimize leaves only`);
      if (seen.has(p)) throw new TypeError(`${this.name}: a parameter appears more than once among the parameter groups`);
      seen.add(p);
    });
    const group = { ...structuredClone(this.defaults), ...cloneHyper(spec), params } as ParamGroup<H>;
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** One optimization step on every parameter that has a gradient. An optional closure recomputes the loss first (with grad enabled). */
  step<T = void>(closure?: () => T): T | undefined {
    this.assertAlive();
    const loss = closure ? closure() : undefined;
    noGrad(() => scope(() => {
      for (const group of this.paramGroups) this.updateGroup(group);
    }));
    return loss;
  }

  /** Clears the gradients: removes them (default, frees memory) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    noGrad(() => scope(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (setToNone) {
            p.grad = null;
            continue;
          }
          const g = p.grad;
          if (g === null) continue;
          if (g.hasGradFn) g.detach_();
          g.zero_();
        }
      }
    }));
  }

  /** The state of `p` (empty at first). Tensors put in it must be kept (keep()) so scopes leave them alone. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * The state of `p` advanced by one step: on its first step, `step` starts at
   * 0 and each named buffer at zeros like `p` (kept); then `step` is
   * incremented. Returns the state and the new step count.
   */
  protected advanceState(p: Tensor, buffers: readonly string[]): { state: ParamState; step: number } {
    const state = this.stateOf(p);
    if (state.step === undefined) {
      state.step = 0;
      for (const name of buffers) state[name] = keep(zerosLike(p));
    }
    const step = (state.step as number) + 1;
    state.step = step;
    return { state, step };
  }

  /** The state as PyTorch lays it out. The tensors are the optimizer's own: do not dispose them; loadStateDict copies. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const param_groups = this.paramGroups.map((group) => {
      const hyper: Record<string, HyperValue> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key !== 'params') hyper[this.savedKey(key)] = cloneValue(value) as HyperValue;
      }
      // Indices run over all groups in order, as in PyTorch.
      const params = group.params.map((p) => {
        const i = index.size;
        index.set(p, i);
        return i;
      });
      return { ...hyper, params };
    });
    const state = new Map<number, ParamState>();
    for (const [p, s] of this.state) {
      const i = index.get(p);
      // Lists are copied (an optimizer may grow or shrink its own); the tensors are shared.
      if (i !== undefined) state.set(i, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, cloneValue(v) as StateValue])));
    }
    return { state, param_groups };
  }

  /**
   * Restores a state dict from stateDict() (or a loaded .pt file, where dicts
   * are Maps). State tensors are copied to each parameter's dtype and device.
   * Nothing changes when the dict does not match this optimizer.
   */
  loadStateDict(stateDict: OptimizerStateDict | Map<string, unknown>): void {
    this.assertAlive();
    const where = `${this.name}.loadStateDict`;
    const root = new Map(asEntries(stateDict, where));
    const savedGroups = root.get('param_groups');
    if (!Array.isArray(savedGroups)) throw new TypeError(`${where}: the state dict has no 'param_groups' array`);
    if (savedGroups.length !== this.paramGroups.length) {
      throw new RangeError(`${where}: the state dict has ${savedGroups.length} parameter groups but this optimizer has ${this.paramGroups.length}`);
    }
    const byId = new Map<string, Tensor>();
    const hypers = savedGroups.map((saved, g) => {
      const entries = new Map(asEntries(saved, `${where}: param_groups[${g}]`));
      const ids = entries.get('params');
      const params = this.paramGroups[g].params;
      if (!Array.isArray(ids)) throw new TypeError(`${where}: param_groups[${g}] has no 'params' list`);
      if (ids.length !== params.length) {
        throw new RangeError(`${where}: parameter group ${g} has ${ids.length} parameters in the state dict but ${params.length} in this optimizer`);
      }
      ids.forEach((id, i) => byId.set(String(id), params[i]));
      const hyper: Record<string, unknown> = {};
      for (const [key, value] of entries) if (key !== 'params') hyper[this.groupKey(String(key))] = cloneValue(value);
      this.validate({ ...this.paramGroups[g], ...hyper } as ParamGroup<H>);
      return hyper;
    });
    const savedState = root.get('state') ?? new Map();
    const fresh = scope(() => {
      const out = new Map<Tensor, ParamState>();
      try {
        for (const [id, entry] of asEntries(savedState, `${where}: state`)) {
          const p = byId.get(String(id));
          if (p === undefined) throw new RangeError(`${where}: state entry ${String(id)} names no parameter of the param_groups`);
          out.set(p, keep(this.restoreEntry(p, entry, `${where}: state of parameter ${String(id)}`)));
        }
      } catch (error) {
        for (const s of out.values()) disposeState(s);
        throw error;
      }
      return out;
    });
    this.clearState();
    for (const [p, s] of fresh) this.state.set(p, s);
    hypers.forEach((hyper, g) => Object.assign(this.paramGroups[g], hyper));
  }

  /** One parameter's saved state, copied onto `p`'s dtype and device; each value goes through restoreStateValue. */
  protected restoreEntry(p: Tensor, entry: unknown, where: string): ParamState {
    const out: ParamState = {};
    for (const [key, value] of asEntries(entry, where)) {
      const name = String(key);
      out[name] = this.restoreStateValue(p, name, value, where);
    }
    return out;
  }

  /**
   * One saved state value for `p`: numbers as they are, 0-d tensors of
   * scalarStateKeys as numbers, tensors (shaped like `p`) copied. Subclasses
   * with other kinds of state (lists, flat buffers) override it for their keys.
   * Runs inside a scope: tensors it creates are kept by the caller.
   */
  protected restoreStateValue(p: Tensor, name: string, value: unknown, where: string): StateValue {
    if (typeof value === 'number') return value;
    if (value instanceof Tensor && this.scalarStateKeys.has(name) && value.shape.length === 0) {
      return value.item(); // PyTorch stores step counts (and NAdam's mu_product) as 0-d tensors
    }
    if (value instanceof Tensor) {
      if (!sameShape(value.shape, p.shape)) {
        throw new RangeError(`${where}: '${name}' has shape [${value.shape.join(', ')}] but the parameter has shape [${p.shape.join(', ')}]`);
      }
      return value.to({ dtype: p.dtype, device: p.device, copy: true });
    }
    throw new TypeError(`${where}: '${name}' is neither a tensor nor a number`);
  }

  private savedKey(key: string): string { return this.keyAliases[key] ?? camelToSnake(key); }

  private groupKey(saved: string): string {
    const alias = Object.entries(this.keyAliases).find(([, s]) => s === saved);
    return alias ? alias[0] : snakeToCamel(saved);
  }

  private clearState(): void {
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
  }

  /** Frees the state tensors (moments, buffers); the optimizer cannot be used afterwards. */
  dispose(): void {
    this.clearState();
    this.disposed = true;
  }
  [Symbol.dispose](): void { this.dispose(); }
  get isDisposed(): boolean { return this.disposed; }

  protected assertAlive(): void {
    if (this.disposed) throw new Error(`${this.name}: this optimizer has been disposed`);
  }
}

function disposeState(s: ParamState): void {
  const free = (v: StateValue): void => {
    if (v instanceof Tensor) v.dispose();
    else if (Array.isArray(v)) v.forEach(free);
  };
  Object.values(s).forEach(free);
}

function cloneValue(value: unknown): unknown {
  return Array.isArray(value) ? value.map(cloneValue) : value;
}

function cloneHyper<H>(spec: ParamGroupSpec<H>): Partial<H> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(spec)) if (key !== 'params') out[key] = cloneValue(value);
  return out as Partial<H>;
}
