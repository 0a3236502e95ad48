/**
 * Matrix products. Transposed operands (e.g. the B^T and A^T of the backward pass) are passed
 * to the kernel as a layout flag instead of being copied; broadcast batch dims become a batch
 * stride of 0. The kernel itself is generated per adapter in src/kernels/wgsl/matmul.ts.
 */
import { dispatch, kernelSubgroupSize, kernelTarget } from '../../kernels/runtime.ts';
import { planMatmul } from '../../kernels/wgsl/matmul.ts';
import { needsGrad, record } from '../../autograd/node.ts';
import { broadcastShapes, numel, shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { add, copyKernel } from './elementwise.ts';
import { sumTo } from './reduce.ts';
import { expand, reshape, squeeze, transpose, unsqueeze } from './views.ts';

interface Operand {
  tensor: Tensor;
  transposed: boolean;
  batchStride: number;
}

/** How the kernel can read `t` (batch dims already expanded to the output's): no copy when the layout allows. */
function asOperand(t: Tensor, rows: number, cols: number): Operand {
  const rank = t.rank;
  const [rs, cs] = [t.strides[rank - 2]!, t.strides[rank - 1]!];
  const normal = (cols === 1 || cs === 1) && (rows === 1 || rs === cols);
  const trans = !normal && (rows === 1 || rs === 1) && (cols === 1 || cs === rows);
  const batchDims = t.shape.slice(0, -2);
  const batchStrides = t.strides.slice(0, -2);
  const broadcastAll = batchDims.every((d, i) => d === 1 || batchStrides[i] === 0);
  let packed = true;
  let expect = rows * cols;
  for (let i = batchDims.length - 1; i >= 0; i--) {
    if (batchDims[i] === 1) continue;
    if (batchStrides[i] !== expect) packed = false;
    expect *= batchDims[i]!;
  }
  if ((normal || trans) && t.offset === 0 && (broadcastAll || packed))
    return { tensor: t, transposed: trans, batchStride: broadcastAll ? 0 : rows * cols };
  return { tensor: copyKernel(t), transposed: false, batchStride: numel(batchDims) > 1 ? rows * cols : 0 };
}

function matmulCore(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.rank - 2]!;
  const K = a.shape[a.rank - 1]!;
  const N = b.shape[b.rank - 1]!;
  if (b.shape[b.rank - 2] !== K)
    throw new Error(`glassbox.matmul: inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} (${K} vs ${b.shape[b.rank - 2]}); the last dim of a must equal the second-to-last of b`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`glassbox.matmul: needs float32 operands, got ${a.dtype} and ${b.dtype}; cast with .float()`);
  const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numel(batchShape);
  const out = emptyTensor([...batchShape, M, N]);
  if (numel(out.shape) === 0) return out;
  const viewA = expand(a, [...batchShape, M, K]);
  const viewB = expand(b, [...batchShape, K, N]);
  const A = asOperand(viewA, M, K);
  const B = asOperand(viewB, K, N);
  const launch = planMatmul(
    { batch, M, N, K, transA: A.transposed, transB: B.transposed, batchStrideA: A.batchStride, batchStrideB: B.batchStride },
    kernelTarget(),
    kernelSubgroupSize(),
  );
  dispatch({ ...launch, buffers: [A.tensor.storage.buffer, B.tensor.storage.buffer, out.storage.buffer] });
  // the operands are views made here, or copies where the layout needs one: release them now
  // (the recorded dispatch keeps its buffers until submit) rather than at some later GC
  for (const t of [viewA, viewB, A.tensor, B.tensor]) t.dispose();
  return out;
}

/** Matrix product with PyTorch's rules: 1-D operands are vectors, leading dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new Error(`glassbox.matmul: operands must be at least 1-D, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.rank === 1 || b.rank === 1) {
    // vectors become [1, K] / [K, 1] matrices, and the added dims are removed again
    const out = matmul(a.rank === 1 ? unsqueeze(a, 0) : a, b.rank === 1 ? unsqueeze(b, 1) : b);
    const once = b.rank === 1 ? squeeze(out, -1) : out;
    return a.rank === 1 ? squeeze(once, b.rank === 1 ? -1 : -2) : once;
  }
  const out = matmulCore(a, b);
  return record('matmul', [a, b], out, (g) => [
    needsGrad(a) ? (isTransposedMatrix(a) && b.rank === 2 ? transpose(matmul(b, transpose(g, 0, 1)), 0, 1) : sumTo(matmul(g, transpose(b, -1, -2)), a.shape)) : null,
    needsGrad(b) ? (isTransposedMatrix(b) && a.rank === 2 ? transpose(matmul(transpose(g, 0, 1), a), 0, 1) : sumTo(matmul(transpose(a, -1, -2), g), b.shape)) : null,
  ]);
}

/**
 * A 2-D operand that is the transposed view of a contiguous matrix (Linear's W^T). Its gradient
 * is computed as the transpose of a contiguous product, so that after the transpose's own
 * backward it reaches W contiguous: the optimiser then reads it in order instead of strided
 * (a strided read made SGD's update of LeNet's 400x120 weight ~7x slower on lavapipe).
 */
function isTransposedMatrix(t: Tensor): boolean {
  return t.rank === 2 && t.shape[0]! > 1 && t.shape[1]! > 1 && t.strides[0] === 1 && t.strides[1] === t.shape[0];
}

/** y = x W^T + b with PyTorch's weight layout [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.rank !== 2) throw new Error(`glassbox.linear: weight must be [out, in], got ${shapeStr(weight.shape)}`);
  if (x.shape[x.rank - 1] !== weight.shape[1])
    throw new Error(`glassbox.linear: input features ${x.shape[x.rank - 1]} (input ${shapeStr(x.shape)}) do not match weight ${shapeStr(weight.shape)} (expects ${weight.shape[1]})`);
  const y = x.rank === 2 ? matmul(x, transpose(weight, 0, 1)) : reshape(matmul(reshape(x, [-1, weight.shape[1]!]), transpose(weight, 0, 1)), [...x.shape.slice(0, -1), weight.shape[0]!]);
  return bias ? add(y, bias) : y;
}
