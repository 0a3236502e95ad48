/**
 * `node scripts/run-ts.mjs bench/ablation.ts [-- options]`: one unit-ablation sweep of conv3 of the
 * mixture-of-MNIST net (every unit switched off alone, plus the intact model, over the validation
 * images; src/xai/units/ablation.ts), glassbox against the same loop in PyTorch on the CPU
 * (bench/peers/ablation_torch.py), in one run. Both tile each batch's conv3 activation once per
 * ablation and run the rest of the net on the tiled batch; both report each ablation's accuracy,
 * and the bench checks that they agree.
 *
 *   --model=PATH   the weights (default: the fixture tests/fixtures/models/mixture-net.safetensors)
 *   --n=N          validation images (default 5000, the whole split)
 *   --no-torch     glassbox only
 *   --no-write     print only; leave bench/RESULTS.md and bench/results/ alone
 *
 * glassbox's time is its second sweep (the first, on one batch, compiles the kernels); PyTorch's
 * likewise follows an untimed sweep of one batch.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { init, kernelSubgroupSize, kernelTarget, slice, tensor } from '../src/index.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import { loadModel } from '../src/nn/safetensors-file.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { unitAblationEffects } from '../src/xai/units/ablation.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, writeJson, writeSection, machineLines } from './report.ts';

const argv = process.argv.slice(2);
for (const a of argv)
  if (!/^--(no-torch|no-write|n=\d+|model=.+)$/.test(a)) {
    console.error(`bench/ablation.ts: unknown option '${a}'. Options: --model=PATH --n=N --no-torch --no-write`);
    process.exit(2);
  }
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const n = Number(option('n') ?? 5000);
const weights = resolve(repoRoot(), option('model') ?? 'tests/fixtures/models/mixture-net.safetensors');
const BATCH = 128;
const LAYER = 'features.7';

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const { adapter } = await init();
const info = machine();
const spec = datasetSpec('mnist-mixture');
const data = await spec.load('validation', n);
const count = Math.min(n, data.n);
const model = modelEntry('mixture-net').build({ channels: 1, height: 56, width: 56, classes: 45 });
await loadModel(weights, model);
model.eval();
const images = tensor(Float32Array.from(data.images.subarray(0, count * 3136), (v) => v / 255), [count, 1, 56, 56]);
const labels = data.labels.subarray(0, count);
const normalization = { mean: spec.mean, std: spec.std };
console.error(`ablation bench: ${adapter.description || adapter.device}; ${info.cpu}, ${info.cores} cores; ${count} images`);
await unitAblationEffects(model, slice(images, 0, { start: 0, end: BATCH }), labels.subarray(0, BATCH), { layer: LAYER, normalization, batchSize: BATCH });
const t0 = performance.now();
const sweep = await unitAblationEffects(model, images, labels, { layer: LAYER, normalization, batchSize: BATCH });
const ours = (performance.now() - t0) / 1000;
const ourAcc = [sweep.baseline.accuracy, ...sweep.effects.map((e) => e.accuracy)];
console.error(`glassbox: ${fmt(ours)} s (${sweep.mode})`);

let peer: { seconds: number; accuracy: number[]; torch: string; threads: number } | null = null;
if (!argv.includes('--no-torch')) {
  const dir = resolve(repoRoot(), 'runs/bench-ablation');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'images.u8'), data.images.subarray(0, count * 3136));
  writeFileSync(join(dir, 'labels.u8'), labels);
  const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/ablation_torch.py'), JSON.stringify({ dir, n: count, batch: BATCH, weights, mean: spec.mean[0], std: spec.std[0], warmup: 1 })], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
  });
  if (r.status !== 0) console.error(`bench/ablation.ts: the PyTorch peer failed: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`);
  else peer = JSON.parse(r.stdout.trim().split('\n').pop()!);
  if (peer) console.error(`torch: ${fmt(peer.seconds)} s`);
}
const disagree = peer ? ourAcc.map((a, i) => Math.abs(a - peer!.accuracy[i]!) * count).reduce((a, b) => Math.max(a, b), 0) : NaN;
const seconds = (performance.now() - started) / 1000;
const head = ['run', 'glassbox', 'PyTorch (CPU)', 'ratio (glassbox / PyTorch)'];
const rows = [
  [`sweep of conv3's ${sweep.channels} units + intact, ${count} images: seconds`, fmt(ours), peer ? fmt(peer.seconds) : '-', peer ? `${fmt(ours / peer.seconds)}x time` : '-'],
  ['images per second (x 11 ablations)', fmt(count / ours), peer ? fmt(count / peer.seconds) : '-', '-'],
  ['largest gap in correct answers, over the 11 ablations (images)', '-', '-', peer ? String(Math.round(disagree)) : '-'],
];
console.log(markdownTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const body = [
    '## Unit ablation: one sweep of a layer against PyTorch (`bench/ablation.ts`)',
    '',
    `- date: ${date}`,
    ...machineLines(adapter.description || adapter.device, kernelChoice(kernelTarget(), kernelSubgroupSize()), loadAtStart),
    `- PyTorch: ${peer ? `${peer.torch}, ${peer.threads} thread(s)` : 'not run'} (bench/peers/ablation_torch.py)`,
    `- command: \`node scripts/run-ts.mjs bench/ablation.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (${seconds.toFixed(0)} s)`,
    `- work: ${weights.replace(repoRoot() + '/', '')}, conv3's ReLU (\`${LAYER}\`), each of its ${sweep.channels} units zeroed alone plus the intact model, over the first ${count} mixture-of-MNIST validation images in batches of ${BATCH}; both engines tile each batch's conv3 activation ${sweep.channels + 1} times and run the rest of the net on the tiled batch. Intact accuracy ${fmt(sweep.baseline.accuracy)}.`,
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'ablation', body);
  writeJson(resolve(repoRoot(), 'bench/results/ablation.json'), { date, cpu: info.cpu, cores: info.cores, n: count, seconds, glassbox: { seconds: ours, accuracy: ourAcc, mode: sweep.mode }, torch: peer });
}
images.dispose();
