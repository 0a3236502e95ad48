/**
 * Reductions over any axes. sum / prod / max / min (and max / min with indices) are kernels;
 * mean, var, std, logsumexp, norm and friends are composed from them. Backward beside each.
 */
import { dispatch } from '../../kernels/runtime.ts';
import { coalesce } from '../../kernels/wgsl/elementwise.ts';
import { reduceLaunch, type ReduceOp } from '../../kernels/wgsl/reduce.ts';
import { record } from '../../autograd/node.ts';
import { normAxes, numel, shapeStr, type Shape } from '../shape.ts';
import { emptyTensor, viewOf, type Tensor } from '../tensor.ts';
import { abs, add, cast, div, eq, exp, log, mul, sqrt, square, sub, where } from './elementwise.ts';
import { arange } from './creation.ts';
import { expand, reshape } from './views.ts';
import { checkOptions, REDUCE_OPTIONS } from '../check-options.ts';

export interface ReduceOptions {
  /** Axis or axes to reduce; all when omitted. */
  dim?: number | readonly number[];
  keepdim?: boolean;
}

function outShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function coalesceOne(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  if (shape.length === 0 || numel(shape) === 1) return { shape: [], strides: [] };
  const m = coalesce(shape, [strides]);
  return { shape: m.shape, strides: m.strides[0]! };
}

const SPLIT_MIN_ROW = 32768;
/**
 * The most elements one reduction kernel covers: it counts them in 32-bit integers (with room for
 * a chunk's end). Only an expanded view holds more (a sum of one used to return 0), and its
 * repeated axes are folded away first (foldRepeatedAxes).
 */
const MAX_REDUCED = 2 ** 31;

/**
 * Raw reduction kernel: values (and indices within the reduced range) with the reduced axes removed,
 * each multiplied by `scale` (a mean's 1 / count) in the same pass.
 */
function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[], withIndex: boolean, scale = 1): { values: Tensor; indices?: Tensor } {
  const folded = withIndex || op === 'prod' ? undefined : foldRepeatedAxes(op, x, axes);
  if (folded) {
    const r = reduceRaw(op, folded.view, axes, false, scale * folded.factor);
    folded.view.dispose();
    return r;
  }
  const count = axes.reduce((p, a) => p * x.shape[a]!, 1);
  if (count > MAX_REDUCED)
    throw new Error(
      `glassbox.${op}: cannot reduce ${count} elements of shape ${shapeStr(x.shape)}${withIndex ? ' with their index' : ''} in one pass (at most ${MAX_REDUCED}: the kernels count in 32 bits); ` +
        'reduce a smaller view, or reduce the dimensions one at a time',
    );
  const src = x.dtype === 'float32' ? x : cast(x, 'float32');
  const outer = coalesceOne(
    src.shape.filter((_, i) => !axes.includes(i)),
    src.strides.filter((_, i) => !axes.includes(i)),
  );
  const innerShape = axes.map((a) => src.shape[a]!);
  const inner = coalesceOne(innerShape, axes.map((a) => src.strides[a]!));
  const nOut = numel(outer.shape);
  const L = numel(innerShape);
  const shape = src.shape.filter((_, i) => !axes.includes(i));
  const values = emptyTensor(shape);
  const indices = withIndex ? emptyTensor(shape, 'int32') : undefined;
  if (nOut === 0) return { values, indices };
  if (L === 0) throw new Error(`glassbox.${op}: cannot reduce over an empty dimension (shape ${shapeStr(x.shape)})`);
  const innerS = inner.shape.length ? inner : { shape: [1], strides: [0] };
  const variant = L >= 128 ? 'workgroup' : 'row';
  const chunks = !withIndex && variant === 'workgroup' && nOut < 32 && L >= SPLIT_MIN_ROW ? Math.min(1024, Math.ceil(L / 8192)) : 1;
  const target = chunks > 1 ? emptyTensor([nOut, chunks]) : values;
  const launch = reduceLaunch({
    op,
    withIndex,
    outerShape: outer.shape,
    outerStrides: outer.strides,
    innerShape: innerS.shape,
    innerStrides: innerS.strides,
    offset: src.offset,
    chunks,
    variant,
    scale: chunks > 1 ? 1 : scale, // split rows: the second pass scales
  });
  dispatch({ ...launch, buffers: [src.storage.buffer, target.storage.buffer, ...(indices ? [indices.storage.buffer] : [])] });
  if (chunks > 1) {
    const second = reduceRaw(op, target, [1], false, scale).values;
    target.dispose();
    const r = reshape(second, shape);
    return { values: r };
  }
  if (src !== x) src.dispose();
  return { values, indices };
}

