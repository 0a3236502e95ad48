/**
 * Regularisers of input optimisation, each switchable (an empty list is "none", so a user sees
 * why they are needed). Penalties are added to the loss per image; the others act on the
 * parametrisation after each optimiser step, as in Yosinski et al. 2015:
 *   l2(w)                 w mean(z^2)            z: the model's normalised input (0 at the data mean)
 *   alphaNorm(w, a)       w mean(|z|^a)          Mahendran & Vedaldi 2015 (a = 6)
 *   totalVariation(w, b)  w mean((dx^2 + dy^2)^(b/2)) of the [0, 1] image (M & V's V^beta)
 *   blur(sigma, every)    Gaussian blur every k steps (Yosinski)
 *   clipNorm(pct)         pixels whose |z| is in an image's lowest pct percent reset to the data mean (Yosinski)
 *   clipContribution(pct) pixels whose |sum_c (x - mean) dL/dx| is in the lowest pct percent, likewise
 */
import { abs, add, mul, powScalar, square, sub } from '../../tensor/ops/elementwise.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { mean } from '../../tensor/ops/reduce.ts';
import { slice } from '../../tensor/ops/views.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { Normalization } from '../../data/normalization.ts';
import type { ImageParam } from './param.ts';

export interface AfterStepContext {
  param: ImageParam;
  /** 1-based number of the step just taken. */
  step: number;
  /** The [0, 1] images of the step (detached). */
  images: Tensor;
  /** d loss / d images, when a regulariser asked for it. */
  imageGradient?: Tensor;
  normalization: Normalization;
}

export interface Regularizer {
  readonly name: string;
  /** A penalty per image [N] from the [0, 1] images and the normalised model input z. */
  penalty?(images: Tensor, z: Tensor): Tensor;
  afterStep?(ctx: AfterStepContext): Promise<void> | void;
  readonly needsImageGradient?: boolean;
  /** It sets pixels directly (Yosinski's clipping), which only the pixel parametrisation can. */
  readonly pixelOnly?: boolean;
}

const perImageMean = (x: Tensor) => mean(x, { dim: [1, 2, 3] });

function checkWeight(name: string, weight: number): void {
  if (!(weight >= 0 && Number.isFinite(weight))) throw new Error(`glassbox.xai.optimize: the ${name} weight must be a finite number >= 0, got ${weight}`);
}

export function l2(weight: number): Regularizer {
  checkWeight('l2', weight);
  return { name: `l2(${weight})`, penalty: (_x, z) => mul(perImageMean(square(z)), weight) };
}

export function alphaNorm(weight: number, alpha = 6): Regularizer {
  checkWeight('alpha-norm', weight);
  if (!(alpha >= 1)) throw new Error(`glassbox.xai.optimize: alpha-norm's alpha must be >= 1, got ${alpha}`);
  return { name: `alpha-norm(${weight}, ${alpha})`, penalty: (_x, z) => mul(perImageMean(powScalar(abs(z), alpha)), weight) };
}

export function totalVariation(weight: number, beta = 2): Regularizer {
  checkWeight('total variation', weight);
  if (!(beta >= 1)) throw new Error(`glassbox.xai.optimize: total variation's beta must be >= 1, got ${beta}`);
  return {
    name: `tv(${weight}, ${beta})`,
    penalty: (x) => {
      const [h, w] = [x.shape[2]!, x.shape[3]!];
      // differences to the right and downwards, on the (h-1) x (w-1) pixels that have both
      const core = slice(slice(x, 2, { end: h - 1 }), 3, { end: w - 1 });
      const dx = sub(slice(slice(x, 2, { end: h - 1 }), 3, { start: 1 }), core);
      const dy = sub(slice(slice(x, 2, { start: 1 }), 3, { end: w - 1 }), core);
      const squared = add(square(dx), square(dy));
      return mul(perImageMean(beta === 2 ? squared : powScalar(squared, beta / 2)), weight);
    },
  };
}

