/**
 * Batches from an 8-bit image data set: a seeded shuffle per epoch on the CPU, the batch's bytes
 * uploaded as they are (one byte per pixel), then decoded, normalised and augmented (random
 * crop with zero padding, horizontal flip) by one GPU kernel. The next batch's upload is
 * recorded while the GPU still works on the previous step, so the GPU does not wait for data.
 */
import { dispatch, upload } from '../kernels/runtime.ts';
import { grid1d } from '../kernels/wgsl/common.ts';
import { DECODE_IMAGES, decodeImagesUniforms } from '../kernels/wgsl/decode-images.ts';
import { emptyTensor, tensorFromArray, type Tensor } from '../tensor/tensor.ts';
import type { ImageDataset } from '../../datasets/types.ts';

export interface Augmentation {
  /** Random crop after zero padding by this many pixels on each side (CIFAR: 4). */
  cropPadding?: number;
  /** Flip horizontally with probability 1/2. */
  horizontalFlip?: boolean;
}

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Per-channel mean and std of the [0, 1] pixel values. */
  mean?: readonly number[];
  std?: readonly number[];
  augment?: Augmentation;
  /** Keep a last batch smaller than batchSize (default true; training usually drops it). */
  keepLast?: boolean;
  /** Use only the first `limit` images. */
  limit?: number;
}

export interface Batch {
  x: Tensor;
  y: Tensor;
  /** Indices of the images in the data set. */
  indices: Int32Array;
}

/** mulberry32: a small, well-mixed 32-bit generator for shuffling and augmentation draws. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per-channel mean and std usually used for each data set. */
export const NORMALISATION: Record<string, { mean: number[]; std: number[] }> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  // two MNIST digits on a 4x larger canvas: about half of MNIST's mean and second moment per pixel
  'mnist-mixture': { mean: [0.065], std: [0.227] },
};

export class DataLoader {
  readonly n: number;
  private epoch = 0;
  constructor(
    readonly data: ImageDataset,
    readonly opts: LoaderOptions,
  ) {
    this.n = Math.min(opts.limit ?? data.n, data.n);
    if (!(opts.batchSize >= 1)) throw new Error(`glassbox.DataLoader: batchSize must be >= 1, got ${opts.batchSize}`);
  }

  get batchesPerEpoch(): number {
    return (this.opts.keepLast ?? true) ? Math.ceil(this.n / this.opts.batchSize) : Math.floor(this.n / this.opts.batchSize);
  }

  /** The order of images in epoch `epoch` (seeded: the same seed and epoch give the same order). */
  order(epoch: number): Int32Array {
    const idx = Int32Array.from({ length: this.n }, (_, i) => i);
    if (this.opts.shuffle) {
      const rand = seededRandom((this.opts.seed ?? 0) * 1000003 + epoch);
      for (let i = idx.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
    }
    return idx;
  }

  /** Iterates one epoch of batches; the caller disposes each batch's tensors. */
  *batches(epoch = this.epoch++): Generator<Batch> {
    const { data, opts } = this;
    const order = this.order(epoch);
    const imageBytes = data.channels * data.height * data.width;
    const rand = seededRandom((opts.seed ?? 0) * 7919 + epoch + 1);
    const pad = opts.augment?.cropPadding ?? 0;
    const norm = { mean: opts.mean ?? [0], std: opts.std ?? [1] };
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      const indices = order.subarray(b * opts.batchSize, Math.min((b + 1) * opts.batchSize, this.n));
      const count = indices.length;
      const bytes = new Uint8Array(Math.ceil((count * imageBytes) / 4) * 4);
      const labels = new Int32Array(count);
      const shifts = new Int32Array(count * 3);
      for (let k = 0; k < count; k++) {
        const i = indices[k]!;
        bytes.set(data.images.subarray(i * imageBytes, (i + 1) * imageBytes), k * imageBytes);
        labels[k] = data.labels[i]!;
        shifts[3 * k] = pad ? Math.floor(rand() * (2 * pad + 1)) : 0;
        shifts[3 * k + 1] = pad ? Math.floor(rand() * (2 * pad + 1)) : 0;
        shifts[3 * k + 2] = opts.augment?.horizontalFlip && rand() < 0.5 ? 1 : 0;
      }
      yield { x: decodeImages(bytes, shifts, count, data, pad, norm), y: tensorFromArray(labels, [count], 'int32'), indices: Int32Array.from(indices) };
    }
  }
}

function decodeImages(bytes: Uint8Array, shifts: Int32Array, count: number, data: ImageDataset, pad: number, norm: { mean: readonly number[]; std: readonly number[] }): Tensor {
  const raw = emptyTensor([bytes.length / 4], 'uint32');
  upload(raw.storage.buffer, bytes);
  const shiftTensor = tensorFromArray(shifts, [shifts.length], 'int32');
  const out = emptyTensor([count, data.channels, data.height, data.width]);
  const n = out.size;
  dispatch({
    name: 'decode_images',
    source: DECODE_IMAGES,
    buffers: [raw.storage.buffer, shiftTensor.storage.buffer, out.storage.buffer],
    uniforms: decodeImagesUniforms(n, data.channels, data.height, data.width, pad, norm.mean, norm.std),
    workgroups: grid1d(n),
  });
  raw.dispose();
  shiftTensor.dispose();
  return out;
}
