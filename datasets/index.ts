/**
 * glassbox data sets: MNIST, Fashion-MNIST, CIFAR-10 and the synthetic
 * mixture-of-MNIST sets, as plain typed arrays (NCHW uint8). See README.md.
 */
export type { ImageDataset, LoadOptions, Split } from './types.ts';
export { DatasetError, DatasetFormatError, DatasetNotFoundError, DownloadError, ChecksumError, type FormatProblem } from './errors.ts';
export {
  ensureDownloaded, MNIST_FILES, FASHION_MNIST_FILES, CIFAR10_ARCHIVE,
  type RemoteFile, type FileChecksum, type DownloadOptions,
} from './download.ts';
export { cacheRoot, DIR_ENV, SHARED_DATASETS_DIR, DEBIAN_FASHION_MNIST_DIR, type DatasetKey } from './paths.ts';
export { parseIdx, readIdxFile, encodeIdx, IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, type IdxArray, type IdxDType, type IdxExpect } from './idx.ts';
export { readTar, type TarEntry } from './tar.ts';
export { readMaybeGzipped, sha256Hex } from './io.ts';
export { loadMnist, MNIST_CLASSES } from './mnist.ts';
export { loadFashionMnist, FASHION_MNIST_CLASSES } from './fashion-mnist.ts';
export {
  loadCifar10, CIFAR10_CLASSES, CIFAR10_RECORD_BYTES, cifarRecordCount, decodeCifarBatches, readCifarArchive, extractCifarArchive,
} from './cifar10.ts';
export { Rng, hash32, deriveSeed } from './rng.ts';
export {
  loadMnistMixture, generateMnistMixture, pairToClass, classToPair, numPairClasses, pairClassNames, mixtureSourceRange,
  type MixtureDataset, type MixtureOptions, type MixtureVariant,
} from './mixture-mnist.ts';

import { loadCifar10 } from './cifar10.ts';
import { loadFashionMnist } from './fashion-mnist.ts';
import { loadMnistMixture, type MixtureDataset, type MixtureOptions } from './mixture-mnist.ts';
import { loadMnist } from './mnist.ts';
import type { ImageDataset, LoadOptions } from './types.ts';

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'mnist-mixture', 'mnist-mixture-usefulness'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Load a data set by name. The mixture names take MixtureOptions (without `variant`). */
export function loadDataset(name: 'mnist' | 'fashion-mnist' | 'cifar10', opts?: LoadOptions): Promise<ImageDataset>;
export function loadDataset(name: 'mnist-mixture' | 'mnist-mixture-usefulness', opts?: Omit<MixtureOptions, 'variant'>): Promise<MixtureDataset>;
export function loadDataset(name: DatasetName, opts?: LoadOptions | Omit<MixtureOptions, 'variant'>): Promise<ImageDataset | MixtureDataset>;
export function loadDataset(name: DatasetName, opts: LoadOptions | Omit<MixtureOptions, 'variant'> = {}): Promise<ImageDataset | MixtureDataset> {
  switch (name) {
    case 'mnist': return loadMnist(opts as LoadOptions);
    case 'fashion-mnist': return loadFashionMnist(opts as LoadOptions);
    case 'cifar10': return loadCifar10(opts as LoadOptions);
    case 'mnist-mixture': return loadMnistMixture({ ...(opts as MixtureOptions), variant: 'pairs' });
    case 'mnist-mixture-usefulness': return loadMnistMixture({ ...(opts as MixtureOptions), variant: 'usefulness' });
    default: {
      const bad: never = name;
      return Promise.reject(new Error(`unknown data set ${JSON.stringify(bad)}; known: ${DATASET_NAMES.join(', ')}`));
    }
  }
}
