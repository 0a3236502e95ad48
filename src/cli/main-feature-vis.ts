/**
 * The feature-visualisation section of `glassbox main`'s report: what the trained net responds to.
 * Class visualisations (E1: all classes in one batch, with the recipe that tests/feature-vis.test.ts
 * checks gets 9 of 10 classified as their class with p > 0.9), each captioned with the class the
 * net predicts for its own picture; then a few units of the last conv layer, each with its
 * channel visualisation (as a multiple of its top exemplar activation) and its top data set
 * patches (E2). About 10-20 s on 2 CPU cores for LeNet-5.
 */
import { noGrad } from '../autograd/node.ts';
import type { Module } from '../nn/module.ts';
import { slice } from '../tensor/ops/views.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { normalize, type Normalization } from '../data/normalization.ts';
import { chwToImage, type ImageTableCell, type ImageTableOptions } from '../viz/index.ts';
import * as opt from '../xai/optimize/index.ts';
import { patchTiles, topPatches } from '../xai/units/top-patches.ts';
import { visualizeFeatures, type FeatureVisResult } from '../xai/visualize/features.ts';
import { defaultCamLayer } from './explain-setup.ts';
import type { ReportSection } from './report.ts';

export interface FeatureVisSectionOptions {
  /** Optimisation steps of the class pictures (default 64, the tested recipe). */
  steps?: number;
  /** Optimisation steps of the unit pictures (default 128: Fourier with transforms, where tests/circuits.test.ts finds every unit above its top exemplar). */
  unitSteps?: number;
  /** Units of the last conv layer shown (default the first 4). */
  units?: readonly number[];
  /** Top patches per unit (default 6). */
  k?: number;
  classNames?: readonly string[];
}

export interface FeatureVisSection {
  section: ReportSection;
  /** Every number shown, for the report's JSON. */
  numbers: {
    steps: number;
    unitSteps: number;
    classes: Array<{ class: number; predicted: number; probability: number }>;
    layer: string;
    units: Array<{ channel: number; activation: number; exemplar: { image: number; value: number }; exemplarRatio: number; patches: Array<{ value: number; image: number; y: number; x: number }> }>;
    imagesSearched: number;
    /** Wall-clock seconds of the class pictures, the unit pictures with their exemplars, the top patches, and all; and the process's CPU seconds (the fairer figure on a shared machine). */
    timing: { classes: number; units: number; patches: number };
    seconds: number;
    cpuSeconds: number;
  };
}

async function tiles(result: FeatureVisResult) {
  const [n, c, h, w] = result.images.shape as [number, number, number, number];
  const values = await result.images.toArray();
  return Array.from({ length: n }, (_, i) => chwToImage(values.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w));
}

const dispose = (r: FeatureVisResult) => [r.images, r.probabilities].forEach((t) => t?.dispose());

