// Deterministic memory management. JS garbage collection cannot see native
// tensor memory and Node runs finalizers only when the event loop turns, so
// tensors are freed by scopes: everything created inside `scope(fn)` is
// disposed when it returns, except what it returns or explicitly keeps.

/** Anything that owns native memory and can be freed now. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

export interface Tracked extends Disposable {
  /** The scope that will free this object, or null when none does. */
  _scope: Set<Tracked> | null;
  /** Called when no scope owns the object any more: only the garbage collector (or dispose) will free it. */
  _unowned?(): void;
}

const stack: Set<Tracked>[] = [];

/** Called by every new tensor: the innermost open scope becomes its owner. */
export function track(item: Tracked): void {
  const current = stack[stack.length - 1];
  if (current) {
    current.add(item);
    item._scope = current;
  } else {
    item._unowned?.();
  }
}

/** Removes the objects from every scope: they live until disposed by hand. */
export function keep<T>(value: T): T {
  forEachTracked(value, (item) => {
    item._scope?.delete(item);
    item._scope = null;
    item._unowned?.();
  });
  return value;
}

function forEachTracked(value: unknown, fn: (item: Tracked) => void, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ('_scope' in value && 'dispose' in value) {
    fn(value as Tracked);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) forEachTracked(v, fn, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) forEachTracked(v, fn, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) forEachTracked(v, fn, seen);
  }
}

/**
 * Runs `fn` and disposes every tensor it created, except the ones found in
 * its result (a tensor, or arrays / plain objects / Maps holding tensors),
 * which move to the enclosing scope. `fn` must be synchronous: for async
 * code, open one scope per synchronous step.
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tracked>();
  stack.push(mine);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new TypeError('scope(fn): fn returned a Promise; scopes track synchronous work only (open a scope per step instead)');
    }
  } catch (error) {
    stack.pop();
    disposeAll(mine);
    throw error;
  }
  stack.pop();
  const parent = stack[stack.length - 1] ?? null;
  forEachTracked(result, (item) => {
    if (item._scope !== mine) return;
    mine.delete(item);
    item._scope = parent;
    if (parent) parent.add(item);
    else item._unowned?.();
  });
  disposeAll(mine);
  return result;
}

function disposeAll(items: Set<Tracked>): void {
  for (const item of items) {
    item._scope = null;
    item.dispose();
  }
  items.clear();
}

/** Disposes every tensor found in `value` (arrays, plain objects and Maps are searched). */
export function dispose(value: unknown): void {
  forEachTracked(value, (item) => item.dispose());
}

/** How many scopes are open now (for tests and diagnostics). */
export const scopeDepth = (): number => stack.length;
