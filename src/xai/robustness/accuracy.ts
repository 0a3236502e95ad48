/**
 * Accuracy of a classifier under each corruption at each severity (the MNIST-C / CIFAR-10-C
 * protocol): the same n validation images, corrupted in batches on the GPU, normalised as the
 * model was trained, classified; severity 0 is the clean accuracy.
 */
import * as gb from '../../index.ts';
import type { Module } from '../../nn/module.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { ImageDataset } from '../../../datasets/index.ts';
import { corrupt, type CorruptionSuite } from './corruptions.ts';

export interface CorruptionAccuracyOptions {
  suite: CorruptionSuite;
  corruptions: readonly string[];
  /** Severities to score, e.g. [0, 1, 2, 3, 4, 5]. */
  severities: readonly number[];
  /** Per-channel mean and std the model's inputs were normalised with. */
  mean: readonly number[];
  std: readonly number[];
  /** Images per forward pass (default 250). */
  batchSize?: number;
  seed?: number;
  /** Called after each corruption x severity with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface CorruptionAccuracy {
  corruption: string;
  severity: number;
  accuracy: number;
}

/** Pixels [n, C, H, W] in [0, 1] of images start .. end of a data set. */
export function datasetPixels(data: ImageDataset, start: number, end: number): Tensor {
  const size = data.channels * data.height * data.width;
  return gb.tensor(Float32Array.from(data.images.subarray(start * size, end * size), (v) => v / 255), [end - start, data.channels, data.height, data.width]);
}

/** Pixels in [0, 1] to the model's input space. */
export function normalisePixels(x: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const c = x.shape[1]!;
  const m = gb.reshape(gb.tensor(Float32Array.from({ length: c }, (_, i) => mean[i % mean.length]!)), [1, c, 1, 1]);
  const s = gb.reshape(gb.tensor(Float32Array.from({ length: c }, (_, i) => std[i % std.length]!)), [1, c, 1, 1]);
  return gb.div(gb.sub(x, m), s);
}

/** Accuracy on the first n images of `data` under every corruption x severity, in that order. */
export async function corruptionAccuracy(model: Module, data: ImageDataset, n: number, opts: CorruptionAccuracyOptions): Promise<CorruptionAccuracy[]> {
  const batch = opts.batchSize ?? 250;
  const count = Math.min(n, data.n);
  const total = opts.corruptions.length * opts.severities.length;
  const results: CorruptionAccuracy[] = [];
  model.eval();
  for (const name of opts.corruptions)
    for (const severity of opts.severities) {
      let correct = 0;
      for (let start = 0; start < count; start += batch) {
        const end = Math.min(count, start + batch);
        // one seed per batch, so that every image gets its own noise and the run is reproducible
        const predicted = gb.noGrad(() =>
          gb.tidy(() => {
            const clean = datasetPixels(data, start, end);
            const x = corrupt(clean, name, severity, { suite: opts.suite, seed: (opts.seed ?? 0) * 1_000_003 + start });
            return gb.argmax(model.forward(normalisePixels(x, opts.mean, opts.std)) as Tensor, { dim: 1 });
          }),
        );
        const labels = await predicted.toArray();
        predicted.dispose();
        for (let i = start; i < end; i++) if (labels[i - start] === data.labels[i]) correct++;
      }
      results.push({ corruption: name, severity, accuracy: correct / count });
      opts.onProgress?.(results.length, total);
    }
  return results;
}
