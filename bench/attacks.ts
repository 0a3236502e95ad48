/**
 * `node scripts/run-ts.mjs bench/attacks.ts [-- options]`: adversarial examples and adversarial
 * training (issue 16), glassbox against the same loops in PyTorch on the CPU
 * (bench/peers/attacks_torch.py), in one run.
 *
 *   pgd       L-inf PGD-40 at Madry et al.'s MNIST settings (eps 0.3, steps of 0.01, random start) on
 *             a batch of 256 images: the loop of `glassbox attack` (PGD.perturb, every step one
 *             forward and one backward to the input).
 *   fgsm-rs   one adversarial training step of Wong et al. 2020 (a random start, one FGSM step of
 *             1.25 eps, then an Adam step on the result), batch 64: `train --adversarial fgsm-rs`.
 *   pgd-7     the same with a 7-step PGD (alpha 2.5 eps / 7): Madry et al.'s training with fewer steps.
 *
 * LeNet-5 with seeded random weights and uniform random pixels: the speed does not depend on them.
 *
 *   --repeats=N   timed runs of each (default 3, after one untimed run that compiles the kernels)
 *   --no-torch    glassbox only
 *   --no-write    print only; leave bench/RESULTS.md and bench/results/ alone
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { crossEntropy, init, kernelSubgroupSize, kernelTarget, normalization, rand, randint, sync, tidy, type Tensor } from '../src/index.ts';
import { LeNet5 } from '../src/nn/models/lenet.ts';
import { Adam } from '../src/train/optim.ts';
import { withSeed } from '../src/xai/baselines.ts';
import { adversarialBatchHook, adversarialTrainingSettings, PGD } from '../src/xai/attacks/index.ts';
import { normalize } from '../src/data/normalization.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, textTable, writeJson, writeSection, machineLines } from './report.ts';

const argv = process.argv.slice(2);
for (const a of argv) {
  if (!/^--(no-torch|no-write|repeats=\d+)$/.test(a)) {
    console.error(`bench/attacks.ts: unknown option '${a}'. Options: --repeats=N --no-torch --no-write`);
    process.exit(2);
  }
}
const repeats = Number(argv.find((a) => a.startsWith('--repeats='))?.slice(10) ?? 3);
if (!(repeats >= 1)) {
  console.error('bench/attacks.ts: --repeats must be at least 1');
  process.exit(2);
}
const EPS = 0.3;
const norm = normalization.mnist!;

interface Workload {
  name: string;
  what: string;
  batch: number;
  steps: number;
  alpha: number;
  task: 'pgd' | 'train';
}
const WORKLOADS: Workload[] = [
  { name: 'pgd', what: 'PGD-40 attack, L-inf eps 0.3, batch 256', batch: 256, steps: 40, alpha: 0.01, task: 'pgd' },
  { name: 'fgsm-rs', what: 'FGSM-RS adversarial training step, batch 64', batch: 64, steps: 1, alpha: 1.25 * EPS, task: 'train' },
  { name: 'pgd-7', what: 'PGD-7 adversarial training step, batch 64', batch: 64, steps: 7, alpha: (2.5 * EPS) / 7, task: 'train' },
];

/** Seconds per run of `run` (its result read back, so the GPU work is inside the time), after one untimed run. */
async function timeRuns(run: () => Tensor): Promise<number> {
  const once = async () => {
    const t = run();
    await t.toArray();
    t.dispose();
  };
  await once();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) await once();
  return (performance.now() - start) / 1000 / repeats;
}

