/**
 * glassbox: tensors, reverse-mode autodiff and WGSL kernels on WebGPU.
 * Importing this module acquires the WebGPU device (top-level await).
 */
import { initRuntime } from './kernels/runtime.ts';
import './tensor/methods.ts';

export { Tensor, tidy, keep, type DType } from './tensor/tensor.ts';
export { tidyAsync } from './tensor/tidy-async.ts';
export { read, readItem } from './tensor/read.ts';
export * from './tensor/ops/creation.ts';
export * from './tensor/ops/elementwise.ts';
export * from './tensor/ops/reduce.ts';
export * from './tensor/ops/views.ts';
export * from './tensor/ops/indexing.ts';
export * from './tensor/ops/matmul.ts';
export * from './tensor/ops/activation.ts';
export * from './tensor/ops/loss.ts';
export * from './tensor/ops/conv.ts';
export * from './tensor/ops/pool.ts';
export * from './tensor/ops/resample.ts';
export * from './tensor/ops/grid-sample.ts';
export * from './tensor/ops/norm.ts';
export { roll } from './tensor/ops/roll.ts';
export { normalization, normalize, denormalize, type Normalization } from './data/normalization.ts';
export { modelMetadata, describeModel, type ModelDescription } from './nn/model-metadata.ts';
export { backward, grad, type GradOptions } from './autograd/backward.ts';
export { noGrad, enableGrad, isGradEnabled, withBackwardRule, type BackwardRule, type BackwardRuleContext } from './autograd/node.ts';
export { recordedOpNames, RECORDED_OPS } from './autograd/recorded-ops.ts';
export { setAnomalyDetection, isAnomalyDetectionEnabled } from './autograd/anomaly.ts';
export { memory, sync, setBindGroupCacheLimit, setKernelTarget, kernelTarget, setSubgroupsEnabled, kernelSubgroupSize, type MemoryReport } from './kernels/runtime.ts';
export { SETUP_HINT, nodeGpuObject } from './kernels/gpu.ts';
export * as nn from './nn/index.ts';
export * as models from './nn/models/index.ts';
export * as optim from './train/index.ts';
export * as xai from './xai/index.ts';
export * as viz from './viz/index.ts';

/** Acquires the WebGPU device; importing glassbox already did, so this only returns its description. */
export async function init() {
  const rt = await initRuntime();
  return { adapter: rt.ctx.adapterInfo, target: rt.target, subgroupSize: rt.ctx.subgroupSize };
}

await initRuntime();
