/** The runtime under load: big and odd sizes, strided views, buffer reuse, no leaks. */
import { afterEach, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { expectClose } from './helpers.ts';

// Every tensor a test makes is disposed after it (ops run in tidy() so their intermediates go too):
// left to the FinalizationRegistry, the big ones (a 2048² matmul, 10^7 elements) would be freed at
// some later GC, in the middle of the memory test.
const made: gb.Tensor[] = [];
const track = <T extends gb.Tensor>(t: T): T => (made.push(t), t);
const compute = (fn: () => gb.Tensor) => track(gb.tidy(fn));
afterEach(() => made.splice(0).forEach((t) => t.dispose()));

function seeded(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + salt * 78.233) * 0.5);
}

describe('runtime', () => {
  it('2048x2048 matmul matches float64 on sampled entries', async () => {
    const n = 2048;
    const a = seeded(n * n, 1);
    const b = seeded(n * n, 2);
    const c = await compute(() => gb.matmul(gb.tensor(a, [n, n]), gb.tensor(b, [n, n]))).toArray();
    for (let s = 0; s < 24; s++) {
      const i = (s * 977) % n;
      const j = (s * 1531 + 7) % n;
      let ref = 0;
      let mag = 0;
      for (let k = 0; k < n; k++) {
        ref += a[i * n + k]! * b[k * n + j]!;
        mag += Math.abs(a[i * n + k]! * b[k * n + j]!);
      }
      expect(Math.abs(c[i * n + j]! - ref)).toBeLessThan(1e-5 * mag + 1e-6);
    }
  });

  it('sums 10^7 elements accurately', async () => {
    const n = 10_000_000;
    const data = seeded(n, 3).map((v) => v + 0.5);
    let ref = 0;
    for (const v of data) ref += v;
    const got = await compute(() => gb.sum(gb.tensor(data, [n]))).item();
    expect(Math.abs(got - ref) / ref).toBeLessThan(1e-5);
  });

  it('takes means in one kernel: a long row split over workgroups (scaled once, in the second pass), and strided axes', async () => {
    const n = 100_003;
    const data = seeded(n, 6);
    let ref = 0;
    for (const v of data) ref += v;
    const before = gb.memory().dispatches;
    const m = compute(() => gb.mean(gb.tensor(data, [n])));
    expect(gb.memory().dispatches - before, 'two passes (the row is split), no division kernel').toBe(2);
    expect(Math.abs((await m.item()) - ref / n)).toBeLessThan(1e-6);
    // mean over dims 0 and 2 of [3, 4, 5], keepdim
    const x = seeded(60, 7);
    const got = await compute(() => gb.mean(gb.tensor(x, [3, 4, 5]), { dim: [0, 2], keepdim: true })).toArray();
    const want = [0, 1, 2, 3].map((j) => {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let k = 0; k < 5; k++) s += x[(i * 4 + j) * 5 + k]!;
      return s / 15;
    });
    expectClose(got, want, { atol: 1e-6, rtol: 1e-6, what: 'mean over dims 0 and 2' });
  });

  it('handles odd and empty sizes', async () => {
    for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [127, 129, 131], [1, 1000, 1]]) {
      const a = seeded(m! * k!, 4);
      const b = seeded(k! * n!, 5);
      const c = await compute(() => gb.matmul(gb.tensor(a, [m!, k!]), gb.tensor(b, [k!, n!]))).toArray();
      let ref = 0;
      for (let kk = 0; kk < k!; kk++) ref += a[(m! - 1) * k! + kk]! * b[kk * n! + n! - 1]!;
      expect(c[m! * n! - 1]).toBeCloseTo(ref, 4);
    }
    const empty = track(gb.zeros([0, 3]));
    expect(empty.size).toBe(0);
    expect(Array.from(await compute(() => gb.add(empty, 1)).toArray())).toEqual([]);
    expect(await compute(() => gb.sum(gb.tensor([7]))).item()).toBe(7);
  });

  it('reads non-contiguous views without copying first', async () => {
    const x = track(gb.tensor(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]));
    const v = compute(() => gb.slice(gb.permute(x, [2, 0, 1]), 0, { start: 1, end: 4, step: 2 })); // [2, 2, 3]
    expect(v.isContiguous).toBe(false);
    expect(Array.from(await compute(() => gb.add(v, 0)).toArray())).toEqual([1, 5, 9, 13, 17, 21, 3, 7, 11, 15, 19, 23]);
    expect(Array.from(await compute(() => gb.sum(v, { dim: 2 })).toArray())).toEqual([15, 51, 21, 57]);
  });

  it('rand/randn are reproducible per seed and have the right moments', async () => {
    gb.manualSeed(123);
    const a = Array.from(await track(gb.randn([100_000])).toArray());
    gb.manualSeed(123);
    const b = Array.from(await track(gb.randn([100_000])).toArray());
    expect(a.slice(0, 50)).toEqual(b.slice(0, 50));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    const u = await track(gb.rand([100_000])).toArray();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
  });

  it('1000 training steps leave memory flat and allocate nothing new after warm-up', async () => {
    gb.manualSeed(0);
    const model = new gb.nn.Sequential(new gb.nn.Linear(16, 32), new gb.nn.ReLU(), new gb.nn.Linear(32, 4));
    const opt = new gb.optim.Adam(model.parameters(), { lr: 1e-2 });
    const x = gb.randn([64, 16]);
    const y = gb.randint(0, 4, [64]);
    const step = () =>
      gb.tidy(() => {
        opt.zeroGrad();
        const loss = gb.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.detach();
      });
    let first = 0;
    for (let i = 0; i < 20; i++) {
      const loss = step();
      await loss.item(); // warm-up includes a readback (staging buffer)
      loss.dispose();
    }
    await gb.sync();
    const warm = gb.memory();
    for (let i = 0; i < 1000; i++) {
      const loss = step();
      if (i === 0) first = await loss.item();
      loss.dispose();
    }
    await gb.sync();
    const after = gb.memory();
    expect(after.bytesInUse).toBe(warm.bytesInUse);
    expect(after.buffersCreated).toBe(warm.buffersCreated);
    const last = await gb.tidy(() => gb.crossEntropy(model.forward(x), y)).item();
    expect(last).toBeLessThan(first * 0.5);
  });
});

