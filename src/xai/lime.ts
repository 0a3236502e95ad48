/**
 * LIME on superpixels (Ribeiro, Singh & Guestrin 2016, "Why should I trust you?", eq. 1 and
 * Algorithm 1): a linear surrogate g(z) = b + w . z fitted to the model on random coalitions z
 * of the image's superpixels, each sample weighted by its proximity to the image,
 *   argmin_g  sum_z pi_x(z) (f(z) - g(z))^2 + Omega(g),
 * with the choices of the LIME package's image explainer: z uniform in {0,1}^d with the first
 * sample the full image; pi_x(z) = sqrt(exp(-D(z)^2 / width^2)), D the cosine distance between
 * z and the all-ones vector (1 for the empty coalition), kernel width 0.25 (lime_image's
 * default; the tabular explainer's 0.75 sqrt(d) is for standardised features, not for {0,1}^d);
 * Omega = ridge with alpha 1 and a free intercept. The fidelity of the surrogate is its
 * weighted R^2 on those samples.
 */
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Rng } from '../../datasets/rng.ts';
import { Attribution, checkAttributeOptions } from './attribution.ts';
import { weightedRidge } from './linear-model.ts';
import { registerMethods } from './registry.ts';
import { pixelMap, superpixelGames, SUPERPIXEL_OPTIONS, type CoalitionGame, type SuperpixelOptions } from './superpixel-game.ts';
import type { Segmentation } from './superpixels.ts';

export interface LimeOptions extends SuperpixelOptions {
  /** Coalitions scored per image, the full image included (default 1000, the LIME package's). */
  nSamples?: number;
  /** Width of the exponential kernel on cosine distance (default 0.25). */
  kernelWidth?: number;
  /** Ridge penalty (default 1). */
  alpha?: number;
  /** Seed of the coalition sampler (default 0; every image uses it, so a batch equals one-by-one). */
  seed?: number;
}

export interface LimeExplanation {
  /** Each pixel holds its superpixel's surrogate coefficient, [N, C, H, W]. */
  attribution: Tensor;
  coefficients: Float64Array[];
  intercepts: number[];
  segments: Segmentation[];
  /** Weighted R^2 of each image's surrogate on its samples. */
  r2: number[];
}

/** LIME's samples: the all-ones coalition, then uniform random coalitions (rows x d). */
export function limeCoalitions(d: number, nSamples: number, rng: Rng): Uint8Array {
  const z = new Uint8Array(nSamples * d);
  z.fill(1, 0, d);
  for (let i = d; i < z.length; i++) z[i] = rng.nextU32() & 1;
  return z;
}

/** pi_x(z) = sqrt(exp(-D^2 / width^2)), D = 1 - cos(z, 1) = 1 - |z| / sqrt(|z| d). */
export function limeWeights(coalitions: Uint8Array, d: number, kernelWidth: number): Float64Array {
  const rows = coalitions.length / d;
  const w = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let size = 0;
    for (let j = 0; j < d; j++) size += coalitions[i * d + j]!;
    const distance = size === 0 ? 1 : 1 - size / Math.sqrt(size * d);
    w[i] = Math.sqrt(Math.exp(-(distance * distance) / (kernelWidth * kernelWidth)));
  }
  return w;
}

async function limeOne(game: CoalitionGame, opts: LimeOptions): Promise<{ coefficients: Float64Array; intercept: number; r2: number }> {
  const d = game.features;
  const nSamples = opts.nSamples ?? 1000;
  const kernelWidth = opts.kernelWidth ?? 0.25;
  if (!(Number.isInteger(nSamples) && nSamples >= 2)) throw new Error(`glassbox.xai: LIME needs nSamples >= 2, got ${nSamples}`);
  if (!(kernelWidth > 0)) throw new Error(`glassbox.xai: LIME's kernelWidth must be > 0, got ${kernelWidth}`);
  const z = limeCoalitions(d, nSamples, new Rng(opts.seed ?? 0));
  const y = await game.values(z);
  return weightedRidge(z, y, limeWeights(z, d, kernelWidth), d, { alpha: opts.alpha ?? 1 });
}

export class Lime extends Attribution<LimeOptions> {
  async explain(input: Tensor, opts: LimeOptions): Promise<LimeExplanation> {
    checkAttributeOptions('Lime', opts, { ...SUPERPIXEL_OPTIONS, nSamples: 'number', kernelWidth: 'number', alpha: 'number', seed: 'number' });
    const games = await superpixelGames(this.model, input, opts);
    try {
      const out: Omit<LimeExplanation, 'attribution'> = { coefficients: [], intercepts: [], segments: [], r2: [] };
      for (const g of games) {
        const fit = await limeOne(g, opts);
        out.coefficients.push(fit.coefficients);
        out.intercepts.push(fit.intercept);
        out.r2.push(fit.r2);
        out.segments.push(g.segments);
      }
      return { attribution: pixelMap(games, out.coefficients), ...out };
    } finally {
      games.forEach((g) => g.dispose());
    }
  }

  async attribute(input: Tensor, opts: LimeOptions): Promise<Tensor> {
    return (await this.explain(input, opts)).attribution;
  }
}

registerMethods([
  {
    name: 'lime',
    catalogue: 'B4',
    description: 'LIME: weighted ridge surrogate on SLIC superpixels (cosine-distance kernel, width 0.25)',
    output: 'input',
    signed: true,
    create: (model: Module) => new Lime(model),
  },
]);
