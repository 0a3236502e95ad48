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
  str('adversarial', "adversarial training: each batch replaced by its attack, Madry et al.'s PGD or Wong et al.'s FGSM with random start", 'method', ['pgd', 'fgsm-rs']),
  num('eps', "with --adversarial: the L-inf budget in pixel units, 0 to 1 (default: 0.3, MNIST's)", { min: 0, max: 1 }),
  num('alpha', 'with --adversarial: the attack step (default: 1.25 eps for fgsm-rs; 2.5 eps / steps, at least eps / 30, for pgd)', { min: 0, max: 1, minExclusive: true }),
  int('attack-steps', 'with --adversarial pgd: PGD steps per batch (default: 40)', 1, 10_000),
  num('eps-warmup', 'with --adversarial: epochs over which eps and alpha ramp up linearly from near 0 to their values (default: 0, the full eps from the first batch; a small net can stay at chance without it)', { min: 0, max: 1_000 }),
  str('init', "start from this trained model's weights instead of a random initialisation (a glassbox train run folder or a .safetensors file of the same --model and --dataset; e.g. adversarial fine-tuning of a normally trained net)", 'model'),
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
  str('plugin', 'comma-separated ES modules whose exported `methods` are scored too (see examples/custom-attribution.mjs)', 'file.mjs'),
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
  flag('features', "also draw each unit's feature visualisation first in its row (Fourier, Lucid's transforms), captioned with its activation as a multiple of the top exemplar's: E1 beside E2, the seed slides' unit grids"),
  int('feature-steps', 'optimisation steps of the --features pictures (default: 128)', 1, 100_000),
  seed,
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
  str('classes', "one picture per class, all in one batch: 'all', a range '0-9' or a list '1,3' (instead of --class)", 'list'),
  str('channels', "one picture per channel of --layer, all in one batch: a range '0-7' or a list '0,3,5' (instead of --channel)", 'list'),
  int('steps', 'optimisation steps (default: 256)', 1, 100_000),
  str('param', 'the image parametrisation (default: fourier)', 'kind', ['pixel', 'fourier']),
  str('decorrelation', "colour decorrelation of 3-channel inputs: from the data set's pixel covariance, Lucid's ImageNet matrix, or none (default: data)", 'kind', ['data', 'lucid-imagenet', 'none']),
  str('transforms', "'none', 'standard' (default: pad 2, jitter 2, scale, rotate, jitter 1) or a list of pad:<px>, jitter:<px>, scale, rotate", 'list'),
  str('reg', "'none' (default) or a list of l2:<w>, tv:<w>, alpha:<w>, blur:<sigma>:<every>, clip-norm:<pct>, clip-contribution:<pct>", 'list'),
  int('batch', 'images optimised together from different random starts (default: 4)', 1, 1_024),
  str('render-size', "optimise at this size, a whole multiple of the input's (e.g. 56 or 56x56 for a 28x28 net), and average blocks down to the input; 'standard' transforms shift by as many more pixels (default: the input size)", 'px'),
  num('lr', "Adam's learning rate (default: 0.05, Lucid's)", { min: 0, max: 100, minExclusive: true }),
  seed,
  int('exemplars', "validation images searched for a unit's top exemplar; the result is reported as a multiple of its activation (default: 1000; 0 skips)", 0, MAX_IMAGES),
  out('runs/visualize-<arch>-<dataset>'),
];

/** `visualize invert` (src/cli/visualize-invert.ts): A2, images reconstructed from their code at each layer. */
export const VISUALIZE_INVERT_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); the held-out images come from its validation split"),
  str('layers', "comma-separated module paths whose codes are inverted, as nn.summary prints them (e.g. 'features.0,features.3,classifier.3')", 'list'),
  int('index', 'the validation image to invert (default: 0)', 0, MAX_IMAGES),
  int('n', 'invert the first n validation images instead of one --index', 1, 1_024),
  int('steps', 'optimisation steps per layer (default: 200 for adam, 50 for lbfgs)', 1, 100_000),
  str('optimizer', 'adam, or L-BFGS with a strong Wolfe line search (default: adam)', 'name', ['adam', 'lbfgs']),
  num('lr', 'learning rate (default: 0.1 for adam, 1 for lbfgs)', { min: 0, max: 100, minExclusive: true }),
  num('alpha-weight', "the alpha-norm prior's weight on Mahendran & Vedaldi's normalised scale (default: 0.001)", { min: 0, max: 1e6 }),
  num('tv-weight', "the total-variation prior's weight on Mahendran & Vedaldi's normalised scale (default: 0.001)", { min: 0, max: 1e6 }),
  seed,
  out('runs/invert-<arch>-<dataset>'),
];

