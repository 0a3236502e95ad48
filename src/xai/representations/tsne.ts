/**
 * t-SNE (van der Maaten & Hinton 2008, "Visualizing Data using t-SNE", JMLR 9) with exact gradients,
 * every O(N^2) step on the GPU through the engine's ops and fused elementwise kernels:
 *  1. squared distances D of the points (one matmul);
 *  2. perplexity calibration: per point i a precision beta_i such that the entropy of
 *     p_{j|i} ~ exp(-beta_i D_ij) is log(perplexity) (natural log, as scikit-learn), by bisection,
 *     each row's run to the end by one invocation of a fused kernel (`calibratePerplexityFused`;
 *     `calibratePerplexity`, the same bisection on all rows at once from engine ops, is its reference);
 *  3. the joint P = (P_{j|i} + P_{i|j}) / 2N, floored at 1e-12 off the diagonal (scikit-learn's
 *     floor);
 *  4. gradient descent on KL(P || Q) with the Student-t kernel q_ij ~ (1 + |y_i - y_j|^2)^-1:
 *     dC/dy_i = 4 sum_j (p_ij - q_ij)(1 + |y_i - y_j|^2)^-1 (y_i - y_j), with early exaggeration
 *     (P multiplied by `earlyExaggeration` for the first `exaggerationIterations`), momentum
 *     (`momentum` then `finalMomentum`) and Jacobs' adaptive gains (+0.2 when the gradient's sign
 *     flips against the step, x0.8 otherwise, at least `minGain`): the paper's optimiser with
 *     scikit-learn's defaults (exaggeration 12 for 250 iterations, learning rate max(N / 48, 50)),
 *     and like scikit-learn the step and gains start afresh when exaggeration ends (measured on 200
 *     MNIST digits, 300 iterations: final KL 1.10 without the restart, against scikit-learn's 0.50).
 */
import { noGrad } from '../../autograd/node.ts';
import { dispatch, runtime } from '../../kernels/runtime.ts';
import { tsneCalibrateLaunch, tsneGradientLaunch, tsneRowSumsLaunch } from '../../kernels/wgsl/tsne.ts';
import { eye, tensor } from '../../tensor/ops/creation.ts';
import { add, asPlainArray, elementwiseKernel, sub } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { max, min, sum } from '../../tensor/ops/reduce.ts';
import { transpose } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { emptyTensor, tidy, type Tensor } from '../../tensor/tensor.ts';
import { PCA } from './pca.ts';
import { checkedOptions, seededNormal } from './util.ts';

export interface TSNEOptions {
  /** Effective number of neighbours (default 30); must be below the number of points. */
  perplexity?: number;
  /** Gradient-descent iterations (default 1000). */
  iterations?: number;
  /** Factor on P during the first iterations (default 12). */
  earlyExaggeration?: number;
  /** Iterations with exaggeration and the first momentum (default 250). */
  exaggerationIterations?: number;
  /** Step size, or 'auto': max(N / earlyExaggeration / 4, 50) (Belkina et al. 2019; scikit-learn's default). */
  learningRate?: number | 'auto';
  /** Momentum while exaggerating (default 0.5), and afterwards (default 0.8). */
  momentum?: number;
  finalMomentum?: number;
  /** Lower bound of the adaptive gains (default 0.01). */
  minGain?: number;
  /** Starting embedding: 'pca' (the first two principal components scaled to standard deviation 1e-4, scikit-learn's default) or 'random' (normal, sd 1e-4). */
  init?: 'pca' | 'random';
  /** Entropy tolerance of the perplexity calibration, in nats (default 1e-5). */
  tolerance?: number;
  /** Compute the KL divergence every this many iterations (a readback; default 50). */
  klEvery?: number;
  seed?: number;
  /** Called after each iteration; `kl` is given on the iterations it is computed. */
  onIteration?: (iteration: number, kl: number | undefined) => void;
}

export interface TSNEResult {
  /** N x 2 row-major. */
  embedding: Float32Array;
  /** The starting embedding (N x 2), so another implementation can start from the same points. */
  initial: Float32Array;
  /** KL(P || Q) at the end. */
  kl: number;
  /** KL every `klEvery` iterations (during exaggeration, of the true P). */
  klCurve: Array<{ iteration: number; kl: number }>;
  /** The calibration: per-point precision beta_i = 1 / (2 sigma_i^2), and the largest |entropy - log(perplexity)|. */
  beta: Float32Array;
  entropyError: number;
  calibrationIterations: number;
  learningRate: number;
  seconds: { calibration: number; optimisation: number };
}

