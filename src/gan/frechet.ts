/**
 * An "MNIST FID": the Frechet distance (Heusel et al. 2017) between two image sets, measured in the
 * feature space of a classifier trained here instead of Inception's. With mu, S the mean and
 * covariance of each set's features,
 *
 *   d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))
 *
 * Tr((S1 S2)^(1/2)) is computed as Tr((A S2 A)^(1/2)) with A = S1^(1/2): A S2 A is similar to S1 S2
 * (same eigenvalues) but symmetric positive semi-definite, so both square roots come from symmetric
 * eigen-decompositions in float64 (no complex parts to drop, unlike scipy's sqrtm of the product).
 *
 * The default layer is LeNet-5's 'classifier.4': the 84 ReLU features before the last linear layer.
 */
import * as gb from '../index.ts';
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { symmetricEigen } from '../xai/representations/eigen.ts';
import { toClassifierInput } from './images.ts';

/** The LeNet-5 layer whose output the Frechet distance compares. */
export const FRECHET_LAYER = 'classifier.4';

/** The symmetric positive semi-definite square root of the n x n symmetric matrix `a` (negative eigenvalues from rounding clipped to 0). */
export function symmetricSqrt(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const r = Math.sqrt(Math.max(values[k]!, 0));
    if (r === 0) continue;
    const v = vectors.subarray(k * n, (k + 1) * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j]! += r * v[i]! * v[j]!;
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
    }
  return out;
}

/** Mean and covariance (divided by N - 1) of N feature vectors. */
export interface FeatureStats {
  dim: number;
  count: number;
  mean: Float64Array;
  covariance: Float64Array;
}

/** Mean and covariance of the rows of `features` (N x dim, row-major). */
export function featureStats(features: ArrayLike<number>, count: number, dim: number): FeatureStats {
  if (features.length !== count * dim) throw new Error(`glassbox.gan.featureStats: ${features.length} values are not ${count} x ${dim}`);
  if (count < 2) throw new Error(`glassbox.gan.featureStats: a covariance needs at least 2 samples, got ${count}`);
  const mean = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let i = 0; i < dim; i++) mean[i]! += features[r * dim + i]!;
  for (let i = 0; i < dim; i++) mean[i]! /= count;
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dim; i++) centred[i] = features[r * dim + i]! - mean[i]!;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      for (let j = i; j < dim; j++) covariance[i * dim + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < dim; i++)
    for (let j = i; j < dim; j++) {
      const v = covariance[i * dim + j]! / (count - 1);
      covariance[i * dim + j] = v;
      covariance[j * dim + i] = v;
    }
  return { dim, count, mean, covariance };
}

/** The squared Frechet distance between two Gaussians given by their statistics. */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  if (a.dim !== b.dim) throw new Error(`glassbox.gan.frechetDistance: feature sizes differ (${a.dim} and ${b.dim})`);
  const n = a.dim;
  let meanTerm = 0;
  for (let i = 0; i < n; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  let traces = 0;
  for (let i = 0; i < n; i++) traces += a.covariance[i * n + i]! + b.covariance[i * n + i]!;
  const root = symmetricSqrt(a.covariance, n);
  const product = matmul(matmul(root, b.covariance, n), root, n);
  // symmetrise the rounding before the eigen-decomposition's symmetry check
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) product[i * n + j] = product[j * n + i] = (product[i * n + j]! + product[j * n + i]!) / 2;
  const { values } = symmetricEigen(product, n);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(v, 0));
  return Math.max(meanTerm + traces - 2 * traceRoot, 0);
}

export interface ClassifierFeaturesOptions {
  /** The classifier's layer whose output is the feature vector (default 'classifier.4', LeNet-5's 84 features). */
  layer?: string;
  /** The classifier's input normalisation of [0, 1] pixels. */
  mean: readonly number[];
  std: readonly number[];
  batchSize?: number;
}

/** Features, softmax confidence and predicted class of each image, read through a classifier. */
export interface ClassifierReadout {
  features: Float32Array;
  dim: number;
  count: number;
  /** The classifier's top softmax probability per image. */
  confidence: Float32Array;
  predicted: Int32Array;
}

/**
 * The Frechet distance in a classifier's feature space and the classifier's view of image sets:
 * `new ClassifierFrechet(lenet, {mean, std}).readout(images)` for images in [-1, 1] (the generator's range).
 */
export class ClassifierFrechet {
  readonly layer: string;
  constructor(
    readonly classifier: Module,
    readonly opts: ClassifierFeaturesOptions,
  ) {
    this.layer = opts.layer ?? FRECHET_LAYER;
    classifier.getSubmodule(this.layer); // names the layers when it is not one
  }

  /** Reads `images` [N, 1, 28, 28] in [-1, 1] in batches (they stay the caller's). */
  async readout(images: Tensor): Promise<ClassifierReadout> {
    const n = images.shape[0]!;
    const batch = this.opts.batchSize ?? 500;
    const parts: Float32Array[] = [];
    const conf = new Float32Array(n);
    const predicted = new Int32Array(n);
    let dim = 0;
    const wasTraining = this.classifier.training;
    this.classifier.eval();
    let captured: Tensor | undefined;
    const remove = this.classifier.getSubmodule(this.layer).registerForwardHook((_m, _i, out) => {
      captured = gb.keep(out.reshape([out.shape[0]!, -1]));
    });
    try {
      for (let s = 0; s < n; s += batch) {
        const count = Math.min(batch, n - s);
        const probs = gb.tidy(() => gb.noGrad(() => gb.softmax(this.classifier.forward(toClassifierInput(images.slice(0, { start: s, end: s + count }), this.opts)), 1)));
        const p = (await probs.toArray()) as Float32Array;
        const k = probs.shape[1]!;
        probs.dispose();
        for (let r = 0; r < count; r++) {
          let best = 0;
          for (let c = 1; c < k; c++) if (p[r * k + c]! > p[r * k + best]!) best = c;
          predicted[s + r] = best;
          conf[s + r] = p[r * k + best]!;
        }
        dim = captured!.shape[1]!;
        parts.push((await captured!.toArray()) as Float32Array);
        captured!.dispose();
      }
    } finally {
      remove();
      this.classifier.train(wasTraining);
    }
    const features = new Float32Array(n * dim);
    let at = 0;
    for (const p of parts) features.set(p, at), (at += p.length);
    return { features, dim, count: n, confidence: conf, predicted };
  }

  async stats(images: Tensor): Promise<FeatureStats & { readout: ClassifierReadout }> {
    const r = await this.readout(images);
    return { ...featureStats(r.features, r.count, r.dim), readout: r };
  }

  /** The squared Frechet distance between two image sets in [-1, 1]. */
  async distance(a: Tensor, b: Tensor): Promise<number> {
    return frechetDistance(await this.stats(a), await this.stats(b));
  }
}

/** Mean confidence, the share of each predicted class, and the balance as normalised entropy (1 = uniform). */
export function classSummary(r: ClassifierReadout, classes = 10): { meanConfidence: number; classShare: number[]; balance: number } {
  const counts = new Array<number>(classes).fill(0);
  for (const c of r.predicted) counts[c]!++;
  const classShare = counts.map((c) => c / r.count);
  const entropy = -classShare.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0);
  const meanConfidence = r.confidence.reduce((s, v) => s + v, 0) / r.count;
  return { meanConfidence, classShare, balance: entropy / Math.log(classes) };
}
