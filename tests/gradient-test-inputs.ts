/** Inputs shared by the gradient-family tests: normalised MNIST and mixture images with their labels and masks. */
import * as gb from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import type { TrainedModel } from './trained-models.ts';

export interface Batch {
  x: gb.Tensor;
  labels: number[];
  /** Per image, the union of its digits' masks (H * W bytes); mixture images only. */
  masks: Uint8Array[];
  h: number;
  w: number;
}

function normalise(images: Uint8Array, n: number, h: number, w: number, fixture: TrainedModel): gb.Tensor {
  const [mean, std] = [fixture.mean[0]!, fixture.std[0]!];
  return gb.tensor(Float32Array.from(images.subarray(0, n * h * w), (v) => (v / 255 - mean) / std), [n, 1, h, w]);
}

/** MNIST test images `from`..`from + n`. */
export async function mnistBatch(fixture: TrainedModel, n: number, from = 0): Promise<Batch> {
  const d = await loadDataset('mnist', { split: 'test', limit: from + n });
  const hw = d.height * d.width;
  return { x: normalise(d.images.subarray(from * hw), n, d.height, d.width, fixture), labels: Array.from(d.labels.subarray(from, from + n)), masks: [], h: d.height, w: d.width };
}

/** Mixture-of-MNIST validation images with the union of both digit masks. */
export async function mixtureBatch(fixture: TrainedModel, n: number): Promise<Batch> {
  const d = await loadDataset('mnist-mixture', { split: 'validation', n });
  const hw = d.height * d.width;
  const masks = Array.from({ length: n }, (_, i) => {
    const m = new Uint8Array(hw);
    for (let s = 0; s < d.slots; s++) for (let p = 0; p < hw; p++) m[p] |= d.masks[(i * d.slots + s) * hw + p]!;
    return m;
  });
  return { x: normalise(d.images, n, d.height, d.width, fixture), labels: Array.from(d.labels.subarray(0, n)), masks, h: d.height, w: d.width };
}

/** Largest absolute difference between two equally long arrays, relative to the largest |b|. */
export function relativeMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** A method run on the whole batch and sample by sample gives the same maps (within float rounding of different batch sizes). */
export async function batchVersusSingles(run: (x: gb.Tensor, i: number[]) => Promise<gb.Tensor>, x: gb.Tensor): Promise<number> {
  const n = x.shape[0]!;
  const whole = await (await run(x, Array.from({ length: n }, (_, i) => i))).toArray();
  const per = whole.length / n;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const one = await (await run(gb.slice(x, 0, { start: i, end: i + 1 }), [i])).toArray();
    worst = Math.max(worst, relativeMaxDiff(one, whole.subarray(i * per, (i + 1) * per)));
  }
  return worst;
}
