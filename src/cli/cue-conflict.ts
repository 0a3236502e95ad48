/**
 * `glassbox cue-conflict`: catalogue C5's shape-versus-texture probe (Geirhos et al. 2019). Pairs of
 * validation images of different classes that --model (and --compare, when given) recognise are
 * turned into cue-conflict images by style transfer (src/xai/robustness/cue-conflict.ts); each
 * model's decision on them follows the shape, the texture or neither. Writes into --out
 *   cue-conflict.png   per pair: the shape image, the texture image, the cue-conflict image with each model's decision
 *   decisions.md       per model: the shares of shape, texture and other decisions, and the shape bias,
 *                      on the cue-conflict images and on the colour control (the texture image's colours only)
 *   cue-conflict.json  every pair, prediction and decision
 *   report.html        both
 */
import { join } from 'node:path';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { makeGrid } from '../viz/grid.ts';
import { slice } from '../tensor/ops/views.ts';
import { imageTiles } from '../xai/visualize/features.ts';
import { datasetPixels } from '../xai/robustness/accuracy.ts';
import { colourControlImages, cueConflictImages, cueConflictPairs, predictPixels, scoreCueConflict, type CueConflictScore } from '../xai/robustness/cue-conflict.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

const pct = (v: number) => (Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);

export async function cueConflictCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const main = await loadForVisualization(o);
  if (main.dataset === 'unknown') throw new UsageError('--model: the file records no data set; give --dataset');
  const comparePath = o.compare === undefined ? undefined : stringOption(o, 'compare', '');
  const other = comparePath ? await loadForVisualization({ ...o, model: comparePath, arch: o['compare-arch'] }) : undefined;
  if (other && other.dataset !== main.dataset) throw new UsageError(`--compare ${comparePath} was trained on ${other.dataset} and --model on ${main.dataset}; both must classify the same images (or give --dataset)`);
  const models = [{ name: stringOption(o, 'model', ''), loaded: main }, ...(other ? [{ name: comparePath!, loaded: other }] : [])];
  const count = numberOption(o, 'n', 50);
  const pool = numberOption(o, 'pool', 4 * count);
  const steps = numberOption(o, 'steps', 20);
  const styleWeight = numberOption(o, 'style-weight', 10);
  const seed = numberOption(o, 'seed', 0);
  const out = stringOption(o, 'out', join('runs', `cue-conflict-${main.arch}-${main.dataset}`));

  const data = await datasetSpec(main.dataset).load('validation', pool);
  const labels = Array.from(data.labels.subarray(0, data.n));
  const pixels = datasetPixels(data, 0, data.n);
  const recognised = await Promise.all(models.map((m) => predictPixels(m.loaded.model, pixels, m.loaded.normalization)));
  const pairs = cueConflictPairs(labels, recognised, count);
  if (pairs.length === 0) throw new UsageError(`no pair of differently labelled images that every model recognises among the first ${data.n} validation images; raise --pool`);
  console.error(`cue conflict on ${main.dataset}: ${pairs.length} pairs from ${data.n} validation images, ${steps} L-BFGS steps of style transfer each (style weight ${styleWeight})`);
  const started = performance.now();
  const progress = new Progress({ label: 'cue-conflict', total: pairs.length, unit: 'image' });
  const cue = await cueConflictImages(pixels, pairs, { styleNormalization: main.normalization, steps, styleWeight, seed, onImage: (done) => progress.update(done) });
  progress.done();
  const control = { ...cue, images: colourControlImages(pixels, pairs) };
  const scores: CueConflictScore[] = [];
  const controlScores: CueConflictScore[] = [];
  for (const m of models) {
    scores.push(await scoreCueConflict(m.loaded.model, cue, labels, m.loaded.normalization));
    controlScores.push(await scoreCueConflict(m.loaded.model, control, labels, m.loaded.normalization));
  }
  const seconds = (performance.now() - started) / 1000;

  const output = new CommandOutput(out, `Cue conflict (shape vs texture) on ${main.dataset}`);
  output.report.paragraph(
    `Geirhos et al. (2019) give a classifier images whose shape comes from one class and whose texture from another, and count which cue its decision follows; ImageNet-trained CNNs mostly follow the texture, people the shape. ` +
      `Here the cue-conflict image is the shape image's content in the texture image's Gram-matrix style (Gatys et al.'s style transfer on Ustyuzhaninov et al.'s random multi-scale net, ${steps} L-BFGS steps, style weight ${styleWeight}); both images are of different classes and recognised by every model on their own. Shape bias: shape decisions / (shape + texture decisions). ` +
      `The Gram-matrix style also carries the texture image's colours; the colour control gives each shape image only the texture image's per-channel mean and spread, no texture, so its texture decisions follow colour alone.`,
  );
  const row = (images: string, m: (typeof models)[number], s: CueConflictScore) => [`${m.loaded.arch} (${m.name})`, images, pct(s.shapeShare), pct(s.textureShare), pct(s.otherShare), pct(s.shapeBias)];
  const rows = [
    ['model', 'images', 'shape decisions', 'texture decisions', 'other', 'shape bias'],
    ...models.map((m, k) => row('cue conflict', m, scores[k]!)),
    ...models.map((m, k) => row("colour control (the texture image's colours only)", m, controlScores[k]!)),
  ];
  output.table('decisions.md', rows, `${pairs.length} cue-conflict images and their colour controls, ${seconds.toFixed(0)} s`);
  const shown = Math.min(pairs.length, 12);
  const tiles = [];
  const titles: string[] = [];
  const name = (k: number) => data.classes[k] ?? String(k);
  for (let i = 0; i < shown; i++) {
    const { shape, texture } = pairs[i]!;
    for (const [t, title] of [
      [slice(pixels, 0, { start: shape, end: shape + 1 }), `shape: ${name(labels[shape]!)}`],
      [slice(pixels, 0, { start: texture, end: texture + 1 }), `texture: ${name(labels[texture]!)}`],
      [slice(cue.images, 0, { start: i, end: i + 1 }), models.map((_, k) => `${name(scores[k]!.predicted[i]!)} (${scores[k]!.decisions[i]})`).join(' / ')],
    ] as const) {
      tiles.push(...(await imageTiles(t)));
      titles.push(title);
      t.dispose();
    }
  }
  output.png('cue-conflict.png', makeGrid(tiles, { cols: 6, tileScale: Math.max(1, Math.floor(96 / data.height)), tileTitles: titles, title: `cue conflict: shape image, texture image, result with ${models.map((m) => m.loaded.arch).join(' / ')}'s decision` }), 'per pair: the shape image, the texture image, the cue-conflict image titled with each model\'s decision');
  output.json('cue-conflict.json', {
    dataset: main.dataset,
    steps,
    styleWeight,
    seed,
    seconds,
    pairs: pairs.map((p, i) => ({ ...p, shapeClass: labels[p.shape], textureClass: labels[p.texture], styleLossRatio: cue.styleLossRatio[i] })),
    models: models.map((m, k) => ({ model: m.name, arch: m.loaded.arch, ...scores[k], colourControl: controlScores[k] })),
  });
  output.finish();
  pixels.dispose();
  cue.images.dispose();
  control.images.dispose();
  for (const [k, m] of models.entries())
    console.log(
      `${m.loaded.arch} (${m.name}): shape ${pct(scores[k]!.shapeShare)}, texture ${pct(scores[k]!.textureShare)}, other ${pct(scores[k]!.otherShare)}, shape bias ${pct(scores[k]!.shapeBias)}; ` +
        `colour control: texture ${pct(controlScores[k]!.textureShare)}, shape bias ${pct(controlScores[k]!.shapeBias)}`,
    );
  console.log(`${pairs.length} cue-conflict images in ${seconds.toFixed(0)} s; report ${join(out, 'report.html')}`);
}
