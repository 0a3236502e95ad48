/**
 * GradientSHAP / expected gradients (Lundberg & Lee 2017, "A Unified Approach to Interpreting
 * Model Predictions", sec. 4; Erion et al. 2021, "Improving performance of deep learning models
 * with axiomatic attribution priors and expected gradients", eq. 4): Integrated Gradients
 * averaged over baselines drawn from a background data set, with the path integral sampled too:
 *   phi(x) = E_{x' ~ background, a ~ U(0, 1), e ~ N(0, noise^2)} [ (x + e - x') * dS(x' + a (x + e - x')) / dx ]
 * estimated from `samples` draws. Each draw's sum over pixels is an unbiased estimate of
 * S(x + e) - E[S(x')], so efficiency, sum phi = S(x) - E[S(x')], holds in expectation (noise 0):
 * `explain` returns the draws' sums so a caller can check it within the standard error.
 * Every sample uses the same draws (seeded), so a batch gives the same result as one by one.
 */
import { Rng } from '../../datasets/rng.ts';
import type { Module } from '../nn/module.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { add, mul, sub } from '../tensor/ops/elementwise.ts';
import { indexSelect } from '../tensor/ops/indexing.ts';
import { mean, sum } from '../tensor/ops/reduce.ts';
import { reshape, unsqueeze } from '../tensor/ops/views.ts';
import { shapeStr } from '../tensor/shape.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { checkAttributeOptions, type AttributeOptions } from './attribution.ts';
import { checkOptions } from '../tensor/check-options.ts';
import { seededNoise } from './baselines.ts';
import { GradientAttribution, gradientsAtPoints, resolveTarget, rowsOf } from './gradient.ts';
import { registerMethods } from './registry.ts';

export interface GradientShapOptions extends AttributeOptions {
  /** Baselines to draw from, [B, C, H, W] in the model's input space (default: the constructor's). */
  background?: Tensor;
  /** Draws (baseline, path point, noise) per sample (default 50). */
  samples?: number;
  /** Standard deviation of Gaussian noise added to the input, in input units (default 0). */
  noise?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
  internalBatchSize?: number;
}

export interface GradientShapExplanation {
  attribution: Tensor;
  /** [N, samples]: each draw's sum over pixels, whose mean is the attribution's sum. */
  drawSums: Tensor;
}

export class GradientShap extends GradientAttribution<GradientShapOptions> {
  constructor(
    model: Module,
    readonly background?: Tensor,
  ) {
    super(model);
    checkOptions('xai.GradientShap', { background }, { background: 'tensor' });
  }

  async attribute(input: Tensor, opts: GradientShapOptions): Promise<Tensor> {
    const { attribution, drawSums } = await this.explain(input, opts);
    drawSums.dispose();
    return attribution;
  }

  async explain(input: Tensor, opts: GradientShapOptions): Promise<GradientShapExplanation> {
    checkAttributeOptions('GradientShap', opts, { background: 'tensor', samples: 'number', noise: 'number', seed: 'number', internalBatchSize: 'number' });
    const background = opts.background ?? this.background;
    if (!background) throw new Error('glassbox.GradientShap: no background set; pass one to the constructor or as opts.background');
    if (background.rank !== input.rank || background.shape.slice(1).some((d, i) => d !== input.shape[i + 1]))
      throw new Error(`glassbox.GradientShap: background ${shapeStr(background.shape)} does not match the input ${shapeStr(input.shape)}`);
    const n = input.shape[0]!;
    const draws = opts.samples ?? 50;
    if (!Number.isInteger(draws) || draws < 1) throw new Error(`glassbox.GradientShap: samples must be a positive integer, got ${draws}`);
    const seed = opts.seed ?? 0;
    const rng = new Rng(seed, 0x65a9);
    const which = Int32Array.from({ length: draws }, () => Math.floor(rng.next() * background.shape[0]!));
    const alphas = Float32Array.from({ length: draws }, () => rng.next());
    const target = await resolveTarget(opts.target, n);
    const unit = input.shape.slice(1).map(() => 1);
    const drawn = tidy(() => indexSelect(background, 0, tensor(which, [draws], { dtype: 'int32' })));
    const noise = tidy(() => mul(seededNoise([draws, ...input.shape.slice(1)], seed), opts.noise ?? 0));
    const alpha = tensor(alphas, [draws, ...unit]);
    // x + e - x' for every (sample, draw), flattened sample-major like the rows: [N * draws, C, H, W]
    const diffs = tidy(() => reshape(sub(add(unsqueeze(input, 1), unsqueeze(noise, 0)), unsqueeze(drawn, 0)), [n * draws, ...input.shape.slice(1)]));
    const { grads, scores } = gradientsAtPoints(n, draws, (_s, k, rows) => add(rowsOf(drawn, k), mul(rowsOf(alpha, k), rowsOf(diffs, rows))), {
      forward: (x) => this.forward(x),
      target,
      score: opts.score,
      internalBatchSize: opts.internalBatchSize,
    });
    const result = tidy(() => {
      const terms = mul(grads, reshape(diffs, grads.shape));
      return { attribution: mean(terms, { dim: 1 }), drawSums: sum(reshape(terms, [n, draws, -1]), { dim: 2 }) };
    });
    [drawn, noise, alpha, diffs, grads, scores].forEach((t) => t.dispose());
    return result;
  }
}

registerMethods([
  {
    name: 'gradient-shap',
    catalogue: 'B5',
    description: 'GradientSHAP / expected gradients: IG over baselines drawn from the background set, 50 draws (Lundberg & Lee 2017; Erion et al.)',
    output: 'input',
    signed: true,
    create: (model, ctx) => new GradientShap(model, ctx.background),
  },
]);