describe('bind-group cache', () => {
  // lavapipe gives every bind group a memory mapping, and Linux kills a process at vm.max_map_count
  // (65,530) mappings with a segfault, no error: LeNet-5's PGD training died that way after ~1,300
  // batches, its per-kernel caches holding tens of thousands of groups. The caches together are now
  // bounded (setBindGroupCacheLimit; 16,384 by default).
  it('stays under its limit over all kernels while every dispatch binds new buffers, and the results stay right', async () => {
    gb.setBindGroupCacheLimit(64);
    try {
      const inputs = Array.from({ length: 300 }, (_, i) => track(gb.tensor(seeded(64, i), [64])));
      let peak = 0;
      const sums: gb.Tensor[] = [];
      for (const [i, x] of inputs.entries()) {
        // three kernels a step, each binding buffers no earlier step bound
        sums.push(compute(() => gb.sum(gb.mul(gb.add(x, i), 2))));
        peak = Math.max(peak, gb.memory().bindGroupsCached);
      }
      expect(peak).toBeLessThanOrEqual(64);
      expect(peak).toBeGreaterThan(32); // the cache is used, not switched off
      for (const i of [0, 151, 299]) {
        const want = seeded(64, i).reduce((acc, v) => acc + 2 * (v + i), 0);
        expect(Math.abs((await sums[i]!.item()) - want)).toBeLessThan(1e-6 * Math.abs(want) + 1e-4); // float32 sums
      }
    } finally {
      gb.setBindGroupCacheLimit(16_384);
    }
    expect(() => gb.setBindGroupCacheLimit(0)).toThrow(/positive integer, got 0/);
  });
});
