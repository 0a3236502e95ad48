/**
 * Matrix products. Transposed operands (e.g. the B^T and A^T of the backward pass) are passed
 * to the kernel as a layout flag instead of being copied; broadcast batch dims become a batch
 * stride of 0. The kernel itself is generated per adapter in src/kernels/wgsl/matmul.ts.
 */
import { dispatch, kernelSubgroupSize, kernelTarget } from '../../kernels/runtime.ts';
import { planMatmul } from '../../kernels/wgsl/matmul.ts';
import { isGradEnabled, needsGrad, record } from '../../autograd/node.ts';
import { broadcastShapes, numel, shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { asPlainArray, copyKernel } from './elementwise.ts';
import { sum, sumTo } from './reduce.ts';
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
  // the batch dims must flatten to one evenly strided index; its stride may exceed the matrix size
  // (conv2d reads the first K rows of columns that carry an extra ones row per batch item)
  let batchStride = rows * cols;
  for (let i = batchDims.length - 1; i >= 0; i--) {
    if (batchDims[i] !== 1) {
      batchStride = batchStrides[i]!;
      break;
    }
  }
  let packed = batchStride >= rows * cols;
  let expect = batchStride;
  for (let i = batchDims.length - 1; i >= 0; i--) {
    if (batchDims[i] === 1) continue;
    if (batchStrides[i] !== expect) packed = false;
    expect *= batchDims[i]!;
  }
  if ((normal || trans) && t.offset === 0 && (broadcastAll || packed))
    return { tensor: t, transposed: trans, batchStride: broadcastAll ? 0 : batchStride };
  return { tensor: copyKernel(t), transposed: false, batchStride: numel(batchDims) > 1 ? rows * cols : 0 };
}

/** A bias added by the matmul kernel's epilogue: one value per row ('row') or per column ('col') of each product. */
interface Bias {
  tensor: Tensor;
  along: 'row' | 'col';
}

function matmulCore(a: Tensor, b: Tensor, bias?: Bias, rowSums?: Tensor): Tensor {
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
    { batch, M, N, K, transA: A.transposed, transB: B.transposed, batchStrideA: A.batchStride, batchStrideB: B.batchStride, bias: bias?.along, rowSums: !!rowSums },
    kernelTarget(),
    kernelSubgroupSize(),
  );
  const biasData = bias && asPlainArray(bias.tensor);
  const extra = [...(biasData ? [biasData.t.storage.buffer] : []), ...(rowSums ? [rowSums.storage.buffer] : [])];
  dispatch({ ...launch, buffers: [A.tensor.storage.buffer, B.tensor.storage.buffer, out.storage.buffer, ...extra] });
  // the operands are views made here, or copies where the layout needs one: release them now
  // (the recorded dispatch keeps its buffers until submit) rather than at some later GC
  for (const t of [viewA, viewB, A.tensor, B.tensor]) t.dispose();
  if (biasData?.temporary) biasData.t.dispose();
  return out;
}

/**
 * a @ b plus `bias` [M] added to each row (along 'row') or [N] to each column ('col') of every
 * product, in one kernel; a and b are matrices or batches of them, as in `matmul`. Records one
 * node; the bias gradient sums g over everything but the bias's own axis.
 */
export function matmulAddBias(a: Tensor, b: Tensor, bias: Tensor, along: 'row' | 'col'): Tensor {
  const want = along === 'row' ? a.shape[a.rank - 2] : b.shape[b.rank - 1];
  if (a.rank < 2 || b.rank < 2 || bias.rank !== 1 || bias.shape[0] !== want)
    throw new Error(`glassbox.matmulAddBias: needs matrices and a bias of one value per ${along} (${want}), got ${shapeStr(a.shape)} @ ${shapeStr(b.shape)} + ${shapeStr(bias.shape)}`);
  const out = matmulCore(a, b, { tensor: bias, along });
  const biasAxis = out.rank - (along === 'row' ? 2 : 1);
  const otherAxes = out.shape.map((_, d) => d).filter((d) => d !== biasAxis);
  return record('matmulAddBias', [a, b, bias], out, (g) => {
    // Linear (x @ W^T + b): W's gradient g^T x sums g over the batch too, the bias gradient, in the same kernel
    if (along === 'col' && a.rank === 2 && isTransposedMatrix(b) && needsGrad(b) && needsGrad(bias) && !isGradEnabled()) {
      const [dWT, dBias] = productWithRowSums(transpose(g, 0, 1), a);
      return [operandGradients(a, b, g, false)[0], transpose(dWT, 0, 1), dBias];
    }
    return [...operandGradients(a, b, g), needsGrad(bias) ? sum(g, { dim: otherAxes }) : null];
  }, {}, { along });
}

/** a @ b for 2-D a [M, K] and b [K, N], and the row sums of a ([M]), from one kernel; records nothing. */
function productWithRowSums(a: Tensor, b: Tensor): [Tensor, Tensor] {
  const rowSums = emptyTensor([a.shape[0]!]);
  return [matmulCore(a, b, undefined, rowSums), rowSums];
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
  return record('matmul', [a, b], out, (g) => operandGradients(a, b, g));
}

/** The gradients of a @ b with respect to a and b (null where not needed, or b's not wanted), given the output's gradient g. */
function operandGradients(a: Tensor, b: Tensor, g: Tensor, wantB = true): [Tensor | null, Tensor | null] {
  return [
    needsGrad(a) ? (isTransposedMatrix(a) && b.rank === 2 ? transpose(matmul(b, transpose(g, 0, 1)), 0, 1) : sumTo(matmul(g, transpose(b, -1, -2)), a.shape)) : null,
    wantB && needsGrad(b) ? (isTransposedMatrix(b) && a.rank === 2 ? transpose(matmul(transpose(g, 0, 1), a), 0, 1) : sumTo(matmul(transpose(a, -1, -2), g), b.shape)) : null,
  ];
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

/** y = x W^T + b with PyTorch's weight layout [out, in]; the bias is added by the matmul kernel. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.rank !== 2) throw new Error(`glassbox.linear: weight must be [out, in], got ${shapeStr(weight.shape)}`);
  const [outFeatures, inFeatures] = weight.shape as [number, number];
  if (x.shape[x.rank - 1] !== inFeatures)
    throw new Error(`glassbox.linear: input features ${x.shape[x.rank - 1]} (input ${shapeStr(x.shape)}) do not match weight ${shapeStr(weight.shape)} (expects ${inFeatures})`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures))
    throw new Error(`glassbox.linear: bias must be [${outFeatures}] (one per output feature), got ${shapeStr(bias.shape)}`);
  if (x.rank !== 2) return reshape(linear(reshape(x, [-1, inFeatures]), weight, bias), [...x.shape.slice(0, -1), outFeatures]);
  const wT = transpose(weight, 0, 1);
  return bias ? matmulAddBias(x, wT, bias, 'col') : matmul(x, wT);
}
