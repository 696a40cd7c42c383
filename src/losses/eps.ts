// Lists of radii as people write them ('36/255,72/255,0.5'). No engine import:
// the command line parses them before loading libtorch.

/**
 * Parses a list of radii such as '36/255,72/255,0.5' (fractions, decimals,
 * exponents). Every value must be a finite number > 0.
 */
export function parseEps(text: string): number[] {
  if (typeof text !== 'string') throw new TypeError(`parseEps: expected a string such as '36/255,72/255', got ${String(text)}`);
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) throw new RangeError('parseEps: no radius given (expected e.g. 36/255,72/255)');
  return parts.map((part, i) => {
    const value = parseNumberOrFraction(part);
    if (value === null) throw new RangeError(`parseEps: '${part}' (item ${i + 1}) is not a number or a fraction like 36/255`);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`parseEps: '${part}' (item ${i + 1}) must be a finite radius > 0, got ${value}`);
    return value;
  });
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumberOrFraction(text: string): number | null {
  const slash = text.split('/');
  if (slash.length > 2) return null;
  if (!slash.every((s) => NUMBER.test(s.trim()))) return null;
  const num = Number(slash[0].trim());
  if (slash.length === 1) return num;
  const den = Number(slash[1].trim());
  if (den === 0) return null;
  return num / den;
}
