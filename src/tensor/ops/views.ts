/**
 * Views (reshape, permute, expand, slice, ...) share storage and only change shape, strides
 * and offset; copies (contiguous, cat, stack, pad, flip) write new storage through the strided
 * elementwise copy. Each op's backward is beside it.
 */
import { record } from '../../autograd/node.ts';
import { checkShape, contiguousStrides, normAxis, numel, resolveShape, shapeStr, type Shape } from '../shape.ts';
import { emptyTensor, viewOf, type Tensor } from '../tensor.ts';
import { copyInto, copyKernel } from './elementwise.ts';
import { full, zeros } from './creation.ts';
import { sumTo } from './reduce.ts';

/** Strides for viewing `t` as `shape` without a copy, or null if its layout does not allow it. */
function viewStrides(t: Tensor, shape: readonly number[]): number[] | null {
  if (t.isContiguous) return contiguousStrides(shape);
  // Split/merge dims of a strided tensor: walk both shapes, matching element-count blocks.
  const oldDims = t.shape.map((d, i) => ({ d, s: t.strides[i]! })).filter((x) => x.d !== 1);
  const out = new Array<number>(shape.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < shape.length || oi < oldDims.length) {
    if (ni < shape.length && shape[ni] === 1) {
      out[ni++] = 1;
      continue;
    }
    if (oi >= oldDims.length || ni >= shape.length) return null;
    // a block of old dims that is contiguous in itself
    let oldCount = oldDims[oi]!.d;
    let newCount = shape[ni]!;
    const blockOld = [oi];
    const blockNew = [ni];
    while (oldCount !== newCount) {
      if (oldCount < newCount) {
        oi++;
        if (oi >= oldDims.length) return null;
        const prev = oldDims[oi - 1]!;
        if (prev.s !== oldDims[oi]!.s * oldDims[oi]!.d) return null;
        oldCount *= oldDims[oi]!.d;
        blockOld.push(oi);
      } else {
        ni++;
        if (ni >= shape.length) return null;
        newCount *= shape[ni]!;
        blockNew.push(ni);
      }
    }
    let stride = oldDims[blockOld[blockOld.length - 1]!]!.s;
    for (let k = blockNew.length - 1; k >= 0; k--) {
      out[blockNew[k]!] = stride;
      stride *= shape[blockNew[k]!]!;
    }
    oi++;
    ni++;
  }
  return out;
}

export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous && x.offset === 0) return x;
  const out = copyKernel(x);
  return record('contiguous', [x], out, (g) => [g]);
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveShape('reshape', x.shape, shape);
  const strides = viewStrides(x, target);
  const out = strides ? viewOf(x, target, strides, x.offset) : reshape(copyKernel(x), target);
  return record('reshape', [x], out, (g) => [reshape(g, x.shape)]);
}

/** Like reshape, but never copies: throws when the layout does not allow a view. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveShape('view', x.shape, shape);
  const strides = viewStrides(x, target);
  if (!strides)
    throw new Error(`glassbox.view: a tensor of shape ${shapeStr(x.shape)} with strides ${shapeStr(x.strides)} cannot be viewed as ${shapeStr(target)} without a copy; use reshape() or .contiguous() first`);
  return record('view', [x], viewOf(x, target, strides, x.offset), (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.rank);
  const e = normAxis('flatten', endDim, x.rank);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const axes = dims.map((d) => normAxis('permute', d, x.rank));
  if (axes.length !== x.rank || new Set(axes).size !== x.rank)
    throw new Error(`glassbox.permute: dims ${shapeStr(dims)} must be a permutation of 0..${x.rank - 1} for a tensor of shape ${shapeStr(x.shape)}`);
  const out = viewOf(x, axes.map((a) => x.shape[a]!), axes.map((a) => x.strides[a]!), x.offset);
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => (inverse[a] = i));
  return record('permute', [x], out, (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normAxis('transpose', dim0, x.rank);
  const b = normAxis('transpose', dim1, x.rank);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** Broadcasts size-1 (or missing leading) dims to `shape` without copying (stride 0). -1 keeps a size. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0) throw new Error(`glassbox.expand: cannot expand shape ${shapeStr(x.shape)} to fewer dims ${shapeStr(shape)}`);
  const target = shape.map((d, i) => (d === -1 ? (i < lead ? -1 : x.shape[i - lead]!) : d));
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const src = x.shape[i - lead]!;
    if (src === d) return x.strides[i - lead]!;
    if (src === 1) return 0;
    throw new Error(`glassbox.expand: cannot expand shape ${shapeStr(x.shape)} to ${shapeStr(shape)} (dim ${i}: ${src} is neither ${d} nor 1)`);
  });
  if (target.some((d) => d < 0)) throw new Error(`glassbox.expand: -1 is not allowed for new leading dims (${shapeStr(shape)})`);
  checkShape('expand', target);
  const out = viewOf(x, target, strides, x.offset);
  return record('expand', [x], out, (g) => [sumTo(g, x.shape)]);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const axes =
    dim === undefined
      ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
      : (typeof dim === 'number' ? [dim] : dim).map((d) => normAxis('squeeze', d, x.rank));
  return reshape(x, x.shape.filter((d, i) => !(axes.includes(i) && d === 1)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis('unsqueeze', dim, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export interface SliceSpec {
  start?: number;
  end?: number;
  step?: number;
}

function resolveSlice(op: string, size: number, s: SliceSpec): { start: number; len: number; step: number } {
  const step = s.step ?? 1;
  if (!Number.isInteger(step) || step < 1) throw new Error(`glassbox.${op}: step must be a positive integer, got ${step}`);
  const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const start = clampIndex(s.start ?? 0);
  const end = clampIndex(s.end ?? size);
  return { start, len: Math.max(0, Math.ceil((end - start) / step)), step };
}

/** Python-style slice along one dim: x[..., start:end:step, ...]. A view. */
export function slice(x: Tensor, dim: number, spec: SliceSpec): Tensor {
  const d = normAxis('slice', dim, x.rank);
  const { start, len, step } = resolveSlice('slice', x.shape[d]!, spec);
  const shape = [...x.shape];
  shape[d] = len;
  const strides = [...x.strides];
  strides[d] = x.strides[d]! * step;
  const out = viewOf(x, shape, strides, x.offset + start * x.strides[d]!);
  return record('slice', [x], out, (g) => [sliceBackward(g, x.shape, d, start, step)]);
}

