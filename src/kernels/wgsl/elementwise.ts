/**
 * Generator for every elementwise kernel: unary, binary and ternary ops, casts and strided
 * copies all come from this one template, specialised by an expression and the operands.
 *
 * Indexing: invocation i computes output element i (the output is contiguous). Its
 * coordinates (c0..c{r-1}) in the output shape are recovered by `unravel` (common.ts: division
 * by each dimension, through an f32 reciprocal below 2^24 elements), and each tensor operand is
 * read at off + sum_k c_k * stride_k, so broadcasting (stride 0), transposes and slices need no
 * copy. Operands that are contiguous with the output skip the index arithmetic and read
 * element off + i.
 *
 * Where four consecutive outputs can be read four at a time from every operand, a vec4 variant
 * runs instead: each invocation evaluates the expression on four elements (measured on
 * lavapipe: ~3x the bandwidth of one element per invocation). An operand is then contiguous
 * (one vec4 at off + i), a 4-aligned row along a contiguous last dimension (one vec4 at its
 * strided offset), or broadcast along the last dimension (one value, splatted: a bias, a
 * batch-norm statistic); see vec4Kinds.
 */
import type { DType } from '../../tensor/tensor.ts';
import { FAST_DIV, FAST_DIV_LIMIT, FLAT_INDEX_ARGS, flatIndex, grid1d, unravel, UniformWriter, wgslType } from './common.ts';
import { MATH_HELPERS } from './math.ts';
import { RANDOM_HELPERS } from './random.ts';

export interface TensorOperand {
  dtype: DType;
  /** Same layout as the output: read at offset + i. */
  contiguous: boolean;
  offset: number;
  strides: readonly number[];
}

export interface ElementwiseSpec {
  /** Kernel label, e.g. 'mul'. */
  name: string;
  /** WGSL expression of the output value in terms of x0, x1, x2 (operand values) and s0, s1 (f32 scalars). */
  expr: string;
  operands: TensorOperand[];
  scalars: number[];
  out: DType;
  /** Output shape, after coalescing dimensions. */
  shape: readonly number[];
  /** Where the output is a strided view (copy into a slice of a bigger tensor): its offset and strides. */
  outView?: { offset: number; strides: readonly number[] };
  /** The expression uses the random number functions. */
  random?: boolean;
}

export interface Launch {
  name: string;
  source: string;
  uniforms: ArrayBuffer;
  workgroups: [number, number, number];
}

const VARS = ['x0', 'x1', 'x2', 'x3'];

// Generated sources by specialisation key: ops repeat every training step, and returning the
// same string object lets the pipeline cache hash it once.
const sources = new Map<string, string>();

export function elementwiseLaunch(spec: ElementwiseSpec): Launch {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const vec4 = vec4Kinds(spec);
  const fastDiv = needsCoords(spec) && n < FAST_DIV_LIMIT;
  const kinds = vec4 ? vec4.join('') : spec.operands.map((o) => (o.contiguous ? 'c' : 's')).join('');
  const key = `${spec.name}|${spec.expr}|${spec.shape.length}|${spec.operands.map((o) => o.dtype).join(',')}|${kinds}|${spec.out}|${!!spec.outView}|${spec.scalars.length}|${!!spec.random}|${!!vec4}|${fastDiv}`;
  let source = sources.get(key);
  if (!source) sources.set(key, (source = vec4 ? elementwiseVec4Source(spec, vec4, fastDiv) : elementwiseSource(spec, fastDiv)));
  const w = new UniformWriter().u32(n);
  for (const d of spec.shape) w.u32(d);
  if (fastDiv) for (const d of spec.shape.slice(1)) w.f32(1 / d);
  for (const op of spec.operands) {
    w.u32(op.offset);
    if (!op.contiguous) for (const s of op.strides) w.u32(s);
  }
  if (spec.outView) {
    w.u32(spec.outView.offset);
    for (const s of spec.outView.strides) w.u32(s);
  }
  for (const s of spec.scalars) w.f32(s);
  return { name: spec.name, source, uniforms: w.finish(), workgroups: vec4 ? grid1d(n / 4, VEC4_WORKGROUP) : grid1d(n) };
}

