/**
 * Learned perturbation masks: which region, deleted (blended into a blurred copy), changes the
 * model's score.
 *  - MeaningfulPerturbation (Fong & Vedaldi 2017, eq. 3): the smallest, smoothest deletion that
 *    kills the class score: min_m  l1 |1 - m|_1 + tv TV_beta(m) + S(Phi(x; m)), with a
 *    low-resolution mask upsampled to the image and random jitter.
 *  - ExtremalPerturbation (Fong, Patrick & Vedaldi 2019, eq. 7): for a fixed area a, the smooth
 *    mask of that area that keeps (preserve) or destroys (delete) the score the most, the area
 *    enforced by the ranking penalty ||vecsort(m) - r_a||^2 with a growing weight.
 * Both return the saliency [N, 1, H, W] (meaningful: 1 - m, the deleted region; extremal: m, the
 * kept region). Both optimise every sample of the batch at once with per-sample losses.
 */
import { noGrad } from '../autograd/node.ts';
import { tidy, Tensor } from '../tensor/tensor.ts';
import { full, tensor } from '../tensor/ops/creation.ts';
import { add, ge, mul, square, sub, where } from '../tensor/ops/elementwise.ts';
import { sum } from '../tensor/ops/reduce.ts';
import { reshape, slice } from '../tensor/ops/views.ts';
import { Attribution, checkAttributeOptions, targetScores, type AttributeOptions } from './attribution.ts';
import type { OptionSchema } from '../tensor/check-options.ts';
import { gaussianBlur } from './baselines.ts';
import { blend, deletedArea, gradientOfLoss, optimiseMask, repeatBatch, repeatTarget, roll, SmoothMask, totalVariation, upsampleMask } from './masks.ts';
import { registerMethods } from './registry.ts';

/** What a deleted pixel shows: 'blur' (a Gaussian blur of the image, the papers' choice), a constant, or a baseline image [1 or N, C, H, W]. */
export type PerturbationFill = 'blur' | number | Tensor;

export interface PerturbationOptions extends AttributeOptions {
  /** Default 'blur'. */
  perturbation?: PerturbationFill;
  /**
   * Blur sigma in pixels (default a quarter of the longer side: digits survive the papers' milder
   * blur of natural images, so that would delete nothing).
   */
  blurSigma?: number;
  iterations?: number;
  /** Adam learning rate on the mask. */
  lr?: number;
}

/** PerturbationOptions' schema, for the methods' run-time option checks. */
export const PERTURBATION_OPTIONS: OptionSchema = { perturbation: ['=blur', 'number', 'tensor'], blurSigma: 'number', iterations: 'number', lr: 'number' };

/** The fully perturbed image(s) that deleted pixels blend into. */
export function perturbedImage(input: Tensor, fill: PerturbationFill = 'blur', blurSigma?: number): Tensor {
  if (fill === 'blur') return gaussianBlur(input, blurSigma ?? Math.max(input.shape[2]!, input.shape[3]!) / 4);
  if (typeof fill === 'number') return full(input.shape, fill);
  return add(mul(input, 0), fill);
}

export interface MeaningfulPerturbationOptions extends PerturbationOptions {
  /** Weight of the deleted area |1 - m| (a mean over mask cells); default 0.3 (the paper's 1e-4 per cell of its 28x28 mask would be 0.08 as a mean, which deletes half of a digit image here). */
  l1?: number;
  /** Weight of the total variation TV_beta(m); default 2. */
  tv?: number;
  /** beta of TV (default 3, as in the paper). */
  tvBeta?: number;
  /** The mask has (H / maskScale) x (W / maskScale) cells (default 4). */
  maskScale?: number;
  /** Largest random shift of the perturbed image, in pixels (default 1); the shifts come from `seed`. */
  jitter?: number;
  seed?: number;
}

/**
 * Fong & Vedaldi 2017. Defaults: the softmax probability as the score (the paper's), 300 Adam
 * steps of lr 0.1 from m = 1 (nothing deleted), blur perturbation.
 */
