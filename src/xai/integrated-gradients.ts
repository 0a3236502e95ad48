/**
 * Integrated Gradients (Sundararajan, Taly, Yan 2017, "Axiomatic Attribution for Deep Networks",
 * eq. 1 and its Riemann approximation, eq. 3):
 *   IG_i(x) = (x_i - x'_i) * int_0^1 dF(x' + a (x - x')) / dx_i da
 *          ~= (x_i - x'_i) * sum_k w_k dF(x' + a_k (x - x')) / dx_i
 * with quadrature nodes a_k and weights w_k from a Riemann rule or Gauss-Legendre. Completeness
 * (the paper's Proposition 1): sum_i IG_i(x) = F(x) - F(x'); the gap measures the quadrature error.
 * All path points of all samples run as rows of batched passes of at most internalBatchSize rows.
 */
import { tensor } from '../tensor/ops/creation.ts';
import { add, mul, sub } from '../tensor/ops/elementwise.ts';
import { sum } from '../tensor/ops/reduce.ts';
import { reshape } from '../tensor/ops/views.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { checkAttributeOptions, type AttributeOptions } from './attribution.ts';
import { makeBaseline, PATH_BASELINE_OPTIONS, type PathBaselineOptions } from './baselines.ts';
import { GradientAttribution, gradientsAtPoints, resolveTarget, rowsOf, scoresAt } from './gradient.ts';
import { registerMethods } from './registry.ts';

export type QuadratureRule = 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'riemann-trapezoid' | 'gauss-legendre';

/** Nodes in [0, 1] and weights summing to 1 of `rule` with `steps` points. */
export function quadrature(rule: QuadratureRule, steps: number): { nodes: Float64Array; weights: Float64Array } {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`glassbox.xai: steps must be a positive integer, got ${steps}`);
  const m = steps;
  const uniform = (node: (k: number) => number) => ({ nodes: Float64Array.from({ length: m }, (_, k) => node(k)), weights: new Float64Array(m).fill(1 / m) });
  switch (rule) {
    case 'riemann-left':
      return uniform((k) => k / m);
    case 'riemann-right':
      return uniform((k) => (k + 1) / m);
    case 'riemann-middle':
      return uniform((k) => (k + 0.5) / m);
    case 'riemann-trapezoid': {
      if (m < 2) throw new Error('glassbox.xai: the trapezoid rule needs at least 2 steps');
      const nodes = Float64Array.from({ length: m }, (_, k) => k / (m - 1));
      const weights = Float64Array.from({ length: m }, (_, k) => (k === 0 || k === m - 1 ? 0.5 : 1) / (m - 1));
      return { nodes, weights };
    }
    case 'gauss-legendre':
      return gaussLegendre(m);
    default:
      throw new Error(`glassbox.xai: unknown quadrature rule '${rule as string}'; use ${['riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid', 'gauss-legendre'].join(', ')}`);
  }
}

/**
 * Gauss-Legendre nodes and weights on [0, 1]: the roots t of the Legendre polynomial P_m by
 * Newton's method from the Tricomi-style guess cos(pi (i + 3/4) / (m + 1/2)), P_m and P_m' by the
 * three-term recurrence j P_j = (2j - 1) t P_{j-1} - (j - 1) P_{j-2}; weights
 * 2 / ((1 - t^2) P_m'(t)^2); then mapped from [-1, 1] to [0, 1] (a = (t + 1) / 2, w / 2).
 */
export function gaussLegendre(m: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(m);
  const weights = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 1;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = t;
      for (let j = 2; j <= m; j++) [p0, p1] = [p1, ((2 * j - 1) * t * p1 - (j - 1) * p0) / j];
      dp = (m * (t * p1 - p0)) / (t * t - 1);
      const step = p1 / dp;
      t -= step;
      if (Math.abs(step) < 1e-15) break;
    }
    // t_i decrease with i; store ascending nodes
    nodes[m - 1 - i] = (t + 1) / 2;
    weights[m - 1 - i] = 1 / ((1 - t * t) * dp * dp);
  }
  return { nodes, weights };
}

