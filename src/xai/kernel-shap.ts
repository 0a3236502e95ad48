/**
 * KernelSHAP (Lundberg & Lee 2017, "A unified approach to interpreting model predictions",
 * Theorem 2): Shapley values of the superpixel game as the solution of a weighted linear
 * regression of v(z) on the coalition z, with the Shapley kernel
 *   pi(z) = (M - 1) / (C(M, |z|) |z| (M - |z|))
 * and the empty and full coalitions enforced exactly: phi_0 = v(0) and
 * sum_j phi_j = v(1) - v(0) (efficiency). As in the SHAP package, the second constraint
 * eliminates the last feature: with y = v(z) - v(0) - z_M (v(1) - v(0)) and columns
 * z_j - z_M (j < M), a weighted least-squares fit without intercept gives phi_1..phi_{M-1},
 * and phi_M = v(1) - v(0) - sum of the others.
 *
 * Coalitions (the SHAP package's scheme): coalition sizes s and M - s are taken in pairs, most
 * kernel mass first (s = 1, then 2, ...); a pair of sizes is enumerated completely when the
 * budget left would draw at least as many coalitions of those sizes as exist, with weight
 * pi(z) each. The rest of the budget is sampled: a size from the kernel mass of the sizes not
 * enumerated, a uniform subset of that size and its complement (paired sampling), each sample
 * weighted by that remaining mass / the number of samples. When 2^M - 2 <= nSamples every
 * coalition is enumerated and the result is exactly the Shapley values.
 */
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Rng } from '../../datasets/rng.ts';
import { Attribution, checkAttributeOptions } from './attribution.ts';
import { weightedRidge } from './linear-model.ts';
import { registerMethods } from './registry.ts';
import { pixelMap, superpixelGames, SUPERPIXEL_OPTIONS, type CoalitionGame, type SuperpixelOptions } from './superpixel-game.ts';
import type { Segmentation } from './superpixels.ts';

export interface KernelShapOptions extends SuperpixelOptions {
  /** Coalitions scored besides the empty and full ones (default 2M + 2048, the SHAP package's 'auto'). */
  nSamples?: number;
  /** Seed of the coalition sampler (default 0; every image uses it, so a batch equals one-by-one). */
  seed?: number;
}

export interface KernelShapExplanation {
  attribution: Tensor;
  /** Per image, phi_j of every superpixel; they sum to fullValue - baseValue. */
  values: Float64Array[];
  /** v(empty coalition): the score with every superpixel filled. */
  baseValues: number[];
  /** v(full coalition): the score of the image itself. */
  fullValues: number[];
  segments: Segmentation[];
}

/** Coalitions (rows x M, 0/1) with their regression weights, empty and full coalitions excluded. */
export interface CoalitionSample {
  coalitions: Uint8Array;
  weights: Float64Array;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** The SHAP package's coalition plan for M features and a budget of nSamples (see the file comment). */
export function kernelShapCoalitions(m: number, nSamples: number, rng: Rng): CoalitionSample {
  const rows: Uint8Array[] = [];
  const weights: number[] = [];
  const add = (z: Uint8Array, w: number) => {
    rows.push(z);
    weights.push(w);
  };
  const sizeMass = (s: number) => (m - 1) / (s * (m - s));
  const pairSizes = (s: number) => (s === m - s ? [s] : [s, m - s]);
  let budget = nSamples;
  const remaining: number[] = []; // the smaller size of each pair not enumerated
  let s = 1;
  for (; s <= Math.floor(m / 2); s++) {
    const sizes = pairSizes(s);
    const count = sizes.reduce((a, k) => a + binomial(m, k), 0);
    let massLeft = 0;
    let countLeft = 0;
    for (let k = s; k <= Math.floor(m / 2); k++) {
      massLeft += pairSizes(k).reduce((a, j) => a + sizeMass(j), 0);
      countLeft += pairSizes(k).reduce((a, j) => a + binomial(m, j), 0);
    }
    const pairMass = sizes.reduce((a, k) => a + sizeMass(k), 0);
    // everything left fits in the budget, or sampling would draw at least as many as there are
    if (budget < countLeft && budget * (pairMass / massLeft) < count - 1e-8) break;
    for (const k of sizes) forEachSubset(m, k, (z) => add(z, sizeMass(k) / binomial(m, k)));
    budget -= count;
  }
  for (; s <= Math.floor(m / 2); s++) remaining.push(s);
  const draws = budget - (budget % 2);
  if (remaining.length > 0 && draws > 0) {
    const masses = remaining.map((k) => pairSizes(k).reduce((a, j) => a + sizeMass(j), 0));
    const total = masses.reduce((a, b) => a + b, 0);
    const weight = total / draws;
    for (let i = 0; i < draws / 2; i++) {
      let u = rng.next() * total;
      let pick = 0;
      while (pick < masses.length - 1 && u >= masses[pick]!) u -= masses[pick++]!;
      // a pair's two sizes carry equal mass: draw the smaller or the larger side with equal odds
      const size = rng.next() < 0.5 ? remaining[pick]! : m - remaining[pick]!;
      const z = randomSubset(m, size, rng);
      add(z, weight);
      add(z.map((b) => 1 - b), weight);
    }
  }
  const coalitions = new Uint8Array(rows.length * m);
  rows.forEach((z, i) => coalitions.set(z, i * m));
  return { coalitions, weights: Float64Array.from(weights) };
}

function forEachSubset(m: number, k: number, visit: (z: Uint8Array) => void): void {
  const pick = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    const z = new Uint8Array(m);
    pick.forEach((j) => (z[j] = 1));
    visit(z);
    let i = k - 1;
    while (i >= 0 && pick[i] === m - k + i) i--;
    if (i < 0) return;
    pick[i]!++;
    for (let j = i + 1; j < k; j++) pick[j] = pick[j - 1]! + 1;
  }
}

