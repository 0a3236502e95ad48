/**
 * `glassbox stitch`: A4 stitching (src/xai/weightspace/stitching.ts). For each layer, net A's
 * bottom, a learnt 1x1 convolution (or linear map), net B's top, both nets frozen; test accuracy
 * of A, B, the stitch without a map (identity) and the learnt stitch. Writes stitch.json,
 * stitch.md, accuracy.png (per layer), maps.png (each map's weights) and report.html.
 */
import { DataLoader } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { makeGrid } from '../viz/grid.ts';
import { linePlot } from '../viz/plot.ts';
import { matrixImage } from '../xai/weightspace/pictures.ts';
import { defaultStitchLayers, Stitching, type StitchResult } from '../xai/weightspace/stitching.ts';
import { numberOption, stringOption, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadPair } from './connect.ts';

export async function stitchCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const { a, b, input } = await loadPair(o);
  const layers = o.layers === undefined ? defaultStitchLayers(a.model) : stringOption(o, 'layers', '').split(',').map((s) => s.trim());
  const spec = datasetSpec(a.dataset);
  const norm = { mean: spec.mean, std: spec.std };
  const train = await spec.load('train', numberOption(o, 'train-images', 10000));
  const test = await spec.load('validation', numberOption(o, 'test-images', 2000));
  const seed = numberOption(o, 'seed', 0);
  const out = stringOption(o, 'out', `runs/stitch-${a.arch}-${a.dataset}`);
  const stitching = new Stitching(a.model, b.model, input);
  const results: StitchResult[] = [];
  const batchSize = numberOption(o, 'batch-size', 64);
  const steps = numberOption(o, 'epochs', 1) * Math.floor(train.n / batchSize);
  for (const layer of layers) {
    const progress = new Progress({ label: `stitch at ${layer}`, total: steps, unit: 'step' });
    const r = await stitching.stitch(layer, {
      train: new DataLoader(train, { batchSize, shuffle: true, seed, keepLast: false, ...norm }),
      test: new DataLoader(test, { batchSize: 500, ...norm }),
      epochs: numberOption(o, 'epochs', 1),
      lr: o.lr === undefined ? undefined : numberOption(o, 'lr', 0),
      onStep: (step, total) => (step < total ? progress.update(step) : undefined),
    });
    progress.done({ identity: r.accuracyIdentity, stitched: r.accuracyStitched });
    results.push(r);
  }
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const output = new CommandOutput(out, `Stitching two ${a.arch} nets (${a.dataset})`);
  output.report.paragraph(
    `Net A: ${stringOption(o, 'model-a', '')}; net B: ${stringOption(o, 'model-b', '')}. At each layer: A up to and including the layer, a learnt map (1x1 convolution or linear, started at the identity, Adam, ` +
      `${numberOption(o, 'epochs', 1)} epoch(s) on ${train.n} training images), then B after the layer; both nets frozen. Accuracy on ${test.n} test images.`,
  );
  output.table(
    'stitch.md',
    [['layer', 'units', 'net A', 'net B', 'A -> B, no map', 'A -> map -> B', 'map peakiness'], ...results.map((r) => [r.layer, `${r.units} (${r.shape.join('x')})`, pct(r.accuracyA), pct(r.accuracyB), pct(r.accuracyIdentity), pct(r.accuracyStitched), r.peakiness.toFixed(3)])],
    'test accuracy per layer; peakiness: mean over B\'s units of max |w| / sum |w| of its row of the map (1 for a scaled permutation)',
  );
  const x = results.map((_, i) => i + 1);
  output.png(
    'accuracy.png',
    linePlot(
      [
        { name: 'net A', x, y: results.map((r) => r.accuracyA), dashed: true },
        { name: 'net B', x, y: results.map((r) => r.accuracyB), dashed: true },
        { name: 'A -> B, no map', x, y: results.map((r) => r.accuracyIdentity) },
        { name: 'A -> learnt map -> B', x, y: results.map((r) => r.accuracyStitched) },
      ],
      { title: `stitching ${a.arch}: layers ${results.map((r, i) => `${i + 1}=${r.layer}`).join(', ')}`, xLabel: 'layer', yLabel: 'test accuracy', yRange: [0, 1], width: 820, height: 480 },
    ),
    'test accuracy per stitching layer',
  );
  output.png('maps.png', makeGrid(results.map((r) => matrixImage(r.weights, r.units, r.units)), { tileTitles: results.map((r) => `${r.layer} (${r.units}x${r.units})`), title: "each map's weights: rows B's units, columns A's (blue < 0 < red)" }), "the learnt maps' weights");
  output.json('stitch.json', {
    modelA: stringOption(o, 'model-a', ''),
    modelB: stringOption(o, 'model-b', ''),
    arch: a.arch,
    dataset: a.dataset,
    trainImages: train.n,
    testImages: test.n,
    seed,
    layers: results.map((r) => ({ ...r, weights: Array.from(r.weights), bias: Array.from(r.bias) })),
  });
  output.finish();
  for (const r of results) console.log(`${r.layer.padEnd(14)} A ${pct(r.accuracyA)}  B ${pct(r.accuracyB)}  no map ${pct(r.accuracyIdentity)}  stitched ${pct(r.accuracyStitched)}`);
  console.error(`wrote ${out}/stitch.md, stitch.json, accuracy.png, maps.png, report.html`);
}
