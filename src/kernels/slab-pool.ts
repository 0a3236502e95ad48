/**
 * Memory for tensors: small ones are carved out of shared slabs, large ones get a pooled buffer each.
 *
 * A CPU Vulkan driver (lavapipe) maps every GPU buffer into the process, and Linux allows about
 * 65,000 mappings, so one buffer per tensor crashed the process at ~65,000 live tensors (see
 * buffer-budget.ts). Here a request of at most MAX_SLAB_BLOCK bytes takes a block of its size class
 * from a SLAB_BYTES buffer shared with other tensors of that class; kernels bind the block with a
 * buffer offset, so they see it exactly as they saw a buffer of their own. Block sizes are rounded
 * up to the adapter's minStorageBufferOffsetAlignment so that every block's offset may be bound.
 * Larger requests use BufferPool (one buffer per tensor, reused by size class).
 */
import type { BufferBudget } from './buffer-budget.ts';
import { BufferPool, sizeClass } from './buffer-pool.ts';
import { checkedCreateBuffer } from './device-errors.ts';

/** A byte range of a GPU buffer that holds one tensor's storage; binds as a GPUBufferBinding. */
export interface BufferSlice {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
  /** The pool that handed it out, so a tensor of a lost device is recognised (runtime.ts dispatch). */
  readonly pool: TensorBufferPool;
  /** The slab the block belongs to (undefined: the slice is a whole buffer of its own). */
  readonly slab?: Slab;
}

interface Slab {
  buffer: GPUBuffer;
  blocksInUse: number;
}

const SLAB_BYTES = 1 << 20;
const MAX_SLAB_BLOCK = 64 << 10;

export class TensorBufferPool {
  private readonly large: BufferPool;
  private readonly freeBlocks = new Map<number, BufferSlice[]>();
  private readonly slabs = new Set<Slab>();
  private slabBytes = 0;
  private blockBytesInUse = 0;
  private slabsCreated = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly budget: BufferBudget,
    private readonly alignment: number,
  ) {
    this.large = new BufferPool(device, usage, 'tensor', budget);
  }

  get bytesInUse(): number {
    return this.blockBytesInUse + this.large.bytesInUse;
  }

  get bytesHeld(): number {
    return this.slabBytes + this.large.bytesHeld;
  }

  get buffersCreated(): number {
    return this.slabsCreated + this.large.buffersCreated;
  }

  /** A slice of at least `bytes`; `what` (e.g. "a tensor of shape [2, 3]") names it in allocation errors. */
  acquire(bytes: number, what?: () => string): BufferSlice {
    const block = Math.ceil(sizeClass(bytes) / this.alignment) * this.alignment;
    if (block > MAX_SLAB_BLOCK) {
      const buffer = this.large.acquire(bytes, what);
      return { buffer, offset: 0, size: buffer.size, pool: this };
    }
    let free = this.freeBlocks.get(block);
    if (!free) this.freeBlocks.set(block, (free = []));
    if (free.length === 0) this.carveSlab(block, free, what);
    const slice = free.pop()!;
    slice.slab!.blocksInUse++;
    this.blockBytesInUse += block;
    return slice;
  }

  /** A slice that is a whole buffer of its own, whatever its size (a scratch copy that must not share a slab). */
  acquireOwnBuffer(bytes: number): BufferSlice {
    const buffer = this.large.acquire(bytes);
    return { buffer, offset: 0, size: buffer.size, pool: this };
  }

  release(slice: BufferSlice): void {
    if (!slice.slab) return this.large.release(slice.buffer);
    slice.slab.blocksInUse--;
    this.blockBytesInUse -= slice.size;
    this.freeBlocks.get(slice.size)!.push(slice);
  }

  /** Destroys free large buffers and slabs with no block in use. */
  trim(): void {
    this.large.trim();
    for (const [block, free] of this.freeBlocks) {
      const kept = free.filter((s) => s.slab!.blocksInUse > 0);
      if (kept.length !== free.length) this.freeBlocks.set(block, kept);
    }
    for (const slab of this.slabs) {
      if (slab.blocksInUse > 0) continue;
      this.slabs.delete(slab);
      this.slabBytes -= slab.buffer.size;
      this.budget.released();
      slab.buffer.destroy();
    }
  }

  private carveSlab(block: number, free: BufferSlice[], what: (() => string) | undefined): void {
    this.budget.reserve(SLAB_BYTES);
    let buffer: GPUBuffer;
    try {
      buffer = checkedCreateBuffer(this.device, { size: SLAB_BYTES, usage: this.usage, label: `tensor slab (${block}-byte blocks)` }, what?.() ?? 'a tensor');
    } catch (e) {
      this.budget.released();
      throw e;
    }
    const slab: Slab = { buffer, blocksInUse: 0 };
    this.slabs.add(slab);
    this.slabBytes += SLAB_BYTES;
    this.slabsCreated++;
    // pushed from the end so that blocks are handed out in address order
    for (let offset = SLAB_BYTES - block; offset >= 0; offset -= block) free.push({ buffer, offset, size: block, pool: this, slab });
  }
}