/** `visualize decode` (src/cli/visualize-decode.ts): A2b, a learned decoder from each layer's features back to the image. */
export const VISUALIZE_DECODE_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); decoders train on its training split and are scored on its validation split"),
  str('layers', "comma-separated module paths whose features are decoded, as nn.summary prints them (e.g. 'features.0,features.4,classifier.4')", 'list'),
  images('train-images', 'training images the decoders learn from (default: 10000)'),
  images('test-images', 'held-out validation images scored (default: 1000)'),
  int('epochs', 'epochs of decoder training (default: 2)', 1, 100_000),
  int('batch-size', 'images per training step (default: 64)', 1, 65_536),
  num('lr', "Adam's learning rate (default: 0.001)", { min: 0, max: 100, minExclusive: true }),
  int('width', 'channels of the decoder\'s up-convolutions (default: 32)', 1, 4_096),
  int('show', 'held-out images in the picture, the first of each class first (default: 10)', 1, 1_000),
  flag('retrain', 'train every decoder again even when --out holds one trained with the same settings'),
  seed,
  out('runs/decode-<arch>-<dataset>'),
];

/** `visualize dream` (src/cli/visualize-dream.ts): A3b DeepDream from a validation image. */
export const VISUALIZE_DREAM_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); the start image comes from its validation split"),
  str('layer', "module path of the layer whose activations' mean square is raised, as nn.summary prints it", 'path'),
  int('index', 'the validation image to start from (default: 0)', 0, MAX_IMAGES),
  int('octaves', 'scales processed, smallest first (default: 3)', 1, 16),
  num('octave-scale', 'ratio between successive octave sizes (default: 1.4)', { min: 1, max: 4 }),
  int('steps', 'gradient steps per octave (default: 20)', 1, 100_000),
  num('lr', 'step size: every step moves the pixels by lr on average, in [0, 1] units (default: 0.01)', { min: 0, max: 1, minExclusive: true }),
  int('jitter', 'largest random shift (roll) in pixels at each step (default: 2)', 0, 1_000),
  seed,
  out('runs/dream-<arch>-<layer>'),
];

/** `visualize circuit` (src/cli/visualize-circuit.ts): E9, a conv unit's strongest inputs, their weights, and circuit edits. */
export const VISUALIZE_CIRCUIT_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's)"),
  str('layer', 'module path of a conv layer (not the first), as nn.summary prints it', 'path'),
  int('channel', 'the unit (channel) of --layer', 0, 1_000_000),
  int('top', 'strongest input channels shown and edited (default: 4)', 1, 4_096),
  str('rank', "rank the inputs by the L2 norm of their weights or by their mean contribution on the unit's top patches (default: weight)", 'by', ['weight', 'contribution']),
  int('patches', "the unit's top validation patches the contributions and edits are measured on (default: 9)", 1, 1_000),
  images('n', 'validation images searched for the top patches (default: 1000)'),
  int('steps', 'optimisation steps of each feature visualisation (default: 128)', 1, 100_000),
  seed,
  out('runs/circuit-<arch>-<layer>-<channel>'),
];

/** `visualize style` (src/cli/visualize-style.ts): A3 neural style transfer (Gatys et al. 2016). */
export const VISUALIZE_STYLE_OPTIONS: readonly OptionSpec[] = [
  str('content', 'the content image: a PNG file (or give --content-index)', 'png'),
  int('content-index', 'the content image: this CIFAR-10 test image', 0, 1_000_000, 'i'),
  str('style', "the style image: a PNG file, or a generated texture 'stripes' or 'checks' (or give --style-index)", 'png'),
  int('style-index', 'the style image: this CIFAR-10 test image', 0, 1_000_000, 'j'),
  str('net', "'random-multiscale' (default: Ustyuzhaninov et al.'s random filters of sizes 3, 5, 7, 11), a zoo model with seeded random weights (e.g. cifar-net), or a run folder / .safetensors", 'net'),
  dataset("with a .safetensors --net: its data set (default: the one the file records)"),
  arch,
  str('content-layer', "module path of the content layer (default: the random net's largest scale; cifar-net's features.12)", 'path'),
  str('style-layers', "module paths of the style layers, comma-separated (default: every scale; cifar-net's ReLUs features.2,5,9,12,16)", 'list'),
  int('size', 'both images are resized to size x size (default: 128)', 8, 1_024),
  int('steps', 'optimisation steps (default: 100)', 1, 100_000),
  str('optimizer', 'L-BFGS (one iteration with a strong Wolfe line search per step) or Adam (default: lbfgs)', 'name', ['lbfgs', 'adam']),
  num('lr', 'learning rate (default: 1 for L-BFGS, 0.05 for Adam)', { min: 0, max: 100, minExclusive: true }),
  num('content-weight', 'weight of the content loss; 0 synthesises the style as a texture (default: 1)', { min: 0, max: 1e9 }),
  num('style-weight', 'weight of the style loss (default: 10)', { min: 0, max: 1e9 }),
  str('start', 'start from the content image or from noise (default: content)', 'from', ['content', 'noise']),
  int('filters', 'filters per scale of the random multi-scale net (default: 64)', 1, 4_096),
  seed,
  out('runs/visualize-style'),
];

