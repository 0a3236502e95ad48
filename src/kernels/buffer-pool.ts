/**
 * Reuses GPU buffers so that a training step allocates nothing new after the first.
 *
 * Buffers are grouped into size classes: powers of two split into four steps
 * (1, 1.25, 1.5, 1.75 x 2^k), so a request wastes at most 25% and a class is
 * shared by many nearby sizes. Released buffers go to the free list of their
 * class; `trim()` destroys the free ones.
 */

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
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    this.bytesInUse += size;
    if (reused) return reused;
    this.bytesHeld += size;
    this.buffersCreated++;
    return this.device.createBuffer({ size, usage: this.usage, label: this.label });
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
        b.destroy();
      }
    }
    this.free.clear();
  }
}
