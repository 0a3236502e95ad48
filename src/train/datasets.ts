/**
 * The data sets by name, as training sees them: how to load the training and validation
 * splits, their normalisation, and the augmentation used for training.
 */
import { loadDataset, type ImageDataset } from '../../datasets/index.ts';
import { NORMALISATION, type Augmentation } from './data-loader.ts';

export interface DatasetSpec {
  /** Which split validation uses (and what the report calls it). */
  validationSplit: 'test' | 'validation';
  note?: string;
  /** `masks`: also generate the per-digit masks (mixture data sets; evaluation needs them, training does not). */
  load(split: 'train' | 'validation', limit?: number, opts?: { masks?: boolean }): Promise<ImageDataset>;
  mean: number[];
  std: number[];
  augment?: Augmentation;
}

const mixture = (name: 'mnist-mixture' | 'mnist-mixture-usefulness'): DatasetSpec => ({
  validationSplit: 'validation',
  load: (split, limit, opts) => loadDataset(name, { split, n: limit, masks: opts?.masks ?? false }),
  ...NORMALISATION['mnist-mixture']!,
});

export const DATASETS: Record<string, DatasetSpec> = {
  mnist: { validationSplit: 'test', load: (split, limit) => loadDataset('mnist', { split: split === 'train' ? 'train' : 'test', limit }), ...NORMALISATION.mnist! },
  'fashion-mnist': {
    validationSplit: 'test',
    load: (split, limit) => loadDataset('fashion-mnist', { split: split === 'train' ? 'train' : 'test', limit }),
    ...NORMALISATION['fashion-mnist']!,
  },
  cifar10: {
    validationSplit: 'test',
    note: 'the local CIFAR-10 copy has only the first 1,000 test images; accuracy is measured on those',
    load: (split, limit) => loadDataset('cifar10', { split: split === 'train' ? 'train' : 'test', limit }),
    ...NORMALISATION.cifar10!,
    augment: { cropPadding: 4, horizontalFlip: true },
  },
  'mnist-mixture': mixture('mnist-mixture'),
  'mnist-mixture-usefulness': mixture('mnist-mixture-usefulness'),
};

export function datasetSpec(name: string): DatasetSpec {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`glassbox: unknown dataset '${name}'. Known data sets: ${Object.keys(DATASETS).join(', ')}`);
  return spec;
}
