/**
 * `glassbox gan train|sample|dissect|walk` (src/gan/): a DCGAN trained with the engine, its quality
 * (an MNIST FID in LeNet-5's feature space, the classifier's confidence and class balance), E6 GAN
 * dissection (units switched off and on) and E7 latent walks along attribute boundaries.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as gb from '../index.ts';
import { Dcgan } from '../nn/models/dcgan.ts';
import { modelEntry } from '../nn/models/zoo.ts';
import { loadModel } from '../nn/safetensors-file.ts';
import { loadSafetensors, parseSafetensors } from '../nn/safetensors.ts';
import { runWeights } from '../train/checkpoint.ts';
import { NORMALISATION } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { chartPng } from '../viz/chart.ts';
import { makeGrid } from '../viz/grid.ts';
import { heatmapToImage } from '../viz/normalize.ts';
import { overlay, upscale } from '../viz/image.ts';
import { REPO_ROOT } from '../../datasets/paths.ts';
import { checkAttribute, defaultAttributes, type AttributeName } from '../gan/attributes.ts';
import { GanDissection, STROKE_PARTS, type StrokePart } from '../gan/dissect.ts';
import { classSummary, ClassifierFrechet, FRECHET_LAYER, frechetDistance } from '../gan/frechet.ts';
import { datasetImages, imageGrid, tilesOf } from '../gan/images.ts';
import { fixedLatents, ganConfig, GAN_MODEL, trainGan, type GanConfig, type GanLoss } from '../gan/train.ts';
import { cosine, interpolationLatents, LatentWalk, projectOut } from '../gan/walk.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';

export const DEFAULT_CLASSIFIER = join(REPO_ROOT, 'tests', 'fixtures', 'models', 'lenet-mnist.safetensors');

// ---------------------------------------------------------------------------------------------
// loading
// ---------------------------------------------------------------------------------------------

/** A trained generator from a run folder of `gan train` or its model.safetensors; clear errors for anything else. */
export async function loadGenerator(path: string): Promise<{ gan: Dcgan; dataset: string; epoch?: number }> {
  if (!existsSync(path)) throw new UsageError(`--model ${path} does not exist; give a run folder of glassbox gan train or its model.safetensors`);
  let file = path;
  let dataset = 'mnist';
  let epoch: number | undefined;
  if (statSync(path).isDirectory()) {
    const run = runWeights(path);
    if (!run) throw new UsageError(`--model ${path} holds no checkpoint.json; give a run folder of glassbox gan train`);
    if (run.config.model !== GAN_MODEL) throw new UsageError(`--model ${path} is a '${run.config.model}' classifier run of glassbox train, not a generator; give a run folder of glassbox gan train`);
    file = run.modelPath;
    dataset = run.config.dataset;
    epoch = run.epoch;
  }
  const bytes = new Uint8Array(readFileSync(file));
  let meta: Record<string, string>;
  try {
    meta = parseSafetensors(bytes).metadata;
  } catch (e) {
    throw new UsageError(`--model ${file} is not a safetensors file (${(e as Error).message})`);
  }
  if (meta.model !== GAN_MODEL)
    throw new UsageError(`--model ${file} is not a generator: its metadata says model '${meta.model ?? '(none)'}', a GAN file says '${GAN_MODEL}'; give a run folder of glassbox gan train`);
  // a WGAN-GP run's critic has no batch norm (files from before WGAN-GP name no norm: batch)
  const gan = new Dcgan({ latentSize: Number(meta.latentSize), width: Number(meta.width), discriminatorNorm: meta.discriminatorNorm === 'none' ? 'none' : 'batch' });
  loadSafetensors(gan, bytes);
  await gb.nn.assertFiniteParameters(gan, `in ${file}`);
  gan.eval();
  return { gan, dataset: meta.dataset ?? dataset, epoch: epoch ?? (meta.epoch ? Number(meta.epoch) : undefined) };
}

/** Where `glassbox train --model lenet5 --dataset <dataset>` writes by default: the classifier the GAN commands use for a data set without a fixture. */
export const trainedClassifierRun = (dataset: string) => join('runs', `lenet5-${dataset}`);

