/** Which part of a data set. `validation` is only produced by the synthetic mixture sets. */
export type Split = 'train' | 'validation' | 'test';

/**
 * The common in-memory form of every image data set: raw bytes, NCHW order.
 * The engine turns these typed arrays into tensors; nothing here depends on it.
 */
export interface ImageDataset {
  name: string;
  split: Split;
  /** N*C*H*W bytes, NCHW order (0 = black/background, 255 = white/ink). */
  images: Uint8Array;
  /** N class indices. */
  labels: Uint8Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  /** Class names, indexed by label. */
  classes: string[];
  /** Where the data came from (folder or description); informational. */
  source?: string;
}

/** Options shared by the file-backed loaders (MNIST, Fashion-MNIST, CIFAR-10). */
export interface LoadOptions {
  split?: 'train' | 'test';
  /** Keep only the first `limit` images (in file order). */
  limit?: number;
  /** Folder holding the files; overrides every environment variable. */
  dir?: string;
  /** Also search the built-in folders (<repo>/../shared/datasets, /usr/share/datasets/...) (default true). */
  searchDefaults?: boolean;
  /** Allow downloading into the cache if no local copy is found (default true, or false if GLASSBOX_OFFLINE=1). */
  download?: boolean;
  /** Cache folder for downloads (default: GLASSBOX_CACHE or ~/.cache/glassbox/datasets). */
  cacheDir?: string;
  /**
   * Check local files against the data set's known checksums, once per file version (remembered in
   * the cache folder) (default true, or false if GLASSBOX_VERIFY_DATA=0; downloads are always checked).
   */
  verify?: boolean;
  /** Print download progress on stderr (default true). */
  progress?: boolean;
  /** fetch implementation used for downloads (tests inject one). */
  fetch?: typeof fetch;
}
