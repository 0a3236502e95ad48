/**
 * In-place updates of several same-sized contiguous arrays in one kernel: an optimiser's step
 * writes the parameter and its state (SGD's momentum buffer; Adam's two moments) in one dispatch
 * instead of one per array, and without allocating new tensors each step. One dispatch can also
 * update several parameters (parts) with the same rule, PyTorch's "foreach" step: on lavapipe each
 * dispatch costs ~40-60 us however small, and most of a small net's parameters are small.
 *
 * Indexing: invocation i (four elements 4i .. 4i + 3 when every part's length is a multiple of 4,
 * which lavapipe runs at several times the bandwidth of one element per invocation) belongs to the
 * part p whose range [end(p-1), end(p)) holds i, at j = i - end(p-1). It reads t0[j], t1[j] ...
 * (read_write) and x0[j] ... (read only) of that part, runs the update's WGSL statements, which
 * assign the targets' new values, and writes them back. Scalars (f32) arrive as s0, s1, ... .
 */
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';

export interface InPlaceUpdateSpec {
  name: string;
  /** Arrays updated in place per part, named t0, t1, ... in `body`. */
  targets: number;
  /** Arrays only read per part, named x0, x1, ... in `body`. */
  inputs: number;
  /**
   * WGSL statements that read t{k} and x{k} (the current values, f32 or vec4<f32>) and s{k},
   * and assign the new values to `t{k}_next` (declared and stored by the template).
   */
  body: string;
  scalars: readonly number[];
  /** Elements in each part's arrays (one part per parameter). */
  lengths: readonly number[];
}

const sources = new Map<string, string>();

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

function source(s: InPlaceUpdateSpec, vec4: boolean): string {
  const parts = s.lengths.length;
  const key = `${s.name}|${s.targets}|${s.inputs}|${s.scalars.length}|${parts}|${vec4}|${s.body}`;
  const hit = sources.get(key);
  if (hit) return hit;
  const type = vec4 ? 'vec4<f32>' : 'f32';
  const perPart = s.targets + s.inputs;
  const targets = range(s.targets);
  const inputs = range(s.inputs);
  const body = s.body
    .trim()
    .split('\n')
    .map((line) => `  ${line.trim()}`)
    .join('\n');
  // part p binds its targets at p * perPart + k and its inputs after them
  const partFunction = (p: number) => `fn part${p}(j: u32) {
${range(s.scalars.length).map((k) => `  let s${k} = u.s${k};`).join('\n')}
${targets.map((k) => `  let t${k} = T${p}_${k}[j];`).join('\n')}
${inputs.map((k) => `  let x${k} = X${p}_${k}[j];`).join('\n')}
${targets.map((k) => `  var t${k}_next: ${type};`).join('\n')}
${body}
${targets.map((k) => `  T${p}_${k}[j] = t${k}_next;`).join('\n')}
}`;
  const code = `// ${s.name}: in-place update of ${s.targets} array(s) from ${s.inputs} more, for ${parts} parameter(s)${vec4 ? ', four elements per invocation' : ''}.
struct Params { n: u32, ${range(parts).map((p) => `end${p}: u32`).join(', ')}, ${range(s.scalars.length).map((k) => `s${k}: f32`).join(', ')} }
${range(parts)
  .flatMap((p) => [
    ...targets.map((k) => `@group(0) @binding(${p * perPart + k}) var<storage, read_write> T${p}_${k}: array<${type}>;`),
    ...inputs.map((k) => `@group(0) @binding(${p * perPart + s.targets + k}) var<storage, read> X${p}_${k}: array<${type}>;`),
  ])
  .join('\n')}
@group(0) @binding(${parts * perPart}) var<uniform> u: Params;
${range(parts).map(partFunction).join('\n')}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= u.n) { return; }
  ${range(parts)
    .map((p) => `${p === parts - 1 ? '' : `if (i < u.end${p}) `}{ part${p}(i${p === 0 ? '' : ` - u.end${p - 1}`}); }`)
    .join(' else ')}
}
`;
  sources.set(key, code);
  return code;
}

/** Bindings: each part's targets then its inputs, part after part, then the uniforms. */
export function inPlaceUpdateLaunch(s: InPlaceUpdateSpec) {
  const vec4 = s.lengths.every((n) => n % 4 === 0);
  const per = s.lengths.map((n) => (vec4 ? n / 4 : n));
  const uniforms = new UniformWriter().u32(per.reduce((a, b) => a + b, 0));
  let end = 0;
  for (const n of per) uniforms.u32((end += n));
  for (const v of s.scalars) uniforms.f32(v);
  return { name: s.name, source: source(s, vec4), uniforms: uniforms.finish(), workgroups: grid1d(end) };
}