/** `manipulate` (src/cli/manipulate.ts): C4, an input changed so that its explanation matches another image's (Dombrowski et al. 2019). */
export const MANIPULATE_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); both images come from its validation split"),
  str('method', 'the explanation manipulated (default: saliency)', 'name', ['saliency', 'input-x-gradient', 'ig', 'guided']),
  int('index', 'the validation image that is changed (default: 0)', 0, MAX_IMAGES, 'i'),
  int('target-index', 'the validation image whose explanation is the target map (default: 1)', 0, MAX_IMAGES, 'j'),
  int('steps', 'Adam steps (default: 300)', 1, 100_000),
  num('lr', "Adam's learning rate in pixel units (default: 0.01)", { min: 0, max: 1, minExclusive: true }),
  num('beta', 'softplus sharpness replacing ReLU during the optimisation (default: 10)', { min: 0, max: 1e4, minExclusive: true }),
  num('gamma', 'weight of the output term ||g(x_adv) - g(x)||^2 (default: 0.1)', { min: 0, max: 1e9 }),
  int('ig-steps', 'Integrated Gradients: Gauss-Legendre points on the path (default: 16)', 1, 1_000),
  num('eps', 'largest change of a pixel, in [0, 1] units (default: none, only the pixel range, as in the paper)', { min: 0, max: 1, minExclusive: true }),
  out('runs/manipulate-<arch>-<method>'),
];

/** `attack` (src/cli/attack.ts): C1 adversarial examples, accuracy under attack and the gradient-masking checks. */
export const ATTACK_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); the images come from its validation split"),
  str('attacks', 'comma-separated: fgsm, pgd, pgd-l2, cw, lbfgs (default: fgsm,pgd)', 'list'),
  str('eps', 'L-inf budgets in pixel units, each 0 to 1, for fgsm and pgd (default: 0.05,0.1,0.2,0.3)', 'list'),
  str('eps-l2', 'L2 budgets for pgd-l2, and where cw and lbfgs are scored (default: 0.5,1,2,3)', 'list'),
  images('n', 'validation images attacked (default: 500)', 60_000),
  int('steps', 'PGD steps (default: 40)', 1, 100_000),
  num('alpha', 'PGD step size in pixel units (default: 2.5 eps / steps)', { min: 0, max: 1, minExclusive: true }),
  int('restarts', 'PGD runs from random starts per image (default: 1)', 1, 1_000),
  int('check-restarts', 'PGD restarts of the masking check that restarts never help the model (default: the larger of 5 and --restarts)', 2, 1_000),
  int('target', 'targeted attack: make the model predict this class (images of that class are left out)', 0, 1_000_000, 'k'),
  str('transfer-from', 'another model (run folder or .safetensors) whose PGD adversarials are replayed on --model (the transfer check)', 'model'),
  str('transfer-arch', 'the architecture of a --transfer-from .safetensors that does not record it', 'name', MODELS),
  seed,
  out('runs/attack-<arch>-<dataset>'),
];

