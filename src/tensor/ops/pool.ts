/**
 * 2-D pooling over NCHW inputs. Max and average pooling run the sliding-window kernels; their
 * gradients gather per input pixel from the windows that cover it (deterministic, no atomics).
 * Each forward kernel and its gradient are recorded as a pair of ops that are each other's
 * backward (max: the gradient's own gradient is a gather at the argmax), so grad-of-grad works.
 * Adaptive average pooling is an average pool when the sizes divide, otherwise two products
 * with small averaging matrices.
 */
import { activeRuleFor, noGrad, record, type BackwardFn } from '../../autograd/node.ts';
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from './creation.ts';
import { ge, maximum, mul, relu, reluBackward } from './elementwise.ts';
import { gather } from './indexing.ts';
import { matmul } from './matmul.ts';
import { mean } from './reduce.ts';
import { reshape, transpose } from './views.ts';
import { check4d, pair, poolBackwardKernel, poolKernel, windowCount, type Pair, type Window2d } from './window.ts';
import { checkOptions } from '../check-options.ts';
import { AVG_POOL_OPTIONS, MAX_POOL_OPTIONS } from '../op-schemas.ts';


export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Divide by the full window, padding included (default true, as in PyTorch). */
  countIncludePad?: boolean;
}

function poolWindow(op: string, x: Tensor, o: { kernelSize: Pair; stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean }): Window2d {
  check4d(op, 'input', x);
  const [, C, H, W] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(op, 'kernelSize', o.kernelSize, 1);
  const [sh, sw] = pair(op, 'stride', o.stride ?? o.kernelSize, 1);
  const [ph, pw] = pair(op, 'padding', o.padding ?? 0, 0);
  const [dh, dw] = pair(op, 'dilation', o.dilation ?? 1, 1);
  if (2 * ph > kh || 2 * pw > kw)
    throw new Error(`glassbox.${op}: padding ${JSON.stringify(o.padding)} must be at most half the kernel size ${JSON.stringify(o.kernelSize)} (input ${shapeStr(x.shape)})`);
  const OH = windowCount(op, 'height', x, H, kh, sh, ph, 2 * ph, dh, !!o.ceilMode);
  const OW = windowCount(op, 'width', x, W, kw, sw, pw, 2 * pw, dw, !!o.ceilMode);
  return { C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw };
}

/** What a backward rule sees of a pooling window (ctx.options). */
const poolOptions = (win: Window2d) => ({ kernelSize: [win.kh, win.kw], stride: [win.sh, win.sw], padding: [win.ph, win.pw], dilation: [win.dh, win.dw] });

/** Max pooling; also returns the argmax of each window as a flat index h * W + w into its input plane (like PyTorch's return_indices). */
export function maxPool2dWithIndices(x: Tensor, opts: MaxPool2dOptions): { values: Tensor; indices: Tensor } {
  checkOptions('maxPool2d', opts, MAX_POOL_OPTIONS, ['kernelSize']);
  const win = poolWindow('maxPool2d', x, opts);
  const { values, indices } = poolKernel('max', x, win);
  record('maxPool2d', [x], values, (g) => [maxPool2dBackward(g, x, indices!, win)], { indices }, poolOptions(win));
  return { values, indices: indices! };
}

export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  return maxPool2dWithIndices(x, opts).values;
}

/**
 * maxPool2d(relu(x)) in one pass over x, without relu(x) in memory: relu and max commute, so each
 * window's value is x's max floored at 0, and the gradient goes to x's argmax where that max is
 * positive (relu's derivative there), else nowhere (the kernel's argmax is -1). A NaN in the window
 * makes its value NaN and takes the gradient, as relu then max_pool2d do in PyTorch. The pair of modules
 * ReLU, MaxPool2d in a Sequential runs as this op (Sequential.forward says when).
 *
 * Backward rules for 'relu' or 'maxPool2d' see the two ops: inside withBackwardRule at the
 * forward, this runs them unfused; at a backward run inside one, the backward re-creates relu(x)
 * and the pool and applies the rules in the order the unfused graph would.
 */
export function reluMaxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  checkOptions('reluMaxPool2d', opts, MAX_POOL_OPTIONS, ['kernelSize']);
  if (activeRuleFor('relu') || activeRuleFor('maxPool2d')) return maxPool2d(relu(x), opts);
  const win = poolWindow('reluMaxPool2d', x, opts);
  const { values, indices } = poolKernel('reluMax', x, win);
  return record('reluMaxPool2d', [x], values, (g) => [reluMaxPool2dBackward(g, x, indices!, win)], { indices }, poolOptions(win));
}

