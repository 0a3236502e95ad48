/**
 * reluMaxPool2d, the fused maxPool2d(relu(x)) that a Sequential's ReLU, MaxPool2d pair runs as:
 * the same values and gradients (first and second order) as the two ops, checked against them
 * and against central differences of a float64 reference; the Sequential fuses only where nothing
 * can tell (no hooks), and backward rules for 'relu' or 'maxPool2d' see the two ops.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { expectClose, kernelsOf } from './helpers.ts';

/** mulberry32 values in [-1, 1) shifted by `shift`, or integers in [-4, 2] (ties and zeros) where `integers`. */
function values(n: number, seed: number, shift = 0, integers = false): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    return integers ? Math.floor(u * 7) - 4 : 2 * u - 1 + shift;
  });
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
/** A tensor's values with -0 read as 0 (where no window sends a gradient, either op may produce 0 * negative). */
const read = async (t: gb.Tensor) => Array.from(await t.toArray(), (v) => v + 0);

// tiling 2x2 windows (the scatter backward), overlapping padded windows, ceil mode, dilation (the gather backward)
const geometries: Array<{ shape: [number, number, number, number]; opts: gb.MaxPool2dOptions }> = [
  { shape: [2, 3, 8, 8], opts: { kernelSize: 2 } },
  { shape: [2, 2, 7, 6], opts: { kernelSize: 3, stride: 2, padding: 1 } },
  { shape: [1, 2, 7, 7], opts: { kernelSize: 2, ceilMode: true } },
  { shape: [1, 2, 8, 9], opts: { kernelSize: 3, stride: 1, dilation: 2 } },
];

describe('reluMaxPool2d equals maxPool2d(relu(x))', () => {
  for (const { shape, opts } of geometries) {
    for (const integers of [false, true]) {
      it(`${shape.join('x')} ${JSON.stringify(opts)}, ${integers ? 'integer inputs (ties, zeros, all-negative windows)' : 'mostly negative inputs'}: values, gradient and its gradient`, async () => {
        const data = values(numel(shape), 7 + shape[3], -0.6, integers);
        const run = (fused: boolean) => {
          const x = gb.tensor(data, shape, { requiresGrad: true });
          const y = fused ? gb.reluMaxPool2d(x, opts) : gb.maxPool2d(gb.relu(x), opts);
          const g = gb.tensor(values(y.size, 3), y.shape, { requiresGrad: true });
          const [dx] = gb.grad([gb.sum(gb.mul(y, g))], [x], { createGraph: true });
          // second order: dx is linear in g, so d/dg sum(dx * v) is v read back at each window's argmax
          const v = gb.tensor(values(x.size, 5), x.shape);
          const [dg] = gb.grad([gb.sum(gb.mul(dx!, v))], [g]);
          return { y, dx: dx!, dg: dg! };
        };
        const fused = run(true);
        const twoOps = run(false);
        expect(await read(fused.y)).toEqual(await read(twoOps.y));
        expect(await read(fused.dx)).toEqual(await read(twoOps.dx));
        expect(await read(fused.dg)).toEqual(await read(twoOps.dg));
        // the inputs leave some windows with nothing positive, whose gradient must go nowhere
        expect((await fused.y.toArray()).some((v) => v === 0)).toBe(true);
      });
    }
  }

  it('matches central differences of a float64 reference', async () => {
    const [N, C, H, W] = [2, 2, 6, 6];
    const data = values(N * C * H * W, 11, -0.3);
    const G = values(N * C * 9, 12);
    // L(x) = sum over 2x2 windows of max(0, max over the window) * G, in float64
    const loss = (x: Float64Array) => {
      let total = 0;
      for (let p = 0; p < N * C; p++)
        for (let oh = 0; oh < 3; oh++)
          for (let ow = 0; ow < 3; ow++) {
            let best = 0;
            for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) best = Math.max(best, x[(p * H + 2 * oh + i) * W + 2 * ow + j]!);
            total += best * G[(p * 3 + oh) * 3 + ow]!;
          }
      return total;
    };
    const x64 = Float64Array.from(data);
    const expected = Array.from(x64, (xi, i) => {
      const h = 1e-6 * Math.max(1, Math.abs(xi));
      const plus = Float64Array.from(x64);
      const minus = Float64Array.from(x64);
      plus[i] = xi + h;
      minus[i] = xi - h;
      return (loss(plus) - loss(minus)) / (2 * h);
    });
    const x = gb.tensor(data, [N, C, H, W], { requiresGrad: true });
    const y = gb.reluMaxPool2d(x, { kernelSize: 2 });
    gb.sum(gb.mul(y, gb.tensor(G, y.shape))).backward();
    expectClose(await x.grad!.toArray(), expected, { atol: 1e-4, rtol: 1e-3, what: 'input gradient' });
    expect(expected.filter((v) => v !== 0).length).toBeGreaterThan(10);
  });
});