const DEFAULTS = {
  perplexity: 30,
  iterations: 1000,
  earlyExaggeration: 12,
  exaggerationIterations: 250,
  learningRate: 'auto' as number | 'auto',
  momentum: 0.5,
  finalMomentum: 0.8,
  minGain: 0.01,
  init: 'pca' as 'pca' | 'random',
  tolerance: 1e-5,
  klEvery: 50,
  seed: 0,
  onIteration: (() => undefined) as (iteration: number, kl: number | undefined) => void,
};

/** Off-diagonal entries of P below this are raised to it (scikit-learn's MACHINE_EPSILON floor, so log P is finite). */
const P_FLOOR = 1e-12;
/** The bracket's open upper end in the bisection. */
const UNBOUNDED = 1.0e30; // written as 1.0e30 in the kernels' WGSL

export class TSNE {
  readonly opts: typeof DEFAULTS;

  constructor(opts: TSNEOptions = {}) {
    this.opts = checkedOptions('TSNE', opts, DEFAULTS, { learningRate: ['number', '=auto'], init: ['=pca', '=random'] });
    const o = this.opts;
    const positive = { perplexity: o.perplexity, earlyExaggeration: o.earlyExaggeration, minGain: o.minGain, tolerance: o.tolerance, klEvery: o.klEvery };
    for (const [name, v] of Object.entries(positive)) if (!(v > 0)) throw new Error(`glassbox.representations.TSNE: ${name} must be above 0, got ${v}`);
    if (!(Number.isInteger(o.iterations) && o.iterations >= 1)) throw new Error(`glassbox.representations.TSNE: iterations must be a whole number >= 1, got ${o.iterations}`);
    if (!(Number.isInteger(o.exaggerationIterations) && o.exaggerationIterations >= 0)) throw new Error(`glassbox.representations.TSNE: exaggerationIterations must be a whole number >= 0, got ${o.exaggerationIterations}`);
    if (o.learningRate !== 'auto' && !(o.learningRate > 0)) throw new Error(`glassbox.representations.TSNE: learningRate must be above 0 or 'auto', got ${o.learningRate}`);
    for (const name of ['momentum', 'finalMomentum'] as const) if (!(o[name] >= 0 && o[name] < 1)) throw new Error(`glassbox.representations.TSNE: ${name} must be in [0, 1), got ${o[name]}`);
  }

