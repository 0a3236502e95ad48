/**
 * Every glassbox command with its options: names, types, ranges and the defaults --help states
 * (the commands apply them). Kept apart from the commands themselves, which import the engine
 * and so acquire the GPU: --help and bad options are answered from this file alone.
 */
import { MODEL_ZOO } from '../nn/models/zoo.ts';
import { DATASET_NAMES } from '../../datasets/index.ts';
import { flag, int, num, str, type CommandSpec, type OptionSpec } from './args.ts';

const MODELS = Object.keys(MODEL_ZOO);
/** Enough for any data set here (60,000 training images) and far below what would exhaust memory. */
const MAX_IMAGES = 10_000_000;
const MAX_SEED = 2 ** 32 - 1;

const model = (help: string) => str('model', help, 'name', MODELS);
const dataset = (help: string) => str('dataset', help, 'name', DATASET_NAMES);
const runFolder = (help: string) => str('model', help, 'run folder');
const arch = str('arch', 'the architecture of a .safetensors --model', 'name', MODELS);
const out = (fallback: string) => str('out', `folder for the results (default: ${fallback})`, 'dir');
const layer = str('layer', 'module path of the layer CAM-style methods explain (default: the layer global average pooling reads, else the last conv ReLU)', 'path');
const images = (name: string, help: string, max = MAX_IMAGES) => int(name, help, 1, max);
const seed = int('seed', 'random seed (default: 0)', 0, MAX_SEED);

export const TRAIN_OPTIONS: readonly OptionSpec[] = [
  model('the model to train'),
  dataset('the data set to train on'),
  int('epochs', "epochs to train (default: the model's recipe); with --resume, the total to reach", 1, 100_000),
  int('batch-size', "images per training step (default: the model's recipe)", 1, 65_536),
  num('lr', "learning rate (default: the model's recipe)", { min: 0, max: 100, minExclusive: true }),
  str('optimizer', "the optimiser (default: the model's recipe)", 'name', ['sgd', 'adam', 'adamw']),
  num('momentum', "SGD momentum (default: the model's recipe, else 0)", { min: 0, max: 0.9999 }),
  num('weight-decay', "L2 penalty / AdamW decoupled decay (default: the model's recipe, else 0)", { min: 0, max: 1 }),
  str('schedule', "learning-rate schedule (default: the model's recipe, else none)", 'name', ['none', 'step', 'cosine', 'onecycle']),
  int('shift', "random translation of training images by up to this many pixels (default: the data set's augmentation)", 0, 32),
  seed,
  out('runs/<model>-<dataset>'),
  images('limit', 'train on the first n training images (default: all)'),
  images('val-limit', 'validate on the first n validation images (default: all)'),
  str('resume', 'continue the run in this folder from its last checkpoint', 'dir'),
  flag('detect-anomaly', 'check every backward step for NaN/Inf and name the op that made it (slow)'),
];

export const EVAL_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train'),
  dataset("the data set to score on (default: the run's)"),
  images('limit', 'score the first n validation images (default: all)'),
];

export const EVALUATE_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  arch,
  dataset("the data set (default: the run's)"),
  str('methods', "comma-separated method names, or 'all' (default: all)", 'list'),
  images('n', 'validation images to explain and score (default: 16)', 10_000),
  out('runs/evaluate-<arch>-<dataset>'),
  layer,
  str('substitute', 'what deletion/insertion put in place of removed pixels (default: blur)', 'kind', ['blur', 'mean', 'zero']),
  int('steps', 'points on each deletion/insertion curve (default: 32)', 1, 10_000),
];

export const EXPLAIN_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  arch,
  dataset("the data set (default: the run's)"),
  str('image', 'a PNG file to explain (resized to the model input)', 'file.png'),
  int('index', "the image of the data set's validation split to explain", 0, MAX_IMAGES),
  str('method', "comma-separated method names, or 'all' (default: saliency)", 'list'),
  int('target', 'the class to explain (default: the predicted one)', 0, 1_000_000),
  out('runs/explain'),
  layer,
];

export const SANITY_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  arch,
  dataset("the data set (default: the run's)"),
  str('random-labels', 'a run of the same architecture trained on shuffled labels (adds the data randomisation test)', 'run folder'),
  str('methods', 'comma-separated method names (default: saliency,grad-cam,guided-backprop)', 'list'),
  images('n', 'validation images (default: 16)', 10_000),
  out('runs/sanity-<arch>-<dataset>'),
  layer,
  seed,
];

