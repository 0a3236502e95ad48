/**
 * `glassbox ablate`: unit ablation (catalogue E5, src/xai/units/ablation.ts) and, with --net2vec,
 * Net2Vec concept vectors (E8, src/xai/units/net2vec.ts) for one layer of a trained model.
 *
 * Ablation always sweeps every unit of the layer alone (ranking them by the accuracy lost) and
 * draws the cumulative curves (units removed by importance and in seeded random orders); --units,
 * --keep and --all-units add one more ablation each, switched off together. Writes ablation.png
 * (per-unit drop), curves.png, ablation.json and report.html; on mixture-of-MNIST also the
 * accuracy each unit costs on the images of each digit (digits.png).
 * --net2vec learns per digit a vector over the layer's channels on training images and scores it
 * on validation images against the best single unit (net2vec.png, net2vec.json).
 */
import { join } from 'node:path';
import * as gb from '../index.ts';
import type { MixtureDataset } from '../../datasets/mixture-mnist.ts';
import type { ImageDataset } from '../../datasets/index.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { chartPng } from '../viz/chart.ts';
import { ablationCurves, layerChannels, mixtureClassDigits, UnitAblation, type UnitAblationSweep } from '../xai/units/ablation.ts';
import { digitConcepts } from '../xai/units/concepts.ts';
import { convUnitLayers } from '../xai/units/dissection.ts';
import { Net2Vec } from '../xai/units/net2vec.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadTrained } from './explain-setup.ts';

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '-');

/** '3,5,7' as unit indices of a layer with `count` units. */
export function parseUnits(text: string, count: number, layer: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    if (!/^\s*\d+\s*$/.test(part)) throw new UsageError(`--units: '${part}' is not a unit index; give comma-separated indices like 3,5`);
    const u = Number(part);
    if (u >= count) throw new UsageError(`--units: unit ${u} is out of range; layer '${layer}' has ${count} units (0-${count - 1})`);
    if (!out.includes(u)) out.push(u);
  }
  return out;
}

function toImages(data: ImageDataset, n: number): gb.Tensor {
  const [c, h, w] = [data.channels, data.height, data.width];
  return gb.tensor(Float32Array.from(data.images.subarray(0, n * c * h * w), (v) => v / 255), [n, c, h, w]);
}

