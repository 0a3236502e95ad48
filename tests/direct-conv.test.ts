/**
 * The direct convolution kernels (src/kernels/wgsl/direct-conv.ts), which run stride-1 convs, their
 * input gradients and (where a cost model picks a layout) their weight gradients on CPU adapters with
 * 8-lane subgroups, each where conv.ts's rules send it: the same values and gradients
 * (first and second order) as the unfolded matmul path that GPU adapters take, over the geometries
 * where its blocking has edges: channel blocks and row strips that do not divide, rows past the
 * last workgroup's, lanes past the last image, padding wider than the kernel, dilation, 'same'
 * padding of an even kernel, a batch of one, a strided input; and convTranspose2d at stride 1.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import * as gb from '../src/index.ts';
import { runtime, setKernelTarget } from '../src/kernels/runtime.ts';
import { expectClose, kernelsOf } from './helpers.ts';

const lavapipeLike = runtime().target === 'cpu-simd' && runtime().ctx.subgroupSize === 8;

function randomArray(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Which passes run the direct kernel: the forward and the input gradient where each output sums at
 * least 16 products, the weight gradient where a layout's loads per multiply-add beat the matmul's
 * by 20% (directWeightGradLayout: 'strips' for few input channels and output channels, 'channels'
 * for 4 or more input channels).
 */
interface Direct {
  forward: boolean;
  inputGradient: boolean;
  /** false: the matmul; else the direct kernel's layout (lanes over images and strips, or over input channels). */
  weightGradient: false | 'strips' | 'channels';
}

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  opts: gb.Conv2dOptions;
  bias?: boolean;
  view?: boolean;
  direct: Direct;
}

const all: Direct = { forward: true, inputGradient: true, weightGradient: 'strips' };
const cases: Case[] = [
  // LeNet-5's two convolutions
  { x: [3, 1, 28, 28], w: [6, 1, 5, 5], opts: { padding: 2 }, bias: true, direct: all },
  { x: [3, 6, 14, 14], w: [16, 6, 5, 5], opts: {}, bias: true, direct: { ...all, weightGradient: 'channels' } },
  // the 'channels' weight gradient: 11 input channels (a second block of 3), 20 output channels in 2 blocks, 5 images
  { x: [5, 11, 9, 13], w: [20, 11, 3, 3], opts: { padding: 1 }, bias: true, direct: { ...all, weightGradient: 'channels' } },
  // ... and 35 images in chunks of 2 (the last one short), dilation, rows of two strips
  { x: [35, 6, 9, 21], w: [16, 6, 3, 5], opts: { padding: [2, 1], dilation: [2, 1] }, bias: true, direct: { ...all, weightGradient: 'channels' } },
  // 37 output channels: blocks that do not divide; 19 columns: strips of 10 and 9; 9 rows: a last workgroup with one row
  { x: [2, 3, 9, 19], w: [37, 3, 3, 3], opts: { padding: 1 }, bias: true, direct: { ...all, weightGradient: false } },
  // padding wider than the kernel (the input gradient's padding is negative), non-square kernel, one image; 2 x 2 x 3 = 12 products per output: a matmul forward
  { x: [1, 2, 6, 7], w: [5, 2, 2, 3], opts: { padding: [3, 4] }, direct: { ...all, forward: false } },
  // dilation, and 'same' padding of an even kernel (the odd pixel after the image)
  { x: [2, 4, 11, 10], w: [3, 4, 3, 3], opts: { dilation: [2, 3], padding: 2 }, bias: true, direct: all },
  { x: [2, 3, 8, 9], w: [4, 3, 4, 2], opts: { padding: 'same' }, direct: all },
  // a strided view as input; a row wider than 16 outputs (three strips)
  { x: [2, 2, 5, 40], w: [7, 2, 3, 5], opts: { padding: [1, 2] }, bias: true, view: true, direct: all },
  // 7x7 taps: the weight gradient's channels in blocks of 3 (the last one partial)
  { x: [2, 2, 12, 13], w: [8, 2, 7, 7], opts: { padding: 3 }, bias: true, direct: all },
  // the MNIST CNN's first layer: 1 x 3 x 3 products per output, a matmul forward and weight gradient
  { x: [2, 1, 10, 10], w: [32, 1, 3, 3], opts: {}, bias: true, direct: { forward: false, inputGradient: true, weightGradient: false } },
];

