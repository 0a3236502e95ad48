/**
 * `glassbox visualize features`: E1 feature visualisation of a trained model's class, channel or
 * neuron (src/xai/visualize/features.ts), written as a PNG grid, a JSON file with the objective
 * curve and what the net makes of its own pictures, and report.html.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Normalization } from '../data/normalization.ts';
import { loadModel } from '../nn/load-model.ts';
import type { Module } from '../nn/module.ts';
import { tensor } from '../tensor/ops/creation.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import * as opt from '../xai/optimize/index.ts';
import { featureGrid, visualizeFeatures, type FeatureTarget } from '../xai/visualize/features.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadTrained } from './explain-setup.ts';

/** Training images the data set's colour covariance is estimated from (2,000 CIFAR-10 images: 2 million pixels). */
const COVARIANCE_IMAGES = 2000;

/** --decorrelation for 3-channel inputs; 1-channel inputs have none. */
async function decorrelation(kind: string, channels: number, dataset: string): Promise<opt.Decorrelation> {
  if (channels !== 3 || kind === 'none') return 'none';
  if (kind === 'lucid-imagenet') return 'lucid-imagenet';
  if (dataset === 'unknown') throw new UsageError('--decorrelation data needs the data set: give --dataset, or --decorrelation lucid-imagenet or none');
  return opt.colorDecorrelationFromData(await datasetSpec(dataset).load('train', COVARIANCE_IMAGES));
}

/** `--transforms none|standard|pad:2,jitter:2,scale,rotate`. */
export function parseTransforms(list: string): opt.Transform[] {
  if (list === 'none') return [];
  if (list === 'standard') return opt.standardTransforms();
  return list.split(',').map((item) => {
    const [name, arg] = item.split(':');
    const n = arg === undefined ? undefined : Number(arg);
    if (name === 'pad') return opt.pad(n ?? 2);
    if (name === 'jitter') return opt.jitter(n ?? 2);
    if (name === 'scale') return opt.randomScale(opt.LUCID_SCALES);
    if (name === 'rotate') return opt.randomRotate(opt.LUCID_ANGLES);
    throw new UsageError(`unknown transform '${item}' in --transforms; use none, standard, or a list of pad:<px>, jitter:<px>, scale, rotate`);
  });
}

/** `--reg none|l2:<w>,tv:<w>,alpha:<w>,blur:<sigma>:<every>,clip-norm:<pct>,clip-contribution:<pct>`. */
export function parseRegularizers(list: string): opt.Regularizer[] {
  if (list === 'none') return [];
  return list.split(',').map((item) => {
    const [name, ...args] = item.split(':');
    const [a, b] = args.map(Number);
    const need = (v: number | undefined, what: string) => {
      if (v === undefined || !Number.isFinite(v)) throw new UsageError(`--reg ${item}: give ${what}, e.g. ${name}:${what === 'a weight' ? '0.1' : '20'}`);
      return v;
    };
    if (name === 'l2') return opt.l2(need(a, 'a weight'));
    if (name === 'tv') return opt.totalVariation(need(a, 'a weight'));
    if (name === 'alpha') return opt.alphaNorm(need(a, 'a weight'));
    if (name === 'blur') return opt.blur(a ?? 0.5, b ?? 4);
    if (name === 'clip-norm') return opt.clipNorm(need(a, 'a percentile'));
    if (name === 'clip-contribution') return opt.clipContribution(need(a, 'a percentile'));
    throw new UsageError(`unknown regulariser '${item}' in --reg; use none or a list of l2:<w>, tv:<w>, alpha:<w>, blur:<sigma>:<every>, clip-norm:<pct>, clip-contribution:<pct>`);
  });
}

function featureTarget(o: ParsedArgs["options"], classes: number): FeatureTarget {
  const hasClass = o.class !== undefined;
  const hasChannel = o.channel !== undefined;
  if (hasClass === hasChannel) throw new UsageError('give either --class <k> (a class of the output) or --layer <path> --channel <k>');
  if (hasClass) {
    const k = numberOption(o, 'class', 0);
    if (k >= classes) throw new UsageError(`--class ${k}: the model has ${classes} classes (0 to ${classes - 1})`);
    return { class: k };
  }
  if (o.layer === undefined) throw new UsageError('--channel needs --layer <path> (glassbox prints the paths when the layer is unknown)');
  return { layer: stringOption(o, 'layer', ''), channel: numberOption(o, 'channel', 0), neuron: o.neuron === true };
}

export interface VisualizedModel {
  model: Module;
  arch: string;
  dataset: string;
  input: { channels: number; height: number; width: number };
  normalization: Normalization;
  classNames: string[];
}

/**
 * A run folder, a .safetensors file that records its architecture and normalisation (glassbox
 * train and the fixture scripts write them), or any .safetensors file with --arch and --dataset.
 */