/**
 * The classifier whose features and labels the commands use: a LeNet-5 trained on the generator's
 * data set, as a .safetensors file or a run folder of glassbox train. Default: the MNIST fixture, or
 * for Fashion-MNIST the run `glassbox train --model lenet5 --dataset fashion-mnist` writes.
 */
export async function loadClassifier(o: ParsedArgs['options'], dataset: string): Promise<ClassifierFrechet> {
  const fallback = dataset === 'mnist' ? DEFAULT_CLASSIFIER : trainedClassifierRun(dataset);
  const path = stringOption(o, 'classifier', fallback);
  if (!existsSync(path))
    throw new UsageError(
      o.classifier === undefined
        ? `no classifier for ${dataset}: the default ${path} does not exist. Train one with: glassbox train --model lenet5 --dataset ${dataset} --epochs 2 (it writes ${path}), or pass --classifier with a LeNet-5 run folder or .safetensors trained on ${dataset}`
        : `--classifier ${path} does not exist; give a LeNet-5 run folder of glassbox train or its .safetensors, trained on ${dataset}`,
    );
  let file = path;
  if (statSync(path).isDirectory()) {
    const run = runWeights(path);
    if (!run) throw new UsageError(`--classifier ${path} holds no checkpoint.json; give a LeNet-5 run folder of glassbox train (glassbox train --model lenet5 --dataset ${dataset})`);
    if (run.config.model !== 'lenet5' || run.config.dataset !== dataset)
      throw new UsageError(`--classifier ${path} is a '${run.config.model}' run on ${run.config.dataset}; the GAN commands score ${dataset} images with a lenet5 trained on ${dataset} (glassbox train --model lenet5 --dataset ${dataset})`);
    file = run.modelPath;
  }
  const model = modelEntry('lenet5').build({ channels: 1, height: 28, width: 28, classes: 10 });
  await loadModel(file, model);
  model.eval();
  return new ClassifierFrechet(model, { layer: FRECHET_LAYER, ...NORMALISATION[dataset]! });
}

const GAN_OPTIONS_ON_RESUME = ['resume', 'epochs', 'out'];

// ---------------------------------------------------------------------------------------------
// gan train
// ---------------------------------------------------------------------------------------------

export async function ganTrainCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  await gb.init();
  const resume = o.resume === undefined ? undefined : stringOption(o, 'resume', '');
  if (resume) {
    const ignored = Object.keys(o).filter((k) => o[k] !== undefined && !GAN_OPTIONS_ON_RESUME.includes(k));
    if (ignored.length) throw new UsageError(`--resume continues the run in ${resume} with its own settings; drop ${ignored.map((k) => `--${k}`).join(', ')} (only --epochs goes with --resume)`);
    const history = await trainGan({ out: resume, epochs: o.epochs === undefined ? undefined : numberOption(o, 'epochs', 1) });
    console.log(`GAN run ${resume}: ${history.length} epochs; samples in ${resume}/samples-epoch-${history.length}.png`);
    return;
  }
  const dataset = stringOption(o, 'dataset', 'mnist');
  const ganLoss = stringOption(o, 'loss', 'non-saturating') as GanLoss;
  const config: GanConfig = ganConfig({
    dataset,
    ganLoss,
    epochs: numberOption(o, 'epochs', 5),
    batchSize: numberOption(o, 'batch-size', 64),
    ...(o.lr !== undefined ? { lr: numberOption(o, 'lr', 0) } : {}),
    width: numberOption(o, 'width', 32),
    latentSize: numberOption(o, 'latent-size', 64),
    seed: numberOption(o, 'seed', 0),
    ...(o.limit !== undefined ? { limit: numberOption(o, 'limit', 0) } : {}),
  });
  const out = stringOption(o, 'out', `runs/gan-${dataset}`);
  if (existsSync(join(out, 'checkpoint.json'))) throw new UsageError(`${out} already holds a run; continue it with --resume ${out}, or choose another --out`);
  const kind = ganLoss === 'wgan-gp' ? `WGAN-GP (critic without batch norm, ${config.nCritic} critic steps per generator step, penalty ${config.penaltyWeight})` : 'DCGAN (non-saturating loss)';
  console.error(`training a ${kind}, width ${config.width}, latent ${config.latentSize}, Adam lr ${config.lr} betas (${config.beta1}, ${config.beta2}), on ${dataset} -> ${out}`);
  const history = await trainGan({ out, config });
  const last = history[history.length - 1]!;
  console.log(`${ganLoss === 'wgan-gp' ? 'WGAN-GP' : 'DCGAN'} on ${dataset}: ${history.length} epochs, ${ganLoss === 'wgan-gp' ? 'critic' : 'D'} loss ${last.discriminatorLoss.toFixed(3)}, G loss ${last.generatorLoss.toFixed(3)}, ${last.imagesPerSecond.toFixed(1)} images/s; files in ${out}`);
}

