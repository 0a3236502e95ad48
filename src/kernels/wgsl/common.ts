/** Small pieces every generated kernel shares: WGSL types, the 1-D launch grid, uniform packing. */
import type { DType } from '../../tensor/tensor.ts';

export const WORKGROUP = 64;

export function wgslType(dtype: DType): 'f32' | 'i32' | 'u32' {
  return dtype === 'float32' ? 'f32' : dtype === 'int32' ? 'i32' : 'u32';
}

/**
 * A 1-D problem of `n` invocations laid on a 2-D grid of workgroups (each dimension is
 * capped at 65535). Kernels recover the flat index with `flatIndex` below.
 */
export function grid1d(n: number, perWorkgroup = WORKGROUP): [number, number, number] {
  const groups = Math.ceil(n / perWorkgroup);
  if (groups === 0) return [0, 1, 1];
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

// The flat index comes from global_invocation_id, not local_invocation_index: lavapipe derives
// local_invocation_index per lane in a way that cost a vec4 add ~1/3 of its time (measured: the
// same add kernel ran 1.45x faster with the global id; workgroups are 1-D, so both name the same
// invocation).
export const FLAT_INDEX_ARGS = '@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>';
export const flatIndex = (perWorkgroup = WORKGROUP) => `gid.y * (nwg.x * ${perWorkgroup}u) + gid.x`;

/** Packs uniform fields (all 4-byte scalars, in declaration order) into a buffer. */
export class UniformWriter {
  private readonly view: DataView;
  private used = 0;
  constructor(private readonly bytes: ArrayBuffer = new ArrayBuffer(256)) {
    this.view = new DataView(bytes);
  }
  u32(v: number): this {
    this.view.setUint32(this.used, v >>> 0, true);
    this.used += 4;
    return this;
  }
  i32(v: number): this {
    this.view.setInt32(this.used, v, true);
    this.used += 4;
    return this;
  }
  f32(v: number): this {
    this.view.setFloat32(this.used, v, true);
    this.used += 4;
    return this;
  }
  finish(): ArrayBuffer {
    return this.bytes.slice(0, Math.max(16, Math.ceil(this.used / 16) * 16));
  }
}

/**
 * Splitting a flat index into coordinates divides by each dimension, and lavapipe runs an integer
 * division as one scalar `div` per SIMD lane (AVX2 has no vector division): a broadcast add spent
 * most of its time there. Below 2^24 an index is exact in f32, so `fast_div` takes the quotient
 * from a multiplication by the reciprocal (passed in the uniforms as f32), which is within 1 of
 * the true quotient for d >= 2 (and exact for d = 1), and corrects it by one step either way.
 */
export const FAST_DIV_LIMIT = 2 ** 24;
export const FAST_DIV = `fn fast_div(x: u32, d: u32, inv: f32) -> u32 {
  var q = u32(f32(x) * inv);
  if (q * d > x) { q -= 1u; } else if (x - q * d >= d) { q += 1u; }
  return q;
}`;

/**
 * WGSL lines that split `index` into coordinates c0..c{rank-1} (row-major over dims dim(0)..),
 * innermost first. The outermost coordinate is what is left, so the index must be in range.
 * With `inv` (the name of the uniform holding 1 / dim(d) as f32), quotients come from fast_div,
 * which needs index < FAST_DIV_LIMIT; without it, from integer division.
 */
export function unravel(index: string, rank: number, dim: (d: number) => string, inv?: (d: number) => string): string[] {
  const lines = [`  var rem = ${index};`];
  for (let d = rank - 1; d >= 1; d--) {
    const q = inv ? `fast_div(rem, ${dim(d)}, ${inv(d)})` : `rem / ${dim(d)}`;
    lines.push(`  let q${d} = ${q}; let c${d} = rem - q${d} * ${dim(d)}; rem = q${d};`);
  }
  lines.push('  let c0 = rem;');
  return lines;
}
