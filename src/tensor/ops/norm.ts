/**
 * Batch normalisation and dropout, composed from elementwise ops and reductions (their
 * gradients, of any order, come from those ops).
 */
import { noGrad } from '../../autograd/node.ts';
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { rand } from './creation.ts';
import { add, ge, mul, rsqrt, sub } from './elementwise.ts';
import { mean, variance } from './reduce.ts';
import { reshape } from './views.ts';

export interface BatchNormOptions {
  /** Normalise with the batch's statistics and update the running ones (default false, as in torch.nn.functional.batch_norm). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm over dim 1 of x [N, C] or [N, C, H, W] (any rank >= 2). In training the batch
 * mean and biased variance normalise x, and runningMean / runningVar (when given) are updated
 * in place, without grad, with the unbiased variance: r = (1 - momentum) * r + momentum * stat.
 * Otherwise the running statistics normalise x (the batch's when none are given).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null, bias?: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  if (x.rank < 2) throw new Error(`glassbox.batchNorm: input must be [N, C, ...] (at least 2-D), got shape ${shapeStr(x.shape)}`);
  const C = x.shape[1]!;
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const)
    if (t && (t.rank !== 1 || t.shape[0] !== C))
      throw new Error(`glassbox.${op}: ${name} must be [${C}] (one per channel of input ${shapeStr(x.shape)}), got ${shapeStr(t.shape)}`);
  const training = opts.training ?? false;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const perChannel = x.shape.map((d, i) => (i === 1 ? d : 1));
  const count = x.size / C;
  let xhat: Tensor;
  if (training || !runningMean || !runningVar) {
    if (count <= 1) throw new Error(`glassbox.batchNorm: training needs more than one value per channel, got input ${shapeStr(x.shape)}; use a bigger batch or eval mode`);
    const m = mean(x, { dim: axes, keepdim: true });
    const v = variance(x, { dim: axes, keepdim: true, correction: 0 });
    if (training)
      noGrad(() => {
        if (runningMean) runningMean.assign(add(mul(runningMean, 1 - momentum), mul(reshape(m, [C]), momentum)));
        if (runningVar) runningVar.assign(add(mul(runningVar, 1 - momentum), mul(reshape(v, [C]), (momentum * count) / (count - 1))));
      });
    xhat = mul(sub(x, m), rsqrt(add(v, eps)));
  } else {
    xhat = mul(sub(x, reshape(runningMean, perChannel)), rsqrt(add(reshape(runningVar, perChannel), eps)));
  }
  const scaled = weight ? mul(xhat, reshape(weight, perChannel)) : xhat;
  return bias ? add(scaled, reshape(bias, perChannel)) : scaled;
}

export interface DropoutOptions {
  /** Probability of zeroing each element (default 0.5). */
  p?: number;
  /** Off: return x unchanged (default true, as in torch.nn.functional.dropout). */
  training?: boolean;
}

/** Zeroes each element with probability p (mask drawn from the seeded generator, see manualSeed) and scales the rest by 1 / (1 - p). */
export function dropout(x: Tensor, opts: DropoutOptions = {}): Tensor {
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new Error(`glassbox.dropout: p must be in [0, 1], got ${p}`);
  if (!(opts.training ?? true) || p === 0) return x;
  if (p === 1) return mul(x, 0);
  return mul(x, mul(ge(rand(x.shape), p), 1 / (1 - p)));
}
