// Calls ATen operators by schema name ("add.Tensor", "conv2d") through the
// addon's generic entry point. Tensors become handles on the way in, and
// handles become Tensors on the way out.
import { native } from './native.js';
import { Tensor } from './tensor.js';

const ids = new Map<string, number>();

function opId(name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    const dot = name.indexOf('.');
    id = dot < 0 ? native.findOp(`aten::${name}`, '') : native.findOp(`aten::${name.slice(0, dot)}`, name.slice(dot + 1));
    ids.set(name, id);
  }
  return id;
}

function toNative(value: unknown): unknown {
  if (value instanceof Tensor) return value.handle;
  if (Array.isArray(value)) return value.map((v) => (v instanceof Tensor ? v.handle : v));
  return value;
}

// In-place operators (`add_`, `copy_` …) hand back the caller's own handle:
// return the argument's Tensor itself rather than a second wrapper, which the
// current scope would otherwise dispose — freeing the argument with it.
function fromNative(value: unknown, args: readonly unknown[]): unknown {
  if (value === null || value === undefined || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => fromNative(v, args));
  for (const arg of args) if (arg instanceof Tensor && !arg.isDisposed && arg.handle === value) return arg;
  return Tensor._wrap(value as never);
}

/**
 * Runs the ATen operator `name` (schema name with overload, without the
 * `aten::` prefix) on positional arguments in schema order; `undefined`
 * takes the schema's default. Results that are tensors come back as new
 * Tensors, owned by the current scope.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function aten(name: string, ...args: unknown[]): any {
  const converted = new Array(args.length);
  for (let i = 0; i < args.length; i++) converted[i] = toNative(args[i]);
  return fromNative(native.callOp(opId(name), converted), args);
}

/** The full schema of an operator, e.g. for error reports and docs. */
export const atenSchema = (name: string): string => native.opSchema(opId(name));

/** Runs an in-place operator (`add_`, `mul_` …) and returns `self` itself. */
export function atenInPlace<T extends Tensor>(name: string, self: T, ...args: unknown[]): T {
  const converted = new Array(args.length + 1);
  converted[0] = self.handle;
  for (let i = 0; i < args.length; i++) converted[i + 1] = toNative(args[i]);
  native.callOp(opId(name), converted);
  return self;
}
