/**
 * A2 inversion by optimisation (Mahendran & Vedaldi 2015, "Understanding Deep Image
 * Representations by Inverting Them"): from an image's code phi0 = phi(x0) at layer L, find
 *
 *   x* = argmin ||phi(x) - phi0||^2 / ||phi0||^2  +  lambda_a N_a(x)  +  lambda_V N_V(x)
 *
 * The feature loss is normalised by ||phi0||^2 (featureMatch), so that it is about 1 at a bad
 * reconstruction at every layer whatever the layer's scale. The paper normalises the two priors the
 * same way, so that each is about 1 on a typical image and the same weights lambda serve every layer
 * and data set: the alpha-norm is taken of the pixels divided by B, the typical pixel magnitude,
 * N_a = mean |x / B|^a (a = 6), and the total variation of the gradients divided by V = B / 6.5, the
 * typical pixel step, N_V = mean (|grad x| / V)^b (b = 2). Here the alpha-norm reads the model's
 * normalised input z (0 at the data mean), whose B is the largest |z| a valid pixel can have, and the
 * total variation reads the [0, 1] image, whose B is 1; the weights handed to the core's alphaNorm
 * and totalVariation are lambda / B^a and lambda / V^b. Optimised with Adam or L-BFGS (the paper
 * used gradient descent with momentum). The error reported per layer and image is Mahendran &
 * Vedaldi's normalised feature error ||phi(x*) - phi0|| / ||phi0||, with the pixel error, the RMS
 * of x* - x0 in [0, 1] units: the finding is that early layers reconstruct x0 closely and deeper
 * ones, while matching their own code, lose the detail.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { square, sub } from '../../tensor/ops/elementwise.ts';
import { mean } from '../../tensor/ops/reduce.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import type { RGBAImage } from '../../viz/image.ts';
import { makeGrid } from '../../viz/grid.ts';
import { featureMatch } from '../optimize/objectives.ts';
import type { ParamKind } from '../optimize/param.ts';
import { alphaNorm, totalVariation } from '../optimize/regularizers.ts';
import { forwardCapturing, renderVis, resolveLayers } from '../optimize/render.ts';
import { imageTiles } from './features.ts';

/** The paper's typical pixel step: V = B / 6.5. */
export const TYPICAL_GRADIENT_DIVISOR = 6.5;

export interface InversionOptions {
  normalization: Normalization;
  /** Default 200 for Adam, 50 for L-BFGS (iterations, each with its line search). */
  steps?: number;
  /** 'adam' (default) or 'lbfgs'. */
  optimizer?: 'adam' | 'lbfgs';
  /** Default 0.1 for Adam (twice Lucid's: measured on LeNet-5, it halves the first conv layer's error in 100 steps), 1 for L-BFGS. */
  lr?: number;
  /** Default 'pixel'. */
  param?: ParamKind;
  /** lambda_a on the normalised alpha-norm (default 1e-3), and a (default 6). */
  alphaWeight?: number;
  alpha?: number;
  /** lambda_V on the normalised total variation (default 1e-3), and b (default 2). */
  tvWeight?: number;
  beta?: number;
  seed?: number;
  onStep?: (layer: string, step: number, scores: Float32Array) => void;
}

export interface LayerInversion {
  layer: string;
  /** [N, C, H, W] in [0, 1]. */
  images: Tensor;
  /** Per image: ||phi(x*) - phi0|| / ||phi0||, at the start and at the end. */
  initialFeatureError: number[];
  featureError: number[];
  /** Per image: RMS of x* - x0 over pixels and channels. */
  pixelError: number[];
  /** The batch's mean objective per step (minus the normalised squared feature error). */
  curve: number[];
}

/** The largest |z| a pixel in [0, 1] can have after the normalisation (the paper's B for the model's input). */
export function typicalPixelMagnitude(norm: Normalization): number {
  return Math.max(...norm.mean.map((m, c) => Math.max(m, 1 - m) / (norm.std[c] ?? norm.std[0]!)));
}

/** Reconstructs `originals` ([N, C, H, W] in [0, 1]) from their code at each of `layers`. */
export async function invertLayers(model: Module, originals: Tensor, layers: readonly string[], opts: InversionOptions): Promise<LayerInversion[]> {
  if (originals.rank !== 4) throw new Error(`glassbox.xai.visualize: inversion needs images [N, C, H, W] in [0, 1], got ${shapeStr(originals.shape)}`);
  const [n, c, h, w] = originals.shape as [number, number, number, number];
  const alpha = opts.alpha ?? 6;
  const beta = opts.beta ?? 2;
  const b = typicalPixelMagnitude(opts.normalization);
  const regularizers = [alphaNorm((opts.alphaWeight ?? 1e-3) / b ** alpha, alpha), totalVariation((opts.tvWeight ?? 1e-3) * TYPICAL_GRADIENT_DIVISOR ** beta, beta)];
  const results: LayerInversion[] = [];
  for (const [layer, module] of resolveLayers(model, layers)) {
    const target = noGrad(() => tidy(() => forwardCapturing(model, [[layer, module]], normalize(originals, opts.normalization)).activation(layer).detach()));
    try {
      const r = await renderVis(model, featureMatch(layer, target), {
        inputShape: [c, h, w],
        normalization: opts.normalization,
        param: opts.param ?? 'pixel',
        batch: n,
        steps: opts.steps ?? (opts.optimizer === 'lbfgs' ? 50 : 200),
        lr: opts.lr ?? (opts.optimizer === 'lbfgs' ? 1 : 0.1),
        optimizer: opts.optimizer ?? 'adam',
        regularizers,
        seed: opts.seed,
        onStep: opts.onStep && ((step, scores) => opts.onStep!(layer, step, scores)),
      });
      r.probabilities?.dispose();
      const rms = noGrad(() => tidy(() => mean(square(sub(r.images, originals)), { dim: [1, 2, 3] }).sqrt()));
      const pixelError = Array.from(await rms.toArray());
      rms.dispose();
      results.push({ layer, images: r.images, initialFeatureError: r.initial.map((s) => Math.sqrt(-s)), featureError: r.final.map((s) => Math.sqrt(-s)), pixelError, curve: r.curve });
    } finally {
      target.dispose();
    }
  }
  return results;
}

/** The originals and their reconstructions as one picture: a row per image, a column per layer, each captioned with its errors. */
export async function inversionGrid(originals: Tensor, results: readonly LayerInversion[]): Promise<RGBAImage> {
  const n = originals.shape[0]!;
  const columns = [await imageTiles(originals), ...(await Promise.all(results.map((r) => imageTiles(r.images))))];
  const tiles = Array.from({ length: n }, (_, i) => columns.map((col) => col[i]!)).flat();
  const captions = Array.from({ length: n }, (_, i) => ['original', ...results.map((r) => `feat ${r.featureError[i]!.toFixed(3)} px ${r.pixelError[i]!.toFixed(3)}`)]).flat();
  const size = Math.max(originals.shape[2]!, originals.shape[3]!);
  return makeGrid(tiles, { cols: 1 + results.length, tileTitles: captions, colTitles: ['original', ...results.map((r) => r.layer)], tileScale: Math.max(1, Math.floor(112 / size)), title: 'inversion by optimisation (Mahendran & Vedaldi 2015)' });
}
