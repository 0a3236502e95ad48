/**
 * D2 in one call: two trained nets of one architecture, the loss and accuracy along
 * - the straight line between them (a barrier, Garipov et al. 2018; Draxler et al. 2018),
 * - a quadratic Bezier curve and a polygonal chain whose middle points are trained (no barrier),
 * - the straight line after B's units are permuted to match A's (Ainsworth et al. 2023: how much
 *   of the barrier is left),
 * with the barrier of each (paths.ts's `barrier`, on test and training loss). Batch norm's
 * running statistics are recomputed at every point unless told otherwise.
 */
import type { Module } from '../../nn/module.ts';
import type { DataLoader } from '../../train/data-loader.ts';
import { trainCurve, type CurveTrainingResult } from './curve-training.ts';
import { unitGraph } from './graph.ts';
import { matchWeights } from './matching.ts';
import { barrier, evaluatePath, evenPoints, type PathKind, type PathPointScore } from './paths.ts';
import { assertSameArchitecture, type WeightState } from './state.ts';

export type ConnectPathName = 'line' | 'bezier' | 'polychain' | 'line-after-matching';
export const CONNECT_PATHS: readonly ConnectPathName[] = ['line', 'bezier', 'polychain', 'line-after-matching'];

export interface ConnectOptions {
  test: DataLoader;
  /** Training images: curve training, batch norm statistics, and the training loss along the paths. */
  train: DataLoader;
  /** Fewer training images for the per-point training loss and batch norm statistics (default: `train`). */
  trainEval?: DataLoader;
  /** Which paths (default all four). */
  paths?: readonly ConnectPathName[];
  /** Segments per path: points at t = 0, 1/n, ..., 1 (default 10). */
  segments?: number;
  curveEpochs?: number;
  curveOptimizer?: 'adam' | 'sgd';
  curveLr?: number;
  recomputeBatchNorm?: boolean;
  seed?: number;
  onCurveStep?: (kind: PathKind, step: number, total: number, loss: number) => void;
  onPoint?: (path: ConnectPathName, done: number, point: PathPointScore) => void;
}

export interface ConnectPath {
  name: ConnectPathName;
  points: PathPointScore[];
  /** Barrier of the test loss, and where. */
  barrier: number;
  barrierAt: number;
  /** Barrier of the training loss. */
  trainBarrier: number;
  /** Lowest accuracy along the path (test). */
  minAccuracy: number;
}

export interface ConnectResult {
  paths: ConnectPath[];
  curves: Partial<Record<'bezier' | 'polychain', Omit<CurveTrainingResult, 'middle'>>>;
  matching?: { iterations: number; similarityBefore: number; similarityAfter: number; unitsMoved: Record<string, number> };
  recomputedBatchNorm: boolean;
}

export class ModeConnectivity {
  constructor(
    readonly model: Module,
    readonly a: WeightState,
    readonly b: WeightState,
    readonly inputShape: readonly number[],
  ) {
    assertSameArchitecture(a, b, 'mode connectivity');
  }

  async connect(opts: ConnectOptions): Promise<ConnectResult> {
    const wanted = opts.paths ?? CONNECT_PATHS;
    const ts = evenPoints(opts.segments ?? 10);
    const trainEval = opts.trainEval ?? opts.train;
    const recomputeBatchNorm = opts.recomputeBatchNorm ?? true;
    const evalOpts = (name: ConnectPathName) => ({ test: opts.test, train: trainEval, recomputeBatchNorm, onPoint: (done: number, p: PathPointScore) => opts.onPoint?.(name, done, p) });
    const result: ConnectResult = { paths: [], curves: {}, recomputedBatchNorm: recomputeBatchNorm };
    const summarise = (name: ConnectPathName, points: PathPointScore[]): ConnectPath => {
      const test = barrier(points);
      const train = barrier(points.map((p) => ({ t: p.t, loss: p.trainLoss! })));
      return { name, points, barrier: test.barrier, barrierAt: test.t, trainBarrier: train.barrier, minAccuracy: Math.min(...points.map((p) => p.accuracy)) };
    };
    for (const name of wanted) {
      if (name === 'line') result.paths.push(summarise(name, await evaluatePath(this.model, 'line', this.a, this.b, ts, evalOpts(name))));
      else if (name === 'bezier' || name === 'polychain') {
        const { middle, ...record } = await trainCurve(this.model, this.a, this.b, {
          kind: name,
          train: opts.train,
          epochs: opts.curveEpochs ?? 1,
          optimizer: opts.curveOptimizer,
          lr: opts.curveLr,
          seed: opts.seed,
          onStep: (step, total, loss) => opts.onCurveStep?.(name, step, total, loss),
        });
        result.curves[name] = record;
        result.paths.push(summarise(name, await evaluatePath(this.model, name, this.a, this.b, ts, evalOpts(name), middle)));
      } else {
        const graph = unitGraph(this.model, this.inputShape);
        const matched = matchWeights(graph, this.a, this.b, { seed: opts.seed });
        const unitsMoved = Object.fromEntries([...matched.perms].map(([layer, p]) => [layer, p.reduce((n, v, i) => n + (v !== i ? 1 : 0), 0)]));
        result.matching = { iterations: matched.iterations, similarityBefore: matched.similarityBefore, similarityAfter: matched.similarityAfter, unitsMoved };
        result.paths.push(summarise(name, await evaluatePath(this.model, 'line', this.a, matched.state, ts, evalOpts(name))));
      }
    }
    return result;
  }
}
