/**
 * Scores for any attribution map, so every method is judged by the same numbers (catalogue B8):
 * - deletion / insertion curves and their AUC (Petsiuk, Das, Saenko 2018, "RISE", sec. 4.1):
 *   pixels are removed from the image (deletion) or revealed on a substitute (insertion) in the
 *   order of the map, and the target's probability is recorded after each step; a good map
 *   makes deletion fall fast (low AUC) and insertion rise fast (high AUC);
 * - the pointing game (Zhang et al. 2016): does the map's maximum fall on an object (here a digit
 *   mask of mixture-of-MNIST, dilated by a tolerance)?
 * - energy in mask: the share of the positive attribution that lies on the objects.
 */
import type { Module } from '../nn/module.ts';
import { noGrad } from '../autograd/node.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { add, mul, sub } from '../tensor/ops/elementwise.ts';
import { softmax } from '../tensor/ops/activation.ts';
import { mean, sum } from '../tensor/ops/reduce.ts';
import { cat, expand, slice } from '../tensor/ops/views.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { shapeStr } from '../tensor/shape.ts';
import { gaussianBlur } from './baselines.ts';

export interface CurveOptions {
  /**
   * Number of steps (the curve has steps + 1 points, from 0% to 100% of the pixels). Default 32,
   * about 3% of the pixels a step: the two digits together cover about a tenth of a
   * mixture-of-MNIST canvas, and coarser steps delete most of them in the first step, for a good
   * and a poor map alike.
   */
  steps?: number;
  /** What replaces deleted pixels and what insertion starts from: a blurred copy (default), the image mean, or zero. */
  substitute?: 'blur' | 'mean' | 'zero';
  blurSigma?: number;
}

export interface Curves {
  deletion: number[];
  insertion: number[];
  deletionAuc: number;
  insertionAuc: number;
}

/** Per-pixel importance [H*W] of sample i: the map summed over its channels. */
function pixelScores(map: Float32Array | Int32Array | Uint32Array, i: number, channels: number, hw: number): Float64Array {
  const out = new Float64Array(hw);
  for (let c = 0; c < channels; c++) for (let p = 0; p < hw; p++) out[p]! += map[(i * channels + c) * hw + p]!;
  return out;
}

/** Trapezoid area under a curve sampled at evenly spaced fractions 0..1. */
export function auc(curve: readonly number[]): number {
  let a = 0;
  for (let k = 1; k < curve.length; k++) a += (curve[k - 1]! + curve[k]!) / 2;
  return a / (curve.length - 1);
}

/**
 * Deletion and insertion curves of `maps` ([N, 1|C, H, W]) for `input` [N, C, H, W] and class
 * `targets`. All steps of one image run as one batch.
 */
export async function deletionInsertion(model: Module, input: Tensor, maps: Tensor, targets: readonly number[], opts: CurveOptions = {}): Promise<Curves[]> {
  const [n, c, h, w] = input.shape as [number, number, number, number];
  if (maps.rank !== 4 || maps.shape[0] !== n || maps.shape[2] !== h || maps.shape[3] !== w)
    throw new Error(`glassbox.xai.deletionInsertion: maps ${shapeStr(maps.shape)} must be [${n}, 1 or ${c}, ${h}, ${w}] like the input ${shapeStr(input.shape)}`);
  const steps = opts.steps ?? 32;
  const hw = h * w;
  const mapValues = await maps.toArray();
  const substitute = noGrad(() =>
    opts.substitute === 'zero' ? mul(input, 0) : opts.substitute === 'mean' ? expand(mean(input, { dim: [1, 2, 3], keepdim: true }), input.shape) : gaussianBlur(input, opts.blurSigma ?? Math.max(h, w) / 8),
  );
  const results: Curves[] = [];
  for (let i = 0; i < n; i++) {
    const scores = pixelScores(mapValues, i, maps.shape[1]!, hw);
    const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
    // keep[k][p] = 1 while pixel p is still present after k steps of deletion
    const keep = new Float32Array((steps + 1) * hw).fill(1);
    for (let k = 1; k <= steps; k++) {
      const removed = Math.round((k / steps) * hw);
      for (let r = 0; r < removed; r++) keep[k * hw + order[r]!] = 0;
    }
    const probs = tidy(() =>
      noGrad(() => {
        const m = tensor(keep, [steps + 1, 1, h, w]);
        const x = slice(input, 0, { start: i, end: i + 1 });
        const s = slice(substitute, 0, { start: i, end: i + 1 });
        // deletion: the image with the top pixels replaced; insertion: the substitute with the top pixels revealed
        const deleted = add(mul(x, m), mul(s, sub(1, m)));
        const inserted = add(mul(s, m), mul(x, sub(1, m)));
        const p = softmax(model.forward(cat([deleted, inserted], 0)), 1);
        return slice(p, 1, { start: targets[i]!, end: targets[i]! + 1 });
      }),
    );
    const values = Array.from(await probs.toArray());
    probs.dispose();
    const deletion = values.slice(0, steps + 1);
    const insertion = values.slice(steps + 1);
    results.push({ deletion, insertion, deletionAuc: auc(deletion), insertionAuc: auc(insertion) });
  }
  substitute.dispose();
  return results;
}

