/**
 * Manipulated explanations (catalogue C4; Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel
 * 2019, "Explanations can be manipulated and geometry is to blame", eq. 4): a small change of the
 * input x moves its explanation h(x) onto a target map h_t (another image's explanation) while the
 * network's output g(x) stays put:
 *   minimise  ||h(x_adv) - h_t||^2 + gamma ||g(x_adv) - g(x)||^2
 * by Adam on the pixels, kept in [0, 1] (the renderVis loop of src/xai/optimize, on the pixels
 * themselves). h is the explanation of the predicted class as a heat map: |attribution| summed over
 * channels, divided by its sum (the paper's normalisation), g the softmax output.
 *
 * The gradient of h is a second derivative of the network, which is zero almost everywhere for a
 * ReLU net; so, as in the paper (sec. 4), every ReLU module is replaced by softplus(beta) for the
 * optimisation (smoothRelus), and the result is then checked on the real ReLU network with the
 * library's own methods (Saliency, InputXGradient, IntegratedGradients, GuidedBackprop). The
 * paper's defence (sec. 5, "beta-smoothing") reads the same numbers the other way round: the
 * explanation of the smoothed network is itself harder to move for smaller beta.
 */
import { grad } from '../../autograd/backward.ts';
import { enableGrad, noGrad, withBackwardRule, type BackwardRule } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import { ReLU, Sequential, Softplus } from '../../nn/layers.ts';
import type { Module } from '../../nn/module.ts';
import { softmax } from '../../tensor/ops/activation.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { abs, add, clamp, div, mul, neg, relu, square, sub } from '../../tensor/ops/elementwise.ts';
import { amax, argmax, mean, sum } from '../../tensor/ops/reduce.ts';
import { reshape, unsqueeze } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { targetScores } from '../attribution.ts';
import { GuidedBackprop } from '../backprop-rules.ts';
import { makeBaseline } from '../baselines.ts';
import { InputXGradient, Saliency } from '../gradient.ts';
import { IntegratedGradients, quadrature } from '../integrated-gradients.ts';
import { imageParamFrom } from '../optimize/param-from-image.ts';
import type { ImageParam } from '../optimize/param.ts';
import { Objective, type ObjectiveContext } from '../optimize/objectives.ts';
import { renderVis } from '../optimize/render.ts';

/** The explanation methods the attack moves (the paper's gradient, gradient x input, IG and guided backprop). */
export const MANIPULATED_METHODS = ['saliency', 'input-x-gradient', 'ig', 'guided'] as const;
export type ManipulatedMethod = (typeof MANIPULATED_METHODS)[number];

/**
 * Replaces every ReLU module of `model` (in a Sequential's layers or as a module's field) by
 * Softplus(beta) and returns the function that puts the ReLUs back. A Sequential runs a ReLU followed
 * by a MaxPool2d as one fused op only when the layer is a ReLU, so after the swap the softplus and the
 * max pooling run as two ops, each with a differentiable backward (second order works).
 */
export function smoothRelus(model: Module, beta: number): () => void {
  if (!(beta > 0 && Number.isFinite(beta))) throw new Error(`glassbox.xai.attacks: beta must be a positive number (softplus sharpness; 10 is close to ReLU), got ${beta}`);
  const restores: Array<() => void> = [];
  for (const [, m] of model.namedModules()) {
    if (m instanceof Sequential) {
      m.layers.forEach((layer, i) => {
        if (!(layer instanceof ReLU)) return;
        m.layers[i] = new Softplus(beta);
        restores.push(() => (m.layers[i] = layer));
      });
      continue;
    }
    const fields = m as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(fields)) {
      if (value instanceof ReLU) {
        fields[key] = new Softplus(beta);
        restores.push(() => (fields[key] = value));
      } else if (Array.isArray(value))
        value.forEach((v, i) => {
          if (!(v instanceof ReLU)) return;
          value[i] = new Softplus(beta);
          restores.push(() => (value[i] = v));
        });
    }
  }
  return () => restores.reverse().forEach((restore) => restore());
}

/** Throws when the graph of `output` still holds a ReLU op: the model applies relu as a function, out of reach of smoothRelus. */
function checkNoRelu(output: Tensor): void {
  const seen = new Set<Tensor>();
  const stack = [output];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.node) continue;
    seen.add(t);
    if (t.node.op === 'relu' || t.node.op === 'reluMaxPool2d')
      throw new Error(
        `glassbox.xai.attacks: the model applies '${t.node.op}' as a function, not through an nn.ReLU module, so softplus cannot replace it and its second derivative is zero; ` +
          'manipulation needs a model whose ReLUs are modules (e.g. lenet5, mixture-net, cifar-net)',
      );
    stack.push(...t.node.inputs);
  }
}

