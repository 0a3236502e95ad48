/**
 * Weighted ridge regression in float64, the surrogate fit of LIME and KernelSHAP:
 *   minimise  sum_i w_i (y_i - b - x_i . beta)^2 + alpha |beta|^2
 * The intercept b is not penalised (as in scikit-learn's Ridge, which the LIME package uses):
 * centring X and y on their weighted means removes it, then the normal equations
 *   (Xc^T W Xc + alpha I) beta = Xc^T W yc
 * are solved by Cholesky, and b = ybar - xbar . beta.
 */

export interface RidgeOptions {
  /** L2 penalty (default 1, LIME's). 0 gives weighted least squares. */
  alpha?: number;
  /** Fit an intercept (default true). */
  intercept?: boolean;
}

export interface LinearFit {
  coefficients: Float64Array;
  intercept: number;
  /** Weighted coefficient of determination on the fitted samples: 1 - SS_res / SS_tot, both weighted. */
  r2: number;
}

/** x: n rows of d features, row-major [n * d]; y and w: [n]. */
export function weightedRidge(x: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, d: number, opts: RidgeOptions = {}): LinearFit {
  const alpha = opts.alpha ?? 1;
  const fitIntercept = opts.intercept ?? true;
  const n = y.length;
  if (x.length !== n * d) throw new Error(`glassbox.xai: ridge needs x of ${n} x ${d} = ${n * d} values, got ${x.length}`);
  if (w.length !== n) throw new Error(`glassbox.xai: ridge needs ${n} weights, got ${w.length}`);
  if (!(alpha >= 0)) throw new Error(`glassbox.xai: ridge alpha must be >= 0, got ${alpha}`);
  let wSum = 0;
  for (let i = 0; i < n; i++) {
    if (!(w[i]! >= 0)) throw new Error(`glassbox.xai: ridge weights must be >= 0, weight ${i} is ${w[i]}`);
    wSum += w[i]!;
  }
  if (!(wSum > 0)) throw new Error('glassbox.xai: ridge needs a positive total weight');
  const xMean = new Float64Array(d);
  let yMean = 0;
  if (fitIntercept) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) xMean[j]! += (w[i]! * x[i * d + j]!) / wSum;
      yMean += (w[i]! * y[i]!) / wSum;
    }
  }
  const gram = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - xMean[j]!;
    const yc = y[i]! - yMean;
    for (let j = 0; j < d; j++) {
      rhs[j]! += w[i]! * row[j]! * yc;
      for (let k = 0; k <= j; k++) gram[j * d + k]! += w[i]! * row[j]! * row[k]!;
    }
  }
  for (let j = 0; j < d; j++) {
    gram[j * d + j]! += alpha;
    for (let k = 0; k < j; k++) gram[k * d + j] = gram[j * d + k]!;
  }
  const coefficients = choleskySolve(gram, rhs, d);
  let intercept = yMean;
  for (let j = 0; j < d; j++) intercept -= xMean[j]! * coefficients[j]!;
  return { coefficients, intercept, r2: weightedR2(x, y, w, d, coefficients, intercept) };
}

/** 1 - sum w (y - yhat)^2 / sum w (y - ybar_w)^2; 1 when y is constant and fitted exactly. */
export function weightedR2(x: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, d: number, coefficients: ArrayLike<number>, intercept: number): number {
  const n = y.length;
  let wSum = 0;
  let yMean = 0;
  for (let i = 0; i < n; i++) wSum += w[i]!;
  for (let i = 0; i < n; i++) yMean += (w[i]! * y[i]!) / wSum;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    let pred = intercept;
    for (let j = 0; j < d; j++) pred += x[i * d + j]! * coefficients[j]!;
    ssRes += w[i]! * (y[i]! - pred) ** 2;
    ssTot += w[i]! * (y[i]! - yMean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/** Solves A z = b for symmetric positive definite A [d * d] by A = L L^T. */
export function choleskySolve(a: ArrayLike<number>, b: ArrayLike<number>, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let diag = a[j * d + j]!;
    for (let k = 0; k < j; k++) diag -= l[j * d + k]! ** 2;
    if (!(diag > 1e-14 * Math.abs(a[j * d + j]!)))
      throw new Error(`glassbox.xai: the normal equations are singular at feature ${j} (too few or collinear samples); draw more samples or use alpha > 0`);
    l[j * d + j] = Math.sqrt(diag);
    for (let i = j + 1; i < d; i++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = s / l[j * d + j]!;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * d + k]! * z[k]!;
    z[i] = s / l[i * d + i]!;
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * z[k]!;
    z[i] = s / l[i * d + i]!;
  }
  return z;
}