// ---------------------------------------------------------------------------------------------
// gan sample
// ---------------------------------------------------------------------------------------------

export async function ganSampleCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  await gb.init();
  const modelPath = stringOption(o, 'model', '');
  const { gan, dataset, epoch } = await loadGenerator(modelPath);
  const classifier = await loadClassifier(o, dataset);
  const n = numberOption(o, 'n', 10_000);
  const seed = numberOption(o, 'seed', 0);
  const out = stringOption(o, 'out', `runs/gan-sample-${dataset}`);
  const started = Date.now();
  const spec = datasetSpec(dataset);
  const progress = new Progress({ label: 'gan sample', total: 5, unit: 'set' });
  const real = datasetImages(await spec.load('validation', n), n);
  const train = datasetImages(await spec.load('train', n), n);
  const walk = new LatentWalk(gan.generator);
  const z = fixedLatents(n, gan.generator.latentSize, seed + 100);
  const fake = walk.generate(z);
  progress.update(1);
  const untrained = new Dcgan({ latentSize: gan.generator.latentSize, width: (gan.generator.block2.getSubmodule('0') as unknown as { outChannels: number }).outChannels });
  const untrainedImages = new LatentWalk(untrained.generator).generate(z);
  const noise = gb.uniform([n, 1, 28, 28], -1, 1);
  const sets: Record<string, Tensor> = { generated: fake, untrained: untrainedImages, train, noise };
  const refStats = await classifier.stats(real);
  progress.update(2);
  const rows: Record<string, { frechet: number; meanConfidence: number; balance: number; classShare: number[] }> = {};
  let k = 2;
  for (const [name, images] of Object.entries(sets)) {
    const s = await classifier.stats(images);
    rows[name] = { frechet: frechetDistance(refStats, s), ...classSummary(s.readout) };
    progress.update(++k > 5 ? 5 : k);
  }
  rows.test = { frechet: 0, ...classSummary(refStats.readout) };
  progress.done();
  const output = new CommandOutput(out, `DCGAN samples on ${dataset}: quality in LeNet-5's feature space`);
  output.report.paragraph(
    `Frechet distance to ${real.shape[0]} real ${spec.validationSplit} images, computed in the feature space of LeNet-5 (layer ${FRECHET_LAYER}, its 84 ReLU features before the logits: an "${dataset} FID"), ` +
      `with the classifier's mean top softmax probability and class balance (entropy of the predicted classes / ln 10; 1 = uniform) over ${n} images of each set.`,
  );
  const grid = await imageGrid(fake.slice(0, { start: 0, end: 64 }), { cols: 8, title: `DCGAN samples${epoch ? `, epoch ${epoch}` : ''}` });
  output.png('samples.png', grid, '64 generated images');
  output.png('untrained.png', await imageGrid(untrainedImages.slice(0, { start: 0, end: 64 }), { cols: 8, title: 'untrained generator' }), 'the untrained generator on the same latents');
  const table = [['set', 'Frechet distance to test', 'mean confidence', 'class balance', ...Array.from({ length: 10 }, (_, c) => `class ${c}`)]];
  for (const [name, r] of Object.entries(rows)) table.push([name, r.frechet.toFixed(2), r.meanConfidence.toFixed(3), r.balance.toFixed(3), ...r.classShare.map((p) => (100 * p).toFixed(1) + '%')]);
  output.table('quality.md', table, 'Frechet distance (LeNet-5 features), confidence and class shares per image set');
  output.json('quality.json', { dataset, epoch, n, layer: FRECHET_LAYER, reference: `${spec.validationSplit} split, ${real.shape[0]} images`, sets: rows, seconds: (Date.now() - started) / 1000 });
  output.finish();
  for (const t of [real, train, z, fake, untrainedImages, noise]) t.dispose();
  console.log(
    `${dataset} FID (LeNet-5 ${FRECHET_LAYER}) over ${n} images: generated ${rows.generated!.frechet.toFixed(2)}, untrained ${rows.untrained!.frechet.toFixed(2)}, train images ${rows.train!.frechet.toFixed(2)}, noise ${rows.noise!.frechet.toFixed(2)}; ` +
      `confidence ${rows.generated!.meanConfidence.toFixed(3)}, balance ${rows.generated!.balance.toFixed(3)}; files in ${out}`,
  );
}

