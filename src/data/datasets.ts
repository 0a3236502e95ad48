/**
 * The data sets as tensors (`glassbox/node`'s `datasets`): `await datasets.mnist({split: 'test',
 * limit: 1000})` gives images float32 [N, C, H, W] in [0, 1] (or normalised, with
 * {normalize: true}), labels int32 [N] (what crossEntropy and gather take), the class names and
 * the data set's normalisation. The typed-array loaders (`loadMnist`, ...) stay here too.
 */
import { loadCifar10, loadFashionMnist, loadMnist, loadMnistMixture, type ImageDataset, type LoadOptions } from '../../datasets/index.ts';
import { runtime } from '../kernels/runtime.ts';
import { shapeStr } from '../tensor/shape.ts';
import { tensor } from '../tensor/ops/creation.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { normalization, normalize as applyNormalization, type Normalization } from './normalization.ts';

export * from '../../datasets/index.ts';

export interface TensorDatasetOptions {
  split?: 'train' | 'test';
  /** Keep only the first `limit` images (the whole training set of MNIST is more than one tensor can hold on some devices). */
  limit?: number;
  /** Return normalised images ((x - mean) / std per channel) instead of [0, 1] pixels (default false). */
  normalize?: boolean;
  /** Folder holding the files (see datasets/README.md for where they are searched otherwise). */
  dir?: string;
}

export interface TensorDataset {
  name: string;
  split: string;
  /** float32 [N, C, H, W]: pixels in [0, 1], or normalised where asked. */
  images: Tensor;
  /** int32 [N]: class indices. */
  labels: Tensor;
  classes: string[];
  /** The data set's input normalisation (what the zoo's trained models expect). */
  normalization: Normalization;
}

const OPTION_KEYS = ['split', 'limit', 'normalize', 'dir'];

export const mnist = (opts: TensorDatasetOptions = {}) => asTensors('mnist', opts, loadMnist);
export const fashionMnist = (opts: TensorDatasetOptions = {}) => asTensors('fashion-mnist', opts, loadFashionMnist);
export const cifar10 = (opts: TensorDatasetOptions = {}) => asTensors('cifar10', opts, loadCifar10);
/** Two MNIST digits on a 56x56 canvas, 45 pair classes; splits 'train' and 'test' (the generator's 'validation'). */
export const mnistMixture = (opts: TensorDatasetOptions = {}) =>
  asTensors('mnist-mixture', opts, (o) => loadMnistMixture({ split: o.split === 'test' ? 'validation' : 'train', n: o.limit, variant: 'pairs', masks: false }));

async function asTensors(name: string, opts: TensorDatasetOptions, load: (o: LoadOptions) => Promise<ImageDataset>): Promise<TensorDataset> {
  const fn = `datasets.${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}`;
  if (opts === null || typeof opts !== 'object') throw new Error(`glassbox.${fn}: options must be an object such as {split: 'test', limit: 1000}, got ${String(opts)}`);
  const unknown = Object.keys(opts).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length) throw new Error(`glassbox.${fn}: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the options are ${OPTION_KEYS.join(', ')}`);
  if (opts.split !== undefined && opts.split !== 'train' && opts.split !== 'test') throw new Error(`glassbox.${fn}: split must be 'train' or 'test', got ${JSON.stringify(opts.split)}`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) throw new Error(`glassbox.${fn}: limit must be a positive integer, got ${JSON.stringify(opts.limit)}`);
  const data = await load({ split: opts.split ?? 'train', limit: opts.limit, ...(opts.dir ? { dir: opts.dir } : {}) });
  const shape = [data.n, data.channels, data.height, data.width];
  const bytes = data.images.length * 4;
  const limit = runtime().device.limits.maxStorageBufferBindingSize;
  if (bytes > limit)
    throw new Error(`glassbox.${fn}: ${data.n} images ${shapeStr(shape)} take ${(bytes / 2 ** 20).toFixed(0)} MiB as float32, more than one tensor holds on this device (${(limit / 2 ** 20).toFixed(0)} MiB); pass {limit: ${Math.floor(limit / (bytes / data.n))}} or less`);
  const pixels = new Float32Array(data.images.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = data.images[i]! / 255;
  const norm = normalization[name]!;
  const raw = tensor(pixels, shape);
  const images = opts.normalize ? applyNormalization(raw, norm) : raw;
  if (images !== raw) raw.dispose();
  return { name, split: data.split, images, labels: tensor(Int32Array.from(data.labels), [data.n]), classes: data.classes, normalization: norm };
}
