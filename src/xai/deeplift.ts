/**
 * DeepLIFT with the rescale rule (Shrikumar, Greenside, Kundaje 2017, "Learning Important
 * Features Through Propagating Activation Differences", sec. 3.3, eq. 3 and the chain rule for
 * multipliers, sec. 3.5). The input x and the baseline x0 run forward together as one batch
 * [x; x0]; the backward then uses, instead of each nonlinearity's local derivative, the multiplier
 *   m = (f(x) - f(x0)) / (x - x0)      (the gradient where |x - x0| < EPS, the paper's limit)
 * Linear ops (conv, matmul, average pooling, reshapes) keep their gradient, which is already
 * their multiplier. The attributions are the input multipliers times (x - x0).
 *
 * Max pooling (as Captum's DeepLift does): the difference of each window's output,
 * dy = max(y, y0) - y0 + (y - max(y, y0)), is routed to the argmax of x (first term) and to the
 * argmax of x0 (second), and the multiplier of an input position is what it received / (x - x0).
 * Each window then passes on exactly g * dy, so with max pooling too the rule is exact.
 *
 * Summation-to-delta (eq. 1): sum of the attributions = S(x) - S(x0) for the logit, exactly up to
 * float rounding and the EPS fallback (each rule above passes on exactly g * (f(x) - f(x0))). The
 * softmax of 'probability' scores keeps its gradient, so for those scores it is approximate.
 */
import { withBackwardRule, type BackwardRule } from '../autograd/node.ts';
import { grad } from '../autograd/backward.ts';
import { zerosLike } from '../tensor/ops/creation.ts';
import { abs, add, div, lt, maximum, mul, sub, where } from '../tensor/ops/elementwise.ts';
import { sum } from '../tensor/ops/reduce.ts';
import { cat, reshape, slice } from '../tensor/ops/views.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { checkAttributeOptions, targetScores, type AttributeOptions } from './attribution.ts';
import { makeBaseline, PATH_BASELINE_OPTIONS, type PathBaselineOptions } from './baselines.ts';
import { GradientAttribution, resolveTarget, targetForRows } from './gradient.ts';
import { registerMethods } from './registry.ts';

/** |x - x0| below which the multiplier is the gradient (float32 activations are O(1)). */
const EPS = 1e-6;

/** Elementwise nonlinearities that get the rescale rule. */
export const RESCALE_OPS = ['relu', 'sigmoid', 'tanh', 'gelu', 'tanhGelu', 'silu', 'elu', 'leakyRelu', 'softplus'] as const;

/** The input half and the baseline half of a [2N, ...] tensor. */
function halves(t: Tensor): [Tensor, Tensor] {
  const n = t.shape[0]! / 2;
  return [slice(t, 0, { start: 0, end: n }), slice(t, 0, { start: n, end: 2 * n })];
}

/** Multipliers for the input half where |dx| >= EPS (received / dx), the gradient elsewhere; zero for the baseline half. */
function multipliers(received: Tensor, dx: Tensor, gradient: Tensor): Tensor[] {
  const small = lt(abs(dx), EPS);
  const m = where(small, halves(gradient)[0], div(received, where(small, 1, dx)));
  return [cat([m, zerosLike(m)], 0)];
}

/** Rescale rule for y = f(x) elementwise: g * (f(x) - f(x0)) / (x - x0). */
const rescaleRule: BackwardRule = ({ inputs, output, gradOutput, defaultBackward }) => {
  const [x, x0] = halves(inputs[0]!);
  const [y, y0] = halves(output);
  const [g] = halves(gradOutput);
  return multipliers(mul(g, sub(y, y0)), sub(x, x0), defaultBackward(gradOutput)[0]!);
};

