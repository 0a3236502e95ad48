/**
 * Batch normalisation and dropout, composed from elementwise ops and reductions (their
 * gradients, of any order, come from those ops). A training step's batch norm (batch
 * statistics, running statistics, affine) runs instead as fused kernels
 * (src/kernels/wgsl/batch-norm.ts), with a backward written in differentiable ops where the
 * backward is itself recorded.
 */
import { isGradEnabled, needsGrad, noGrad, record } from '../../autograd/node.ts';
import { dispatch } from '../../kernels/runtime.ts';
import { BATCH_NORM_STATS, batchNormBackwardStatsLaunch, batchNormInputGradLaunch, batchNormStatsLaunch, type BatchNormGeometry } from '../../kernels/wgsl/batch-norm.ts';
import { shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { rand } from './creation.ts';
import { add, asPlainArray, elementwiseKernel, ge, mul, rsqrt, sub } from './elementwise.ts';
import { mean, sum, variance } from './reduce.ts';
import { reshape, slice } from './views.ts';
import { checkOptions } from '../check-options.ts';

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
  checkOptions('batchNorm', opts, { training: 'boolean', momentum: 'number', eps: 'number' });
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
  if ((training || !runningMean || !runningVar) && count <= 1)
    throw new Error(`glassbox.batchNorm: training needs more than one value per channel, got input ${shapeStr(x.shape)}; use a bigger batch or eval mode`);
  if (training && runningMean && runningVar && weight && bias && x.dtype === 'float32')
    return fusedTrainingBatchNorm(x, runningMean, runningVar, weight, bias, eps, momentum);
  let xhat: Tensor;
  if (training || !runningMean || !runningVar) {
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

/**
 * Training-mode batch norm with running statistics and affine parameters in two kernels forward
 * (per-channel statistics, which also update the running ones; then y = x * scale + shift) and two
 * backward (per-channel sums of g and g * xhat, which are the bias and weight gradients; then dx).
 */
function fusedTrainingBatchNorm(x: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor, bias: Tensor, eps: number, momentum: number): Tensor {
  const [N, C] = x.shape as [number, number];
  const geometry: BatchNormGeometry = { N, C, S: x.size / (N * C) };
  const perChannel = x.shape.map((d, i) => (i === 1 ? d : 1));
  const xs = asPlainArray(x);
  const params = [weight, bias, runningMean, runningVar].map(asPlainArray);
  const stats = emptyTensor([BATCH_NORM_STATS, C]);
  const [w, b, rm, rv] = params.map((p) => p.t.storage.buffer);
  dispatch({ ...batchNormStatsLaunch(geometry, eps, momentum), buffers: [xs.t.storage.buffer, w!, b!, stats.storage.buffer, rm!, rv!] });
  // the running statistics were updated in place (through a contiguous copy where they are views)
  for (const [k, target] of [[2, runningMean], [3, runningVar]] as const) {
    const p = params[k]!;
    if (p.temporary) target.assign(p.t);
    else target.storage.version++;
  }
  for (const p of params) if (p.temporary) p.t.dispose();
  const row = (k: number) => reshape(slice(stats, 0, { start: k, end: k + 1 }), perChannel);
  const out = elementwiseKernel('batch_norm', 'fma({0}, {1}, {2})', [xs.t, row(2), row(3)]);
  if (xs.temporary) xs.t.dispose();
  return record('batchNorm', [x, weight, bias], out, (g) => {
    if (isGradEnabled()) return batchNormBackwardOps(x, weight, bias, g, eps);
    const gs = asPlainArray(g);
    const xp = asPlainArray(x);
    const wp = asPlainArray(weight);
    const dweight = emptyTensor([C]);
    const dbias = emptyTensor([C]);
    dispatch({ ...batchNormBackwardStatsLaunch(geometry), buffers: [xp.t.storage.buffer, gs.t.storage.buffer, stats.storage.buffer, dweight.storage.buffer, dbias.storage.buffer] });
    let dx: Tensor | null = null;
    if (needsGrad(x)) {
      dx = emptyTensor(x.shape);
      dispatch({ ...batchNormInputGradLaunch(geometry), buffers: [xp.t.storage.buffer, gs.t.storage.buffer, stats.storage.buffer, wp.t.storage.buffer, dx.storage.buffer] });
    }
    for (const p of [gs, xp, wp]) if (p.temporary) p.t.dispose();
    return [dx, needsGrad(weight) ? dweight : null, needsGrad(bias) ? dbias : null];
  });
}

/**
 * The same gradients in differentiable ops, for a backward that is itself recorded: with
 * xhat = (x - mean) / sqrt(var + eps) recomputed from x, dx = invstd * (d - mean(d) - xhat *
 * mean(d * xhat)) for d = g * w, dw = sum(g * xhat), db = sum(g) (sums over all but dim 1).
 */
function batchNormBackwardOps(x: Tensor, weight: Tensor, bias: Tensor, g: Tensor, eps: number): Array<Tensor | null> {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const perChannel = x.shape.map((d, i) => (i === 1 ? d : 1));
  const invstd = rsqrt(add(variance(x, { dim: axes, keepdim: true, correction: 0 }), eps));
  const xhat = mul(sub(x, mean(x, { dim: axes, keepdim: true })), invstd);
  const d = mul(g, reshape(weight, perChannel));
  const centred = sub(sub(d, mean(d, { dim: axes, keepdim: true })), mul(xhat, mean(mul(d, xhat), { dim: axes, keepdim: true })));
  return [needsGrad(x) ? mul(invstd, centred) : null, needsGrad(weight) ? sum(mul(g, xhat), { dim: axes }) : null, needsGrad(bias) ? sum(g, { dim: axes }) : null];
}

export interface DropoutOptions {
  /** Probability of zeroing each element (default 0.5). */
  p?: number;
  /** Off: return x unchanged (default true, as in torch.nn.functional.dropout). */
  training?: boolean;
}

/** Zeroes each element with probability p (mask drawn from the seeded generator, see manualSeed) and scales the rest by 1 / (1 - p). */
export function dropout(x: Tensor, opts: DropoutOptions = {}): Tensor {
  checkOptions('dropout', opts, { p: 'number', training: 'boolean' });
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new Error(`glassbox.dropout: p must be in [0, 1], got ${p}`);
  if (!(opts.training ?? true) || p === 0) return x;
  if (p === 1) return mul(x, 0);
  return mul(x, mul(ge(rand(x.shape), p), 1 / (1 - p)));
}