/**
 * A reduced axis that an expand made (stride 0) repeats one value: a sum multiplies it by the
 * axis's size and max / min keep it, so no kernel needs to walk it (an expanded view can hold 2^32
 * elements or more). Returns x with those axes cut to size 1 and the sum's factor, or undefined
 * where there is none.
 */
function foldRepeatedAxes(op: ReduceOp, x: Tensor, axes: readonly number[]): { view: Tensor; factor: number } | undefined {
  const repeated = axes.filter((a) => x.strides[a] === 0 && x.shape[a]! > 1);
  if (repeated.length === 0) return undefined;
  const factor = op === 'sum' ? repeated.reduce((p, a) => p * x.shape[a]!, 1) : 1;
  return { view: viewOf(x, x.shape.map((d, i) => (repeated.includes(i) ? 1 : d)), x.strides, x.offset), factor };
}

function keepdimShape(x: Tensor, axes: readonly number[]): number[] {
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Broadcasts a reduced gradient (or value) back over the reduced axes. */
function expandBack(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return expand(reshape(g, keepdimShape(x, axes)), x.shape);
}

function finish(raw: Tensor, x: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  return keepdim ? reshape(raw, outShape(x.shape, axes, true)) : raw;
}

export function sum(x: Tensor, opts: ReduceOptions = {}): Tensor {
  checkOptions('sum', opts, REDUCE_OPTIONS);
  const axes = normAxes('sum', opts.dim, x.rank);
  const out = finish(reduceRaw('sum', x, axes, false).values, x, axes, !!opts.keepdim);
  return record('sum', [x], out, (g) => [expandBack(g, x, axes)]);
}

export function mean(x: Tensor, opts: ReduceOptions = {}): Tensor {
  checkOptions('mean', opts, REDUCE_OPTIONS);
  const axes = normAxes('mean', opts.dim, x.rank);
  const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
  // one kernel: the sum scaled by 1 / n as it is stored
  const out = finish(reduceRaw('sum', x, axes, false, 1 / n).values, x, axes, !!opts.keepdim);
  return record('mean', [x], out, (g) => [div(expandBack(g, x, axes), n)]);
}

export function prod(x: Tensor, opts: ReduceOptions = {}): Tensor {
  checkOptions('prod', opts, REDUCE_OPTIONS);
  const axes = normAxes('prod', opts.dim, x.rank);
  const out = finish(reduceRaw('prod', x, axes, false).values, x, axes, !!opts.keepdim);
  return record('prod', [x], out, (g) => [mul(expandBack(g, x, axes), prodOfOthers(x, out, axes))]);
}

/**
 * d prod / d x_i = product of the other elements: prod / x_i where x_i != 0; where x_i is the
 * only zero of its row, the product of the non-zeros; where a row has two zeros, 0.
 */
function prodOfOthers(x: Tensor, out: Tensor, axes: readonly number[]): Tensor {
  const isZero = eq(x, 0);
  const zerosInRow = expandBack(sum(isZero, { dim: axes, keepdim: true }), x, axes);
  const prodNonZero = expandBack(prod(where(isZero, 1, x), { dim: axes, keepdim: true }), x, axes);
  const atZero = mul(prodNonZero, eq(zerosInRow, 1));
  return where(isZero, atZero, div(expandBack(out, x, axes), where(isZero, 1, x)));
}

function extremum(op: 'max' | 'min', name: string, x: Tensor, opts: ReduceOptions): Tensor {
  checkOptions(name, opts, REDUCE_OPTIONS);
  const axes = normAxes(name, opts.dim, x.rank);
  const out = finish(reduceRaw(op, x, axes, false).values, x, axes, !!opts.keepdim);
  // ties share the gradient evenly, as in PyTorch's amax/amin
  return record(name, [x], out, (g) => {
    const mask = eq(x, expandBack(out, x, axes));
    const count = expandBack(sum(mask, { dim: axes, keepdim: true }), x, axes);
    return [div(mul(expandBack(g, x, axes), mask), count)];
  });
}

/** Maximum over axes (all by default); gradient split evenly among ties. */
export const amax = (x: Tensor, opts: ReduceOptions = {}) => extremum('max', 'amax', x, opts);
export const amin = (x: Tensor, opts: ReduceOptions = {}) => extremum('min', 'amin', x, opts);

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

function extremumWithIndex(op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const [axis] = normAxes(op, dim, x.rank) as [number];
  const raw = reduceRaw(op, x, [axis], true);
  const values = finish(raw.values, x, [axis], keepdim);
  const indices = finish(raw.indices!, x, [axis], keepdim);
  record(op, [x], values, (g) => {
    const positions = reshape(arange(x.shape[axis]!, { dtype: 'int32' }), x.shape.map((d, i) => (i === axis ? d : 1)));
    const onehot = eq(positions, expandBack(indices, x, [axis]));
    return [mul(expandBack(g, x, [axis]), onehot)];
  });
  return { values, indices };
}

/** max(x) over everything, or {values, indices} along one dim (like torch.max(x, dim)). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, opts: { dim: number; keepdim?: boolean }): ValuesIndices;
export function max(x: Tensor, opts?: { dim: number; keepdim?: boolean }): Tensor | ValuesIndices {
  if (opts !== undefined) checkOptions('max', opts, { dim: 'integer', keepdim: 'boolean' }, ['dim']);
  return opts ? extremumWithIndex('max', x, opts.dim, !!opts.keepdim) : amax(x);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, opts: { dim: number; keepdim?: boolean }): ValuesIndices;
export function min(x: Tensor, opts?: { dim: number; keepdim?: boolean }): Tensor | ValuesIndices {
  if (opts !== undefined) checkOptions('min', opts, { dim: 'integer', keepdim: 'boolean' }, ['dim']);
  return opts ? extremumWithIndex('min', x, opts.dim, !!opts.keepdim) : amin(x);
}

function argExtremum(op: 'max' | 'min', x: Tensor, opts: { dim?: number; keepdim?: boolean }): Tensor {
  checkOptions(`arg${op}`, opts, { dim: 'integer', keepdim: 'boolean' });
  if (opts.dim === undefined) {
    const flat = reshape(x, [x.size]);
    const r = reduceRaw(op, flat, [0], true);
    r.values.dispose();
    return opts.keepdim ? reshape(r.indices!, x.shape.map(() => 1)) : r.indices!;
  }
  const [axis] = normAxes(`arg${op}`, opts.dim, x.rank) as [number];
  const r = reduceRaw(op, x, [axis], true);
  r.values.dispose();
  return finish(r.indices!, x, [axis], !!opts.keepdim);
}

/** Index (int32) of the maximum along `dim` (of the flattened tensor when omitted); first one on ties. */
export const argmax = (x: Tensor, opts: { dim?: number; keepdim?: boolean } = {}) => argExtremum('max', x, opts);
export const argmin = (x: Tensor, opts: { dim?: number; keepdim?: boolean } = {}) => argExtremum('min', x, opts);

export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: 1 (default, unbiased, like PyTorch) or 0. */
  correction?: number;
}

