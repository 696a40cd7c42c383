// Random perturbations of an exact L2 norm: a Gaussian direction (uniform on
// the sphere) scaled to the norm asked for, from a small seeded generator so
// that a page can redraw the same noise. Browser-safe.

/** mulberry32: a tiny 32-bit PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A vector of `length` values whose L2 norm is exactly `norm` (to float32 rounding), in a uniformly random direction. */
export function noiseOfNorm(length: number, norm: number, random: () => number): Float32Array {
  if (!Number.isInteger(length) || length <= 0) throw new RangeError(`noiseOfNorm: length must be a positive integer, got ${length}`);
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new RangeError(`noiseOfNorm: norm must be a finite number ≥ 0, got ${norm}`);
  const g = new Float64Array(length);
  let sq = 0;
  for (let i = 0; i < length; i += 2) {
    // Box–Muller: two standard normals from two uniforms (1 − u keeps the log finite).
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    g[i] = r * Math.cos(theta);
    if (i + 1 < length) g[i + 1] = r * Math.sin(theta);
  }
  for (let i = 0; i < length; i++) sq += g[i] * g[i];
  const scale = sq > 0 ? norm / Math.sqrt(sq) : 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = g[i] * scale;
  return out;
}

export function l2Norm(v: ArrayLike<number>): number {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  return Math.sqrt(sq);
}