/** The section for `model` (a classifier with conv layers); `images` [N, C, H, W] in [0, 1] are searched for exemplars and top patches. */
export async function featureVisSection(model: Module, normalization: Normalization, images: Tensor, opts: FeatureVisSectionOptions = {}): Promise<FeatureVisSection> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const lap = (() => {
    let last = started;
    return () => {
      const now = performance.now();
      const s = (now - last) / 1000;
      last = now;
      return s;
    };
  })();
  const [, c, h, w] = images.shape as [number, number, number, number];
  const steps = opts.steps ?? 64;
  const base = { inputShape: [c, h, w] as const, normalization, param: 'pixel' as const, steps, transforms: opt.standardTransforms(), regularizers: [opt.blur(0.5, 4), opt.totalVariation(0.5)] };
  const probe = noGrad(() => tidy(() => model.forward(normalize(slice(images, 0, { start: 0, end: 1 }), normalization))));
  const classCount = probe.shape[1]!;
  probe.dispose();
  const classes = Array.from({ length: classCount }, (_, k) => k);
  const name = (k: number) => opts.classNames?.[k] ?? String(k);

  const drawn = await visualizeFeatures(model, { class: classes }, { ...base, batch: classCount });
  const predicted = drawn.predicted!;
  const classTiles = await tiles(drawn);
  dispose(drawn);
  const classSeconds = lap();

  const layer = noGrad(() => tidy(() => defaultCamLayer(model, normalize(slice(images, 0, { start: 0, end: 1 }), normalization))));
  const units = [...(opts.units ?? [0, 1, 2, 3])];
  const k = opts.k ?? 6;
  const unitSteps = opts.unitSteps ?? 128;
  const unitVis = await visualizeFeatures(model, { layer, channel: units }, { inputShape: base.inputShape, normalization, param: 'fourier', transforms: base.transforms, steps: unitSteps, batch: units.length }, { images });
  const unitTiles = await tiles(unitVis);
  dispose(unitVis);
  const unitSeconds = lap();
  const patches = await topPatches(model, images, { layer, k, channels: units, normalization });
  const patchImages = await patchTiles(images, patches);
  const patchSeconds = lap();

  const classTable: ImageTableOptions = {
    colTitles: classes.map((k) => `class ${name(k)}`),
    rowTitles: ['picture', 'the net sees'],
    cells: [classTiles.map((png, k): ImageTableCell => ({ png, alt: `class ${name(k)} visualisation` })), predicted.map((p): ImageTableCell => ({ text: `${name(p.class)} p ${p.probability.toFixed(2)}` }))],
    caption: `Class visualisations: each picture maximises one logit (${steps} Adam steps on pixels with jitter, scale and rotation, blur and total variation), then is classified by the net.`,
  };
  const ratio = (i: number) => unitVis.exemplarRatio![i]!;
  const unitTable: ImageTableOptions = {
    colTitles: ['visualisation', 'vs top exemplar', ...Array.from({ length: k }, (_, i) => `top ${i + 1}`)],
    rowTitles: units.map((u) => `${layer} ch ${u}`),
    cells: units.map((u, i): ImageTableCell[] => [
      { png: unitTiles[i]!, alt: `channel ${u} visualisation` },
      { text: Number.isFinite(ratio(i)) ? `${ratio(i).toFixed(2)}x` : 'no exemplar > 0' },
      ...patchImages[i]!.map((png, r): ImageTableCell => ({ png, alt: `top patch ${r + 1}: ${patches.units[i]!.patches[r]!.value.toFixed(3)}` })),
    ]),
    caption: `Units of the last conv layer: each channel's visualisation (its mean activation maximised, ${unitSteps} steps of a Fourier parametrisation with transforms), that activation as a multiple of the best of ${images.shape[0]} validation images, and its top ${k} validation patches (receptive fields; Zeiler & Fergus 2014).`,
  };
  const confident = predicted.filter((p, i) => p.class === i && p.probability > 0.9).length;
  const seconds = (performance.now() - started) / 1000;
  return {
    section: {
      title: 'What the network responds to',
      text:
        `Feature visualisation (Olah et al. 2017): pictures optimised to excite one class or one unit. ${confident} of ${classCount} class pictures are classified as their class with probability above 0.9. ` +
        'A unit picture above 1x excites the unit more than any real image searched; beside it, the real patches that excite it most.',
      imageTables: [classTable, unitTable],
    },
    numbers: {
      steps,
      unitSteps,
      classes: predicted.map((p, i) => ({ class: i, predicted: p.class, probability: p.probability })),
      layer,
      units: units.map((channel, i) => ({ channel, activation: unitVis.final[i]!, exemplar: { image: unitVis.exemplars![i]!.image, value: unitVis.exemplars![i]!.value }, exemplarRatio: ratio(i), patches: patches.units[i]!.patches.map(({ value, image, y, x }) => ({ value, image, y, x })) })),
      imagesSearched: images.shape[0]!,
      timing: { classes: classSeconds, units: unitSeconds, patches: patchSeconds },
      seconds,
      cpuSeconds: ((used) => (used.user + used.system) / 1e6)(process.cpuUsage(cpu)),
    },
  };
}
