/**
 * Loss functions with PyTorch's semantics. Class targets are int32 indices; the picked
 * log-probabilities come from a one-hot mask product rather than a scatter, which keeps the
 * backward deterministic (no atomics) and the forward a plain elementwise op.
 */
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { abs, add, div, exp, log1p, mul, neg, relu, square, sub } from './elementwise.ts';
import { oneHot } from './indexing.ts';
import { logSoftmax } from './activation.ts';
import { mean, sum } from './reduce.ts';
import { permute, reshape } from './views.ts';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(x: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? x : reduction === 'sum' ? sum(x) : mean(x);
}

/** Moves the class dim (1) last and flattens the rest: [N, C, d1...] -> [N*d1*..., C]. */
function classesLast(op: string, input: Tensor, target: Tensor): { scores: Tensor; labels: Tensor; restShape: number[] } {
  if (input.rank < 1) throw new Error(`glassbox.${op}: input must have a class dimension, got shape ${shapeStr(input.shape)}`);
  if (target.dtype !== 'int32')
    throw new Error(`glassbox.${op}: target must hold int32 class indices, got ${target.dtype} (create it with {dtype: 'int32'})`);
  if (input.rank === 1) return classesLast(op, reshape(input, [1, input.shape[0]!]), reshape(target, [1]));
  const restShape = [input.shape[0]!, ...input.shape.slice(2)];
  if (target.rank !== restShape.length || target.shape.some((d, i) => d !== restShape[i]))
    throw new Error(`glassbox.${op}: target shape ${shapeStr(target.shape)} does not match input ${shapeStr(input.shape)} (expected ${shapeStr(restShape)}: one class index per sample)`);
  const C = input.shape[1]!;
  const moved = input.rank === 2 ? input : permute(input, [0, ...input.shape.slice(2).map((_, i) => i + 2), 1]);
  return { scores: reshape(moved, [-1, C]), labels: reshape(target, [-1]), restShape };
}

/** Negative log-likelihood of int32 class targets given log-probabilities [N, C, ...]. */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const { scores, labels, restShape } = classesLast('nllLoss', logProbs, target);
  const picked = neg(sum(mul(scores, oneHot(labels, scores.shape[1]!)), { dim: 1 }));
  const perSample = reshape(picked, logProbs.rank === 1 ? [] : restShape);
  return reduce(perSample, opts.reduction ?? 'mean');
}

/** Softmax cross-entropy from logits [N, C, ...] and int32 targets, with optional label smoothing. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: { reduction?: Reduction; labelSmoothing?: number } = {}): Tensor {
  const { scores, labels, restShape } = classesLast('crossEntropy', logits, target);
  const C = scores.shape[1]!;
  const logp = logSoftmax(scores, 1);
  const eps = opts.labelSmoothing ?? 0;
  // target distribution: (1 - eps) on the class, eps / C everywhere
  const weights = eps === 0 ? oneHot(labels, C) : add(mul(oneHot(labels, C), 1 - eps), eps / C);
  const perSample = reshape(neg(sum(mul(logp, weights), { dim: 1 })), logits.rank === 1 ? [] : restShape);
  return reduce(perSample, opts.reduction ?? 'mean');
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  return reduce(square(sub(input, target)), opts.reduction ?? 'mean');
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  return reduce(abs(sub(input, target)), opts.reduction ?? 'mean');
}

/** BCE on logits in the stable form max(x, 0) - x*y + log(1 + exp(-|x|)). */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const loss = add(sub(relu(logits), mul(logits, target)), log1p(exp(neg(abs(logits)))));
  return reduce(loss, opts.reduction ?? 'mean');
}

/**
 * Multi-class hinge loss (PyTorch's multi_margin_loss, p = 1): for each sample,
 * sum over j != y of max(0, margin - x_y + x_j), divided by the number of classes.
 */
export function multiMarginLoss(scores: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}): Tensor {
  if (scores.rank !== 2) throw new Error(`glassbox.multiMarginLoss: scores must be [N, C], got ${shapeStr(scores.shape)}`);
  const { labels } = classesLast('multiMarginLoss', scores, target);
  const C = scores.shape[1]!;
  const onehot = oneHot(labels, C);
  const correct = sum(mul(scores, onehot), { dim: 1, keepdim: true });
  const margins = mul(relu(add(sub(scores, correct), opts.margin ?? 1)), sub(1, onehot));
  return reduce(div(sum(margins, { dim: 1 }), C), opts.reduction ?? 'mean');
}
