/**
 * A bound on the number of live GPU buffers.
 *
 * Vulkan drivers that run on the CPU (lavapipe) map every buffer into the process's address
 * space, one mapping each, and Linux caps mappings per process (`vm.max_map_count`, 65,530 by
 * default). Past it an allocation fails inside the driver without a check and the process dies
 * with SIGSEGV. Small tensors share slabs (slab-pool.ts), so buffers only pile up when many large
 * tensors stay alive; before the count reaches the cap, glassbox tries to free some (`reclaim`:
 * submit pending work so deferred releases land, destroy pooled free buffers) and otherwise throws
 * an error that says what to do.
 */

/** Far below 65,530, leaving room for the process's own mappings (heap, code, threads, shaders). */
export const DEFAULT_MAX_BUFFERS = 16_384;

export class BufferBudget {
  /** GPU buffers created and not yet destroyed, across every pool of the device. */
  live = 0;

  constructor(
    public limit: number,
    /** Frees what can be freed without the caller's help; called once before giving up. */
    private readonly reclaim: () => void,
  ) {}

  /** Counts one new buffer, or throws when the limit is reached even after reclaiming. */
  reserve(bytes: number): void {
    if (this.live >= this.limit) this.reclaim();
    if (this.live >= this.limit)
      throw new Error(
        `glassbox: ${this.live} GPU buffers are alive, the limit is ${this.limit} (allocating ${bytes} more bytes). ` +
          'Tensors that are never disposed pile up: wrap each step in tidy(() => ...) or call t.dispose() on tensors you no longer need ' +
          '(awaiting now and then also lets garbage-collected tensors return their memory).',
      );
    this.live++;
  }

  released(): void {
    this.live--;
  }
}