/**
 * Guided backprop on any activation: the op's own backward applied to the positive part of the
 * incoming gradient. For ReLU this is Springenberg et al.'s relu(g) [x > 0] (guidedReluRule); for
 * softplus, relu(g) sigmoid(beta x), which is differentiable in x.
 */
export const guidedActivationRule: BackwardRule = ({ gradOutput, defaultBackward }) => defaultBackward(relu(gradOutput));

export interface DifferentiableAttributionOptions {
  /** The class explained, one per row. */
  target: readonly number[];
  /** Keep the graph of the attribution (for the gradient of a loss on it). */
  createGraph: boolean;
  /** Integrated Gradients: Gauss-Legendre points on the path (default 16) and the normalisation that defines its black baseline. */
  igSteps?: number;
  normalization?: Normalization;
}

/**
 * The raw attribution [N, C, H, W] of `z` (the model's normalised input) by `method`, as the
 * library computes it (saliency: the signed gradient, as Saliency with abs false and reduce 'none'),
 * but in one graph that stays differentiable in z with createGraph: the IG path sum included, and the
 * guided rule applied to the backward only (the forward's ops keep their true derivatives for the
 * second backward).
 */
export function differentiableAttribution(model: Module, z: Tensor, method: ManipulatedMethod, o: DifferentiableAttributionOptions): Tensor {
  const inputGradient = (points: Tensor, target: readonly number[]) => {
    const scores = sum(targetScores(model.forward(points), [...target]));
    const backward = () => grad(scores, points, { createGraph: o.createGraph })[0]!;
    return method === 'guided' ? withBackwardRule(['relu', 'softplus'], guidedActivationRule, backward) : backward();
  };
  if (method !== 'ig') {
    const g = inputGradient(z, o.target);
    return method === 'input-x-gradient' ? mul(z, g) : g;
  }
  // IG = (z - z0) * sum_k w_k dF(z0 + a_k (z - z0)) / dz, every point of every row in one batch
  const { nodes, weights } = quadrature('gauss-legendre', o.igSteps ?? 16);
  const m = nodes.length;
  const [n, ...item] = z.shape as number[];
  const base = makeBaseline(z, 'black', { normalization: o.normalization });
  const diff = sub(z, base);
  const alpha = tensor(Float32Array.from(nodes), [1, m, 1, 1, 1]);
  const points = reshape(add(unsqueeze(base, 1), mul(unsqueeze(diff, 1), alpha)), [n! * m, ...item]);
  const g = reshape(inputGradient(points, o.target.flatMap((t) => new Array<number>(m).fill(t))), [n!, m, ...item]);
  return mul(diff, sum(mul(g, tensor(Float32Array.from(weights), [1, m, 1, 1, 1])), { dim: 1 }));
}

/** The attribution of the library's own method (the check on the real network). */
export async function libraryAttribution(model: Module, z: Tensor, method: ManipulatedMethod, target: readonly number[], o: { igSteps?: number; normalization?: Normalization } = {}): Promise<Tensor> {
  const t = [...target];
  switch (method) {
    case 'saliency':
      return new Saliency(model).attribute(z, { target: t, abs: false, reduce: 'none' });
    case 'input-x-gradient':
      return new InputXGradient(model).attribute(z, { target: t });
    case 'ig':
      return new IntegratedGradients(model).attribute(z, { target: t, steps: o.igSteps ?? 16, method: 'gauss-legendre', baseline: 'black', normalization: o.normalization });
    case 'guided':
      return new GuidedBackprop(model).attribute(z, { target: t });
    default:
      throw new Error(`glassbox.xai.attacks: unknown explanation method '${method as string}'; use ${MANIPULATED_METHODS.join(', ')}`);
  }
}

/** The heat map the attack compares, [N, H, W]: |attribution| summed over channels, divided by its sum (each map sums to 1). */
export function heatmap(attribution: Tensor): Tensor {
  const h = sum(abs(attribution), { dim: 1 });
  return div(h, add(sum(h, { dim: [1, 2], keepdim: true }), 1e-12));
}

/** Per row: the mean squared difference of two heat maps [N, H, W] -> [N]. */
export const heatmapMse = (a: Tensor, b: Tensor): Tensor => mean(square(sub(a, b)), { dim: [1, 2] });

