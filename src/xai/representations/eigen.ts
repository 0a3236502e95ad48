/**
 * Eigenvalues and eigenvectors of a real symmetric matrix, in float64 on the CPU: the cyclic Jacobi
 * method (Golub & Van Loan, Matrix Computations, 4th ed., section 8.5). Each rotation zeroes one
 * off-diagonal pair (p, q); a sweep visits every pair, and the off-diagonal mass falls quadratically
 * once it is small, so ~6-10 sweeps reach machine precision. It is slower than tridiagonal QR
 * (O(n^3) per sweep) but short, unconditionally stable and accurate in small eigenvalues too, which
 * is what PCA's small problems (a covariance of a few hundred dimensions, or the Rayleigh-Ritz
 * matrix of subspace iteration) need. Larger covariances go through `topEigen` in pca.ts, which
 * only ever hands this solver a small matrix.
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Eigenvectors as the rows of an n x n row-major matrix: row k belongs to values[k]; unit length, mutually orthogonal. */
  vectors: Float64Array;
}

/** Off-diagonal mass below this fraction of the matrix's squared Frobenius norm counts as diagonal. */
const TOLERANCE = 1e-30;
const MAX_SWEEPS = 60;

/**
 * Eigen-decomposition of the symmetric n x n matrix `a` (row-major, length n*n; only symmetric input is
 * meaningful: the matrix is checked to be symmetric within 1e-9 of its largest entry).
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`glassbox.representations.symmetricEigen: n must be a whole number >= 1, got ${n}`);
  if (a.length !== n * n) throw new Error(`glassbox.representations.symmetricEigen: the matrix has ${a.length} entries; an ${n} x ${n} matrix needs ${n * n}`);
  const m = Float64Array.from(a);
  let scale = 0;
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i]!)) throw new Error(`glassbox.representations.symmetricEigen: entry (${Math.floor(i / n)}, ${i % n}) is ${m[i]}; the matrix must be finite`);
    scale = Math.max(scale, Math.abs(m[i]!));
  }
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const gap = Math.abs(m[i * n + j]! - m[j * n + i]!);
      if (gap > 1e-9 * Math.max(scale, 1e-300)) throw new Error(`glassbox.representations.symmetricEigen: the matrix is not symmetric: (${i}, ${j}) = ${m[i * n + j]} but (${j}, ${i}) = ${m[j * n + i]}`);
      m[j * n + i] = m[i * n + j]!; // exactly symmetric from here on
    }
  // v accumulates the rotations; its columns become the eigenvectors
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < m.length; i++) total += m[i]! * m[i]!;

  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! * m[i * n + j]!;
    if (off <= TOLERANCE * total) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        // the rotation angle that zeroes (p, q): t = tan(theta), the smaller root for stability
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p and q of m
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          // rows p and q of m
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        m[p * n + q] = 0;
        m[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y * n + y]! - m[x * n + x]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, k) => {
    values[k] = m[col * n + col]!;
    // a fixed sign: the entry of largest magnitude is positive (eigenvectors are otherwise defined up to sign)
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(v[i * n + col]!) > Math.abs(v[big * n + col]!)) big = i;
    const sign = v[big * n + col]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors[k * n + i] = sign * v[i * n + col]!;
  });
  return { values, vectors };
}
