/** Softmax family and triangular masks, composed from elementwise ops and reductions. */
import { normAxis } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { arange } from './creation.ts';
import { div, exp, le, ge, mul, sub } from './elementwise.ts';
import { amax, logsumexp, sum } from './reduce.ts';
import { detach, reshape } from './views.ts';

/** exp(x - max) / sum(exp(x - max)) along `dim`; the max is a constant, so it never overflows. */
export function softmax(x: Tensor, dim = -1): Tensor {
  const d = normAxis('softmax', dim, x.rank);
  const shifted = sub(x, detach(amax(x, { dim: d, keepdim: true })));
  const e = exp(shifted);
  return div(e, sum(e, { dim: d, keepdim: true }));
}

/** x - logsumexp(x) along `dim`. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const d = normAxis('logSoftmax', dim, x.rank);
  return sub(x, logsumexp(x, { dim: d, keepdim: true }));
}

function triangleMask(op: string, x: Tensor, diagonal: number, lower: boolean): Tensor {
  if (x.rank < 2) throw new Error(`glassbox.${op}: needs at least 2 dims, got ${x.rank}`);
  const rows = x.shape[x.rank - 2]!;
  const cols = x.shape[x.rank - 1]!;
  const offset = sub(reshape(arange(cols), [1, cols]), reshape(arange(rows), [rows, 1]));
  return lower ? le(offset, diagonal) : ge(offset, diagonal);
}

/** Lower triangle (col - row <= diagonal), zeros elsewhere. */
export const tril = (x: Tensor, diagonal = 0) => mul(x, triangleMask('tril', x, diagonal, true));
/** Upper triangle (col - row >= diagonal), zeros elsewhere. */
export const triu = (x: Tensor, diagonal = 0) => mul(x, triangleMask('triu', x, diagonal, false));
