/**
 * `node scripts/run-ts.mjs bench/gan.ts [-- options]`: DCGAN training throughput (issue 19), images per
 * second of one generator plus discriminator step (src/gan/train.ts's ganStep) in glassbox against the
 * same nets and step in PyTorch on the CPU (bench/peers/gan_torch.py), in one run; writes the `gan`
 * section of bench/RESULTS.md.
 *
 *   --steps=N    timed steps (default 10; 2 untimed warm-up steps before them)
 *   --width=N    the nets' base width (default 32, the README run's)
 *   --no-torch   glassbox only
 *   --no-write   print only
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { init, keep, kernelSubgroupSize, kernelTarget, tidy, uniform } from '../src/index.ts';
import { ganConfig, ganStep, newGan } from '../src/gan/train.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, writeSection } from './report.ts';

const argv = process.argv.slice(2);
const known = /^--(no-torch|no-write|steps=\d+|width=\d+)$/;
for (const a of argv)
  if (!known.test(a)) {
    console.error(`bench/gan.ts: unknown option '${a}'. Options: --steps=N --width=N --no-torch --no-write`);
    process.exit(2);
  }
const option = (name: string, fallback: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const steps = option('steps', 10);
const width = option('width', 32);
const LATENT = 64;
const BATCH = 64;
const WARMUP = 2;

const loadAtStart = loadavg()[0]!;
const info = machine();
const { adapter } = await init();
const state = newGan(ganConfig({ width, latentSize: LATENT, batchSize: BATCH }));
state.gan.train();
const real = keep(uniform([BATCH, 1, 28, 28], -1, 1));
let t0 = 0;
for (let s = 0; s < WARMUP + steps; s++) {
  if (s === WARMUP) t0 = performance.now();
  const r = tidy(() => ganStep(state, real));
  await r.gLoss.item(); // waits for the step's kernels
}
const seconds = (performance.now() - t0) / 1000;
const ours = (steps * BATCH) / seconds;
console.log(`glassbox: ${fmt(ours)} images/s (${steps} steps of ${BATCH} in ${seconds.toFixed(2)} s)`);

let torch: { images_per_second: number; torch: string; threads: number } | undefined;
if (!argv.includes('--no-torch')) {
  const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/gan_torch.py'), JSON.stringify({ width, latent: LATENT, batch: BATCH, warmup: WARMUP, steps })], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
  if (r.status !== 0) throw new Error(`bench/gan.ts: the PyTorch peer failed: ${r.stderr}`);
  torch = JSON.parse(r.stdout.trim().split('\n').pop()!);
  console.log(`PyTorch ${torch!.torch} (${torch!.threads} threads): ${fmt(torch!.images_per_second)} images/s; ratio ${(ours / torch!.images_per_second).toFixed(2)}x`);
}

const body = [
  '## DCGAN training (issue 19)',
  '',
  `Images per second of one discriminator step plus one generator step (non-saturating loss, Adam) of the 28x28 DCGAN of src/nn/models/dcgan.ts (width ${width}, latent ${LATENT}, batch ${BATCH}), ${steps} timed steps after ${WARMUP} warm-up steps; PyTorch runs the same nets and step on the CPU (bench/peers/gan_torch.py).`,
  '',
  markdownTable(['engine', 'images/s', 'ratio to PyTorch'], [['glassbox', fmt(ours), torch ? `${(ours / torch.images_per_second).toFixed(2)}x` : '-'], ...(torch ? [[`PyTorch ${torch.torch} CPU (${torch.threads} threads)`, fmt(torch.images_per_second), '1x']] : [])]),
  '',
  `- ${new Date().toISOString().slice(0, 10)}; machine: ${info.cpu}, ${info.cores} cores; Node ${process.versions.node}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (above ${info.cores}: other jobs shared the cores; the ratio is the figure to read)`,
  `- adapter: ${adapter.description || adapter.device}; glassbox kernel target \`${kernelChoice(kernelTarget(), kernelSubgroupSize())}\``,
  `- command: \`node scripts/run-ts.mjs bench/gan.ts${argv.length ? ` -- ${argv.join(' ')}` : ''}\``,
].join('\n');
if (!argv.includes('--no-write')) writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'gan', body);
