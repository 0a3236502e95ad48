/**
 * Colour decorrelation for 3-channel nets (Olah et al. 2017): the image is optimised in a basis
 * where the colour channels are uncorrelated, and mapped back with a matrix M = U sqrt(S) from the
 * data's pixel covariance U S U^T, scaled so that its largest column has norm 1 (Lucid's
 * color_correlation_svd_sqrt / max_norm_svd_sqrt). Each pixel's colour vector c becomes M c.
 * Lucid's ImageNet constant is here for comparisons; the default elsewhere is a matrix computed
 * from the data set the net was trained on (CIFAR-10 for the CIFAR net).
 */
import type { ImageDataset } from '../../../datasets/types.ts';

/** A 3 x 3 matrix, row-major: out[i] = sum_j m[3 i + j] in[j]. */
export type ColorMatrix = readonly number[];

/** Lucid's color_correlation_svd_sqrt (ImageNet), before normalisation. */
export const LUCID_COLOR_CORRELATION_SVD_SQRT: ColorMatrix = Object.freeze([0.26, 0.09, 0.02, 0.27, 0.0, -0.05, 0.27, -0.09, 0.03]);

/** Divides by the largest column norm, as Lucid does. */
export function normalizeColumns(m: ColorMatrix): ColorMatrix {
  const norms = [0, 1, 2].map((j) => Math.hypot(m[j]!, m[3 + j]!, m[6 + j]!));
  const largest = Math.max(...norms);
  if (!(largest > 0)) throw new Error('glassbox.xai.optimize: a colour matrix needs a non-zero column');
  return Object.freeze(m.map((v) => v / largest));
}

/** Lucid's ImageNet colour decorrelation matrix, normalised exactly as Lucid's _linear_decorelate_color uses it. */
export const LUCID_COLOR_DECORRELATION: ColorMatrix = normalizeColumns(LUCID_COLOR_CORRELATION_SVD_SQRT);

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major 3 x 3) of a symmetric 3 x 3 matrix, by cyclic Jacobi rotations. */
export function symmetricEigen3(a: readonly number[]): { values: number[]; vectors: number[] } {
  const m = [...a];
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = Math.abs(m[1]!) + Math.abs(m[2]!) + Math.abs(m[5]!);
    if (off < 1e-15 * (Math.abs(m[0]!) + Math.abs(m[4]!) + Math.abs(m[8]!) + 1e-300)) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = m[3 * p + q]!;
      if (apq === 0) continue;
      const theta = (m[3 * q + q]! - m[3 * p + p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        // rotate columns p and q of m, then rows, then accumulate the vectors
        const [mkp, mkq] = [m[3 * k + p]!, m[3 * k + q]!];
        m[3 * k + p] = c * mkp - s * mkq;
        m[3 * k + q] = s * mkp + c * mkq;
      }
      for (let k = 0; k < 3; k++) {
        const [mpk, mqk] = [m[3 * p + k]!, m[3 * q + k]!];
        m[3 * p + k] = c * mpk - s * mqk;
        m[3 * q + k] = s * mpk + c * mqk;
      }
      for (let k = 0; k < 3; k++) {
        const [vkp, vkq] = [v[3 * k + p]!, v[3 * k + q]!];
        v[3 * k + p] = c * vkp - s * vkq;
        v[3 * k + q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: [m[0]!, m[4]!, m[8]!], vectors: v };
}

/** The 3 x 3 covariance of the [0, 1] colour vectors of every pixel of the first `limit` images. */
export function pixelCovariance(data: ImageDataset, limit = data.n): number[] {
  if (data.channels !== 3) throw new Error(`glassbox.xai.optimize: colour decorrelation needs a 3-channel data set; '${data.name}' has ${data.channels} channel(s) (use decorrelation 'none')`);
  const n = Math.min(limit, data.n);
  const plane = data.height * data.width;
  const images = data.images;
  // plain accumulators: this runs over millions of pixels
  let [s0, s1, s2, s00, s01, s02, s11, s12, s22] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const base = i * 3 * plane;
    for (let p = 0; p < plane; p++) {
      const r = images[base + p]! / 255;
      const g = images[base + plane + p]! / 255;
      const b = images[base + 2 * plane + p]! / 255;
      s0 += r;
      s1 += g;
      s2 += b;
      s00 += r * r;
      s01 += r * g;
      s02 += r * b;
      s11 += g * g;
      s12 += g * b;
      s22 += b * b;
    }
  }
  const sum = [s0, s1, s2];
  const outer = [s00, s01, s02, s01, s11, s12, s02, s12, s22];
  const count = n * plane;
  return outer.map((v, k) => v / count - (sum[Math.floor(k / 3)]! / count) * (sum[k % 3]! / count));
}

/** M = U sqrt(S), columns normalised: Lucid's construction, from a data set's pixel covariance. */
export function colorDecorrelationFromCovariance(covariance: readonly number[]): ColorMatrix {
  const { values, vectors } = symmetricEigen3(covariance);
  if (values.some((v) => v < -1e-12)) throw new Error(`glassbox.xai.optimize: a covariance must be positive semi-definite, got eigenvalues ${values.join(', ')}`);
  const root = values.map((v) => Math.sqrt(Math.max(v, 0)));
  return normalizeColumns(vectors.map((u, k) => u * root[k % 3]!));
}

/** The colour decorrelation matrix of a 3-channel data set (e.g. CIFAR-10's training images). */
export function colorDecorrelationFromData(data: ImageDataset, limit = data.n): ColorMatrix {
  return colorDecorrelationFromCovariance(pixelCovariance(data, limit));
}
