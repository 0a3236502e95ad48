/**
 * Batch norm's running statistics recomputed for the weights a model has now. A point on a path
 * between two nets (or a stitched net) is a new net: the running statistics of either end, or
 * their interpolation, do not describe its activations, and evaluating with them understates it
 * (dnn-mode-connectivity's users met this: a curve's end did not match its own network until
 * `update_bn`). As PyTorch's `update_bn`: one pass over training batches in training mode (each
 * batch norm normalises with the batch's statistics, as in training), and the running mean and
 * unbiased variance set to the plain average over batches. Dropout stays off during the pass.
 */
import { BatchNorm, Dropout } from '../../nn/conv-layers.ts';
import type { Module } from '../../nn/module.ts';
import { noGrad } from '../../autograd/node.ts';
import { add } from '../../tensor/ops/elementwise.ts';
import { mean, variance } from '../../tensor/ops/reduce.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import type { DataLoader } from '../../train/data-loader.ts';

export function hasBatchNorm(model: Module): boolean {
  return model.namedModules().some(([, m]) => m instanceof BatchNorm);
}

/** Recomputes every batch norm's running statistics over `loader`'s batches (its `limit` sets how many images); no-op without batch norm. */
export function recomputeBatchNormStats(model: Module, loader: DataLoader): void {
  const norms = model.namedModules().filter((e): e is [string, BatchNorm] => e[1] instanceof BatchNorm);
  if (!norms.length) return;
  const sums = new Map<BatchNorm, { mean: Tensor; var: Tensor }>();
  let batches = 0;
  const removers = norms.map(([, bn]) =>
    bn.registerForwardPreHook((_, inputs) => {
      const x = inputs[0] as Tensor;
      const dims = x.rank === 4 ? [0, 2, 3] : [0];
      const old = sums.get(bn);
      const next = tidy(() => {
        const m = mean(x, { dim: dims });
        const v = variance(x, { dim: dims, correction: 1 });
        return { mean: keep(old ? add(old.mean, m) : m), var: keep(old ? add(old.var, v) : v) };
      });
      old?.mean.dispose();
      old?.var.dispose();
      sums.set(bn, next);
    }),
  );
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.train();
  for (const [, m] of model.namedModules()) if (m instanceof Dropout) m.training = false;
  try {
    for (const batch of loader.batches(0)) {
      tidy(() => noGrad(() => void model.forward(batch.x)));
      batch.x.dispose();
      batch.y.dispose();
      batches++;
    }
  } finally {
    removers.forEach((remove) => remove());
    for (const [m, training] of modes) m.training = training;
  }
  if (batches === 0) throw new Error('glassbox.weightspace: recomputing batch norm statistics needs at least one batch of training images; the loader gave none');
  noGrad(() => {
    for (const [, bn] of norms) {
      const s = sums.get(bn)!;
      tidy(() => {
        bn.buffer('runningMean').assign(s.mean.div(batches));
        bn.buffer('runningVar').assign(s.var.div(batches));
      });
      s.mean.dispose();
      s.var.dispose();
    }
  });
}
