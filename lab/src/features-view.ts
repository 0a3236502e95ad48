/**
 * Feature visualisation of one unit in the page (catalogue E1, glassbox's visualizeFeatures): the
 * 28x28 input that most excites a conv channel or a class logit, optimised from the data mean in
 * the Fourier parametrisation with Adam, with the objective's curve and what the net predicts
 * for the picture.
 */
import * as gb from '../../src/index.ts';

export interface FeatureUnit {
  /** A conv layer path, or 'class' for a class logit. */
  layer: string;
  index: number;
}

/** The units the menu offers: each conv layer's channels, and the classes. */
export function featureLayers(model: gb.nn.Module): Array<{ layer: string; units: number }> {
  const convs = model.namedModules().filter(([, m]) => m instanceof gb.nn.Conv2d) as Array<[string, gb.nn.Conv2d]>;
  return [...convs.map(([name, m]) => ({ layer: name, units: m.weight.shape[0]! })), { layer: 'class', units: 10 }];
}

export interface FeaturePicture {
  image: Float32Array;
  curve: number[];
  predicted: { class: number; probability: number } | null;
}

export async function visualizeUnit(model: gb.nn.Module, unit: FeatureUnit, steps: number, normalization: gb.Normalization, onStep?: (step: number) => void): Promise<FeaturePicture> {
  const target: gb.xai.FeatureTarget = unit.layer === 'class' ? { class: unit.index } : { layer: unit.layer, channel: unit.index };
  const r = await gb.xai.visualizeFeatures(model, target, { inputShape: [1, 28, 28], normalization, steps, seed: 0, onStep: (s) => onStep?.(s) });
  const image = Float32Array.from(await r.images.toArray());
  r.images.dispose();
  r.probabilities?.dispose();
  return { image, curve: r.curve, predicted: r.predicted?.[0] ?? null };
}
