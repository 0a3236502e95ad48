/**
 * Convolutions as GEMMs on the shared matmul kernel (src/kernels/wgsl/matmul.ts):
 *
 *   conv2d(x, W)          = W · unfold(x)        (im2col, then one matmul batched over N)
 *   convTranspose2d(x, W) = fold(W^T · x)        (col2im gathers each pixel's taps)
 *
 * On CPU-backed adapters conv2d (groups 1) skips the im2col pass: the matmul kernel reads unfold(x)
 * straight from x, forward and for the weight gradient (`implicitProduct`). Where their subgroups
 * are 8 lanes wide (lavapipe), a stride-1 conv's forward and input gradient skip the matmul too:
 * the direct kernel convolves the image itself (`directConv`, src/kernels/wgsl/direct-conv.ts),
 * and its weight gradient does where a cost model says so (`directWeightGradient`).
 *
 * Each is the other's input gradient, and both weight gradients are the same batched product
 * g · unfold(image)^T summed over N (`conv2dWeightGrad`; conv2d's reuses the forward's unfolded
 * input where it is small enough to keep, and where the bias learns those columns end in a row of
 * ones, so the same product yields the bias gradient: `splitWeightAndBias`). Backward closures use only
 * differentiable ops (conv2d, convTranspose2d, unfold, matmul, sum), so grad-of-grad works.
 * A 1x1 / stride 1 / no-padding window makes unfold and fold plain reshapes, so 1x1 convs are
 * plain matmuls.
 */
import { isGradEnabled, needsGrad, noGrad, record } from '../../autograd/node.ts';
import { dispatch, kernelSubgroupSize, kernelTarget, runtime } from '../../kernels/runtime.ts';
import { directConvFits, directConvLaunch, directConvWeightGradLaunch, directWeightGradLayout, type DirectConvSpec, type DirectConvWeightGradSpec, type WeightGradLayout } from '../../kernels/wgsl/direct-conv.ts';
import { planMatmul } from '../../kernels/wgsl/matmul.ts';
import { shapeStr, type Shape } from '../shape.ts';
import { emptyTensor, tidy, type Tensor } from '../tensor.ts';
import { add, asPlainArray } from './elementwise.ts';
import { matmul, matmulAddBias } from './matmul.ts';
import { sum } from './reduce.ts';
import { cat, reshape, slice, transpose } from './views.ts';
import { check4d, col2imKernel, im2colKernel, pair, windowCount, type Pair, type Window2d } from './window.ts';
import { checkOptions, type OptionSchema } from '../check-options.ts';
import { CONV2D_OPTIONS, CONV_TRANSPOSE2D_OPTIONS } from '../op-schemas.ts';

const WINDOW_OPTIONS: OptionSchema = { kernelSize: 'pair', stride: 'pair', padding: 'pair', dilation: 'pair' };

export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding on each side, or 'same' (output size = input size; stride 1 only) or 'valid' (none). */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Extra rows / columns added to one side of the output (to pick among sizes a stride makes ambiguous). */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export interface UnfoldOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

export interface FoldOptions extends UnfoldOptions {
  /** The [H, W] of the image to fold back into. */
  outputSize: Pair;
}

const isPlainReshape = (w: Window2d) => w.kh === 1 && w.kw === 1 && w.sh === 1 && w.sw === 1 && w.ph === 0 && w.pw === 0 && w.H === w.OH && w.W === w.OW;

/** [N, C, H, W] -> [N, C * kh * kw, OH * OW]; its adjoint is fold. */
function unfoldCore(x: Tensor, win: Window2d): Tensor {
  const N = x.shape[0]!;
  if (isPlainReshape(win)) return reshape(x, [N, win.C, win.H * win.W]);
  const out = im2colKernel(x, win);
  return record('unfold', [x], out, (g) => [foldCore(g, win)], {}, windowOptions(win));
}

/** [N, C * kh * kw, OH * OW] -> [N, C, H, W], summing taps that land on the same pixel; its adjoint is unfold. */
function foldCore(cols: Tensor, win: Window2d): Tensor {
  const N = cols.shape[0]!;
  if (isPlainReshape(win)) return reshape(cols, [N, win.C, win.H, win.W]);
  const out = col2imKernel(cols, win);
  return record('fold', [cols], out, (g) => [unfoldCore(g, win)], {}, windowOptions(win));
}

