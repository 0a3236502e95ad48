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
