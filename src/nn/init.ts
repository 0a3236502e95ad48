/** PyTorch's default initialisations, on the engine's seeded generator. */
import { uniform } from '../tensor/ops/creation.ts';
import type { Shape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** fan_in of a weight [out, in, ...kernel]: in * prod(kernel). */
export function fanIn(shape: Shape): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * PyTorch's default for Linear and Conv weights: kaiming_uniform_(a = sqrt(5)), which works out
 * to U(-1/sqrt(fan_in), 1/sqrt(fan_in)); biases use the same bound.
 */
export function defaultWeight(shape: Shape): Tensor {
  const bound = 1 / Math.sqrt(Math.max(fanIn(shape), 1));
  return uniform(shape, -bound, bound);
}

export function defaultBias(size: number, fanInOfWeight: number): Tensor {
  const bound = 1 / Math.sqrt(Math.max(fanInOfWeight, 1));
  return uniform([size], -bound, bound);
}

/** He (Kaiming) normal-like uniform init for ReLU nets: U(-b, b) with b = sqrt(6 / fan_in). */
export function kaimingUniform(shape: Shape): Tensor {
  const bound = Math.sqrt(6 / Math.max(fanIn(shape), 1));
  return uniform(shape, -bound, bound);
}