/**
 * out[n, g] = W[g] · unfold(x)[n, g] for each group; W is [Cout, C / groups, kh, kw]. A bias
 * (groups = 1 only) is added by the matmul kernel.
 */
function conv2dCore(x: Tensor, weight: Tensor, win: Window2d, groups: number, bias: Tensor | null = null): Tensor {
  const N = x.shape[0]!;
  const Cout = weight.shape[0]!;
  const K = (win.C / groups) * win.kh * win.kw;
  const L = win.OH * win.OW;
  const implicit = implicitColumns(N, win, groups);
  const direct = runsDirect(win, groups, win.C, N);
  const saveCols = !implicit && !direct && isGradEnabled() && weight.requiresGrad && !isPlainReshape(win) && N * K * groups * L * 4 <= SAVED_COLS_MAX_BYTES;
  // A learnt bias makes the saved columns end in a row of ones per batch item, so the weight
  // gradient's product also yields the bias gradient (splitWeightAndBias) instead of a separate
  // reduction of g over the batch and the positions (LeNet-5's conv1: ~1 ms of a step on lavapipe).
  const onesRow = saveCols && groups === 1 && !!bias?.requiresGrad;
  const [out, cols] = noGrad(() =>
    tidy(() => {
      if (direct) return [directConv('forward', x, weight, bias, win), null] as const;
      if (implicit) return [reshape(implicitProduct('positions', reshape(weight, [Cout, K]), x, win, { bias }), [N, Cout, win.OH, win.OW]), null] as const;
      const cols = onesRow ? im2colKernel(x, win, true) : unfoldCore(x, win);
      const taps = onesRow ? slice(cols, 1, { start: 0, end: K }) : cols; // read in place, not copied
      const y =
        groups === 1 // W broadcast over the batch: one dispatch, no copy
          ? bias
            ? matmulAddBias(reshape(weight, [Cout, K]), taps, bias, 'row')
            : matmul(reshape(weight, [Cout, K]), taps)
          : matmul(reshape(weight, [groups, Cout / groups, K]), reshape(cols, [N, groups, K, L]));
      return [reshape(y, [N, Cout, win.OH, win.OW]), saveCols ? cols : null] as const;
    }),
  );
  return record('conv2d', bias ? [x, weight, bias] : [x, weight], out, (g) => {
    const dx = needsGrad(x) ? convTranspose2dCore(g, weight, win, groups) : null;
    // the saved columns carry no graph: where the weight gradient is itself differentiated wrt the image, unfold again
    const savedUsable = cols !== null && !(isGradEnabled() && x.requiresGrad);
    const withBias = !!bias && needsGrad(bias);
    // the direct kernel's partial sums where they take fewer loads than the matmul; a recorded backward unfolds
    const directSpec = weightGradSpec(win, Cout, withBias);
    const layout = needsGrad(weight) && !isGradEnabled() ? directWeightGradientLayout(directSpec, groups, win, N) : undefined;
    if (layout) return [dx, ...directWeightGradient(x, g, directSpec, layout)];
    // implicit columns: the products for dW (and the bias gradient, from a ones column) read x directly; a recorded backward unfolds
    if (implicit && needsGrad(weight) && !isGradEnabled())
      return [dx, ...splitWeightAndBias(implicitProduct('taps', reshape(g, [N, Cout, L]), x, win, { onesRow: withBias }), weight.shape, withBias)];
    if (onesRow && savedUsable && needsGrad(weight))
      return [dx, ...splitWeightAndBias(matmul(reshape(g, [N, Cout, L]), transpose(cols, -1, -2)), weight.shape, withBias)];
    return [
      dx,
      needsGrad(weight) ? conv2dWeightGrad(x, g, weight.shape, win, groups, savedUsable && !onesRow ? cols : null) : null,
      ...(bias ? [needsGrad(bias) ? sum(g, { dim: [0, 2, 3] }) : null] : []),
    ];
  }, {}, convOptions(win, groups));
}

