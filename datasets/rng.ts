/**
 * Small seeded pseudo-random number generator: mulberry32 (32-bit state,
 * period 2^32, good enough for shuffling and sampling data), seeded through
 * a splitmix32-style hash so that nearby seeds give unrelated streams.
 * Same seed -> same sequence, on every platform (pure 32-bit integer math).
 */

/** splitmix32-style finaliser: a 32-bit -> 32-bit bijective hash. */
export function hash32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Combine a seed and stream ids (e.g. variant, split) into one 32-bit seed. */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = hash32(seed >>> 0 ^ Math.floor(seed / 2 ** 32));
  for (const s of streams) h = hash32(h ^ hash32(s >>> 0));
  return h;
}

export class Rng {
  private state: number;

  constructor(seed: number, ...streams: number[]) {
    this.state = deriveSeed(seed, ...streams);
  }

  /** Next uint32 (mulberry32). */
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), n <= 2^32 (rejection sampling: no modulo bias). */
  int(n: number): number {
    if (!(n >= 1) || n > 4294967296) throw new RangeError(`Rng.int: n must be in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextU32(); while (x >= limit);
    return x % n;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Shuffle in place (Fisher-Yates) and return the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
