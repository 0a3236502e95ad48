/**
 * Training the middle point of a curve between two fixed nets (Garipov et al. 2018, section 3):
 * minimise E_{t ~ U(0, 1)} L(phi(t)) over the middle point M, where phi(t) is the Bezier curve or
 * the polygonal chain through A, M and B (paths.ts). Each step draws one t, builds the net at t
 * as a differentiable function of M (A and B are constants), runs the batch through it and
 * steps M. M starts at the midpoint (A + B) / 2, on the straight line. Batch norm normalises with
 * the batch's statistics during training, as in the paper; the running statistics of the points
 * are recomputed when the curve is evaluated.
 */
import type { Module } from '../../nn/module.ts';
import { Parameter } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, mul } from '../../tensor/ops/elementwise.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import type { DataLoader } from '../../train/data-loader.ts';
import { seededRandom } from '../../train/data-loader.ts';
import { Adam, SGD } from '../../train/optim.ts';
import { pathCoefficients, type PathKind } from './paths.ts';
import { assertSameArchitecture, type WeightState } from './state.ts';

export interface CurveTrainingOptions {
  kind: Exclude<PathKind, 'line'>;
  train: DataLoader;
  epochs: number;
  /** 'adam' (default, lr 1e-3) or 'sgd' (momentum 0.9, lr 0.01). */
  optimizer?: 'adam' | 'sgd';
  lr?: number;
  /** Seed of the t draws. */
  seed?: number;
  /** Called every `logEvery` steps (default 50) with the running mean loss. */
  onStep?: (step: number, total: number, loss: number) => void;
  logEvery?: number;
}

/** Where a parameter lives: the module and its field ('features.0.weight' -> features.0, 'weight'). */
function parameterSlots(model: Module): Array<{ name: string; module: Record<string, unknown>; field: string; original: Tensor }> {
  return model.namedParameters().map(([name, original]) => {
    const dot = name.lastIndexOf('.');
    const module = (dot < 0 ? model : model.getSubmodule(name.slice(0, dot))) as unknown as Record<string, unknown>;
    return { name, module, field: name.slice(dot + 1), original };
  });
}

/**
 * Runs `fn` with the model's parameters replaced by `weights` (tensors by parameter name, which
 * may depend on other tensors through autograd), then puts the parameters back.
 */
export function withWeights<T>(model: Module, weights: ReadonlyMap<string, Tensor>, fn: () => T): T {
  const slots = parameterSlots(model);
  try {
    for (const s of slots) {
      const w = weights.get(s.name);
      if (!w) throw new Error(`glassbox.weightspace.withWeights: no tensor for parameter '${s.name}'`);
      s.module[s.field] = w;
    }
    return fn();
  } finally {
    for (const s of slots) s.module[s.field] = s.original;
  }
}

export interface CurveTrainingResult {
  /** The trained middle point (parameters trained; buffers copied from the midpoint of A and B). */
  middle: WeightState;
  /** Mean training loss per epoch, along the curve at random t. */
  epochLoss: number[];
  steps: number;
  seconds: number;
}

/** Trains the middle point of a Bezier curve or polygonal chain between A and B on `model`'s architecture. */
export async function trainCurve(model: Module, a: WeightState, b: WeightState, opts: CurveTrainingOptions): Promise<CurveTrainingResult> {
  assertSameArchitecture(a, b, 'curve training');
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new Error(`glassbox.weightspace.trainCurve: epochs must be a whole number >= 1, got ${opts.epochs}`);
  const names = model.namedParameters().map(([n]) => n);
  const constant = (s: WeightState, n: string) => tensor(s.values.get(n)!, s.shapes.get(n)!);
  const ends = new Map(names.map((n) => [n, { a: constant(a, n), b: constant(b, n) }]));
  const middle = new Map(names.map((n) => [n, Parameter(tidy(() => mul(add(ends.get(n)!.a, ends.get(n)!.b), 0.5)))]));
  const params = [...middle.values()];
  const optimizer = opts.optimizer === 'sgd' ? new SGD(params, { lr: opts.lr ?? 0.01, momentum: 0.9 }) : new Adam(params, { lr: opts.lr ?? 1e-3 });
  const rand = seededRandom(opts.seed ?? 0);
  const total = opts.epochs * opts.train.batchesPerEpoch;
  const logEvery = opts.logEvery ?? 50;
  const epochLoss: number[] = [];
  const started = performance.now();
  const wasTraining = model.training;
  model.train();
  let step = 0;
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      let sum = 0;
      let count = 0;
      let pending: Tensor[] = [];
      for (const batch of opts.train.batches(epoch)) {
        const [ca, cm, cb] = pathCoefficients(opts.kind, rand());
        const loss = tidy(() => {
          optimizer.zeroGrad();
          const weights = new Map(names.map((n) => [n, add(add(mul(ends.get(n)!.a, ca), mul(middle.get(n)!, cm)), mul(ends.get(n)!.b, cb))]));
          const l = withWeights(model, weights, () => crossEntropy(model.forward(batch.x), batch.y));
          l.backward();
          optimizer.step();
          return l.detach();
        });
        batch.x.dispose();
        batch.y.dispose();
        pending.push(loss);
        step++;
        // read the losses back in groups, so the GPU is not stalled every step
        if (pending.length === logEvery || step % opts.train.batchesPerEpoch === 0) {
          for (const l of pending) {
            const v = await l.itemAndDispose();
            if (!Number.isFinite(v)) throw new Error(`glassbox.weightspace.trainCurve: the loss became ${v} at step ${step}; lower the learning rate (--lr)`);
            sum += v;
            count++;
          }
          pending = [];
          opts.onStep?.(step, total, sum / count);
        }
      }
      for (const l of pending) {
        sum += await l.itemAndDispose();
        count++;
      }
      epochLoss.push(sum / count);
    }
    const values = new Map(a.values);
    // buffers (running statistics) start at the midpoint; evaluation recomputes them
    for (const [name, va] of a.values) if (!middle.has(name)) values.set(name, Float32Array.from(va, (v, i) => (v + b.values.get(name)![i]!) / 2));
    for (const [name, t] of middle) values.set(name, Float32Array.from(await t.toArray()));
    return { middle: { shapes: a.shapes, values }, epochLoss, steps: step, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.train(wasTraining);
    optimizer.zeroGrad();
    for (const { a: ta, b: tb } of ends.values()) {
      ta.dispose();
      tb.dispose();
    }
    for (const t of middle.values()) t.dispose();
  }
}
