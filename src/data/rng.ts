// A small, fast, seedable PRNG for data augmentation and shuffling (sfc32,
// seeded through splitmix32 so that nearby seeds give unrelated streams).
// Plain JS numbers only, so it runs as well in worker threads as in the main one.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixes any number of integers (seed, epoch, batch index, …) into one 32-bit seed. */
export function mixSeed(...parts: number[]): number {
  const state = { s: 0x2545f491 };
  let h = splitmix32(state);
  for (const p of parts) {
    if (!Number.isInteger(p)) throw new TypeError(`mixSeed: ${p} is not an integer`);
    // fold in the low and high 32 bits so that seeds up to 2^53 are distinct
    state.s = (state.s ^ (p >>> 0) ^ h) | 0;
    h = splitmix32(state);
    state.s = (state.s ^ Math.floor(p / 4294967296) ^ h) | 0;
    h = splitmix32(state);
  }
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const state = { s: mixSeed(seed) };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** Uniform integer in [lo, hi) (hi exclusive, like torch.randint), without modulo bias. */
  int(lo: number, hi: number): number {
    const n = hi - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || n <= 0) throw new RangeError(`Rng.int: empty range [${lo}, ${hi})`);
    if (n > 4294967296) return lo + Math.floor(this.random() * n);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return lo + (x % n);
  }

  /** Fisher–Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }
}