  /** Embeds `x` [N, d] in two dimensions. */
  async fit(x: Tensor): Promise<TSNEResult> {
    if (x.rank !== 2) throw new Error(`glassbox.representations.TSNE: points must be [N, d], got ${shapeStr(x.shape)}; flatten each point first`);
    const n = x.shape[0]!;
    const o = this.opts;
    if (!(o.perplexity < n - 1)) throw new Error(`glassbox.representations.TSNE: perplexity ${o.perplexity} needs more than ${Math.ceil(o.perplexity) + 1} points, got ${n}; lower the perplexity or give more points`);
    // exact t-SNE holds N x N matrices, each one GPU buffer
    const limit = runtime().ctx.device.limits.maxStorageBufferBindingSize;
    if (n * n * 4 > limit) {
      const most = Math.floor(Math.sqrt(limit / 4));
      throw new Error(`glassbox.representations.TSNE: ${n} points need N x N matrices of ${((n * n * 4) / 2 ** 20).toFixed(0)} MiB, more than this device binds (${(limit / 2 ** 20).toFixed(0)} MiB); exact t-SNE here takes at most ${most} points: embed a subset`);
    }
    const learningRate = o.learningRate === 'auto' ? Math.max(n / o.earlyExaggeration / 4, 50) : o.learningRate;
    const started = performance.now();
    const mask = offDiagonal(n);
    const dist = squaredDistances(x);
    const calibration = await calibratePerplexityFused(dist, o.perplexity, { tolerance: o.tolerance });
    dist.dispose();
    const p = noGrad(() => tidy(() => jointProbabilities(calibration.conditional, mask)));
    calibration.conditional.dispose();
    const calibrated = performance.now();

    const initial = await this.initialEmbedding(x);
    let y = tensor(initial, [n, 2]);
    let update = tensor(new Float32Array(n * 2), [n, 2]);
    let gains = tensor(new Float32Array(n * 2).fill(1), [n, 2]);
    const klCurve: Array<{ iteration: number; kl: number }> = [];
    try {
      for (let it = 1; it <= o.iterations; it++) {
        const exploring = it <= o.exaggerationIterations;
        if (it === o.exaggerationIterations + 1 && it > 1) {
          // a fresh start of the optimiser when exaggeration ends, as scikit-learn's two gradient-descent
          // runs do: the momentum and gains built up against the exaggerated P would overshoot the true one
          [update, gains].forEach((t) => t.dispose());
          update = tensor(new Float32Array(n * 2), [n, 2]);
          gains = tensor(new Float32Array(n * 2).fill(1), [n, 2]);
        }
        const wantKl = it % o.klEvery === 0 || it === o.iterations;
        const step = noGrad(() =>
          tidy(() => {
            const { grad, kl } = klGradientFused(p, y, { exaggeration: exploring ? o.earlyExaggeration : 1, withKl: wantKl });
            const nextGains = elementwiseKernel('tsne_gains', 'max(select({0} * 0.8, {0} + 0.2, {1} * {2} < 0.0), {p0})', [gains, update, grad], [o.minGain]);
            const nextUpdate = elementwiseKernel('tsne_update', '{p0} * {0} - {p1} * {1} * {2}', [update, nextGains, grad], [exploring ? o.momentum : o.finalMomentum, learningRate]);
            return { y: add(y, nextUpdate), update: nextUpdate, gains: nextGains, kl };
          }),
        );
        [y, update, gains].forEach((t) => t.dispose());
        ({ y, update, gains } = step);
        let klValue: number | undefined;
        if (step.kl) {
          klValue = await step.kl.item();
          step.kl.dispose();
          if (!Number.isFinite(klValue)) throw new Error(`glassbox.representations.TSNE: the KL divergence became ${klValue} at iteration ${it}; lower the learning rate (${learningRate})`);
          klCurve.push({ iteration: it, kl: klValue });
        }
        o.onIteration(it, klValue);
      }
      const embedding = Float32Array.from(await y.toArray());
      return {
        embedding,
        initial,
        kl: klCurve[klCurve.length - 1]!.kl,
        klCurve,
        beta: calibration.beta,
        entropyError: calibration.entropyError,
        calibrationIterations: calibration.iterations,
        learningRate,
        seconds: { calibration: (calibrated - started) / 1000, optimisation: (performance.now() - calibrated) / 1000 },
      };
    } finally {
      [y, update, gains, p, mask].forEach((t) => t.dispose());
    }
  }

  private async initialEmbedding(x: Tensor): Promise<Float32Array> {
    const n = x.shape[0]!;
    if (this.opts.init === 'random' || x.shape[1]! < 2) return Float32Array.from(seededNormal(n * 2, this.opts.seed), (v) => 1e-4 * v);
    const pca = await new PCA({ components: 2, seed: this.opts.seed }).fit(x);
    let sq = 0;
    for (let i = 0; i < n; i++) sq += pca.projected[2 * i]! ** 2;
    const sd = Math.sqrt(sq / Math.max(1, n - 1)) || 1;
    return pca.projected.map((v) => (v / sd) * 1e-4);
  }
}

/** 1 off the diagonal, 0 on it: [N, N]. */
export function offDiagonal(n: number): Tensor {
  return noGrad(() => tidy(() => elementwiseKernel('tsne_off_diagonal', '1.0 - {0}', [eye(n)])));
}

/** Squared Euclidean distances [N, N] of the rows of x [N, d]: |a|^2 + |b|^2 - 2 a.b, clamped at 0 (rounding). */
export function squaredDistances(x: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const sq = sum(x.square(), { dim: 1, keepdim: true });
      return elementwiseKernel('tsne_sq_dist', 'max({0} + {1} - 2.0 * {2}, 0.0)', [sq, transpose(sq), matmul(x, transpose(x))]);
    }),
  );
}

export interface Calibration {
  /** p_{j|i}, each row summing to 1, zero diagonal. */
  conditional: Tensor;
  beta: Float32Array;
  /** Each row's entropy (nats). */
  entropy: Float32Array;
  /** max |entropy - log(perplexity)|. */
  entropyError: number;
  iterations: number;
}

/**
 * Per-row bisection for beta_i so that H(p_{.|i}) = log(perplexity), all rows at once on the GPU.
 * Distances are shifted by each row's smallest off-diagonal one first (p_{j|i} is invariant to it),
 * so exp never underflows to an all-zero row. Convergence is read back every 10 steps.
 */