function run(c: Case, createGraph: boolean) {
  const base = gb.tensor(randomArray(numel(c.x) * (c.view ? 2 : 1), 41, 1), c.view ? [c.x[0], c.x[1], c.x[2], c.x[3] * 2] : c.x, { requiresGrad: true });
  const x = c.view ? gb.slice(base, 3, { start: 1, end: c.x[3] * 2, step: 2 }) : base;
  const w = gb.tensor(randomArray(numel(c.w), 42, 0.5), c.w, { requiresGrad: true });
  const b = c.bias ? gb.tensor(randomArray(c.w[0], 43, 0.2), [c.w[0]], { requiresGrad: true }) : null;
  let y!: gb.Tensor;
  let grads!: gb.Tensor[];
  let second!: gb.Tensor[];
  const names = kernelsOf(() => {
    y = gb.conv2d(x, w, b, c.opts);
    const g = gb.tensor(randomArray(y.size, 44, 1), y.shape);
    grads = gb.grad([gb.sum(gb.mul(y, g))], [base, w, ...(b ? [b] : [])], { createGraph }) as gb.Tensor[];
    if (createGraph) {
      // d/dw of sum(dL/dx * v): the input gradient's own weight gradient
      const v = gb.tensor(randomArray(base.size, 45, 1), base.shape);
      second = gb.grad([gb.sum(gb.mul(grads[0]!, v))], [w]) as gb.Tensor[];
    }
  });
  return { y, grads, second, names };
}

describe.skipIf(!lavapipeLike)('direct convolution against the unfolded matmul path', () => {
  for (const c of cases) {
    const what = `x ${c.x.join('x')}, w ${c.w.join('x')}, ${JSON.stringify(c.opts)}${c.bias ? ', bias' : ''}${c.view ? ', x a strided view' : ''}`;
    it(`${what}: output and gradients`, async () => {
      const direct = run(c, false);
      const ran = (pass: string) => direct.names.some((n) => n.startsWith(`direct_conv_${pass}`));
      const weightGradient = ran('weight_gradient_channels') ? 'channels' : ran('weight_gradient') ? 'strips' : false;
      expect({ forward: ran('forward'), inputGradient: ran('input_gradient'), weightGradient }).toEqual(c.direct);
      setKernelTarget('gpu');
      onTestFinished(() => setKernelTarget(undefined));
      const unfolded = run(c, false);
      expect(unfolded.names.some((n) => n.startsWith('direct_conv'))).toBe(false);
      expectClose(await direct.y.toArray(), await unfolded.y.toArray(), { atol: 1e-5, rtol: 1e-5, what: 'output' });
      for (const [k, name] of ['input gradient', 'weight gradient', 'bias gradient'].slice(0, direct.grads.length).entries())
        expectClose(await direct.grads[k]!.toArray(), await unfolded.grads[k]!.toArray(), { atol: 1e-4, rtol: 1e-5, what: name });
    });
  }

  it('second order through the direct input gradient (createGraph)', async () => {
    const c = cases[2]!;
    const direct = run(c, true);
    expect(direct.names.some((n) => n.startsWith('direct_conv_input_gradient'))).toBe(true);
    setKernelTarget('gpu');
    onTestFinished(() => setKernelTarget(undefined));
    const unfolded = run(c, true);
    expectClose(await direct.second[0]!.toArray(), await unfolded.second[0]!.toArray(), { atol: 1e-4, rtol: 1e-5, what: 'gradient of the input gradient wrt w' });
  });

  it('convTranspose2d at stride 1 (with dilation and output padding) runs the direct kernel', async () => {
    const transposed = () => {
      const x = gb.tensor(randomArray(2 * 5 * 6 * 7, 51, 1), [2, 5, 6, 7]);
      const w = gb.tensor(randomArray(5 * 3 * 3 * 2, 52, 0.5), [5, 3, 3, 2]);
      let y!: gb.Tensor;
      const names = kernelsOf(() => (y = gb.convTranspose2d(x, w, null, { padding: [1, 0], dilation: 2, outputPadding: 1 })));
      return { y, names };
    };
    const direct = transposed();
    expect(direct.names.some((n) => n.startsWith('direct_conv_input_gradient'))).toBe(true);
    setKernelTarget('gpu');
    onTestFinished(() => setKernelTarget(undefined));
    const unfolded = transposed();
    expect(direct.y.shape).toEqual(unfolded.y.shape);
    expectClose(await direct.y.toArray(), await unfolded.y.toArray(), { atol: 1e-5, rtol: 1e-5, what: 'convTranspose2d output' });
  });

  it('strided and grouped convs keep the matmul path', () => {
    const x = gb.tensor(randomArray(2 * 4 * 8 * 8, 61, 1), [2, 4, 8, 8]);
    const strided = kernelsOf(() => gb.conv2d(x, gb.tensor(randomArray(6 * 4 * 9, 62, 1), [6, 4, 3, 3]), null, { stride: 2 }));
    const grouped = kernelsOf(() => gb.conv2d(x, gb.tensor(randomArray(6 * 2 * 9, 63, 1), [6, 2, 3, 3]), null, { groups: 2 }));
    expect([...strided, ...grouped].some((n) => n.startsWith('direct_conv'))).toBe(false);
  });
});