/** `robust-saliency` (src/cli/robust-saliency.ts): C1's perceptually aligned gradients (Tsipras et al. 2019), a normal and a robust model side by side. */
export const ROBUST_SALIENCY_OPTIONS: readonly OptionSpec[] = [
  runFolder('the normally trained model: folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  str('robust', 'the adversarially trained model (glassbox train --adversarial pgd): run folder or .safetensors', 'model'),
  arch,
  str('robust-arch', 'the architecture of a --robust .safetensors that does not record it', 'name', MODELS),
  dataset("the data set (default: the run's); both models must have been trained on it"),
  str('methods', "comma-separated method names, or 'all' (default: saliency,smoothgrad,integrated-gradients,guided-backprop)", 'list'),
  images('n', 'validation images explained and scored (default: 16)', 10_000),
  int('steps', 'points on each deletion/insertion curve (default: 32)', 1, 10_000),
  out('runs/robust-saliency-<arch>-<dataset>'),
];

/** `cue-conflict` (src/cli/cue-conflict.ts): C5's shape-versus-texture probe (Geirhos et al. 2019). */
export const CUE_CONFLICT_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); the images come from its validation split"),
  str('compare', 'a second model (e.g. an adversarially trained one) scored on the same cue-conflict images', 'model'),
  str('compare-arch', 'the architecture of a --compare .safetensors that does not record it', 'name', MODELS),
  images('n', 'cue-conflict images made (default: 50)', 10_000),
  images('pool', 'validation images the pairs are drawn from (default: 4 n)', 60_000),
  int('steps', 'L-BFGS steps of style transfer per image (default: 20)', 1, 10_000),
  num('style-weight', 'weight of the style loss against the content loss (default: 10)', { min: 0, max: 1e9, minExclusive: true }),
  seed,
  out('runs/cue-conflict-<arch>-<dataset>'),
];

/** `lab` (src/cli/lab.ts): serves the lab page (lab/) from localhost. */
export const LAB_OPTIONS: readonly OptionSpec[] = [
  int('port', 'port on 127.0.0.1 (default: a free one)', 0, 65_535),
  str('dir', 'a built lab folder to serve (default: dist/lab, built first in a checkout when missing or stale)', 'dir'),
  flag('rebuild', 'rebuild the page before serving, even when it looks fresh'),
];

/** `robustness` (src/cli/robustness.ts): C5, accuracy under MNIST-C / CIFAR-10-C corruptions (src/xai/robustness). */
export const ROBUSTNESS_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); MNIST-like sets get MNIST-C's corruptions, others CIFAR-10-C's"),
  str('corruptions', "comma-separated corruption names, or 'all' (default: all 15 of the suite)", 'list'),
  str('severities', "severities 0-5 as a range or list, e.g. '1-5' or '0,3,5'; 0 is the clean image (default: 0-5)", 'list'),
  images('n', 'validation images scored (default: 1000)'),
  int('batch-size', 'images per forward pass (default: 250)', 1, 65_536),
  int('index', 'the validation image shown under every corruption in corruptions.png (default: 0)', 0, MAX_IMAGES),
  seed,
  out('runs/robustness-<arch>-<dataset>'),
];

/** `prune` (src/cli/prune.ts): D3 lottery tickets (IMP with rewinding) and D4 pruning at initialisation (src/xai/pruning). */
export const PRUNE_OPTIONS: readonly OptionSpec[] = [
  model('the model to prune (lottery tickets: lenet-300-100, lenet5)'),
  dataset('the data set to train on'),
  str('method', "'imp' (lottery tickets), or one or more of synflow, snip, magnitude, random, comma-separated (pruning at initialisation)", 'name'),
  int('rounds', 'IMP: pruning rounds after the dense level 0 (default: 15)', 1, 200),
  num('rate', 'IMP: fraction of the remaining weights pruned per round (default: 0.2; layer-wise: this for fully connected layers, half of it for conv layers and the output layer)', { min: 0, max: 1, minExclusive: true }),
  flag('global', "IMP: prune --rate of all remaining weights together (OpenLTH's default) instead of layer by layer"),
  int('rewind-iter', 'IMP: rewind the survivors to their values after this many iterations (default: 0, the initialisation)', 0, 10_000_000),
  flag('skip-controls', 'IMP: skip the controls (the ticket re-initialised at random, a random mask of the same sparsity)'),
  str('compressions', "pruning at init: compression ratios as powers of ten, 'from-to' in steps of 0.5 or a list (default: 0.5-2.5)", 'list'),
  int('synflow-iterations', "SynFlow's pruning iterations (default: 100)", 1, 10_000),
  int('iterations', 'training iterations per network (default: 2 epochs of the training images)', 1, 10_000_000),
  int('batch-size', "images per training step (default: the model's recipe)", 1, 65_536),
  num('lr', "learning rate (default: the model's recipe)", { min: 0, max: 100, minExclusive: true }),
  str('optimizer', "the optimiser (default: the model's recipe)", 'name', ['sgd', 'adam']),
  images('limit', 'training images used (default: all but the --val-size held out)'),
  images('val-size', 'training images held out for early stopping (default: 5000)'),
  images('test-limit', 'test images scored (default: all)'),
  seed,
  out('runs/prune-<method>-<model>-<dataset>'),
];

