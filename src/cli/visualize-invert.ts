/**
 * `glassbox visualize invert`: A2 inversion by optimisation (src/xai/visualize/inversion.ts).
 * Validation images are reconstructed from their code at each --layers path; writes invert.png
 * (a row per image: the original, then one reconstruction per layer) and invert.json (the
 * normalised feature error and the pixel error per layer and image, and the loss curves) and report.html.
 */
import { join } from 'node:path';
import { tensor } from '../tensor/ops/creation.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { invertLayers, inversionGrid, typicalPixelMagnitude } from '../xai/visualize/inversion.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

/** Validation images first .. first + count - 1 of a data set, [count, C, H, W] in [0, 1]. */
export async function validationImages(dataset: string, first: number, count: number): Promise<Tensor> {
  if (dataset === 'unknown') throw new UsageError('the held-out images come from the data set: give --dataset');
  const data = await datasetSpec(dataset).load('validation', first + count);
  if (data.n < first + count) throw new UsageError(`--index ${first}${count > 1 ? ` with ${count} images` : ''}: the ${dataset} validation split has ${data.n} images (0 to ${data.n - 1})`);
  const size = data.channels * data.height * data.width;
  return tensor(Float32Array.from(data.images.subarray(first * size, (first + count) * size), (v) => v / 255), [count, data.channels, data.height, data.width]);
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function visualizeInvertCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  if (o.layers === undefined) throw new UsageError("give --layers, module paths as nn.summary prints them (e.g. --layers features.0,features.3,classifier.3); an unknown path lists the known ones");
  if (o.index !== undefined && o.n !== undefined) throw new UsageError('give --index i (one image) or --n k (the first k), not both');
  const layers = stringOption(o, 'layers', '').split(',').filter(Boolean);
  const { model, arch, dataset, normalization } = await loadForVisualization(o);
  const optimizer = stringOption(o, 'optimizer', 'adam') as 'adam' | 'lbfgs';
  const steps = numberOption(o, 'steps', optimizer === 'lbfgs' ? 50 : 200);
  const first = numberOption(o, 'index', 0);
  const originals = await validationImages(dataset, first, numberOption(o, 'n', 1));
  const out = stringOption(o, 'out', `runs/invert-${arch}-${dataset}`);
  const started = Date.now();
  const progress = new Progress({ label: 'invert', total: steps * layers.length, unit: 'step' });
  const settings = {
    normalization,
    steps,
    optimizer,
    lr: o.lr === undefined ? undefined : numberOption(o, 'lr', 0),
    alphaWeight: numberOption(o, 'alpha-weight', 1e-3),
    tvWeight: numberOption(o, 'tv-weight', 1e-3),
    seed: numberOption(o, 'seed', 0),
  };
  try {
    const results = await invertLayers(model, originals, layers, {
      ...settings,
      onStep: (layer, step, scores) => progress.update(layers.indexOf(layer) * steps + step, { layer, 'feature error': Math.sqrt(Math.max(0, -mean(Array.from(scores)))) }),
    });
    progress.done();
    const output = new CommandOutput(out, `Inversion of ${arch} (${dataset}) from its layers' codes`);
    output.report.paragraph(`Validation images reconstructed by ${optimizer} (${steps} steps, alpha-norm and total-variation priors, Mahendran & Vedaldi 2015) from the code at each layer: the deeper the layer, the less of the image its code pins down.`);
    output.png('invert.png', await inversionGrid(originals, results), 'a row per image: the original, then one reconstruction per layer');
    output.table(undefined, [['layer', 'normalised feature error', 'pixel RMS error'], ...results.map((r) => [r.layer, mean(r.featureError).toFixed(4), mean(r.pixelError).toFixed(4)])], 'mean over the images');
    output.json('invert.json', {
      model: arch,
      dataset,
      images: Array.from({ length: originals.shape[0]! }, (_, i) => first + i),
      ...settings,
      normalization: undefined,
      typicalPixelMagnitude: typicalPixelMagnitude(normalization),
      seconds: (Date.now() - started) / 1000,
      layers: results.map((r) => ({
        layer: r.layer,
        featureError: r.featureError,
        initialFeatureError: r.initialFeatureError,
        pixelError: r.pixelError,
        meanFeatureError: mean(r.featureError),
        meanPixelError: mean(r.pixelError),
        curve: r.curve,
      })),
    });
    output.finish();
    console.log(`wrote ${join(out, 'invert.png')}, invert.json and report.html`);
    for (const r of results) console.log(`  ${r.layer.padEnd(16)} feature error ${mean(r.featureError).toFixed(4)}  pixel RMS ${mean(r.pixelError).toFixed(4)}`);
    results.forEach((r) => r.images.dispose());
  } finally {
    originals.dispose();
  }
}
