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
 * after the submit.
 */
import type { BufferPool } from './buffer-pool.ts';
import type { Kernel } from './pipelines.ts';

const UNIFORM_ALIGN = 256;
const MAX_CACHED_BIND_GROUPS = 4096;

const bindGroups = new WeakMap<Kernel, Map<string, GPUBindGroup>>();
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
}

export class CommandQueue {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private arena: ArrayBuffer;
  private arenaBytes: Uint8Array;
  private arenaUsed = 0;
  private arenaBuffer: GPUBuffer | undefined;
  private dispatchesInEncoder = 0;
  private readonly releaseAfterSubmit: Array<() => void> = [];
  readonly stats: QueueStats = { dispatches: 0, submits: 0, copies: 0 };

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

  dispatch(kernel: Kernel, buffers: GPUBuffer[], uniforms: ArrayBuffer | undefined, workgroups: readonly [number, number, number]): void {
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
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (++this.dispatchesInEncoder >= this.maxDispatches) this.submit();
  }

  /**
   * Bind groups are cached per kernel by the buffers they bind (and the uniform slot): pooled
   * buffers and arenas are reused in the same order every training step, so after the first
   * step creating bind groups, a large part of the per-dispatch cost, is skipped.
   */
  private bindGroupFor(kernel: Kernel, buffers: GPUBuffer[], uniformOffset: number): GPUBindGroup {
    let key = kernel.uniform ? `${bufferId(this.arenaBuffer!)}@${uniformOffset}` : '';
    for (const b of buffers) key += `,${bufferId(b)}`;
    let cache = bindGroups.get(kernel);
    if (!cache) bindGroups.set(kernel, (cache = new Map()));
    const hit = cache.get(key);
    if (hit) return hit;
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: kernel.storage[i]!.binding, resource: { buffer } }));
    if (kernel.uniform) entries.push({ binding: kernel.uniform.binding, resource: { buffer: this.arenaBuffer!, offset: uniformOffset, size: kernel.uniform.size } });
    const group = this.device.createBindGroup({ layout: kernel.layout, entries });
    if (cache.size >= MAX_CACHED_BIND_GROUPS) cache.clear();
    cache.set(key, group);
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
    if (this.encoder) this.releaseAfterSubmit.push(release);
    else release();
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