/** `weights` (src/cli/weights.ts): A5, first-layer weights as pictures (class templates of a linear classifier, conv filters). */
export const WEIGHTS_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); gives the image shape and the validation images scored"),
  str('layer', 'module path of the Conv2d or Linear layer drawn (default: the first Conv2d, else the first Linear)', 'path'),
  int('n', 'validation images the accuracy is measured on; 0 skips it (default: 10000)', 0, MAX_IMAGES),
  out('runs/weights-<arch>-<dataset>'),
];

/** `embed` (src/cli/embed.ts): A6, activation maps and PCA / t-SNE of layers' activations, scored by kNN accuracy per layer. */
export const EMBED_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file (which records its architecture, else give --arch and --dataset)'),
  arch,
  dataset("the data set (default: the run's); the images come from its validation split"),
  str('layers', "comma-separated module paths (and 'input'), 'default' (the input, every nonlinearity and pooling, the logits) or 'all' (default: default)", 'list'),
  str('method', 'the 2-D projection (default: pca)', 'name', ['pca', 'tsne', 'both']),
  images('n', 'validation images embedded (default: 2000)', 20_000),
  int('k', 'neighbours of the leave-one-out kNN accuracy (default: 5)', 1, 1_000),
  num('perplexity', 't-SNE perplexity (default: 30)', { min: 1, max: 10_000 }),
  int('iterations', 't-SNE iterations (default: 1000; early exaggeration runs for the first 250)', 1, 100_000),
  int('index', 'the validation image whose activation maps are drawn (default: 0)', 0, MAX_IMAGES),
  int('batch-size', 'images per forward pass (default: 250)', 1, 65_536),
  seed,
  out('runs/embed-<arch>-<dataset>'),
];

/** Net A and net B of the weight-space commands (stitch, connect): two trainings of one architecture. */
const modelPair = [
  str('model-a', 'net A: a folder written by glassbox train, or a .safetensors file with --arch and --dataset', 'run folder'),
  str('model-b', 'net B: the same architecture trained again (another --seed)', 'run folder'),
  arch,
  dataset("the data set (default: the runs')"),
];

/** `symmetry` (src/cli/symmetry.ts): D1, ReLU symmetries and the canonical form (src/xai/weightspace). */
export const SYMMETRY_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  str('model-b', "another net of the same architecture: its canonical form is compared with --model's", 'run folder'),
  arch,
  dataset("the data set (default: the run's)"),
  num('spread', 'random rescaling factors are e^N(0, spread^2) (default: 1)', { min: 0, max: 10 }),
  images('n', 'validation images the outputs are compared on (default: 1000)', 100_000),
  seed,
  out('runs/symmetry-<arch>-<dataset>'),
];

/** `connect` (src/cli/connect.ts): D2, mode connectivity and weight matching (src/xai/weightspace). */
export const CONNECT_OPTIONS: readonly OptionSpec[] = [
  ...modelPair,
  str('paths', "comma-separated: line, bezier, polychain, line-after-matching, or 'all' (default: all)", 'list'),
  int('segments', 'points per path: t = 0, 1/n, ..., 1 (default: 10)', 1, 1_000),
  int('curve-epochs', "epochs of training each curve's middle point (default: 1)", 1, 1_000),
  str('curve-optimizer', 'optimiser of the middle point (default: adam)', 'name', ['adam', 'sgd']),
  num('curve-lr', 'learning rate of the middle point (default: 1e-3 for adam, 0.01 for sgd)', { min: 0, max: 10, minExclusive: true }),
  int('batch-size', 'images per curve-training step (default: 64)', 1, 65_536),
  images('train-images', 'training images for the curves (default: 20000)'),
  images('eval-train-images', 'training images for the training loss and batch norm statistics at each point (default: 2000)'),
  images('test-images', 'test images scored at each point (default: 2000)'),
  flag('keep-bn-stats', "keep the interpolated batch norm statistics instead of recomputing them at every point (shows why they must be recomputed)"),
  seed,
  out('runs/connect-<arch>-<dataset>'),
];

/** `stitch` (src/cli/stitch.ts): A4, stitching two nets with a learnt linear map (src/xai/weightspace). */
export const STITCH_OPTIONS: readonly OptionSpec[] = [
  ...modelPair,
  str('layers', "comma-separated module paths to stitch at (default: each max pooling and each ReLU not followed by one)", 'list'),
  int('epochs', "epochs of training each map (default: 1)", 1, 1_000),
  num('lr', 'learning rate of the map (Adam; default: 0.01)', { min: 0, max: 10, minExclusive: true }),
  int('batch-size', 'images per training step (default: 64)', 1, 65_536),
  images('train-images', 'training images for the maps (default: 10000)'),
  images('test-images', 'test images scored (default: 2000)'),
  seed,
  out('runs/stitch-<arch>-<dataset>'),
];

