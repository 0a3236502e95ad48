/**
 * Anomaly mode (opt-in): after every op, forward and backward, a tiny kernel checks the
 * result for NaN / Inf and records, with an atomic min, the first op that produced one.
 * The check runs on the GPU so recording stays asynchronous; the error is raised at the
 * next readback (`toArray`, `item`) and names the op.
 */
import { dispatch, readback, runtime, upload } from '../kernels/runtime.ts';
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from '../kernels/wgsl/common.ts';
import type { BufferSlice } from '../kernels/slab-pool.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { throwIfIndexError } from './index-check.ts';

const NONE = 0xffffffff;
let enabled = false;
let flag: BufferSlice | undefined;
const producers: string[] = [];

// Inf and NaN are exactly the floats whose exponent bits are all ones (tested on the bits,
// since fast-math compilers may fold x != x away).
const SOURCE = `// anomaly check: flag[0] = min(op id) over ops whose output has a non-finite element
struct Params { n: u32, offset: u32, op: u32 }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> flag: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  if ((x[p.offset + i] & 0x7f800000u) == 0x7f800000u) { atomicMin(&flag[0], p.op); }
}
`;

export function setAnomalyDetection(on: boolean): void {
  enabled = on;
  if (on && !flag) {
    flag = runtime().storage.acquire(16);
    upload(flag, new Uint32Array([NONE, 0, 0, 0]));
  }
}

export function isAnomalyDetectionEnabled(): boolean {
  return enabled;
}

/** Records a finiteness check of `t` (produced by `where`) when anomaly mode is on. */
export function checkFinite(t: Tensor, where: string): void {
  if (!enabled || t.dtype !== 'float32' || t.size === 0 || !t.isContiguous) return;
  producers.push(where);
  const uniforms = new UniformWriter().u32(t.size).u32(t.offset).u32(producers.length - 1).finish();
  dispatch({ name: 'anomaly_check', source: SOURCE, buffers: [t.storage.buffer, flag!], uniforms, workgroups: grid1d(t.size) });
}

/**
 * Throws if a kernel saw an out-of-range index (always checked: index-check.ts) or, in anomaly
 * mode, if any checked op produced NaN or Inf since the last call (called by readbacks).
 */
export async function throwIfAnomaly(): Promise<void> {
  await throwIfIndexError();
  if (!enabled || !flag) return;
  const first = new Uint32Array(await readback(flag, 0, 4))[0]!;
  if (first === NONE) return;
  const op = producers[first] ?? '?';
  upload(flag, new Uint32Array([NONE]), 0, true);
  producers.length = 0;
  throw new Error(
    `glassbox anomaly: '${op}' produced NaN or Inf (the first op to do so since the last check). ` +
      'Common causes: log or division of zero, sqrt of a negative number, a learning rate too large.',
  );
}
