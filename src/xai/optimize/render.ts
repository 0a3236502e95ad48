/**
 * The render loop (Lucid's render_vis): a batch of random starts optimised together, one forward
 * and one backward per step through the parametrisation, the transforms, the model's
 * normalisation and the model, with the layers the objective reads captured by forward hooks.
 * Every step runs in a tidy(), so memory stays flat however many steps are taken; only the
 * parametrisation and the optimiser state live across steps.
 */
import { grad } from '../../autograd/backward.ts';
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { forwardNamingLayer } from '../../nn/layer-errors.ts';
import { softmax } from '../../tensor/ops/activation.ts';
import { abs, add, div, neg } from '../../tensor/ops/elementwise.ts';
import { avgPool2d } from '../../tensor/ops/pool.ts';
import { mean, sum } from '../../tensor/ops/reduce.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { LBFGS } from '../../train/lbfgs.ts';
import { Adam, SGD } from '../../train/optim.ts';
import type { Objective, ObjectiveContext } from './objectives.ts';
import { makeImageParam, type Decorrelation, type ImageParam, type ParamKind } from './param.ts';
import { seededRandom, type Random } from './random.ts';
import { totalPenalty, type Regularizer } from './regularizers.ts';
import { fitToSize, type Transform } from './transforms.ts';

/** Lucid's default learning rate (Adam). */
export const LUCID_LEARNING_RATE = 0.05;

/**
 * How the parametrisation moves each step:
 *   adam                 Lucid's (default)
 *   normalized-gradient  p -= lr g / mean|g| per image (DeepDream's ascent, Mordvintsev et al. 2015)
 *   lbfgs                one optim.LBFGS iteration with a strong Wolfe line search per step (Mahendran &
 *                        Vedaldi, Gatys et al.): the loss must not change between evaluations, so no
 *                        transforms and no after-step regularisers
 */
export type RenderOptimizer = 'adam' | 'normalized-gradient' | 'lbfgs';

export interface RenderOptions {
  /** The model's input [C, H, W]. */
  inputShape: readonly [number, number, number];
  /** The model's input normalisation (e.g. gb.normalization.mnist). */
  normalization: Normalization;
  /** 'pixel' or 'fourier' (default), or a parametrisation made by makeImageParam. */
  param?: ParamKind | ImageParam;
  decorrelation?: Decorrelation;
  /** Where the images start: 'data-mean' (default; the normalisation's mean colour) or 'grey' (0.5, Lucid's). */
  start?: 'data-mean' | 'grey';
  /** Default none: pass standardTransforms() for Lucid's. */
  transforms?: readonly Transform[];
  regularizers?: readonly Regularizer[];
  /** Default 256 (Lucid's thresholds end at 512). */
  steps?: number;
  /** The learning rate (default Lucid's 0.05 for Adam and the normalised gradient, 1 for L-BFGS). */
  lr?: number;
  /** Default 'adam'. */
  optimizer?: RenderOptimizer;
  /** Images optimised together (default 1). */
  batch?: number;
  /**
   * Optimise the images at this [H, W], a whole multiple of the input's, and area-average them
   * down to the input (avgPool2d, exact and differentiable) before the model sees them; the
   * parametrisation, transforms and regularisers all work at this size. Default: the input size.
   * For 28 x 28 and 32 x 32 nets (Lucent's users report poor results there): a jitter or rotation
   * of the larger image moves the net's pixels by fractions, and the Fourier spectrum has more
   * bins; README "Feature visualisation" says when it helps.
   */
  renderSize?: readonly [number, number];
  seed?: number;
  /** After every step: its number (1-based) and the objective of every image (with the step's transforms). */
  onStep?: (step: number, scores: Float32Array) => void;
}

export interface RenderResult {
  /** [N, C, H, W] in [0, 1], at the model's input size (what the model saw). */
  images: Tensor;
  /** With renderSize: the images at that size, before area-averaging (null otherwise). */
  rendered: Tensor | null;
  /** The batch's mean objective at every step (under that step's transforms). */
  curve: number[];
  /** The objective of every image before the first step and after the last, without transforms. */
  initial: number[];
  final: number[];
  /** softmax of the model's output on the final images, [N, classes] (null when the output is not [N, classes]). */
  probabilities: Tensor | null;
}

/** Module paths the objective reads, checked up front: an unknown one lists the known paths. */
export function resolveLayers(model: Module, layers: readonly string[]): Array<[string, Module]> {
  const modules = new Map(model.namedModules());
  return layers.map((path) => {
    const m = modules.get(path);
    if (!m) {
      const known = [...modules.keys()].filter(Boolean);
      throw new Error(`glassbox.xai.optimize: no layer '${path}' in the model; the layers are ${known.join(', ')} (the paths nn.summary prints)`);
    }
    return [path, m];
  });
}

