/**
 * Principal component analysis of a point cloud [N, d] (a layer's activations over a data set).
 *
 * The covariance C = Xc^T Xc / (N - 1) of the centred points is one matmul on the GPU. Its leading
 * eigenvectors are then found in one of two ways:
 *  - d <= `exactUpTo`: C is read back and decomposed entirely by the Jacobi solver (eigen.ts), exact
 *    to float64 rounding of the float32 covariance;
 *  - larger d: subspace iteration (block power iteration with Rayleigh-Ritz; Halko, Martinsson &
 *    Tropp 2011, algorithm 4.4, with q unbounded): a block Q of k + p orthonormal columns is
 *    multiplied by C on the GPU (the only O(d^2) work), re-orthonormalised on the CPU (d x (k + p)),
 *    and the small matrix Q^T C Q is decomposed by Jacobi. It stops when every wanted Ritz pair's
 *    residual ||C u - lambda u|| falls below `tolerance` x lambda_1, computed for free from C Q.
 * The projection Xc V^T is a second matmul on the GPU.
 */
import { noGrad } from '../../autograd/node.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { sub } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { mean, sum } from '../../tensor/ops/reduce.ts';
import { transpose } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { symmetricEigen } from './eigen.ts';
import { checkedOptions, seededNormal } from './util.ts';

export interface PCAOptions {
  /** Components kept (default 2). */
  components?: number;
  /** Covariances of at most this many dimensions are decomposed whole by Jacobi (default 256); larger ones by subspace iteration. */
  exactUpTo?: number;
  /** Extra columns carried by subspace iteration beyond `components` (default 10). */
  oversampling?: number;
  /** Subspace iterations at most (default 300). */
  maxIterations?: number;
  /** Stop when every kept pair's residual ||C u - lambda u|| is below this times the largest eigenvalue (default 1e-5). */
  tolerance?: number;
  /** Seed of the random starting block (default 0). */
  seed?: number;
}

export interface PCAResult {
  /** Points and dimensions. */
  n: number;
  d: number;
  /** The mean that was subtracted, length d. */
  mean: Float32Array;
  /** Principal axes as rows of a k x d matrix, unit length, largest variance first; each axis's largest entry is positive. */
  components: Float64Array;
  /** Variance along each axis (eigenvalues of the covariance), length k. */
  eigenvalues: Float64Array;
  /** The trace of the covariance: the variance of all dimensions together. */
  totalVariance: number;
  /** eigenvalues / totalVariance. */
  explainedVarianceRatio: Float64Array;
  /** The centred points in the axes' coordinates, N x k row-major. */
  projected: Float32Array;
  method: 'jacobi' | 'subspace-iteration';
  /** Subspace iterations run (0 for Jacobi). */
  iterations: number;
}

const DEFAULTS = { components: 2, exactUpTo: 256, oversampling: 10, maxIterations: 300, tolerance: 1e-5, seed: 0 };

export class PCA {
  readonly opts: typeof DEFAULTS;

  constructor(opts: PCAOptions = {}) {
    this.opts = checkedOptions('PCA', opts, DEFAULTS);
    const k = this.opts.components;
    if (!(Number.isInteger(k) && k >= 1)) throw new Error(`glassbox.representations.PCA: components must be a whole number >= 1, got ${k}`);
  }

  /** Fits the axes to `x` [N, d] (N >= 2) and projects it onto them. */
  async fit(x: Tensor): Promise<PCAResult> {
    if (x.rank !== 2) throw new Error(`glassbox.representations.PCA: points must be [N, d], got ${shapeStr(x.shape)}; flatten each point first`);
    const [n, d] = x.shape as [number, number];
    const k = this.opts.components;
    if (n < 2) throw new Error(`glassbox.representations.PCA: needs at least 2 points to estimate a covariance, got ${n}`);
    if (k > d) throw new Error(`glassbox.representations.PCA: components ${k} is more than the points' ${d} dimensions; ask for at most ${d}`);
    return noGrad(async () => {
      const { centred, meanT, cov, trace } = tidy(() => {
        const meanT = mean(x, { dim: 0, keepdim: true });
        const centred = sub(x, meanT);
        const cov = matmul(transpose(centred), centred).div(n - 1);
        const trace = sum(centred.square()).div(n - 1);
        return { centred, meanT, cov, trace };
      });
      try {
        const totalVariance = await trace.item();
        const found = d <= this.opts.exactUpTo ? await exactTop(cov, d, k) : await subspaceTop(cov, d, k, this.opts);
        const axes = tensor(Float32Array.from(found.vectors), [k, d]);
        const projectedT = matmul(centred, transpose(axes));
        const projected = Float32Array.from(await projectedT.toArray());
        const meanValues = Float32Array.from(await meanT.toArray());
        axes.dispose();
        projectedT.dispose();
        return {
          n,
          d,
          mean: meanValues,
          components: found.vectors,
          eigenvalues: found.values,
          totalVariance,
          explainedVarianceRatio: found.values.map((v) => (totalVariance > 0 ? v / totalVariance : 0)),
          projected,
          method: found.iterations === 0 ? 'jacobi' : 'subspace-iteration',
          iterations: found.iterations,
        };
      } finally {
        [centred, meanT, cov, trace].forEach((t) => t.dispose());
      }
    });
  }
}