export async function calibratePerplexity(dist: Tensor, mask: Tensor, perplexity: number, opts: { tolerance?: number; maxIterations?: number } = {}): Promise<Calibration> {
  const n = dist.shape[0]!;
  const target = Math.log(perplexity);
  const tolerance = opts.tolerance ?? 1e-5;
  const maxIterations = opts.maxIterations ?? 200;
  const shifted = noGrad(() =>
    tidy(() => {
      const rowMin = min(elementwiseKernel('tsne_mask_diag', '{0} + (1.0 - {1}) * 3.0e38', [dist, mask]), { dim: 1, keepdim: true }).values;
      return elementwiseKernel('tsne_shift', 'max({0} - {1}, 0.0) * {2}', [dist, rowMin, mask]);
    }),
  );
  let beta = tensor(new Float32Array(n).fill(1), [n, 1]);
  let lo = tensor(new Float32Array(n), [n, 1]);
  let hi = tensor(new Float32Array(n).fill(UNBOUNDED), [n, 1]);
  // the unnormalised row, its sum and the entropy at the current beta
  const evaluate = (b: Tensor) => {
    const pc = elementwiseKernel('tsne_affinity', 'exp(-{0} * {1}) * {2}', [shifted, b, mask]);
    const total = sum(pc, { dim: 1, keepdim: true });
    const weighted = sum(elementwiseKernel('tsne_weighted', '{0} * {1}', [shifted, pc]), { dim: 1, keepdim: true });
    const entropy = elementwiseKernel('tsne_entropy', 'log({0}) + {1} * {2} / {0}', [total, b, weighted]);
    return { pc, total, entropy };
  };
  let iterations = 0;
  try {
    while (iterations < maxIterations) {
      iterations++;
      const next = noGrad(() =>
        tidy(() => {
          const { entropy } = evaluate(beta);
          // too flat (entropy above target): raise beta; too peaked: lower it; within tolerance: stay
          const done = `abs({0} - {p0}) < {p1}`;
          const b = elementwiseKernel('tsne_beta', `select(select(select(({1} + {3}) * 0.5, {1} * 2.0, {3} >= 1.0e30), select(({1} + {2}) * 0.5, {1} * 0.5, {2} <= 0.0), {0} <= {p0}), {1}, ${done})`, [entropy, beta, lo, hi], [target, tolerance]);
          const l = elementwiseKernel('tsne_lo', `select(select({1}, {2}, {0} <= {p0}), {2}, ${done})`, [entropy, beta, lo], [target, tolerance]);
          const h = elementwiseKernel('tsne_hi', `select(select({2}, {1}, {0} <= {p0}), {2}, ${done})`, [entropy, beta, hi], [target, tolerance]);
          const error = iterations % 10 === 0 ? max(elementwiseKernel('tsne_err', 'abs({0} - {p0})', [entropy], [target])) : undefined;
          return { b, l, h, error };
        }),
      );
      [beta, lo, hi].forEach((t) => t.dispose());
      ({ b: beta, l: lo, h: hi } = next);
      if (next.error) {
        const worst = await next.error.item();
        next.error.dispose();
        if (worst < tolerance) break;
      }
    }
    const final = noGrad(() =>
      tidy(() => {
        const { pc, total, entropy } = evaluate(beta);
        return { conditional: elementwiseKernel('tsne_normalise', '{0} / {1}', [pc, total]), entropy };
      }),
    );
    const entropy = Float32Array.from(await final.entropy.toArray());
    final.entropy.dispose();
    let entropyError = 0;
    for (const h of entropy) entropyError = Math.max(entropyError, Math.abs(h - target));
    return { conditional: final.conditional, beta: Float32Array.from(await beta.toArray()), entropy, entropyError, iterations };
  } finally {
    [beta, lo, hi, shifted].forEach((t) => t.dispose());
  }
}

/** The symmetric joint probabilities (P + P^T) / 2N from the conditional ones, floored at 1e-12 off the diagonal. */
export function jointProbabilities(conditional: Tensor, mask: Tensor): Tensor {
  const n = conditional.shape[0]!;
  return elementwiseKernel('tsne_joint', 'max(({0} + {1}) * {p0}, {p1}) * {2}', [conditional, transpose(conditional), mask], [1 / (2 * n), P_FLOOR]);
}

/**
 * The gradient of KL(P || Q) with respect to the embedding y [N, 2] (and KL itself with `withKl`):
 * W_ij = (e p_ij - q_ij) (1 + |y_i - y_j|^2)^-1, grad_i = 4 (sum_j W_ij y_i - sum_j W_ij y_j).
 * `mask` is offDiagonal(N) (made once by the caller, or here when omitted).
 */