export function variance(x: Tensor, opts: VarOptions = {}): Tensor {
  checkOptions('var', opts, { ...REDUCE_OPTIONS, correction: 'number' });
  const axes = normAxes('var', opts.dim, x.rank);
  const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
  const centred = sub(x, mean(x, { dim: axes, keepdim: true }));
  return div(sum(square(centred), { dim: axes, keepdim: opts.keepdim }), Math.max(n - (opts.correction ?? 1), 0));
}

export const std = (x: Tensor, opts: VarOptions = {}) => sqrt(variance(x, opts));

/** log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the (constant) max, so it never overflows. */
export function logsumexp(x: Tensor, opts: { dim: number | readonly number[]; keepdim?: boolean }): Tensor {
  checkOptions('logsumexp', opts, REDUCE_OPTIONS, ['dim']);
  const axes = normAxes('logsumexp', opts.dim, x.rank);
  const m = reduceRaw('max', x, axes, false).values;
  const mKeep = reshape(m, keepdimShape(x, axes));
  const out = add(log(sum(exp(sub(x, mKeep)), { dim: axes, keepdim: true })), mKeep);
  return opts.keepdim ? out : reshape(out, outShape(x.shape, axes, false));
}

/** p-norm over axes (p = 2 by default). */
export function norm(x: Tensor, opts: ReduceOptions & { p?: number } = {}): Tensor {
  checkOptions('norm', opts, { ...REDUCE_OPTIONS, p: 'number' });
  const { p = 2, ...reduceOpts } = opts;
  if (p === 2) return sqrt(sum(square(x), reduceOpts));
  if (p === 1) return sum(abs(x), reduceOpts);
  throw new Error(`glassbox.norm: p=${p} is not supported (use 1 or 2)`);
}

/** Sums `g` over the dims that broadcasting expanded, so it has `shape` (the adjoint of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  const summed = axes.length ? sum(g, { dim: axes, keepdim: true }) : g;
  return reshape(summed, shape);
}