export class MeaningfulPerturbation extends Attribution<MeaningfulPerturbationOptions> {
  async attribute(input: Tensor, opts: MeaningfulPerturbationOptions): Promise<Tensor> {
    checkAttributeOptions('MeaningfulPerturbation', opts, { ...PERTURBATION_OPTIONS, l1: 'number', tv: 'number', tvBeta: 'number', maskScale: 'number', jitter: 'number', seed: 'number' });
    const [n, , h, w] = input.shape as [number, number, number, number];
    const scale = opts.maskScale ?? 4;
    const [l1, tv, beta, jitter] = [opts.l1 ?? 0.3, opts.tv ?? 2, opts.tvBeta ?? 3, opts.jitter ?? 1];
    const shifts = jitterShifts(opts.iterations ?? 300, jitter, opts.seed ?? 0);
    const blurred = tidy(() => perturbedImage(input, opts.perturbation, opts.blurSigma));
    const loss = (m: Tensor, t: number) => {
      const mask = upsampleMask(m, [h, w]);
      const [dy, dx] = shifts[t]!;
      const perturbed = roll(blend(input, blurred, mask), dy, dx);
      const score = targetScores(this.model.forward(perturbed), opts.target, opts.score ?? 'probability');
      return sum(add(add(mul(deletedArea(m), l1), mul(totalVariation(m, beta), tv)), score));
    };
    try {
      const m = await optimiseMask(full([n, 1, Math.ceil(h / scale), Math.ceil(w / scale)], 1), shifts.length, opts.lr ?? 0.1, gradientOfLoss(loss));
      const saliency = noGrad(() => tidy(() => sub(1, upsampleMask(m, [h, w]))));
      m.dispose();
      return saliency;
    } finally {
      blurred.dispose();
    }
  }
}

/** Deterministic jitter (dy, dx) in [-jitter, jitter] per iteration, from a small LCG. */
function jitterShifts(iterations: number, jitter: number, seed: number): Array<[number, number]> {
  let s = (seed * 2654435761 + 1) >>> 0;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % (2 * jitter + 1) - jitter;
  };
  return Array.from({ length: iterations }, () => [next(), next()]);
}

export type ExtremalVariant = 'preserve' | 'delete' | 'dual';

export interface ExtremalPerturbationOptions extends PerturbationOptions {
  /** Fraction of the image the mask covers (default 0.1). */
  area?: number;
  /** 'preserve': the area alone keeps the score; 'delete': removing it destroys the score; 'dual': both (default 'preserve'). */
  variant?: ExtremalVariant;
  /** Parameter grid step in pixels (default ceil(max(H, W) / 16)). */
  step?: number;
  /** Width of the smooth-max bumps in pixels (default 1.5 step). */
  sigma?: number;
  /** Start weight of the area penalty (default 300, TorchRay's), grown geometrically 16-fold over the run. */
  areaWeight?: number;
}

/**
 * The k largest values' indicator per row of m [R, P] (k [R, 1]), found by bisection on the
 * threshold instead of a sort: 16 halvings pin the k-th largest value to 2^-16 on [0, 1].
 */
function topKIndicator(m: Tensor, k: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const rows = m.shape[0]!;
      let lo = full([rows, 1], 0);
      let hi = full([rows, 1], 1 + 1e-6);
      for (let i = 0; i < 16; i++) {
        const mid = mul(add(lo, hi), 0.5);
        const enough = ge(sum(ge(m, mid), { dim: 1, keepdim: true }), k);
        lo = where(enough, mid, lo);
        hi = where(enough, hi, mid);
      }
      return ge(m, lo);
    }),
  );
}

/**
 * Fong, Patrick & Vedaldi 2019 (TorchRay's extremal_perturbation, simplified as documented):
 * maximise  reward(m) - lambda_t ||vecsort(m) - r_a||^2 / P  over smooth masks m (SmoothMask),
 * where r_a is the sorted target mask: (1 - a) P zeros then a P ones. Because sorting only
 * permutes, ||vecsort(m) - r_a||^2 = ||m||^2 - 2 (sum of the aP largest m) + aP, which needs the
 * top-aP set rather than a sort (topKIndicator). The reward is the target score of the
 * preserved image blend(x, blur, m) ('preserve'), minus that of the deleted image
 * blend(x, blur, 1 - m) ('delete'), or both ('dual'). Simplifications: one blur level instead of
 * the paper's blur pyramid; Adam (lr 0.05, 300 steps) instead of SGD with momentum (800 steps).
 */
