/**
 * Training-mode batch normalisation over contiguous x [N, C, S] (S = H * W, or 1 for [N, C]): the
 * per-channel reductions of the forward and the backward pass, and the input gradient, as three
 * kernels. Composed from elementwise ops and reductions, the same layer took about 20 dispatches
 * forward and 30 backward (the CIFAR net's step spent a third of its kernel time there).
 *
 * Reductions: workgroup c owns channel c. Its 256 invocations walk the channel's N * S values
 * (invocation l starts at the l-th and steps 256 at a time, carrying (n, s) without dividing),
 * then sum their partial results in workgroup memory.
 *
 * stats[k * C + c] holds, for channel c: k = 0 the batch mean, 1 the inverse standard deviation
 * 1 / sqrt(var + eps) (biased variance, two passes so no E[x^2] - E[x]^2 cancellation), 2 the
 * scale w * invstd and 3 the shift b - mean * scale, so that y = x * scale + shift; after the
 * backward reduction, 4 the mean of g and 5 the mean of g * xhat over the channel.
 */
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';

export const BATCH_NORM_STATS = 6;
const LANES = 256;

export interface BatchNormGeometry {
  N: number;
  C: number;
  S: number;
}

const PARAMS = 'struct Params { eps: f32, keep: f32, momentum: f32, momentumUnbiased: f32 }';

function constants(g: BatchNormGeometry): string {
  return `const N = ${g.N}u; const C = ${g.C}u; const S = ${g.S}u; const COUNT = ${g.N * g.S}.0;
const STEP_N = ${Math.floor(LANES / g.S)}u; const STEP_S = ${LANES % g.S}u;`;
}

/** Loops over channel c's values with `body` (which sees the flat index `at`), accumulating into `acc`. */
const CHANNEL_LOOP = (body: string) => `  {
    var n = lid / S;
    var s = lid % S;
    while (n < N) {
      let at = (n * C + c) * S + s;
      ${body}
      s += STEP_S;
      n += STEP_N;
      if (s >= S) { s -= S; n += 1u; }
    }
  }`;

/** Sums each invocation's `value` over the workgroup into partial[0]. */
const WORKGROUP_SUM = (value: string) => `  partial[lid] = ${value};
  workgroupBarrier();
  for (var half = ${LANES / 2}u; half > 0u; half = half / 2u) {
    if (lid < half) { partial[lid] += partial[lid + half]; }
    workgroupBarrier();
  }`;

const sources = new Map<string, string>();
function memo(kind: string, g: BatchNormGeometry, make: () => string): string {
  const key = `${kind}|${g.N},${g.C},${g.S}`;
  let source = sources.get(key);
  if (!source) sources.set(key, (source = make()));
  return source;
}

/**
 * Forward statistics. Bindings: x, weight [C], bias [C] (read), stats [6, C], runningMean [C] and
 * runningVar [C] (updated in place, the variance unbiased).
 */
export function batchNormStatsLaunch(g: BatchNormGeometry, eps: number, momentum: number) {
  const source = memo('stats', g, () => `// batch_norm_stats: per-channel mean, inverse std, scale and shift; running statistics.
${PARAMS}
${constants(g)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(5) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
var<workgroup> partial: array<f32, ${LANES}>;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  var total = 0.0;
${CHANNEL_LOOP('total += x[at];')}
${WORKGROUP_SUM('total')}
  let mean = partial[0] / COUNT;
  workgroupBarrier();
  var squares = 0.0;
${CHANNEL_LOOP('let d = x[at] - mean; squares += d * d;')}
${WORKGROUP_SUM('squares')}
  if (lid == 0u) {
    let variance = partial[0] / COUNT;
    let invstd = inverseSqrt(variance + p.eps);
    let scale = weight[c] * invstd;
    stats[c] = mean;
    stats[C + c] = invstd;
    stats[2u * C + c] = scale;
    stats[3u * C + c] = bias[c] - mean * scale;
    runningMean[c] = runningMean[c] * p.keep + mean * p.momentum;
    runningVar[c] = runningVar[c] * p.keep + variance * p.momentumUnbiased;
  }
}
`);
  const count = g.N * g.S;
  // the factors in float64, as PyTorch forms them: keep = 1 - momentum, and momentum * count / (count - 1) for the unbiased variance
  const uniforms = new UniformWriter().f32(eps).f32(1 - momentum).f32(momentum).f32((momentum * count) / (count - 1)).finish();
  return { name: 'batch_norm_stats', source, uniforms, workgroups: [g.C, 1, 1] as [number, number, number] };
}

/** Backward reduction. Bindings: x, gradOut (read), stats [6, C] (entries 4 and 5 written), dweight [C], dbias [C]. */
export function batchNormBackwardStatsLaunch(g: BatchNormGeometry) {
  const source = memo('backward_stats', g, () => `// batch_norm_backward_stats: per-channel sums of g and of g * xhat (the bias and weight gradients).
${constants(g)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbias: array<f32>;
var<workgroup> partial: array<f32, ${LANES}>;
@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let mean = stats[c];
  let invstd = stats[C + c];
  var sumG = 0.0;
  var sumGXhat = 0.0;
${CHANNEL_LOOP('let gv = g[at]; sumG += gv; sumGXhat += gv * (x[at] - mean) * invstd;')}
${WORKGROUP_SUM('sumG')}
  let totalG = partial[0];
  workgroupBarrier();
${WORKGROUP_SUM('sumGXhat')}
  if (lid == 0u) {
    dbias[c] = totalG;
    dweight[c] = partial[0];
    stats[4u * C + c] = totalG / COUNT;
    stats[5u * C + c] = partial[0] / COUNT;
  }
}
`);
  return { name: 'batch_norm_backward_stats', source, workgroups: [g.C, 1, 1] as [number, number, number] };
}

/**
 * The input gradient dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)), one invocation
 * per element i, whose channel is (i / S) % C. Bindings: x, gradOut, stats, weight (read), dx.
 */
export function batchNormInputGradLaunch(g: BatchNormGeometry) {
  const source = memo('input_grad', g, () => `// batch_norm_input_grad: dx from the per-channel means of the backward reduction.
struct Params { n: u32 }
${constants(g)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let c = (i / S) % C;
  let invstd = stats[C + c];
  let xhat = (x[i] - stats[c]) * invstd;
  dx[i] = weight[c] * invstd * (g[i] - stats[4u * C + c] - xhat * stats[5u * C + c]);
}
`);
  const n = g.N * g.C * g.S;
  return { name: 'batch_norm_input_grad', source, uniforms: new UniformWriter().u32(n).finish(), workgroups: grid1d(n) };
}
