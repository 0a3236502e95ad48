/**
 * Records dispatches into one command encoder and submits them together.
 *
 * Dawn on lavapipe costs ~20 us per dispatch inside one compute pass but
 * ~180 us when each submit is awaited (shared/ENVIRONMENT.md), so glassbox
 * never waits for the GPU except on an explicit readback. Dispatches share
 * one compute pass until a copy needs the encoder; the encoder is submitted
 * after `maxDispatches` dispatches (so the GPU starts while JavaScript keeps
 * recording) or before a readback.
 *
 * Each dispatch's uniforms (shapes, strides, sizes) are appended to one
 * CPU-side arena, uploaded with a single writeBuffer just before submit, and
 * bound at a 256-byte-aligned offset.
 *
 * Buffers released while the encoder is open may still be read by recorded
 * work, and a writeBuffer to them would run before that work (queue writes run
 * at submit order, recorded commands later), so they return to the pool only
 * after the submit. Those deferred releases are bounded (MAX_PENDING_RELEASES): past it the
 * encoder is submitted early, so a loop that frees without dispatching cannot pile them up.
 */
import type { BufferPool } from './buffer-pool.ts';
import type { Kernel } from './pipelines.ts';
import type { BufferSlice } from './slab-pool.ts';

/** What a kernel binds: a tensor's slice of a (possibly shared) buffer, or a whole buffer. */
export type Binding = BufferSlice | GPUBuffer;

export const gpuBufferOf = (b: Binding): GPUBuffer => ('buffer' in b ? b.buffer : b);

/**
 * The bind-group resource for a binding: a slice binds its own range only. With dynamic offsets
 * the range starts at 0 and the slice's offset is given at setBindGroup (storageOffsets), so every
 * block of a slab (all of one size) shares the bind group.
 */
export function bindingResource(b: Binding, dynamic: boolean): GPUBufferBinding {
  if (!('buffer' in b)) return { buffer: b };
  return { buffer: b.buffer, offset: dynamic ? 0 : b.offset, size: b.size };
}

/** The dynamic offsets of a kernel's storage bindings, written into `into` (binding order). */
export function storageOffsets(buffers: readonly Binding[], into: Uint32Array): number {
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i]!;
    into[i] = 'buffer' in b ? b.offset : 0;
  }
  return buffers.length;
}

const UNIFORM_ALIGN = 256;
const MAX_CACHED_BIND_GROUPS = 4096;
/**
 * Bind groups cached over all kernels. On lavapipe every bind group holds a memory mapping of the
 * process until it is dropped and collected, and Linux stops a process at vm.max_map_count
 * mappings (65,530 by default) with a segfault, no error. A loop whose dispatches do not recur
 * step after step (PGD training, whose bind groups kept changing from batch to batch) filled the
 * per-kernel caches to ~55 new groups a batch and crashed LeNet-5's PGD training after ~1,300
 * batches; this bound keeps the caches far below the limit, whatever the loop.
 */
export const DEFAULT_BIND_GROUP_CACHE_LIMIT = 16_384;
const MAX_PENDING_RELEASES = 4096;
const MAX_STATIC_SLAB_GROUPS = 8192;

const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 0;
function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

export interface QueueStats {
  dispatches: number;
  submits: number;
  copies: number;
  /** Bind groups held in the per-kernel caches now (each one a mapping on lavapipe: see bindGroupFor). */
  bindGroupsCached: number;
}