export interface ManipulationOptions {
  method: ManipulatedMethod;
  /** The model's input normalisation (the pixels are optimised in [0, 1]). */
  normalization: Normalization;
  /** Softplus sharpness during the optimisation (default 10). */
  beta?: number;
  /** Weight of the output term ||g(x_adv) - g(x)||^2 (default 0.1: on the trained LeNet it keeps the softmax output within about 0.03). */
  gamma?: number;
  /** Adam steps (default 300) and learning rate in pixel units (default 1e-3). */
  steps?: number;
  lr?: number;
  /** Integrated Gradients' Gauss-Legendre points (default 16). */
  igSteps?: number;
  /** Largest change of a pixel, L-inf in [0, 1] units (default: none, only the pixel range; the paper sets no budget). */
  epsilon?: number;
  /** After every step: its number (1-based) and the loss of every image. */
  onStep?: (step: number, loss: Float32Array) => void;
}

/** Heat-map distances to the target before and after, per image. */
export interface MapDistances {
  mseBefore: number[];
  mseAfter: number[];
}

export interface ManipulationResult {
  method: ManipulatedMethod;
  beta: number;
  gamma: number;
  /** x_adv, [N, C, H, W] in [0, 1] (the caller disposes it). */
  adversarial: Tensor;
  /** The loss (mean over the images) at every step, on the smoothed network. */
  curve: number[];
  /** On the softplus(beta) network, against the target image's map on that network. */
  smoothed: MapDistances;
  /** On the real ReLU network with the library's method, against the target image's map there. */
  relu: MapDistances & {
    /** max_k |p_k(x_adv) - p_k(x)| of the softmax output. */
    outputChange: number[];
    predictedBefore: number[];
    predictedAfter: number[];
    /** Heat maps [N, H, W] of x, x_adv and the target image (the caller disposes them). */
    maps: { original: Tensor; adversarial: Tensor; target: Tensor };
  };
  /** max |x_adv - x| per image, in pixel units. */
  maxPixelChange: number[];
}

/**
 * The pixel parametrisation, projected after each step onto [x - epsilon, x + epsilon] as well as
 * [0, 1]; `bounds` are the caller's to dispose (the parametrisation's pixels become the result).
 */
function withinBudget(param: ImageParam, images: Tensor, epsilon: number | undefined): { param: ImageParam; bounds: Tensor[] } {
  if (epsilon === undefined) return { param, bounds: [] };
  const [low, high] = noGrad(() => [clamp(sub(images, epsilon), { min: 0 }), clamp(add(images, epsilon), { max: 1 })]);
  const pixels = param.params[0]!;
  return { param: { ...param, project: () => noGrad(() => tidy(() => void pixels.assign(clamp(pixels, { min: low!, max: high! }).contiguous()))) }, bounds: [low!, high!] };
}

const read = async (t: Tensor): Promise<number[]> => {
  try {
    return Array.from(await t.toArray());
  } finally {
    t.dispose();
  }
};

/**
 * Moves the explanation of each image of `images` ([N, C, H, W] in [0, 1]) onto the explanation of
 * the matching image of `targetImages`, each explained for its own predicted class.
 */
