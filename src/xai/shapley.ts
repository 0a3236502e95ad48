/**
 * Exact Shapley values (Shapley 1953) of the superpixel game, by scoring all 2^d coalitions:
 *   phi_i = sum_{S subset of N \ {i}} |S|! (d - |S| - 1)! / d! * (v(S + i) - v(S)).
 * Exponential in d, so limited to d <= 12 superpixels (4096 forward passes per image); the
 * ground truth that KernelSHAP is tested against, and a method in its own right on a coarse grid.
 */
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Attribution, checkAttributeOptions } from './attribution.ts';
import { registerMethods } from './registry.ts';
import type { Segmentation } from './superpixels.ts';
import { pixelMap, superpixelGames, SUPERPIXEL_OPTIONS, type CoalitionGame, type SuperpixelOptions } from './superpixel-game.ts';

export const MAX_EXACT_SHAPLEY_FEATURES = 12;

/** Every coalition of d players as rows of 0/1, row m holding the bits of m (player j = bit j). */
export function allCoalitions(d: number): Uint8Array {
  const rows = 2 ** d;
  const z = new Uint8Array(rows * d);
  for (let m = 0; m < rows; m++) for (let j = 0; j < d; j++) z[m * d + j] = (m >> j) & 1;
  return z;
}

/** Shapley values from the value of every coalition, indexed by its bit mask (values[m] = v(m)). */
export function shapleyFromValues(values: ArrayLike<number>, d: number): Float64Array {
  if (values.length !== 2 ** d) throw new Error(`glassbox.xai: exact Shapley values need 2^${d} = ${2 ** d} coalition values, got ${values.length}`);
  const factorial = [1];
  for (let k = 1; k <= d; k++) factorial.push(factorial[k - 1]! * k);
  const phi = new Float64Array(d);
  for (let m = 0; m < values.length; m++) {
    const size = popcount(m);
    for (let i = 0; i < d; i++) {
      if (m & (1 << i)) continue;
      const weight = (factorial[size]! * factorial[d - size - 1]!) / factorial[d]!;
      phi[i]! += weight * (values[m | (1 << i)]! - values[m]!);
    }
  }
  return phi;
}

function popcount(m: number): number {
  let c = 0;
  for (; m; m &= m - 1) c++;
  return c;
}

/** The exact Shapley values of one image's game. */
export async function exactShapley(game: CoalitionGame): Promise<Float64Array> {
  const d = game.features;
  if (d > MAX_EXACT_SHAPLEY_FEATURES)
    throw new Error(`glassbox.xai: exact Shapley values enumerate 2^d coalitions; ${d} superpixels is over the limit of ${MAX_EXACT_SHAPLEY_FEATURES} (use a coarser segmentation or KernelSHAP)`);
  return shapleyFromValues(await game.values(allCoalitions(d)), d);
}

/** Exact Shapley values of superpixels; the segmentation defaults to a 3x3 grid (512 coalitions). */
export class ExactShapley extends Attribution<SuperpixelOptions> {
  /** Per image: the Shapley value of every superpixel and the segmentation. */
  async explain(input: Tensor, opts: SuperpixelOptions): Promise<{ attribution: Tensor; values: Float64Array[]; segments: Segmentation[] }> {
    checkAttributeOptions('ExactShapley', opts, SUPERPIXEL_OPTIONS);
    const games = await superpixelGames(this.model, input, { segmentation: { method: 'grid', rows: 3, cols: 3 }, ...opts });
    try {
      const values: Float64Array[] = [];
      for (const g of games) values.push(await exactShapley(g));
      return { attribution: pixelMap(games, values), values, segments: games.map((g) => g.segments) };
    } finally {
      games.forEach((g) => g.dispose());
    }
  }

  async attribute(input: Tensor, opts: SuperpixelOptions): Promise<Tensor> {
    return (await this.explain(input, opts)).attribution;
  }
}

registerMethods([
  {
    name: 'shapley-exact',
    catalogue: 'B5',
    description: 'Exact Shapley values of a 3x3 grid of superpixels (all 512 coalitions scored)',
    output: 'input',
    signed: true,
    create: (model: Module) => new ExactShapley(model),
  },
]);
