/**
 * `node scripts/run-ts.mjs bench/prune.ts [-- options]`: one round of iterative magnitude pruning of
 * LeNet-300-100 (catalogue D3), glassbox against the same loop in PyTorch on the CPU
 * (bench/peers/prune_torch.py), in one run. The round: rewind to the saved initialisation, apply a
 * mask at --density (the engine's parameter masks here; the weights multiplied by the mask after
 * each step in PyTorch, as OpenLTH does), --iterations Adam steps (lr 1.2e-3, batch 60) on a fixed
 * set of 12,000 MNIST images (PyTorch: random images of the same shape in memory; the speed does not
 * depend on the values), then prune 20% / 20% / 10% of each layer's survivors by magnitude. One
 * untimed round first, then one timed.
 *
 *   --iterations=N   training steps per round (default 100)
 *   --density=D      fraction of weights the round starts with (default 0.5)
 *   --no-torch       glassbox only
 *   --no-write       print only; leave bench/RESULTS.md and bench/results/ alone
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { crossEntropy, init, kernelSubgroupSize, kernelTarget, manualSeed, tidy } from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { MLP } from '../src/nn/models/mlp.ts';
import { loadSafetensors, saveSafetensors } from '../src/nn/safetensors.ts';
import { DataLoader, NORMALISATION } from '../src/train/data-loader.ts';
import { Adam } from '../src/train/optim.ts';
import { PruningMask } from '../src/xai/pruning/mask.ts';
import { magnitudeScores, randomScores } from '../src/xai/pruning/scores.ts';
import { impLayerRates } from '../src/xai/pruning/schedule.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, textTable, writeJson, writeSection, machineLines } from './report.ts';

const argv = process.argv.slice(2);
const known = /^--(no-torch|no-write|iterations=\d+|density=[\d.]+)$/;
for (const a of argv) {
  if (!known.test(a)) {
    console.error(`bench/prune.ts: unknown option '${a}'. Options: --iterations=N --density=D --no-torch --no-write`);
    process.exit(2);
  }
}
const option = (name: string, fallback: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const iterations = option('iterations', 100);
const density = option('density', 0.5);
if (!(iterations >= 1 && density > 0 && density <= 1)) {
  console.error('bench/prune.ts: --iterations must be at least 1 and --density in (0, 1]');
  process.exit(2);
}
const IMAGES = 12_000;
const BATCH = 60;
const LR = 1.2e-3;

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const { adapter } = await init();
const info = machine();
console.error(`glassbox prune bench: ${adapter.description || adapter.device}; ${info.cpu}, ${info.cores} cores; ${iterations} iterations per round at density ${density}`);

manualSeed(0);
const model = new MLP(784, [300, 100], 10);
const initial = await saveSafetensors(model);
const data = await loadDataset('mnist', { split: 'train', limit: IMAGES });
const loader = new DataLoader(data, { batchSize: BATCH, shuffle: true, seed: 0, keepLast: false, ...NORMALISATION.mnist! });
const start = density < 1 ? PruningMask.ones(model).keepHighestGlobal(randomScores(model, 1), density) : PruningMask.ones(model);
const rates = impLayerRates(model);

/** One IMP round: rewind, mask, train, prune by magnitude; returns its seconds. */
async function round(): Promise<number> {
  const t0 = performance.now();
  loadSafetensors(model, initial);
  start.apply(model);
  const opt = new Adam(model.parameters(), { lr: LR });
  let k = 0;
  for (let epoch = 0; k < iterations; epoch++)
    for (const batch of loader.batches(epoch)) {
      tidy(() => {
        opt.zeroGrad();
        crossEntropy(model.forward(batch.x), batch.y).backward();
        opt.step();
      });
      batch.x.dispose();
      batch.y.dispose();
      if (++k >= iterations) break;
    }
  opt.zeroGrad();
  const next = start.pruneLowestPerLayer(await magnitudeScores(model), rates);
  if (!(next.density() < start.density())) throw new Error('bench/prune.ts: the round pruned nothing');
  return (performance.now() - t0) / 1000;
}

await round();
const seconds = await round();
console.error(`glassbox: ${fmt(seconds)} s per round`);

let torch: { seconds: number; torch: string; threads: number } | null = null;
if (!argv.includes('--no-torch')) {
  // OpenMP's busy-waiting collapses on shared cores (see peers/torch.ts)
  const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/prune_torch.py'), JSON.stringify({ iterations, batch: BATCH, images: IMAGES, lr: LR, density })], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
  if (r.status !== 0) console.error(`bench/prune.ts: the PyTorch peer failed: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`);
  else torch = JSON.parse(r.stdout.trim().split('\n').pop()!);
}
const torchSeconds = torch?.seconds ?? NaN;
console.error(`torch: ${fmt(torchSeconds)} s per round`);

const total = (performance.now() - started) / 1000;
const head = ['run', 'glassbox s/round', 'torch-cpu s/round', 'x torch (speed)'];
const rows = [[`IMP round: LeNet-300-100, density ${density}, ${iterations} Adam steps (batch ${BATCH}) + magnitude pruning 20/20/10%`, fmt(seconds), fmt(torchSeconds), `${fmt(torchSeconds / seconds)}x`]];
console.log(textTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const body = [
    '## Lottery tickets: one IMP round (`bench/prune.ts`)',
    '',
    `- date: ${date}`,
    ...machineLines(adapter.description || adapter.device, kernelChoice(kernelTarget(), kernelSubgroupSize()), loadAtStart),
    `- torch: ${torch ? `PyTorch ${torch.torch}, ${torch.threads} threads, OMP_WAIT_POLICY=PASSIVE` : 'not run'} (bench/peers/prune_torch.py: the same round; masks kept by a gradient hook and a multiplication after each step, as OpenLTH; its images are random tensors in memory, glassbox's 12,000 MNIST images decoded on the GPU per batch)`,
    `- command: \`node scripts/run-ts.mjs bench/prune.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (${total.toFixed(0)} s)`,
    `- a round: rewind to the initialisation, apply the mask, ${iterations} Adam steps (lr ${LR}, batch ${BATCH}), prune 20% / 20% / 10% of each layer's survivors by magnitude; one untimed round, then one timed`,
    '',
    `**Seconds per round (x torch = PyTorch's time over glassbox's: above 1, glassbox is faster; ${info.cpu})**`,
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'prune', body);
  writeJson(resolve(repoRoot(), 'bench/results/prune.json'), { date, cpu: info.cpu, cores: info.cores, iterations, density, glassbox: seconds, torch: torchSeconds, seconds: total });
}