export async function loadForVisualization(o: ParsedArgs['options']): Promise<VisualizedModel> {
  const path = stringOption(o, 'model', '');
  const arch = o.arch as string | undefined;
  const datasetName = o.dataset as string | undefined;
  if (existsSync(path) && statSync(path).isFile() && arch === undefined) {
    const loaded = await loadModel(path);
    const dataset = datasetName ?? loaded.dataset ?? 'unknown';
    const classNames = Array.from({ length: loaded.input.classes }, (_, k) => String(k));
    return { model: loaded.model, arch: loaded.architecture, dataset, input: loaded.input, normalization: loaded.normalization, classNames };
  }
  const { model, arch: name, dataset } = await loadTrained(path, arch, datasetName);
  const spec = datasetSpec(dataset);
  const probe = await spec.load('validation', 1);
  return { model, arch: name, dataset, input: probe, normalization: { mean: spec.mean, std: spec.std }, classNames: probe.classes };
}

/** Validation images searched for a unit's top exemplar (--exemplars). */
const DEFAULT_EXEMPLARS = 1000;

/** The first `n` validation images of the data set in [0, 1] (none for 0, or an unknown data set). */
async function exemplarImages(dataset: string, n: number): Promise<Tensor | undefined> {
  if (n === 0) return undefined;
  if (dataset === 'unknown') throw new UsageError('--exemplars needs the data set: give --dataset, or --exemplars 0 to skip the exemplar ratio');
  const data = await datasetSpec(dataset).load('validation', n);
  const count = Math.min(n, data.n);
  const size = data.channels * data.height * data.width;
  return tensor(Float32Array.from(data.images.subarray(0, count * size), (v) => v / 255), [count, data.channels, data.height, data.width]);
}

export async function visualizeFeaturesCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const { model, arch, dataset, input, normalization, classNames } = await loadForVisualization(o);
  const batch = numberOption(o, 'batch', 4);
  const target = featureTarget(o, classNames.length);
  const steps = numberOption(o, 'steps', 256);
  const out = stringOption(o, 'out', `runs/visualize-${arch}-${dataset}`);
  const exemplars = 'layer' in target ? await exemplarImages(dataset, numberOption(o, 'exemplars', DEFAULT_EXEMPLARS)) : undefined;
  const started = Date.now();
  const progress = new Progress({ label: 'visualize', total: steps, unit: 'step' });
  const result = await visualizeFeatures(model, target, {
    inputShape: [input.channels, input.height, input.width],
    normalization,
    param: stringOption(o, 'param', 'fourier') as opt.ParamKind,
    decorrelation: await decorrelation(stringOption(o, 'decorrelation', 'data'), input.channels, dataset),
    transforms: parseTransforms(stringOption(o, 'transforms', 'standard')),
    regularizers: parseRegularizers(stringOption(o, 'reg', 'none')),
    steps,
    lr: numberOption(o, 'lr', opt.LUCID_LEARNING_RATE),
    batch,
    seed: numberOption(o, 'seed', 0),
    // the last step's line is progress.done's
    onStep: (step, scores) => (step < steps ? progress.update(step, { objective: scores.reduce((a, b) => a + b, 0) / scores.length }) : undefined),
  }, exemplars && { images: exemplars });
  progress.done({ objective: result.curve[result.curve.length - 1]! });
  const searched = exemplars?.shape[0] ?? 0;
  exemplars?.dispose();
  const output = new CommandOutput(out, `Feature visualisation of ${arch} (${dataset}): ${result.objective}`);
  output.report.paragraph(
    `${steps} steps of ${stringOption(o, 'param', 'fourier')} parametrisation, transforms ${stringOption(o, 'transforms', 'standard')}, regularisers ${stringOption(o, 'reg', 'none')}; ` +
      `objective ${result.initial.map((v) => v.toFixed(3)).join(', ')} -> ${result.final.map((v) => v.toFixed(3)).join(', ')}.`,
  );
  // a unit's picture is captioned with its activation as a multiple of the top exemplar's; a class's with what the net sees in it
  const captions = result.exemplarRatio?.map((r) => (Number.isFinite(r) ? `${r.toFixed(2)}x top exemplar` : 'no exemplar > 0')) ?? result.predicted?.map((p) => `${classNames[p.class] ?? p.class} ${p.probability.toFixed(2)}`);
  output.png('features.png', await featureGrid(result.images, captions, { title: result.objective }), 'one picture per batch element, captioned with what the net sees in it (a class) or its activation against the top data set exemplar (a unit)');
  output.json('features.json', {
    model: arch,
    dataset,
    objective: result.objective,
    steps,
    seconds: (Date.now() - started) / 1000,
    curve: result.curve,
    initial: result.initial,
    final: result.final,
    classification: result.predicted?.map((p) => ({ class: p.class, name: classNames[p.class], probability: p.probability })),
    highFrequencyShare: result.highFrequency,
    exemplarsSearched: searched,
    exemplars: result.exemplars,
    exemplarRatio: result.exemplarRatio,
  });
  output.finish();
  result.images.dispose();
  result.probabilities?.dispose();
  console.log(`wrote ${join(out, 'features.png')} and features.json (objective ${result.initial.map((v) => v.toFixed(3)).join(', ')} -> ${result.final.map((v) => v.toFixed(3)).join(', ')})`);
}