export const MAIN_OPTIONS: readonly OptionSpec[] = [
  out('runs/main'),
  images('train-images', 'MNIST training images (default: 12000)', 60_000),
  int('epochs', 'epochs (default: 2)', 1, 1_000),
  images('n', 'test images to explain (default: 4)', 2_000),
];

export const DEMO_OPTIONS: readonly OptionSpec[] = [
  images('train-images', 'MNIST training images (default: 20000)', 60_000),
  int('batch-size', 'images per step (default: 64)', 1, 60_000),
];

/** `visualize patches` (src/cli/visualize-patches.ts): top-activating data set patches per unit. */
export const VISUALIZE_PATCHES_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  arch,
  dataset("the data set (default: the run's)"),
  str('layer', 'module path of the layer whose units are shown, as nn.summary prints it (default: the map global average pooling reads, else the last conv ReLU)', 'path'),
  str('channels', "the units: 'all', a range '0-7' or a list '0,3,5' (default: all)", 'list'),
  int('k', 'patches per unit (default: 9)', 1, 1_000),
  images('n', 'validation images searched (default: 1000)'),
  int('batch-size', 'images per forward pass (default: 128)', 1, 65_536),
  out('runs/patches-<arch>-<layer>'),
];

/** `visualize features` (src/cli/visualize.ts): E1 feature visualisation of a class, channel or neuron. */
export const VISUALIZE_FEATURES_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); gives the input size and normalisation"),
  str('layer', 'module path of the layer, as nn.summary prints it (with --channel)', 'path'),
  int('channel', 'the channel of --layer to visualise (its mean activation)', 0, 1_000_000),
  flag('neuron', 'visualise the channel at the centre position only (one neuron) instead of its mean'),
  int('class', 'the output class to visualise (its logit), instead of --layer/--channel', 0, 1_000_000),
  int('steps', 'optimisation steps (default: 256)', 1, 100_000),
  str('param', 'the image parametrisation (default: fourier)', 'kind', ['pixel', 'fourier']),
  str('decorrelation', "colour decorrelation of 3-channel inputs: from the data set's pixel covariance, Lucid's ImageNet matrix, or none (default: data)", 'kind', ['data', 'lucid-imagenet', 'none']),
  str('transforms', "'none', 'standard' (default: pad 2, jitter 2, scale, rotate, jitter 1) or a list of pad:<px>, jitter:<px>, scale, rotate", 'list'),
  str('reg', "'none' (default) or a list of l2:<w>, tv:<w>, alpha:<w>, blur:<sigma>:<every>, clip-norm:<pct>, clip-contribution:<pct>", 'list'),
  int('batch', 'images optimised together from different random starts (default: 4)', 1, 1_024),
  num('lr', "Adam's learning rate (default: 0.05, Lucid's)", { min: 0, max: 100, minExclusive: true }),
  seed,
  out('runs/visualize-<arch>-<dataset>'),
];

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'main', summary: 'train LeNet-5 on MNIST, explain test images with every method, write runs/main/report.html', options: MAIN_OPTIONS },
  { name: 'demo', summary: 'fit an MLP on MNIST and print the loss falling (the engine end to end)', options: DEMO_OPTIONS },
  { name: 'train', summary: 'train a model of the zoo on a data set (or --resume a run)', options: TRAIN_OPTIONS },
  { name: 'evaluate', summary: 'score every explanation method on the same images', options: EVALUATE_OPTIONS },
  { name: 'explain', summary: 'explain one image (--image file.png or --index i) with one or more methods', options: EXPLAIN_OPTIONS },
  { name: 'sanity', summary: "Adebayo et al.'s sanity checks of explanation methods", options: SANITY_OPTIONS },
  { name: 'eval', summary: 'accuracy of a trained run', options: EVAL_OPTIONS },
  { name: 'visualize-features', summary: 'feature visualisation: the input that excites a class, channel or neuron (also: glassbox visualize features)', options: VISUALIZE_FEATURES_OPTIONS },
  { name: 'visualize-patches', summary: "top-activating validation patches of a layer's units, cropped to their receptive fields (also: glassbox visualize patches)", options: VISUALIZE_PATCHES_OPTIONS },
];

export const HELP_FOOTER =
  `models: ${MODELS.join(', ')}\ndata sets: ${DATASET_NAMES.join(', ')}\n` +
  'Data sets are read from GLASSBOX_DATA (or ../shared/datasets in a checkout) or downloaded; see README.md.';
