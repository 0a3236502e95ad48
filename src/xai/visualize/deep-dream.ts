/**
 * A3b DeepDream (Mordvintsev, Olah & Tyka 2015, "Inceptionism"; their Caffe notebook): a real
 * image is changed by gradient ascent on a layer's activations' mean square (layerNorm), so that
 * whatever the layer sees in it is amplified. As in the notebook:
 *   octaves   the image is processed at `octaves` sizes, each `octaveScale` times the last, smallest
 *             first; the detail added at one size (result - that size's image) is resized to the
 *             next and added to it, so coarse structure grows first and fine structure after it;
 *   jitter    each step rolls the image by a random shift of up to `jitter` pixels (the gradient
 *             rolls back through roll's backward), so no pixel grid artefact is amplified;
 *   step      p += lr g / mean|g| (renderVis's 'normalized-gradient'): every step moves the
 *             pixels by lr on average, whatever the layer's scale; pixels are clipped to [0, 1].
 * A net with a fixed input size (LeNet-5's classifier wants 28 x 28) sees every octave resized to
 * its input (renderVis's fitToSize, bilinear and differentiable): the smaller octaves can then only
 * add structure coarser than their pixels, which is what octaves are for.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { add, sub } from '../../tensor/ops/elementwise.ts';
import { interpolate } from '../../tensor/ops/resample.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { layerNorm } from '../optimize/objectives.ts';
import { imageParamFrom } from '../optimize/param-from-image.ts';
import { forwardCapturing, renderVis, resolveLayers } from '../optimize/render.ts';
import { jitter } from '../optimize/transforms.ts';

export interface DreamOptions {
  /** The model's input [C, H, W] (a net of any input size: the image's own). */
  inputShape: readonly [number, number, number];
  normalization: Normalization;
  /** Default 3. */
  octaves?: number;
  /** Default 1.4 (the notebook's). */
  octaveScale?: number;
  /** Steps per octave (default 20). */
  steps?: number;
  /** Mean pixel change per step in [0, 1] units (default 0.01; the notebook's 1.5 of 255 is 0.006). */
  lr?: number;
  /** Largest roll in pixels (default 2: the notebook's 32 at 224 x 224, scaled to 28 x 28 is 4, halved for the small octaves). */
  jitter?: number;
  seed?: number;
  onStep?: (octave: number, step: number, norm: number) => void;
}

export interface DreamResult {
  /** [N, C, H, W] in [0, 1], the size of the start images. */
  images: Tensor;
  /** The layer's mean square activation per step, all octaves in order (under that step's jitter, batch mean). */
  curve: number[];
  /** Per image: the layer's mean square activation on the start image and on the result. */
  initial: number[];
  final: number[];
  /** [H, W] of each octave, smallest first. */
  octaveSizes: Array<[number, number]>;
  objective: string;
}

/** The octave sizes, smallest first, ending at [h, w]. */
export function octaveSizes(h: number, w: number, octaves: number, scale: number): Array<[number, number]> {
  if (!Number.isSafeInteger(octaves) || octaves < 1) throw new Error(`glassbox.xai.visualize: octaves must be a whole number >= 1, got ${octaves}`);
  if (!(scale >= 1 && Number.isFinite(scale))) throw new Error(`glassbox.xai.visualize: octaveScale must be a number >= 1, got ${scale}`);
  return Array.from({ length: octaves }, (_, k): [number, number] => {
    const f = scale ** (octaves - 1 - k);
    return [Math.max(1, Math.round(h / f)), Math.max(1, Math.round(w / f))];
  });
}

/** The mean square of `layer` on each image ([N, C, H, W] in [0, 1], resized to the model's input). */
async function layerScores(model: Module, layer: string, images: Tensor, opts: DreamOptions): Promise<number[]> {
  const objective = layerNorm(layer);
  const [, h, w] = opts.inputShape;
  const t = noGrad(() => tidy(() => {
    const sized = images.shape[2] === h && images.shape[3] === w ? images : interpolate(images, { size: [h, w], mode: 'bilinear' });
    return objective.score(forwardCapturing(model, resolveLayers(model, [layer]), normalize(sized, opts.normalization)));
  }));
  try {
    return Array.from(await t.toArray());
  } finally {
    t.dispose();
  }
}

export async function deepDream(model: Module, start: Tensor, layer: string, opts: DreamOptions): Promise<DreamResult> {
  if (start.rank !== 4 || start.shape[1] !== opts.inputShape[0]) throw new Error(`glassbox.xai.visualize: DeepDream starts from images [N, ${opts.inputShape[0]}, H, W] in [0, 1], got ${shapeStr(start.shape)}`);
  const [h, w] = [start.shape[2]!, start.shape[3]!];
  const sizes = octaveSizes(h, w, opts.octaves ?? 3, opts.octaveScale ?? 1.4);
  const objective = layerNorm(layer);
  const initial = await layerScores(model, layer, start, opts);
  const curve: number[] = [];
  // the start resized to each octave (the notebook's zoom of the base image)
  const bases = sizes.map(([oh, ow]) => (oh === h && ow === w ? start : noGrad(() => interpolate(start, { size: [oh, ow], mode: 'bilinear' }))));
  let detail: Tensor | null = null;
  let result: Tensor | null = null;
  try {
    for (const [k, base] of bases.entries()) {
      // imageParamFrom copies (clipped to [0, 1]) what it is given
      const withDetail = detail && noGrad(() => tidy(() => add(base, interpolate(detail!, { size: sizes[k]!, mode: 'bilinear' }))));
      const param = imageParamFrom(withDetail ?? base);
      withDetail?.dispose();
      let r: Awaited<ReturnType<typeof renderVis>>;
      try {
        r = await renderVis(model, objective, {
          inputShape: opts.inputShape,
          normalization: opts.normalization,
          param,
          optimizer: 'normalized-gradient',
          lr: opts.lr ?? 0.01,
          steps: opts.steps ?? 20,
          transforms: (opts.jitter ?? 2) > 0 ? [jitter(opts.jitter ?? 2)] : [],
          seed: (opts.seed ?? 0) + k,
          onStep: (step, scores) => opts.onStep?.(k, step, scores.reduce((a, b) => a + b, 0) / scores.length),
        });
      } catch (e) {
        param.dispose();
        throw e;
      }
      // r.images is the parametrisation's own pixel tensor (imageParamFrom's image() is its parameter): it is kept as the result
      r.probabilities?.dispose();
      curve.push(...r.curve);
      detail?.dispose();
      detail = noGrad(() => sub(r.images, base));
      result?.dispose();
      result = r.images;
    }
    const images = result!;
    result = null;
    return { images, curve, initial, final: await layerScores(model, layer, images, opts), octaveSizes: sizes, objective: objective.description };
  } finally {
    (detail as Tensor | null)?.dispose();
    (result as Tensor | null)?.dispose();
    bases.forEach((b) => b !== start && b.dispose());
  }
}
