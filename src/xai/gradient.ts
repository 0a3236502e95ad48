/**
 * Gradient maps (catalogue A1, A1b) and the machinery every gradient-based method shares:
 * the gradient of the target score at many points per sample (noisy copies, points on a path),
 * run `internalBatchSize` rows at a time so memory stays bounded.
 *
 * - Saliency (Simonyan, Vedaldi, Zisserman 2014, "Deep Inside Convolutional Networks", sec. 3.1):
 *   w = d S_c / d x, shown as |w| with the max (or sum) over channels.
 * - InputXGradient: x * d S_c / d x (Shrikumar et al. 2016), signed.
 * - SmoothGrad (Smilkov et al. 2017, eq. 3): (1/n) sum_k d S_c / d x (x + N(0, sigma^2)), sigma a
 *   fraction of the sample's range (max - min); variants squared (mean of squares) and VarGrad
 *   (variance, Adebayo et al. 2018).
 * - LayerUnitGradient: d a / d x for a hidden unit a of any layer (a channel at a position, or a
 *   channel's spatial mean): the target function then sees the layer's activation.
 *
 * Samples of a batch are independent in eval mode, so one backward of the sum of the batch's
 * scores gives every sample its own gradient.
 */
import { grad } from '../autograd/backward.ts';
import { noGrad, withBackwardRule, type BackwardRule } from '../autograd/node.ts';
import type { Module } from '../nn/module.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { abs, add, mul, square, sub } from '../tensor/ops/elementwise.ts';
import { indexSelect } from '../tensor/ops/indexing.ts';
import { amax, amin, mean, sum } from '../tensor/ops/reduce.ts';
import { cat, reshape, select } from '../tensor/ops/views.ts';
import { shapeStr } from '../tensor/shape.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { checkOptions, type OptionSchema } from '../tensor/check-options.ts';
import { Attribution, checkAttributeOptions, forwardWithLayer, targetScores, type AttributeOptions, type ScoreKind, type Target } from './attribution.ts';
import { seededNoise } from './baselines.ts';
import { registerMethods } from './registry.ts';

/** A target with tensors read back once: one class per sample, or a function of the output. */
export type ResolvedTarget = number[] | ((output: Tensor) => Tensor);

export async function resolveTarget(target: Target, n: number): Promise<ResolvedTarget> {
  if (typeof target === 'function') return target;
  if (typeof target === 'number') return new Array<number>(n).fill(target);
  const list = Array.isArray(target) ? [...(target as readonly number[])] : Array.from(await (target as Tensor).toArray());
  if (list.length !== n) throw new Error(`glassbox.xai: ${list.length} targets for a batch of ${n}`);
  return list;
}

/** The target of the rows built from samples `samples` (a function target applies to any rows). */
export function targetForRows(target: ResolvedTarget, samples: readonly number[]): Target {
  return typeof target === 'function' ? target : samples.map((i) => target[i]!);
}

export interface PointGradientOptions {
  /** The function whose output the target scores (default: the model). */
  forward: (x: Tensor) => Tensor;
  target: ResolvedTarget;
  score?: ScoreKind;
  /** Rows per forward/backward (default: all at once). */
  internalBatchSize?: number;
  /** A backward rule in force for the forward and backward (guided backprop, DeepLIFT...). */
  rule?: { ops: readonly string[]; rule: BackwardRule };
}

/**
 * The gradient of the target score at `copies` points per sample: `point(samples, copies, rows)`
 * builds the rows for pairs (sample i, copy k) given as int32 index tensors (rows = i * copies + k:
 * rows are sample-major). They run
 * `internalBatchSize` at a time. Returns grads [N, copies, ...] and the scores [N, copies].
 */
export function gradientsAtPoints(
  n: number,
  copies: number,
  point: (samples: Tensor, copyIndex: Tensor, rows: Tensor) => Tensor,
  o: PointGradientOptions,
): { grads: Tensor; scores: Tensor } {
  const total = n * copies;
  const size = o.internalBatchSize ?? total;
  if (!Number.isInteger(size) || size < 1) throw new Error(`glassbox.xai: internalBatchSize must be a positive integer, got ${o.internalBatchSize}`);
  const chunks: Array<{ grad: Tensor; score: Tensor }> = [];
  for (let start = 0; start < total; start += size) {
    const rows = Array.from({ length: Math.min(total, start + size) - start }, (_, j) => start + j);
    const samples = rows.map((r) => Math.floor(r / copies));
    const run = () => {
      const int32 = (v: Iterable<number>) => tensor(Int32Array.from(v), [rows.length], { dtype: 'int32' });
      const x = point(int32(samples), int32(rows.map((r) => r % copies)), int32(rows)).detach().requiresGrad_();
      const scores = targetScores(o.forward(x), targetForRows(o.target, samples), o.score);
      const [g] = grad(sum(scores), x);
      return { grad: g!, score: scores.detach() };
    };
    chunks.push(tidy(() => (o.rule ? withBackwardRule(o.rule.ops, o.rule.rule, run) : run())));
  }
  return tidy(() => {
    const g = chunks.length === 1 ? chunks[0]!.grad : cat(chunks.map((c) => c.grad), 0);
    const s = chunks.length === 1 ? chunks[0]!.score : cat(chunks.map((c) => c.score), 0);
    const result = { grads: reshape(g, [n, copies, ...g.shape.slice(1)]), scores: reshape(s, [n, copies]) };
    if (chunks.length > 1) chunks.forEach((c) => (c.grad.dispose(), c.score.dispose()));
    return result;
  });
}