// ---------------------------------------------------------------------------------------------
// gan dissect
// ---------------------------------------------------------------------------------------------

function parseUnits(text: string, channels: number): number[] {
  const units = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  for (const u of units)
    if (!Number.isInteger(u) || u < 0 || u >= channels) throw new UsageError(`--units: unit ${u} is out of range; the layer has ${channels} units (0 to ${channels - 1})`);
  return units;
}

export async function ganDissectCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  await gb.init();
  const { gan, dataset } = await loadGenerator(stringOption(o, 'model', ''));
  const classifier = await loadClassifier(o, dataset);
  const layer = stringOption(o, 'layer', 'block2');
  const dissection = new GanDissection(gan.generator, { layer, samples: numberOption(o, 'samples', 1000), quantile: numberOption(o, 'quantile', 0.1), classifier });
  const given = o.units === undefined ? undefined : parseUnits(stringOption(o, 'units', ''), dissection.channels);
  const part = o.part === undefined ? undefined : (stringOption(o, 'part', 'top') as StrokePart);
  const k = numberOption(o, 'k', 3);
  const out = stringOption(o, 'out', `runs/gan-dissect-${layer}`);
  const started = Date.now();
  const progress = new Progress({ label: `gan dissect ${layer}`, total: dissection.channels, unit: 'unit' });
  const units = await dissection.dissect({ ablate: true, onUnit: (d) => progress.update(d) });
  progress.done();
  // the stroke part the layer's units match best, unless --part names one; its top-k units by IoU unless --units
  const halves = STROKE_PARTS.filter((p) => p !== 'ink');
  const chosenPart = part ?? halves.reduce((a, b) => (Math.max(...units.map((u) => u.iou[b])) > Math.max(...units.map((u) => u.iou[a])) ? b : a));
  const chosen = given ?? [...units].sort((a, b) => b.iou[chosenPart] - a.iou[chosenPart]).slice(0, k).map((u) => u.unit);
  const effect = await dissection.partEffect(chosenPart, chosen);
  const high = Math.max(...chosen.map((u) => units[u]!.max));
  const insertion = await dissection.insertionEffect(chosen, high);
  // loop units: the layer's units whose best part is the digit's enclosed holes; and the k with the highest loop IoU, switched off
  const loopUnits = units.filter((u) => u.bestPart === 'loop').map((u) => u.unit);
  const loopTop = [...units].sort((a, b) => b.iou.loop - a.iou.loop).slice(0, k);
  const loopEffect = chosenPart === 'loop' ? effect : await dissection.partEffect('loop', loopTop.map((u) => u.unit));
  const loopText =
    `Loop units (best IoU with the enclosed holes): ${loopUnits.length ? loopUnits.join(', ') : 'none'}; the ${k} highest loop IoUs are ${loopTop.map((u) => `unit ${u.unit} ${u.iou.loop.toFixed(3)}`).join(', ')}. ` +
    `Switched off together they leave ${(100 * loopEffect.partInkRemoved).toFixed(1)}% of the loop pixels no longer enclosed and remove ${(100 * loopEffect.otherInkRemoved).toFixed(1)}% of the ink; ` +
    `as many random units (${loopEffect.randomUnits.join(', ')}) open ${(100 * loopEffect.randomPartInkRemoved).toFixed(1)}% of the loop pixels.`;
  const output = new CommandOutput(out, `GAN dissection of the DCGAN generator's ${layer} (${dissection.channels} units)`);
  output.report.paragraph(
    `Each unit's map, upsampled to 28x28 and thresholded at its top ${(100 * (dissection.opts.quantile ?? 0.1)).toFixed(0)}% over ${dissection.opts.samples} samples, against stroke masks (ink; the ink in the top, bottom, left and right half of the digit's box; the loops, background enclosed by ink) by IoU (Bau et al. 2019). ` +
      `Units ${chosen.join(', ')} (best IoU with '${chosenPart}') switched off together remove ${(100 * effect.partInkRemoved).toFixed(1)}% of the ${chosenPart} ink and ${(100 * effect.otherInkRemoved).toFixed(1)}% of the rest; ` +
      `as many random units (${effect.randomUnits.join(', ')}) remove ${(100 * effect.randomPartInkRemoved).toFixed(1)}% of the ${chosenPart} ink. The classifier's digit changes on ${(100 * effect.digitChanged).toFixed(1)}% of the samples. ` +
      `Switched on (set to ${high.toFixed(2)}) in a 3x3 window of the map, they add ${insertion.inkAddedInside.toFixed(2)} ink pixels inside the window's image region per sample (${insertion.inkAddedOutside.toFixed(2)} outside); random units add ${insertion.randomInkAddedInside.toFixed(2)}.`,
  );
  output.report.paragraph(loopText);
  // figure: rows of samples before, with the chosen units off, with random units off, with the chosen units on at the centre
  const z = fixedLatents(8, gan.generator.latentSize, 4242);
  const c = Math.floor(dissection.mapSize / 2);
  const rows = [
    await dissection.generate(z),
    await dissection.generate(z, { units: chosen, mode: 'off' }),
    await dissection.generate(z, { units: effect.randomUnits, mode: 'off' }),
    await dissection.generate(z, { units: chosen, mode: 'on', high, window: { y0: c - 1, y1: c + 2, x0: c - 1, x1: c + 2 } }),
    await dissection.generate(z, { units: loopEffect.units, mode: 'off' }),
  ];
  const tiles = rows.flatMap((r) => tilesOf(r.images, 8, 28, 28));
  output.png(
    'intervention.png',
    makeGrid(tiles, { cols: 8, tileScale: 3, rowTitles: ['before', `units off`, 'random off', 'units on', 'loop units off'], title: `${layer} units ${chosen.join(', ')} ('${chosenPart}')` }),
    `samples before; with units ${chosen.join(', ')} switched off; with random units ${effect.randomUnits.join(', ')} off; with the units switched on at the centre of the map; with the loop units ${loopEffect.units.join(', ')} off`,
  );
  // figure: each chosen unit's upsampled map over a sample
  const withMaps = await dissection.generate(z, undefined, true);
  const hw = dissection.mapSize * dissection.mapSize;
  const overlays = chosen.flatMap((u) =>
    Array.from({ length: 8 }, (_, i) => {
      const map = withMaps.maps!.subarray((i * dissection.channels + u) * hw, (i * dissection.channels + u + 1) * hw);
      const heat = heatmapToImage(map, dissection.mapSize, dissection.mapSize, { cmap: 'inferno', vmin: 0, vmax: units[u]!.max });
      return overlay(upscale(tilesOf(withMaps.images.subarray(i * 784, (i + 1) * 784), 1, 28, 28)[0]!, 3), upscale(heat, (3 * 28) / dissection.mapSize), 0.5);
    }),
  );
  output.png('unit-maps.png', makeGrid(overlays, { cols: 8, rowTitles: chosen.map((u) => `unit ${u}`) }), 'the chosen units\' maps over the samples (inferno, 0 to the unit\'s largest activation)');
  z.dispose();
  const ranked = [...units].sort((a, b) => (b.inkRemoved ?? 0) - (a.inkRemoved ?? 0));
  output.report.chart({
    title: 'IoU of each unit with its best stroke part',
    xLabel: 'unit',
    yLabel: 'IoU',
    series: [{ name: 'IoU', y: units.map((u) => u.iou[u.bestPart]) }],
  });
  output.table(
    'units.md',
    [['unit', 'best part', 'IoU', ...STROKE_PARTS.map((p) => `IoU ${p}`), 'ink removed in its region (off alone)', 'digit changed (off alone)'], ...ranked.map((u) => [String(u.unit), u.bestPart, u.iou[u.bestPart].toFixed(3), ...STROKE_PARTS.map((p) => u.iou[p].toFixed(3)), `${(100 * (u.inkRemoved ?? 0)).toFixed(1)}%`, `${(100 * (u.digitChanged ?? 0)).toFixed(1)}%`])],
    'units ranked by the share of ink in their region that disappears when each is switched off alone',
  );
  output.json('dissect.json', { dataset, layer, samples: dissection.opts.samples, quantile: dissection.opts.quantile, units, chosen, part: chosenPart, effect, insertion, high, loop: { units: loopUnits, top: loopTop.map((u) => ({ unit: u.unit, iou: u.iou.loop })), effect: loopEffect }, seconds: (Date.now() - started) / 1000 });
  output.finish();
  console.log(
    `${layer}: units ${chosen.join(', ')} ('${chosenPart}') off remove ${(100 * effect.partInkRemoved).toFixed(1)}% of the ${chosenPart} ink (${(100 * effect.otherInkRemoved).toFixed(1)}% of the rest; random units ${(100 * effect.randomPartInkRemoved).toFixed(1)}%); ` +
      `on add ${insertion.inkAddedInside.toFixed(2)} ink pixels in the window (random ${insertion.randomInkAddedInside.toFixed(2)}); files in ${out}`,
  );
  console.log(loopText);
}

