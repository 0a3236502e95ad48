/**
 * Device loss and allocation failures become glassbox errors; after a loss, init() starts a new
 * device. This file destroys its device, so it keeps to itself (vitest gives each file a worker).
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { checkedCreateBuffer } from '../src/kernels/device-errors.ts';
import { runtime } from '../src/kernels/runtime.ts';

describe('allocation errors', () => {
  it('a tensor larger than the device can bind is refused with its shape and sizes, not a raw WebGPU message', () => {
    const limit = runtime().device.limits.maxStorageBufferBindingSize;
    const n = Math.ceil(limit / 4) + 1;
    expect(() => gb.zeros([n])).toThrow(new RegExp(`^glassbox: a tensor of shape \\[${n}\\] needs \\d+ MiB, more than this device binds at once`));
  });

  it('a buffer over maxBufferSize is refused at once with the sizes', () => {
    const { device } = runtime();
    const bytes = device.limits.maxBufferSize + 1;
    expect(() => checkedCreateBuffer(device, { size: bytes, usage: GPUBufferUsage.STORAGE }, 'a test buffer')).toThrow(
      new RegExp(`^glassbox: a test buffer needs a GPU buffer of ${bytes} bytes .*maxBufferSize of ${bytes - 1} bytes`),
    );
    expect(() => checkedCreateBuffer(device, { size: NaN, usage: GPUBufferUsage.STORAGE }, 'a test buffer')).toThrow(/cannot allocate a GPU buffer of NaN bytes for a test buffer/);
  });

  it('an allocation the device rejects later is reported at the next readback with its size, purpose and op', async () => {
    const { device } = runtime();
    // MAP_READ with STORAGE is invalid: the error scope around the allocation catches it
    const bad = checkedCreateBuffer(device, { size: 64, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE }, 'a test buffer');
    const x = gb.add(gb.tensor([1, 2]), 1); // the op dispatched after the allocation
    await expect(x.toArray()).rejects.toThrow(/allocating 64 bytes \(0\.0 MiB\) for a test buffer \(op '[^']+'\) failed/);
    bad.destroy();
    expect(Array.from(await gb.add(gb.tensor([1, 2]), 1).toArray())).toEqual([2, 3]); // the error was reported once
  });
});

describe('device loss', () => {
  it('ops after a loss throw a named error, dispose() is harmless, init() starts a new device', async () => {
    const old = gb.tensor([1, 2, 3]);
    expect(Array.from(await old.toArray())).toEqual([1, 2, 3]);
    const lost = runtime().device;
    lost.destroy();
    await lost.lost;
    expect(() => gb.add(gb.zeros([2]), 1)).toThrow(/^glassbox: the WebGPU device was lost \(reason: destroyed.*`await init\(\)` starts a new device/);
    expect(() => old.dispose()).not.toThrow(); // nothing to release on a lost device

    await gb.init();
    expect(runtime().device).not.toBe(lost);
    const fresh = gb.add(gb.tensor([1, 2, 3]), 1);
    expect(Array.from(await fresh.toArray())).toEqual([2, 3, 4]);
    expect(Array.from(await gb.matmul(gb.tensor([[1, 2]]), gb.tensor([[3], [4]])).toArray())).toEqual([11]); // kernels compile anew
  });

  it('a tensor from the lost device is refused by name on the new one', async () => {
    const before = gb.tensor([1, 2]);
    const device = runtime().device;
    device.destroy();
    await device.lost;
    await gb.init();
    expect(() => gb.add(before, 1)).toThrow(/made on a WebGPU device that has since been lost/);
    expect(Array.from(await gb.add(gb.tensor([1, 2]), 1).toArray())).toEqual([2, 3]);
  });
});
