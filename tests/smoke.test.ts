import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';

describe('smoke', () => {
  it('adds, reduces, differentiates', async () => {
    const x = gb.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const y = x.mul(x).sum();
    expect(await y.item()).toBe(91);
    y.backward();
    expect(Array.from(await x.grad!.toArray())).toEqual([2, 4, 6, 8, 10, 12]);
    const m = gb.matmul(x, x.T);
    expect(Array.from(await m.toArray())).toEqual([14, 32, 32, 77]);
    const r = gb.randn([1000]);
    const mean = await r.mean().item();
    expect(Math.abs(mean)).toBeLessThan(0.15);
  });
});