const VEC4_WORKGROUP = 256;

/**
 * How each operand is read four elements at a time, or null where the vec4 variant cannot run:
 * 'c' contiguous with the output (one vec4 at off + i), 'r' a row of four along a contiguous
 * innermost dimension (a vec4 at its strided offset, which must be 4-aligned), 'b' broadcast along
 * the innermost dimension (one value, splatted). Non-contiguous operands need the innermost
 * dimension to hold whole groups of four, so that the four elements share their outer coordinates.
 */
function vec4Kinds(spec: ElementwiseSpec): VecKind[] | null {
  const rank = spec.shape.length;
  if (spec.outView || spec.shape.reduce((a, b) => a * b, 1) % 4 !== 0) return null;
  const rowsOfFour = spec.shape[rank - 1]! % 4 === 0;
  const kinds: VecKind[] = [];
  for (const o of spec.operands) {
    if (o.contiguous && o.offset % 4 === 0) kinds.push('c');
    else if (!o.contiguous && rowsOfFour && o.strides[rank - 1] === 0) kinds.push('b');
    else if (!o.contiguous && rowsOfFour && o.strides[rank - 1] === 1 && o.offset % 4 === 0 && o.strides.every((st, d) => d === rank - 1 || st % 4 === 0)) kinds.push('r');
    else return null;
  }
  return kinds;
}
type VecKind = 'c' | 'r' | 'b';

const needsCoords = (spec: ElementwiseSpec) => !!spec.outView || spec.operands.some((op) => !op.contiguous);

/** The uniform struct shared by both variants (the vec4 one reads the same fields); `fastDiv` adds 1/d1.. (common.ts). */
function paramsStruct(spec: ElementwiseSpec, fastDiv = false): string {
  const rank = spec.shape.length;
  const fields: string[] = ['n: u32'];
  for (let d = 0; d < rank; d++) fields.push(`d${d}: u32`);
  if (fastDiv) for (let d = 1; d < rank; d++) fields.push(`inv${d}: f32`);
  spec.operands.forEach((op, i) => {
    fields.push(`off${i}: u32`);
    if (!op.contiguous) for (let d = 0; d < rank; d++) fields.push(`st${i}_${d}: u32`);
  });
  if (spec.outView) {
    fields.push('outOff: u32');
    for (let d = 0; d < rank; d++) fields.push(`ost${d}: u32`);
  }
  spec.scalars.forEach((_, k) => fields.push(`s${k}: f32`));
  return `struct Params { ${fields.join(', ')} }`;
}

