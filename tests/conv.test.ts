/**
 * Convolution at MNIST-CNN scale against a float64 CPU reference, batch-norm running statistics
 * against PyTorch (tests/fixtures/ops/conv.json), dropout statistics, and the ops' error messages.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import * as gb from '../src/index.ts';
import { runtime, setKernelTarget } from '../src/kernels/runtime.ts';
import { expectClose, kernelsOf } from './helpers.ts';

/** Deterministic values in [-scale, scale) (mulberry32). */
function randomArray(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

describe('conv2d at MNIST-CNN scale', () => {
  it('[64,1,28,28] -> conv 32 3x3 -> relu -> conv 64 3x3 matches a float64 reference', async () => {
    const [N, C1, C2, H] = [64, 32, 64, 28];
    const x = randomArray(N * H * H, 1, 1);
    const w1 = randomArray(C1 * 9, 2, 1 / 3);
    const b1 = randomArray(C1, 3, 0.1);
    const w2 = randomArray(C2 * C1 * 9, 4, 1 / Math.sqrt(C1 * 9));
    const b2 = randomArray(C2, 5, 0.1);
    const y = gb.conv2d(gb.relu(gb.conv2d(gb.tensor(x, [N, 1, H, H]), gb.tensor(w1, [C1, 1, 3, 3]), gb.tensor(b1, [C1]))), gb.tensor(w2, [C2, C1, 3, 3]), gb.tensor(b2, [C2]));
    expect(y.shape).toEqual([N, C2, 24, 24]);
    const got = await y.toArray();
    // layer 1 (after relu) at (n, c, h, w), in float64
    const h1 = (n: number, c: number, h: number, w: number) => {
      let s = b1[c]!;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += w1[c * 9 + i * 3 + j]! * x[n * H * H + (h + i) * H + w + j]!;
      return Math.max(s, 0);
    };
    const samples: number[][] = [[0, 0, 0, 0], [63, 63, 23, 23], [17, 5, 11, 3], [40, 31, 0, 23], [5, 50, 23, 0]];
    for (let k = 0; k < 15; k++) samples.push([(k * 37) % N, (k * 11) % C2, (k * 7) % 24, (k * 5) % 24]);
    const expected: number[] = [];
    const actual: number[] = [];
    for (const [n, co, h, w] of samples as [number, number, number, number][]) {
      let s = b2[co]!;
      for (let c = 0; c < C1; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += w2[((co * C1 + c) * 3 + i) * 3 + j]! * h1(n, c, h + i, w + j);
      expected.push(s);
      actual.push(got[((n * C2 + co) * 24 + h) * 24 + w]!);
    }
    expectClose(actual, expected, { atol: 1e-4, rtol: 1e-4, what: 'sampled outputs' });
  });

  it('a batch whose unfolded columns exceed one storage binding is convolved in slices, with the same values and gradients', async () => {
    // [15, 64, 64, 64] with a 3x3 kernel unfolds to 15 x 9.4 MB, more than lavapipe's 128 MiB binding
    const [N, C, H] = [15, 64, 64];
    expect(N * C * 9 * H * H * 4).toBeGreaterThan(runtime().device.limits.maxStorageBufferBindingSize);
    const x = gb.tensor(randomArray(N * C * H * H, 7, 1), [N, C, H, H], { requiresGrad: true });
    const w = gb.tensor(randomArray(2 * C * 9, 8, 0.05), [2, C, 3, 3], { requiresGrad: true });
    const b = gb.tensor([0.25, -0.5], [2], { requiresGrad: true });
    const g = gb.tensor(randomArray(N * 2 * H * H, 9, 1), [N, 2, H, H]);
    const y = gb.conv2d(x, w, b, { padding: 1 });
    const whole = gb.grad([gb.sum(gb.mul(y, g))], [x, w, b]);
    // the same, one sample at a time
    const perSample = [0, 1, 2, 3].map(() => [] as gb.Tensor[]);
    for (let n = 0; n < N; n++) {
      const xn = gb.slice(x, 0, { start: n, end: n + 1 });
      const yn = gb.conv2d(xn, w, b, { padding: 1 });
      perSample[3]!.push(yn);
      gb.grad([gb.sum(gb.mul(yn, gb.slice(g, 0, { start: n, end: n + 1 })))], [xn, w, b]).forEach((t, k) => perSample[k]!.push(t));
    }
    expectClose(await y.toArray(), await gb.cat(perSample[3]!, 0).toArray(), { atol: 1e-5, rtol: 1e-4, what: 'output' });
    const [dx, dw, db] = whole.map((t) => t.toArray());
    expectClose(await dx!, await gb.cat(perSample[0]!, 0).toArray(), { atol: 1e-4, rtol: 1e-4, what: 'input gradient' });
    expectClose(await dw!, await perSample[1]!.reduce((s, t) => gb.add(s, t)).toArray(), { atol: 1e-3, rtol: 1e-4, what: 'weight gradient' });
    expectClose(await db!, await perSample[2]!.reduce((s, t) => gb.add(s, t)).toArray(), { atol: 1e-3, rtol: 1e-4, what: 'bias gradient' });
  });
});

describe("conv2d's bias gradient from the weight-gradient product", () => {
  // The forward's saved columns end in a row of ones when the bias learns, so one product gives
  // [dW | db]. Both im2col forms: 5x7 windows (one position per invocation) and 4x4 (four, vec4).
  // both kernel families: the forward product reads the columns' first K rows in place, with a
  // batch stride of K + 1 rows
  for (const [H, W, target] of [[9, 13, undefined], [8, 8, undefined], [8, 8, 'gpu']] as const) {
    it(`input ${H}x${W}, stride 2, padding 1${target ? `, ${target} kernels` : ''}: dW, db and dx equal a float64 reference, dW and db contiguous`, async () => {
      setKernelTarget(target);
      onTestFinished(() => setKernelTarget(undefined));
      const [N, C, Co, k, s, p] = [3, 2, 4, 3, 2, 1];
      const [OH, OW] = [Math.floor((H + 2 * p - k) / s) + 1, Math.floor((W + 2 * p - k) / s) + 1];
      const xv = randomArray(N * C * H * W, 11, 1);
      const wv = randomArray(Co * C * k * k, 12, 0.5);
      const gv = randomArray(N * Co * OH * OW, 13, 1);
      const x = gb.tensor(xv, [N, C, H, W], { requiresGrad: true });
      const w = gb.tensor(wv, [Co, C, k, k], { requiresGrad: true });
      const b = gb.tensor(randomArray(Co, 14, 0.1), [Co], { requiresGrad: true });
      const y = gb.conv2d(x, w, b, { stride: s, padding: p });
      const [dx, dw, db] = gb.grad([gb.sum(gb.mul(y, gb.tensor(gv, y.shape)))], [x, w, b]);
      expect(dw!.isContiguous && db!.isContiguous, 'gradients arrive contiguous').toBe(true);
      const refW = new Float64Array(wv.length);
      const refB = new Float64Array(Co);
      const refX = new Float64Array(xv.length);
      for (let n = 0; n < N; n++)
        for (let o = 0; o < Co; o++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              const g = gv[((n * Co + o) * OH + oh) * OW + ow]!;
              refB[o] += g;
              for (let c = 0; c < C; c++)
                for (let i = 0; i < k; i++)
                  for (let j = 0; j < k; j++) {
                    const [ih, iw] = [oh * s - p + i, ow * s - p + j];
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    const xi = ((n * C + c) * H + ih) * W + iw;
                    const wi = ((o * C + c) * k + i) * k + j;
                    refW[wi] += g * xv[xi]!;
                    refX[xi] += g * wv[wi]!;
                  }
            }
      expectClose(await db!.toArray(), refB, { atol: 1e-5, rtol: 1e-5, what: 'bias gradient' });
      expectClose(await dw!.toArray(), refW, { atol: 1e-5, rtol: 1e-5, what: 'weight gradient' });
      expectClose(await dx!.toArray(), refX, { atol: 1e-5, rtol: 1e-5, what: 'input gradient' });
    });
  }
});

describe('conv2d on a CPU adapter reads its columns from the image (implicit im2col)', () => {
  // stride, dilation, non-square kernels and images, 'same' padding of an even kernel, a batch of one, a strided input
  const cases: Array<{ x: [number, number, number, number]; w: [number, number, number, number]; opts: gb.Conv2dOptions; view?: boolean; noSubgroups?: boolean }> = [
    { x: [2, 3, 9, 7], w: [4, 3, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [2, 3, 9, 7], w: [4, 3, 3, 3], opts: { stride: 2, padding: 1 }, noSubgroups: true },
    { x: [1, 2, 10, 11], w: [5, 2, 2, 3], opts: { padding: 'same', dilation: [2, 1] } },
    { x: [3, 4, 8, 8], w: [6, 4, 5, 5], opts: { padding: 2 }, view: true },
  ];
  for (const c of cases) {
    it.skipIf(runtime().target !== 'cpu-simd')(`x ${c.x.join('x')}, w ${c.w.join('x')}, ${JSON.stringify(c.opts)}${c.view ? ', x a strided view' : ''}${c.noSubgroups ? ', kernels without subgroups' : ''}: no im2col kernel, the values and gradients of the unfolded path`, async () => {
      if (c.noSubgroups) {
        gb.setSubgroupsEnabled(false);
        onTestFinished(() => gb.setSubgroupsEnabled(true));
      }
      const run = () => {
        const base = gb.tensor(randomArray(c.x.reduce((a, b) => a * b, 1) * (c.view ? 2 : 1), 31, 1), c.view ? [c.x[0], c.x[1], c.x[2], c.x[3] * 2] : c.x, { requiresGrad: true });
        const x = c.view ? gb.slice(base, 3, { start: 0, end: c.x[3] * 2, step: 2 }) : base;
        const w = gb.tensor(randomArray(c.w.reduce((a, b) => a * b, 1), 32, 0.4), c.w, { requiresGrad: true });
        const b = gb.tensor(randomArray(c.w[0], 33, 0.1), [c.w[0]], { requiresGrad: true });
        let y!: gb.Tensor;
        let grads!: gb.Tensor[];
        const names = kernelsOf(() => {
          y = gb.conv2d(x, w, b, c.opts);
          const g = gb.tensor(randomArray(y.size, 34, 1), y.shape);
          grads = gb.grad([gb.sum(gb.mul(y, g))], [base, w, b]) as gb.Tensor[];
        });
        return { y, grads, names };
      };
      const implicit = run();
      expect(implicit.names.filter((n) => n.startsWith('window_im2col'))).toEqual([]);
      setKernelTarget('gpu');
      onTestFinished(() => setKernelTarget(undefined));
      const unfolded = run();
      expect(unfolded.names.filter((n) => n.startsWith('window_im2col')).length).toBeGreaterThan(0);
      expectClose(await implicit.y.toArray(), await unfolded.y.toArray(), { atol: 1e-5, rtol: 1e-5, what: 'output' });
      for (const [k, what] of ['input gradient', 'weight gradient', 'bias gradient'].entries())
        expectClose(await implicit.grads[k]!.toArray(), await unfolded.grads[k]!.toArray(), { atol: 1e-4, rtol: 1e-5, what });
    });
  }
});

describe("conv2d's weight gradient alone, with a learnt bias", () => {
  it('grad(y, [w]) gives the same dW as with the bias, and no bias gradient is accumulated', async () => {
    const x = gb.tensor(randomArray(2 * 3 * 6 * 6, 21, 1), [2, 3, 6, 6]);
    const w = gb.tensor(randomArray(4 * 3 * 9, 22, 0.3), [4, 3, 3, 3], { requiresGrad: true });
    const b = gb.tensor(randomArray(4, 23, 0.1), [4], { requiresGrad: true });
    const g = gb.tensor(randomArray(2 * 4 * 6 * 6, 24, 1), [2, 4, 6, 6]);
    const loss = () => gb.sum(gb.mul(gb.conv2d(x, w, b, { padding: 1 }), g));
    const [dwAlone] = gb.grad([loss()], [w]);
    const [dwBoth] = gb.grad([loss()], [w, b]);
    expectClose(await dwAlone!.toArray(), await dwBoth!.toArray(), { atol: 0, rtol: 0, what: 'dW' });
    expect(b.grad).toBeNull();
  });
});

describe('batchNorm running statistics (PyTorch fixtures)', () => {
  interface T { shape: number[]; data: number[] }
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/ops/conv.json', import.meta.url), 'utf8')) as {
    cases: { id: string; op: string; inputs: T[]; attrs: gb.BatchNormOptions; runningStatsAfter?: { mean: T; var: T } }[];
  };
  for (const c of fixture.cases.filter((k) => k.runningStatsAfter)) {
    it(c.id, async () => {
      const [x, rm, rv, w, b] = c.inputs.map((t) => gb.tensor(Float32Array.from(t.data), t.shape));
      gb.batchNorm(x!, rm!, rv!, w, b, c.attrs);
      expectClose(await rm!.toArray(), c.runningStatsAfter!.mean.data, { atol: 1e-6, rtol: 1e-5, what: 'running mean' });
      expectClose(await rv!.toArray(), c.runningStatsAfter!.var.data, { atol: 1e-6, rtol: 1e-5, what: 'running var' });
    });
  }

  it('training with running statistics (the fused kernels): first- and second-order gradients equal those of the composed ops', async () => {
    // without running statistics batchNorm is composed from elementwise ops and reductions; with
    // them (and affine parameters) it runs the fused kernels, whose recorded backward must agree
    const shape = [4, 3, 5, 2];
    const size = shape.reduce((a, b) => a * b, 1);
    const x = gb.tensor(randomArray(size, 11, 2), shape, { requiresGrad: true });
    const w = gb.tensor([0.5, -1.5, 2], [3], { requiresGrad: true });
    const b = gb.tensor([0.1, 0.2, -0.3], [3], { requiresGrad: true });
    const G = gb.tensor(randomArray(size, 12, 1), shape);
    const V = gb.tensor(randomArray(size, 13, 1), shape);
    const gradients = (fused: boolean) => {
      const running = fused ? [gb.zeros([3]), gb.ones([3])] : [null, null];
      const y = gb.batchNorm(x, running[0]!, running[1]!, w, b, { training: true });
      const first = gb.grad([gb.sum(gb.mul(y, G))], [x, w, b], { createGraph: true });
      const second = gb.grad([gb.sum(gb.mul(first[0]!, V))], [x, w]);
      return [...first, ...second];
    };
    const fused = gradients(true);
    const composed = gradients(false);
    const names = ['dx', 'dw', 'db', 'd(dx . V)/dx', 'd(dx . V)/dw'];
    for (let k = 0; k < names.length; k++) expectClose(await fused[k]!.toArray(), await composed[k]!.toArray(), { atol: 1e-4, rtol: 1e-3, what: names[k]! });
  });
});

describe('dropout', () => {
  it('zeroes about p of the elements, keeps the mean, and repeats with the same seed', async () => {
    const x = gb.ones([200_000]);
    gb.manualSeed(7);
    const a = await gb.dropout(x, { p: 0.3 }).toArray();
    gb.manualSeed(7);
    const b = await gb.dropout(x, { p: 0.3 }).toArray();
    const c = await gb.dropout(x, { p: 0.3 }).toArray();
    const zeros = a.filter((v) => v === 0).length / a.length;
    const mean = Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(mean - 1)).toBeLessThan(0.02);
    expect(a.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    expect(gb.dropout(x, { p: 0.3, training: false })).toBe(x);
  });

  it('passes the gradient through the kept elements only', async () => {
    const x = gb.randn([1000], { requiresGrad: true });
    const y = gb.dropout(x, { p: 0.5 });
    const [g] = gb.grad([gb.sum(y)], [x]);
    const [gv, yv, xv] = await Promise.all([g!.toArray(), y.toArray(), x.toArray()]);
    gv.forEach((v, i) => expect(v).toBeCloseTo(yv[i] === 0 && xv[i] !== 0 ? 0 : 2, 5));
  });
});

describe('errors name the op, the shapes and the fix', () => {
  const x = gb.zeros([2, 3, 8, 8]);
  it('conv2d: channel mismatch names both shapes and the expected Cin', () => {
    expect(() => gb.conv2d(x, gb.zeros([4, 2, 3, 3]))).toThrow(/conv2d: input \[2, 3, 8, 8\] has 3 channels but weight \[4, 2, 3, 3\] with groups=1 expects Cin = 2/);
  });
  it('conv2d: wrong rank', () => {
    expect(() => gb.conv2d(gb.zeros([3, 8, 8]), gb.zeros([4, 3, 3, 3]))).toThrow(/conv2d: input must be 4-D \[N, C, H, W\], got shape \[3, 8, 8\]/);
  });
  it('conv2d: kernel larger than the padded input', () => {
    expect(() => gb.conv2d(x, gb.zeros([4, 3, 11, 3]), null, { padding: 1 })).toThrow(/conv2d: kernel height 11 .* larger than the padded input height 10/);
  });
  it('conv2d: groups must divide the channels', () => {
    expect(() => gb.conv2d(x, gb.zeros([4, 1, 3, 3]), null, { groups: 2 })).toThrow(/conv2d: groups=2 must divide/);
  });
  it("conv2d: 'same' needs stride 1", () => {
    expect(() => gb.conv2d(x, gb.zeros([4, 3, 3, 3]), null, { padding: 'same', stride: 2 })).toThrow(/conv2d: padding 'same' needs stride 1/);
  });
  it('convTranspose2d: channel mismatch', () => {
    expect(() => gb.convTranspose2d(x, gb.zeros([4, 2, 3, 3]))).toThrow(/convTranspose2d: input \[2, 3, 8, 8\] has 3 channels but weight \[4, 2, 3, 3\] expects Cin = 4/);
  });
  it('maxPool2d: kernel larger than the input, and too much padding', () => {
    expect(() => gb.maxPool2d(x, { kernelSize: 9 })).toThrow(/maxPool2d: kernel height 9 .* larger than the padded input/);
    expect(() => gb.maxPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(/maxPool2d: padding 2 must be at most half the kernel size 2/);
  });
  it('interpolate and adaptiveAvgPool2d: non-integer output sizes', () => {
    expect(() => gb.interpolate(x, { size: [4.5, 4] })).toThrow(/interpolate: output size must be positive integers, got \[4.5,4\]/);
    expect(() => gb.adaptiveAvgPool2d(x, 2.5)).toThrow(/adaptiveAvgPool2d: output size must be positive integers/);
  });
  it('batchNorm: per-channel tensors of the wrong size, and a training batch of one', () => {
    expect(() => gb.batchNorm(x, gb.zeros([4]), gb.ones([3]))).toThrow(/batchNorm: runningMean must be \[3\] \(one per channel of input \[2, 3, 8, 8\]\), got \[4\]/);
    expect(() => gb.batchNorm(gb.zeros([1, 3]), null, null, null, null, { training: true })).toThrow(/batchNorm: training needs more than one value per channel/);
  });
});