async function glassboxSeconds(w: Workload): Promise<number> {
  const model = withSeed(0, () => new LeNet5());
  const x = withSeed(1, () => rand([w.batch, 1, 28, 28]));
  const y = withSeed(2, () => randint(0, 10, [w.batch]));
  try {
    if (w.task === 'pgd') {
      model.eval();
      const pgd = new PGD(model, { eps: EPS, alpha: w.alpha, steps: w.steps, randomStart: true, normalization: norm });
      return await timeRuns(() => pgd.perturb(x, y));
    }
    model.train();
    const settings = adversarialTrainingSettings(w.steps === 1 ? 'fgsm-rs' : 'pgd', { eps: EPS, alpha: w.alpha, steps: w.steps });
    const hook = adversarialBatchHook(model, settings, norm);
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    const xNorm = normalize(x, norm);
    try {
      // the trainer's step (src/train/trainer.ts) with its perturbBatch hook
      return await timeRuns(() =>
        tidy(() => {
          const adv = hook(xNorm, y);
          optimizer.zeroGrad();
          const loss = crossEntropy(model.forward(adv), y);
          loss.backward();
          optimizer.step();
          return loss;
        }),
      );
    } finally {
      xNorm.dispose();
    }
  } finally {
    [x, y].forEach((t) => t.dispose());
    sync();
  }
}

interface TorchResult {
  seconds: number;
  repeats: number;
  torch: string;
  threads: number;
}

function torchSeconds(w: Workload): { perRun: number; info: TorchResult } | null {
  if (argv.includes('--no-torch')) return null;
  // OpenMP's busy-waiting collapses on shared cores (see peers/torch.ts)
  const task = { task: w.task, batch: w.batch, steps: w.steps, eps: EPS, alpha: w.alpha, repeats };
  const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/attacks_torch.py'), JSON.stringify(task)], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
  if (r.status !== 0) {
    console.error(`bench/attacks.ts: the PyTorch peer failed: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`);
    return null;
  }
  const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
  return { perRun: info.seconds / info.repeats, info };
}

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const { adapter } = await init();
const info = machine();
console.error(`glassbox attacks bench: ${adapter.description || adapter.device}; ${info.cpu}, ${info.cores} cores; ${repeats} timed runs each`);
const measured: Array<{ w: Workload; glassbox: number; torch: number; torchInfo?: TorchResult }> = [];
for (const w of WORKLOADS) {
  const glassbox = await glassboxSeconds(w);
  const torch = torchSeconds(w);
  measured.push({ w, glassbox, torch: torch?.perRun ?? NaN, torchInfo: torch?.info });
  console.error(`${w.name}: glassbox ${fmt(glassbox)} s, torch ${fmt(torch?.perRun ?? NaN)} s per run`);
}

const seconds = (performance.now() - started) / 1000;
const head = ['run', 'glassbox images/s', 'torch-cpu images/s', 'x torch'];
const rows = measured.map(({ w, glassbox, torch }) => [w.what, fmt(w.batch / glassbox), fmt(w.batch / torch), `${fmt(torch / glassbox)}x`]);
console.log(textTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const t = measured.find((m) => m.torchInfo)?.torchInfo;
  const body = [
    '## Adversarial attacks and adversarial training: speed (`bench/attacks.ts`)',
    '',
    `- date: ${date}`,
    ...machineLines(adapter.description || adapter.device, kernelChoice(kernelTarget(), kernelSubgroupSize()), loadAtStart),
    `- torch: ${t ? `PyTorch ${t.torch}, ${t.threads} threads, OMP_WAIT_POLICY=PASSIVE` : 'not run'} (bench/peers/attacks_torch.py, the same loops)`,
    `- command: \`node scripts/run-ts.mjs bench/attacks.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (${seconds.toFixed(0)} s)`,
    `- LeNet-5 with seeded random weights, uniform random pixels, MNIST normalisation inside the loop; ${repeats} timed runs after one untimed; images/s = batch / seconds per run (an attack of all its steps, or one training step with its attack).`,
    '',
    `**Images per second (x torch = glassbox speed over PyTorch's; ${info.cpu})**`,
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'attacks-speed', body);
  writeJson(resolve(repoRoot(), 'bench/results/attacks.json'), { date, cpu: info.cpu, cores: info.cores, repeats, workloads: measured.map(({ w, glassbox, torch }) => ({ ...w, glassboxSeconds: glassbox, torchSeconds: torch })), seconds });
}