/** Max pooling (see the file comment): route g * dy to both argmaxes, divide by dx. */
const maxPoolRule: BackwardRule = ({ inputs, output, gradOutput, defaultBackward }) => {
  const [x, x0] = halves(inputs[0]!);
  const [y, y0] = halves(output);
  const [g] = halves(gradOutput);
  const top = maximum(y, y0);
  // the pool's own backward sends row i of its argument to row i's argmax: x's for the first half, x0's for the second
  const [atX, atX0] = halves(defaultBackward(cat([mul(g, sub(top, y0)), mul(g, sub(y, top))], 0))[0]!);
  return multipliers(add(atX, atX0), sub(x, x0), defaultBackward(gradOutput)[0]!);
};

const deepLiftRule: BackwardRule = (ctx) => (ctx.op === 'maxPool2d' ? maxPoolRule(ctx) : rescaleRule(ctx));

export interface DeepLiftOptions extends AttributeOptions, PathBaselineOptions {
  /** Samples per forward/backward (each runs with its baseline: 2 rows per sample). Default: all. */
  internalBatchSize?: number;
}

export interface DeepLiftExplanation {
  attribution: Tensor;
  /** Per sample: sum of the attribution and S(x) - S(x0) (summation-to-delta). */
  attributionSum: number[];
  delta: number[];
}

/** new DeepLift(model).attribute(input, {target, baseline}) -> [N, C, H, W], signed. */
export class DeepLift extends GradientAttribution<DeepLiftOptions> {
  async attribute(input: Tensor, opts: DeepLiftOptions): Promise<Tensor> {
    const { attribution, delta } = await this.run(input, opts);
    delta.dispose();
    return attribution;
  }

  /** The attribution with both sides of summation-to-delta per sample. */
  async explain(input: Tensor, opts: DeepLiftOptions): Promise<DeepLiftExplanation> {
    const { attribution, delta } = await this.run(input, opts);
    const [attributionSum, d] = await Promise.all([tidy(() => sum(reshape(attribution, [input.shape[0]!, -1]), { dim: 1 })), delta].map(async (t) => {
      const a = Array.from(await t.toArray());
      t.dispose();
      return a;
    }));
    return { attribution, attributionSum: attributionSum!, delta: d! };
  }

  private async run(input: Tensor, opts: DeepLiftOptions): Promise<{ attribution: Tensor; delta: Tensor }> {
    checkAttributeOptions('DeepLift', opts, { ...PATH_BASELINE_OPTIONS, internalBatchSize: 'number' });
    const n = input.shape[0]!;
    const target = await resolveTarget(opts.target, n);
    const base = makeBaseline(input, opts.baseline ?? 'black', opts);
    const size = opts.internalBatchSize ?? n;
    const parts: Array<{ attribution: Tensor; delta: Tensor }> = [];
    for (let start = 0; start < n; start += size) {
      const end = Math.min(n, start + size);
      const samples = Array.from({ length: end - start }, (_, j) => start + j);
      parts.push(
        tidy(() =>
          withBackwardRule([...RESCALE_OPS, 'maxPool2d'], deepLiftRule, () => {
            const x = slice(input, 0, { start, end });
            const x0 = slice(base, 0, { start, end });
            const both = cat([x, x0], 0).detach().requiresGrad_();
            const [out, out0] = halves(this.forward(both));
            const rows = targetForRows(target, samples);
            const s = targetScores(out!, rows, opts.score);
            const [g] = grad(sum(s), both);
            return { attribution: mul(halves(g!)[0], sub(x, x0)), delta: sub(s, targetScores(out0!, rows, opts.score)).detach() };
          }),
        ),
      );
    }
    base.dispose();
    if (parts.length === 1) return parts[0]!;
    const joined = tidy(() => ({ attribution: cat(parts.map((p) => p.attribution), 0), delta: cat(parts.map((p) => p.delta), 0) }));
    parts.forEach((p) => (p.attribution.dispose(), p.delta.dispose()));
    return joined;
  }
}

registerMethods([
  {
    name: 'deeplift',
    catalogue: 'B3',
    description: 'DeepLIFT rescale rule from the all-zero input (pass normalization for a black image) (Shrikumar et al. 2017)',
    output: 'input',
    signed: true,
    create: (model) => new DeepLift(model),
  },
]);
