// Small helpers shared by the optimizers and schedulers: option checks,
// key-name conversion, and reading dicts that may be Maps (from .pt files).

/** Throws a RangeError naming the option unless `ok` holds. */
export function check(ok: boolean, where: string, message: string): void {
  if (!ok) throw new RangeError(`${where}: ${message}`);
}

export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a number option: finite and at least `min` (or above it when `open`). */
export function checkNumber(value: unknown, name: string, where: string, min = 0, open = false): void {
  const ok = isFiniteNumber(value) && (open ? value > min : value >= min);
  check(ok, where, `invalid ${name} ${String(value)}: expected a finite number ${open ? '>' : '>='} ${min}`);
}

/** Checks Adam-style betas: two numbers in [0, 1). */
export function checkBetas(betas: unknown, where: string): void {
  check(Array.isArray(betas) && betas.length === 2, where, `betas must be a pair [beta1, beta2], got ${JSON.stringify(betas)}`);
  (betas as unknown[]).forEach((b, i) => {
    check(isFiniteNumber(b) && b >= 0 && b < 1, where, `invalid beta parameter at index ${i}: ${String(b)} (expected 0 <= beta < 1)`);
  });
}

/** The options the Adam family shares: lr, eps, betas and weightDecay, with PyTorch's messages. */
export function checkAdamFamily(h: { lr: number; eps: number; betas: [number, number]; weightDecay: number }, where: string): void {
  checkNumber(h.lr, 'learning rate', where);
  checkNumber(h.eps, 'epsilon value', where);
  checkBetas(h.betas, where);
  checkNumber(h.weightDecay, 'weightDecay value', where);
}

export const camelToSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const snakeToCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** The entries of a Map or a plain object; anything else is an error naming `where`. */
export function asEntries(value: unknown, where: string): [string | number, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return Object.entries(value);
  throw new TypeError(`${where}: expected a dict (Map or object), found ${Array.isArray(value) ? 'an array' : typeof value}`);
}
