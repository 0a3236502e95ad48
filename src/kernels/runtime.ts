/**
 * The one place that owns the device's resources: buffer pools, compiled
 * kernels and the command queue. Everything else asks it to allocate, upload,
 * dispatch and read back.
 */
import { BufferBudget, DEFAULT_MAX_BUFFERS } from './buffer-budget.ts';
import { BufferPool } from './buffer-pool.ts';
import { CommandQueue, DEFAULT_BIND_GROUP_CACHE_LIMIT, type Binding } from './command-queue.ts';
import { noteDispatch } from './device-errors.ts';
import { gpu, initGpu, throwDeviceErrors, type GpuContext, type KernelTarget } from './gpu.ts';
import { waitForGpu } from './gpu-wait.ts';
import { ALIAS_SAFE, bindsWritableAlias, DYNAMIC_OFFSETS, PipelineCache, type Kernel } from './pipelines.ts';
import { TensorBufferPool, type BufferSlice } from './slab-pool.ts';

export interface Runtime {
  ctx: GpuContext;
  device: GPUDevice;
  target: KernelTarget;
  storage: TensorBufferPool;
  uniforms: BufferPool;
  staging: BufferPool;
  pipelines: PipelineCache;
  queue: CommandQueue;
  /** Live GPU buffers of all three pools, bounded (buffer-budget.ts). */
  budget: BufferBudget;
  /** Set when the device is lost: the runtime's buffers are gone and nothing may be recorded on it. */
  lost: boolean;
}

let current: Runtime | undefined;

/** Starts the runtime on the device, or on a new device when the previous one was lost. */
export async function initRuntime(): Promise<Runtime> {
  if (current) return current;
  const ctx = await initGpu();
  if (current) return current;
  const device = ctx.device;
  // frees what can be freed without the user: pending releases land at submit, free buffers are destroyed
  const budget = new BufferBudget(bufferLimit, () => {
    rt.queue.submit();
    rt.storage.trim();
    rt.staging.trim();
  });
  const uniforms = new BufferPool(device, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms', budget);
  const storageUsage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const rt: Runtime = {
    ctx,
    device,
    target: ctx.target,
    storage: new TensorBufferPool(device, storageUsage, budget, device.limits.minStorageBufferOffsetAlignment),
    uniforms,
    staging: new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'staging', budget),
    pipelines: new PipelineCache(device),
    queue: Object.assign(new CommandQueue(device, uniforms), { bindGroupLimit }),
    budget,
    lost: false,
  };
  void device.lost.then(() => {
    rt.lost = true;
    if (current === rt) current = undefined;
  });
  current = rt;
  return rt;
}

let bufferLimit = DEFAULT_MAX_BUFFERS;
/**
 * Sets how many GPU buffers may be alive at once (default DEFAULT_MAX_BUFFERS; small tensors share
 * one buffer per slab). Raise it only where the driver does not map each buffer (a real GPU) or
 * `vm.max_map_count` was raised; tests lower it.
 */
export function setBufferLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`glassbox.setBufferLimit: the limit must be a positive integer, got ${limit}`);
  bufferLimit = limit;
  if (current) current.budget.limit = limit;
}

let bindGroupLimit = DEFAULT_BIND_GROUP_CACHE_LIMIT;
/**
 * Sets how many bind groups the command queue caches over all kernels before it empties its caches
 * (default DEFAULT_BIND_GROUP_CACHE_LIMIT). On lavapipe each holds a memory mapping, so this bound
 * and the buffer limit together keep a process under `vm.max_map_count`; tests lower it.
 */
export function setBindGroupCacheLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`glassbox.setBindGroupCacheLimit: the limit must be a positive integer, got ${limit}`);
  bindGroupLimit = limit;
  if (current) current.queue.bindGroupLimit = limit;
}

export function runtime(): Runtime {
  if (!current) {
    gpu(); // throws the "not initialised" error
    throw new Error('glassbox: runtime not initialised');
  }
  return current;
}

/** Kernel variants to prefer on this adapter; overridable for benchmarks and tests. */
export function kernelTarget(): KernelTarget {
  return targetOverride ?? runtime().target;
}
let targetOverride: KernelTarget | undefined;
export function setKernelTarget(t: KernelTarget | undefined): void {
  targetOverride = t;
}

/** The subgroup size kernels may rely on (undefined: no subgroup operations); benchmarks and tests can switch it off. */
export function kernelSubgroupSize(): number | undefined {
  return subgroupsOff ? undefined : runtime().ctx.subgroupSize;
}
let subgroupsOff = false;
export function setSubgroupsEnabled(enabled: boolean): void {
  subgroupsOff = !enabled;
}

export interface DispatchArgs {
  name: string;
  source: string;
  entryPoint?: string;
  /** Tensors' storage slices (Storage.buffer) or whole buffers, in binding order. */
  buffers: Binding[];
  uniforms?: ArrayBuffer;
  workgroups: readonly [number, number, number];
}

export function dispatch(a: DispatchArgs): void {
  const rt = runtime();
  for (const b of a.buffers) if ((b as BufferSlice).pool !== undefined && (b as BufferSlice).pool !== rt.storage) throwForeignBuffer(a.name);
  let variant = rt.queue.prefersDynamicOffsets && a.buffers.some((b) => (b as BufferSlice).slab !== undefined) ? DYNAMIC_OFFSETS : 0;
  let kernel = rt.pipelines.get(a.name, a.source, a.entryPoint, variant);
  let buffers = a.buffers;
  let scratch: BufferSlice[] | undefined;
  if (bindsWritableAlias(kernel, buffers)) {
    ({ buffers, scratch } = separateOverlappingInputs(rt, kernel, buffers));
    kernel = rt.pipelines.get(a.name, a.source, a.entryPoint, (variant |= ALIAS_SAFE));
  }
  noteDispatch(a.name);
  rt.queue.dispatch(kernel, buffers, a.uniforms, a.workgroups);
  if (scratch) for (const s of scratch) rt.queue.afterSubmit(() => rt.storage.release(s));
}

