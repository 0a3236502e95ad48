/**
 * `node scripts/run-ts.mjs bench/embed.ts [-- options]`: PCA and exact t-SNE (issue 17, A6), glassbox
 * against scikit-learn on the CPU (bench/peers/embed_sklearn.py) on the same points, in one run.
 *
 * The points: the first --n MNIST test images as 784-d pixel vectors in [0, 1]. PCA: two components
 * (glassbox's subspace iteration against scikit-learn's full SVD and randomized solver), seconds and
 * the variance found. t-SNE: perplexity 30, --iterations, exaggeration 12 for 250 iterations,
 * learning rate max(N / 48, 50), both started from the same random embedding (glassbox's, sd 1e-4),
 * scikit-learn with method='exact' and early stopping off; seconds and final KL divergence, both
 * KLs also measured by scikit-learn's own float64 P so the comparison does not rest on either
 * implementation's bookkeeping, and the 5-NN accuracy of each map.
 *
 *   --n=N            points (default 2000)
 *   --iterations=N   t-SNE iterations (default 1000)
 *   --no-sklearn     glassbox only
 *   --no-write       print only; leave bench/RESULTS.md and bench/results/ alone
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { init, kernelSubgroupSize, kernelTarget, reshape, tensor } from '../src/index.ts';
import { mnist } from '../src/data/datasets.ts';
import { knnAccuracy } from '../src/xai/representations/knn.ts';
import { PCA } from '../src/xai/representations/pca.ts';
import { TSNE } from '../src/xai/representations/tsne.ts';
import { PYTHON } from './peers/torch.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, textTable, writeJson, writeSection, machineLines } from './report.ts';

const argv = process.argv.slice(2);
const known = /^--(no-sklearn|no-write|n=\d+|iterations=\d+)$/;
for (const a of argv) {
  if (!known.test(a)) {
    console.error(`bench/embed.ts: unknown option '${a}'. Options: --n=N --iterations=N --no-sklearn --no-write`);
    process.exit(2);
  }
}
const option = (name: string, fallback: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const n = option('n', 2000);
const iterations = option('iterations', 1000);
if (n < 100 || iterations < 1) {
  console.error('bench/embed.ts: --n must be at least 100 (perplexity 30) and --iterations at least 1');
  process.exit(2);
}
const PERPLEXITY = 30;
const K = 5;

interface SklearnResult {
  sklearn: string;
  numpy: string;
  pca_full: { seconds: number; explained_variance: number[] };
  pca_randomized: { seconds: number; explained_variance: number[] };
  tsne: { seconds: number; kl: number; kl_recomputed: number; glassbox_kl_under_sklearn_p: number; iterations: number; embedding: number[] };
}

const started = performance.now();
const loadAtStart = loadavg()[0]!;
const { adapter } = await init();
const info = machine();
console.error(`glassbox embed bench: ${adapter.description || adapter.device}; ${info.cpu}, ${info.cores} cores; ${n} MNIST test images, ${iterations} t-SNE iterations`);

const data = await mnist({ split: 'test', limit: n });
const points = reshape(data.images, [n, 784]);
const labels = Array.from(await data.labels.toArray());
const values = Float32Array.from(await points.toArray());

// --- PCA (the first call compiles its kernels: time the second) ---
await new PCA({ components: 2 }).fit(points);
let t0 = performance.now();
const pca = await new PCA({ components: 2 }).fit(points);
const pcaSeconds = (performance.now() - t0) / 1000;
console.error(`pca: glassbox ${fmt(pcaSeconds)} s (${pca.method}, ${pca.iterations} iterations), variance ${Array.from(pca.eigenvalues).map(fmt).join(', ')}`);

// --- t-SNE ---
t0 = performance.now();
const tsne = await new TSNE({ perplexity: PERPLEXITY, iterations, init: 'random', seed: 0, klEvery: 50, onIteration: (it, kl) => kl !== undefined && console.error(`  t-SNE iteration ${it}: KL ${kl.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`) }).fit(points);
const tsneSeconds = (performance.now() - t0) / 1000;
const ours = tensor(tsne.embedding, [n, 2]);
const oursKnn = (await knnAccuracy(ours, labels, K)).accuracy;
ours.dispose();
console.error(`tsne: glassbox ${fmt(tsneSeconds)} s (calibration ${fmt(tsne.seconds.calibration)}), KL ${tsne.kl.toFixed(4)}, ${K}-NN ${oursKnn.toFixed(3)}`);

let peer: SklearnResult | null = null;
if (!argv.includes('--no-sklearn')) {
  const folder = mkdtempSync(join(tmpdir(), 'glassbox-embed-bench-'));
  try {
    writeFileSync(join(folder, 'points.f32'), values);
    writeFileSync(join(folder, 'init.f32'), tsne.initial);
    writeFileSync(join(folder, 'glassbox.f32'), tsne.embedding);
    const task = { folder, n, d: 784, perplexity: PERPLEXITY, iterations, learning_rate: tsne.learningRate };
    const r = spawnSync(PYTHON, [resolve(repoRoot(), 'bench/peers/embed_sklearn.py'), JSON.stringify(task)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) console.error(`bench/embed.ts: the scikit-learn peer failed (run scripts/setup.sh --with-torch, which installs python3-sklearn): ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`);
    else peer = JSON.parse(r.stdout.trim().split('\n').pop()!) as SklearnResult;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
let theirsKnn = NaN;
if (peer) {
  const theirs = tensor(Float32Array.from(peer.tsne.embedding), [n, 2]);
  theirsKnn = (await knnAccuracy(theirs, labels, K)).accuracy;
  theirs.dispose();
  console.error(`pca: scikit-learn full ${fmt(peer.pca_full.seconds)} s, randomized ${fmt(peer.pca_randomized.seconds)} s`);
  console.error(`tsne: scikit-learn ${fmt(peer.tsne.seconds)} s, KL ${peer.tsne.kl.toFixed(4)} (recomputed ${peer.tsne.kl_recomputed.toFixed(4)}); glassbox's map under scikit-learn's P: KL ${peer.tsne.glassbox_kl_under_sklearn_p.toFixed(4)}; ${K}-NN ${theirsKnn.toFixed(3)}`);
}

const seconds = (performance.now() - started) / 1000;
const head = ['run', 'glassbox', 'scikit-learn', 'ratio (glassbox / scikit-learn)'];
const variance = (v: readonly number[] | Float64Array) => Array.from(v).map((x) => x.toFixed(3)).join(', ');
const rows = [
  [`PCA, 2 components of ${n} x 784: seconds (vs full SVD)`, fmt(pcaSeconds), peer ? fmt(peer.pca_full.seconds) : '-', peer ? `${fmt(pcaSeconds / peer.pca_full.seconds)}x time` : '-'],
  [`PCA: seconds (vs randomized SVD)`, fmt(pcaSeconds), peer ? fmt(peer.pca_randomized.seconds) : '-', peer ? `${fmt(pcaSeconds / peer.pca_randomized.seconds)}x time` : '-'],
  ['PCA: variance along the 2 axes', variance(pca.eigenvalues), peer ? variance(peer.pca_full.explained_variance) : '-', peer ? Array.from(pca.eigenvalues).map((v, i) => (v / peer!.pca_full.explained_variance[i]!).toFixed(5)).join(', ') : '-'],
  [`t-SNE exact, perplexity ${PERPLEXITY}, ${iterations} iterations: seconds`, fmt(tsneSeconds), peer ? fmt(peer.tsne.seconds) : '-', peer ? `${fmt(tsneSeconds / peer.tsne.seconds)}x time` : '-'],
  ['t-SNE: final KL, own bookkeeping', tsne.kl.toFixed(4), peer ? peer.tsne.kl.toFixed(4) : '-', peer ? (tsne.kl / peer.tsne.kl).toFixed(3) : '-'],
  ["t-SNE: final KL under scikit-learn's float64 P", peer ? peer.tsne.glassbox_kl_under_sklearn_p.toFixed(4) : '-', peer ? peer.tsne.kl_recomputed.toFixed(4) : '-', peer ? (peer.tsne.glassbox_kl_under_sklearn_p / peer.tsne.kl_recomputed).toFixed(3) : '-'],
  [`t-SNE: ${K}-NN accuracy of the map`, oursKnn.toFixed(3), peer ? theirsKnn.toFixed(3) : '-', peer ? (oursKnn / theirsKnn).toFixed(3) : '-'],
];
console.log(textTable(head, rows));
if (!argv.includes('--no-write')) {
  const date = new Date().toISOString();
  const body = [
    '## Embeddings: PCA and exact t-SNE against scikit-learn (`bench/embed.ts`)',
    '',
    `- date: ${date}`,
    ...machineLines(adapter.description || adapter.device, kernelChoice(kernelTarget(), kernelSubgroupSize()), loadAtStart),
    `- scikit-learn: ${peer ? `${peer.sklearn} (numpy ${peer.numpy}), Debian's python3-sklearn` : 'not run'} (bench/peers/embed_sklearn.py)`,
    `- command: \`node scripts/run-ts.mjs bench/embed.ts${argv.length ? ` ${argv.join(' ')}` : ''}\` (${seconds.toFixed(0)} s)`,
    `- points: the first ${n} MNIST test images, 784 pixels in [0, 1]. PCA: glassbox's covariance by matmul on the GPU and ${pca.method} (${pca.iterations} iterations), the second call timed (the first compiles kernels). t-SNE: exact on both sides (scikit-learn method='exact', early stopping off), perplexity ${PERPLEXITY}, exaggeration 12 for 250 iterations, momentum 0.5 then 0.8, learning rate ${fmt(tsne.learningRate)}, both from glassbox's random start (sd 1e-4); glassbox's seconds include the perplexity calibration (${fmt(tsne.seconds.calibration)} s) and its kernels' first compilation, scikit-learn's its own.`,
    '',
    markdownTable(head, rows),
  ].join('\n');
  writeSection(resolve(repoRoot(), 'bench/RESULTS.md'), 'embed', body);
  writeJson(resolve(repoRoot(), 'bench/results/embed.json'), {
    date, cpu: info.cpu, cores: info.cores, n, iterations, seconds,
    glassbox: { pcaSeconds, pcaVariance: Array.from(pca.eigenvalues), tsneSeconds, calibrationSeconds: tsne.seconds.calibration, kl: tsne.kl, knn: oursKnn, klCurve: tsne.klCurve },
    sklearn: peer && { version: peer.sklearn, pcaFullSeconds: peer.pca_full.seconds, pcaRandomizedSeconds: peer.pca_randomized.seconds, pcaVariance: peer.pca_full.explained_variance, tsneSeconds: peer.tsne.seconds, kl: peer.tsne.kl, klRecomputed: peer.tsne.kl_recomputed, glassboxKlUnderSklearnP: peer.tsne.glassbox_kl_under_sklearn_p, knn: theirsKnn },
  });
}