/** Grows a 0/1 mask [H*W] by `radius` pixels (square neighbourhood). */
export function dilate(mask: ArrayLike<number>, h: number, w: number, radius: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      for (let dy = -radius; dy <= radius; dy++)
        for (let dx = -radius; dx <= radius; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) out[yy * w + xx] = 1;
        }
    }
  return out;
}

/** 1 if the maximum of the map (summed over channels) lies on the mask dilated by `tolerance` pixels, else 0. */
export function pointingHit(scores: ArrayLike<number>, mask: ArrayLike<number>, h: number, w: number, tolerance = 2): number {
  let best = 0;
  for (let p = 1; p < h * w; p++) if (scores[p]! > scores[best]!) best = p;
  return dilate(mask, h, w, tolerance)[best]!;
}

/** Share of the positive attribution that lies on the mask. */
export function energyInMask(scores: ArrayLike<number>, mask: ArrayLike<number>): number {
  let inside = 0;
  let total = 0;
  for (let p = 0; p < mask.length; p++) {
    const v = Math.max(scores[p]!, 0);
    total += v;
    if (mask[p]) inside += v;
  }
  return total > 0 ? inside / total : 0;
}

/** Per-sample pixel scores [N][H*W] of maps [N, C, H, W] (summed over channels). */
export async function mapScores(maps: Tensor): Promise<Float64Array[]> {
  const [n, c, h, w] = maps.shape as [number, number, number, number];
  const values = await maps.toArray();
  return Array.from({ length: n }, (_, i) => pixelScores(values, i, c, h * w));
}

/** What attributions sum up to: f(x) - f(baseline) per sample, or f(x) - E[f(background)] over a set (SHAP). */
export type CompletenessReference = { baseline: Tensor } | { background: Tensor };

/**
 * Completeness error of attributions that promise to sum to a difference of scores (Integrated
 * Gradients' completeness, DeepLIFT's summation-to-delta, SHAP's efficiency), on the target
 * logit: |sum(map_i) - (f_i(x_i) - f_i(reference))| / |f_i(x_i) - f_i(reference)| per sample.
 * A baseline has one row per sample (or one row for all); a background's mean output is the
 * reference of every sample.
 */
export async function completenessError(model: Module, input: Tensor, maps: Tensor, targets: readonly number[], reference: CompletenessReference): Promise<number[]> {
  const n = input.shape[0]!;
  if (maps.shape.join() !== input.shape.join())
    throw new Error(`glassbox.xai.completenessError: needs a map of the input's shape ${shapeStr(input.shape)}, got ${shapeStr(maps.shape)}`);
  const [totals, scores, referenceScores] = await Promise.all(
    tidy(() =>
      noGrad(() => {
        const ref = 'baseline' in reference ? model.forward(reference.baseline) : mean(model.forward(reference.background), { dim: 0, keepdim: true });
        return [sum(maps, { dim: [1, 2, 3] }), model.forward(input), ref.shape[0] === n ? ref : expand(ref, [n, ref.shape[1]!])];
      }),
    ).map(async (t) => {
      const values = await t.toArray();
      t.dispose();
      return values;
    }),
  );
  const classes = scores!.length / n;
  return targets.map((t, i) => {
    const delta = scores![i * classes + t]! - referenceScores![i * classes + t]!;
    return Math.abs(totals![i]! - delta) / Math.abs(delta);
  });
}
