/**
 * The one place that owns the device's resources: buffer pools, compiled
 * kernels and the command queue. Everything else asks it to allocate, upload,
 * dispatch and read back.
 */
import { BufferPool } from './buffer-pool.ts';
import { CommandQueue } from './command-queue.ts';
import { gpu, initGpu, throwDeviceErrors, type GpuContext, type KernelTarget } from './gpu.ts';
import { waitForGpu } from './gpu-wait.ts';
import { PipelineCache } from './pipelines.ts';

export interface Runtime {
  ctx: GpuContext;
  device: GPUDevice;
  target: KernelTarget;
  storage: BufferPool;
  uniforms: BufferPool;
  staging: BufferPool;
  pipelines: PipelineCache;
  queue: CommandQueue;
}

let current: Runtime | undefined;

export async function initRuntime(): Promise<Runtime> {
  if (current) return current;
  const ctx = await initGpu();
  const device = ctx.device;
  const uniforms = new BufferPool(device, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms');
  current ??= {
    ctx,
    device,
    target: ctx.target,
    storage: new BufferPool(device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'tensor'),
    uniforms,
    staging: new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'staging'),
    pipelines: new PipelineCache(device),
    queue: new CommandQueue(device, uniforms),
  };
  return current;
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
  buffers: GPUBuffer[];
  uniforms?: ArrayBuffer;
  workgroups: readonly [number, number, number];
}

export function dispatch(a: DispatchArgs): void {
  const rt = runtime();
  const kernel = rt.pipelines.get(a.name, a.source, a.entryPoint);
  rt.queue.dispatch(kernel, a.buffers, a.uniforms, a.workgroups);
}

/**
 * Writes `data` into `buffer` at `byteOffset`. Queue writes run before work still sitting in the
 * open encoder, so a buffer that recorded work may touch is written only after submitting it.
 */
export function upload(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0, mayBeInFlight = false): void {
  const rt = runtime();
  if (mayBeInFlight) rt.queue.submit();
  rt.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
}

/** On a CPU adapter, a main thread spinning while it waits takes a core from the adapter (gpu-wait.ts). */
const politeWaits = (rt: Runtime) => rt.ctx.target === 'cpu-simd';

/** Submits all recorded work and copies `bytes` of `buffer` back to the CPU. */
export async function readback(buffer: GPUBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
  const rt = runtime();
  const size = Math.ceil(bytes / 4) * 4;
  const staging = rt.staging.acquire(size);
  rt.queue.copy(buffer, byteOffset, staging, 0, size);
  rt.queue.submit();
  try {
    await waitForGpu(() => staging.mapAsync(GPUMapMode.READ, 0, size), politeWaits(rt));
  } catch (e) {
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
  throwDeviceErrors('sync');
}

export interface MemoryReport {
  /** Bytes in tensor buffers that live tensors (or pending work) use. */
  bytesInUse: number;
  /** Bytes in all tensor buffers the pool holds, in use or free for reuse. */
  bytesHeld: number;
  buffersCreated: number;
  kernelsCompiled: number;
  dispatches: number;
  submits: number;
}

export function memory(): MemoryReport {
  const rt = runtime();
  return {
    bytesInUse: rt.storage.bytesInUse,
    bytesHeld: rt.storage.bytesHeld + rt.uniforms.bytesHeld + rt.staging.bytesHeld,
    buffersCreated: rt.storage.buffersCreated + rt.uniforms.buffersCreated + rt.staging.buffersCreated,
    kernelsCompiled: rt.pipelines.compiled,
    dispatches: rt.queue.stats.dispatches,
    submits: rt.queue.stats.submits,
  };
}