/** The target scores [N] of `x` without recording a graph. */
export function scoresAt(forward: (x: Tensor) => Tensor, x: Tensor, target: ResolvedTarget, score?: ScoreKind): Tensor {
  return noGrad(() => tidy(() => targetScores(forward(x), targetForRows(target, Array.from({ length: x.shape[0]! }, (_, i) => i)), score)));
}

/** Rows of `x` picked by a sample index tensor. */
export const rowsOf = (x: Tensor, samples: Tensor): Tensor => indexSelect(x, 0, samples);

/** Per-sample value range (max - min) as [N, 1, 1, ...], for noise scales. */
export function sampleRange(x: Tensor): Tensor {
  const dims = x.shape.slice(1).map((_, k) => k + 1);
  return sub(amax(x, { dim: dims, keepdim: true }), amin(x, { dim: dims, keepdim: true }));
}

export interface SaliencyOptions extends AttributeOptions {
  /** Absolute value of the gradient (default true, as in Simonyan et al.). */
  abs?: boolean;
  /** Channel reduction: 'max' (default) or 'sum' give [N, 1, H, W]; 'none' keeps [N, C, H, W]. */
  reduce?: 'max' | 'sum' | 'none';
  internalBatchSize?: number;
}

/** The visualisation step of a gradient map: optional |.|, then max / sum over channels (keepdim). */
export function reduceChannels(map: Tensor, opts: { abs?: boolean; reduce?: 'max' | 'sum' | 'none' }): Tensor {
  const m = (opts.abs ?? true) ? abs(map) : map;
  const r = opts.reduce ?? 'max';
  if (r === 'none') return m;
  if (map.rank !== 4) throw new Error(`glassbox.xai: channel reduction needs a map [N, C, H, W], got ${shapeStr(map.shape)}`);
  return r === 'max' ? amax(m, { dim: 1, keepdim: true }) : sum(m, { dim: 1, keepdim: true });
}

/** Base of the methods made of input gradients: what the target scores, and the gradient at the input. */
export abstract class GradientAttribution<O extends AttributeOptions> extends Attribution<O> {
  /** The tensor the target scores: the model's output (a layer's activation for LayerUnitGradient). */
  protected forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }

  /** d score / d input at the input itself, [N, C, H, W]. */
  protected async inputGradient(input: Tensor, opts: AttributeOptions & { internalBatchSize?: number }, rule?: PointGradientOptions['rule']): Promise<Tensor> {
    const target = await resolveTarget(opts.target, input.shape[0]!);
    const { grads, scores } = gradientsAtPoints(input.shape[0]!, 1, (s) => rowsOf(input, s), {
      forward: (x) => this.forward(x),
      target,
      score: opts.score,
      internalBatchSize: opts.internalBatchSize,
      rule,
    });
    scores.dispose();
    return tidy(() => reshape(grads, input.shape));
  }
}

/** Simonyan et al. 2014: |d S_c / d x|, reduced over channels. Output [N, 1, H, W] (or [N, C, H, W] with reduce 'none'). */
export const SALIENCY_OPTIONS: OptionSchema = { abs: 'boolean', reduce: ['=max', '=sum', '=none'], internalBatchSize: 'number' };

export class Saliency extends GradientAttribution<SaliencyOptions> {
  async attribute(input: Tensor, opts: SaliencyOptions): Promise<Tensor> {
    checkAttributeOptions(this.constructor.name, opts, SALIENCY_OPTIONS);
    const g = await this.inputGradient(input, opts);
    const out = tidy(() => reduceChannels(g, opts));
    if (out !== g) g.dispose();
    return out;
  }
}

/** x * d S_c / d x, signed, [N, C, H, W]. */
export class InputXGradient extends GradientAttribution<AttributeOptions & { internalBatchSize?: number }> {
  async attribute(input: Tensor, opts: AttributeOptions & { internalBatchSize?: number }): Promise<Tensor> {
    checkAttributeOptions('InputXGradient', opts, { internalBatchSize: 'number' });
    const g = await this.inputGradient(input, opts);
    const out = tidy(() => mul(input, g));
    g.dispose();
    return out;
  }
}

