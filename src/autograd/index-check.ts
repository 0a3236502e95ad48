/**
 * Out-of-range indices, caught on the GPU. Kernels that read an index tensor (gather,
 * scatterAdd, the fused cross-entropy, and a small check kernel for oneHot and the losses built
 * on it) write to one shared error buffer where an index is outside its dimension, instead of
 * silently producing NaN or dropping it; like anomaly mode, recording stays asynchronous and the
 * error is raised at the next readback (`toArray`, `item`), naming the op, the index and the size.
 *
 * Buffer layout (u32): [0] the smallest id of a check site that saw a bad index (atomicMin;
 * NONE if none), [1 + site] one bad index that site saw (i32 bits). A site is an (op, dimension,
 * size) triple, registered once, so the buffer and the table stay small however long a loop runs.
 */
import { dispatch, readback, runtime, upload, type Runtime } from '../kernels/runtime.ts';
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from '../kernels/wgsl/common.ts';
import { indexErrorBinding, REPORT_BAD_INDEX } from '../kernels/wgsl/index-errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

const NONE = 0xffffffff;
const MAX_SITES = 1023;
/** Whatever the storage pool hands out (a buffer, or a slice of one). */
type StorageBuffer = ReturnType<Runtime['storage']['acquire']>;
let errors: StorageBuffer | undefined;
/** The runtime `errors` was made on: a new device (after a loss) gets a new buffer. */
let errorsOwner: Runtime | undefined;
/** Set when a kernel that may flag an index ran since the last readback of the buffer. */
let pending = false;
const siteIds = new Map<string, number>();
const sites: Array<(index: number) => string> = [];


/**
 * The error buffer for a kernel about to be dispatched, and the id of its check site. `describe`
 * turns the bad index into the error's message (it names the op, the valid range and the fix).
 */
export function indexCheckSite(key: string, describe: (index: number) => string): { buffer: StorageBuffer; site: number } {
  if (!errors || errorsOwner !== runtime()) {
    errorsOwner = runtime();
    errors = errorsOwner.storage.acquire(4 * (MAX_SITES + 1));
    upload(errors, new Uint32Array([NONE]));
    pending = false;
  }
  let site = siteIds.get(key);
  if (site === undefined) {
    // past MAX_SITES distinct (op, dim, size) triples, the last site is shared and says less
    site = Math.min(sites.length, MAX_SITES - 1);
    if (site === sites.length) sites.push(describe);
    else sites[site] = (j) => `glassbox: an index op (gather, indexSelect, scatterAdd, oneHot or a loss) got index ${j}, outside its dimension; check the index tensors`;
    siteIds.set(key, site);
  }
  pending = true;
  return { buffer: errors, site };
}

/** A standard description: "glassbox.gather: index 12 is out of range for dimension 1 of size 10 ...". */
export function outOfRange(op: string, what: string, size: number, fix: string): (index: number) => string {
  return (j) => `glassbox.${op}: index ${j} is out of range for ${what} of size ${size} (valid: 0..${size - 1}); ${fix}`;
}

const CHECK_SOURCE = `// check_index_range: flags any index outside [0, size)
struct Params { n: u32, offset: u32, size: u32, site: u32 }
@group(0) @binding(0) var<storage, read> index: array<i32>;
${indexErrorBinding(1)}
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let j = index[p.offset + i];
  if (j < 0 || u32(j) >= p.size) { ${REPORT_BAD_INDEX('j', 'p.site')} }
}
`;

/** Checks a contiguous int32 index tensor against [0, size) on the GPU (raised at the next readback). */
export function checkIndexRange(index: Tensor, size: number, key: string, describe: (index: number) => string): void {
  if (index.size === 0) return;
  if (!index.isContiguous) throw new Error(`glassbox: checkIndexRange needs a contiguous index tensor (internal)`);
  const { buffer, site } = indexCheckSite(key, describe);
  const uniforms = new UniformWriter().u32(index.size).u32(index.offset).u32(size).u32(site).finish();
  dispatch({ name: 'check_index_range', source: CHECK_SOURCE, buffers: [index.storage.buffer, buffer], uniforms, workgroups: grid1d(index.size) });
}

/** Throws the first flagged site's error, if any kernel saw a bad index since the last call (called by readbacks). */
export async function throwIfIndexError(): Promise<void> {
  if (!pending || !errors || errorsOwner !== runtime()) return;
  pending = false;
  const site = new Uint32Array(await readback(errors, 0, 4))[0]!;
  if (site === NONE) return;
  const bad = new Int32Array(await readback(errors, 4 * (1 + site), 4))[0]!;
  upload(errors, new Uint32Array([NONE]), 0, true);
  throw new Error(sites[site]!(bad));
}
