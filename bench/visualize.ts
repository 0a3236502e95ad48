/**
 * `node scripts/run-ts.mjs bench/visualize.ts [-- options]`: input optimisation (issue 15), glassbox
 * against the same loops in PyTorch on the CPU (bench/peers/visualize_torch.py), in one run.
 *
 *   features  E1 feature visualisation as Lucid runs it: Fourier parametrisation with Lucid's
 *             colour matrix, the standard transforms (pad 2, jitter 2, scale, rotation, jitter 1),
 *             128 x 128, batch 8, Adam; the objective is channel 0 of `features.12` (the last ReLU
 *             of stage 2) of the zoo's cifar-net, trained (--model) or with seeded random weights
 *             (the speed does not depend on the weights; the PyTorch peer's are random).
 *   style     A3 style transfer with Adam (one evaluation per step, so both engines do the same
 *             work; L-BFGS's line search takes a varying number): the random multi-scale net
 *             (kernels 3, 5, 7, 11, --filters per scale), 128 x 128, content at the largest scale,
 *             Gram matrices at every scale.
 *
 *   --steps=N      steps of the feature visualisation (default 8; the issue asks 256, which takes
 *                  tens of minutes on this machine's shared cores)
 *   --style-steps=N  steps of the style transfer (default: --steps)
 *   --torch-steps=N  steps of each PyTorch run (default: the glassbox run's); a rate is steps over
 *                  time, and PyTorch's per-step time is steady, so fewer steps time it as well
 *   --model=PATH   a trained cifar-net (a run folder of glassbox train, e.g. runs/cifar-net)
 *   --filters=N    filters per scale of the style net (default 32)
 *   --no-torch     glassbox only
 *   --no-write     print only; leave bench/RESULTS.md and bench/results/ alone
 *
 * Steps per second exclude start-up: glassbox's are timed from the end of its first step to the end
 * of its last (renderVis's onStep), PyTorch's after one untimed step.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { init, kernelSubgroupSize, kernelTarget, normalization, tidy, type Tensor } from '../src/index.ts';
import { CifarNet } from '../src/nn/models/cifar-net.ts';
import { withSeed, seededNoise } from '../src/xai/baselines.ts';
import { channel, LUCID_ANGLES, LUCID_COLOR_DECORRELATION, LUCID_SCALES, renderVis, standardTransforms } from '../src/xai/optimize/index.ts';
import { generatedTexture, MULTISCALE_KERNELS, RandomMultiScaleNet, styleTransfer } from '../src/xai/visualize/style-transfer.ts';
import { sigmoid } from '../src/tensor/ops/elementwise.ts';
import { PYTHON } from './peers/torch.ts';
import { loadTrained } from '../src/cli/explain-setup.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, textTable, writeJson, writeSection, machineLines } from './report.ts';

const argv = process.argv.slice(2);
const known = /^--(no-torch|no-write|steps=\d+|style-steps=\d+|torch-steps=\d+|filters=\d+|model=.+)$/;
for (const a of argv) {
  if (!known.test(a)) {
    console.error(`bench/visualize.ts: unknown option '${a}'. Options: --steps=N --style-steps=N --torch-steps=N --model=PATH --filters=N --no-torch --no-write`);
    process.exit(2);
  }
}
const option = (name: string, fallback: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const steps = option('steps', 8);
const styleSteps = option('style-steps', steps);
const torchSteps = (glassboxSteps: number) => option('torch-steps', glassboxSteps);
const filters = option('filters', 32);
const modelPath = argv.find((a) => a.startsWith('--model='))?.slice('--model='.length);
if (steps < 2 || styleSteps < 2 || torchSteps(2) < 2 || filters < 1) {
  console.error('bench/visualize.ts: --steps, --style-steps and --torch-steps must be at least 2 (the first step is not timed) and --filters at least 1');
  process.exit(2);
}
const SIZE = 128;
const BATCH = 8;
const FEATURE_LAYER_INDEX = 12;
const STYLE_WEIGHT = 10;
const STYLE_LR = 0.1;
const norm = normalization.cifar10!;

/** The trained cifar-net of a glassbox train run folder. */
async function trainedCifarNet(path: string) {
  const loaded = await loadTrained(path);
  if (loaded.arch !== 'cifar-net') throw new Error(`bench/visualize.ts: --model=${path} holds a ${loaded.arch}; the benchmark's workload is the cifar-net (give a run of glassbox train --model cifar-net)`);
  return loaded.model;
}

/** Steps per second from the end of step 1 to the end of the last step. */
function stepClock(): { onStep: (step: number) => void; rate: () => number } {
  let first = 0;
  let last = 0;
  let count = 0;
  return {
    onStep: (step) => {
      const now = performance.now();
      if (step === 1) first = now;
      last = now;
      count = step;
    },
    rate: () => ((count - 1) * 1000) / (last - first),
  };
}

interface TorchResult {
  seconds: number;
  steps: number;
  torch: string;
  threads: number;
}

