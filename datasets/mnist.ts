/** MNIST handwritten digits (LeCun, Cortes, Burges), 28x28 grey, 60000 train + 10000 test. */
import { MNIST_FILES } from './download.ts';
import { loadIdxDataset } from './idx-dataset.ts';
import type { ImageDataset, LoadOptions } from './types.ts';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * Load MNIST. Local folder: GLASSBOX_MNIST_DIR or GLASSBOX_DATA/mnist (see paths.ts),
 * else the download cache (ossci-datasets S3 mirror, yann.lecun.com as fallback).
 */
export function loadMnist(opts: LoadOptions = {}): Promise<ImageDataset> {
  return loadIdxDataset({ key: 'mnist', name: 'mnist', classes: MNIST_CLASSES, files: MNIST_FILES }, opts);
}
