/**
 * gather and scatter-add along one axis, from one template.
 *
 * Indexing: invocation i walks element i of the index tensor (shape S, read through its
 * strides so a broadcast index costs nothing). Its coordinates c in S address the data
 * tensor at the same coordinates except along `dim`, where the index value j is used:
 * data_offset(c, j) = off + sum_{d != dim} c_d * stride_d + j * stride_dim.
 * gather reads data there into out[i]; scatter-add adds src[c] there with a
 * compare-and-swap loop (WGSL has no float atomics). An out-of-range index produces NaN
 * (gather) or is skipped (scatter), never a read or write elsewhere, and is reported in the
 * index error buffer (src/autograd/index-check.ts), which raises an error at the next readback.
 */
import { indexErrorBinding, REPORT_BAD_INDEX } from './index-errors.ts';
import { FAST_DIV, FAST_DIV_LIMIT, FLAT_INDEX_ARGS, flatIndex, grid1d, unravel, UniformWriter } from './common.ts';

export interface GatherSpec {
  mode: 'gather' | 'scatter_add';
  shape: readonly number[];
  dim: number;
  /** The data tensor's offset and strides (for scatter: the output's, contiguous). */
  dataOffset: number;
  dataStrides: readonly number[];
  /** Size of the data tensor along dim, for bounds checks. */
  dimSize: number;
  indexOffset: number;
  indexStrides: readonly number[];
  /** scatter only: the source's offset and strides. */
  srcOffset?: number;
  srcStrides?: readonly number[];
  /** The check site that a bad index is reported under (index-check.ts). */
  site: number;
}

export function gatherLaunch(s: GatherSpec) {
  const rank = s.shape.length;
  const n = s.shape.reduce((a, b) => a * b, 1);
  // nanBits carries NaN's bit pattern: a NaN constant in WGSL source is a compile error
  const fastDiv = n < FAST_DIV_LIMIT; // integer division is slow on lavapipe (common.ts)
  const fields = ['n: u32', 'nanBits: u32', 'dimSize: u32', 'dataOff: u32', 'indexOff: u32', 'srcOff: u32', 'site: u32'];
  for (let d = 0; d < rank; d++) fields.push(`d${d}: u32`, `inv${d}: f32`, `ds${d}: u32`, `is${d}: u32`, `ss${d}: u32`);
  const sumOver = (start: string, stride: (d: number) => string, skip?: number) =>
    [start, ...Array.from({ length: rank }, (_, d) => d).filter((d) => d !== skip).map((d) => `c${d} * ${stride(d)}`)].join(' + ');
  const coords = [
    ...unravel('i', rank, (d) => `p.d${d}`, fastDiv ? (d) => `p.inv${d}` : undefined),
    `  let indexAt = ${sumOver('p.indexOff', (d) => `p.is${d}`)};`,
    `  let srcAt = ${sumOver('p.srcOff', (d) => `p.ss${d}`)};`,
    `  let dataAt = ${sumOver('p.dataOff', (d) => `p.ds${d}`, s.dim)};`,
  ];
  const gather = s.mode === 'gather';
  const source = `// ${s.mode} along dim ${s.dim} of a rank-${rank} tensor
struct Params { ${fields.join(', ')} }
@group(0) @binding(0) var<storage, read> index: array<i32>;
${
  gather
    ? `@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`
    : `@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> data: array<atomic<u32>>;`
}
${indexErrorBinding(3)}
@group(0) @binding(4) var<uniform> p: Params;
${fastDiv && rank > 1 ? FAST_DIV : ''}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
${coords.join('\n')}
  let j = index[indexAt];
  let valid = j >= 0 && u32(j) < p.dimSize;
  if (!valid) { ${REPORT_BAD_INDEX('j', 'p.site')} }
${
  gather
    ? `  out[i] = select(bitcast<f32>(p.nanBits), data[dataAt + u32(max(j, 0)) * p.ds${s.dim}], valid);`
    : `  if (!valid) { return; }
  let at = dataAt + u32(j) * p.ds${s.dim};
  let v = src[srcAt];
  loop {
    let old = atomicLoad(&data[at]);
    let r = atomicCompareExchangeWeak(&data[at], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
  }`
}
}
`;
  const w = new UniformWriter().u32(n).u32(0x7fc00000).u32(s.dimSize).u32(s.dataOffset).u32(s.indexOffset).u32(s.srcOffset ?? 0).u32(s.site);
  for (let d = 0; d < rank; d++) w.u32(s.shape[d]!).f32(1 / s.shape[d]!).u32(s.dataStrides[d]!).u32(s.indexStrides[d]!).u32(s.srcStrides?.[d] ?? 0);
  return { name: s.mode, source, uniforms: w.finish(), workgroups: grid1d(n) };
}