/** The model's output on images [N, C, H, W] in [0, 1], with the outputs of `layers`. */
export function forwardCapturing(model: Module, layers: Array<[string, Module]>, z: Tensor): ObjectiveContext {
  const captured = new Map<string, Tensor>();
  const removers = layers.map(([path, m]) => m.registerForwardHook((_m, _inputs, out) => void (captured.has(path) || captured.set(path, out))));
  let output: Tensor;
  try {
    output = forwardNamingLayer(model, () => model.forward(z));
  } finally {
    removers.forEach((remove) => remove());
  }
  return {
    output,
    input: z,
    activation: (layer) => {
      const a = captured.get(layer);
      if (!a) throw new Error(`glassbox.xai.optimize: layer '${layer}' did not run in the forward pass`);
      return a;
    },
  };
}

/** g / mean|g|, the mean over each image (DeepDream's normalisation: every step moves the pixels by lr on average). */
function normalizedGradient(g: Tensor): Tensor {
  const perImage = g.rank > 1 ? mean(abs(g), { dim: Array.from({ length: g.rank - 1 }, (_, i) => i + 1), keepdim: true }) : mean(abs(g));
  return div(g, add(perImage, 1e-12));
}

/**
 * The step from the images being optimised to the model's input [h, w]: without a render size,
 * fitToSize (a centred crop of padding, or a bilinear resample); with one, a crop back to it, then
 * the mean of each factor x factor block.
 */
export function toModelInput(renderSize: readonly [number, number] | undefined, size: readonly [number, number]): (x: Tensor) => Tensor {
  if (!renderSize) return (x) => fitToSize(x, size);
  const [rh, rw] = renderSize;
  const [fh, fw] = [rh / size[0], rw / size[1]];
  if (!Number.isSafeInteger(fh) || !Number.isSafeInteger(fw) || fh < 1 || fw < 1)
    throw new Error(`glassbox.xai.optimize: renderSize ${rh}x${rw} must be a whole multiple of the model's input ${size[0]}x${size[1]} (e.g. ${2 * size[0]}x${2 * size[1]}), so that each input pixel is the mean of a block of rendered ones`);
  return (x) => {
    const fitted = fitToSize(x, renderSize);
    return fh === 1 && fw === 1 ? fitted : avgPool2d(fitted, { kernelSize: [fh, fw] });
  };
}

function checkPositive(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`glassbox.xai.optimize: ${name} must be a whole number >= 1, got ${v}`);
}

