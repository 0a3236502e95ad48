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
import { parseChannels } from './visualize-patches.ts';
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

/** `--transforms none|standard|pad:2,jitter:2,scale,rotate`; `standard`'s pixel amounts times `pixelScale` (the --render-size factor). */
export function parseTransforms(list: string, pixelScale = 1): opt.Transform[] {
  if (list === 'none') return [];
  if (list === 'standard') return opt.standardTransforms(pixelScale);
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

/** `--render-size 56` or `56x64`: the size the images are optimised at (undefined: the input's). */
export function parseRenderSize(value: string | undefined, input: { height: number; width: number }): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split('x').map(Number);
  const [h, w] = parts.length === 1 ? [parts[0]!, parts[0]!] : parts;
  const whole = (v: number | undefined) => v !== undefined && Number.isSafeInteger(v) && v > 0;
  if (parts.length > 2 || !whole(h) || !whole(w) || h! % input.height !== 0 || w! % input.width !== 0)
    throw new UsageError(`--render-size ${value}: give a size that is a whole multiple of the model's input ${input.height}x${input.width}, e.g. ${2 * input.height}${input.height === input.width ? '' : `x${2 * input.width}`}`);
  return [h!, w!];
}

/** Which picture each batch element draws: one target for all (--class, --channel), or one per listed class or channel (--classes, --channels). */
function featureTarget(o: ParsedArgs["options"], classes: number): FeatureTarget {
  const given = ['class', 'classes', 'channel', 'channels'].filter((name) => o[name] !== undefined);
  if (given.length !== 1) throw new UsageError(`give one of --class <k>, --classes <list|all> (a class of the output each) or --layer <path> with --channel <k> or --channels <list>${given.length > 1 ? `, not ${given.map((g) => `--${g}`).join(' and ')}` : ''}`);
  if (o.class !== undefined || o.classes !== undefined) {
    const list = o.class !== undefined ? [numberOption(o, 'class', 0)] : parseChannels(String(o.classes), classes, '', { option: '--classes', unit: 'class', owner: 'the model' });
    if (list[0]! >= classes) throw new UsageError(`--class ${list[0]}: the model has ${classes} classes (0 to ${classes - 1})`);
    return { class: o.class !== undefined ? list[0]! : list };
  }
  if (o.layer === undefined) throw new UsageError(`--${given[0]} needs --layer <path> (glassbox prints the paths when the layer is unknown)`);
  const layer = stringOption(o, 'layer', '');
  // the layer's size is not known before the run: the objective checks it and names it
  const channel = o.channel !== undefined ? numberOption(o, 'channel', 0) : parseChannels(String(o.channels), Number.MAX_SAFE_INTEGER, layer);
  return { layer, channel, neuron: o.neuron === true };
}

/** One picture per listed target, else --batch random starts of the one target. */
function batchOf(o: ParsedArgs['options'], target: FeatureTarget): number {
  const list = 'class' in target ? target.class : target.channel;
  if (typeof list === 'number') return numberOption(o, 'batch', 4);
  if (o.batch !== undefined && numberOption(o, 'batch', 0) !== list.length) throw new UsageError(`--batch ${String(o.batch)}: with a list of ${list.length} targets the batch is one picture each; leave --batch out`);
  return list.length;
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
export async function exemplarImages(dataset: string, n: number): Promise<Tensor | undefined> {
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
  const target = featureTarget(o, classNames.length);
  const batch = batchOf(o, target);
  const renderSize = parseRenderSize(o['render-size'] === undefined ? undefined : String(o['render-size']), input);
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
    // at k times the input size, the standard shifts are k times larger: the same in the net's pixels
    transforms: parseTransforms(stringOption(o, 'transforms', 'standard'), renderSize ? Math.min(renderSize[0] / input.height, renderSize[1] / input.width) : 1),
    regularizers: parseRegularizers(stringOption(o, 'reg', 'none')),
    steps,
    lr: numberOption(o, 'lr', opt.LUCID_LEARNING_RATE),
    batch,
    renderSize,
    seed: numberOption(o, 'seed', 0),
    // the last step's line is progress.done's
    onStep: (step, scores) => (step < steps ? progress.update(step, { objective: scores.reduce((a, b) => a + b, 0) / scores.length }) : undefined),
  }, exemplars && { images: exemplars });
  progress.done({ objective: result.curve[result.curve.length - 1]! });
  const searched = exemplars?.shape[0] ?? 0;
  exemplars?.dispose();
  const output = new CommandOutput(out, `Feature visualisation of ${arch} (${dataset}): ${result.objective}`);
  output.report.paragraph(
    `${steps} steps of ${stringOption(o, 'param', 'fourier')} parametrisation${renderSize ? ` at ${renderSize.join('x')}, averaged down to ${input.height}x${input.width}` : ''}, transforms ${stringOption(o, 'transforms', 'standard')}, regularisers ${stringOption(o, 'reg', 'none')}; ` +
      `objective ${result.initial.map((v) => v.toFixed(3)).join(', ')} -> ${result.final.map((v) => v.toFixed(3)).join(', ')}.`,
  );
  // a unit's picture is captioned with its activation as a multiple of the top exemplar's; a class's with what the net sees in it
  const captions = result.exemplarRatio?.map((r) => (Number.isFinite(r) ? `${r.toFixed(2)}x top exemplar` : 'no exemplar > 0')) ?? result.predicted?.map((p) => `${classNames[p.class] ?? p.class} ${p.probability.toFixed(2)}`);
  output.png('features.png', await featureGrid(result.images, captions, { title: result.objective }), 'one picture per batch element, captioned with what the net sees in it (a class) or its activation against the top data set exemplar (a unit)');
  if (result.rendered) output.png('features-rendered.png', await featureGrid(result.rendered, captions, { title: `${result.objective}, at ${renderSize!.join('x')}` }), 'the same pictures at the size they were optimised at, before averaging down to the input');
  output.json('features.json', {
    model: arch,
    dataset,
    objective: result.objective,
    steps,
    renderSize: renderSize ?? [input.height, input.width],
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
  [result.images, result.rendered, result.probabilities].forEach((t) => t?.dispose());
  console.log(`wrote ${join(out, 'features.png')} and features.json (objective ${result.initial.map((v) => v.toFixed(3)).join(', ')} -> ${result.final.map((v) => v.toFixed(3)).join(', ')})`);
}
