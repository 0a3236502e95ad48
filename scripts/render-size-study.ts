/**
 * Does optimising at a larger size and averaging down help a small net's feature visualisations
 * (issue 15: "optimise at a larger size and resample down where that helps, and say so")?
 * The same class and channel visualisations, same steps, seed and transforms (their pixel shifts
 * scaled with the size, so they are the same in the net's pixels), rendered at 1x, 2x, ... the
 * input, scored on what the net sees:
 *   classes   how many of the class pictures the net gives their class with p > 0.9, their mean
 *             logit, and the share of spectral energy above half Nyquist (high-frequency noise)
 *   channels  the activation as a multiple of the top exemplar among --exemplars validation images
 *
 *   node scripts/run-ts.mjs scripts/render-size-study.ts --model runs/mnist-cnn [--arch a --dataset d]
 *     --layer <path> [--channels 0-7] [--steps 128] [--factors 1,2,3] [--param fourier|pixel]
 *     [--exemplars 1000] [--seed 0] [--out runs/vis/render-size.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as gb from '../src/index.ts';
import { parseChannels } from '../src/cli/visualize-patches.ts';
import { exemplarImages, loadForVisualization } from '../src/cli/visualize.ts';
import * as opt from '../src/xai/optimize/index.ts';
import { visualizeFeatures, type FeatureVisResult } from '../src/xai/visualize/features.ts';
import { datasetSpec } from '../src/train/datasets.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
await gb.init();
const modelPath = option('model');
if (!modelPath) throw new Error('render-size-study: give --model <run folder or .safetensors>');
const o = Object.fromEntries(Object.entries({ model: modelPath, arch: option('arch'), dataset: option('dataset') }).filter(([, v]) => v !== undefined)) as Record<string, string>;
const { model, arch, dataset, input, normalization, classNames } = await loadForVisualization(o);
const steps = Number(option('steps', '128'));
const seed = Number(option('seed', '0'));
const factors = option('factors', '1,2,3')!.split(',').map(Number);
const param = option('param', 'fourier') as opt.ParamKind;
const layer = option('layer');
const out = option('out', `runs/vis/render-size-${arch}.json`)!;
const decorrelation: opt.Decorrelation = input.channels === 3 ? opt.colorDecorrelationFromData(await datasetSpec(dataset).load('train', 2000)) : 'none';
const exemplars = layer ? await exemplarImages(dataset, Number(option('exemplars', '1000'))) : undefined;
const classes = classNames.map((_, k) => k);
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const median = (v: readonly number[]) => (v.length === 0 ? NaN : [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!);
const free = (r: FeatureVisResult) => [r.images, r.rendered, r.probabilities].forEach((t) => t?.dispose());

const rows: object[] = [];
for (const k of factors) {
  const base: opt.RenderOptions = {
    inputShape: [input.channels, input.height, input.width],
    normalization,
    param,
    decorrelation,
    transforms: opt.standardTransforms(k),
    steps,
    seed,
    renderSize: k === 1 ? undefined : [k * input.height, k * input.width],
  };
  let started = performance.now();
  const c = await visualizeFeatures(model, { class: classes }, { ...base, batch: classes.length });
  const classSeconds = (performance.now() - started) / 1000;
  const confident = c.predicted!.filter((p, i) => p.class === i && p.probability > 0.9).length;
  const row: Record<string, unknown> = {
    factor: k,
    renderSize: [k * input.height, k * input.width],
    classes: { confident, of: classes.length, meanLogit: mean(c.final), highFrequency: mean(c.highFrequency), seconds: classSeconds, predicted: c.predicted },
  };
  free(c);
  if (layer && exemplars) {
    const channels = parseChannels(option('channels', '0-7')!, Number.MAX_SAFE_INTEGER, layer);
    started = performance.now();
    const u = await visualizeFeatures(model, { layer, channel: channels }, { ...base, batch: channels.length }, { images: exemplars });
    const ratios = u.exemplarRatio!.filter(Number.isFinite);
    row.channels = { layer, channels, exemplarRatio: u.exemplarRatio, meanRatio: mean(ratios), medianRatio: median(ratios), highFrequency: mean(u.highFrequency), seconds: (performance.now() - started) / 1000 };
    free(u);
  }
  rows.push(row);
  const ch = row.channels as { meanRatio: number; medianRatio: number; highFrequency: number } | undefined;
  console.log(
    `${arch} x${k} (${k * input.height}x${k * input.width}): classes ${confident}/${classes.length} p > 0.9, mean logit ${mean(c.final).toFixed(2)}, high-frequency ${mean(c.highFrequency).toFixed(3)}` +
      (ch ? `; ${layer} exemplar ratio mean ${ch.meanRatio.toFixed(2)} median ${ch.medianRatio.toFixed(2)}, high-frequency ${ch.highFrequency.toFixed(3)}` : ''),
  );
}
exemplars?.dispose();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ model: o.model, arch, dataset, param, steps, seed, transforms: 'standard, pixel shifts x factor', rows }, null, 1));
console.log(`wrote ${out}`);
