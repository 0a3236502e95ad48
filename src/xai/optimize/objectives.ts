/**
 * Objectives of input optimisation, as small composable values (Lucent's algebra): each scores
 * every image of the batch ([N], larger is better), and objectives add, subtract, scale and
 * negate: channel('features.3', 5).sub(layerNorm('features.0').mul(0.1)). An objective names the
 * layers it reads (module paths, as nn.summary prints them); the render loop captures those
 * layers' outputs with forward hooks in the same forward pass that gives the logits.
 * A class, channel or neuron index may be one number for the whole batch or one per image, so
 * that one batch draws ten classes at once.
 */
import { shapeStr } from '../../tensor/shape.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, div, mul, neg, square, sub } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { mean, sum } from '../../tensor/ops/reduce.ts';
import { logSoftmax, softmax } from '../../tensor/ops/activation.ts';
import { reshape, transpose } from '../../tensor/ops/views.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** What an objective reads: the captured layers' outputs and the model's output. */
export interface ObjectiveContext {
  activation(layer: string): Tensor;
  output: Tensor;
  /** The model input the output came from (normalised), for objectives that differentiate through it (explanation manipulation). */
  input?: Tensor;
}

export class Objective {
  constructor(
    /** Module paths whose outputs the score reads. */
    readonly layers: readonly string[],
    /** One score per image, [N]. */
    readonly score: (ctx: ObjectiveContext) => Tensor,
    readonly description: string,
  ) {}

  add(other: Objective): Objective {
    return new Objective(unique([...this.layers, ...other.layers]), (ctx) => add(this.score(ctx), other.score(ctx)), `${this.description} + ${other.description}`);
  }

  sub(other: Objective): Objective {
    return new Objective(unique([...this.layers, ...other.layers]), (ctx) => sub(this.score(ctx), other.score(ctx)), `${this.description} - (${other.description})`);
  }

  mul(factor: number): Objective {
    if (!Number.isFinite(factor)) throw new Error(`glassbox.xai.optimize: an objective's factor must be a finite number, got ${factor}`);
    return new Objective(this.layers, (ctx) => mul(this.score(ctx), factor), `${factor} * (${this.description})`);
  }

  neg(): Objective {
    return new Objective(this.layers, (ctx) => neg(this.score(ctx)), `-(${this.description})`);
  }
}

const unique = (xs: readonly string[]) => [...new Set(xs)];

/** The sum of objectives. */
export function sumObjectives(...objectives: Objective[]): Objective {
  if (objectives.length === 0) throw new Error('glassbox.xai.optimize: sumObjectives needs at least one objective');
  return objectives.slice(1).reduce((a, b) => a.add(b), objectives[0]!);
}

/** An index for every image: one number for all, or one per image. */
export type PerImage = number | readonly number[];

function indices(what: string, index: PerImage, n: number, size: number, where: string): number[] {
  const list = typeof index === 'number' ? Array<number>(n).fill(index) : [...index];
  if (list.length !== n) throw new Error(`glassbox.xai.optimize: ${list.length} ${what} indices for a batch of ${n} images; give one number or one per image`);
  const bad = list.find((i) => !Number.isSafeInteger(i) || i < 0 || i >= size);
  if (bad !== undefined) throw new Error(`glassbox.xai.optimize: ${what} ${bad} is out of range: ${where} has ${size} ${what}s (0 to ${size - 1})`);
  return list;
}

/** A one-hot selector shaped like x ([N, C, ...] with 1 at [i, k_i] broadcast over the rest). */
function channelMask(x: Tensor, list: number[]): Tensor {
  const [n, c] = x.shape as [number, number];
  const values = new Float32Array(n * c);
  list.forEach((k, i) => (values[i * c + k] = 1));
  return tensor(values, [n, c, ...x.shape.slice(2).map(() => 1)]);
}

/** Sum over every axis but the batch. */
const perImageSum = (x: Tensor) => (x.rank === 1 ? x : sum(x, { dim: Array.from({ length: x.rank - 1 }, (_, i) => i + 1) }));
const perImageMean = (x: Tensor) => (x.rank === 1 ? x : mean(x, { dim: Array.from({ length: x.rank - 1 }, (_, i) => i + 1) }));

function checkOutput(output: Tensor): void {
  if (output.rank !== 2) throw new Error(`glassbox.xai.optimize: class objectives need the model to output [N, classes], got ${shapeStr(output.shape)}`);
}

/** The logit of class k (Lucid's objectives.channel on the logits). */
export function classLogit(k: PerImage): Objective {
  return new Objective([], ({ output }) => {
    checkOutput(output);
    const list = indices('class', k, output.shape[0]!, output.shape[1]!, `the model's output ${shapeStr(output.shape)}`);
    return perImageSum(mul(output, channelMask(output, list)));
  }, `logit of class ${String(k)}`);
}

/** The softmax probability of class k (with `log`, its log-probability): raising it also lowers the other classes. */
export function classProbability(k: PerImage, opts: { log?: boolean } = {}): Objective {
  const log = opts.log ?? false;
  return new Objective([], ({ output }) => {
    checkOutput(output);
    const list = indices('class', k, output.shape[0]!, output.shape[1]!, `the model's output ${shapeStr(output.shape)}`);
    return perImageSum(mul(log ? logSoftmax(output, 1) : softmax(output, 1), channelMask(output, list)));
  }, `${log ? 'log-' : ''}probability of class ${String(k)}`);
}

function layerOutput(ctx: ObjectiveContext, layer: string, minRank: number): Tensor {
  const a = ctx.activation(layer);
  if (a.rank < minRank) throw new Error(`glassbox.xai.optimize: layer '${layer}' outputs ${shapeStr(a.shape)}; this objective needs at least ${minRank} dimensions`);
  return a;
}