interface TopEigen {
  values: Float64Array;
  /** k x d rows. */
  vectors: Float64Array;
  iterations: number;
}

async function exactTop(cov: Tensor, d: number, k: number): Promise<TopEigen> {
  const { values, vectors } = symmetricEigen(await cov.toArray(), d);
  return { values: values.slice(0, k), vectors: vectors.slice(0, k * d), iterations: 0 };
}

/** The k leading eigenpairs of the symmetric d x d matrix `cov` (on the GPU) by subspace iteration with Rayleigh-Ritz. */
export async function subspaceTop(cov: Tensor, d: number, k: number, opts: { oversampling: number; maxIterations: number; tolerance: number; seed: number }): Promise<TopEigen> {
  const m = Math.min(d, k + opts.oversampling);
  let q = orthonormalColumns(seededNormal(d * m, opts.seed), d, m); // d x m row-major
  for (let iteration = 1; ; iteration++) {
    const qT = tensor(Float32Array.from(q), [d, m]);
    const cqT = matmul(cov, qT);
    const cq = Float64Array.from(await cqT.toArray());
    qT.dispose();
    cqT.dispose();
    // Rayleigh-Ritz: B = Q^T (C Q), m x m, symmetric up to rounding
    const b = new Float64Array(m * m);
    for (let i = 0; i < d; i++)
      for (let a = 0; a < m; a++) {
        const qa = q[i * m + a]!;
        for (let c = 0; c < m; c++) b[a * m + c] += qa * cq[i * m + c]!;
      }
    for (let a = 0; a < m; a++)
      for (let c = a + 1; c < m; c++) b[a * m + c] = b[c * m + a] = (b[a * m + c]! + b[c * m + a]!) / 2;
    const small = symmetricEigen(b, m);
    // Ritz vectors u = Q w and C u = (C Q) w, so the residuals need no extra product with C
    const vectors = new Float64Array(k * d);
    let worst = 0;
    const top = Math.max(Math.abs(small.values[0]!), 1e-300);
    for (let j = 0; j < k; j++) {
      let r2 = 0;
      for (let i = 0; i < d; i++) {
        let u = 0;
        let cu = 0;
        for (let a = 0; a < m; a++) {
          const w = small.vectors[j * m + a]!;
          u += q[i * m + a]! * w;
          cu += cq[i * m + a]! * w;
        }
        vectors[j * d + i] = u;
        r2 += (cu - small.values[j]! * u) ** 2;
      }
      worst = Math.max(worst, Math.sqrt(r2) / top);
    }
    if (worst <= opts.tolerance || iteration >= opts.maxIterations || m === d) {
      fixSigns(vectors, k, d);
      return { values: small.values.slice(0, k), vectors, iterations: iteration };
    }
    q = orthonormalColumns(cq, d, m);
  }
}

/** Modified Gram-Schmidt, twice ("twice is enough", Giraud et al. 2005), on the columns of a d x m row-major matrix. */
export function orthonormalColumns(a: Float64Array, d: number, m: number): Float64Array {
  const q = Float64Array.from(a);
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < d; r++) dot += q[r * m + i]! * q[r * m + j]!;
        for (let r = 0; r < d; r++) q[r * m + j] -= dot * q[r * m + i]!;
      }
      let norm = 0;
      for (let r = 0; r < d; r++) norm += q[r * m + j]! ** 2;
      norm = Math.sqrt(norm);
      // a column in the span of the others (rank-deficient C): replace it by a fresh direction
      if (norm < 1e-12) {
        const fresh = seededNormal(d, 7919 * (j + 1) + pass);
        for (let r = 0; r < d; r++) q[r * m + j] = fresh[r]!;
        j--;
        continue;
      }
      for (let r = 0; r < d; r++) q[r * m + j] /= norm;
    }
  return q;
}

/** Each row's entry of largest magnitude made positive, as symmetricEigen does, so both paths agree on signs. */
function fixSigns(rows: Float64Array, k: number, d: number): void {
  for (let j = 0; j < k; j++) {
    let big = 0;
    for (let i = 0; i < d; i++) if (Math.abs(rows[j * d + i]!) > Math.abs(rows[j * d + big]!)) big = i;
    if (rows[j * d + big]! < 0) for (let i = 0; i < d; i++) rows[j * d + i] = -rows[j * d + i]!;
  }
}
