/**
 * D2, paths in weight space between two nets A and B of one architecture (Garipov et al. 2018;
 * Draxler et al. 2018), and the barrier along them:
 * - 'line': (1 - t) A + t B;
 * - 'bezier': the quadratic Bezier curve (1 - t)^2 A + 2 t (1 - t) M + t^2 B through a middle
 *   point M (trained in curve-training.ts);
 * - 'polychain': A -> M for t in [0, 1/2], M -> B for t in [1/2, 1].
 * Each point is a net; with batch norm its running statistics are recomputed there (by default;
 * batchnorm-stats.ts), since the interpolated ones do not describe its activations.
 */
import type { Module } from '../../nn/module.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import type { DataLoader } from '../../train/data-loader.ts';
import { evaluate } from '../../train/trainer.ts';
import { hasBatchNorm, recomputeBatchNormStats } from './batchnorm-stats.ts';
import { assertSameArchitecture, writeState, type WeightState } from './state.ts';

export const PATH_KINDS = ['line', 'bezier', 'polychain'] as const;
export type PathKind = (typeof PATH_KINDS)[number];

/** The weights of A, M and B at t: the point is cA A + cM M + cB B. */
export function pathCoefficients(kind: PathKind, t: number): [number, number, number] {
  if (!(t >= 0 && t <= 1)) throw new Error(`glassbox.weightspace: a path's parameter t must lie in [0, 1], got ${t}`);
  if (kind === 'line') return [1 - t, 0, t];
  if (kind === 'bezier') return [(1 - t) ** 2, 2 * t * (1 - t), t ** 2];
  if (kind === 'polychain') return t <= 0.5 ? [1 - 2 * t, 2 * t, 0] : [0, 2 - 2 * t, 2 * t - 1];
  throw new Error(`glassbox.weightspace: unknown path kind '${kind as string}'; known: ${PATH_KINDS.join(', ')}`);
}

/** The net at t on the path (M is needed for 'bezier' and 'polychain'). Every tensor, buffers included, is combined. */
export function pathPoint(kind: PathKind, a: WeightState, b: WeightState, t: number, middle?: WeightState): WeightState {
  const [ca, cm, cb] = pathCoefficients(kind, t);
  if (kind !== 'line' && !middle) throw new Error(`glassbox.weightspace: a '${kind}' path needs its middle point (train it with trainCurve)`);
  const values = new Map<string, Float32Array>();
  for (const [name, va] of a.values) {
    const vb = b.values.get(name)!;
    const vm = middle?.values.get(name);
    const out = new Float32Array(va.length);
    for (let i = 0; i < va.length; i++) out[i] = ca * va[i]! + cb * vb[i]! + (cm && vm ? cm * vm[i]! : 0);
    values.set(name, out);
  }
  return { shapes: a.shapes, values };
}

/**
 * The barrier of a path: the largest amount by which the loss along it rises above the straight
 * interpolation of its ends' losses, max_t [L(t) - ((1 - t) L(0) + t L(1))] (Frankle et al. 2020's
 * "error barrier" and Ainsworth et al.'s "loss barrier" use this definition). The points must
 * include t = 0 and t = 1. Returns the barrier (>= 0 when the ends are among the points) and where.
 */
export function barrier(points: ReadonlyArray<{ t: number; loss: number }>): { barrier: number; t: number } {
  const start = points.find((p) => p.t === 0);
  const end = points.find((p) => p.t === 1);
  if (!start || !end) throw new Error(`glassbox.weightspace.barrier: the points must include both ends, t = 0 and t = 1 (got t = ${points.map((p) => p.t).join(', ')})`);
  let best = { barrier: -Infinity, t: 0 };
  for (const p of points) {
    const rise = p.loss - ((1 - p.t) * start.loss + p.t * end.loss);
    if (rise > best.barrier) best = { barrier: rise, t: p.t };
  }
  return best;
}

export interface PathPointScore {
  t: number;
  /** Mean cross-entropy and accuracy on the evaluation loader (test images). */
  loss: number;
  accuracy: number;
  /** The same on the training images, when a training loader is given. */
  trainLoss?: number;
  trainAccuracy?: number;
}

export interface EvaluatePathOptions {
  /** Test images the loss and accuracy are measured on. */
  test: DataLoader;
  /** Training images: their loss is also measured (optional), and batch norm's statistics are recomputed on them. */
  train?: DataLoader;
  /** Recompute batch norm's running statistics at every point (default true; needs `train`). */
  recomputeBatchNorm?: boolean;
  onPoint?: (done: number, point: PathPointScore) => void;
}

/**
 * Loss and accuracy at each t along a path, with `model` holding each point in turn (its own
 * weights are left as the last point: callers that need them keep a copy).
 */
export async function evaluatePath(model: Module, kind: PathKind, a: WeightState, b: WeightState, ts: readonly number[], opts: EvaluatePathOptions, middle?: WeightState): Promise<PathPointScore[]> {
  assertSameArchitecture(a, b, 'a path between nets');
  if (middle) assertSameArchitecture(a, middle, 'a path between nets', ['net A', 'the middle point']);
  const recompute = opts.recomputeBatchNorm ?? true;
  if (recompute && !opts.train && hasBatchNorm(model))
    throw new Error('glassbox.weightspace: the model has batch norm, whose running statistics must be recomputed at every point of a path; give training images (opts.train), or recomputeBatchNorm: false to keep the interpolated ones');
  const points: PathPointScore[] = [];
  for (const t of ts) {
    writeState(model, pathPoint(kind, a, b, t, middle));
    if (recompute && opts.train) recomputeBatchNormStats(model, opts.train);
    const test = await evaluate(model, opts.test, (l, y) => crossEntropy(l, y));
    const point: PathPointScore = { t, loss: test.loss, accuracy: test.accuracy };
    if (opts.train) {
      const train = await evaluate(model, opts.train, (l, y) => crossEntropy(l, y));
      point.trainLoss = train.loss;
      point.trainAccuracy = train.accuracy;
    }
    points.push(point);
    opts.onPoint?.(points.length, point);
  }
  return points;
}

/** n + 1 evenly spaced points from 0 to 1. */
export function evenPoints(n: number): number[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`glassbox.weightspace: the number of path segments must be a whole number >= 1, got ${n}`);
  return Array.from({ length: n + 1 }, (_, i) => i / n);
}