// ---------------------------------------------------------------------------------------------
// gan walk
// ---------------------------------------------------------------------------------------------

export async function ganWalkCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  // names checked before any work; the defaults depend on the generator's data set (strokes for digits, shape and tone for clothes)
  const given = (name: 'attribute' | 'condition') => (o[name] === undefined ? undefined : wrapAttribute(stringOption(o, name, '')));
  const [walked, kept] = [given('attribute'), given('condition')];
  if (walked && walked === kept) throw new UsageError(`--condition ${kept} is the walked --attribute; choose another attribute to keep`);
  await gb.init();
  const { gan, dataset } = await loadGenerator(stringOption(o, 'model', ''));
  const defaults = defaultAttributes(dataset);
  const attribute: AttributeName = walked ?? (kept === defaults.attribute ? defaults.condition : defaults.attribute);
  const condition: AttributeName = kept ?? (attribute === defaults.condition ? defaults.attribute : defaults.condition);
  const classifier = await loadClassifier(o, dataset);
  const out = stringOption(o, 'out', `runs/gan-walk-${attribute}`);
  const started = Date.now();
  const walker = new LatentWalk(gan.generator, { classifier });
  const progress = new Progress({ label: 'gan walk', total: 5, unit: 'stage' });
  const labelled = await walker.label(numberOption(o, 'samples', 2000), numberOption(o, 'seed', 0) + 11);
  progress.update(1);
  const b1 = await walker.boundary(labelled, attribute);
  const b2 = await walker.boundary(labelled, condition);
  progress.update(2);
  const count = numberOption(o, 'count', 64);
  const plain = await walker.walk(b1.normal, attribute, { count });
  const conditional = await walker.walk(projectOut(b1.normal, b2.normal), attribute, { count });
  progress.update(4);
  const a = (await fixedLatents(8, gan.generator.latentSize, 901).toArray()) as Float32Array;
  const bz = (await fixedLatents(8, gan.generator.latentSize, 902).toArray()) as Float32Array;
  const zi = interpolationLatents(a, bz, 8, gan.generator.latentSize, 9);
  const interp = walker.generate(zi);
  progress.done();
  const output = new CommandOutput(out, `Latent walks on the DCGAN (${dataset}): ${attribute}, keeping ${condition}`);
  const change = (w: typeof plain, name: AttributeName) => w.meanPerStep[name][w.steps.length - 1]! - w.meanPerStep[name][0]!;
  output.report.paragraph(
    `${labelled.count} latents labelled by pixel attributes; logistic regressions (trained with the engine) separate each attribute's upper from its lower half (${attribute}: ${(100 * b1.trainAccuracy).toFixed(1)}% of latents on their side, ${condition}: ${(100 * b2.trainAccuracy).toFixed(1)}%; cosine of the normals ${cosine(b1.normal, b2.normal).toFixed(3)}). ` +
      `Walking ${count} latents along the ${attribute} normal, steps ${plain.steps.join(', ')}: Spearman of step against ${attribute} ${plain.spearman[attribute].toFixed(3)}, against ${condition} ${plain.spearman[condition].toFixed(3)}; ` +
      `along the normal with ${condition}'s direction projected out: ${conditional.spearman[attribute].toFixed(3)} and ${conditional.spearman[condition].toFixed(3)}.`,
  );
  const walkGrid = async (w: typeof plain, title: string) => {
    const v = (await w.images.toArray()) as Float32Array;
    const per = w.steps.length;
    // rows: 8 latents; columns: steps
    const tiles = Array.from({ length: 8 * per }, (_, j) => {
      const i = Math.floor(j / per);
      const s = j % per;
      const at = (s * count + i) * 784;
      return tilesOf(v.subarray(at, at + 784), 1, 28, 28)[0]!;
    });
    return makeGrid(tiles, { cols: per, tileScale: 2, padding: 2, colTitles: w.steps.map(String), title });
  };
  output.png('walk.png', await walkGrid(plain, `walk along ${attribute}`), `8 latents walked along the ${attribute} boundary's normal (columns: steps)`);
  output.png('walk-conditional.png', await walkGrid(conditional, `${attribute}, ${condition} projected out`), `the same latents along the normal with ${condition}'s direction projected out`);
  output.png('interpolation.png', await imageGrid(interp, { cols: 9, title: 'linear interpolation between latents' }), 'rows: linear interpolations between pairs of latents');
  const names: AttributeName[] = [attribute, condition];
  output.png(
    'walk-scores.png',
    chartPng({
      title: `mean attribute per step`,
      xLabel: 'step index',
      yLabel: 'attribute (its own units)',
      series: names.flatMap((name) => [
        { name: `${name} (walk)`, y: plain.meanPerStep[name] },
        { name: `${name} (conditional)`, y: conditional.meanPerStep[name] },
      ]),
    }),
    'mean attribute of the walked images per step',
  );
  const table = [['walk', ...names.flatMap((nm) => [`Spearman ${nm}`, `change in ${nm}`]), dataset === 'mnist' ? 'same digit at the ends' : 'same class at the ends']];
  for (const [label, w] of [[`along ${attribute}`, plain], [`along ${attribute}, ${condition} projected out`, conditional]] as const)
    table.push([label, ...names.flatMap((nm) => [w.spearman[nm].toFixed(3), change(w, nm).toFixed(3)]), w.sameDigit ? `${(100 * Math.min(w.sameDigit[0]!, w.sameDigit[w.sameDigit.length - 1]!)).toFixed(1)}%` : '']);
  output.table('walk.md', table, 'Spearman of step against each attribute over every (step, latent) pair, and the change of the mean from the first to the last step');
  const strip = (w: typeof plain) => ({ steps: w.steps, spearman: w.spearman, meanPerStep: w.meanPerStep, sameDigit: w.sameDigit });
  output.json('walk.json', {
    dataset,
    attribute,
    condition,
    samples: labelled.count,
    boundaries: { [attribute]: { accuracy: b1.trainAccuracy, threshold: b1.threshold }, [condition]: { accuracy: b2.trainAccuracy, threshold: b2.threshold }, cosine: cosine(b1.normal, b2.normal) },
    walk: strip(plain),
    conditional: strip(conditional),
    seconds: (Date.now() - started) / 1000,
  });
  output.finish();
  for (const t of [plain.images, conditional.images, zi, interp]) t.dispose();
  console.log(
    `walk along ${attribute}: Spearman ${plain.spearman[attribute].toFixed(3)} (${condition} ${plain.spearman[condition].toFixed(3)}); ${condition} projected out: ${conditional.spearman[attribute].toFixed(3)} (${condition} ${conditional.spearman[condition].toFixed(3)}); files in ${out}`,
  );
}

function wrapAttribute(name: string): AttributeName {
  try {
    return checkAttribute(name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
