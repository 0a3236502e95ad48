/**
 * A6: a model's layers seen through their activations over a data set, each projected to 2-D (PCA or
 * t-SNE) and scored for class separation by leave-one-out kNN accuracy, both in the 2-D map and in
 * the layer's full space. On a trained classifier the separation rises with depth (the input's pixels
 * mix the classes; the logits separate them): `new LayerEmbedding(model, {layers}).embed(images, labels)`.
 */
import { noGrad } from '../../autograd/node.ts';
import type { Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { checkOptions } from '../../tensor/check-options.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { collectActivations } from './activations.ts';
import { knnAccuracy } from './knn.ts';
import { PCA, type PCAOptions } from './pca.ts';
import { TSNE, type TSNEOptions } from './tsne.ts';
import { checkLabels } from './util.ts';

export type EmbeddingMethod = 'pca' | 'tsne';

export interface LayerEmbeddingOptions {
  /** Module paths (or 'input'), shallow to deep. */
  layers: readonly string[];
  /** Projections to run on every layer (default ['pca']). */
  methods?: readonly EmbeddingMethod[];
  /** Neighbours of the kNN score (default 5). */
  k?: number;
  normalization?: Normalization;
  batchSize?: number;
  pca?: Omit<PCAOptions, 'components'>;
  tsne?: Omit<TSNEOptions, 'onIteration'>;
  /** Progress: the phase ('activations', 'pca <layer>', 'tsne <layer>', 'knn <layer>'), done and total. */
  onProgress?: (phase: string, done: number, total: number, metrics?: Record<string, number>) => void;
}

export interface LayerScore {
  layer: string;
  /** One image's activation shape at this layer, and its size. */
  shape: number[];
  dimensions: number;
  /** Leave-one-out kNN accuracy in the layer's full space. */
  knnFull: number;
  /** Per method: the 2-D points (N x 2), kNN accuracy in 2-D, and the method's own numbers. */
  projections: Partial<Record<EmbeddingMethod, { points: Float32Array; knn2d: number; explainedVarianceRatio?: number[]; kl?: number; seconds: number }>>;
}

export interface LayerEmbeddingResult {
  n: number;
  k: number;
  layers: LayerScore[];
}

const OPTION_SCHEMA = { layers: 'strings', methods: 'strings', k: 'integer', normalization: 'object', batchSize: 'integer', pca: 'object', tsne: 'object', onProgress: 'function' } as const;

export class LayerEmbedding {
  constructor(
    readonly model: Module,
    readonly opts: LayerEmbeddingOptions,
  ) {
    checkOptions('representations.LayerEmbedding', opts, OPTION_SCHEMA, ['layers']);
    for (const m of opts.methods ?? []) if (m !== 'pca' && m !== 'tsne') throw new Error(`glassbox.representations.LayerEmbedding: unknown method '${m as string}'; the methods are pca, tsne`);
  }

  /** Embeds and scores every layer for `images` [N, C, H, W] in [0, 1] with their `labels`. */
  async embed(images: Tensor, labels: ArrayLike<number>): Promise<LayerEmbeddingResult> {
    const n = images.shape[0]!;
    checkLabels('LayerEmbedding', labels, n);
    const k = this.opts.k ?? 5;
    const methods = this.opts.methods ?? ['pca'];
    const report = this.opts.onProgress ?? (() => undefined);
    report('activations', 0, n);
    const activations = await collectActivations(this.model, images, this.opts.layers, {
      normalization: this.opts.normalization,
      batchSize: this.opts.batchSize,
      onProgress: (done, total) => report('activations', done, total),
    });
    const layers: LayerScore[] = [];
    for (const act of activations) {
      const d = act.values.length / n;
      const points = tensor(act.values, [n, d]);
      try {
        report(`knn ${act.layer}`, 0, 1);
        const full = await knnAccuracy(points, labels, k);
        const score: LayerScore = { layer: act.layer, shape: act.shape, dimensions: d, knnFull: full.accuracy, projections: {} };
        for (const method of methods) {
          const started = performance.now();
          let flat: Float32Array;
          let extra: { explainedVarianceRatio?: number[]; kl?: number } = {};
          if (method === 'pca') {
            const pca = await new PCA({ ...this.opts.pca, components: 2 }).fit(points);
            flat = pca.projected;
            extra = { explainedVarianceRatio: Array.from(pca.explainedVarianceRatio) };
          } else {
            const total = this.opts.tsne?.iterations ?? 1000;
            report(`tsne ${act.layer}`, 0, total);
            const tsne = await new TSNE({ ...this.opts.tsne, onIteration: (it, kl) => report(`tsne ${act.layer}`, it, total, kl === undefined ? undefined : { kl }) }).fit(points);
            flat = tsne.embedding;
            extra = { kl: tsne.kl };
          }
          const seconds = (performance.now() - started) / 1000;
          const flatT = noGrad(() => tensor(flat, [n, 2]));
          const knn2d = (await knnAccuracy(flatT, labels, k)).accuracy;
          flatT.dispose();
          score.projections[method] = { points: flat, knn2d, seconds, ...extra };
        }
        layers.push(score);
      } finally {
        points.dispose();
      }
    }
    return { n, k, layers };
  }
}