export class CommandQueue {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private arena: ArrayBuffer;
  private arenaBytes: Uint8Array;
  private arenaUsed = 0;
  private arenaBuffer: GPUBuffer | undefined;
  private dispatchesInEncoder = 0;
  private readonly dynamicOffsets = new Uint32Array(32);
  private staticSlabGroups = 0;
  /** Bind groups per kernel, keyed by what they bind (bindGroupFor). */
  private readonly bindGroups = new Map<Kernel, Map<string, GPUBindGroup>>();
  /** Bind groups cached over all kernels before every cache is emptied (setBindGroupCacheLimit). */
  bindGroupLimit = DEFAULT_BIND_GROUP_CACHE_LIMIT;
  private readonly releaseAfterSubmit: Array<() => void> = [];
  readonly stats: QueueStats = { dispatches: 0, submits: 0, copies: 0, bindGroupsCached: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly uniformPool: BufferPool,
    readonly maxDispatches = 64,
  ) {
    this.arena = new ArrayBuffer(maxDispatches * UNIFORM_ALIGN);
    this.arenaBytes = new Uint8Array(this.arena);
  }

  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder();
      this.arenaBuffer = this.uniformPool.acquire(this.arena.byteLength);
      this.arenaUsed = 0;
      this.dispatchesInEncoder = 0;
    }
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  dispatch(kernel: Kernel, buffers: Binding[], uniforms: ArrayBuffer | undefined, workgroups: readonly [number, number, number]): void {
    if (buffers.length !== kernel.storage.length) {
      const want = kernel.storage.map((b) => `${b.binding}:${b.name} (${b.kind})`).join(', ');
      throw new Error(`glassbox: kernel '${kernel.name}' declares ${kernel.storage.length} storage bindings [${want}] but the dispatch passed ${buffers.length} buffers`);
    }
    if (kernel.uniform && (!uniforms || uniforms.byteLength < kernel.uniform.size)) {
      throw new Error(`glassbox: kernel '${kernel.name}' declares uniform '${kernel.uniform.name}' of ${kernel.uniform.size} bytes but the dispatch passed ${uniforms?.byteLength ?? 0}`);
    }
    if (!kernel.uniform && uniforms) throw new Error(`glassbox: kernel '${kernel.name}' declares no uniform but the dispatch passed one`);
    if (uniforms && uniforms.byteLength > UNIFORM_ALIGN) throw new Error(`glassbox: kernel '${kernel.name}' uniforms exceed ${UNIFORM_ALIGN} bytes`);
    const [x, y, z] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    if (x > 65535 || y > 65535 || z > 65535) throw new Error(`glassbox: kernel '${kernel.name}' needs ${x}x${y}x${z} workgroups; at most 65535 per dimension`);

    const encoder = this.ensureEncoder();
    const offset = this.arenaUsed;
    if (kernel.uniform && uniforms) {
      this.arenaBytes.set(new Uint8Array(uniforms, 0, Math.min(uniforms.byteLength, UNIFORM_ALIGN)), offset);
      this.arenaUsed += UNIFORM_ALIGN;
    }
    const bindGroup = this.bindGroupFor(kernel, buffers, offset);
    const pass = (this.pass ??= encoder.beginComputePass());
    pass.setPipeline(kernel.pipeline);
    if (kernel.dynamicStorage) pass.setBindGroup(0, bindGroup, this.dynamicOffsets, 0, storageOffsets(buffers, this.dynamicOffsets));
    else pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (++this.dispatchesInEncoder >= this.maxDispatches) this.submit();
  }

  /**
   * Whether dispatches binding slab blocks should use kernels with dynamic storage offsets.
   *
   * Bind groups are cached per kernel by the buffers and offsets they bind (below), and lavapipe
   * maps each bind group's descriptor set into memory like a buffer; Dawn frees the ones dropped
   * from the cache only once the event loop runs and a GPU wait is pending. A synchronous loop on
   * tensors nobody disposes puts every result in a fresh slab block, so it would make one bind
   * group per dispatch up to the process's mapping limit. With dynamic offsets a bind group
   * depends on the buffers alone (one per slab), but on lavapipe a dynamic-offset dispatch costs
   * more (measured: 20,000 small adds ~1.6 s static, ~2.4 s dynamic), so the switch happens only
   * after MAX_STATIC_SLAB_GROUPS static bind groups that bind slab blocks: never in a training
   * loop, whose blocks recur every step and hit the cache.
   */
  get prefersDynamicOffsets(): boolean {
    return this.staticSlabGroups >= MAX_STATIC_SLAB_GROUPS;
  }

  /**
   * Bind groups are cached per kernel by the buffers they bind (and the uniform slot): pooled
   * buffers and arenas are reused in the same order every training step, so after the first
   * step creating bind groups, a large part of the per-dispatch cost, is skipped. (A dynamic
   * offset for the uniform would make fewer groups, but measured on lavapipe it made a LeNet-5
   * training step ~35% slower: 26-32 against 46-52 steps/s, alternating runs on one machine.)
   */
  private bindGroupFor(kernel: Kernel, buffers: Binding[], uniformOffset: number): GPUBindGroup {
    let key = kernel.uniform ? `${bufferId(this.arenaBuffer!)}@${uniformOffset}` : '';
    if (kernel.dynamicStorage) for (const b of buffers) key += `,${bufferId(gpuBufferOf(b))}`;
    else for (const b of buffers) key += 'buffer' in b ? `,${bufferId(b.buffer)}+${b.offset}` : `,${bufferId(b)}`;
    let cache = this.bindGroups.get(kernel);
    if (!cache) this.bindGroups.set(kernel, (cache = new Map()));
    const hit = cache.get(key);
    if (hit) return hit;
    const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({ binding: kernel.storage[i]!.binding, resource: bindingResource(b, kernel.dynamicStorage) }));
    if (kernel.uniform) entries.push({ binding: kernel.uniform.binding, resource: { buffer: this.arenaBuffer!, offset: uniformOffset, size: kernel.uniform.size } });
    const group = this.device.createBindGroup({ layout: kernel.layout, entries });
    if (!kernel.dynamicStorage && buffers.some((b) => 'slab' in b && b.slab)) this.staticSlabGroups++;
    if (this.stats.bindGroupsCached >= this.bindGroupLimit) {
      for (const c of this.bindGroups.values()) c.clear();
      this.stats.bindGroupsCached = 0;
    } else if (cache.size >= MAX_CACHED_BIND_GROUPS) {
      this.stats.bindGroupsCached -= cache.size;
      cache.clear();
    }
    cache.set(key, group);
    this.stats.bindGroupsCached++;
    return group;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    const encoder = this.ensureEncoder();
    this.endPass();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.stats.copies++;
  }

  /** Runs `release` once everything recorded so far has been submitted. */
  afterSubmit(release: () => void): void {
    if (!this.encoder) return release();
    this.releaseAfterSubmit.push(release);
    if (this.releaseAfterSubmit.length >= MAX_PENDING_RELEASES) this.submit();
  }

  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaBuffer!, 0, this.arena, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.stats.submits++;
    this.uniformPool.release(this.arenaBuffer!);
    this.encoder = undefined;
    this.arenaBuffer = undefined;
    for (const release of this.releaseAfterSubmit.splice(0)) release();
  }
}
