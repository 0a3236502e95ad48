/**
 * `glassbox weights`: catalogue A5, a model's first-layer weights as pictures (src/xai/representations/
 * templates.ts): a linear classifier's class templates (CS231n), or a conv net's first filters, with
 * the model's accuracy on the validation images so each picture comes with how good its classifier is.
 * Writes weights.png (the grid), weights.json (every weight, its shape and the accuracy) and report.html.
 */
import { crossEntropy } from '../tensor/ops/loss.ts';
import { DataLoader } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { evaluate } from '../train/trainer.ts';
import { WeightPictures, weightGrid } from '../xai/representations/templates.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

export async function weightsCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const loaded = await loadForVisualization(o);
  const { input, arch, dataset } = loaded;
  const out = stringOption(o, 'out', `runs/weights-${arch}-${dataset}`);
  const picture = await new WeightPictures(loaded.model, { inputShape: [input.channels, input.height, input.width], layer: o.layer as string | undefined }).draw();

  // accuracy on the validation split (skipped with --n 0, or when the file names no data set)
  const n = numberOption(o, 'n', 10_000);
  let accuracy: { accuracy: number; n: number } | undefined;
  if (n > 0 && dataset !== 'unknown') {
    const spec = datasetSpec(dataset);
    const data = await spec.load('validation', n);
    console.error(`scoring ${arch} on ${data.n} ${dataset} validation images`);
    const r = await evaluate(loaded.model, new DataLoader(data, { batchSize: 500, mean: spec.mean, std: spec.std }), (l, y) => crossEntropy(l, y));
    accuracy = { accuracy: r.accuracy, n: r.n };
  } else if (n > 0) throw new UsageError('--model: the file records no data set, so its accuracy cannot be measured; give --dataset, or --n 0 to skip it');

  const templates = picture.kind === 'class-templates';
  const titles = templates ? loaded.classNames.slice(0, picture.tiles.length) : picture.tiles.map((_, k) => `filter ${k}`);
  const what = templates ? `class templates of ${arch}` : `first-layer filters of ${arch} (${picture.layer})`;
  const scored = accuracy ? `, ${(100 * accuracy.accuracy).toFixed(2)}% on ${accuracy.n} ${dataset} validation images` : '';
  const output = new CommandOutput(out, `Weights: ${what}${scored}`);
  const colours = picture.shape[1] === 3 ? 'each tile an RGB image stretched from its own smallest to its largest weight' : `coolwarm from -${picture.scale.toPrecision(3)} (blue) through 0 (grey) to +${picture.scale.toPrecision(3)} (red), one scale for the layer (the 99.5th percentile of |w|; the largest is ${picture.maxAbs.toPrecision(3)}, larger ones clipped)`;
  output.report.paragraph(
    templates
      ? `Each class's weight row of the linear layer on the pixels, reshaped to the image: the template the class score is matched against (CS231n, "Linear classification"). ${colours}.`
      : `The first convolution's ${picture.shape[0]} filters (${picture.shape[1]} input channel(s), ${picture.shape[2]}x${picture.shape[3]}); ${colours}.`,
  );
  output.png('weights.png', weightGrid(picture, titles, { title: `${what}${scored}` }), `${what}: ${colours}`);
  output.json('weights.json', {
    model: stringOption(o, 'model', ''),
    arch,
    dataset,
    layer: picture.layer,
    kind: picture.kind,
    shape: picture.shape,
    maxAbs: picture.maxAbs,
    colourScale: picture.scale,
    titles,
    accuracy: accuracy?.accuracy ?? null,
    validationImages: accuracy?.n ?? 0,
    weights: picture.weights,
  });
  output.finish();
  console.error(`${what}${scored}; wrote ${out}/weights.png, weights.json, report.html`);
}