export async function renderVis(model: Module, objective: Objective, opts: RenderOptions): Promise<RenderResult> {
  const steps = opts.steps ?? 256;
  const batch = opts.batch ?? 1;
  checkPositive('steps', steps);
  checkPositive('batch', batch);
  const kind = opts.optimizer ?? 'adam';
  if (!['adam', 'normalized-gradient', 'lbfgs'].includes(kind)) throw new Error(`glassbox.xai.optimize: unknown optimizer '${String(kind)}'; use 'adam', 'normalized-gradient' or 'lbfgs'`);
  const lr = opts.lr ?? (kind === 'lbfgs' ? 1 : LUCID_LEARNING_RATE);
  if (!(lr > 0 && Number.isFinite(lr))) throw new Error(`glassbox.xai.optimize: lr must be a positive number, got ${lr}`);
  const [c, h, w] = opts.inputShape;
  const toInput = toModelInput(opts.renderSize, [h, w]);
  const [rh, rw] = opts.renderSize ?? [h, w];
  const layers = resolveLayers(model, objective.layers);
  const random: Random = seededRandom(opts.seed ?? 0);
  const param = typeof opts.param === 'object' ? opts.param : makeImageParam({ kind: opts.param ?? 'fourier', shape: [batch, c, rh, rw], decorrelation: opts.decorrelation, center: (opts.start ?? 'data-mean') === 'grey' ? [0.5] : [...opts.normalization.mean] }, random);
  if (param.shape[0] !== batch && typeof opts.param === 'object' && opts.batch !== undefined)
    throw new Error(`glassbox.xai.optimize: the parametrisation holds ${param.shape[0]} images but batch is ${batch}`);
  const transforms = opts.transforms ?? [];
  const regularizers = opts.regularizers ?? [];
  const needsImageGradient = regularizers.some((r) => r.needsImageGradient);
  const pixelOnly = regularizers.filter((r) => r.pixelOnly);
  if (pixelOnly.length > 0 && param.kind !== 'pixel') {
    if (typeof opts.param !== 'object') param.dispose();
    throw new Error(`glassbox.xai.optimize: ${pixelOnly.map((r) => r.name).join(' and ')} set pixels directly, which the ${param.kind} parametrisation cannot; use param 'pixel' (CLI: --param pixel)`);
  }
  if (kind === 'lbfgs' && (transforms.length > 0 || regularizers.some((r) => r.afterStep))) {
    if (typeof opts.param !== 'object') param.dispose();
    throw new Error(`glassbox.xai.optimize: L-BFGS needs the same loss at every evaluation; drop the transforms (${transforms.map((t) => t.name).join(', ') || 'none'}) and after-step regularisers (${regularizers.filter((r) => r.afterStep).map((r) => r.name).join(', ') || 'none'}), or use optimizer 'adam'`);
  }
  const wasTraining = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  const scoreOf = async (images: () => Tensor): Promise<number[]> => {
    const t = noGrad(() => tidy(() => objective.score(forwardCapturing(model, layers, normalize(toInput(images()), opts.normalization)))));
    try {
      return Array.from(await t.toArray());
    } finally {
      t.dispose();
    }
  };
  const optimizer = kind === 'adam' ? new Adam(param.params, { lr }) : kind === 'normalized-gradient' ? new SGD(param.params, { lr }) : null;
  const lbfgs = kind === 'lbfgs' ? new LBFGS(param.params, { lr, maxIter: 1, lineSearchFn: 'strong_wolfe' }) : null;
  // the loss of one evaluation and its gradients (call in a tidy)
  const evaluate = () => {
    const images = param.image();
    const transformed = toInput(transforms.reduce((x, t) => t.apply(x, random), images));
    const z = normalize(transformed, opts.normalization);
    const scores = objective.score(forwardCapturing(model, layers, z));
    const penalty = totalPenalty(regularizers, images, normalize(images, opts.normalization));
    const loss = sum(penalty ? add(neg(scores), penalty) : neg(scores));
    return { images, scores, loss, grads: grad(loss, needsImageGradient ? [...param.params, images] : param.params) };
  };
  // one step: the step's scores (and, where a regulariser asks, its images and their gradient)
  const takeStep = async (): Promise<{ scores: Tensor; images?: Tensor; imageGradient?: Tensor }> => {
    if (lbfgs) {
      const last: { scores?: Tensor } = {};
      await lbfgs.step(() =>
        tidy(() => {
          lbfgs.zeroGrad();
          const e = evaluate();
          param.params.forEach((p, i) => (p.grad = keep(e.grads[i]!)));
          last.scores?.dispose();
          last.scores = keep(e.scores.detach());
          return e.loss.detach();
        }),
      );
      lbfgs.zeroGrad();
      return { scores: last.scores! };
    }
    return tidy(() => {
      const { images, scores, grads } = evaluate();
      param.params.forEach((p, i) => (p.grad = kind === 'normalized-gradient' ? normalizedGradient(grads[i]!) : grads[i]!));
      optimizer!.step();
      param.params.forEach((p) => (p.grad = null));
      param.project?.();
      return {
        scores: keep(scores.detach()),
        images: needsImageGradient ? keep(images.detach()) : undefined,
        imageGradient: needsImageGradient ? keep(grads[param.params.length]!) : undefined,
      };
    });
  };
  try {
    const initial = await scoreOf(() => param.image());
    const curve: number[] = [];
    for (let step = 1; step <= steps; step++) {
      const kept = await takeStep();
      try {
        const scores = (await kept.scores.toArray()) as Float32Array;
        curve.push(scores.reduce((a, b) => a + b, 0) / scores.length);
        for (const r of regularizers) {
          if (!r.afterStep) continue;
          const images = kept.images ?? tidy(() => noGrad(() => param.image()));
          await r.afterStep({ param, step, images, imageGradient: kept.imageGradient, normalization: opts.normalization });
          if (!kept.images) images.dispose();
        }
        opts.onStep?.(step, scores);
      } finally {
        [kept.scores, kept.images, kept.imageGradient].forEach((t) => t?.dispose());
      }
    }
    // in a tidy: the parametrisation's intermediate tensors (colour mixing, offset) are freed
    const drawn = tidy(() => noGrad(() => param.image()));
    const rendered = opts.renderSize ? drawn : null;
    const images = opts.renderSize ? tidy(() => noGrad(() => toInput(drawn))) : drawn;
    // scored from the drawn images, through the same step to the input as during the optimisation
    const final = await scoreOf(() => drawn);
    const probabilities = noGrad(() =>
      tidy(() => {
        const out = model.forward(normalize(fitToSize(images, [h, w]), opts.normalization));
        return out.rank === 2 ? softmax(out, 1) : null;
      }),
    );
    return { images, rendered, curve, initial, final, probabilities };
  } finally {
    if (typeof opts.param !== 'object') param.dispose();
    for (const t of optimizer?.stateDict().tensors.values() ?? []) t.dispose();
    lbfgs?.reset();
    wasTraining.forEach(([m, t]) => (m.training = t));
  }
}
