/**
 * How well a representation separates classes: leave-one-out k-nearest-neighbour accuracy. Each
 * point is classified by the majority label of its k nearest other points (Euclidean); a tie goes
 * to the tied class whose nearest member is closest. The distances of a block of rows to all points,
 * ||a||^2 + ||b||^2 - 2 a.b, are one matmul on the GPU; the k smallest per row are picked on the CPU
 * from the block read back, so memory stays at rows x N whatever N is.
 */
import { noGrad } from '../../autograd/node.ts';
import { add, sub } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { sum } from '../../tensor/ops/reduce.ts';
import { slice, transpose } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { checkLabels } from './util.ts';

export interface KnnResult {
  k: number;
  /** Fraction of points whose neighbours' vote gives their own label. */
  accuracy: number;
  /** The predicted label of each point. */
  predicted: Int32Array;
}

/** Rows of the distance matrix computed and read back at a time. */
const BLOCK_ELEMENTS = 1 << 22;

/** Leave-one-out kNN accuracy of `points` [N, d] with `labels` (N class indices), k >= 1 and below N. */
export async function knnAccuracy(points: Tensor, labels: ArrayLike<number>, k = 5): Promise<KnnResult> {
  if (points.rank !== 2) throw new Error(`glassbox.representations.knnAccuracy: points must be [N, d], got ${shapeStr(points.shape)}`);
  const n = points.shape[0]!;
  checkLabels('knnAccuracy', labels, n);
  if (!(Number.isInteger(k) && k >= 1 && k < n)) throw new Error(`glassbox.representations.knnAccuracy: k must be a whole number from 1 to N - 1 = ${n - 1}, got ${k}`);
  const predicted = new Int32Array(n);
  const rowsPerBlock = Math.max(1, Math.floor(BLOCK_ELEMENTS / n));
  const squares = noGrad(() => tidy(() => sum(points.square(), { dim: 1, keepdim: true })));
  const squaresRow = transpose(squares);
  try {
    for (let start = 0; start < n; start += rowsPerBlock) {
      const end = Math.min(n, start + rowsPerBlock);
      const block = noGrad(() =>
        tidy(() => {
          const rows = slice(points, 0, { start, end });
          return sub(add(slice(squares, 0, { start, end }), squaresRow), matmul(rows, transpose(points)).mul(2));
        }),
      );
      const dist = await block.toArray();
      block.dispose();
      for (let r = 0; r < end - start; r++) predicted[start + r] = vote(dist, r * n, n, start + r, k, labels);
    }
  } finally {
    squaresRow.dispose();
    squares.dispose();
  }
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) correct++;
  return { k, accuracy: correct / n, predicted };
}

/** The majority label among the k nearest points to `self` (excluded), from its row of squared distances. */
export function vote(dist: ArrayLike<number>, offset: number, n: number, self: number, k: number, labels: ArrayLike<number>): number {
  // insertion into a sorted list of the k best: k is small
  const bestD: number[] = [];
  const bestI: number[] = [];
  for (let j = 0; j < n; j++) {
    if (j === self) continue;
    const dj = dist[offset + j]!;
    if (bestD.length === k && !(dj < bestD[k - 1]!)) continue;
    let at = bestD.length;
    while (at > 0 && dj < bestD[at - 1]!) at--;
    bestD.splice(at, 0, dj);
    bestI.splice(at, 0, j);
    if (bestD.length > k) {
      bestD.pop();
      bestI.pop();
    }
  }
  const counts = new Map<number, number>();
  for (const j of bestI) counts.set(labels[j]!, (counts.get(labels[j]!) ?? 0) + 1);
  const most = Math.max(...counts.values());
  // the neighbours are sorted nearest first: the first whose class has the most votes wins a tie
  for (const j of bestI) if (counts.get(labels[j]!) === most) return labels[j]!;
  return labels[bestI[0]!]!;
}