/** `gan train|sample|dissect|walk` (src/cli/gan.ts): a DCGAN, its MNIST FID, E6 GAN dissection and E7 latent walks. */
const ganModel = str('model', 'run folder of glassbox gan train (or its model.safetensors)', 'run folder');
const ganClassifier = str('classifier', 'LeNet-5 run folder or .safetensors, trained on the generator\'s data set, whose features and labels score the images (default: tests/fixtures/models/lenet-mnist.safetensors for mnist, runs/lenet5-fashion-mnist for fashion-mnist)', 'file');
export const GAN_TRAIN_OPTIONS: readonly OptionSpec[] = [
  str('dataset', 'the data set (default: mnist)', 'name', ['mnist', 'fashion-mnist']),
  str('loss', "non-saturating (DCGAN, default) or wgan-gp (Gulrajani et al.: a critic without batch norm, gradient penalty 10, 5 critic steps per generator step)", 'name', ['non-saturating', 'wgan-gp']),
  int('epochs', 'epochs to train (default: 5); with --resume, the total to reach', 1, 100_000),
  int('batch-size', 'images per step (default: 64)', 2, 65_536),
  num('lr', "both Adam optimisers' learning rate (default: 0.0002 and betas (0.5, 0.999); wgan-gp: 0.0001 and betas (0, 0.9))", { min: 0, max: 1, minExclusive: true }),
  int('width', 'base channel width w of both nets (default: 32)', 1, 1_024),
  int('latent-size', 'length of the latent vector (default: 64)', 1, 4_096),
  images('limit', 'train on the first n training images (default: all)'),
  seed,
  str('resume', 'continue the run in this folder from its last checkpoint', 'dir'),
  out('runs/gan-<dataset>'),
];
export const GAN_SAMPLE_OPTIONS: readonly OptionSpec[] = [
  ganModel,
  ganClassifier,
  images('n', 'images per set scored (default: 10000)', 60_000),
  seed,
  out('runs/gan-sample-<dataset>'),
];
export const GAN_DISSECT_OPTIONS: readonly OptionSpec[] = [
  ganModel,
  ganClassifier,
  str('layer', 'the generator layer dissected (default: block2)', 'name', ['block1', 'block2']),
  images('samples', 'generated samples dissected (default: 1000)', 100_000),
  num('quantile', "the top share of a unit's activations that counts as its region (default: 0.1)", { min: 0, max: 1, minExclusive: true }),
  str('part', 'the stroke part whose units are switched off and on (default: the one the units match best; loop: the enclosed holes)', 'name', ['ink', 'top', 'bottom', 'left', 'right', 'loop']),
  str('units', 'comma-separated units switched off and on (default: the --k best by IoU with --part)', 'list'),
  int('k', 'units chosen when --units is not given (default: 3)', 1, 1_024),
  out('runs/gan-dissect-<layer>'),
];
export const GAN_WALK_OPTIONS: readonly OptionSpec[] = [
  ganModel,
  ganClassifier,
  str('attribute', 'the attribute walked: thickness, slant, size, width or brightness (default: thickness for mnist, width for fashion-mnist)', 'name'),
  str('condition', 'the attribute kept by projecting its direction out (default: size for mnist, brightness for fashion-mnist; the other default when walking it)', 'name'),
  images('samples', 'latents labelled to fit the boundaries (default: 2000)', 100_000),
  int('count', 'latents walked (default: 64)', 8, 10_000),
  seed,
  out('runs/gan-walk-<attribute>'),
];

