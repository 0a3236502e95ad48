/**
 * A3 neural style transfer (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using Convolutional
 * Neural Networks"): an image whose features at one layer match a content image's and whose Gram
 * matrices at several layers match a style image's, found by renderVis (Adam or L-BFGS) from the
 * content image or from noise. With content weight 0 it is Gatys et al.'s texture synthesis.
 *
 *   content loss  ||F_l(x) - F_l(c)||^2 / ||F_l(c)||^2                 (featureMatch, negated)
 *   style loss    sum_l w_l ||G_l(x) - G_l(s)||^2 / ||G_l(s)||^2        (gramMatch, negated)
 *   minimised     contentWeight * content + styleWeight * style
 *
 * Both losses are normalised by the target's own size, so weights mean the same on every net.
 * No ImageNet VGG weights exist here: RandomMultiScaleNet is Ustyuzhaninov et al. 2016's
 * alternative ("Texture synthesis using shallow convolutional networks with random filters"),
 * one layer of random filters of several sizes, which they found synthesises textures about as
 * well as VGG.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { ReLU, Sequential } from '../../nn/layers.ts';
import { Module } from '../../nn/module.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { add, mul, neg } from '../../tensor/ops/elementwise.ts';
import { manualSeed, rngState, setRngState, tensor } from '../../tensor/ops/creation.ts';
import { mean } from '../../tensor/ops/reduce.ts';
import { cat, stack } from '../../tensor/ops/views.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { featureMatch, gramMatch, gramMatrix, Objective, sumObjectives } from '../optimize/objectives.ts';
import { makeImageParam, type ImageParam } from '../optimize/param.ts';
import { seededRandom } from '../optimize/random.ts';
import { forwardCapturing, renderVis, resolveLayers, type RenderOptimizer } from '../optimize/render.ts';

/** Ustyuzhaninov et al.'s kernel sizes go from 3 to 55; these four keep a 128 x 128 step within a second or two here. */
export const MULTISCALE_KERNELS = [3, 5, 7, 11] as const;

/**
 * One layer of random conv filters of several sizes (each scale its own branch, 'scale<k>',
 * conv + ReLU, 'same' padding), so every scale is a layer the objectives can name. The weights
 * are PyTorch's default init drawn from the engine's generator seeded by `seed` (and the
 * generator is restored afterwards).
 */
export class RandomMultiScaleNet extends Module {
  readonly scales: Sequential[];
  constructor(opts: { channels?: number; filtersPerScale?: number; kernels?: readonly number[]; seed?: number } = {}) {
    super();
    const channels = opts.channels ?? 3;
    const filters = opts.filtersPerScale ?? 64;
    const kernels = opts.kernels ?? MULTISCALE_KERNELS;
    if (kernels.length === 0 || kernels.some((k) => !Number.isSafeInteger(k) || k < 1 || k % 2 === 0))
      throw new Error(`glassbox.xai.visualize: RandomMultiScaleNet's kernel sizes must be odd whole numbers (for 'same' padding), got [${kernels.join(', ')}]`);
    const saved = rngState();
    manualSeed(opts.seed ?? 0);
    try {
      this.scales = kernels.map((k) => new Sequential(new Conv2d(channels, filters, k, { padding: (k - 1) / 2 }), new ReLU()));
    } finally {
      setRngState(saved);
    }
  }

  /** The layer paths, one per scale ('scales.0' for the smallest kernel, ...). */
  layerPaths(): string[] {
    return this.scales.map((_, i) => `scales.${i}`);
  }

  /** The scales' maps side by side, [N, scales * filters, H, W] (the objectives read the scales one by one). */
  forward(x: Tensor): Tensor {
    return cat(this.scales.map((s) => s.forward(x)), 1);
  }
}

export interface StyleTransferOptions {
  /** The model's input normalisation. */
  normalization: Normalization;
  /** The layer whose features the content loss matches (ignored when contentWeight is 0). */
  contentLayer: string;
  /** The layers whose Gram matrices the style loss matches. */
  styleLayers: readonly string[];
  /** One weight per style layer (default: equal, summing to 1). */
  styleLayerWeights?: readonly number[];
  /** Default 1; 0 gives texture synthesis. */
  contentWeight?: number;
  /** Default 10. */
  styleWeight?: number;
  /** 'content' (default; Gatys et al.'s choice for transfer) or 'noise' (for texture synthesis). */
  start?: 'content' | 'noise';
  optimizer?: Extract<RenderOptimizer, 'adam' | 'lbfgs'>;
  /** Default 0.05 for Adam, 1 for L-BFGS (its line search scales the step). */
  lr?: number;
  steps?: number;
  seed?: number;
  /** After every step: its number and the weighted total loss (for a progress bar). */
  onStep?: (step: number, totalLoss: number) => void;
}

