/**
 * The op names the tape records: the names `withBackwardRule` accepts, each with its inputs (in
 * the order a rule's `ctx.inputs` and its returned gradients follow) and the options a rule sees
 * in `ctx.options`. `record()` refuses a name missing here, so an op that starts recording a new
 * name fails its first test until it is listed, and tests/public-api.test.ts checks that every
 * name listed is one an op records: the table cannot drift from the ops.
 *
 * Layers record the ops they are built from: nn.Linear records 'matmulAddBias' (inputs x, W^T,
 * bias; 'matmul' without a bias), nn.Conv2d 'conv2d', nn.ReLU 'relu', nn.MaxPool2d 'maxPool2d'
 * (a ReLU followed by a MaxPool2d in a Sequential runs fused as 'reluMaxPool2d', unfused again
 * where a rule for 'relu' or 'maxPool2d' is active). To attach a rule to a layer instead of an
 * op, use `nn.withModuleRule` (src/nn/module-rule.ts), which records 'module'.
 */

/** Name -> "inputs; options" as a rule sees them. */
export const RECORDED_OPS: Readonly<Record<string, string>> = Object.freeze({
  // elementwise, one input (options: the op's scalar parameters)
  neg: 'x', exp: 'x', log: 'x', sqrt: 'x', rsqrt: 'x', abs: 'x', sin: 'x', cos: 'x', tanh: 'x', sigmoid: 'x',
  relu: 'x', square: 'x', reciprocal: 'x', erf: 'x', gelu: 'x', tanhGelu: 'x (gelu with {approximate: "tanh"})', silu: 'x',
  log1p: 'x', expm1: 'x',
  sign: 'x (zero gradient)', floor: 'x (zero gradient)', ceil: 'x (zero gradient)', round: 'x (zero gradient)',
  leakyRelu: 'x; options {negativeSlope}', elu: 'x; options {alpha}', softplus: 'x; options {beta, threshold}',
  clamp: 'x; options {min, max}', powScalar: 'x; options {exponent}',
  reluBackward: "g, x (relu's backward; x only selects, its gradient is zero)",
  // elementwise, two inputs (only the tensor operands are inputs: add(x, 1) has inputs [x])
  add: 'a, b', sub: 'a, b', mul: 'a, b', div: 'a, b', pow: 'a, b', maximum: 'a, b', minimum: 'a, b', atan2: 'y, x',
  where: 'a, b (the tensor branches; the condition is not an input)',
  // products and convolutions
  matmul: 'a, b (nn.Linear without bias: x, W^T)',
  matmulAddBias: "a, b, bias; options {along: 'row' | 'col'} (nn.Linear: x, W^T, bias, along 'col')",
  conv2d: 'x, weight[, bias where groups = 1]; options {stride, padding, dilation, groups} (padding: the rows / columns before the image)',
  convTranspose2d: "g, weight (conv2d's input gradient); options {stride, padding, dilation, groups}",
  unfold: 'x; options {kernelSize, stride, padding, dilation}',
  fold: 'cols; options {kernelSize, stride, padding, dilation}',
  // pooling (saved.indices: the argmax of each window)
  maxPool2d: 'x; options {kernelSize, stride, padding, dilation}',
  reluMaxPool2d: 'x (relu then maxPool2d, fused); options {kernelSize, stride, padding, dilation}',
  maxPool2dBackward: "g, x (maxPool2d's backward; x only chooses the argmax, its gradient is zero)",
  avgPool2d: 'x; options {kernelSize, stride, padding}',
  avgPool2dBackward: "g (avgPool2d's backward)",
  // reductions
  sum: 'x', mean: 'x', prod: 'x', amax: 'x', amin: 'x', max: 'x (max along a dim)', min: 'x (min along a dim)',
  // views and copies
  contiguous: 'x', reshape: 'x', view: 'x', permute: 'x', expand: 'x', slice: 'x', slice_backward: "g (slice's backward)",
  cat: 'the tensors, in order', pad: 'x',
  // indexing, normalisation, losses
  gather: 'x', scatterAdd: 'x, src', batchNorm: 'x, weight, bias', crossEntropy: 'scores',
  // resampling (affineGrid is a matmul)
  gridSample: "input, grid; options {mode, paddingMode, alignCorners}",
  // modules under nn.withModuleRule
  module: "the module's tensor inputs; options {module}",
});

/** Every op name the engine records, sorted: the names withBackwardRule accepts. */
export function recordedOpNames(): string[] {
  return Object.keys(RECORDED_OPS).sort();
}

export function isRecordedOp(op: string): boolean {
  return Object.prototype.hasOwnProperty.call(RECORDED_OPS, op);
}

/** The error for a name no op records, listing the ones that exist. */
export function unknownOpError(where: string, op: unknown): Error {
  const hint = op === 'linear' ? " (nn.Linear records 'matmulAddBias', or 'matmul' without a bias; nn.withModuleRule attaches a rule to a layer)" : '';
  return new Error(`glassbox.${where}: no op records the name ${JSON.stringify(op)}${hint}. Known op names: ${recordedOpNames().join(', ')}`);
}