/** `ablate` (src/cli/ablate.ts): E5 unit ablation and, with --net2vec, E8 Net2Vec concept vectors. */
export const ABLATE_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  arch,
  dataset("the data set (default: the run's); the images come from its validation split"),
  str('layer', "module path of the feature map whose units are switched off (default: the last conv's ReLU)", 'path'),
  str('units', 'also switch these units off together, e.g. 3,5', 'list'),
  int('keep', 'also switch off all but the k most important units', 0, 1_000_000, 'k'),
  flag('all-units', 'also switch every unit of the layer off together (only the bias path is left)'),
  images('n', 'validation images (default: 5000)'),
  int('random-orders', 'seeded random orders of the cumulative curve (default: 5)', 1, 1000),
  int('batch-size', 'images per forward pass (default: 128)', 1, 65_536),
  flag('net2vec', 'Net2Vec instead of ablation: per digit, a learned vector over the units against the best single unit (mixture-of-MNIST data sets)'),
  images('train-n', 'with --net2vec: training images (default: 2000)'),
  int('epochs', 'with --net2vec: training epochs (default: 10)', 1, 10_000),
  num('lr', 'with --net2vec: Adam learning rate (default: 0.05)', { min: 0, max: 100, minExclusive: true }),
  num('quantile', "with --net2vec: the top quantile that thresholds single units and the vectors' maps (default: 0.005, NetDissect's)", { min: 0, max: 1, minExclusive: true }),
  seed,
  out('runs/ablate-<arch>-<layer>'),
];