/** What a backward rule sees of a convolution's window (ctx.options): enough to run conv2d again. */
const convOptions = (win: Window2d, groups: number) => ({ stride: [win.sh, win.sw], padding: [win.ph, win.pw], dilation: [win.dh, win.dw], groups });
const windowOptions = (win: Window2d) => ({ kernelSize: [win.kh, win.kw], stride: [win.sh, win.sw], padding: [win.ph, win.pw], dilation: [win.dh, win.dw] });

/**
 * conv2d's weight and bias gradients (groups 1) from the batched products g[n] · cols[n]^T
 * [N, Cout, K (+ 1)], where cols ends in a row of ones when the bias learns: the first K columns
 * summed over the batch are dW, the last one the bias gradient (each output's g summed over positions).
 */
function splitWeightAndBias(products: Tensor, weightShape: Shape, withBias: boolean): [Tensor, Tensor | null] {
  const [, Cout, width] = products.shape as [number, number, number];
  const K = withBias ? width - 1 : width;
  // summing over the batch also makes each part contiguous, as the optimiser reads it
  const dW = sum(withBias ? slice(products, 2, { start: 0, end: K }) : products, { dim: 0 });
  const dB = withBias ? reshape(sum(slice(products, 2, { start: K, end: K + 1 }), { dim: 0 }), [Cout]) : null;
  return [reshape(dW, weightShape), dB];
}

/**
 * On CPU-backed adapters a conv (groups 1) reads its column matrix straight from the image inside
 * the matmul kernel (src/kernels/wgsl/implicit-columns.ts) instead of unfolding it first: on
 * lavapipe LeNet-5's convolutions went from 2.6 to 1.45 ms each forward, and the weight gradient
 * needs nothing kept but the image. Elsewhere, and in backward passes that are themselves recorded
 * (createGraph), the column matrix is unfolded (im2col) and multiplied.
 */
const implicitColumns = (batch: number, win: Window2d, groups: number) =>
  kernelTarget() === 'cpu-simd' && groups === 1 && !isPlainReshape(win) && batch * win.OH * win.OW <= IMPLICIT_MAX_COLUMNS;
/** The forward reads the batch's positions as one row of tiles, at most 65535 workgroups of 32 or more columns. */
const IMPLICIT_MAX_COLUMNS = 65535 * 32;

/**
 * On CPU adapters with 8-lane subgroups, a stride-1 conv (groups 1, not 1x1) and its input
 * gradient run the direct kernel (src/kernels/wgsl/direct-conv.ts), which reads each input pixel
 * once per row of taps rather than once per tap: on lavapipe LeNet-5's convolutions ran 1.5-3x
 * faster than the matmul over their columns. Where each output sums fewer than 16 products
 * (`inputChannels` x taps; the MNIST CNN's first layer: 1 x 3 x 3) its stores outweigh that, and
 * the matmul, which stores four outputs at a time, stays (9.5 against 4.9 GFLOP/s there).
 */
const runsDirect = (win: Window2d, groups: number, inputChannels: number, batch: number) =>
  directKernelsApply(win, groups) && inputChannels * win.kh * win.kw >= 16 && directConvFits({ OW: Math.max(win.W, win.OW), KH: win.kh, KW: win.kw }, batch);

/** The direct kernels' common ground: lavapipe-like subgroups, one group, stride 1, not a 1x1 matmul. */
const directKernelsApply = (win: Window2d, groups: number) =>
  kernelTarget() === 'cpu-simd' && kernelSubgroupSize() === 8 && groups === 1 && win.sh === 1 && win.sw === 1 && !isPlainReshape(win);

/**
 * The direct kernel for the conv of window `win` (seen from conv2d: image [C, H, W], grid [OH, OW]):
 * 'forward' convolves image x [N, C, H, W] with weight [Cout, C, kh, kw] (+ bias) into [N, Cout, OH, OW];
 * 'inputGradient' takes the output gradient x [N, Cout, OH, OW] back to the image's [N, C, H, W]
 * (a correlation with the kernel flipped, padded by (kh - 1) * dh - ph). Records nothing.
 */
