/**
 * Reuses GPU buffers so that a training step allocates nothing new after the first.
 *
 * Buffers are grouped into size classes: powers of two split into four steps
 * (1, 1.25, 1.5, 1.75 x 2^k), so a request wastes at most 25% and a class is
 * shared by many nearby sizes. Released buffers go to the free list of their
 * class; `trim()` destroys the free ones. Every buffer created counts against
 * the device's BufferBudget.
 */
import type { BufferBudget } from './buffer-budget.ts';
import { checkedCreateBuffer } from './device-errors.ts';

const MIN_BYTES = 16;

export function sizeClass(bytes: number): number {
  const n = Math.max(MIN_BYTES, Math.ceil(bytes / 16) * 16);
  const pow = 2 ** Math.floor(Math.log2(n));
  if (pow < 64) return pow === n ? n : pow * 2;
  const step = pow / 4;
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Bytes in buffers handed out and not yet released. */
  bytesInUse = 0;
  /** Bytes in all buffers this pool created and has not destroyed (in use + free). */
  bytesHeld = 0;
  buffersCreated = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly label: string,
    private readonly budget: BufferBudget,
  ) {}

  /** A buffer of at least `bytes` (its size class), reused when one is free; `what` names it in allocation errors. */
  acquire(bytes: number, what?: () => string): GPUBuffer {
    const size = sizeClass(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused) {
      this.bytesInUse += size;
      return reused;
    }
    this.budget.reserve(size);
    let buffer: GPUBuffer;
    try {
      buffer = checkedCreateBuffer(this.device, { size, usage: this.usage, label: this.label }, what?.() ?? `a ${this.label} buffer`);
    } catch (e) {
      this.budget.released();
      throw e;
    }
    this.bytesInUse += size;
    this.bytesHeld += size;
    this.buffersCreated++;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    this.bytesInUse -= buffer.size;
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    list.push(buffer);
  }

  /** Destroys every free buffer (memory held but not in use goes back to the system). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.bytesHeld -= b.size;
        this.budget.released();
        b.destroy();
      }
    }
    this.free.clear();
  }
}
