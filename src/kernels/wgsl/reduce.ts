/**
 * Generator for reductions (sum, prod, max, min, and max/min with their index) over any
 * set of axes, without copying the input.
 *
 * Indexing: the caller views the input as [outer..., inner...] (reduced axes last, possibly
 * strided). Each output element o gets its base offset from its outer coordinates; the
 * reduced elements k = 0..L-1 are found from the inner coordinates of k. A "job" is one
 * output element times one chunk of its L inputs: with `chunks` > 1 a first pass writes
 * partial results and a second pass reduces those (so a single huge row still spreads over
 * many workgroups). Variant 'row' gives each job to one invocation (many short rows);
 * variant 'workgroup' gives each job to 64 invocations that stride through it and combine
 * in workgroup memory (long rows).
 *
 * NaN propagates as in PyTorch: max and min of a range holding NaN are NaN, and max / min with
 * an index return the first NaN's index (ties otherwise go to the first index).
 */
import { FAST_DIV, FAST_DIV_LIMIT, FLAT_INDEX_ARGS, flatIndex, grid1d, unravel, UniformWriter } from './common.ts';
import { NAN_HELPERS } from './math.ts';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min';

const INIT: Record<ReduceOp, string> = { sum: '0.0', prod: '1.0', max: '-3.4028234e38', min: '3.4028234e38' };
const COMBINE: Record<ReduceOp, (a: string, b: string) => string> = {
  sum: (a, b) => `${a} + ${b}`,
  prod: (a, b) => `${a} * ${b}`,
  max: (a, b) => `max_nan_(${a}, ${b})`,
  min: (a, b) => `min_nan_(${a}, ${b})`,
};
/** For arg-reductions: does candidate value v (at a later index) replace the current best? */
const BETTER: Partial<Record<ReduceOp, string>> = { max: '>', min: '<' };

export interface ReduceSpec {
  op: ReduceOp;
  /** Also write the index (within the reduced range) of the max/min. */
  withIndex: boolean;
  outerShape: readonly number[];
  outerStrides: readonly number[];
  innerShape: readonly number[];
  innerStrides: readonly number[];
  offset: number;
  chunks: number;
  variant: 'row' | 'workgroup';
  /** Multiplies each result before it is stored (a mean is a sum times 1 / count, in the same pass); default 1. */
  scale?: number;
}