export interface StyleTransferResult {
  /** [1, C, H, W] in [0, 1]. */
  image: Tensor;
  /** Per step, the unweighted losses at that step's last evaluation (as renderVis's curve). */
  contentLoss: number[];
  styleLoss: number[];
  /** Before the first step and after the last. */
  initial: { content: number; style: number };
  final: { content: number; style: number };
  /** The weighted total per step. */
  totalLoss: number[];
}

/**
 * Starts the pixels at an image: image = sigmoid(t) with t = logit(pixels) (pixels clamped to
 * [0.001, 0.999]), so the optimised image stays in [0, 1] without projection.
 */
function paramFromImage(image: Tensor, values: Float32Array): ImageParam {
  const [n, c, h, w] = image.shape as [number, number, number, number];
  const param = makeImageParam({ kind: 'pixel', shape: [n, c, h, w], decorrelation: 'none', sd: 0 }, seededRandom(0));
  noGrad(() =>
    tidy(() => {
      const logits = Float32Array.from(values, (v) => {
        const q = Math.min(Math.max(v, 1e-3), 1 - 1e-3);
        return Math.log(q / (1 - q));
      });
      param.params[0]!.assign(tensor(logits, [n, c, h, w]));
    }),
  );
  return param;
}

function checkImage(name: string, x: Tensor): void {
  if (x.rank !== 4 || x.shape[0] !== 1) throw new Error(`glassbox.xai.visualize: the ${name} image must be one image [1, C, H, W] in [0, 1], got ${shapeStr(x.shape)}`);
}

function checkWeight(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`glassbox.xai.visualize: ${name} must be a number >= 0, got ${v}`);
}

/** The features of `layers` on one image (their outputs captured in one forward pass), kept. */
function captureFeatures(model: Module, layers: readonly string[], image: Tensor, normalization: Normalization): Map<string, Tensor> {
  const resolved = resolveLayers(model, layers);
  return noGrad(() =>
    tidy(() => {
      const ctx = forwardCapturing(model, resolved, normalize(image, normalization));
      return new Map(layers.map((l) => [l, keep(ctx.activation(l))]));
    }),
  );
}