/** The mean activation of channel c of a layer (a feature of a [N, F] layer). */
export function channel(layer: string, c: PerImage): Objective {
  return new Objective([layer], (ctx) => {
    const a = layerOutput(ctx, layer, 2);
    const list = indices('channel', c, a.shape[0]!, a.shape[1]!, `layer '${layer}' (output ${shapeStr(a.shape)})`);
    const selected = perImageSum(mul(a, channelMask(a, list)));
    return div(selected, a.size / (a.shape[0]! * a.shape[1]!));
  }, `mean of channel ${String(c)} of ${layer}`);
}

/** One unit: channel c at spatial position (y, x) of a [N, C, h, w] layer (default: the centre, as Lucent). */
export function neuron(layer: string, c: PerImage, position?: { y: number; x: number }): Objective {
  return new Objective([layer], (ctx) => {
    const a = layerOutput(ctx, layer, 2);
    const [n, channels] = a.shape as [number, number];
    const list = indices('channel', c, n, channels, `layer '${layer}' (output ${shapeStr(a.shape)})`);
    if (a.rank === 2) return perImageSum(mul(a, channelMask(a, list)));
    if (a.rank !== 4) throw new Error(`glassbox.xai.optimize: neuron needs layer '${layer}' to output [N, C, h, w] or [N, F], got ${shapeStr(a.shape)}`);
    const [h, w] = [a.shape[2]!, a.shape[3]!];
    const { y, x } = position ?? { y: Math.floor(h / 2), x: Math.floor(w / 2) };
    if (!Number.isSafeInteger(y) || !Number.isSafeInteger(x) || y < 0 || y >= h || x < 0 || x >= w)
      throw new Error(`glassbox.xai.optimize: neuron position (y ${y}, x ${x}) is outside layer '${layer}''s ${h} x ${w} map`);
    const values = new Float32Array(n * channels * h * w);
    list.forEach((k, i) => (values[((i * channels + k) * h + y) * w + x] = 1));
    return perImageSum(mul(a, tensor(values, [...a.shape])));
  }, `neuron ${String(c)} at ${position ? `(${position.y}, ${position.x})` : 'the centre'} of ${layer}`);
}

/** The mean square of a layer's activations (DeepDream's objective, Lucent's objectives.deepdream). */
export function layerNorm(layer: string): Objective {
  return new Objective([layer], (ctx) => perImageMean(square(layerOutput(ctx, layer, 2))), `mean square of ${layer}`);
}

/**
 * Matching a layer's features to a target (inversion, Mahendran & Vedaldi 2015): the negative
 * normalised error -||phi(x) - phi0||^2 / ||phi0||^2 per image. target: [N, ...] or [1, ...].
 */
export function featureMatch(layer: string, target: Tensor): Objective {
  return new Objective([layer], (ctx) => {
    const a = layerOutput(ctx, layer, 2);
    if (a.shape.slice(1).join() !== target.shape.slice(1).join() || (target.shape[0] !== 1 && target.shape[0] !== a.shape[0]))
      throw new Error(`glassbox.xai.optimize: featureMatch target ${shapeStr(target.shape)} does not match layer '${layer}''s output ${shapeStr(a.shape)}`);
    return neg(div(perImageSum(square(sub(a, target))), perImageSum(square(target))));
  }, `feature match at ${layer}`);
}

/** Gram matrices [N, C, C] of a [N, C, h, w] layer, divided by h w (Gatys et al.). */
export function gramMatrix(a: Tensor): Tensor {
  if (a.rank !== 4) throw new Error(`glassbox.xai.optimize: a Gram matrix needs a feature map [N, C, h, w], got ${shapeStr(a.shape)}`);
  const [n, c, h, w] = a.shape as [number, number, number, number];
  const flat = reshape(a, [n, c, h * w]);
  return div(matmul(flat, transpose(flat, 1, 2)), h * w);
}

/** Matching Gram matrices (style, Gatys et al. 2016): -||G(x) - G_t||^2 / ||G_t||^2 per image; targetGram [N or 1, C, C]. */
export function gramMatch(layer: string, targetGram: Tensor): Objective {
  return new Objective([layer], (ctx) => {
    const g = gramMatrix(layerOutput(ctx, layer, 4));
    if (g.shape.slice(1).join() !== targetGram.shape.slice(1).join()) throw new Error(`glassbox.xai.optimize: gramMatch target ${shapeStr(targetGram.shape)} does not match layer '${layer}''s Gram matrices ${shapeStr(g.shape)}`);
    return neg(div(perImageSum(square(sub(g, targetGram))), perImageSum(square(targetGram))));
  }, `Gram match at ${layer}`);
}

/**
 * Diversity across the batch (Lucent's objectives.diversity): image i scores
 * -sum_{j != i} <G_i, G_j> / N with G the unit-norm Gram matrices of a layer, so the batch's
 * total is Lucent's value. Needs a batch of at least 2.
 */
export function diversity(layer: string): Objective {
  return new Objective([layer], (ctx) => {
    const a = layerOutput(ctx, layer, 4);
    const n = a.shape[0]!;
    if (n < 2) throw new Error('glassbox.xai.optimize: diversity compares the images of a batch; use a batch of at least 2');
    const g = reshape(gramMatrix(a), [n, -1]);
    const unit = div(g, add(reshape(sum(square(g), { dim: 1 }).sqrt(), [n, 1]), 1e-12));
    const similarity = matmul(unit, transpose(unit, 0, 1));
    const others = sub(sum(similarity, { dim: 1 }), sum(square(unit), { dim: 1 }));
    return div(neg(others), n);
  }, `diversity at ${layer}`);
}
