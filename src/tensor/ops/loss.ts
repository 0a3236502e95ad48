/**
 * Loss functions with PyTorch's semantics. Class targets are int32 indices; the picked
 * log-probabilities come from a one-hot mask product rather than a scatter, which keeps the
 * backward deterministic (no atomics). Softmax cross-entropy, the loss of every classifier's
 * training step, runs as one fused kernel each way.
 */
import { checkFinite } from '../../autograd/anomaly.ts';
import { indexCheckSite, outOfRange } from '../../autograd/index-check.ts';
import { isGradEnabled, record } from '../../autograd/node.ts';
import { dispatch } from '../../kernels/runtime.ts';
import { crossEntropyBackwardLaunch, crossEntropyLaunch } from '../../kernels/wgsl/cross-entropy.ts';
import { shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { softmax } from './activation.ts';
import { abs, add, asPlainArray, div, exp, log1p, mul, neg, relu, square, sub } from './elementwise.ts';
import { oneHot } from './indexing.ts';
import { mean, sum } from './reduce.ts';
import { permute, reshape, unsqueeze } from './views.ts';
import { checkOptions, REDUCTION } from '../check-options.ts';

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
  checkOptions('nllLoss', opts, REDUCTION);
  const { scores, labels, restShape } = classesLast('nllLoss', logProbs, target);
  const picked = neg(sum(mul(scores, oneHot(labels, scores.shape[1]!, 'nllLoss')), { dim: 1 }));
  const perSample = reshape(picked, logProbs.rank === 1 ? [] : restShape);
  return reduce(perSample, opts.reduction ?? 'mean');
}

/** Softmax cross-entropy from logits [N, C, ...] and int32 targets, with optional label smoothing. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: { reduction?: Reduction; labelSmoothing?: number } = {}): Tensor {
  checkOptions('crossEntropy', opts, { ...REDUCTION, labelSmoothing: 'number' });
  const { scores, labels, restShape } = classesLast('crossEntropy', logits, target);
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`glassbox.crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const perSample = reshape(rowCrossEntropy(scores, labels, eps), logits.rank === 1 ? [] : restShape);
  return reduce(perSample, opts.reduction ?? 'mean');
}

/** Target distribution of each row: (1 - eps) on its label, eps / C on every class. */
function targetWeights(labels: Tensor, classes: number, eps: number): Tensor {
  return eps === 0 ? oneHot(labels, classes) : add(mul(oneHot(labels, classes), 1 - eps), eps / classes);
}

/**
 * Per-row loss of scores [R, C] against labels [R], one fused kernel each way
 * (src/kernels/wgsl/cross-entropy.ts). A backward that is itself recorded (createGraph) is
 * built from differentiable ops instead: g * (softmax(x) - w).
 */
function rowCrossEntropy(scores: Tensor, labels: Tensor, eps: number): Tensor {
  const [R, C] = scores.shape as [number, number];
  const loss = emptyTensor([R]);
  if (R === 0) return loss;
  const lse = emptyTensor([R]);
  const x = asPlainArray(scores);
  const y = asPlainArray(labels);
  const errors = indexCheckSite(`crossEntropy|${C}`, outOfRange('crossEntropy', 'the class dimension', C, `target class indices must be in 0..${C - 1}: check the labels against the model's number of classes`));
  dispatch({ ...crossEntropyLaunch(R, C, eps, errors.site), buffers: [x.t.storage.buffer, y.t.storage.buffer, loss.storage.buffer, lse.storage.buffer, errors.buffer] });
  if (x.temporary) x.t.dispose();
  checkFinite(loss, 'crossEntropy');
  return record('crossEntropy', [scores], loss, (g) => {
    if (isGradEnabled()) return [mul(sub(softmax(scores, 1), targetWeights(labels, C, eps)), unsqueeze(g, 1))];
    const dx = emptyTensor([R, C]);
    const xs = asPlainArray(scores);
    const expanded = g.offset === 0 && g.strides[0] === 0; // a mean's or sum's gradient: one value for every row
    const gs = expanded ? { t: g, temporary: false } : asPlainArray(g);
    const launch = crossEntropyBackwardLaunch(R, C, eps, expanded ? 0 : 1);
    dispatch({ ...launch, buffers: [xs.t.storage.buffer, y.t.storage.buffer, lse.storage.buffer, gs.t.storage.buffer, dx.storage.buffer] });
    for (const s of [xs, gs]) if (s.temporary) s.t.dispose();
    return [dx];
  });
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('mseLoss', opts, REDUCTION);
  return reduce(square(sub(input, target)), opts.reduction ?? 'mean');
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('l1Loss', opts, REDUCTION);
  return reduce(abs(sub(input, target)), opts.reduction ?? 'mean');
}

/** BCE on logits in the stable form max(x, 0) - x*y + log(1 + exp(-|x|)). */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('binaryCrossEntropyWithLogits', opts, REDUCTION);
  const loss = add(sub(relu(logits), mul(logits, target)), log1p(exp(neg(abs(logits)))));
  return reduce(loss, opts.reduction ?? 'mean');
}

/**
 * Multi-class hinge loss (PyTorch's multi_margin_loss, p = 1): for each sample,
 * sum over j != y of max(0, margin - x_y + x_j), divided by the number of classes.
 */
export function multiMarginLoss(scores: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}): Tensor {
  checkOptions('multiMarginLoss', opts, { ...REDUCTION, margin: 'number' });
  if (scores.rank !== 2) throw new Error(`glassbox.multiMarginLoss: scores must be [N, C], got ${shapeStr(scores.shape)}`);
  const { labels } = classesLast('multiMarginLoss', scores, target);
  const C = scores.shape[1]!;
  const onehot = oneHot(labels, C, 'multiMarginLoss');
  const correct = sum(mul(scores, onehot), { dim: 1, keepdim: true });
  const margins = mul(relu(add(sub(scores, correct), opts.margin ?? 1)), sub(1, onehot));
  return reduce(div(sum(margins, { dim: 1 }), C), opts.reduction ?? 'mean');
}