function directConv(pass: 'forward' | 'inputGradient', x: Tensor, weight: Tensor, bias: Tensor | null, win: Window2d): Tensor {
  const N = x.shape[0]!;
  const Cout = weight.shape[0]!;
  const spec: DirectConvSpec =
    pass === 'forward'
      ? { CI: win.C, H: win.H, W: win.W, CO: Cout, OH: win.OH, OW: win.OW, KH: win.kh, KW: win.kw, PH: win.ph, PW: win.pw, DH: win.dh, DW: win.dw, weights: 'forward', bias: !!bias }
      : {
          CI: Cout, H: win.OH, W: win.OW, CO: win.C, OH: win.H, OW: win.W, KH: win.kh, KW: win.kw,
          PH: (win.kh - 1) * win.dh - win.ph, PW: (win.kw - 1) * win.dw - win.pw, DH: win.dh, DW: win.dw, weights: 'inputGradient', bias: false,
        };
  const out = emptyTensor([N, spec.CO, spec.OH, spec.OW]);
  if (out.size === 0) return out;
  const operands = [x, weight, ...(bias ? [bias] : [])].map(asPlainArray);
  const launch = directConvLaunch(spec, N);
  dispatch({ ...launch, buffers: [operands[0]!.t.storage.buffer, operands[1]!.t.storage.buffer, out.storage.buffer, ...operands.slice(2).map((o) => o.t.storage.buffer)] });
  for (const o of operands) if (o.temporary) o.t.dispose();
  return out;
}

/**
 * A stride-1 conv whose weight gradient a direct kernel computes with fewer loads per multiply-add
 * than the matmul over its columns (`directWeightGradLayout` picks the layout, or none) takes it from
 * there, on CPU adapters with 8-lane subgroups (LeNet-5's conv1: 1.2 -> 0.6 ms on lavapipe).
 */
const directWeightGradientLayout = (spec: DirectConvWeightGradSpec, groups: number, win: Window2d, batch: number) =>
  directKernelsApply(win, groups) ? directWeightGradLayout(spec, batch) : undefined;

const weightGradSpec = (win: Window2d, Cout: number, bias: boolean): DirectConvWeightGradSpec => ({
  CI: win.C, H: win.H, W: win.W, CO: Cout, OH: win.OH, OW: win.OW, KH: win.kh, KW: win.kw, PH: win.ph, PW: win.pw, DH: win.dh, DW: win.dw, bias,
});

/** conv2d's weight gradient [Cout, C, kh, kw] (and bias gradient) from the direct kernel's partial sums per workgroup, summed here. */
function directWeightGradient(x: Tensor, g: Tensor, spec: DirectConvWeightGradSpec, layout: WeightGradLayout): [Tensor, Tensor | null] {
  const N = x.shape[0]!;
  const Cout = spec.CO;
  const launch = directConvWeightGradLaunch(spec, N, layout);
  const partial = emptyTensor([Cout, spec.CI, spec.KH, spec.KW, launch.partials]);
  const partialBias = spec.bias ? emptyTensor([Cout, launch.partials]) : null;
  const operands = [x, g].map(asPlainArray);
  dispatch({ ...launch, buffers: [operands[0]!.t.storage.buffer, operands[1]!.t.storage.buffer, partial.storage.buffer, ...(partialBias ? [partialBias.storage.buffer] : [])] });
  for (const o of operands) if (o.temporary) o.t.dispose();
  const dW = sum(partial, { dim: -1 });
  const dB = partialBias ? sum(partialBias, { dim: -1 }) : null;
  partial.dispose();
  partialBias?.dispose();
  return [dW, dB];
}

/**
 * One matmul kernel over x's columns, read from x [N, C, H, W]: 'positions' gives a [Cout, K] @
 * cols(x[n]) (+ bias per row) = [N, Cout, L]; 'taps' gives a[n] [Cout, L] @ cols(x[n])^T (+ a ones
 * column) = [N, Cout, K (+ 1)]. Records nothing.
 */