export async function styleTransfer(model: Module, content: Tensor, style: Tensor, opts: StyleTransferOptions): Promise<StyleTransferResult> {
  checkImage('content', content);
  checkImage('style', style);
  if (content.shape[1] !== style.shape[1]) throw new Error(`glassbox.xai.visualize: the content image has ${content.shape[1]} channels and the style image ${style.shape[1]}; give both in the model's channels`);
  const contentWeight = opts.contentWeight ?? 1;
  const styleWeight = opts.styleWeight ?? 10;
  checkWeight('contentWeight', contentWeight);
  checkWeight('styleWeight', styleWeight);
  if (opts.styleLayers.length === 0) throw new Error('glassbox.xai.visualize: styleLayers is empty; name at least one layer whose Gram matrices carry the style');
  const layerWeights = opts.styleLayerWeights ?? opts.styleLayers.map(() => 1 / opts.styleLayers.length);
  if (layerWeights.length !== opts.styleLayers.length) throw new Error(`glassbox.xai.visualize: ${layerWeights.length} styleLayerWeights for ${opts.styleLayers.length} styleLayers; give one per layer`);
  layerWeights.forEach((w, i) => checkWeight(`styleLayerWeights[${i}]`, w));

  const wasTraining = model.training;
  model.eval();
  const contentTargets = captureFeatures(model, [opts.contentLayer], content, opts.normalization);
  const styleFeatures = captureFeatures(model, opts.styleLayers, style, opts.normalization);
  const grams = new Map(opts.styleLayers.map((l) => [l, keep(noGrad(() => tidy(() => gramMatrix(styleFeatures.get(l)!))))]));
  styleFeatures.forEach((t) => t.dispose());
  model.training = wasTraining;

  const contentObjective = featureMatch(opts.contentLayer, contentTargets.get(opts.contentLayer)!);
  const styleObjective = sumObjectives(...opts.styleLayers.map((l, i) => gramMatch(l, grams.get(l)!).mul(layerWeights[i]!)));
  // every evaluation's unweighted losses [2, N], kept until the step they belong to is over
  let pending: Tensor[] = [];
  const perStep: Tensor[] = [];
  const objective = new Objective(
    [...new Set([opts.contentLayer, ...opts.styleLayers])],
    (ctx) => {
      const c = contentObjective.score(ctx);
      const s = styleObjective.score(ctx);
      pending.push(keep(neg(stack([c, s])).detach()));
      return add(mul(c, contentWeight), mul(s, styleWeight));
    },
    `style transfer: ${contentWeight} * content(${opts.contentLayer}) + ${styleWeight} * style(${opts.styleLayers.join(', ')})`,
  );

  const [, c, h, w] = content.shape as [number, number, number, number];
  const start = opts.start ?? 'content';
  // noise: Gatys et al.'s white noise, here logits N(0, 1) (pixels spread over (0.1, 0.9) around grey)
  const param = start === 'content' ? paramFromImage(content, (await content.toArray()) as Float32Array) : makeImageParam({ kind: 'pixel', shape: [1, c, h, w], decorrelation: 'none', sd: 1 }, seededRandom(opts.seed ?? 0));
  let initialLosses: Tensor | null = null;
  try {
    const result = await renderVis(model, objective, {
      inputShape: [c, h, w],
      normalization: opts.normalization,
      param,
      optimizer: opts.optimizer ?? 'lbfgs',
      lr: opts.lr,
      steps: opts.steps ?? 100,
      seed: opts.seed,
      onStep: (step, scores) => {
        // renderVis scored the start first; a step's losses are those of its last evaluation, as renderVis's curve
        // (Adam: the point before the update; L-BFGS: the line search's last trial, usually the point it accepted)
        if (step === 1) initialLosses = pending.shift() ?? null;
        const last = pending.pop();
        pending.forEach((t) => t.dispose());
        pending = [];
        if (last) perStep.push(last);
        opts.onStep?.(step, -scores.reduce((a, b) => a + b, 0) / scores.length);
      },
    });
    result.probabilities?.dispose();
    // what is left is renderVis's score of the final image
    const rows = [initialLosses!, ...perStep, pending[pending.length - 1]!];
    if (rows.some((r) => !r)) throw new Error('glassbox.xai.visualize: style transfer lost track of its losses (renderVis scored an unexpected number of times)');
    const table = noGrad(() => tidy(() => stack(rows.map((r) => mean(r, { dim: 1 })))));
    const values = await table.toArray();
    table.dispose();
    const at = (i: number) => ({ content: values[2 * i]!, style: values[2 * i + 1]! });
    return {
      image: result.images,
      contentLoss: perStep.map((_, i) => at(i + 1).content),
      styleLoss: perStep.map((_, i) => at(i + 1).style),
      initial: at(0),
      final: at(rows.length - 1),
      totalLoss: result.curve.map((v) => -v),
    };
  } finally {
    param.dispose();
    [...pending, ...perStep, ...(initialLosses ? [initialLosses] : []), ...contentTargets.values(), ...grams.values()].forEach((t) => t.dispose());
  }
}

/**
 * A generated texture [1, 3, size, size] in [0, 1]: 'stripes' (diagonal red and blue bands, 8 px
 * period at 32 px, scaled with the size) or 'checks' (yellow and dark green squares).
 */
export function generatedTexture(kind: 'stripes' | 'checks', size: number): Tensor {
  if (!Number.isSafeInteger(size) || size < 4) throw new Error(`glassbox.xai.visualize: a texture needs a size of at least 4 pixels, got ${size}`);
  const period = Math.max(4, Math.round(size / 4));
  const [a, b] = kind === 'stripes' ? [[0.9, 0.2, 0.2], [0.15, 0.25, 0.85]] : [[0.95, 0.85, 0.2], [0.1, 0.35, 0.15]];
  const values = new Float32Array(3 * size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const first = kind === 'stripes' ? Math.floor((x + y) / (period / 2)) % 2 === 0 : (Math.floor(x / (period / 2)) + Math.floor(y / (period / 2))) % 2 === 0;
      for (let ch = 0; ch < 3; ch++) values[(ch * size + y) * size + x] = (first ? a : b)[ch]!;
    }
  return tensor(values, [1, 3, size, size]);
}
