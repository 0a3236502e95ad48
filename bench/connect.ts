/**
 * `node scripts/run-ts.mjs bench/connect.ts [-- options]`: one epoch of mode-connectivity curve
 * training (issue 17, D2): the middle point of a quadratic Bezier curve between two LeNet-5s
 * trained by glassbox's trainCurve (src/xai/weightspace/curve-training.ts) against the same loop in
 * PyTorch on the CPU (bench/peers/connect_torch.py), in one run.
 *
 * The two nets have seeded random weights (the speed does not depend on them); glassbox reads
 * MNIST training images through its DataLoader, the peer random tensors of the same shape. An
 * "epoch" is --images images (default 6,000, a tenth of MNIST, so that the run takes a minute on
 * shared cores), batch 64, Adam.
 *
 *   --images=N   images per epoch (default 6000)
 *   --no-torch   glassbox only
 *   --no-write   print only; leave bench/RESULTS.md and bench/results/ alone
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { init, kernelSubgroupSize, kernelTarget, manualSeed } from '../src/index.ts';
import { models } from '../src/index.ts';
import { DataLoader, NORMALISATION } from '../src/train/data-loader.ts';
import { loadDataset } from '../datasets/index.ts';
import { trainCurve } from '../src/xai/weightspace/curve-training.ts';
import { readState } from '../src/xai/weightspace/state.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, textTable, writeJson, writeSection, machineLines } from './report.ts';

const argv = process.argv.slice(2);
for (const a of argv)
  if (!/^--(no-torch|no-write|images=\d+)$/.test(a)) {
    console.error(`bench/connect.ts: unknown option '${a}'. Options: --images=N --no-torch --no-write`);
    process.exit(2);
  }
const images = Number(argv.find((a) => a.startsWith('--images='))?.slice(9) ?? 6000);
const BATCH = 64;
if (!(images >= 2 * BATCH)) {
  console.error(`bench/connect.ts: --images must be at least ${2 * BATCH} (two batches)`);
  process.exit(2);
}

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const { adapter } = await init();
const info = machine();
console.error(`glassbox connect bench: ${adapter.description || adapter.device}; ${info.cpu}, ${info.cores} cores; an epoch of ${images} images`);

const net = (seed: number) => {
  manualSeed(seed);
  return models.lenet5();
};
const model = net(1);
const a = await readState(model);
const b = await readState(net(2));
const data = await loadDataset('mnist', { split: 'train', limit: images });
const norm = NORMALISATION.mnist!;
const loader = (limit: number) => new DataLoader(data, { batchSize: BATCH, shuffle: true, seed: 0, keepLast: false, limit, ...norm });
// warm-up: two steps compile every kernel the loop uses
await trainCurve(model, a, b, { kind: 'bezier', train: loader(2 * BATCH), epochs: 1 });
const timed = await trainCurve(model, a, b, { kind: 'bezier', train: loader(images), epochs: 1 });
const glassboxRate = timed.steps / timed.seconds;
console.error(`glassbox: ${timed.steps} steps in ${timed.seconds.toFixed(1)} s (${fmt(glassboxRate)} steps/s)`);

interface TorchResult {
  seconds: number;
  steps: number;
  torch: string;
  threads: number;
}
let torch: TorchResult | null = null;
if (!argv.includes('--no-torch')) {
  // OpenMP's busy-waiting collapses on shared cores (see peers/torch.ts)
  const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/connect_torch.py'), JSON.stringify({ images, batch: BATCH, warmup: 2 })], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
  if (r.status !== 0) console.error(`bench/connect.ts: the PyTorch peer failed: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`);
  else torch = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}
const torchRate = torch ? torch.steps / torch.seconds : NaN;
console.error(`torch: ${fmt(torchRate)} steps/s`);

const seconds = (performance.now() - started) / 1000;
const head = ['run', 'glassbox steps/s', 'torch-cpu steps/s', 'x torch', 'glassbox s/epoch', 'torch s/epoch'];
const rows = [[`Bezier curve between two LeNet-5s, batch ${BATCH}, Adam, ${images} images`, fmt(glassboxRate), fmt(torchRate), `${fmt(glassboxRate / torchRate)}x`, fmt(timed.seconds), torch ? fmt(torch.seconds) : '-']];
console.log(textTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const body = [
    '## Mode connectivity: one epoch of curve training (`bench/connect.ts`)',
    '',
    `- date: ${date}`,
    ...machineLines(adapter.description || adapter.device, kernelChoice(kernelTarget(), kernelSubgroupSize()), loadAtStart),
    `- torch: ${torch ? `PyTorch ${torch.torch}, ${torch.threads} threads, OMP_WAIT_POLICY=PASSIVE` : 'not run'} (bench/peers/connect_torch.py, the same loop with a functional LeNet-5)`,
    `- command: \`node scripts/run-ts.mjs bench/connect.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (${seconds.toFixed(0)} s)`,
    `- a step: t ~ U(0, 1), every parameter built as (1-t)^2 A + 2t(1-t) M + t^2 B, forward and backward of LeNet-5 on a batch of ${BATCH}, Adam on M (glassbox: \`trainCurve\`, the loop \`glassbox connect\` runs). A and B have seeded random weights (speed does not depend on them); glassbox reads MNIST through its DataLoader, the peer random tensors. An epoch here is ${images} images (MNIST's is 60,000); glassbox after a 2-step warm-up, PyTorch after 2 untimed steps.`,
    '',
    `**Steps per second (x torch = glassbox speed over PyTorch's; ${info.cpu})**`,
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'connect', body);
  writeJson(resolve(repoRoot(), 'bench/results/connect.json'), { date, cpu: info.cpu, cores: info.cores, images, batch: BATCH, glassbox: { steps: timed.steps, seconds: timed.seconds }, torch, seconds });
}