/** One PyTorch run of the same loop; null (with the reason printed) when torch cannot run. */
function torchRun(task: object, glassboxSteps: number): TorchResult | null {
  const steps = torchSteps(glassboxSteps);
  if (argv.includes('--no-torch')) return null;
  // OpenMP's busy-waiting collapses on shared cores (see peers/torch.ts)
  const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/visualize_torch.py'), JSON.stringify({ warmup: 1, steps: steps - 1, ...task })], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
  if (r.status !== 0) {
    console.error(`bench/visualize.ts: the PyTorch peer failed: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const { adapter } = await init();
const info = machine();
console.error(`glassbox visualize bench: ${adapter.description || adapter.device}; ${info.cpu}, ${info.cores} cores; ${steps} feature and ${styleSteps} style steps`);

// --- feature visualisation ------------------------------------------------------------------
const cifar = modelPath ? await trainedCifarNet(modelPath) : withSeed(0, () => new CifarNet());
cifar.eval();
const featureClock = stepClock();
const features = await renderVis(cifar, channel(`features.${FEATURE_LAYER_INDEX}`, 0), {
  inputShape: [3, SIZE, SIZE],
  normalization: norm,
  param: 'fourier',
  decorrelation: 'lucid-imagenet',
  transforms: standardTransforms(),
  batch: BATCH,
  steps,
  seed: 0,
  onStep: featureClock.onStep,
});
features.images.dispose();
features.probabilities?.dispose();
const featureRate = featureClock.rate();
console.error(`features: glassbox ${fmt(featureRate)} steps/s`);
const featureTorch = torchRun({ task: 'features', batch: BATCH, size: SIZE, layerIndex: FEATURE_LAYER_INDEX, channel: 0, color: LUCID_COLOR_DECORRELATION, scales: LUCID_SCALES, angles: LUCID_ANGLES }, steps);
const featureTorchRate = featureTorch ? featureTorch.steps / featureTorch.seconds : NaN;
console.error(`features: torch ${fmt(featureTorchRate)} steps/s`);

// --- style transfer -------------------------------------------------------------------------
const net = new RandomMultiScaleNet({ filtersPerScale: filters, seed: 0 });
const content: Tensor = tidy(() => sigmoid(seededNoise([1, 3, SIZE, SIZE], 1)));
const style = generatedTexture('stripes', SIZE);
const styleClock = stepClock();
const paths = net.layerPaths();
const transfer = await styleTransfer(net, content, style, {
  normalization: norm,
  contentLayer: paths[paths.length - 1]!,
  styleLayers: paths,
  styleWeight: STYLE_WEIGHT,
  optimizer: 'adam',
  lr: STYLE_LR,
  steps: styleSteps,
  onStep: styleClock.onStep,
});
[transfer.image, content, style].forEach((t) => t.dispose());
const styleRate = styleClock.rate();
console.error(`style: glassbox ${fmt(styleRate)} steps/s`);
const styleTorch = torchRun({ task: 'style', size: SIZE, filters, kernels: MULTISCALE_KERNELS, contentIndex: paths.length - 1, styleWeight: STYLE_WEIGHT, lr: STYLE_LR }, styleSteps);
const styleTorchRate = styleTorch ? styleTorch.steps / styleTorch.seconds : NaN;
console.error(`style: torch ${fmt(styleTorchRate)} steps/s`);

// --- report ---------------------------------------------------------------------------------
const seconds = (performance.now() - started) / 1000;
const head = ['run', 'glassbox steps/s', 'torch-cpu steps/s', 'x torch'];
const rows = [
  [`features: cifar-net features.${FEATURE_LAYER_INDEX} ch 0, Fourier + transforms, ${SIZE}x${SIZE}, batch ${BATCH}`, fmt(featureRate), fmt(featureTorchRate), `${fmt(featureRate / featureTorchRate)}x`],
  [`style: random multi-scale net (${MULTISCALE_KERNELS.join(', ')} px x ${filters} filters), ${SIZE}x${SIZE}, Adam`, fmt(styleRate), fmt(styleTorchRate), `${fmt(styleRate / styleTorchRate)}x`],
];
console.log(textTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const torchNote = featureTorch ? `PyTorch ${featureTorch.torch}, ${featureTorch.threads} threads, OMP_WAIT_POLICY=PASSIVE` : 'not run';
  const body = [
    '## Input optimisation: feature visualisation and style transfer (`bench/visualize.ts`)',
    '',
    `- date: ${date}`,
    ...machineLines(adapter.description || adapter.device, kernelChoice(kernelTarget(), kernelSubgroupSize()), loadAtStart),
    `- torch: ${torchNote} (bench/peers/visualize_torch.py, the same loops; its Fourier image uses torch.fft.irfft2, glassbox's a DFT by matmuls)${featureTorch ? `; ${featureTorch.steps + 1} feature and ${styleTorch ? styleTorch.steps + 1 : 0} style steps, the first of each not timed` : ''}`,
    `- command: \`node scripts/run-ts.mjs bench/visualize.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (${seconds.toFixed(0)} s)`,
    `- a step: one forward and backward of the whole loop and an Adam update; ${steps} feature-visualisation and ${styleSteps} style-transfer steps, the first of each not timed. features: cifar-net with ${modelPath ? `the **trained** weights of \`${modelPath}\` (the PyTorch peer's are random: speed does not depend on the weights)` : '**random weights** (seeded; speed does not depend on the weights)'}, Lucid's Fourier parametrisation and colour matrix, the standard transforms, the mean of one channel. style: content + ${STYLE_WEIGHT} x style loss (Gram matrices at every scale), pixels started at the content image.${steps < 256 ? ' The issue asks for 256 feature-visualisation steps; fewer were timed here (each is the same work).' : ''}`,
    '',
    `**Steps per second (x torch = glassbox speed over PyTorch's; ${info.cpu})**`,
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'visualize', body);
  writeJson(resolve(repoRoot(), 'bench/results/visualize.json'), { date, cpu: info.cpu, cores: info.cores, steps, styleSteps, model: modelPath ?? 'random', filters, features: { glassbox: featureRate, torch: featureTorchRate }, style: { glassbox: styleRate, torch: styleTorchRate }, seconds });
}
