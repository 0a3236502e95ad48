/**
 * Waiting for the GPU without spinning (src/kernels/gpu-wait.ts): while a glassbox wait is
 * pending, Dawn's polling callback is delayed to a 1 ms timer; nothing else changes, and the
 * original setImmediate is back once no wait is pending.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { waitForGpu } from '../src/kernels/gpu-wait.ts';

// Function.prototype is what Dawn's callback looks like from JavaScript: native, no name, no parameters
const dawnLike = Function.prototype as () => void;
const kind = (handle: unknown) => (handle as object).constructor.name;

describe('waiting for the GPU', () => {
  it('turns only Dawn-like callbacks into timers, only while a wait is pending', async () => {
    const original = globalThis.setImmediate;
    const kinds: string[] = [];
    let jsCallbackRan = false;
    await waitForGpu(async () => {
      expect(globalThis.setImmediate).not.toBe(original);
      kinds.push(kind(setImmediate(dawnLike)));
      kinds.push(kind(setImmediate(() => (jsCallbackRan = true))));
      await new Promise((resolve) => kinds.push(kind(setImmediate(resolve)))); // a resolve function takes one parameter
    }, true);
    expect(kinds).toEqual(['Timeout', 'Immediate', 'Immediate']);
    expect(jsCallbackRan).toBe(true);
    expect(globalThis.setImmediate).toBe(original);
    expect(kind(setImmediate(dawnLike))).toBe('Immediate');
  });

  it('restores setImmediate only when the last of overlapping waits ends, and after a failure', async () => {
    const original = globalThis.setImmediate;
    let release!: () => void;
    const long = waitForGpu(() => new Promise<void>((r) => (release = r)), true);
    await expect(waitForGpu(() => Promise.reject(new Error('mapAsync failed')), true)).rejects.toThrow('mapAsync failed');
    expect(globalThis.setImmediate).not.toBe(original); // the first wait is still pending
    release();
    await long;
    expect(globalThis.setImmediate).toBe(original);
  });

  it('changes nothing when not asked to (a real GPU adapter)', async () => {
    const original = globalThis.setImmediate;
    await waitForGpu(async () => expect(globalThis.setImmediate).toBe(original), false);
  });

  it('readbacks and sync still complete through it', async () => {
    const x = gb.tensor(Float32Array.from({ length: 1 << 16 }, (_, i) => i));
    const y = gb.mul(x, 2);
    await gb.sync();
    expect((await y.toArray())[12345]).toBe(24690);
    [x, y].forEach((t) => t.dispose());
  });
});
