/**
 * A seeded random source for the input-optimisation loop (random starts, jitter offsets, scales,
 * angles). Kept apart from the engine's global generator (manualSeed) so that a visualisation
 * with a given seed is reproducible and leaves the caller's random state untouched.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform whole number in [low, high] (both included). */
  int(low: number, high: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** One element of a non-empty list, uniformly. */
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast and good enough for augmentation choices and initial noise. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (low, high) => low + Math.floor(next() * (high - low + 1)),
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    pick: (items) => {
      if (items.length === 0) throw new Error('glassbox.xai.optimize: cannot pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}

/** n normal samples with standard deviation sd. */
export function normalSamples(random: Random, n: number, sd: number): Float32Array {
  return Float32Array.from({ length: n }, () => random.normal() * sd);
}