export function klGradient(p: Tensor, y: Tensor, opts: { exaggeration?: number; mask?: Tensor; withKl?: boolean } = {}): { grad: Tensor; kl?: Tensor } {
  const n = y.shape[0]!;
  const mask = opts.mask ?? offDiagonal(n);
  try {
    const sq = sum(y.square(), { dim: 1, keepdim: true });
    const kernel = elementwiseKernel('tsne_student', '{3} / (1.0 + max({0} + {1} - 2.0 * {2}, 0.0))', [sq, transpose(sq), matmul(y, transpose(y)), mask]);
    const z = sum(kernel, { dim: [0, 1], keepdim: true });
    const w = elementwiseKernel('tsne_force', '({0} * {p0} - {1} / {2}) * {1}', [p, kernel, z], [opts.exaggeration ?? 1]);
    const grad = sub(sum(w, { dim: 1, keepdim: true }).mul(y), matmul(w, y)).mul(4);
    const kl = opts.withKl ? sum(elementwiseKernel('tsne_kl', `select({0} * log({0} / max({1} / {2}, ${P_FLOOR})), 0.0, {0} <= 0.0)`, [p, kernel, z])) : undefined;
    return { grad, kl };
  } finally {
    if (!opts.mask) mask.dispose();
  }
}

/**
 * The same gradient (and KL) as `klGradient`, by the two fused kernels of src/kernels/wgsl/tsne.ts,
 * which store nothing per pair: what `TSNE.fit` runs every iteration.
 */
export function klGradientFused(p: Tensor, y: Tensor, opts: { exaggeration?: number; withKl?: boolean } = {}): { grad: Tensor; kl?: Tensor } {
  const n = y.shape[0]!;
  if (y.rank !== 2 || y.shape[1] !== 2 || p.rank !== 2 || p.shape[0] !== n || p.shape[1] !== n)
    throw new Error(`glassbox.representations.klGradientFused: needs P [N, N] and y [N, 2], got P ${shapeStr(p.shape)} and y ${shapeStr(y.shape)}`);
  const ys = asPlainArray(y);
  const ps = asPlainArray(p);
  const zrow = emptyTensor([n]);
  dispatch({ ...tsneRowSumsLaunch(n), buffers: [ys.t.storage.buffer, zrow.storage.buffer] });
  const z = sum(zrow);
  const zs = asPlainArray(z);
  const grad = emptyTensor([n, 2]);
  const klrow = emptyTensor([n]);
  dispatch({ ...tsneGradientLaunch(n, opts.exaggeration ?? 1, P_FLOOR), buffers: [ps.t.storage.buffer, ys.t.storage.buffer, zs.t.storage.buffer, grad.storage.buffer, klrow.storage.buffer] });
  for (const a of [ys, ps, zs]) if (a.temporary) a.t.dispose();
  [zrow, z].forEach((t) => t.dispose());
  const kl = opts.withKl ? sum(klrow) : undefined;
  klrow.dispose();
  return { grad, kl };
}

/**
 * The same calibration as `calibratePerplexity` in one kernel (src/kernels/wgsl/tsne.ts), each row's
 * bisection run to the end by its own invocation: no N x N temporaries and no readbacks between
 * steps. What `TSNE.fit` runs; `iterations` is the largest number of passes any row needed.
 */
export async function calibratePerplexityFused(dist: Tensor, perplexity: number, opts: { tolerance?: number; maxIterations?: number } = {}): Promise<Calibration> {
  const n = dist.shape[0]!;
  const target = Math.log(perplexity);
  const ds = asPlainArray(dist);
  const conditional = emptyTensor([n, n]);
  const stats = emptyTensor([n, 3]);
  dispatch({ ...tsneCalibrateLaunch(n, target, opts.tolerance ?? 1e-5, opts.maxIterations ?? 200), buffers: [ds.t.storage.buffer, conditional.storage.buffer, stats.storage.buffer] });
  if (ds.temporary) ds.t.dispose();
  const values = await stats.toArray();
  stats.dispose();
  const beta = new Float32Array(n);
  const entropy = new Float32Array(n);
  let entropyError = 0;
  let iterations = 0;
  for (let i = 0; i < n; i++) {
    beta[i] = values[3 * i]!;
    entropy[i] = values[3 * i + 1]!;
    entropyError = Math.max(entropyError, Math.abs(entropy[i]! - target));
    iterations = Math.max(iterations, values[3 * i + 2]!);
  }
  return { conditional, beta, entropy, entropyError, iterations };
}
