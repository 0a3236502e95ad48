/**
 * E1 feature visualisation (Olah et al. 2017; Erhan et al. 2009; Simonyan et al. 2014 for
 * classes): the input that most excites a class logit, a channel or a single neuron of any layer,
 * found by renderVis from random starts. The result is fed back through the net: for a class,
 * whether the net sees the class in its own picture (predicted class and probability).
 */
import type { Module } from '../../nn/module.ts';
import { chwToImage } from '../../viz/image.ts';
import { makeGrid } from '../../viz/grid.ts';
import type { RGBAImage } from '../../viz/image.ts';
import { highFrequencyShare } from '../optimize/fourier.ts';
import { channel, classLogit, classProbability, neuron, type Objective, type PerImage } from '../optimize/objectives.ts';
import { renderVis, type RenderOptions, type RenderResult } from '../optimize/render.ts';
import type { ObjectiveContext } from '../optimize/objectives.ts';
import { unitPass, type UnitTally } from '../units/statistics.ts';
import type { Normalization } from '../../data/normalization.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** What to visualise: a class of the output, or a channel (mean over positions) or neuron (one position) of a layer. */
export type FeatureTarget =
  | { class: PerImage; score?: 'logit' | 'probability' | 'log-probability' }
  | { layer: string; channel: PerImage; neuron?: boolean | { y: number; x: number } };

export function featureObjective(target: FeatureTarget): Objective {
  if ('class' in target) {
    if (target.score === undefined || target.score === 'logit') return classLogit(target.class);
    return classProbability(target.class, { log: target.score === 'log-probability' });
  }
  if (target.neuron) return neuron(target.layer, target.channel, target.neuron === true ? undefined : target.neuron);
  return channel(target.layer, target.channel);
}

export interface FeatureVisResult extends RenderResult {
  objective: string;
  /** Per image: the class the net predicts for its picture and that probability. */
  predicted: Array<{ class: number; probability: number }> | null;
  /** Per image: the share of spectral energy above half Nyquist (channel mean), a measure of high-frequency noise. */
  highFrequency: number[];
  /** Per image, for a channel or neuron with exemplar images given: the data set image that excites the same unit most. */
  exemplars: Exemplar[] | null;
  /**
   * Per image: its final activation / its unit's top exemplar's (> 1: the picture excites the unit
   * more than any image searched); NaN where no image searched excites the unit (top value <= 0),
   * since a multiple of a non-positive number says nothing.
   */
  exemplarRatio: number[] | null;
}

/** A unit's top data set exemplar: the largest value of the visualisation's own measure over the images searched. */
export interface Exemplar {
  channel: number;
  /** Index into the images searched. */
  image: number;
  value: number;
}

/**
 * Per channel of a channel or neuron target, the image of `images` [N, C, H, W] (in [0, 1]) with the
 * largest value of the same objective: the channel's mean over positions, or the neuron at its
 * position. (Top-activation tallies rank images by their peak over all positions, a different
 * measure from a channel's mean; the ratio must compare like with like.)
 */
export async function topExemplars(model: Module, target: Extract<FeatureTarget, { layer: string }>, images: Tensor, normalization: Normalization, batchSize = 256): Promise<Map<number, Exemplar>> {
  const channels = [...new Set(typeof target.channel === 'number' ? [target.channel] : target.channel)];
  const best = new Map<number, Exemplar>(channels.map((c) => [c, { channel: c, image: -1, value: -Infinity }]));
  // one unit-statistics pass (src/xai/units), tallying each channel's own objective per image
  const tally: UnitTally = {
    reduce: (activation) => {
      const ctx: ObjectiveContext = {
        activation: () => activation,
        get output(): Tensor {
          throw new Error('glassbox.xai.visualize: a unit exemplar reads its layer only, not the output');
        },
      };
      return channels.map((c) => featureObjective({ ...target, channel: c }).score(ctx));
    },
    absorb: (values, firstImage) => {
      channels.forEach((c, j) => {
        const entry = best.get(c)!;
        values[j]!.forEach((v, i) => v > entry.value && Object.assign(entry, { value: v, image: firstImage + i }));
      });
    },
  };
  await unitPass(model, images, { layer: target.layer, batchSize, normalization }, [tally]);
  return best;
}

/**
 * With `exemplars` (data set images in [0, 1]) and a channel or neuron target, every result is also
 * reported as a multiple of its unit's top exemplar activation (exemplarRatio).
 */
export async function visualizeFeatures(model: Module, target: FeatureTarget, opts: RenderOptions, exemplars?: { images: Tensor; batchSize?: number }): Promise<FeatureVisResult> {
  const objective = featureObjective(target);
  const result = await renderVis(model, objective, opts);
  let found: Exemplar[] | null = null;
  if (exemplars && exemplars.images.shape[0]! > 0 && 'layer' in target) {
    const best = await topExemplars(model, target, exemplars.images, opts.normalization, exemplars.batchSize);
    found = result.final.map((_, i) => best.get(typeof target.channel === 'number' ? target.channel : target.channel[i]!)!);
  }
  let predicted: FeatureVisResult['predicted'] = null;
  if (result.probabilities) {
    const p = await result.probabilities.toArray();
    const classes = result.probabilities.shape[1]!;
    predicted = Array.from({ length: result.probabilities.shape[0]! }, (_, i) => {
      const row = Array.from(p.subarray(i * classes, (i + 1) * classes));
      const best = row.indexOf(Math.max(...row));
      return { class: best, probability: row[best]! };
    });
  }
  const exemplarRatio = found?.map((e, i) => (e.value > 0 ? result.final[i]! / e.value : NaN)) ?? null;
  return { ...result, objective: objective.description, predicted, highFrequency: await highFrequencyShares(result.images), exemplars: found, exemplarRatio };
}

/** highFrequencyShare of every image of [N, C, H, W] (mean over channels). */
export async function highFrequencyShares(images: Tensor): Promise<number[]> {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const values = await images.toArray();
  return Array.from({ length: n }, (_, i) => {
    let total = 0;
    for (let ch = 0; ch < c; ch++) total += highFrequencyShare(values.subarray((i * c + ch) * h * w, (i * c + ch + 1) * h * w), h, w);
    return total / c;
  });
}

/** The images [N, C, H, W] in [0, 1] as one picture, with a caption per tile. */
export async function featureGrid(images: Tensor, captions?: readonly string[], opts: { title?: string; tileScale?: number } = {}): Promise<RGBAImage> {
  const [h, w] = [images.shape[2]!, images.shape[3]!];
  return makeGrid(await imageTiles(images), { tileTitles: captions, title: opts.title, tileScale: opts.tileScale ?? Math.max(1, Math.floor(112 / Math.max(h, w))) });
}

/** One picture per image of [N, C, H, W] in [0, 1]. */
export async function imageTiles(images: Tensor): Promise<RGBAImage[]> {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const values = await images.toArray();
  return Array.from({ length: n }, (_, i) => chwToImage(values.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w));
}

