/**
 * Softmax cross-entropy over the rows of a contiguous [R, C] score matrix, forward and backward
 * each in one kernel (the same loss built from logSoftmax, oneHot, mul, sum and neg takes 14
 * dispatches forward and 10 backward, each a launch and a JavaScript op in every training step).
 *
 * The target distribution puts 1 - eps on the row's label and eps / C on every class (label
 * smoothing; eps = 0 is the plain loss). With lse = log(sum_c exp(x_c)) and sum_c w_c = 1:
 *   loss_r = -sum_c w_c (x_c - lse) = lse - sum_c w_c x_c
 *   dloss_r / dx_c = softmax(x)_c - w_c = exp(x_c - lse) - w_c
 * A label outside [0, C) makes the row's loss NaN rather than a finite wrong value, and is
 * reported in the index error buffer (src/autograd/index-check.ts): an error at the next readback.
 */
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';
import { NAN_HELPERS } from './math.ts';
import { indexErrorBinding, REPORT_BAD_INDEX } from './index-errors.ts';

const PARAMS = 'struct Params { rows: u32, classes: u32, eps: f32, nanBits: u32, gStride: u32, site: u32 }';

function uniforms(rows: number, classes: number, eps: number, gStride = 1, site = 0): ArrayBuffer {
  // nanBits carries NaN's bit pattern: a NaN constant in WGSL source is a compile error
  return new UniformWriter().u32(rows).u32(classes).f32(eps).u32(0x7fc00000).u32(gStride).u32(site).finish();
}

// Invocation r is row r: three passes over its C scores (max, sum of exp(x - max), weighted sum),
// so no exp overflows and nothing is stored per class.
const FORWARD = `// cross_entropy: per-row softmax cross-entropy and log-sum-exp.
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
${indexErrorBinding(5)}
${NAN_HELPERS}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let r = ${flatIndex()};
  if (r >= p.rows) { return; }
  let base = r * p.classes;
  var m = x[base];
  for (var c = 1u; c < p.classes; c++) { m = max_nan_(m, x[base + c]); }
  var s = 0.0;
  var total = 0.0;
  for (var c = 0u; c < p.classes; c++) {
    let v = x[base + c];
    s += exp(v - m);
    total += v;
  }
  let rowLse = m + log(s);
  lse[r] = rowLse;
  let label = labels[r];
  if (label < 0 || u32(label) >= p.classes) {
    ${REPORT_BAD_INDEX('label', 'p.site')}
    loss[r] = bitcast<f32>(p.nanBits);
    return;
  }
  loss[r] = rowLse - ((1.0 - p.eps) * x[base + u32(label)] + p.eps / f32(p.classes) * total);
}
`;

// Invocation i is element (r, c) = (i / C, i % C) of the gradient.
const BACKWARD = `// cross_entropy_backward: g_r * (softmax(x)_c - w_c) per element.
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.rows * p.classes) { return; }
  let r = i / p.classes;
  let c = i - r * p.classes;
  let w = select(0.0, 1.0 - p.eps, i32(c) == labels[r]) + p.eps / f32(p.classes);
  dx[i] = g[r * p.gStride] * (exp(x[i] - lse[r]) - w);
}
`;

/** Bindings: x [R, C], labels [R] (int32), then loss [R] and lse [R] written, the uniforms, then the index error buffer (bad labels reported under `site`). */
export function crossEntropyLaunch(rows: number, classes: number, eps: number, site: number) {
  return { name: 'cross_entropy', source: FORWARD, uniforms: uniforms(rows, classes, eps, 1, site), workgroups: grid1d(rows) };
}

/**
 * Bindings: x [R, C], labels [R], lse [R], g, then dx [R, C] written. g is read at r * gStride:
 * stride 1, or 0 for the gradient of a mean or sum (one value expanded over the rows).
 */
export function crossEntropyBackwardLaunch(rows: number, classes: number, eps: number, gStride: 0 | 1) {
  return { name: 'cross_entropy_backward', source: BACKWARD, uniforms: uniforms(rows, classes, eps, gStride), workgroups: grid1d(rows * classes) };
}