export function reduceLaunch(s: ReduceSpec): { name: string; source: string; uniforms: ArrayBuffer; workgroups: [number, number, number] } {
  if (s.withIndex && (s.chunks !== 1 || !BETTER[s.op])) throw new Error(`glassbox: index reduction needs op max/min and one chunk`);
  const outerRank = s.outerShape.length;
  const innerRank = s.innerShape.length;
  const L = s.innerShape.reduce((a, b) => a * b, 1);
  const nOut = s.outerShape.reduce((a, b) => a * b, 1);
  const chunkLen = Math.ceil(L / s.chunks);
  const jobs = nOut * s.chunks;

  // integer divisions are slow on lavapipe (common.ts): below 2^24, coordinates come from fast_div
  const fastOuter = nOut < FAST_DIV_LIMIT;
  const fastInner = L < FAST_DIV_LIMIT;
  const fields = ['jobs: u32', 'chunks: u32', 'chunkLen: u32', 'len: u32', 'offset: u32', 'scale: f32'];
  for (let d = 0; d < outerRank; d++) fields.push(`od${d}: u32`, `os${d}: u32`, `oinv${d}: f32`);
  for (let d = 0; d < innerRank; d++) fields.push(`id${d}: u32`, `is${d}: u32`, `iinv${d}: f32`);

  const outerOffset = [
    ...unravel('o', outerRank, (d) => `p.od${d}`, fastOuter ? (d) => `p.oinv${d}` : undefined),
    `  let base = ${['p.offset', ...Array.from({ length: outerRank }, (_, d) => `c${d} * p.os${d}`)].join(' + ')};`,
  ];
  const innerIndex = innerRank === 1 ? 'k * p.is0' : `inner_offset(k)`;
  const innerFn =
    innerRank === 1
      ? ''
      : `fn inner_offset(k: u32) -> u32 {
${unravel('k', innerRank, (d) => `p.id${d}`, fastInner ? (d) => `p.iinv${d}` : undefined).join('\n')}
  return ${Array.from({ length: innerRank }, (_, d) => `c${d} * p.is${d}`).join(' + ')};
}`;
  const better = BETTER[s.op];
  // k only grows within an invocation, so a later index wins only with a strictly better value or a first NaN
  const step = (v: string, k: string) =>
    s.withIndex ? `if (best < 0 || (!is_nan_(acc) && (${v} ${better} acc || is_nan_(${v})))) { acc = ${v}; best = i32(${k}); }` : `acc = ${COMBINE[s.op]('acc', v)};`;

  const loop = (first: string, stride: string, inRange: string) => `
  let start = chunk * p.chunkLen;
  let end = select(start, min(start + p.chunkLen, p.len), ${inRange});
  var acc = ${INIT[s.op]};
  var best = -1;
  for (var k = start + ${first}; k < end; k += ${stride}) {
    let v = src[base + ${innerIndex}];
    ${step('v', 'k')}
  }`;

  const bindings = `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
${s.withIndex ? '@group(0) @binding(2) var<storage, read_write> dstIndex: array<i32>;\n' : ''}@group(0) @binding(${s.withIndex ? 3 : 2}) var<uniform> p: Params;`;

  let main: string;
  if (s.variant === 'row') {
    main = `@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let job = ${flatIndex()};
  if (job >= p.jobs) { return; }
  let o = job / p.chunks;
  let chunk = job % p.chunks;
${outerOffset.join('\n')}${loop('0u', '1u', 'true')}
  dst[job] = ${s.withIndex ? 'acc' : 'acc * p.scale'};
  ${s.withIndex ? 'dstIndex[job] = best;' : ''}
}`;
  } else {
    const combineShared = s.withIndex
      ? `if (beats(sv[lid + s], si[lid + s], sv[lid], si[lid])) { sv[lid] = sv[lid + s]; si[lid] = si[lid + s]; }`
      : `sv[lid] = ${COMBINE[s.op]('sv[lid]', 'sv[lid + s]')};`;
    main = `var<workgroup> sv: array<f32, 64>;
${s.withIndex ? `var<workgroup> si: array<i32, 64>;
// does candidate (v, j) replace the current best (cur, ci)? A NaN beats any number; among equals the lower index wins
fn beats(v: f32, j: i32, cur: f32, ci: i32) -> bool {
  if (j < 0) { return false; }
  if (ci < 0) { return true; }
  if (is_nan_(v) || is_nan_(cur)) { return is_nan_(v) && (!is_nan_(cur) || j < ci); }
  return v ${better} cur || (v == cur && j < ci);
}` : ''}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let lid = local.x; // not local_invocation_index, which lavapipe computes slowly (see common.ts)
  let job = wid.y * nwg.x + wid.x;
  let inRange = job < p.jobs;
  let o = job / p.chunks;
  let chunk = job % p.chunks;
${outerOffset.join('\n')}${loop('lid', '64u', 'inRange')}
  sv[lid] = acc;
  ${s.withIndex ? 'si[lid] = best;' : ''}
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      ${combineShared}
    }
    workgroupBarrier();
  }
  if (lid == 0u && inRange) {
    dst[job] = ${s.withIndex ? 'sv[0]' : 'sv[0] * p.scale'};
    ${s.withIndex ? 'dstIndex[job] = si[0];' : ''}
  }
}`;
  }
  const source = `// reduce ${s.op}${s.withIndex ? ' with index' : ''} (${s.variant}), outer rank ${outerRank}, inner rank ${innerRank}
struct Params { ${fields.join(', ')} }
${bindings}
${NAN_HELPERS}
${(fastOuter && outerRank > 1) || (fastInner && innerRank > 1) ? FAST_DIV : ''}
${innerFn}
${main}
`;
  const w = new UniformWriter().u32(jobs).u32(s.chunks).u32(chunkLen).u32(L).u32(s.offset).f32(s.scale ?? 1);
  for (let d = 0; d < outerRank; d++) w.u32(s.outerShape[d]!).u32(s.outerStrides[d]!).f32(1 / s.outerShape[d]!);
  for (let d = 0; d < innerRank; d++) w.u32(s.innerShape[d]!).u32(s.innerStrides[d]!).f32(1 / s.innerShape[d]!);
  const workgroups = s.variant === 'row' ? grid1d(jobs) : grid1d(jobs, 1);
  return { name: `reduce_${s.op}${s.withIndex ? '_arg' : ''}`, source, uniforms: w.finish(), workgroups };
}