export async function manipulateExplanation(model: Module, images: Tensor, targetImages: Tensor, opts: ManipulationOptions): Promise<ManipulationResult> {
  const { method, normalization } = opts;
  if (!MANIPULATED_METHODS.includes(method)) throw new Error(`glassbox.xai.attacks: unknown explanation method '${method as string}'; use ${MANIPULATED_METHODS.join(', ')}`);
  if (images.rank !== 4 || targetImages.rank !== 4 || shapeStr(images.shape) !== shapeStr(targetImages.shape))
    throw new Error(`glassbox.xai.attacks: manipulation needs images and target images of one shape [N, C, H, W] in [0, 1], got ${shapeStr(images.shape)} and ${shapeStr(targetImages.shape)}`);
  const beta = opts.beta ?? 10;
  const gamma = opts.gamma ?? 0.1;
  if (opts.epsilon !== undefined && !(opts.epsilon > 0 && opts.epsilon <= 1)) throw new Error(`glassbox.xai.attacks: epsilon must be in (0, 1] (pixel units), got ${opts.epsilon}`);
  if (!(gamma >= 0 && Number.isFinite(gamma))) throw new Error(`glassbox.xai.attacks: gamma must be a number >= 0, got ${gamma}`);
  const igSteps = opts.igSteps ?? 16;
  const attributionOptions = { igSteps, normalization };
  // before any work: a relu applied as a function would stay a relu, whose second derivative is zero
  const restoreProbe = smoothRelus(model, beta);
  try {
    tidy(() => enableGrad(() => checkNoRelu(model.forward(normalize(images, normalization).detach().requiresGrad_()))));
  } finally {
    restoreProbe();
  }
  const n = images.shape[0]!;
  const [, c, h, w] = images.shape as [number, number, number, number];
  const predict = (x: Tensor) => noGrad(() => tidy(() => softmax(model.forward(normalize(x, normalization)), 1)));
  const classOf = (p: Tensor) => read(noGrad(() => argmax(p, { dim: 1 })));

  // the real network: classes, outputs and maps before
  const probabilities = predict(images);
  const targetProbabilities = predict(targetImages);
  const classes = await classOf(probabilities);
  const targetClasses = await classOf(targetProbabilities);
  targetProbabilities.dispose();
  const reluMap = async (x: Tensor, target: number[]) => {
    const z = noGrad(() => normalize(x, normalization));
    const a = await libraryAttribution(model, z, method, target, attributionOptions);
    z.dispose();
    return tidy(() => {
      const m = noGrad(() => heatmap(a));
      a.dispose();
      return m;
    });
  };
  const reluOriginal = await reluMap(images, classes);
  const reluTarget = await reluMap(targetImages, targetClasses);

  const restore = smoothRelus(model, beta);
  let result: Awaited<ReturnType<typeof renderVis>> | undefined;
  let smoothed: MapDistances;
  let budget: ReturnType<typeof withinBudget> | undefined;
  try {
    // the smoothed network's maps, with createGraph off (plain first-order gradients)
    const smoothMap = (x: Tensor, target: number[]) =>
      enableGrad(() =>
        tidy(() => {
          const z = normalize(x, normalization).detach().requiresGrad_();
          const out = heatmap(differentiableAttribution(model, z, method, { target, createGraph: false, ...attributionOptions }));
          return out.detach();
        }),
      );
    const smoothTarget = smoothMap(targetImages, targetClasses);
    const smoothOriginal = smoothMap(images, classes);
    const mseBefore = await read(noGrad(() => heatmapMse(smoothOriginal, smoothTarget)));
    smoothOriginal.dispose();
    // the loss of each image, negated (renderVis maximises); outside a step (its before/after scores) no graph is recorded, so the map is taken on a detached copy
    const loss = (ctx: ObjectiveContext): Tensor => {
      const input = ctx.input!;
      const mapTerm = (z: Tensor) => sum(square(sub(heatmap(differentiableAttribution(model, z, method, { target: classes, createGraph: true, ...attributionOptions })), smoothTarget)), { dim: [1, 2] });
      const maps = input.requiresGrad ? mapTerm(input) : enableGrad(() => mapTerm(input.detach().requiresGrad_())).detach();
      const outputTerm = sum(square(sub(softmax(ctx.output, 1), probabilities)), { dim: 1 });
      return neg(add(maps, mul(outputTerm, gamma)));
    };
    budget = withinBudget(imageParamFrom(images), images, opts.epsilon);
    result = await renderVis(model, new Objective([], loss, `manipulate ${method}`), {
      inputShape: [c, h, w],
      normalization,
      param: budget.param,
      optimizer: 'adam',
      lr: opts.lr ?? 1e-3,
      steps: opts.steps ?? 300,
      batch: n,
      onStep: (step, scores) => opts.onStep?.(step, scores.map((s) => -s)),
    });
    const smoothAfter = smoothMap(result.images, classes);
    smoothed = { mseBefore, mseAfter: await read(noGrad(() => heatmapMse(smoothAfter, smoothTarget))) };
    [smoothAfter, smoothTarget].forEach((t) => t.dispose());
  } finally {
    restore();
    budget?.bounds.forEach((t) => t.dispose());
  }
  result.probabilities?.dispose();
  const adversarial = result.images;
  const reluAdversarial = await reluMap(adversarial, classes);
  const after = predict(adversarial);
  const relu = {
    mseBefore: await read(noGrad(() => heatmapMse(reluOriginal, reluTarget))),
    mseAfter: await read(noGrad(() => heatmapMse(reluAdversarial, reluTarget))),
    outputChange: await read(noGrad(() => amax(abs(sub(after, probabilities)), { dim: 1 }))),
    predictedBefore: classes,
    predictedAfter: await classOf(after),
    maps: { original: reluOriginal, adversarial: reluAdversarial, target: reluTarget },
  };
  [probabilities, after].forEach((t) => t.dispose());
  const maxPixelChange = await read(noGrad(() => amax(reshape(abs(sub(adversarial, images)), [n, -1]), { dim: 1 })));
  return { method, beta, gamma, adversarial, curve: result.curve.map((s) => -s), smoothed, relu, maxPixelChange };
}
