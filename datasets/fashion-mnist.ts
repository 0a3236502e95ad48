/** Fashion-MNIST (Zalando Research, MIT licence), 28x28 grey, 60000 train + 10000 test. */
import { FASHION_MNIST_FILES } from './download.ts';
import { loadIdxDataset } from './idx-dataset.ts';
import type { ImageDataset, LoadOptions } from './types.ts';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/**
 * Load Fashion-MNIST. Local folder: GLASSBOX_FASHION_MNIST_DIR or GLASSBOX_DATA/fashion-mnist,
 * else /usr/share/datasets/fashion-mnist (Debian: apt-get install dataset-fashion-mnist),
 * else the download cache (Zalando's S3 bucket, GitHub as fallback).
 */
export function loadFashionMnist(opts: LoadOptions = {}): Promise<ImageDataset> {
  return loadIdxDataset({ key: 'fashion-mnist', name: 'fashion-mnist', classes: FASHION_MNIST_CLASSES, files: FASHION_MNIST_FILES }, opts);
}
