/**
 * In-place updates of several same-sized contiguous arrays in one kernel: an optimiser's step
 * writes the parameter and its state (SGD's momentum buffer; Adam's two moments) in one dispatch
 * per parameter instead of one per array, and without allocating new tensors each step.
 *
 * Indexing: invocation i (four elements 4i .. 4i + 3 when the length is a multiple of 4, which
 * lavapipe runs at several times the bandwidth of one element per invocation) reads t0[i], t1[i]
 * ... (read_write) and x0[i] ... (read only), runs the update's WGSL statements, which assign the
 * targets' new values, and writes them back. Scalars (f32) arrive as s0, s1, ... .
 */
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';

export interface InPlaceUpdateSpec {
  name: string;
  /** Arrays updated in place (bindings 0 .. targets - 1), named t0, t1, ... in `body`. */
  targets: number;
  /** Arrays only read (the next bindings), named x0, x1, ... in `body`. */
  inputs: number;
  /**
   * WGSL statements that read t{k} and x{k} (the current values, f32 or vec4<f32>) and s{k},
   * and assign the new values to `t{k}_next` (declared and stored by the template).
   */
  body: string;
  scalars: readonly number[];
  /** Elements in each array. */
  length: number;
}

const sources = new Map<string, string>();

function source(s: InPlaceUpdateSpec, vec4: boolean): string {
  const key = `${s.name}|${s.targets}|${s.inputs}|${s.scalars.length}|${vec4}|${s.body}`;
  const hit = sources.get(key);
  if (hit) return hit;
  const type = vec4 ? 'vec4<f32>' : 'f32';
  const range = (n: number) => Array.from({ length: n }, (_, k) => k);
  const targets = range(s.targets);
  const inputs = range(s.inputs);
  const scalars = range(s.scalars.length);
  const code = `// ${s.name}: in-place update of ${s.targets} array(s) from ${s.inputs} more${vec4 ? ', four elements per invocation' : ''}.
struct Params { n: u32, ${scalars.map((k) => `s${k}: f32`).join(', ')} }
${targets.map((k) => `@group(0) @binding(${k}) var<storage, read_write> T${k}: array<${type}>;`).join('\n')}
${inputs.map((k) => `@group(0) @binding(${s.targets + k}) var<storage, read> X${k}: array<${type}>;`).join('\n')}
@group(0) @binding(${s.targets + s.inputs}) var<uniform> u: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= u.n) { return; }
${scalars.map((k) => `  let s${k} = u.s${k};`).join('\n')}
${targets.map((k) => `  let t${k} = T${k}[i];`).join('\n')}
${inputs.map((k) => `  let x${k} = X${k}[i];`).join('\n')}
${targets.map((k) => `  var t${k}_next: ${type};`).join('\n')}
${s.body
  .trim()
  .split('\n')
  .map((line) => `  ${line.trim()}`)
  .join('\n')}
${targets.map((k) => `  T${k}[i] = t${k}_next;`).join('\n')}
}
`;
  sources.set(key, code);
  return code;
}

/** Bindings: the targets, then the inputs, then the uniforms. */
export function inPlaceUpdateLaunch(s: InPlaceUpdateSpec) {
  const vec4 = s.length % 4 === 0;
  const n = vec4 ? s.length / 4 : s.length;
  const uniforms = new UniformWriter().u32(n);
  for (const v of s.scalars) uniforms.f32(v);
  return { name: s.name, source: source(s, vec4), uniforms: uniforms.finish(), workgroups: grid1d(n) };
}