/** Zeros of `shape` with `g` written at the sliced positions (the adjoint of slice). */
function sliceBackward(g: Tensor, shape: Shape, dim: number, start: number, step: number): Tensor {
  const base = zeros(shape);
  const strides = contiguousStrides(shape);
  const viewStride = [...strides];
  viewStride[dim] = strides[dim]! * step;
  const target = viewOf(base, g.shape, viewStride, start * strides[dim]!);
  copyInto(target, g);
  target.dispose();
  return record('slice_backward', [g], base, (gg) => [slice(gg, dim, { start, end: start + step * g.shape[dim]!, step })]);
}

/** Picks index i along dim and drops the dim (x[..., i, ...]). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normAxis('select', dim, x.rank);
  const size = x.shape[d]!;
  const i = index < 0 ? index + size : index;
  if (i < 0 || i >= size) throw new Error(`glassbox.select: index ${index} is out of range for dim ${dim} of size ${size}`);
  return squeeze(slice(x, d, { start: i, end: i + 1 }), d);
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('glassbox.cat: needs at least one tensor');
  const first = tensors[0]!;
  const d = normAxis('cat', dim, first.rank);
  tensors.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((s, k) => k !== d && s !== first.shape[k]))
      throw new Error(`glassbox.cat: tensor ${i} has shape ${shapeStr(t.shape)}, incompatible with ${shapeStr(first.shape)} outside dim ${d}`);
    if (t.dtype !== first.dtype) throw new Error(`glassbox.cat: tensor ${i} is ${t.dtype}, tensor 0 is ${first.dtype}`);
  });
  const shape = [...first.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const out = emptyTensor(shape, first.dtype);
  const strides = contiguousStrides(shape);
  let at = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(at);
    const target = viewOf(out, t.shape, strides, at * strides[d]!);
    copyInto(target, t);
    target.dispose();
    at += t.shape[d]!;
  }
  return record('cat', [...tensors], out, (g) => tensors.map((t, i) => slice(g, d, { start: starts[i]!, end: starts[i]! + t.shape[d]! })));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('glassbox.stack: needs at least one tensor');
  const d = normAxis('stack', dim, tensors[0]!.rank + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/**
 * Constant padding, PyTorch's F.pad order: [left, right] for the last dim, then
 * [top, bottom] for the one before, and so on. Negative amounts crop.
 */
export function pad(x: Tensor, amounts: readonly number[], value = 0): Tensor {
  if (amounts.length % 2 !== 0 || amounts.length / 2 > x.rank)
    throw new Error(`glassbox.pad: padding ${shapeStr(amounts)} must have 2 entries per padded dim, at most ${2 * x.rank} for shape ${shapeStr(x.shape)}`);
  if (!amounts.every(Number.isSafeInteger)) throw new Error(`glassbox.pad: padding ${shapeStr(amounts)} must be whole numbers of elements`);
  const before = new Array<number>(x.rank).fill(0);
  const after = new Array<number>(x.rank).fill(0);
  for (let k = 0; k < amounts.length / 2; k++) {
    before[x.rank - 1 - k] = amounts[2 * k]!;
    after[x.rank - 1 - k] = amounts[2 * k + 1]!;
  }
  // crop first (negative padding), then pad the rest
  let src = x;
  for (let d = 0; d < x.rank; d++) {
    const lo = Math.max(0, -before[d]!);
    const hi = Math.max(0, -after[d]!);
    if (lo || hi) src = slice(src, d, { start: lo, end: src.shape[d]! - hi });
  }
  const lo = before.map((b) => Math.max(0, b));
  const shape = src.shape.map((s, d) => s + lo[d]! + Math.max(0, after[d]!));
  if (shape.some((s) => s < 0)) throw new Error(`glassbox.pad: padding ${shapeStr(amounts)} crops shape ${shapeStr(x.shape)} below zero`);
  const out = full(shape, value, src.dtype);
  const strides = contiguousStrides(shape);
  const target = viewOf(out, src.shape, strides, lo.reduce((o, l, d) => o + l * strides[d]!, 0));
  copyInto(target, src);
  target.dispose();
  const inner = src;
  return record('pad', [inner], out, (g) => {
    let r = g;
    for (let d = 0; d < shape.length; d++) if (lo[d] || shape[d] !== inner.shape[d]) r = slice(r, d, { start: lo[d]!, end: lo[d]! + inner.shape[d]! });
    return [r];
  });
}

/** The same data, cut off from the graph: gradients do not flow through it. */
export function detach(x: Tensor): Tensor {
  return viewOf(x, x.shape, x.strides, x.offset);
}
