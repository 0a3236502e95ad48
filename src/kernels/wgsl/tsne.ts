/**
 * Exact t-SNE's O(N^2) step in two kernels that store nothing per pair (the same step built from
 * engine ops writes and re-reads five N x N matrices per iteration; src/xai/representations/tsne.ts
 * keeps that version as `klGradient`, the reference these are tested against).
 *
 * Invocation i is point i; it loops over every other point j of the embedding y [N, 2]:
 *   tsne_row_sums:  zrow_i = sum_{j != i} (1 + |y_i - y_j|^2)^-1           (Z = sum_i zrow_i, by the engine's sum)
 *   tsne_gradient:  with q_ij = (1 + |y_i - y_j|^2)^-1,
 *                   grad_i = 4 sum_j (e p_ij - q_ij / Z) q_ij (y_i - y_j)
 *                   klrow_i = sum_j p_ij log(p_ij / max(q_ij / Z, floor)) over p_ij > 0
 * reading row i of P [N, N] once.
 *
 * And the perplexity calibration, one invocation per row i of the squared distances D [N, N]:
 *   tsne_calibrate: bisection for beta_i with H(p_{.|i}) = log(perplexity), p_{j|i} ~ exp(-beta_i (D_ij - min_j D_ij)),
 *                   the bracket doubled / halved until it holds the root (scikit-learn's search), up to `maxIterations`
 *                   passes over the row, stopping within `tolerance`; then the row of P_{j|i} written, its beta and entropy.
 */
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';

const PARAMS = 'struct Params { n: u32, exaggeration: f32, floor: f32 }';

const ROW_SUMS = `// tsne_row_sums: each point's sum of Student-t kernels to every other point.
${PARAMS}
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> zrow: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let yi = vec2<f32>(y[2u * i], y[2u * i + 1u]);
  var s = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let d = yi - vec2<f32>(y[2u * j], y[2u * j + 1u]);
    s += select(1.0 / (1.0 + dot(d, d)), 0.0, j == i);
  }
  zrow[i] = s;
}
`;

const GRADIENT = `// tsne_gradient: each point's KL gradient and its row of the KL divergence.
${PARAMS}
@group(0) @binding(0) var<storage, read> pm: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> klrow: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let yi = vec2<f32>(y[2u * i], y[2u * i + 1u]);
  let invZ = 1.0 / z[0];
  var g = vec2<f32>(0.0, 0.0);
  var kl = 0.0;
  let row = i * p.n;
  for (var j = 0u; j < p.n; j++) {
    if (j == i) { continue; }
    let d = yi - vec2<f32>(y[2u * j], y[2u * j + 1u]);
    let q = 1.0 / (1.0 + dot(d, d));
    let pij = pm[row + j];
    g += ((p.exaggeration * pij - q * invZ) * q) * d;
    if (pij > 0.0) { kl += pij * log(pij / max(q * invZ, p.floor)); }
  }
  grad[2u * i] = 4.0 * g.x;
  grad[2u * i + 1u] = 4.0 * g.y;
  klrow[i] = kl;
}
`;

const CALIBRATE = `// tsne_calibrate: per-row bisection for the precision that gives the target entropy, then the row of P_{j|i}.
struct Params { n: u32, goal: f32, tolerance: f32, maxIterations: u32 }
@group(0) @binding(0) var<storage, read> dist: array<f32>;
@group(0) @binding(1) var<storage, read_write> cond: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let row = i * p.n;
  // the smallest distance to another point: p_{j|i} does not change, and exp never underflows to all zeros
  var dmin = 3.0e38;
  for (var j = 0u; j < p.n; j++) { if (j != i) { dmin = min(dmin, dist[row + j]); } }
  var beta = 1.0;
  var lo = 0.0;
  var hi = 0.0; // 0: no upper end yet
  var h = 0.0;
  var total = 0.0;
  var steps = 0u;
  loop {
    total = 0.0;
    var weighted = 0.0;
    for (var j = 0u; j < p.n; j++) {
      if (j == i) { continue; }
      let d = max(dist[row + j] - dmin, 0.0);
      let e = exp(-d * beta);
      total += e;
      weighted += d * e;
    }
    h = log(total) + beta * weighted / total;
    steps++;
    if (abs(h - p.goal) < p.tolerance || steps >= p.maxIterations) { break; }
    if (h > p.goal) {
      lo = beta;
      beta = select((beta + hi) * 0.5, beta * 2.0, hi == 0.0);
    } else {
      hi = beta;
      beta = select((beta + lo) * 0.5, beta * 0.5, lo == 0.0);
    }
  }
  for (var j = 0u; j < p.n; j++) {
    cond[row + j] = select(exp(-max(dist[row + j] - dmin, 0.0) * beta) / total, 0.0, j == i);
  }
  stats[3u * i] = beta;
  stats[3u * i + 1u] = h;
  stats[3u * i + 2u] = f32(steps);
}
`;

/** Bindings: D [N, N], then P_{j|i} [N, N] and stats [N, 3] (beta, entropy, passes) written, the uniforms. */
export function tsneCalibrateLaunch(n: number, target: number, tolerance: number, maxIterations: number) {
  const u = new UniformWriter().u32(n).f32(target).f32(tolerance).u32(maxIterations).finish();
  return { name: 'tsne_calibrate', source: CALIBRATE, uniforms: u, workgroups: grid1d(n) };
}

function uniforms(n: number, exaggeration: number, floor: number): ArrayBuffer {
  return new UniformWriter().u32(n).f32(exaggeration).f32(floor).finish();
}

/** Bindings: y [N, 2], then zrow [N] written, the uniforms. */
export function tsneRowSumsLaunch(n: number) {
  return { name: 'tsne_row_sums', source: ROW_SUMS, uniforms: uniforms(n, 1, 0), workgroups: grid1d(n) };
}

/** Bindings: P [N, N], y [N, 2], Z [1], then grad [N, 2] and klrow [N] written, the uniforms. */
export function tsneGradientLaunch(n: number, exaggeration: number, floor: number) {
  return { name: 'tsne_gradient', source: GRADIENT, uniforms: uniforms(n, exaggeration, floor), workgroups: grid1d(n) };
}