function implicitProduct(mode: 'positions' | 'taps', a: Tensor, x: Tensor, win: Window2d, opts: { bias?: Tensor | null; onesRow?: boolean }): Tensor {
  const N = x.shape[0]!;
  const K = win.C * win.kh * win.kw;
  const L = win.OH * win.OW;
  const [M, cols, depth] = mode === 'positions' ? [a.shape[0]!, L, K] : [a.shape[1]!, K + (opts.onesRow ? 1 : 0), L];
  const out = emptyTensor([N, M, cols]);
  if (out.size === 0) return out;
  const launch = planMatmul(
    {
      batch: N, M, N: cols, K: depth, transA: false, transB: false,
      batchStrideA: mode === 'positions' ? 0 : M * L, batchStrideB: win.C * win.H * win.W,
      bias: opts.bias ? 'row' : undefined,
      implicitB: { mode, win, onesRow: !!opts.onesRow },
    },
    kernelTarget(),
    kernelSubgroupSize(),
  );
  const operands = [a, x, ...(opts.bias ? [opts.bias] : [])].map(asPlainArray);
  dispatch({ ...launch, buffers: [operands[0]!.t.storage.buffer, operands[1]!.t.storage.buffer, out.storage.buffer, ...operands.slice(2).map((o) => o.t.storage.buffer)] });
  for (const o of operands) if (o.temporary) o.t.dispose();
  return out;
}

/**
 * Where the columns are unfolded (GPU adapters; grouped convs), the forward's are kept for the
 * weight gradient when at most this big, instead of unfolding the input again in backward (measured
 * on lavapipe before it read columns implicitly: LeNet-5's two convolutions, 1.9 of a 29 ms training
 * step). Bigger ones are unfolded again, so a forward pass holds at most this much per layer beyond
 * what PyTorch would.
 */
const SAVED_COLS_MAX_BYTES = 64 * 2 ** 20;

/** out = fold(W^T · x) per group; x is the window grid [N, Cin, OH, OW], W is [Cin, Cout / groups, kh, kw]. */
function convTranspose2dCore(x: Tensor, weight: Tensor, win: Window2d, groups: number): Tensor {
  const N = x.shape[0]!;
  const CinG = weight.shape[0]! / groups;
  const K = weight.shape[1]! * win.kh * win.kw;
  const L = win.OH * win.OW;
  const out = noGrad(() =>
    tidy(() => {
      if (runsDirect(win, groups, weight.shape[0]!, N)) return directConv('inputGradient', x, weight, null, win);
      const wT = transpose(reshape(weight, [groups, CinG, K]), -1, -2); // [G, K, CinG], read transposed in place
      const cols =
        groups === 1
          ? matmul(reshape(wT, [K, CinG]), reshape(x, [N, CinG, L]))
          : matmul(wT, reshape(x, [N, groups, CinG, L]));
      return foldCore(reshape(cols, [N, groups * K, L]), win);
    }),
  );
  return record('convTranspose2d', [x, weight], out, (g) => [
    needsGrad(x) ? conv2dCore(g, weight, win, groups) : null,
    // the roles swap: g is the image that is unfolded, x the gradient on the window grid
    needsGrad(weight) ? conv2dWeightGrad(g, x, weight.shape, win, groups) : null,
  ], {}, convOptions(win, groups));
}

/**
 * conv2d's weight gradient (also convTranspose2d's, with the roles of image and grid swapped):
 * dW[g] = sum over the batch of gradOut[n, g] · unfold(image)[n, g]^T, one matmul batched over
 * N x groups (the unfolded image is read transposed, not copied), then a sum over N.
 * `image` is [N, C, H, W]; `gradOut` is [N, Cout, OH, OW]; the result has `weightShape`.
 */
function conv2dWeightGrad(image: Tensor, gradOut: Tensor, weightShape: Shape, win: Window2d, groups: number, savedCols: Tensor | null = null): Tensor {
  const N = image.shape[0]!;
  const L = win.OH * win.OW;
  const unfolded = savedCols ?? unfoldCore(image, win);
  const cols = reshape(unfolded, [N, groups, (win.C / groups) * win.kh * win.kw, L]);
  const g = reshape(gradOut, [N, groups, gradOut.shape[1]! / groups, L]);
  return reshape(sum(matmul(g, transpose(cols, -1, -2)), { dim: 0 }), weightShape);
}

function checkGroups(op: string, groups: number, x: Tensor, weight: Tensor, channels: number, outChannels: number): void {
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`glassbox.${op}: groups must be a positive integer, got ${groups}`);
  if (channels % groups !== 0 || outChannels % groups !== 0)
    throw new Error(`glassbox.${op}: groups=${groups} must divide both the input channels (${channels}, input ${shapeStr(x.shape)}) and the output channels (${outChannels}, weight ${shapeStr(weight.shape)})`);
}

function checkBias(op: string, bias: Tensor | null | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels))
    throw new Error(`glassbox.${op}: bias must be [${channels}] (one per output channel), got ${shapeStr(bias.shape)}`);
}

