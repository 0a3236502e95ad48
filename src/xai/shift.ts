/**
 * Softmax shift invariance (catalogue C3; Srinivas & Fleuret 2021, "Rethinking the role of
 * gradient-based attribution methods for model interpretability", sec. 3): softmax(z + g(x) 1) =
 * softmax(z) for any scalar function g of the input, so adding the same g(x) to every logit leaves
 * every prediction and probability as it was, while the input gradient of each logit becomes
 * d z_k / dx + d g / dx: logit-gradient maps can be made anything without changing the classifier.
 * The gradients of the probabilities do not move, since d softmax / d g = 0.
 *
 * `LogitShift` wraps a model with such a g; `SquaredNormShift` and `RandomConvShift` are two
 * choices of g; `compareUnderShift` measures all three claims on a batch.
 */
import { Module } from '../nn/module.ts';
import { Conv2d } from '../nn/conv-layers.ts';
import { Linear } from '../nn/layers.ts';
import { grad } from '../autograd/backward.ts';
import { noGrad } from '../autograd/node.ts';
import { add, mul, square, sub, tanh } from '../tensor/ops/elementwise.ts';
import { softmax } from '../tensor/ops/activation.ts';
import { argmax, mean, sum } from '../tensor/ops/reduce.ts';
import { reshape } from '../tensor/ops/views.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import type { Target } from './attribution.ts';
import { withSeed } from './baselines.ts';
import { Saliency } from './gradient.ts';

/** The model with g(x) [N, 1] added to every logit: output [N, classes]. */
export class LogitShift extends Module {
  constructor(
    readonly model: Module,
    readonly shift: Module,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return add(this.model.forward(x), this.shift.forward(x));
  }
}

/** g(x) = scale * sum of x^2 over every input value: [N, 1]; its gradient 2 * scale * x is the input itself. */
export class SquaredNormShift extends Module {
  constructor(readonly scale = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    const dims = x.shape.slice(1).map((_, k) => k + 1);
    return mul(reshape(sum(square(x), { dim: dims }), [x.shape[0]!, 1]), this.scale);
  }
}

/**
 * g(x) = scale * linear(mean over positions of tanh(conv3x3(x))): a small random conv net, its
 * weights drawn with the engine's default init from `seed`. Its gradient is an arbitrary-looking
 * picture that has nothing to do with the classifier. The spatial mean divides its per-pixel
 * gradient by H*W, hence the large default scale (grad g then about as large as a LeNet logit's).
 */
export class RandomConvShift extends Module {
  conv: Conv2d;
  fc: Linear;
  constructor(
    channels: number,
    readonly scale = 1000,
    seed = 0,
    hidden = 8,
  ) {
    super();
    [this.conv, this.fc] = withSeed(seed, () => [new Conv2d(channels, hidden, 3, { padding: 1 }), new Linear(hidden, 1)] as const);
  }
  forward(x: Tensor): Tensor {
    return mul(this.fc.forward(mean(tanh(this.conv.forward(x)), { dim: [2, 3] })), this.scale);
  }
}

export interface ShiftComparison {
  /** Predicted classes of the model and of the shifted model. */
  predicted: number[];
  predictedShifted: number[];
  /** max |softmax(shifted) - softmax(original)| over the batch. */
  maxProbabilityChange: number;
  /** Signed input gradients [N*C*H*W] of the target logit: original, shifted, and of g itself. */
  logitGradient: Float32Array;
  logitGradientShifted: Float32Array;
  shiftGradient: Float32Array;
  /** Signed input gradients of the target probability: original and shifted. */
  probabilityGradient: Float32Array;
  probabilityGradientShifted: Float32Array;
}

/** Gradients of the target score (signed, per channel) for `model`, as an array. */
async function signedGradient(model: Module, input: Tensor, target: Target, score: 'logit' | 'probability'): Promise<Float32Array> {
  const g = await new Saliency(model).attribute(input, { target, score, abs: false, reduce: 'none' });
  const values = Float32Array.from(await g.toArray());
  g.dispose();
  return values;
}

/** Everything C3 claims, measured on `input` [N, C, H, W] for `target` (e.g. the predicted classes). */
export async function compareUnderShift(model: Module, shift: Module, input: Tensor, target: Target): Promise<ShiftComparison> {
  const shifted = new LogitShift(model, shift);
  const outputs = tidy(() =>
    noGrad(() => {
      const [z, zs] = [model.forward(input), shifted.forward(input)];
      return [argmax(z, { dim: 1 }), argmax(zs, { dim: 1 }), sub(softmax(zs, 1), softmax(z, 1))];
    }),
  );
  const [predicted, predictedShifted, probabilityChange] = await Promise.all(outputs.map((t) => t.toArray()));
  outputs.forEach((t) => t.dispose());
  const shiftGrad = tidy(() => {
    const x = input.detach().requiresGrad_();
    return grad(sum(reshape(shift.forward(x), [input.shape[0]!])), x)[0]!;
  });
  const shiftGradient = Float32Array.from(await shiftGrad.toArray());
  shiftGrad.dispose();
  return {
    predicted: Array.from(predicted!),
    predictedShifted: Array.from(predictedShifted!),
    maxProbabilityChange: Array.from(probabilityChange!).reduce((m, v) => Math.max(m, Math.abs(v)), 0),
    logitGradient: await signedGradient(model, input, target, 'logit'),
    logitGradientShifted: await signedGradient(shifted, input, target, 'logit'),
    shiftGradient,
    probabilityGradient: await signedGradient(model, input, target, 'probability'),
    probabilityGradientShifted: await signedGradient(shifted, input, target, 'probability'),
  };
}