function reluMaxPool2dBackward(g: Tensor, x: Tensor, indices: Tensor, win: Window2d): Tensor {
  const reluRule = activeRuleFor('relu');
  const poolRule = activeRuleFor('maxPool2d');
  if (!reluRule && !poolRule) return maxPool2dBackward(g, x, indices, win);
  // the unfused pair's nodes, as backward.ts would hand them to the rules
  const activated = noGrad(() => relu(x));
  const pooled = poolKernel('max', activated, win);
  const poolBackward: BackwardFn = (gp) => [maxPool2dBackward(gp, activated, pooled.indices!, win)];
  const poolContext = { op: 'maxPool2d', inputs: [activated], output: pooled.values, gradOutput: g, defaultBackward: poolBackward, saved: { indices: pooled.indices }, options: poolOptions(win) };
  const gActivated = (poolRule ? poolRule(poolContext) : poolBackward(g))[0]!;
  const reluBackwardFn: BackwardFn = (ga) => [reluBackward(ga, x)];
  const reluContext = { op: 'relu', inputs: [x], output: activated, gradOutput: gActivated, defaultBackward: reluBackwardFn, saved: {}, options: {} };
  return (reluRule ? reluRule(reluContext) : reluBackwardFn(gActivated))[0]!;
}

/**
 * Sends each window's gradient to its argmax, or nowhere where the argmax is -1 (reluMaxPool2d);
 * linear in g, so its own gradient reads gg at the argmax (0 where there is none). The pool's
 * input x only chooses the argmax, so its gradient is zero almost everywhere; it is recorded as an
 * input all the same (as PyTorch's max_pool2d_with_indices_backward has `self`), so that a second
 * derivative through a net whose ReLUs all sit in fused ReLU + max-pool pairs reaches x as zeros
 * rather than "not connected".
 */
function maxPool2dBackward(g: Tensor, x: Tensor, indices: Tensor, win: Window2d): Tensor {
  const out = poolBackwardKernel('max', g, win, indices);
  return record('maxPool2dBackward', [g, x], out, (gg) => {
    const [N, C] = g.shape as [number, number];
    const argmax = reshape(indices, [N, C, win.OH * win.OW]);
    const picked = mul(gather(reshape(gg, [N, C, win.H * win.W]), 2, maximum(argmax, 0)), ge(argmax, 0));
    return [reshape(picked, g.shape), null];
  });
}

function avgPoolCore(x: Tensor, win: Window2d, includePad: boolean): Tensor {
  const out = poolKernel('avg', x, win, includePad).values;
  return record('avgPool2d', [x], out, (g) => [avgPoolBackwardCore(g, win, includePad)], {}, poolOptions(win));
}

function avgPoolBackwardCore(g: Tensor, win: Window2d, includePad: boolean): Tensor {
  const out = poolBackwardKernel('avg', g, win, undefined, includePad);
  return record('avgPool2dBackward', [g], out, (gg) => [avgPoolCore(gg, win, includePad)]);
}

export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  checkOptions('avgPool2d', opts, AVG_POOL_OPTIONS, ['kernelSize']);
  return avgPoolCore(x, poolWindow('avgPool2d', x, opts), opts.countIncludePad ?? true);
}

/** [out, in] matrix whose row i averages PyTorch's adaptive window floor(i * in / out) .. ceil((i + 1) * in / out). */
function adaptiveMatrix(inSize: number, outSize: number): Tensor {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
  }
  return tensor(m, [outSize, inSize]);
}

/** Average pooling to a fixed output size (null keeps that dim), with PyTorch's window rule. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = 'adaptiveAvgPool2d';
  check4d(op, 'input', x);
  const [, , H, W] = x.shape as [number, number, number, number];
  const [OH, OW] = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? H, outputSize[1] ?? W];
  if (!Number.isInteger(OH) || !Number.isInteger(OW) || OH < 1 || OW < 1)
    throw new Error(`glassbox.${op}: output size must be positive integers, got ${JSON.stringify(outputSize)} (input ${shapeStr(x.shape)})`);
  if (H % OH === 0 && W % OW === 0) return avgPool2d(x, { kernelSize: [H / OH, W / OW] });
  return matmul(matmul(adaptiveMatrix(H, OH), x), transpose(adaptiveMatrix(W, OW), 0, 1));
}

/** Mean over H and W: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  check4d('globalAvgPool2d', 'input', x);
  return mean(x, { dim: [2, 3], keepdim: true });
}
