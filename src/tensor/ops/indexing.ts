/** Indexing along an axis with index tensors: gather, scatterAdd, indexSelect, flip, oneHot. */
import { checkIndexRange, indexCheckSite, outOfRange } from '../../autograd/index-check.ts';
import { dispatch } from '../../kernels/runtime.ts';
import { gatherLaunch } from '../../kernels/wgsl/gather.ts';
import { needsGrad, record } from '../../autograd/node.ts';
import { normAxis, shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { arange, zeros } from './creation.ts';
import { asPlainArray, cast, copyInto, eq } from './elementwise.ts';
import { expand, pad, reshape } from './views.ts';

function checkIndex(op: string, x: Tensor, dim: number, index: Tensor): number {
  const d = normAxis(op, dim, x.rank);
  if (index.dtype !== 'int32') throw new Error(`glassbox.${op}: index must be int32, got ${index.dtype} (make it with {dtype: 'int32'})`);
  if (index.rank !== x.rank) throw new Error(`glassbox.${op}: index rank ${index.rank} (shape ${shapeStr(index.shape)}) must equal input rank ${x.rank} (shape ${shapeStr(x.shape)})`);
  index.shape.forEach((s, k) => {
    if (k !== d && s > x.shape[k]!)
      throw new Error(`glassbox.${op}: index shape ${shapeStr(index.shape)} exceeds input shape ${shapeStr(x.shape)} at dim ${k}`);
  });
  return d;
}

/** Where gather and scatterAdd report an index outside dimension `d` of size `size`. */
function siteFor(op: string, d: number, size: number) {
  return indexCheckSite(`${op}|${d}|${size}`, outOfRange(op, `dimension ${d}`, size, `every index along dim ${d} must be in 0..${size - 1}: check how the index tensor was made`));
}

/**
 * out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (torch.gather). An out-of-range index gives
 * NaN there and an error naming it at the next readback.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return gatherAs('gather', x, dim, index);
}

/** gather, reporting bad indices as `op`'s (indexSelect's index is gather's, expanded). */
function gatherAs(op: string, x: Tensor, dim: number, index: Tensor): Tensor {
  const d = checkIndex(op, x, dim, index);
  const src = x.dtype === 'float32' ? x : cast(x, 'float32');
  const out = emptyTensor(index.shape);
  if (out.size > 0) {
    const errors = siteFor(op, d, x.shape[d]!);
    const launch = gatherLaunch({
      site: errors.site,
      mode: 'gather',
      shape: index.shape,
      dim: d,
      dataOffset: src.offset,
      dataStrides: src.strides,
      dimSize: x.shape[d]!,
      indexOffset: index.offset,
      indexStrides: index.strides,
    });
    dispatch({ ...launch, buffers: [index.storage.buffer, src.storage.buffer, out.storage.buffer, errors.buffer] });
  }
  return record('gather', [x], out, (g) => [scatterAdd(zeros(x.shape), d, index, g)]);
}

/** out = x with src[i][j][k] added at x[i][index[i][j][k]][k] for dim 1 (torch.scatter_add). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = checkIndex('scatterAdd', x, dim, index);
  if (src.rank !== index.rank || index.shape.some((s, k) => s > src.shape[k]!))
    throw new Error(`glassbox.scatterAdd: src shape ${shapeStr(src.shape)} must cover index shape ${shapeStr(index.shape)}`);
  const out = freshCopy(x);
  if (index.size > 0) {
    const errors = siteFor('scatterAdd', d, x.shape[d]!);
    const launch = gatherLaunch({
      site: errors.site,
      mode: 'scatter_add',
      shape: index.shape,
      dim: d,
      dataOffset: 0,
      dataStrides: out.strides,
      dimSize: x.shape[d]!,
      indexOffset: index.offset,
      indexStrides: index.strides,
      srcOffset: src.offset,
      srcStrides: src.strides,
    });
    dispatch({ ...launch, buffers: [index.storage.buffer, src.storage.buffer, out.storage.buffer, errors.buffer] });
  }
  return record('scatterAdd', [x, src], out, (g) => [g, needsGrad(src) ? srcGradient(g, d, index, src.shape) : null]);
}

/** The gradient of scatterAdd's src: gathered where index covers src, zero in the rest of src. */
function srcGradient(g: Tensor, dim: number, index: Tensor, srcShape: readonly number[]): Tensor {
  const covered = gather(g, dim, index);
  // pad takes [left, right] pairs from the last dim backwards
  const amounts: number[] = [];
  for (let k = srcShape.length - 1; k >= 0; k--) amounts.push(0, srcShape[k]! - index.shape[k]!);
  return amounts.some((a) => a > 0) ? pad(covered, amounts) : covered;
}

/** A fresh contiguous copy: scatter writes into it in place, so it must never share x's buffer. */
function freshCopy(x: Tensor): Tensor {
  const out = emptyTensor(x.shape, 'float32');
  copyInto(out, x);
  return out;
}

/** Picks entries `index` (1-D int32) along `dim` (torch.index_select). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normAxis('indexSelect', dim, x.rank);
  if (index.rank !== 1) throw new Error(`glassbox.indexSelect: index must be 1-D, got shape ${shapeStr(index.shape)}`);
  const shape = x.shape.map((s, k) => (k === d ? index.shape[0]! : s));
  if (index.dtype !== 'int32') throw new Error(`glassbox.indexSelect: index must be int32, got ${index.dtype} (make it with {dtype: 'int32'})`);
  const idx = expand(reshape(index, x.shape.map((_, k) => (k === d ? index.shape[0]! : 1))), shape);
  return gatherAs('indexSelect', x, d, idx);
}

/** Reverses the order of elements along the given dims. */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  let out = x;
  for (const dim of typeof dims === 'number' ? [dims] : dims) {
    const d = normAxis('flip', dim, x.rank);
    const n = x.shape[d]!;
    out = indexSelect(out, d, arange(n - 1, -1, -1, { dtype: 'int32' }));
  }
  return out;
}

/**
 * One-hot float32 encoding of int32 class indices: shape [...index.shape, numClasses]. An index
 * outside [0, numClasses) raises an error at the next readback, naming `op` (the loss that called).
 */
export function oneHot(index: Tensor, numClasses: number, op = 'oneHot'): Tensor {
  if (index.dtype !== 'int32') throw new Error(`glassbox.${op}: index must be int32, got ${index.dtype}`);
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) throw new Error(`glassbox.${op}: numClasses must be a positive integer, got ${numClasses}`);
  // an index outside [0, numClasses) would give an all-zero row: flagged on the GPU instead
  const plain = asPlainArray(index);
  checkIndexRange(plain.t, numClasses, `${op}|${numClasses}`, outOfRange(op, 'a one-hot encoding', numClasses, `class indices must be in 0..${numClasses - 1}: check the labels against the number of classes`));
  if (plain.temporary) plain.t.dispose();
  return eq(reshape(index, [...index.shape, 1]), arange(numClasses, { dtype: 'int32' }));
}