export interface IntegratedGradientsOptions extends AttributeOptions, PathBaselineOptions {
  /** Quadrature points on the path (default 50). */
  steps?: number;
  /** Default 'gauss-legendre'. */
  method?: QuadratureRule;
  internalBatchSize?: number;
}

export interface IntegratedGradientsExplanation {
  /** [N, C, H, W], signed. */
  attribution: Tensor;
  /** Per sample: sum of the attribution, F(x) - F(x'), and |sum - delta| / |delta| (completeness error). */
  attributionSum: number[];
  delta: number[];
  relativeError: number[];
}

/** new IntegratedGradients(model).attribute(input, {target, baseline, steps, method}) -> [N, C, H, W]. */
export class IntegratedGradients extends GradientAttribution<IntegratedGradientsOptions> {
  async attribute(input: Tensor, opts: IntegratedGradientsOptions): Promise<Tensor> {
    return (await this.path(input, opts, false)).attribution;
  }

  /** The attribution with its completeness error per sample. */
  async explain(input: Tensor, opts: IntegratedGradientsOptions): Promise<IntegratedGradientsExplanation> {
    const { attribution, check } = await this.path(input, opts, true);
    const [attributionSum, delta] = await Promise.all(check!.map(async (t) => Array.from(await t.toArray())));
    check!.forEach((t) => t.dispose());
    const relativeError = delta!.map((d, i) => Math.abs(attributionSum![i]! - d) / Math.abs(d));
    return { attribution, attributionSum: attributionSum!, delta: delta!, relativeError };
  }

  /** Completeness error against the number of steps (the convergence curve of the catalogue). */
  async convergence(input: Tensor, opts: IntegratedGradientsOptions, stepsList: readonly number[]): Promise<Array<{ steps: number; relativeError: number[]; meanRelativeError: number }>> {
    const curve = [];
    for (const steps of stepsList) {
      const e = await this.explain(input, { ...opts, steps });
      e.attribution.dispose();
      curve.push({ steps, relativeError: e.relativeError, meanRelativeError: e.relativeError.reduce((a, b) => a + b, 0) / e.relativeError.length });
    }
    return curve;
  }

  private async path(input: Tensor, opts: IntegratedGradientsOptions, withCheck: boolean): Promise<{ attribution: Tensor; check?: [Tensor, Tensor] }> {
    const rules = ['=riemann-left', '=riemann-right', '=riemann-middle', '=riemann-trapezoid', '=gauss-legendre'] as const;
    checkAttributeOptions('IntegratedGradients', opts, { ...PATH_BASELINE_OPTIONS, steps: 'number', method: rules, internalBatchSize: 'number' });
    const n = input.shape[0]!;
    const target = await resolveTarget(opts.target, n);
    const { nodes, weights } = quadrature(opts.method ?? 'gauss-legendre', opts.steps ?? 50);
    const m = nodes.length;
    const base = makeBaseline(input, opts.baseline ?? 'black', opts);
    const diff = tidy(() => sub(input, base));
    const alpha = tensor(Float32Array.from(nodes), [m, 1, 1, 1]);
    const forward = (x: Tensor) => this.forward(x);
    const { grads, scores } = gradientsAtPoints(n, m, (s, k) => add(rowsOf(base, s), mul(rowsOf(diff, s), rowsOf(alpha, k))), {
      forward,
      target,
      score: opts.score,
      internalBatchSize: opts.internalBatchSize,
    });
    const attribution = tidy(() => mul(diff, sum(mul(grads, tensor(Float32Array.from(weights), [1, m, 1, 1, 1])), { dim: 1 })));
    const check = withCheck
      ? tidy((): [Tensor, Tensor] => [sum(reshape(attribution, [n, -1]), { dim: 1 }), sub(scoresAt(forward, input, target, opts.score), scoresAt(forward, base, target, opts.score))])
      : undefined;
    [base, diff, alpha, grads, scores].forEach((t) => t.dispose());
    return { attribution, check };
  }
}

registerMethods([
  {
    name: 'integrated-gradients',
    catalogue: 'B2',
    description: 'Integrated Gradients, 50-point Gauss-Legendre, from the all-zero input (pass normalization for a black image) (Sundararajan et al. 2017)',
    output: 'input',
    signed: true,
    create: (model) => new IntegratedGradients(model),
  },
]);
