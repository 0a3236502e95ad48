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
import { assertFiniteParameters } from '../nn/finite-check.ts';
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
  /** Replaces each training batch before its step (adversarial training: src/xai/attacks/adversarial-training.ts); gets and returns normalised images. */
  perturbBatch?: (x: Tensor, y: Tensor) => Tensor;
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

/** The loss (times the batch size) and the number of correct predictions of one batch, as tensors. */
function batchStats(logits: Tensor, y: Tensor, loss: Tensor): { loss: Tensor; hits: Tensor } {
  return noGrad(() => ({ loss: mul(loss.detach(), y.size), hits: sum(eq(argmax(logits, { dim: 1 }), y)) }));
}

/** Loss and accuracy summed on the GPU over batches, read back only when asked. */
class RunningTotals {
  private lossSum = keep(zeros([]));
  private correct = keep(zeros([]));
  n = 0;

  add(stats: { loss: Tensor; hits: Tensor }, count: number): void {
    const next = noGrad(() => ({ loss: keep(add(this.lossSum, stats.loss)), hits: keep(add(this.correct, stats.hits)) }));
    this.lossSum.dispose();
    this.correct.dispose();
    stats.loss.dispose();
    stats.hits.dispose();
    [this.lossSum, this.correct] = [next.loss, next.hits];
    this.n += count;
  }

  async means(): Promise<{ loss: number; accuracy: number }> {
    return { loss: (await this.lossSum.item()) / this.n, accuracy: (await this.correct.item()) / this.n };
  }

  dispose(): void {
    this.lossSum.dispose();
    this.correct.dispose();
  }
}

export async function fit(model: Module, opts: FitOptions): Promise<EpochRecord[]> {
  const history: EpochRecord[] = [];
  const logEvery = opts.logEvery ?? 50;
  for (let epoch = opts.startEpoch ?? 0; epoch < opts.epochs; epoch++) {
    model.train();
    const progress = new Progress({ label: `${opts.label ?? 'train'} epoch ${epoch + 1}/${opts.epochs}`, total: opts.train.n, unit: 'img' });
    const totals = new RunningTotals();
    let step = 0;
    for (const batch of opts.train.batches(epoch)) {
      const count = batch.y.size;
      const stepStats = tidy(() => {
        const x = opts.perturbBatch ? opts.perturbBatch(batch.x, batch.y) : batch.x;
        opts.optimizer.zeroGrad();
        const logits = model.forward(x);
        const loss = opts.loss(logits, batch.y);
        loss.backward();
        opts.optimizer.step();
        return batchStats(logits, batch.y, loss);
      });
      opts.afterStep?.();
      totals.add(stepStats, count);
      batch.x.dispose();
      batch.y.dispose();
      if (++step % logEvery === 0) {
        const running = await totals.means();
        if (!Number.isFinite(running.loss))
          throw new TrainingDivergedError(
            `training diverged: the loss became ${running.loss} in epoch ${epoch + 1} by step ${step} (learning rate ${opts.optimizer.lr}). ` +
              'Lower the learning rate, or find the op that produced it with setAnomalyDetection(true) (CLI: --detect-anomaly).',
          );
        progress.update(totals.n, { loss: running.loss, acc: running.accuracy });
      }
    }
    const { loss: trainLoss, accuracy: trainAccuracy } = await totals.means();
    const seen = totals.n;
    totals.dispose();
    if (!Number.isFinite(trainLoss))
      throw new TrainingDivergedError(`training diverged: the loss became ${trainLoss} in epoch ${epoch + 1} (learning rate ${opts.optimizer.lr}); lower the learning rate.`);
    // a NaN weight need not reach a finite loss (a parameter off the loss's path, an overflow in the last step)
    await assertFiniteParameters(model, `after epoch ${epoch + 1} (learning rate ${opts.optimizer.lr})`).catch((e: Error) => {
      throw new TrainingDivergedError(e.message);
    });
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
  const totals = new RunningTotals();
  for (const batch of loader.batches(0)) {
    const stats = tidy(() =>
      noGrad(() => {
        const logits = model.forward(batch.x);
        return batchStats(logits, batch.y, loss(logits, batch.y));
      }),
    );
    totals.add(stats, batch.y.size);
    batch.x.dispose();
    batch.y.dispose();
  }
  const result = { ...(await totals.means()), n: totals.n };
  totals.dispose();
  model.train(wasTraining);
  return result;
}
