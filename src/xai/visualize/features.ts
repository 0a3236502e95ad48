/**
 * E1 feature visualisation (Olah et al. 2017; Erhan et al. 2009; Simonyan et al. 2014 for
 * classes): the input that most excites a class logit, a channel or a single neuron of any layer,
 * found by renderVis from random starts. The result is fed back through the net: for a class,
 * whether the net sees the class in its own picture (predicted class and probability).
 */
import type { Module } from '../../nn/module.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { chwToImage } from '../../viz/image.ts';
import { makeGrid } from '../../viz/grid.ts';
import type { RGBAImage } from '../../viz/image.ts';
import { highFrequencyShare } from '../optimize/fourier.ts';
import { channel, classLogit, classProbability, neuron, type Objective, type PerImage } from '../optimize/objectives.ts';
import { renderVis, type RenderOptions, type RenderResult } from '../optimize/render.ts';

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
}

export async function visualizeFeatures(model: Module, target: FeatureTarget, opts: RenderOptions): Promise<FeatureVisResult> {
  const objective = featureObjective(target);
  const result = await renderVis(model, objective, opts);
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
  return { ...result, objective: objective.description, predicted, highFrequency: await highFrequencyShares(result.images) };
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
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const values = await images.toArray();
  const tiles = Array.from({ length: n }, (_, i) => chwToImage(values.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w));
  return makeGrid(tiles, { tileTitles: captions, title: opts.title, tileScale: opts.tileScale ?? Math.max(1, Math.floor(112 / Math.max(h, w))) });
}