export async function ablateCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const modelPath = o.model === undefined ? undefined : stringOption(o, 'model', '');
  if (!modelPath) throw new UsageError('--model is required: a run folder of glassbox train, or a .safetensors file with --arch and --dataset');
  const modes = ['units', 'keep', 'all-units'].filter((m) => o[m] !== undefined);
  if (modes.length > 1) throw new UsageError(`give one of --units, --keep and --all-units, not ${modes.map((m) => `--${m}`).join(' and ')}`);
  const loaded = await loadTrained(modelPath, o.arch as string | undefined, o.dataset as string | undefined);
  const spec = datasetSpec(loaded.dataset);
  const mixture = loaded.dataset.startsWith('mnist-mixture');
  const net2vec = o.net2vec === true;
  if (net2vec && !mixture) throw new UsageError(`--net2vec needs concept masks; the data set '${loaded.dataset}' has none (use mnist-mixture or mnist-mixture-usefulness, whose digits carry pixel masks)`);
  const n = numberOption(o, 'n', 5000);
  const data = await spec.load('validation', n, { masks: net2vec });
  const count = Math.min(n, data.n);
  const images = toImages(data, count);
  const labels = data.labels.subarray(0, count);
  const normalization = { mean: spec.mean, std: spec.std };
  const layers = convUnitLayers(loaded.model);
  const layer = o.layer === undefined ? layers[layers.length - 1] : stringOption(o, 'layer', '');
  if (!layer) throw new UsageError(`--layer is required: ${loaded.arch} has no conv layer to default to`);
  let channels: number;
  try {
    channels = layerChannels(loaded.model, layer, images, normalization);
  } catch (e) {
    throw new UsageError(`--layer ${layer}: ${(e as Error).message.replace(/^glassbox\.xai\.units: /, '')}${layers.length ? `; the conv unit layers of ${loaded.arch} are ${layers.join(', ')}` : ''}`);
  }
  const out = stringOption(o, 'out', join('runs', `${net2vec ? 'net2vec' : 'ablate'}-${loaded.arch}-${layer}`));
  const batchSize = numberOption(o, 'batch-size', 128);
  if (net2vec) return net2vecRun(o, loaded, layer, images, data as MixtureDataset, out, batchSize, normalization);

  const extraOff = o.units !== undefined ? parseUnits(stringOption(o, 'units', ''), channels, layer) : null;
  const keep = o.keep !== undefined ? numberOption(o, 'keep', 1) : null;
  if (keep !== null && keep > channels) throw new UsageError(`--keep ${keep}: layer '${layer}' has only ${channels} units`);
  const seeds = Array.from({ length: numberOption(o, 'random-orders', 5) }, (_, i) => numberOption(o, 'seed', 0) + i);
  const classDigits = mixture ? mixtureClassDigits((data as MixtureDataset).variant ?? (loaded.dataset.endsWith('usefulness') ? 'usefulness' : 'pairs')) : undefined;

  console.error(`ablating the ${channels} units of ${loaded.arch} '${layer}' on ${count} ${loaded.dataset} ${spec.validationSplit} images`);
  const ablation = new UnitAblation(loaded.model, { layer, batchSize, normalization, classDigits });
  const progress = (label: string) => new Progress({ label, total: count, unit: 'img' });
  let bar = progress('sweep');
  const sweep = await new UnitAblation(loaded.model, { ...ablation.opts, onProgress: (d) => d < count && bar.update(d) }).sweep(images, labels);
  bar.done();
  bar = progress('curves');
  const curves = await ablationCurves(loaded.model, images, labels, sweep.ranking, { layer, batchSize, normalization, seeds, onProgress: (d) => d < count && bar.update(d) });
  bar.done();
  let extra: { off: number[]; what: string; accuracy: number; classAccuracy: number[] } | null = null;
  if (extraOff || keep !== null || o['all-units'] === true) {
    const off = extraOff ?? (keep !== null ? sweep.ranking.slice(keep) : sweep.ranking.slice());
    const what = extraOff ? `units ${extraOff.join(', ')} off` : keep !== null ? `all but the ${keep} most important units off (kept: ${sweep.ranking.slice(0, keep).join(', ')})` : 'every unit off (only the bias path is left)';
    extra = { off, what, ...(await ablation.evaluate(images, labels, off)) };
  }

  const output = new CommandOutput(out, `Unit ablation of ${loaded.arch} ${layer} (${loaded.dataset})`);
  output.report.paragraph(
    `Each of the ${channels} units of '${layer}' switched off (its map zeroed by a forward hook) over ${count} ${spec.validationSplit} images; the intact model scores ${fmt(sweep.baseline.accuracy)}. ` +
      `The sweep took ${sweep.seconds.toFixed(1)} s (${sweep.mode === 'tiled' ? 'all ablations in one pass, the batch tiled after the layer' : 'one pass per ablation: the model cannot take a tiled batch'}).`,
  );
  const drops = sweep.effects.map((e) => -e.accuracyChange);
  output.png(
    'ablation.png',
    chartPng({ title: `${loaded.arch} ${layer}: accuracy lost per unit`, xLabel: 'unit', yLabel: 'accuracy lost', xName: 'unit', series: [{ name: 'accuracy lost', y: drops }], xLabels: sweep.effects.map((e) => String(e.unit)) }),
    `accuracy lost when each unit alone is switched off (mean ${fmt(mean(drops))}, largest ${fmt(Math.max(...drops))} by unit ${sweep.ranking[0]})`,
  );
  output.png(
    'curves.png',
    chartPng({
      title: `${loaded.arch} ${layer}: cumulative ablation`,
      xLabel: 'units switched off',
      yLabel: 'accuracy',
      yRange: [0, 1],
      xName: 'units off',
      series: [{ name: 'by importance', y: curves.byImportance }, { name: `random (mean of ${seeds.length})`, y: curves.randomMean, dashed: true }],
    }),
    `accuracy as units are switched off one after another: most important first (by the sweep), and in ${seeds.length} seeded random orders`,
  );
  const rows = [['rank', 'unit', 'accuracy', 'change', ...(classDigits ? ['digit it costs most', 'drop there'] : [])]];
  sweep.ranking.forEach((u, r) => {
    const e = sweep.effects[u]!;
    const d = e.digitDrop ? e.digitDrop.reduce((b, v, i) => (v > e.digitDrop![b]! ? i : b), 0) : -1;
    rows.push([String(r + 1), String(u), fmt(e.accuracy), fmt(e.accuracyChange), ...(e.digitDrop ? [String(d), fmt(e.digitDrop[d]!)] : [])]);
  });
  output.table('ranking.md', rows, 'units ranked by the accuracy lost when each is switched off alone');
  if (classDigits) {
    const digits = sweep.effects[0]!.digitDrop!.length;
    output.png(
      'digits.png',
      chartPng({ title: `${loaded.arch} ${layer}: loss per digit`, xLabel: 'digit', yLabel: 'accuracy lost', xName: 'digit', xLabels: Array.from({ length: digits }, (_, d) => String(d)), series: sweep.effects.map((e) => ({ name: `unit ${e.unit}`, y: e.digitDrop! })) }),
      'per unit, the accuracy lost on the images whose class contains each digit',
    );
  }
  if (extra) output.report.paragraph(`With ${extra.what}: accuracy ${fmt(extra.accuracy)} (intact ${fmt(sweep.baseline.accuracy)}).`);
  output.json('ablation.json', {
    model: modelPath,
    arch: loaded.arch,
    dataset: loaded.dataset,
    split: spec.validationSplit,
    layer,
    images: count,
    channels,
    baseline: sweep.baseline,
    meanDrop: mean(drops),
    effects: sweep.effects,
    ranking: sweep.ranking,
    mode: sweep.mode,
    seconds: sweep.seconds,
    curves,
    extra,
  } satisfies Record<string, unknown> & { baseline: UnitAblationSweep['baseline'] });
  output.finish();
  console.log(`intact accuracy ${fmt(sweep.baseline.accuracy)}; mean drop per unit ${fmt(mean(drops))}; most important unit ${sweep.ranking[0]} (-${fmt(drops[sweep.ranking[0]!]!)})${extra ? `; ${extra.what}: ${fmt(extra.accuracy)}` : ''}`);
  console.log(`ablation.png, curves.png, ablation.json and report.html in ${out}`);
  images.dispose();
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function net2vecRun(o: ParsedArgs['options'], loaded: { model: gb.nn.Module; arch: string; dataset: string }, layer: string, valImages: gb.Tensor, val: MixtureDataset, out: string, batchSize: number, normalization: gb.Normalization): Promise<void> {
  const spec = datasetSpec(loaded.dataset);
  const trainN = numberOption(o, 'train-n', 2000);
  const train = (await spec.load('train', trainN, { masks: true })) as MixtureDataset;
  const trainImages = toImages(train, Math.min(trainN, train.n));
  const epochs = numberOption(o, 'epochs', 10);
  const quantile = numberOption(o, 'quantile', 0.005);
  console.error(`Net2Vec: a vector over the units of ${loaded.arch} '${layer}' per digit, trained on ${train.n} images for ${epochs} epochs, scored on ${val.n}`);
  const bars: Record<string, Progress> = {};
  const n2v = new Net2Vec(loaded.model, {
    layer,
    epochs,
    lr: numberOption(o, 'lr', 0.05),
    passBatchSize: batchSize,
    quantile,
    normalization,
    seed: numberOption(o, 'seed', 0),
    onProgress: (stage, done, total, loss) => {
      const bar = (bars[stage] ??= new Progress({ label: stage, total, unit: stage === 'train' ? 'step' : 'img' }));
      if (done < total) bar.update(done, loss === undefined ? undefined : { loss });
      else bar.done();
    },
  });
  const started = performance.now();
  await n2v.fit(trainImages, digitConcepts(train));
  const fitSeconds = (performance.now() - started) / 1000;
  const ev = await n2v.evaluate(valImages, digitConcepts(val));
  const output = new CommandOutput(out, `Net2Vec on ${loaded.arch} ${layer} (${loaded.dataset})`);
  output.report.paragraph(
    `Per digit, a weight vector over the ${n2v.channels} units of '${layer}' (Fong & Vedaldi 2018), trained for ${epochs} epochs on ${train.n} training images (${fitSeconds.toFixed(0)} s) and scored by set IoU on ${val.n} validation images: ` +
      `thresholded at sigmoid 0.5 (the paper's) and at the top ${quantile * 100}% quantile (as dissection thresholds a single unit), against the best single unit at that quantile.`,
  );
  output.png(
    'net2vec.png',
    chartPng({
      title: `${loaded.arch} ${layer}: IoU per digit`,
      xLabel: 'digit',
      yLabel: 'IoU',
      xName: 'digit',
      xLabels: ev.concepts.map((c) => c.concept),
      series: [{ name: 'best single unit', y: ev.concepts.map((c) => c.bestUnitIou) }, { name: 'Net2Vec (quantile)', y: ev.concepts.map((c) => c.iouQuantile) }, { name: 'Net2Vec (sigmoid 0.5)', y: ev.concepts.map((c) => c.iouLearned), dashed: true }],
    }),
    'set IoU with the digit masks: the best single unit against the learned combination',
  );
  output.table(
    'net2vec.md',
    [['digit', 'best unit', 'its IoU', 'Net2Vec IoU (quantile)', 'Net2Vec IoU (sigmoid 0.5)', 'gain'], ...ev.concepts.map((c) => [c.concept, String(c.bestUnit), fmt(c.bestUnitIou), fmt(c.iouQuantile), fmt(c.iouLearned), fmt(c.gain)])],
    'per digit: the single unit with the highest IoU and the learned vector',
  );
  output.json('net2vec.json', { model: loaded.arch, dataset: loaded.dataset, trainImages: train.n, validationImages: val.n, epochs, fitSeconds, losses: n2v.losses, ...ev, units: ev.units });
  output.finish();
  const gains = ev.concepts.map((c) => c.gain);
  console.log(`Net2Vec beats the best single unit on ${gains.filter((g) => g > 0).length} of ${gains.length} digits; mean IoU gain ${fmt(mean(gains))}`);
  console.log(`net2vec.png, net2vec.json and report.html in ${out}`);
  trainImages.dispose();
  valImages.dispose();
}