/** `dissect` (src/cli/dissect.ts): E3 units as digit detectors and E4 network dissection (src/xai/units/dissection.ts). */
export const DISSECT_OPTIONS: readonly OptionSpec[] = [
  runFolder('folder written by glassbox train, or a .safetensors file with --arch and --dataset'),
  arch,
  dataset("the data set (default: the run's); it must have concept masks (mnist-mixture, mnist-mixture-usefulness)"),
  str('layer', "comma-separated module paths of conv feature maps, as nn.summary prints them (default: the ReLU after every conv)", 'paths'),
  str('concepts', "the concepts: 'digits', the ten digits' pixel masks (default: digits)", 'name', ['digits']),
  num('quantile', "top quantile of each unit's activations that thresholds its map: 0.005 (NetDissect) or 0.01 (Bau et al.'s dissect) (default: 0.005)", { min: 0, max: 0.5, minExclusive: true }),
  num('iou', 'IoU above which a unit counts as interpretable (default: 0.04, NetDissect)', { min: 0, max: 1 }),
  str('split', 'the split dissected (default: train)', 'name', ['train', 'validation']),
  images('n', 'images dissected (default: 20000 for train, 5000 for validation)'),
  int('ablation-images', 'validation images for the per-unit ablation drop; 0 skips it (default: 1000)', 0, MAX_IMAGES),
  int('top', 'top images shown per unit (default: 8)', 1, 100),
  int('batch-size', 'images per forward pass (default: 128)', 1, 65_536),
  flag('random-init', 'dissect the architecture freshly initialised (with --seed): the control'),
  seed,
  out('runs/dissect-<arch>-<dataset>'),
];

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'main', summary: 'train LeNet-5 on MNIST, explain test images with every method, write runs/main/report.html', options: MAIN_OPTIONS },
  { name: 'demo', summary: 'fit an MLP on MNIST and print the loss falling (the engine end to end)', options: DEMO_OPTIONS },
  { name: 'train', summary: 'train a model of the zoo on a data set (or --resume a run)', options: TRAIN_OPTIONS },
  { name: 'evaluate', summary: 'score every explanation method on the same images', options: EVALUATE_OPTIONS },
  { name: 'explain', summary: 'explain one image (--image file.png or --index i) with one or more methods', options: EXPLAIN_OPTIONS },
  { name: 'sanity', summary: "Adebayo et al.'s sanity checks of explanation methods", options: SANITY_OPTIONS },
  { name: 'eval', summary: 'accuracy of a trained run', options: EVAL_OPTIONS },
  { name: 'attack', summary: 'adversarial examples (FGSM, PGD L-inf / L2, C&W, L-BFGS): accuracy and success against epsilon, pictures, gradient-masking checks', options: ATTACK_OPTIONS },
  { name: 'robust-saliency', summary: 'perceptually aligned gradients: saliency maps of a normal and an adversarially trained model side by side, scored by the same evaluation (Tsipras et al. 2019)', options: ROBUST_SALIENCY_OPTIONS },
  { name: 'manipulate', summary: "manipulated explanations: an image changed so that its explanation matches another image's while the output stays (Dombrowski et al. 2019)", options: MANIPULATE_OPTIONS },
  { name: 'visualize-features', summary: 'feature visualisation: the input that excites a class, channel or neuron (also: glassbox visualize features)', options: VISUALIZE_FEATURES_OPTIONS },
  { name: 'visualize-circuit', summary: "a conv unit's strongest input channels, the weights between them, and what zeroing each connection does (also: glassbox visualize circuit)", options: VISUALIZE_CIRCUIT_OPTIONS },
  { name: 'visualize-invert', summary: 'inversion by optimisation: validation images reconstructed from their code at each layer, with feature and pixel errors (also: glassbox visualize invert)', options: VISUALIZE_INVERT_OPTIONS },
  { name: 'visualize-decode', summary: "inversion by a learned decoder: up-convolutional nets trained to rebuild images from each layer's features, scored on held-out images (also: glassbox visualize decode)", options: VISUALIZE_DECODE_OPTIONS },
  { name: 'visualize-dream', summary: "DeepDream: a validation image changed to raise a layer's activations, with octaves and jitter (also: glassbox visualize dream)", options: VISUALIZE_DREAM_OPTIONS },
  { name: 'visualize-style', summary: 'neural style transfer: an image with the content of one and the Gram-matrix style of another, or a texture synthesised from noise (also: glassbox visualize style)', options: VISUALIZE_STYLE_OPTIONS },
  { name: 'visualize-patches', summary: "top-activating validation patches of a layer's units, cropped to their receptive fields (also: glassbox visualize patches)", options: VISUALIZE_PATCHES_OPTIONS },
  { name: 'prune', summary: 'lottery tickets (iterative magnitude pruning with rewinding) and pruning at initialisation (SynFlow, SNIP, magnitude, random): accuracy against weights left, resumable', options: PRUNE_OPTIONS },
  { name: 'weights', summary: "first-layer weights as pictures: a linear classifier's class templates (CS231n) or a conv net's filters, with its accuracy", options: WEIGHTS_OPTIONS },
  { name: 'embed', summary: "a model's layers over a data set: activation maps, PCA and t-SNE maps coloured by class, and kNN class separation per layer", options: EMBED_OPTIONS },
  { name: 'dissect', summary: 'units as digit detectors (precision@K, alignment, ablation) and network dissection (IoU with concept masks, interpretable units per layer)', options: DISSECT_OPTIONS },
  { name: 'robustness', summary: 'accuracy under common corruptions (MNIST-C or CIFAR-10-C, severities 1-5): a table, curves and a picture of every corruption', options: ROBUSTNESS_OPTIONS },
  { name: 'cue-conflict', summary: 'shape vs texture (Geirhos et al. 2019): images with one class\'s shape and another\'s texture by style transfer, and which cue each model\'s decision follows', options: CUE_CONFLICT_OPTIONS },
  { name: 'symmetry', summary: 'ReLU symmetries: a random permutation and positive rescaling of hidden units leaves the outputs unchanged; the canonical form maps equivalent nets to the same weights', options: SYMMETRY_OPTIONS },
  { name: 'connect', summary: 'mode connectivity: loss along the line between two nets, along trained Bezier / polygonal curves, and after weight matching (Git Re-Basin); prints the barriers', options: CONNECT_OPTIONS },
  { name: 'ablate', summary: 'unit ablation: switch units of a layer off, accuracy lost per unit and class, ranking, cumulative curves; --net2vec: concept vectors over the units (Net2Vec)', options: ABLATE_OPTIONS },
  { name: 'stitch', summary: "stitching: net A's bottom, a learnt 1x1-conv / linear map, net B's top, per layer, against both nets (Lenc & Vedaldi 2015)", options: STITCH_OPTIONS },
  { name: 'gan-train', summary: 'train a DCGAN on MNIST (or Fashion-MNIST) with progress, sample grids and resumable checkpoints (also: glassbox gan train)', options: GAN_TRAIN_OPTIONS },
  { name: 'gan-sample', summary: "a trained generator's samples scored: Frechet distance in LeNet-5's features, confidence, class balance (also: glassbox gan sample)", options: GAN_SAMPLE_OPTIONS },
  { name: 'gan-dissect', summary: "GAN dissection: generator units matched to stroke parts by IoU, switched off and on (also: glassbox gan dissect)", options: GAN_DISSECT_OPTIONS },
  { name: 'gan-walk', summary: 'latent walks along attribute boundaries (thickness, slant, size; width, brightness for clothes), conditional manipulation, interpolations (also: glassbox gan walk)', options: GAN_WALK_OPTIONS },
  { name: 'lab', summary: 'the lab: a web page where you draw a digit and watch backprop explain it, live on WebGPU in your browser (a local server; prints its URL)', options: LAB_OPTIONS },
];

export const HELP_FOOTER =
  `models: ${MODELS.join(', ')}\ndata sets: ${DATASET_NAMES.join(', ')}\n` +
  'Data sets are read from GLASSBOX_DATA (or ../shared/datasets in a checkout) or downloaded; see README.md.';
