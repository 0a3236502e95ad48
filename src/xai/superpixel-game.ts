/**
 * The cooperative game that LIME, KernelSHAP and exact Shapley values explain: the players are
 * one image's superpixels, and the value of a coalition z in {0,1}^d is the model's score on
 * the image with every superpixel outside z replaced by a fill,
 *   v(z) = f(fill + mask(z) * (x - fill)),   mask(z) = sum_j z_j [pixel in superpixel j].
 * Masks are made on the GPU as one matmul Z [B, d] x onehot(segments) [d, HW]; coalitions are
 * scored in batches of internalBatchSize and read back once per call.
 */
import type { Module } from '../nn/module.ts';
import { noGrad } from '../autograd/node.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { tensor, zeros } from '../tensor/ops/creation.ts';
import { add, mul, sub } from '../tensor/ops/elementwise.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { cat, reshape } from '../tensor/ops/views.ts';
import { shapeStr } from '../tensor/shape.ts';
import type { OptionSchema } from '../tensor/check-options.ts';
import { targetScores, type AttributeOptions, type ScoreKind, type Target } from './attribution.ts';
import { gaussianBlur } from './baselines.ts';
import { resolveTarget } from './gradient.ts';
import { segmentImage, type Segmentation, type SuperpixelAlgorithm } from './superpixels.ts';

/**
 * What a switched-off superpixel shows: 'mean' its own mean value per channel (the LIME
 * package's default), 'zero' zeros, 'blur' a Gaussian blur of the image (sigma = an eighth of
 * the longer side, SHAP's blur masker in spirit), or a baseline image [1 or N, C, H, W].
 */
export type SuperpixelFill = 'mean' | 'zero' | 'blur' | Tensor;

/** SuperpixelOptions' schema, for the methods' run-time option checks. */
export const SUPERPIXEL_OPTIONS: OptionSchema = { segmentation: 'object', fill: ['=mean', '=zero', '=blur', 'tensor'], internalBatchSize: 'number' };

export interface SuperpixelOptions extends AttributeOptions {
  /** Default SLIC with 40 segments, compactness 10. */
  segmentation?: SuperpixelAlgorithm;
  /** Default 'mean'. */
  fill?: SuperpixelFill;
  /** Coalitions scored per forward pass (default 256). */
  internalBatchSize?: number;
}

export const DEFAULT_SUPERPIXELS: SuperpixelAlgorithm = { method: 'slic', nSegments: 40, compactness: 10 };

/** A cooperative game of `features` players: the value of coalitions given as rows of 0/1. */
export interface CoalitionGame {
  readonly features: number;
  values(coalitions: Uint8Array): Promise<Float64Array>;
}

export class SuperpixelGame implements CoalitionGame {
  readonly features: number;
  private readonly onehot: Tensor;
  private readonly image: Tensor;
  private readonly fill: Tensor;

  constructor(
    private readonly model: Module,
    readonly segments: Segmentation,
    image: Float32Array,
    fill: Float32Array,
    readonly channels: number,
    private readonly target: Target,
    private readonly score: ScoreKind | undefined,
    private readonly batchSize: number,
  ) {
    const { height: h, width: w, count: d } = segments;
    this.features = d;
    const onehot = new Float32Array(d * h * w);
    segments.labels.forEach((s, p) => (onehot[s * h * w + p] = 1));
    this.onehot = tensor(onehot, [d, h * w]);
    this.image = tensor(image, [1, channels, h, w]);
    this.fill = tensor(fill, [1, channels, h, w]);
  }

  /** v(z) for every row of `coalitions` (rows x features, each 0 or 1), in float64. */
  async values(coalitions: Uint8Array): Promise<Float64Array> {
    const d = this.features;
    const rows = coalitions.length / d;
    if (!Number.isInteger(rows)) throw new Error(`glassbox.xai: ${coalitions.length} coalition entries are not rows of ${d} features`);
    if (rows === 0) return new Float64Array(0);
    const { height: h, width: w } = this.segments;
    const scores: Tensor[] = [];
    for (let start = 0; start < rows; start += this.batchSize) {
      const b = Math.min(this.batchSize, rows - start);
      const z = Float32Array.from(coalitions.subarray(start * d, (start + b) * d));
      scores.push(tidy(() => noGrad(() => {
        const masks = reshape(matmul(tensor(z, [b, d]), this.onehot), [b, 1, h, w]);
        const perturbed = add(this.fill, mul(masks, sub(this.image, this.fill)));
        return targetScores(this.model.forward(perturbed), this.target, this.score);
      })));
    }
    const all = scores.length === 1 ? scores[0]! : cat(scores, 0);
    const out = Float64Array.from(await all.toArray());
    if (all !== scores[0]) all.dispose();
    scores.forEach((s) => s.dispose());
    return out;
  }