function elementwiseVec4Source(spec: ElementwiseSpec, kinds: VecKind[], fastDiv: boolean): string {
  const rank = spec.shape.length;
  const bindings = spec.operands.map((op, i) => {
    const t = wgslType(op.dtype);
    return `@group(0) @binding(${i}) var<storage, read> in${i}: array<${kinds[i] === 'b' ? t : `vec4<${t}>`}>;`;
  });
  const outType = wgslType(spec.out);
  // where operand k's element (c0, ..., c{rank-1}) sits (c{rank-1} is the first of the four)
  const at = (k: number) => [`p.off${k}`, ...Array.from({ length: rank }, (_, d) => `c${d} * p.st${k}_${d}`)].join(' + ');
  const reads = kinds.map((kind, k) =>
    kind === 'c' ? `  let v${k} = in${k}[p.off${k} / 4u + j];` : kind === 'r' ? `  let v${k} = in${k}[(${at(k)}) / 4u];` : `  let v${k} = vec4(in${k}[${at(k)}]);`,
  );
  const coords = kinds.some((kind) => kind !== 'c') ? unravel('4u * j', rank, (d) => `p.d${d}`, fastDiv ? (d) => `p.inv${d}` : undefined) : [];
  const components = [0, 1, 2, 3].map((c) => {
    const values = spec.operands.map((_, k) => `let ${VARS[k]} = v${k}[${c}];`).join(' ');
    return `  { let i = 4u * j + ${c}u; ${values} r[${c}] = ${outType}(${spec.expr}); }`;
  });
  return `// ${spec.name} (vec4): out[i] = ${spec.expr}
// Invocation j computes elements 4j .. 4j+3. Operands: ${kinds.map((k, i) => `in${i} ${k === 'c' ? 'contiguous' : k === 'r' ? 'strided rows of four' : 'broadcast along the last dim'}`).join(', ')}.
${paramsStruct(spec, fastDiv)}
${bindings.join('\n')}
@group(0) @binding(${spec.operands.length}) var<storage, read_write> out: array<vec4<${outType}>>;
@group(0) @binding(${spec.operands.length + 1}) var<uniform> p: Params;
${MATH_HELPERS}
${spec.random ? RANDOM_HELPERS : ''}
${fastDiv && coords.length ? FAST_DIV : ''}
@compute @workgroup_size(${VEC4_WORKGROUP})
fn main(${FLAT_INDEX_ARGS}) {
  let j = ${flatIndex(VEC4_WORKGROUP)};
  if (j >= p.n / 4u) { return; }
${coords.join('\n')}
${reads.join('\n')}
${spec.scalars.map((_, k) => `  let s${k} = p.s${k};`).join('\n')}
  var r: vec4<${outType}>;
${components.join('\n')}
  out[j] = r;
}
`;
}

function elementwiseSource(spec: ElementwiseSpec, fastDiv: boolean): string {
  const rank = spec.shape.length;
  const bindings = spec.operands.map((op, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<${wgslType(op.dtype)}>;`);
  const outBinding = `@group(0) @binding(${spec.operands.length}) var<storage, read_write> out: array<${wgslType(spec.out)}>;`;
  const uniformBinding = `@group(0) @binding(${spec.operands.length + 1}) var<uniform> p: Params;`;

  const body: string[] = needsCoords(spec) ? unravel('i', rank, (d) => `p.d${d}`, fastDiv ? (d) => `p.inv${d}` : undefined) : [];
  spec.operands.forEach((op, i) => {
    const index = op.contiguous ? `p.off${i} + i` : [`p.off${i}`, ...Array.from({ length: rank }, (_, d) => `c${d} * p.st${i}_${d}`)].join(' + ');
    body.push(`  let ${VARS[i]} = in${i}[${index}];`);
  });
  spec.scalars.forEach((_, k) => body.push(`  let s${k} = p.s${k};`));

  const outIndex = spec.outView ? ['p.outOff', ...Array.from({ length: rank }, (_, d) => `c${d} * p.ost${d}`)].join(' + ') : 'i';
  return `// ${spec.name}: out[i] = ${spec.expr}
${paramsStruct(spec, fastDiv)}
${bindings.join('\n')}
${outBinding}
${uniformBinding}
${MATH_HELPERS}
${fastDiv ? FAST_DIV : ''}
${spec.random ? RANDOM_HELPERS : ''}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
${body.join('\n')}
  out[${outIndex}] = ${wgslType(spec.out)}(${spec.expr});
}
`;
}

/**
 * Merges adjacent output dimensions that every operand walks with compatible strides
 * (stride[k] == stride[k+1] * size[k+1]), so a 4-D broadcast often runs as 1-D or 2-D.
 */
export function coalesce(shape: readonly number[], strideSets: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strideSets.every((s, k) => outStrides[k]![last] === s[d]! * size);
    if (mergeable) {
      outShape[last] = outShape[last]! * size;
      strideSets.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(size);
      strideSets.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strideSets.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}