export interface SmoothGradOptions extends SaliencyOptions {
  /** Noisy copies per sample (default 50, Smilkov et al.'s choice). */
  samples?: number;
  /** Noise standard deviation as a fraction of the sample's range max - min (default 0.15, in the paper's 10-20%). */
  noiseLevel?: number;
  /** 'smoothgrad' (mean gradient, default), 'smoothgrad-squared' (mean of squares), 'vargrad' (variance). */
  variant?: 'smoothgrad' | 'smoothgrad-squared' | 'vargrad';
  /** Seed of the noise; every sample gets the same noise pattern, so a batch equals one-by-one (default 0). */
  seed?: number;
}

/**
 * SmoothGrad (Smilkov et al. 2017, eq. 3), then the same |.| and channel reduction as Saliency
 * (abs is a no-op for the squared and variance variants, which are non-negative). All noisy copies
 * run as rows of batched forward/backward passes of at most internalBatchSize rows.
 */
export class SmoothGrad extends GradientAttribution<SmoothGradOptions> {
  async attribute(input: Tensor, opts: SmoothGradOptions): Promise<Tensor> {
    checkAttributeOptions('SmoothGrad', opts, { ...SALIENCY_OPTIONS, samples: 'number', noiseLevel: 'number', variant: ['=smoothgrad', '=smoothgrad-squared', '=vargrad'], seed: 'number' });
    const n = input.shape[0]!;
    const copies = opts.samples ?? 50;
    const level = opts.noiseLevel ?? 0.15;
    if (!Number.isInteger(copies) || copies < 1) throw new Error(`glassbox.SmoothGrad: samples must be a positive integer, got ${copies}`);
    if (!(level >= 0)) throw new Error(`glassbox.SmoothGrad: noiseLevel must be >= 0, got ${level}`);
    const target = await resolveTarget(opts.target, n);
    const noise = seededNoise([copies, ...input.shape.slice(1)], opts.seed ?? 0);
    const sigma = tidy(() => mul(sampleRange(input), level));
    const { grads, scores } = gradientsAtPoints(n, copies, (s, k) => add(rowsOf(input, s), mul(rowsOf(sigma, s), rowsOf(noise, k))), {
      forward: (x) => this.forward(x),
      target,
      score: opts.score,
      internalBatchSize: opts.internalBatchSize,
    });
    const out = tidy(() => {
      const variant = opts.variant ?? 'smoothgrad';
      const meanGrad = mean(grads, { dim: 1 });
      const map =
        variant === 'smoothgrad' ? meanGrad
        : variant === 'smoothgrad-squared' ? mean(square(grads), { dim: 1 })
        : sub(mean(square(grads), { dim: 1 }), square(meanGrad));
      return reduceChannels(map, opts);
    });
    [noise, sigma, grads, scores].forEach((t) => t.dispose());
    return out;
  }
}

/**
 * A hidden unit's activation as a target for LayerUnitGradient: channel `channel` at (y, x), or
 * the channel's spatial mean when y and x are left out. For [N, F] activations, unit `channel`.
 */
export function unit(channel: number, y?: number, x?: number): (activation: Tensor) => Tensor {
  return (a) => {
    if (channel < 0 || channel >= a.shape[1]!) throw new Error(`glassbox.xai: unit channel ${channel} is not in 0..${a.shape[1]! - 1} (activation ${shapeStr(a.shape)})`);
    const c = select(a, 1, channel);
    if (c.rank === 1) return c;
    if (y === undefined || x === undefined) return mean(c, { dim: c.shape.slice(1).map((_, k) => k + 1) });
    if (c.rank !== 3 || y < 0 || y >= c.shape[1]! || x < 0 || x >= c.shape[2]!)
      throw new Error(`glassbox.xai: unit position (${y}, ${x}) is outside the activation ${shapeStr(a.shape)}`);
    return select(select(c, 2, x), 1, y);
  };
}

/**
 * Gradient of a hidden unit w.r.t. the input: the target function (e.g. `unit(3, 5, 5)`) receives
 * the activation of layer `layer` instead of the model output. Same options and output as Saliency.
 */
export class LayerUnitGradient extends Saliency {
  constructor(
    model: Module,
    readonly layer: string,
  ) {
    super(model);
    checkOptions('xai.LayerUnitGradient', { layer }, { layer: 'string' });
  }
  protected override forward(x: Tensor): Tensor {
    return forwardWithLayer(this.model, this.layer, x).activation;
  }
}

registerMethods([
  {
    name: 'saliency',
    catalogue: 'A1',
    description: 'Vanilla gradient |dS/dx|, max over channels (Simonyan et al. 2014)',
    output: 'input',
    signed: false,
    create: (model) => new Saliency(model),
  },
  {
    name: 'input-x-gradient',
    catalogue: 'A1b',
    description: 'Input times gradient, signed',
    output: 'input',
    signed: true,
    create: (model) => new InputXGradient(model),
  },
  {
    name: 'smoothgrad',
    catalogue: 'A1b',
    description: 'SmoothGrad: gradient averaged over 50 noisy copies, sigma 15% of the range (Smilkov et al. 2017)',
    output: 'input',
    signed: false,
    create: (model) => new SmoothGrad(model),
  },
]);