export function blur(sigma: number, every = 4): Regularizer {
  if (!Number.isSafeInteger(every) || every < 1) throw new Error(`glassbox.xai.optimize: blur every must be a whole number of steps >= 1, got ${every}`);
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new Error(`glassbox.xai.optimize: blur sigma must be a positive number of pixels, got ${sigma}`);
  return { name: `blur(${sigma}, every ${every})`, afterStep: ({ param, step }) => (step % every === 0 ? param.blur(sigma) : undefined) };
}

function checkPercent(name: string, pct: number): void {
  if (!(pct >= 0 && pct < 100)) throw new Error(`glassbox.xai.optimize: ${name} percentile must be in [0, 100), got ${pct}`);
}

/** Per image, 1 where value < that image's pct-th percentile: mask [N, 1, H, W]. */
function belowPercentile(values: Float32Array, n: number, plane: number, pct: number, shape: [number, number]): Tensor {
  const mask = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) {
    const own = values.subarray(i * plane, (i + 1) * plane);
    const threshold = Float32Array.from(own).sort()[Math.floor((pct / 100) * plane)]!;
    for (let p = 0; p < plane; p++) mask[i * plane + p] = own[p]! < threshold ? 1 : 0;
  }
  return tensor(mask, [n, 1, ...shape]);
}

/** Per pixel over channels, from the [0, 1] images and a per-channel function of (x - mean, std, extra). */
async function pixelScores(ctx: AfterStepContext, score: (centred: number, std: number, extra: number) => number, combine: (acc: number) => number, extra?: Tensor): Promise<Float32Array> {
  const [n, c, h, w] = ctx.images.shape as [number, number, number, number];
  const x = (await ctx.images.toArray()) as Float32Array;
  const e = extra ? ((await extra.toArray()) as Float32Array) : undefined;
  const { mean: m, std: s } = ctx.normalization;
  const plane = h * w;
  const out = new Float32Array(n * plane);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < plane; p++) {
      let acc = 0;
      for (let ch = 0; ch < c; ch++) {
        const k = (i * c + ch) * plane + p;
        acc += score(x[k]! - (m[ch] ?? m[0]!), s[ch] ?? s[0]!, e ? e[k]! : 0);
      }
      out[i * plane + p] = combine(acc);
    }
  return out;
}

const dataMean = (ctx: AfterStepContext) => Array.from({ length: ctx.images.shape[1]! }, (_, c) => ctx.normalization.mean[c] ?? ctx.normalization.mean[0]!);

async function clip(ctx: AfterStepContext, scores: Float32Array, pct: number): Promise<void> {
  const [n, , h, w] = ctx.images.shape as [number, number, number, number];
  const mask = belowPercentile(scores, n, h * w, pct, [h, w]);
  try {
    ctx.param.resetPixels(mask, dataMean(ctx));
  } finally {
    mask.dispose();
  }
}

/** Yosinski's norm clipping: the pct percent of pixels with the smallest |z| go back to the data mean. */
export function clipNorm(pct: number): Regularizer {
  checkPercent('clip-norm', pct);
  return {
    name: `clip-norm(${pct}%)`,
    pixelOnly: true,
    afterStep: async (ctx) => clip(ctx, await pixelScores(ctx, (d, s) => (d / s) ** 2, Math.sqrt), pct),
  };
}

/** Yosinski's contribution clipping: |sum_c (x_c - mean_c) dL/dx_c|, a first-order estimate of what the pixel adds, smallest pct percent reset. */
export function clipContribution(pct: number): Regularizer {
  checkPercent('clip-contribution', pct);
  return {
    name: `clip-contribution(${pct}%)`,
    pixelOnly: true,
    needsImageGradient: true,
    afterStep: async (ctx) => {
      if (!ctx.imageGradient) throw new Error('glassbox internal: clip-contribution ran without the image gradient');
      await clip(ctx, await pixelScores(ctx, (d, _s, g) => d * g, Math.abs, ctx.imageGradient), pct);
    },
  };
}

/** The summed penalty per image [N] of the regularisers that have one, or undefined. */
export function totalPenalty(regularizers: readonly Regularizer[], images: Tensor, z: Tensor): Tensor | undefined {
  const terms = regularizers.filter((r) => r.penalty).map((r) => r.penalty!(images, z));
  return terms.length === 0 ? undefined : terms.slice(1).reduce((a, b) => add(a, b), terms[0]!);
}