export class ExtremalPerturbation extends Attribution<ExtremalPerturbationOptions> {
  async attribute(input: Tensor, opts: ExtremalPerturbationOptions): Promise<Tensor> {
    const variants = ['=preserve', '=delete', '=dual'] as const;
    checkAttributeOptions('ExtremalPerturbation', opts, { ...PERTURBATION_OPTIONS, area: 'number', variant: variants, step: 'number', sigma: 'number', areaWeight: 'number' });
    const [mask] = await this.masks(input, { ...opts, areas: [opts.area ?? 0.1] });
    return mask!;
  }

  /** One mask [N, 1, H, W] per area, all optimised together (the batch repeated per area). */
  async masks(input: Tensor, opts: ExtremalPerturbationOptions & { areas: readonly number[] }): Promise<Tensor[]> {
    const { areas } = opts;
    if (areas.length === 0 || areas.some((a) => !(a > 0 && a < 1))) throw new Error(`glassbox.xai: extremal areas must be in (0, 1), got ${JSON.stringify(areas)}`);
    const variant = opts.variant ?? 'preserve';
    if (!['preserve', 'delete', 'dual'].includes(variant)) throw new Error(`glassbox.xai: unknown extremal variant '${variant}'; use 'preserve', 'delete' or 'dual'`);
    const [n, , h, w] = input.shape as [number, number, number, number];
    const step = opts.step ?? Math.ceil(Math.max(h, w) / 16);
    const generator = new SmoothMask([h, w], step, opts.sigma ?? 1.5 * step);
    const iterations = opts.iterations ?? 300;
    const growth = 16 ** (1 / iterations);
    const rows = areas.length * n;
    const pixels = h * w;
    const x = repeatBatch(input, areas.length);
    const blurred = tidy(() => perturbedImage(x, opts.perturbation, opts.blurSigma));
    const target = repeatTarget(opts.target, areas.length);
    const k = areaCounts(areas, n, pixels);
    const score = (image: Tensor) => targetScores(this.model.forward(image), target, opts.score);
    const loss = (p: Tensor, t: number) => {
      const m = generator.generate(p);
      const reward =
        variant === 'preserve' ? score(blend(x, blurred, m)) : variant === 'delete' ? mul(score(blend(x, blurred, sub(1, m))), -1) : sub(score(blend(x, blurred, m)), score(blend(x, blurred, sub(1, m))));
      const flat = reshape(m, [rows, pixels]);
      const ranking = add(sub(sum(square(flat), { dim: 1 }), mul(sum(mul(flat, topKIndicator(flat, k)), { dim: 1 }), 2)), reshape(k, [rows]));
      const weight = (opts.areaWeight ?? 300) * growth ** t;
      return sum(sub(mul(ranking, weight / pixels), reward));
    };
    const [gh, gw] = generator.grid;
    try {
      const p = await optimiseMask(full([rows, 1, gh, gw], 0.5), iterations, opts.lr ?? 0.05, gradientOfLoss(loss));
      const masks = noGrad(() =>
        tidy(() => {
          const m = generator.generate(p);
          return areas.map((_, i) => slice(m, 0, { start: i * n, end: (i + 1) * n }).contiguous());
        }),
      );
      p.dispose();
      return masks;
    } finally {
      [x, blurred, k, ...(target instanceof Tensor ? [target] : [])].forEach((t) => t.dispose());
      generator.dispose();
    }
  }
}

/** k = a P for each row (copy-major: all of area 0's samples, then area 1's...). */
function areaCounts(areas: readonly number[], n: number, pixels: number): Tensor {
  return tensor(Float32Array.from(areas.flatMap((a) => new Array<number>(n).fill(Math.round(a * pixels)))), [areas.length * n, 1]);
}

registerMethods([
  {
    name: 'meaningful-perturbation',
    catalogue: 'B7',
    description: 'Meaningful perturbation (Fong & Vedaldi 2017): the smallest smooth blur-deletion mask that kills the class probability',
    output: 'input',
    signed: false,
    create: (model) => new MeaningfulPerturbation(model),
  },
  {
    name: 'extremal-perturbation',
    catalogue: 'B7',
    description: 'Extremal perturbation (Fong, Patrick & Vedaldi 2019): the smooth mask of 10% area that best preserves the class score',
    output: 'input',
    signed: false,
    create: (model) => new ExtremalPerturbation(model),
  },
]);