const rangeOf = (b: Binding) => ('buffer' in b ? b : { buffer: b, offset: 0, size: b.size });
function overlap(a: Binding, b: Binding): boolean {
  const x = rangeOf(a);
  const y = rangeOf(b);
  return x.buffer === y.buffer && x.offset < y.offset + y.size && y.offset < x.offset + x.size;
}

/**
 * The alias-safe variant declares every storage binding writable, and WebGPU refuses two writable
 * bindings of overlapping ranges: an input bound twice (as in mul(x, x)) gets a copy of its own
 * for its second binding. Recorded before the dispatch; the copies go back after its submit.
 */
function separateOverlappingInputs(rt: Runtime, declared: Kernel, buffers: Binding[]): { buffers: Binding[]; scratch?: BufferSlice[] } {
  let out = buffers;
  const scratch: BufferSlice[] = [];
  for (let j = 1; j < buffers.length; j++) {
    if (declared.storage[j]!.kind !== 'read') continue;
    const input = buffers[j]!;
    if (!buffers.slice(0, j).some((b) => overlap(b, input))) continue;
    const { buffer, offset, size } = rangeOf(input);
    const copy = rt.storage.acquireOwnBuffer(size);
    rt.queue.copy(buffer, offset, copy.buffer, 0, size);
    if (out === buffers) out = buffers.slice();
    out[j] = copy;
    scratch.push(copy);
  }
  return scratch.length ? { buffers: out, scratch } : { buffers };
}

function throwForeignBuffer(kernel: string): never {
  throw new Error(
    `glassbox: '${kernel}' was given a tensor made on a WebGPU device that has since been lost; ` +
      'tensors do not survive a device loss: create them again after `await init()`.',
  );
}

/**
 * Writes `data` into `slice` at `byteOffset`. Queue writes run before work still sitting in the
 * open encoder, so a buffer that recorded work may touch is written only after submitting it.
 */
export function upload(slice: Binding, data: ArrayBufferView, byteOffset = 0, mayBeInFlight = false): void {
  const rt = runtime();
  if (mayBeInFlight) rt.queue.submit();
  const { buffer, offset } = asSlice(slice);
  rt.device.queue.writeBuffer(buffer, offset + byteOffset, data.buffer, data.byteOffset, data.byteLength);
}

const asSlice = (b: Binding): { buffer: GPUBuffer; offset: number } => ('buffer' in b ? b : { buffer: b, offset: 0 });

/** On a CPU adapter, a main thread spinning while it waits takes a core from the adapter (gpu-wait.ts). */
const politeWaits = (rt: Runtime) => rt.ctx.target === 'cpu-simd';

/** Submits all recorded work and copies `bytes` of `buffer` back to the CPU. */
export async function readback(slice: Binding, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
  const rt = runtime();
  const size = Math.ceil(bytes / 4) * 4;
  const staging = rt.staging.acquire(size);
  const { buffer, offset } = asSlice(slice);
  rt.queue.copy(buffer, offset + byteOffset, staging, 0, size);
  rt.queue.submit();
  try {
    await waitForGpu(() => staging.mapAsync(GPUMapMode.READ, 0, size), politeWaits(rt));
  } catch (e) {
    if (rt.lost) gpu(); // throws the "device was lost" error
    throwDeviceErrors('readback');
    throw e;
  }
  const out = staging.getMappedRange(0, size).slice(0, bytes);
  staging.unmap();
  rt.staging.release(staging);
  throwDeviceErrors('readback');
  return out;
}

/** Waits until the GPU has finished everything submitted so far (benchmarks use this). */
export async function sync(): Promise<void> {
  const rt = runtime();
  rt.queue.submit();
  await waitForGpu(() => rt.device.queue.onSubmittedWorkDone(), politeWaits(rt));
  if (rt.lost) gpu(); // throws the "device was lost" error
  throwDeviceErrors('sync');
}

export interface MemoryReport {
  /** Bytes in tensor buffers that live tensors (or pending work) use. */
  bytesInUse: number;
  /** Bytes in all tensor buffers the pool holds, in use or free for reuse. */
  bytesHeld: number;
  buffersCreated: number;
  /** GPU buffers alive now (tensor slabs and large tensors, uniforms, staging) and the limit on them (setBufferLimit). */
  buffersAlive: number;
  bufferLimit: number;
  kernelsCompiled: number;
  /** Bind groups the command queue caches (on lavapipe each holds a memory mapping of the process). */
  bindGroupsCached: number;
  dispatches: number;
  submits: number;
}

export function memory(): MemoryReport {
  const rt = runtime();
  return {
    bytesInUse: rt.storage.bytesInUse,
    bytesHeld: rt.storage.bytesHeld + rt.uniforms.bytesHeld + rt.staging.bytesHeld,
    buffersCreated: rt.storage.buffersCreated + rt.uniforms.buffersCreated + rt.staging.buffersCreated,
    buffersAlive: rt.budget.live,
    bufferLimit: rt.budget.limit,
    kernelsCompiled: rt.pipelines.compiled,
    bindGroupsCached: rt.queue.stats.bindGroupsCached,
    dispatches: rt.queue.stats.dispatches,
    submits: rt.queue.stats.submits,
  };
}
