/**
 * Training a (pruned) network for a fixed number of iterations, as the lottery-ticket experiments
 * count it, with the validation loss measured every `evalEvery` iterations: the early-stopping
 * iteration (the one of minimum validation loss, Frankle & Carbin's measure of how fast a network
 * learns) and the accuracy there come from that curve. The masks live in the parameters
 * (PruningMask.apply), so this is a plain loop: nothing here knows about pruning. `onIteration(k)`
 * runs after iteration k (k = 0 before the first step), where IMP takes its rewind snapshot.
 */
import type { ImageDataset } from '../../../datasets/types.ts';
import type { Module } from '../../nn/module.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { tidy } from '../../tensor/tensor.ts';
import { DataLoader } from '../../train/data-loader.ts';
import { Adam, SGD, type Optimizer } from '../../train/optim.ts';
import { Progress } from '../../train/progress.ts';
import { evaluate } from '../../train/trainer.ts';

export interface TrainRecipe {
  iterations: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  momentum?: number;
  weightDecay?: number;
  /** Iterations between validation measurements (default: iterations / 10). */
  evalEvery?: number;
}

export interface TrainData {
  train: ImageDataset;
  /** Held out from training: early stopping. */
  val: ImageDataset;
  test: ImageDataset;
  mean: readonly number[];
  std: readonly number[];
}

export interface CurvePoint {
  iteration: number;
  valLoss: number;
  valAccuracy: number;
}

export interface TrainResult {
  curve: CurvePoint[];
  /** The iteration of minimum validation loss, and the validation accuracy there. */
  earlyStopIteration: number;
  earlyStopAccuracy: number;
  /** Test accuracy after the last iteration. */
  testAccuracy: number;
  seconds: number;
}

/** The first `n` images of a data set as their own data set (no copy), and the rest. */
export function splitDataset(data: ImageDataset, n: number): [ImageDataset, ImageDataset] {
  if (!(n > 0 && n < data.n)) throw new Error(`glassbox.pruning: cannot hold out ${data.n - n} of ${data.n} images (need 0 < ${n} < ${data.n})`);
  const bytes = data.channels * data.height * data.width;
  const part = (from: number, to: number): ImageDataset => ({ ...data, images: data.images.subarray(from * bytes, to * bytes), labels: data.labels.subarray(from, to), n: to - from });
  return [part(0, n), part(n, data.n)];
}

export function makeOptimizer(model: Module, r: TrainRecipe): Optimizer {
  return r.optimizer === 'sgd'
    ? new SGD(model.parameters(), { lr: r.lr, momentum: r.momentum ?? 0, weightDecay: r.weightDecay ?? 0 })
    : new Adam(model.parameters(), { lr: r.lr, weightDecay: r.weightDecay ?? 0 });
}

export async function trainIterations(
  model: Module,
  data: TrainData,
  recipe: TrainRecipe,
  opts: { seed?: number; label?: string; onIteration?: (k: number) => void | Promise<void> } = {},
): Promise<TrainResult> {
  if (!(Number.isInteger(recipe.iterations) && recipe.iterations >= 1)) throw new Error(`glassbox.pruning: iterations must be an integer >= 1, got ${recipe.iterations}`);
  const evalEvery = recipe.evalEvery ?? Math.max(1, Math.round(recipe.iterations / 10));
  const norm = { mean: data.mean, std: data.std };
  const loader = new DataLoader(data.train, { batchSize: recipe.batchSize, shuffle: true, seed: opts.seed ?? 0, keepLast: false, ...norm });
  if (loader.batchesPerEpoch < 1) throw new Error(`glassbox.pruning: ${data.train.n} training images make no batch of ${recipe.batchSize}`);
  const val = new DataLoader(data.val, { batchSize: 1000, ...norm });
  const test = new DataLoader(data.test, { batchSize: 1000, ...norm });
  const optimizer = makeOptimizer(model, recipe);
  const loss = (l: Parameters<typeof crossEntropy>[0], y: Parameters<typeof crossEntropy>[1]) => crossEntropy(l, y);
  const progress = new Progress({ label: opts.label ?? 'train', total: recipe.iterations, unit: 'it' });
  const curve: CurvePoint[] = [];
  const measure = async (iteration: number) => {
    const v = await evaluate(model, val, loss);
    curve.push({ iteration, valLoss: v.loss, valAccuracy: v.accuracy });
    progress.update(iteration, { 'val loss': v.loss, 'val acc': v.accuracy });
  };
  model.train();
  await opts.onIteration?.(0);
  let k = 0;
  for (let epoch = 0; k < recipe.iterations; epoch++) {
    for (const batch of loader.batches(epoch)) {
      tidy(() => {
        optimizer.zeroGrad();
        loss(model.forward(batch.x), batch.y).backward();
        optimizer.step();
      });
      batch.x.dispose();
      batch.y.dispose();
      k++;
      await opts.onIteration?.(k);
      if (k % evalEvery === 0 || k === recipe.iterations) await measure(k);
      if (k >= recipe.iterations) break;
    }
  }
  optimizer.zeroGrad();
  const best = curve.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
  const t = await evaluate(model, test, loss);
  progress.done({ 'test acc': t.accuracy, 'early stop': best.iteration });
  return { curve, earlyStopIteration: best.iteration, earlyStopAccuracy: best.valAccuracy, testAccuracy: t.accuracy, seconds: progress.elapsedSeconds };
}