describe('Sequential runs ReLU, MaxPool2d as reluMaxPool2d where nothing can tell', () => {
  const shape: [number, number, number, number] = [2, 3, 8, 8];
  const build = () => new gb.nn.Sequential(new gb.nn.Conv2d(3, 4, 3, { padding: 1 }), new gb.nn.ReLU(), new gb.nn.MaxPool2d(2));
  const pass = (net: gb.nn.Sequential) => {
    const x = gb.tensor(values(numel(shape), 21), shape, { requiresGrad: true });
    let y!: gb.Tensor;
    const names = kernelsOf(() => {
      y = net.forward(x);
      gb.sum(gb.mul(y, gb.tensor(values(y.size, 22), y.shape))).backward();
    });
    return { y, dx: x.grad!, names };
  };

  it('fuses, with the values and gradients of the layers run one by one', async () => {
    const net = build();
    const fused = pass(net);
    expect(fused.names).toContain('window_reluMax');
    expect(fused.names.filter((n) => n === 'relu' || n === 'relu_backward' || n === 'window_max')).toEqual([]);
    const x = gb.tensor(values(numel(shape), 21), shape, { requiresGrad: true });
    let h = x;
    for (const layer of net.layers) h = layer.forward(h);
    gb.sum(gb.mul(h, gb.tensor(values(h.size, 22), h.shape))).backward();
    expect(Array.from(await fused.y.toArray())).toEqual(Array.from(await h.toArray()));
    expect(Array.from(await fused.dx.toArray())).toEqual(Array.from(await x.grad!.toArray()));
  });

  it('runs the two modules where the ReLU has a forward hook, and the hook sees the ReLU output', async () => {
    const net = build();
    let seen: gb.Tensor | undefined;
    net.at(1).registerForwardHook((_m, _inputs, out) => void (seen = out));
    const hooked = pass(net);
    expect(hooked.names).toContain('relu');
    expect(hooked.names).not.toContain('window_reluMax');
    expect(seen!.shape).toEqual([2, 4, 8, 8]);
    expect(Math.min(...(await seen!.toArray()))).toBe(0);
  });

  it('runs the two modules where the MaxPool2d has a forward hook', () => {
    const net = build();
    net.at(2).registerForwardHook(() => undefined);
    expect(pass(net).names).not.toContain('window_reluMax');
  });
});

describe("backward rules for 'relu' and 'maxPool2d' see the two ops", () => {
  const shape: [number, number, number, number] = [2, 2, 6, 6];
  // guided backprop's rule: only positive gradients pass, at positive inputs
  const guided: gb.BackwardRule = ({ inputs, gradOutput }) => [gb.mul(gb.relu(gradOutput), gb.gt(inputs[0]!, 0))];
  // a pool rule that spreads each window's gradient evenly, to tell it from the default
  const spread: gb.BackwardRule = ({ inputs, gradOutput }) => [gb.interpolate(gb.div(gradOutput, 4), { size: [inputs[0]!.shape[2]!, inputs[0]!.shape[3]!], mode: 'nearest' })];
  const rules: Array<[string, string[], gb.BackwardRule]> = [
    ['relu', ['relu'], guided],
    ['maxPool2d', ['maxPool2d'], spread],
  ];
  for (const [name, ops, rule] of rules) {
    it(`a '${name}' rule at the backward of a fused graph gives the unfused graph's gradient under the rule`, async () => {
      const gradient = (fused: boolean, forwardInside: boolean) => {
        const x = gb.tensor(values(numel(shape), 31, -0.2), shape, { requiresGrad: true });
        const forward = () => (fused ? gb.reluMaxPool2d(x, { kernelSize: 2 }) : gb.maxPool2d(gb.relu(x), { kernelSize: 2 }));
        const g = gb.tensor(values(2 * 2 * 9, 32), [2, 2, 3, 3]);
        if (forwardInside) return gb.withBackwardRule(ops, rule, () => gb.grad([gb.sum(gb.mul(forward(), g))], [x])[0]!);
        const y = forward();
        return gb.withBackwardRule(ops, rule, () => gb.grad([gb.sum(gb.mul(y, g))], [x])[0]!);
      };
      const expected = await gradient(false, false).toArray();
      // the rule matters here: without it the gradient differs
      const x = gb.tensor(values(numel(shape), 31, -0.2), shape, { requiresGrad: true });
      const [plain] = gb.grad([gb.sum(gb.mul(gb.reluMaxPool2d(x, { kernelSize: 2 }), gb.tensor(values(36, 32), [2, 2, 3, 3])))], [x]);
      expect(Array.from(await plain!.toArray())).not.toEqual(Array.from(expected));
      expect(Array.from(await gradient(true, false).toArray())).toEqual(Array.from(expected));
      expect(Array.from(await gradient(true, true).toArray())).toEqual(Array.from(expected));
    });
  }
});
