/** Autograd behaviour beyond single-op gradients: hooks, rules, modes, errors. */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';

const arr = async (t: gb.Tensor) => Array.from(await t.toArray());

describe('autograd', () => {
  it('accumulates gradients across backward calls and zeroes them', async () => {
    const x = gb.tensor([1, 2, 3], { requiresGrad: true });
    gb.sum(gb.mul(x, x)).backward();
    gb.sum(gb.mul(x, 3)).backward();
    expect(await arr(x.grad!)).toEqual([5, 7, 9]);
  });

  it('noGrad records nothing and detach cuts the graph', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const y = gb.noGrad(() => gb.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(gb.mul(x.detach(), 2).requiresGrad).toBe(false);
  });

  it('retainGrad keeps a non-leaf gradient', async () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const h = gb.mul(x, 3).retainGrad();
    gb.sum(gb.square(h)).backward();
    expect(await arr(h.grad!)).toEqual([6, 12]);
  });

  it('gradient hooks see and can replace a gradient', async () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const h = gb.mul(x, 3);
    let seen: number[] = [];
    h.registerHook((g) => {
      void g.toArray().then((a) => (seen = Array.from(a)));
      return gb.mul(g, 0);
    });
    gb.sum(h).backward();
    expect(await arr(x.grad!)).toEqual([0, 0]);
    await gb.sync();
    expect(seen).toEqual([1, 1]);
  });

  it('withBackwardRule overrides an op (guided-backprop style ReLU)', async () => {
    const x = gb.tensor([-1, 2, 3], { requiresGrad: true });
    const guided: gb.BackwardRule = ({ inputs, gradOutput }) => [gb.mul(gb.relu(gradOutput), gb.gt(inputs[0]!, 0))];
    const g = gb.withBackwardRule('relu', guided, () => {
      const y = gb.relu(x);
      return gb.grad([y], [x], { gradOutputs: [gb.tensor([5, -4, 1])] })[0]!;
    });
    expect(await arr(g)).toEqual([0, 0, 1]);
    // outside the scope the default rule is back
    const y = gb.relu(x);
    const plain = gb.grad([y], [x], { gradOutputs: [gb.tensor([5, -4, 1])] })[0]!;
    expect(await arr(plain)).toEqual([0, -4, 1]);
  });

  it('higher-order gradients: d2/dx2 of x^3 and of tanh', async () => {
    const x = gb.tensor([0.5, -1.5], { requiresGrad: true });
    const [g] = gb.grad([gb.sum(gb.powScalar(x, 3))], [x], { createGraph: true });
    const [h] = gb.grad([gb.sum(g!)], [x]);
    const got = await arr(h!);
    expect(got[0]).toBeCloseTo(3, 5);
    expect(got[1]).toBeCloseTo(-9, 5);
  });

  it('errors: non-scalar backward, second backward, shape mismatch, unused input', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    expect(() => gb.mul(x, 2).backward()).toThrow(/not a scalar/);
    const y = gb.sum(gb.exp(x));
    y.backward();
    expect(() => y.backward()).toThrow(/second time/);
    expect(() => gb.add(gb.zeros([2, 3]), gb.zeros([4]))).toThrow(/add.*\[2, 3\].*\[4\].*broadcast/);
    expect(() => gb.matmul(gb.zeros([2, 3]), gb.zeros([4, 5]))).toThrow(/matmul.*\[2, 3\].*\[4, 5\]/);
    const z = gb.tensor([3], { requiresGrad: true });
    expect(() => gb.grad([gb.sum(gb.exp(x))], [z])).toThrow(/not used/);
  });

  it('refuses a backward through values an optimiser changed in place', () => {
    const w = gb.nn.Parameter(gb.tensor([1, 2]));
    const loss = gb.sum(gb.mul(w, w));
    const opt = new gb.optim.SGD([w], { lr: 0.1 });
    gb.sum(w).backward();
    opt.step();
    expect(() => loss.backward()).toThrow(/modified in place/);
  });

  it('anomaly mode names the op that produced NaN', async () => {
    gb.setAnomalyDetection(true);
    try {
      const x = gb.tensor([1, -1]);
      const y = gb.mul(gb.sqrt(x), 2);
      await expect(y.toArray()).rejects.toThrow(/'sqrt' produced NaN/);
    } finally {
      gb.setAnomalyDetection(false);
    }
  });

  it('grad(y, [x]) computes only the gradients on the way to x: no weight gradients, same input gradient', async () => {
    const x = gb.randn([2, 3, 8, 8], { requiresGrad: true });
    const w = gb.randn([4, 3, 3, 3], { requiresGrad: true });
    const v = gb.randn([5, 4 * 6 * 6], { requiresGrad: true });
    const y = () => gb.sum(gb.linear(gb.reshape(gb.relu(gb.conv2d(x, w)), [2, -1]), v));
    const dispatches = (fn: () => gb.Tensor[]) => {
      const before = gb.memory().dispatches;
      const out = fn();
      return { out, count: gb.memory().dispatches - before };
    };
    const onlyX = dispatches(() => gb.grad(y(), [x]));
    const all = dispatches(() => gb.grad(y(), [x, w, v]));
    expect(onlyX.count).toBeLessThan(all.count);
    expect(Array.from(await onlyX.out[0]!.toArray())).toEqual(Array.from(await all.out[0]!.toArray()));
  });

  it("linear: the weight's gradient arrives contiguous in W's own [out, in] layout, with the values of g^T x", async () => {
    const x = gb.tensor([1, 2, 3, -1, 0, 2], [2, 3]);
    const w = gb.tensor([0.5, -1, 2, 1, 0, -2, 3, 1, 1, -1, 2, 0], [4, 3], { requiresGrad: true });
    const g = gb.tensor([1, -2, 0.5, 3, 2, 1, -1, 0], [2, 4]);
    gb.linear(x, w).backward(g);
    expect(w.grad!.isContiguous).toBe(true);
    // dL/dW[o, i] = sum_n g[n, o] x[n, i]
    const expected = [0, 1, 2, 3].flatMap((o) => [0, 1, 2].map((i) => [0, 1].reduce((s, n) => s + [1, -2, 0.5, 3, 2, 1, -1, 0][n * 4 + o]! * [1, 2, 3, -1, 0, 2][n * 3 + i]!, 0)));
    expect(Array.from(await w.grad!.toArray())).toEqual(expected);
  });

  it("linear: the bias gradient comes from the weight gradient's kernel (no extra dispatch), equal to g summed over the batch", async () => {
    const x = gb.tensor([1, 2, 3, -1, 0, 2, 0.5, 1, -3], [3, 3]);
    const w = gb.tensor([0.5, -1, 2, 1, 0, -2, 3, 1, 1, -1, 2, 0], [4, 3], { requiresGrad: true });
    const b = gb.tensor([0.1, 0.2, 0.3, 0.4], [4], { requiresGrad: true });
    const g = gb.tensor([1, -2, 0.5, 3, 2, 1, -1, 0, 0.25, 4, -3, 1], [3, 4]);
    const backwardDispatches = (bias: gb.Tensor | null) => {
      const y = gb.linear(x, w, bias);
      const before = gb.memory().dispatches;
      y.backward(g);
      return gb.memory().dispatches - before;
    };
    const withBias = backwardDispatches(b);
    w.grad = null;
    expect(withBias).toBe(backwardDispatches(null));
    expect(Array.from(await b.grad!.toArray())).toEqual([0, 1, 2, 3].map((o) => [0, 1, 2].reduce((s, n) => s + [1, -2, 0.5, 3, 2, 1, -1, 0, 0.25, 4, -3, 1][n * 4 + o]!, 0)));
    // the same under createGraph, where the backward is recorded from differentiable ops
    const [db] = gb.grad([gb.sum(gb.mul(gb.linear(x, w, b), g))], [b], { createGraph: true });
    expect(Array.from(await db!.toArray())).toEqual(Array.from(await b.grad!.toArray()));
  });

  it('crossEntropy: a label outside [0, C) is an error naming the op at the next readback, not a finite wrong loss', async () => {
    const logits = gb.tensor([0.5, -1, 2, 1, 0, -2], [2, 3]);
    await expect(gb.crossEntropy(logits, gb.tensor([2, 3], [2], { dtype: 'int32' }), { reduction: 'none' }).toArray()).rejects.toThrow(/glassbox\.crossEntropy: index 3 is out of range/);
    const rows = await gb.crossEntropy(logits, gb.tensor([2, 0], [2], { dtype: 'int32' }), { reduction: 'none' }).toArray();
    expect(rows[0]).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(2)) - 2, 5);
    expect(() => gb.crossEntropy(logits, gb.tensor([0, 1], [2], { dtype: 'int32' }), { labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be in \[0, 1\]/);
  });

  it('tidy disposes intermediates and keeps what it returns', async () => {
    const before = gb.memory().bytesInUse;
    const x = gb.ones([256]);
    const r = gb.tidy(() => gb.sum(gb.exp(gb.mul(x, 2))));
    expect(await r.item()).toBeCloseTo(256 * Math.exp(2), 1);
    r.dispose();
    x.dispose();
    await gb.sync();
    expect(gb.memory().bytesInUse).toBe(before);
    expect(() => gb.exp(x)).toThrow(/disposed/);
  });
});
