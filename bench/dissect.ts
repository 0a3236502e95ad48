/**
 * `node scripts/run-ts.mjs bench/dissect.ts [-- --n=N --no-torch --no-write]`: network dissection
 * of conv3 (features.7, the ReLU map) of the mixture net (the committed fixture
 * tests/fixtures/models/mixture-net.safetensors) over the 20,000 mnist-mixture training images, one
 * pass with UnitDissection (per-image maxima, detector scores, exact top-0.5% quantiles, IoU with
 * the digit masks), against the same pass in PyTorch on the CPU (bench/peers/dissect_torch.py,
 * which keeps every map and takes torch.topk), in one run. Also checks that both give the same
 * thresholds and IoUs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as gb from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import type { MixtureDataset } from '../datasets/mixture-mnist.ts';
import { digitConcepts } from '../src/xai/units/concepts.ts';
import { UnitDissection } from '../src/xai/units/dissection.ts';
import { trainedModel } from '../tests/trained-models.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, machine, markdownTable, repoRoot, textTable, writeJson, writeSection } from './report.ts';

const argv = process.argv.slice(2);
for (const a of argv)
  if (!/^--(no-torch|no-write|n=\d+)$/.test(a)) {
    console.error(`bench/dissect.ts: unknown option '${a}'. Options: --n=N --no-torch --no-write`);
    process.exit(2);
  }
const n = Number(argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 20000);
const QUANTILE = 0.005;
const LAYER = 'features.7';
const BATCH = 128;
const loadAtStart = loadavg()[0]!;
const info = machine();

const { model, mean, std } = await trainedModel('mixture-net');
const data = (await loadDataset('mnist-mixture', { split: 'train', n, masks: true })) as MixtureDataset;
const hw = data.height * data.width;
const source = { count: n, height: data.height, width: data.width, chunk: (s: number, e: number) => gb.tensor(Float32Array.from(data.images.subarray(s * hw, e * hw), (v) => v / 255), [e - s, 1, data.height, data.width]) };

const started = performance.now();
const [glassbox] = await new UnitDissection(model, { layers: [LAYER], quantile: QUANTILE, batchSize: BATCH, normalization: { mean, std } }).dissect(source, digitConcepts(data));
const seconds = (performance.now() - started) / 1000;
console.log(`glassbox: ${seconds.toFixed(1)} s`);

interface TorchResult { seconds: number; thresholds: number[]; iou: number[][]; torch: string; threads: number }
let torch: TorchResult | undefined;
if (!argv.includes('--no-torch')) {
  const dir = mkdtempSync(join(tmpdir(), 'dissect-bench-'));
  try {
    writeFileSync(join(dir, 'images.u8'), data.images);
    writeFileSync(join(dir, 'masks.u8'), data.masks);
    writeFileSync(join(dir, 'digits.u8'), data.digits);
    const params: Record<string, number[]> = {};
    for (const [name, p] of model.namedParameters()) {
      writeFileSync(join(dir, `${name}.f32`), new Uint8Array((await p.toArray() as Float32Array).buffer));
      params[name] = [...p.shape];
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n, height: data.height, width: data.width, slots: data.slots, params, mean: mean[0], std: std[0], quantile: QUANTILE, batch: BATCH }));
    const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/dissect_torch.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
    if (r.status !== 0) throw new Error(`bench/peers/dissect_torch.py failed: ${r.stderr || r.error?.message}`);
    torch = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const thresholdDiff = torch ? Math.max(...glassbox!.iou.map((u, c) => Math.abs(u.threshold - torch!.thresholds[c]!) / Math.max(1, Math.abs(u.threshold)))) : NaN;
const iouDiff = torch ? Math.max(...glassbox!.iou.flatMap((u, c) => u.iou.map((v, k) => Math.abs(v - torch!.iou[c]![k]!)))) : NaN;
const head = ['pass', 'glassbox s', 'torch s', 'glassbox / torch time', 'max rel. threshold diff', 'max IoU diff'];
const rows = [[`conv3 (${LAYER}) of mixture-net, ${n} images, top ${QUANTILE * 100}%`, fmt(seconds), torch ? fmt(torch.seconds) : '-', torch ? `${fmt(seconds / torch.seconds)}x` : '-', fmt(thresholdDiff), fmt(iouDiff)]];
console.log(textTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const body = [
    '## Network dissection (`bench/dissect.ts`)',
    '',
    `- date: ${date}`,
    `- machine: ${info.cpu}, ${info.cores} cores; Node ${process.versions.node}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (above ${info.cores}: other jobs shared the cores, so the absolute seconds move from run to run; the ratio is the figure to read)`,
    `- torch: ${torch ? `PyTorch ${torch.torch}, ${torch.threads} threads, OMP_WAIT_POLICY=PASSIVE` : 'not run'} (bench/peers/dissect_torch.py: the same forward in batches of ${BATCH}, every conv3 map kept, torch.topk for the quantiles, F.interpolate + einsum for the IoUs, the rankings for precision@K and AUC)`,
    `- command: \`node scripts/run-ts.mjs bench/dissect.ts${argv.length ? ` ${argv.join(' ')}` : ''}\``,
    '- the pass: the committed fixture mixture-net (50.8%), its conv3 ReLU map (10 x 14 x 14) for every image; per-image maxima and the detector scores; the exact top-0.5% value of each unit over all images and positions; the map upsampled to 56 x 56 and its IoU with each digit\'s masks. glassbox does it in one streaming pass (a top-K heap and the candidate cells per unit), PyTorch with every map in memory.',
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'dissect', body);
  writeJson(resolve(repoRoot(), 'bench/results/dissect.json'), { date, cpu: info.cpu, cores: info.cores, n, glassbox: seconds, torch: torch?.seconds, thresholdDiff, iouDiff });
}