function randomSubset(m: number, k: number, rng: Rng): Uint8Array {
  const order = rng.shuffle(Array.from({ length: m }, (_, i) => i));
  const z = new Uint8Array(m);
  for (let i = 0; i < k; i++) z[order[i]!] = 1;
  return z;
}

/**
 * Shapley values from coalition values by the constrained Shapley-kernel regression.
 * fullValue = v(1), baseValue = v(0).
 */
export function solveKernelShap(sample: CoalitionSample, values: ArrayLike<number>, m: number, baseValue: number, fullValue: number): Float64Array {
  const gap = fullValue - baseValue;
  if (m === 1) return Float64Array.of(gap);
  const rows = sample.weights.length;
  const x = new Float64Array(rows * (m - 1));
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const last = sample.coalitions[i * m + m - 1]!;
    for (let j = 0; j < m - 1; j++) x[i * (m - 1) + j] = sample.coalitions[i * m + j]! - last;
    y[i] = values[i]! - baseValue - last * gap;
  }
  // a vanishing ridge (1e-9 of the total weight) picks the minimum-norm solution, as the SHAP
  // package's lstsq does, when few samples leave the system singular (a sample and its
  // complement give the same row up to sign); otherwise its effect is ~1e-9 relative
  const alpha = 1e-9 * sample.weights.reduce((a, b) => a + b, 0);
  const fit = weightedRidge(x, y, sample.weights, m - 1, { alpha, intercept: false });
  const phi = new Float64Array(m);
  phi.set(fit.coefficients);
  phi[m - 1] = gap - fit.coefficients.reduce((a, b) => a + b, 0);
  return phi;
}

/** KernelSHAP on one image's game. */
export async function kernelShap(game: CoalitionGame, nSamples: number, seed: number): Promise<{ phi: Float64Array; baseValue: number; fullValue: number }> {
  const m = game.features;
  const sample = kernelShapCoalitions(m, nSamples, new Rng(seed));
  const ends = new Uint8Array(2 * m).fill(1, 0, m); // the full coalition, then the empty one
  const all = new Uint8Array(ends.length + sample.coalitions.length);
  all.set(ends);
  all.set(sample.coalitions, ends.length);
  const v = await game.values(all);
  const [fullValue, baseValue] = [v[0]!, v[1]!];
  return { phi: solveKernelShap(sample, v.subarray(2), m, baseValue, fullValue), baseValue, fullValue };
}

export class KernelShap extends Attribution<KernelShapOptions> {
  async explain(input: Tensor, opts: KernelShapOptions): Promise<KernelShapExplanation> {
    checkAttributeOptions('KernelShap', opts, { ...SUPERPIXEL_OPTIONS, nSamples: 'number', seed: 'number' });
    const games = await superpixelGames(this.model, input, opts);
    try {
      const out: Omit<KernelShapExplanation, 'attribution'> = { values: [], baseValues: [], fullValues: [], segments: [] };
      for (const g of games) {
        const nSamples = opts.nSamples ?? 2 * g.features + 2048;
        if (!(Number.isInteger(nSamples) && nSamples >= 0)) throw new Error(`glassbox.xai: nSamples must be a non-negative integer, got ${nSamples}`);
        const r = await kernelShap(g, nSamples, opts.seed ?? 0);
        out.values.push(r.phi);
        out.baseValues.push(r.baseValue);
        out.fullValues.push(r.fullValue);
        out.segments.push(g.segments);
      }
      return { attribution: pixelMap(games, out.values), ...out };
    } finally {
      games.forEach((g) => g.dispose());
    }
  }

  async attribute(input: Tensor, opts: KernelShapOptions): Promise<Tensor> {
    return (await this.explain(input, opts)).attribution;
  }
}

registerMethods([
  {
    name: 'kernel-shap',
    catalogue: 'B5',
    description: 'KernelSHAP on SLIC superpixels: Shapley-kernel weighted regression with efficiency enforced exactly',
    output: 'input',
    signed: true,
    create: (model: Module) => new KernelShap(model),
  },
]);
