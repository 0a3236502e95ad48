/**
 * The training loop: epochs of batches with the loss and accuracy summed on the GPU (one
 * readback every `logEvery` steps, so the GPU is not stalled each step), validation after each
 * epoch, and a clear stop when the loss turns NaN or infinite.
 */
import { argmax } from '../tensor/ops/reduce.ts';
import { add, eq, mul } from '../tensor/ops/elementwise.ts';
import { sum } from '../tensor/ops/reduce.ts';
import { zeros } from '../tensor/ops/creation.ts';
import { noGrad } from '../autograd/node.ts';
import { keep, tidy, type Tensor } from '../tensor/tensor.ts';
import type { Module } from '../nn/module.ts';
import type { DataLoader } from './data-loader.ts';
import type { Optimizer } from './optim.ts';
import { Progress } from './progress.ts';

export type LossFn = (logits: Tensor, target: Tensor) => Tensor;

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface FitOptions {
  epochs: number;
  optimizer: Optimizer;
  /** Called after every optimiser step (learning-rate schedules). */
  afterStep?: () => void;
  loss: LossFn;
  train: DataLoader;
  val?: DataLoader;
  /** First epoch number (when resuming). */
  startEpoch?: number;
  /** Steps between readbacks of the running loss (progress and NaN check). */
  logEvery?: number;
  label?: string;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
}

export class TrainingDivergedError extends Error {}

/** Running sums kept on the GPU: replaces `acc` by acc + value, releasing the old one. */
function accumulate(acc: Tensor, value: Tensor): Tensor {
  const next = keep(noGrad(() => add(acc, value)));
  acc.dispose();
  return next;
}

export async function fit(model: Module, opts: FitOptions): Promise<EpochRecord[]> {
  const history: EpochRecord[] = [];
  const logEvery = opts.logEvery ?? 50;
  for (let epoch = opts.startEpoch ?? 0; epoch < opts.epochs; epoch++) {
    model.train();
    const progress = new Progress({ label: `${opts.label ?? 'train'} epoch ${epoch + 1}/${opts.epochs}`, total: opts.train.n, unit: 'img' });
    let lossSum = keep(zeros([]));
    let correct = keep(zeros([]));
    let seen = 0;
    let step = 0;
    for (const batch of opts.train.batches(epoch)) {
      const count = batch.y.size;
      const stepStats = tidy(() => {
        opts.optimizer.zeroGrad();
        const logits = model.forward(batch.x);
        const loss = opts.loss(logits, batch.y);
        loss.backward();
        opts.optimizer.step();
        return noGrad(() => ({ loss: mul(loss.detach(), count), hits: sum(eq(argmax(logits, { dim: 1 }), batch.y)) }));
      });
      opts.afterStep?.();
      lossSum = accumulate(lossSum, stepStats.loss);
      correct = accumulate(correct, stepStats.hits);
      stepStats.loss.dispose();
      stepStats.hits.dispose();
      batch.x.dispose();
      batch.y.dispose();
      seen += count;
      if (++step % logEvery === 0) {
        const meanLoss = (await lossSum.item()) / seen;
        if (!Number.isFinite(meanLoss))
          throw new TrainingDivergedError(
            `training diverged: the loss became ${meanLoss} in epoch ${epoch + 1} by step ${step} (learning rate ${opts.optimizer.lr}). ` +
              'Lower the learning rate, or find the op that produced it with setAnomalyDetection(true) (CLI: --detect-anomaly).',
          );
        progress.update(seen, { loss: meanLoss, acc: (await correct.item()) / seen });
      }
    }
    const trainLoss = (await lossSum.item()) / seen;
    const trainAccuracy = (await correct.item()) / seen;
    lossSum.dispose();
    correct.dispose();
    if (!Number.isFinite(trainLoss))
      throw new TrainingDivergedError(`training diverged: the loss became ${trainLoss} in epoch ${epoch + 1} (learning rate ${opts.optimizer.lr}); lower the learning rate.`);
    const seconds = progress.elapsedSeconds;
    progress.done({ loss: trainLoss, acc: trainAccuracy });
    const record: EpochRecord = { epoch: epoch + 1, lr: opts.optimizer.lr, trainLoss, trainAccuracy, seconds, imagesPerSecond: seen / seconds };
    if (opts.val) {
      const v = await evaluate(model, opts.val, opts.loss);
      record.valLoss = v.loss;
      record.valAccuracy = v.accuracy;
      console.error(`  validation: loss ${v.loss.toFixed(4)}, accuracy ${(100 * v.accuracy).toFixed(2)}% on ${v.n} images`);
    }
    history.push(record);
    await opts.onEpoch?.(record);
  }
  return history;
}

/** Mean loss and accuracy of `model` (in eval mode) over a loader. */
export async function evaluate(model: Module, loader: DataLoader, loss: LossFn): Promise<{ loss: number; accuracy: number; n: number }> {
  const wasTraining = model.training;
  model.eval();
  let lossSum = keep(zeros([]));
  let correct = keep(zeros([]));
  let n = 0;
  for (const batch of loader.batches(0)) {
    const count = batch.y.size;
    const stats = tidy(() =>
      noGrad(() => {
        const logits = model.forward(batch.x);
        return { loss: mul(loss(logits, batch.y), count), hits: sum(eq(argmax(logits, { dim: 1 }), batch.y)) };
      }),
    );
    lossSum = accumulate(lossSum, stats.loss);
    correct = accumulate(correct, stats.hits);
    stats.loss.dispose();
    stats.hits.dispose();
    batch.x.dispose();
    batch.y.dispose();
    n += count;
  }
  const result = { loss: (await lossSum.item()) / n, accuracy: (await correct.item()) / n, n };
  lossSum.dispose();
  correct.dispose();
  model.train(wasTraining);
  return result;
}