/**
 * Largest batch slice whose unfolded columns (perSample floats each) fit one storage binding
 * (128 MiB on lavapipe): the MNIST CNN's second conv (42 MB at batch 64) then runs as one matmul
 * instead of two slices and a concatenation.
 */
function batchChunk(batch: number, perSample: number): number {
  const limitBytes = runtime().device.limits.maxStorageBufferBindingSize;
  return Math.max(1, Math.min(batch, Math.floor(limitBytes / (perSample * 4))));
}

const addBias = (y: Tensor, bias: Tensor | null | undefined) => (bias ? add(y, reshape(bias, [1, bias.shape[0]!, 1, 1])) : y);

/**
 * 2-D convolution (cross-correlation, as in PyTorch) of x [N, C, H, W] with weight
 * [Cout, C / groups, kh, kw], plus bias [Cout]. Returns [N, Cout, OH, OW].
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  checkOptions('conv2d', opts, CONV2D_OPTIONS);
  const op = 'conv2d';
  check4d(op, 'input', x);
  check4d(op, 'weight', weight, '[Cout, Cin / groups, kh, kw]');
  const groups = opts.groups ?? 1;
  const [, C, H, W] = x.shape as [number, number, number, number];
  const [Cout, CinG, kh, kw] = weight.shape as [number, number, number, number];
  checkGroups(op, groups, x, weight, C, Cout);
  if (C !== CinG * groups)
    throw new Error(
      `glassbox.conv2d: input ${shapeStr(x.shape)} has ${C} channels but weight ${shapeStr(weight.shape)} with groups=${groups} expects Cin = ${CinG} x ${groups} = ${CinG * groups}; ` +
        `check the layer's in_channels (weights are [Cout, Cin / groups, kh, kw], inputs NCHW)`,
    );
  checkBias(op, bias, Cout);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? 1, 1);
  const [dh, dw] = pair(op, 'dilation', opts.dilation ?? 1, 1);
  let pad: { before: [number, number]; total: [number, number] };
  if (opts.padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new Error(`glassbox.conv2d: padding 'same' needs stride 1, got stride ${JSON.stringify(opts.stride)}; pad explicitly instead`);
    // PyTorch puts the odd pixel of an even kernel's padding after the image
    const total: [number, number] = [dh * (kh - 1), dw * (kw - 1)];
    pad = { before: [Math.floor(total[0] / 2), Math.floor(total[1] / 2)], total };
  } else {
    const [ph, pw] = opts.padding === 'valid' ? [0, 0] : pair(op, 'padding', opts.padding ?? 0, 0);
    pad = { before: [ph, pw], total: [2 * ph, 2 * pw] };
  }
  const OH = windowCount(op, 'height', x, H, kh, sh, pad.before[0], pad.total[0], dh);
  const OW = windowCount(op, 'width', x, W, kw, sw, pad.before[1], pad.total[1], dw);
  const win: Window2d = { C, H, W, OH, OW, kh, kw, sh, sw, ph: pad.before[0], pw: pad.before[1], dh, dw };
  const chunk = batchChunk(x.shape[0]!, C * kh * kw * OH * OW);
  // the kernel adds the bias where one matmul covers all output channels; grouped convs add it after
  const fusedBias = groups === 1 ? (bias ?? null) : null;
  const convolve = (input: Tensor) => conv2dCore(input, weight, win, groups, fusedBias);
  if (chunk < x.shape[0]!) {
    // the unfolded batch would not fit one storage binding: convolve slices of the batch (differentiably)
    const parts: Tensor[] = [];
    for (let n = 0; n < x.shape[0]!; n += chunk) parts.push(convolve(slice(x, 0, { start: n, end: n + chunk })));
    return addBias(cat(parts, 0), fusedBias ? null : bias);
  }
  return addBias(convolve(x), fusedBias ? null : bias);
}

/**
 * Transposed 2-D convolution (the gradient of conv2d wrt its input) of x [N, Cin, H, W] with
 * weight [Cin, Cout / groups, kh, kw]. Output size: (H - 1) * stride - 2 * padding +
 * dilation * (kh - 1) + outputPadding + 1 (likewise for W).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  checkOptions('convTranspose2d', opts, CONV_TRANSPOSE2D_OPTIONS);
  const op = 'convTranspose2d';
  check4d(op, 'input', x);
  check4d(op, 'weight', weight, '[Cin, Cout / groups, kh, kw]');
  const groups = opts.groups ?? 1;
  const [, Cin, H, W] = x.shape as [number, number, number, number];
  const [wCin, CoutG, kh, kw] = weight.shape as [number, number, number, number];
  if (Cin !== wCin)
    throw new Error(`glassbox.convTranspose2d: input ${shapeStr(x.shape)} has ${Cin} channels but weight ${shapeStr(weight.shape)} expects Cin = ${wCin} (weights are [Cin, Cout / groups, kh, kw])`);
  checkGroups(op, groups, x, weight, Cin, CoutG * groups);
  checkBias(op, bias, CoutG * groups);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', opts.padding ?? 0, 0);
  const [dh, dw] = pair(op, 'dilation', opts.dilation ?? 1, 1);
  const [oph, opw] = pair(op, 'outputPadding', opts.outputPadding ?? 0, 0);
  if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw))
    throw new Error(`glassbox.convTranspose2d: outputPadding ${JSON.stringify(opts.outputPadding)} must be smaller than stride or dilation (stride ${JSON.stringify(opts.stride ?? 1)}, dilation ${JSON.stringify(opts.dilation ?? 1)})`);
  const OH = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const OW = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (OH <= 0 || OW <= 0)
    throw new Error(`glassbox.convTranspose2d: output size ${OH}x${OW} is not positive (input ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}, padding ${JSON.stringify(opts.padding)}); reduce the padding`);
  // seen from the equivalent conv2d: the output is the image, x the grid of windows
  const win: Window2d = { C: CoutG * groups, H: OH, W: OW, OH: H, OW: W, kh, kw, sh, sw, ph, pw, dh, dw };
  return addBias(convTranspose2dCore(x, weight, win, groups), bias);
}

function unfoldWindow(op: string, x: Tensor, H: number, W: number, opts: UnfoldOptions): Omit<Window2d, 'C'> {
  const [kh, kw] = pair(op, 'kernelSize', opts.kernelSize, 1);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', opts.padding ?? 0, 0);
  const [dh, dw] = pair(op, 'dilation', opts.dilation ?? 1, 1);
  const OH = windowCount(op, 'height', x, H, kh, sh, ph, 2 * ph, dh);
  const OW = windowCount(op, 'width', x, W, kw, sw, pw, 2 * pw, dw);
  return { H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw };
}

/** Sliding blocks of x [N, C, H, W] as columns: [N, C * kh * kw, L] (torch.nn.functional.unfold). */
export function unfold(x: Tensor, opts: UnfoldOptions): Tensor {
  checkOptions('unfold', opts, WINDOW_OPTIONS, ['kernelSize']);
  check4d('unfold', 'input', x);
  const win = unfoldWindow('unfold', x, x.shape[2]!, x.shape[3]!, opts);
  return unfoldCore(x, { ...win, C: x.shape[1]! });
}

/** Sums columns [N, C * kh * kw, L] back into an image [N, C, H, W] (torch.nn.functional.fold). */
export function fold(cols: Tensor, opts: FoldOptions): Tensor {
  checkOptions('fold', opts, { ...WINDOW_OPTIONS, outputSize: 'pair' }, ['kernelSize', 'outputSize']);
  const op = 'fold';
  if (cols.rank !== 3) throw new Error(`glassbox.fold: input must be 3-D [N, C * kh * kw, L], got shape ${shapeStr(cols.shape)}`);
  const [H, W] = pair(op, 'outputSize', opts.outputSize, 1);
  const win = unfoldWindow(op, cols, H, W, opts);
  const taps = win.kh * win.kw;
  if (cols.shape[1]! % taps !== 0 || cols.shape[2] !== win.OH * win.OW)
    throw new Error(
      `glassbox.fold: input ${shapeStr(cols.shape)} does not match kernel ${win.kh}x${win.kw} over output ${H}x${W}: ` +
        `expected [N, C * ${taps}, ${win.OH * win.OW}] (${win.OH}x${win.OW} blocks)`,
    );
  return foldCore(cols, { ...win, C: cols.shape[1]! / taps });
}
