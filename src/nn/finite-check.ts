/**
 * A cheap check that a model's weights are all finite. NaN weights in an early layer used to
 * evaluate at chance and train on; now training checks after every epoch and the CLI checks a
 * model it loads, and both stop with the parameter's name.
 *
 * One small kernel per tensor counts its NaN and infinite elements into a shared [tensors, 2]
 * counter (an atomic add only where a value is non-finite, so a healthy model costs one read of
 * each weight), and the counts come back in one readback.
 */
import { dispatch } from '../kernels/runtime.ts';
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from '../kernels/wgsl/common.ts';
import { zeros } from '../tensor/ops/creation.ts';
import { asPlainArray } from '../tensor/ops/elementwise.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Module } from './module.ts';

// Tested on the bits: lavapipe's compiler folds x != x to false. Exponent all ones: NaN where the
// mantissa is not zero, else +-Inf.
const SOURCE = `// count_non_finite: counts[2 * slot] += NaNs of x, counts[2 * slot + 1] += infinities
struct Params { n: u32, slot: u32 }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let bits = x[i] & 0x7fffffffu;
  if (bits >= 0x7f800000u) { atomicAdd(&counts[2u * p.slot + select(1u, 0u, bits > 0x7f800000u)], 1u); }
}
`;

export interface NonFinite {
  name: string;
  nan: number;
  inf: number;
}

/** The named float32 tensors with NaN or infinite elements, and how many of each (one readback). */
export async function nonFiniteTensors(named: ReadonlyArray<readonly [string, Tensor]>): Promise<NonFinite[]> {
  const checked = named.filter(([, t]) => t.dtype === 'float32' && t.size > 0);
  if (checked.length === 0) return [];
  const counts = zeros([checked.length, 2], { dtype: 'uint32' });
  checked.forEach(([, t], slot) => {
    const plain = asPlainArray(t);
    const uniforms = new UniformWriter().u32(t.size).u32(slot).finish();
    dispatch({ name: 'count_non_finite', source: SOURCE, buffers: [plain.t.storage.buffer, counts.storage.buffer], uniforms, workgroups: grid1d(t.size) });
    if (plain.temporary) plain.t.dispose();
  });
  const values = await counts.toArray();
  counts.dispose();
  return checked.map(([name], k) => ({ name, nan: values[2 * k]!, inf: values[2 * k + 1]! })).filter((c) => c.nan + c.inf > 0);
}

/**
 * Throws if any parameter or float buffer (batch-norm statistics) of `model` holds NaN or Inf,
 * naming each such tensor and its counts; `context` says where (e.g. "after epoch 3",
 * "loading runs/lenet/model.safetensors").
 */
export async function assertFiniteParameters(model: Module, context: string): Promise<void> {
  const bad = await nonFiniteTensors([...model.namedParameters(), ...model.namedBuffers()]);
  if (bad.length === 0) return;
  const describe = (c: NonFinite) => {
    const kinds = [c.nan ? 'NaN' : '', c.inf ? 'Inf' : ''].filter(Boolean).join(' and ');
    return `${c.name} has ${c.nan + c.inf} non-finite values (${kinds})`;
  };
  throw new Error(
    `glassbox: non-finite weights ${context}: ${bad.map(describe).join('; ')}. ` +
      'A model with NaN or infinite weights gives meaningless outputs; retrain it (with a lower learning rate, or --detect-anomaly to find the op that first produced NaN) or load an earlier checkpoint.',
  );
}