  dispose(): void {
    this.onehot.dispose();
    this.image.dispose();
    this.fill.dispose();
  }
}

/** One game per image of the batch `input` [N, C, H, W], each with that image's own target. */
export async function superpixelGames(model: Module, input: Tensor, opts: SuperpixelOptions): Promise<SuperpixelGame[]> {
  if (input.rank !== 4) throw new Error(`glassbox.xai: superpixel methods need images [N, C, H, W], got ${shapeStr(input.shape)}`);
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const batchSize = opts.internalBatchSize ?? 256;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`glassbox.xai: internalBatchSize must be a positive integer, got ${batchSize}`);
  const pixels = Float32Array.from(await input.toArray());
  const targets = await resolveTarget(opts.target, n);
  const baseline = await baselinePixels(opts.fill, input);
  const size = c * h * w;
  return Array.from({ length: n }, (_, i) => {
    const image = pixels.subarray(i * size, (i + 1) * size);
    const segments = segmentImage({ data: image, channels: c, height: h, width: w }, opts.segmentation ?? DEFAULT_SUPERPIXELS);
    const fill = baseline ? baseline(i) : fillPixels(opts.fill as 'mean' | 'zero' | undefined, image, segments, c);
    // every coalition row of image i is scored for image i's class (a function target applies to any rows)
    return new SuperpixelGame(model, segments, image, fill, c, typeof targets === 'function' ? targets : targets[i]!, opts.score, batchSize);
  });
}

/** Spreads per-superpixel values to an attribution map [N, C, H, W] (every channel the same). */
export function pixelMap(games: readonly SuperpixelGame[], perFeature: readonly ArrayLike<number>[]): Tensor {
  if (games.length === 0) return zeros([0, 1, 1, 1]);
  const { height: h, width: w } = games[0]!.segments;
  const c = games[0]!.channels;
  const out = new Float32Array(games.length * c * h * w);
  games.forEach((g, i) => {
    g.segments.labels.forEach((s, p) => {
      for (let ch = 0; ch < c; ch++) out[(i * c + ch) * h * w + p] = perFeature[i]![s]!;
    });
  });
  return tensor(out, [games.length, c, h, w]);
}

/** Image i's fill when it does not depend on the segmentation: the blurred input or a baseline tensor. */
async function baselinePixels(fill: SuperpixelFill | undefined, input: Tensor): Promise<((i: number) => Float32Array) | undefined> {
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const size = c * h * w;
  if (fill === 'blur') {
    const blurred = gaussianBlur(input, Math.max(h, w) / 8);
    const data = Float32Array.from(await blurred.toArray());
    blurred.dispose();
    return (i) => data.slice(i * size, (i + 1) * size);
  }
  if (fill === undefined || typeof fill === 'string') return undefined;
  const [bn, ...rest] = fill.shape;
  if (fill.rank !== 4 || (bn !== 1 && bn !== n) || rest[0] !== c || rest[1] !== h || rest[2] !== w)
    throw new Error(`glassbox.xai: a baseline fill must be [1 or ${n}, ${c}, ${h}, ${w}], got ${shapeStr(fill.shape)}`);
  const data = Float32Array.from(await fill.toArray());
  const row = (i: number) => (bn === 1 ? 0 : i);
  return (i) => data.slice(row(i) * size, (row(i) + 1) * size);
}

function fillPixels(fill: 'mean' | 'zero' | undefined, image: Float32Array, segments: Segmentation, c: number): Float32Array {
  switch (fill ?? 'mean') {
    case 'zero':
      return new Float32Array(image.length);
    case 'mean':
      return segmentMeans(image, segments, c);
    default:
      throw new Error(`glassbox.xai: unknown fill '${String(fill)}'; use 'mean', 'zero', 'blur' or a baseline tensor`);
  }
}

function segmentMeans(image: Float32Array, segments: Segmentation, c: number): Float32Array {
  const { labels, count, height: h, width: w } = segments;
  const out = new Float32Array(image.length);
  for (let ch = 0; ch < c; ch++) {
    const sum = new Float64Array(count);
    const num = new Float64Array(count);
    labels.forEach((s, p) => {
      sum[s]! += image[ch * h * w + p]!;
      num[s]!++;
    });
    labels.forEach((s, p) => (out[ch * h * w + p] = sum[s]! / num[s]!));
  }
  return out;
}
