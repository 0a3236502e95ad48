/**
 * Bad sizes, options and indices give errors that name the op and the value, never a silent
 * wrong answer: shapes are checked where they enter (src/tensor/shape.ts checkShape), reductions
 * over expanded views of 2^32 or more elements are computed right (or refused), and indices are
 * checked on the GPU, the error raised at the next readback (src/autograd/index-check.ts).
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';

const read = async (t: gb.Tensor) => Array.from(await t.toArray());
const int = (data: number[], shape?: number[]) => gb.tensor(data, shape ?? [data.length], { dtype: 'int32' });

describe('shapes', () => {
  it('negative, fractional and NaN sizes are refused by name, and memory() stays a number', () => {
    expect(() => gb.zeros([-2, -3])).toThrow(/glassbox\.zeros: size -2 at dimension 0 of shape \[-2, -3\] is not a non-negative integer/);
    expect(() => gb.ones([2, 1.5])).toThrow(/glassbox\.ones: size 1\.5 at dimension 1/);
    expect(() => gb.zeros([NaN])).toThrow(/glassbox\.zeros: size NaN/);
    expect(() => gb.randn([4, -1])).toThrow(/glassbox\.randn: size -1/);
    expect(() => gb.randint(0, 3, [Infinity])).toThrow(/glassbox\.randint: size Infinity/);
    expect(() => gb.tensor([1, 2], [-1, -2])).toThrow(/glassbox\.tensor: size -1/);
    expect(() => gb.expand(gb.ones([1]), [NaN])).toThrow(/glassbox\.expand: size NaN/);
    expect(() => gb.eye(-3)).toThrow(/glassbox\.eye: size -3/);
    expect(() => gb.linspace(0, 1, 2.5)).toThrow(/glassbox\.linspace: size 2\.5/);
    expect(() => gb.zeros([2 ** 30, 2 ** 30])).toThrow(/glassbox\.zeros: shape \[1073741824, 1073741824\] has \d+ elements, too many to count exactly/);
    for (const v of Object.values(gb.memory())) expect(Number.isFinite(v)).toBe(true);
  });
});

describe('option values', () => {
  it('randint needs low < high, integers; arange, uniform and normal need finite numbers', () => {
    expect(() => gb.randint(5, 2, [3])).toThrow(/glassbox\.randint: low \(5\) must be less than high \(2\)/);
    expect(() => gb.randint(0, 2.5, [3])).toThrow(/glassbox\.randint: high must be a finite integer, got 2\.5/);
    expect(() => gb.arange(0, NaN)).toThrow(/glassbox\.arange: end must be a finite number, got NaN/);
    expect(() => gb.uniform([2], 1, 0)).toThrow(/glassbox\.uniform: low \(1\) must not exceed high \(0\)/);
    expect(() => gb.normal([2], 0, -1)).toThrow(/glassbox\.normal: stdev must be non-negative, got -1/);
    expect(() => gb.oneHot(int([0]), 0)).toThrow(/glassbox\.oneHot: numClasses must be a positive integer, got 0/);
    expect(() => gb.pad(gb.ones([2]), [0.5, 1])).toThrow(/glassbox\.pad: padding \[0\.5, 1\] must be whole numbers/);
    expect(() => gb.clamp(gb.ones([2]), { min: NaN })).toThrow(/glassbox\.clamp: min is NaN/);
  });

});

describe('reductions over 2^32 or more elements of an expanded view', () => {
  // 65536 x 65536 = 2^32 copies of one value: the kernels count in 32 bits, so these returned 0, 0 and -3.4e38
  const big = () => gb.expand(gb.tensor([[0.5]]), [65536, 65536]);

  it('sum, mean, max and min are right', async () => {
    expect(await gb.sum(big()).item()).toBe(2 ** 31);
    expect(await gb.mean(big()).item()).toBe(0.5);
    expect(await gb.amax(big()).item()).toBe(0.5);
    expect(await gb.amin(big()).item()).toBe(0.5);
    expect((await read(gb.sum(big(), { dim: 0 }))).every((v) => v === 32768)).toBe(true);
    // a real row expanded over 2^20 rows: only the repeated axis is folded, the row is summed
    const rows = gb.expand(gb.tensor([[1, 2, 3, 4]]), [2 ** 20, 4]);
    expect(await gb.sum(rows).item()).toBe(10 * 2 ** 20);
    expect(await gb.max(gb.expand(gb.tensor([[1, 7, 3, 4]]), [2 ** 30, 4])).item()).toBe(7);
  });

  it('an index or a product over more than 2^31 elements is refused, naming the op and the count', () => {
    expect(() => gb.argmax(gb.expand(gb.tensor([1]), [2 ** 32]))).toThrow(/glassbox\.max: cannot reduce 4294967296 elements of shape \[4294967296\] with their index/);
    expect(() => gb.prod(big())).toThrow(/glassbox\.prod: cannot reduce 4294967296 elements/);
  });
});

describe('out-of-range indices raise an error naming the op at the next readback', () => {
  it('gather, indexSelect and scatterAdd', async () => {
    const x = gb.zeros([2, 10]);
    await expect(gb.gather(x, 1, int([1, 12, 0, 3], [2, 2])).toArray()).rejects.toThrow(/glassbox\.gather: index 12 is out of range for dimension 1 of size 10 \(valid: 0\.\.9\)/);
    await expect(gb.indexSelect(x, 0, int([0, -1])).toArray()).rejects.toThrow(/glassbox\.indexSelect: index -1 is out of range for dimension 0 of size 2/);
    await expect(gb.scatterAdd(gb.zeros([3]), 0, int([0, 5]), gb.ones([2])).toArray()).rejects.toThrow(/glassbox\.scatterAdd: index 5 is out of range for dimension 0 of size 3/);
    // the flag is cleared once raised, and valid indices pass
    expect(await read(gb.gather(gb.tensor([[5, 6, 7]]), 1, int([2, 0], [1, 2])))).toEqual([7, 5]);
  });

  it('oneHot, crossEntropy, nllLoss and multiMarginLoss (labels against the number of classes)', async () => {
    const logits = gb.randn([2, 3]);
    await expect(gb.oneHot(int([0, 3]), 3).toArray()).rejects.toThrow(/glassbox\.oneHot: index 3 is out of range for a one-hot encoding of size 3/);
    await expect(gb.crossEntropy(logits, int([1, 7])).item()).rejects.toThrow(/glassbox\.crossEntropy: index 7 is out of range for the class dimension of size 3/);
    await expect(gb.nllLoss(gb.logSoftmax(logits, 1), int([-2, 0])).item()).rejects.toThrow(/glassbox\.nllLoss: index -2 is out of range/);
    await expect(gb.multiMarginLoss(logits, int([0, 3])).item()).rejects.toThrow(/glassbox\.multiMarginLoss: index 3 is out of range/);
    // the error waits for a readback, whichever tensor it reads
    gb.crossEntropy(logits, int([3, 0]));
    await expect(gb.ones([1]).toArray()).rejects.toThrow(/glassbox\.crossEntropy: index 3/);
    expect(await gb.crossEntropy(logits, int([2, 0])).item()).toBeGreaterThan(0);
  });
});
