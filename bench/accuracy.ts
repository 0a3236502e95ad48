/**
 * `npm run bench:accuracy [-- options]`: the accuracy targets of the CNN issue, trained with the
 * same `glassbox train` command a user runs, one recipe per row; test (or validation) accuracy,
 * epochs, wall time and images/s go to bench/RESULTS.md (the `accuracy` section) and
 * bench/results/accuracy.json.
 *
 *   --only=mnist-cnn/mnist,...   recipes to run (model/dataset, every epoch count listed for it); default: all
 *   --collect                    train nothing: report the runs already in the run folders
 *   --runs=DIR                   where the run folders go (default runs/accuracy)
 *   --no-write                   print only
 *
 * The report keeps every recipe's latest result: rows of recipes not run this time are carried
 * over from bench/results/accuracy.json with the date they were measured.
 * Each recipe trains into its own folder, named after the recipe. A folder that holds a finished
 * run of the recipe is reported as it is; one that holds an unfinished run is resumed from its
 * last checkpoint (`train --resume`), so an interrupted benchmark continues where it stopped.
 * These are long runs on a CPU-backed adapter: on the reference machine (2 cores, lavapipe) the
 * training benchmark's steps run the MNIST CNN at ~240 images/s (~4 min an epoch) and the
 * CIFAR-10 net at ~60 (~14 min an epoch, so its recipe has 6 epochs: under 1.5 hours), so the
 * whole list takes hours; pick rows with --only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { machine, markdownTable, repoRoot, textTable, writeJson, writeSection } from './report.ts';

interface Recipe {
  model: string;
  dataset: string;
  epochs: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  schedule: 'none' | 'step' | 'cosine' | 'onecycle';
  batchSize: number;
  momentum?: number;
  weightDecay?: number;
  /** `train --shift`: random translation of training images by up to this many pixels. */
  shift?: number;
  seed: number;
  /** The issue's target, as a fraction, and how it is phrased there. */
  target: number;
  targetText: string;
}

const RECIPES: Recipe[] = [
  { model: 'mnist-cnn', dataset: 'mnist', epochs: 3, optimizer: 'adam', lr: 1e-3, schedule: 'cosine', batchSize: 64, seed: 1, target: 0.99, targetText: '>= 99.0%' },
  { model: 'mnist-cnn', dataset: 'fashion-mnist', epochs: 2, optimizer: 'adam', lr: 1e-3, schedule: 'cosine', batchSize: 64, seed: 1, target: 0.9, targetText: '>= 90%' },
  { model: 'mixture-net', dataset: 'mnist-mixture', epochs: 15, optimizer: 'adam', lr: 3e-3, schedule: 'cosine', batchSize: 64, seed: 1, target: 0.917, targetText: 'near 91.7% (seminar slides, 20,000 training images)' },
  { model: 'mixture-net', dataset: 'mnist-mixture', epochs: 20, optimizer: 'adam', lr: 3e-3, schedule: 'cosine', batchSize: 64, seed: 1, target: 0.917, targetText: 'near 91.7% (seminar slides, 20,000 training images)' },
  { model: 'mixture-net', dataset: 'mnist-mixture', epochs: 30, optimizer: 'adam', lr: 3e-3, schedule: 'cosine', batchSize: 64, shift: 4, seed: 1, target: 0.917, targetText: 'near 91.7% (seminar slides, 20,000 training images)' },
  { model: 'mixture-net', dataset: 'mnist-mixture', epochs: 30, optimizer: 'adam', lr: 3e-3, schedule: 'cosine', batchSize: 32, shift: 4, seed: 2, target: 0.917, targetText: 'near 91.7% (seminar slides, 20,000 training images)' },
  { model: 'mixture-net', dataset: 'mnist-mixture', epochs: 20, optimizer: 'adam', lr: 3e-3, schedule: 'onecycle', batchSize: 32, shift: 4, seed: 2, target: 0.917, targetText: 'near 91.7% (seminar slides, 20,000 training images)' },
  { model: 'cifar-net', dataset: 'cifar10', epochs: 6, optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: 'onecycle', batchSize: 64, seed: 1, target: 0.8, targetText: '>= 80% on the 1,000 test images' },
];

const argv = process.argv.slice(2);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
for (const a of argv) {
  if (!/^--(collect|no-write|only=[a-z0-9,/-]+|runs=.+)$/.test(a)) {
    console.error(`bench/accuracy.ts: unknown option '${a}'. Options: --only=mnist-cnn/mnist,... --collect --runs=DIR --no-write`);
    process.exit(2);
  }
}
const ROOT = repoRoot();
const runsDir = resolve(ROOT, option('runs') ?? 'runs/accuracy');
const only = option('only')?.split(',');
const recipeName = (r: Recipe) => `${r.model}/${r.dataset}`;
if (only) {
  const unknown = only.filter((name) => !RECIPES.some((r) => recipeName(r) === name));
  if (unknown.length) {
    console.error(`bench/accuracy.ts: no recipe ${unknown.join(', ')}. Recipes: ${RECIPES.map(recipeName).join(', ')}`);
    process.exit(2);
  }
}
const selected = RECIPES.filter((r) => !only || only.includes(recipeName(r)));

function trainArgs(r: Recipe, out: string): string[] {
  const args = ['train', '--model', r.model, '--dataset', r.dataset, '--epochs', String(r.epochs), '--optimizer', r.optimizer, '--lr', String(r.lr), '--schedule', r.schedule, '--batch-size', String(r.batchSize), '--seed', String(r.seed)];
  if (r.momentum !== undefined) args.push('--momentum', String(r.momentum));
  if (r.weightDecay !== undefined) args.push('--weight-decay', String(r.weightDecay));
  if (r.shift !== undefined) args.push('--shift', String(r.shift));
  return [...args, '--out', out];
}

function folderFor(r: Recipe): string {
  const extras = `${r.momentum !== undefined ? `-m${r.momentum}` : ''}${r.weightDecay !== undefined ? `-wd${r.weightDecay}` : ''}${r.shift !== undefined ? `-shift${r.shift}` : ''}`;
  return resolve(runsDir, `${r.model}-${r.dataset}-${r.optimizer}-lr${r.lr}${extras}-${r.schedule}-bs${r.batchSize}-e${r.epochs}-s${r.seed}`);
}

/** The command a user types to reproduce a recipe's run. */
function commandFor(r: Recipe): string {
  return `node bin/glassbox.mjs ${trainArgs(r, `runs/accuracy/${folderFor(r).split('/').pop()}`).join(' ')}`;
}

interface Metrics {
  validation: string;
  note?: string;
  epochs: Array<{ epoch: number; valAccuracy?: number; seconds: number; imagesPerSecond: number }>;
}

function readMetrics(dir: string): Metrics | undefined {
  const path = resolve(dir, 'metrics.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Metrics) : undefined;
}

function train(r: Recipe, dir: string): void {
  const done = readMetrics(dir)?.epochs.length ?? 0;
  if (done >= r.epochs) return;
  const resume = existsSync(resolve(dir, 'checkpoint.json'));
  const args = resume ? ['train', '--resume', dir, '--epochs', String(r.epochs)] : trainArgs(r, dir);
  console.error(`\n== ${recipeName(r)}: ${resume ? `resuming after epoch ${done}` : 'training'}: glassbox ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [resolve(ROOT, 'bin/glassbox.mjs'), ...args], { stdio: 'inherit', cwd: ROOT });
  if (result.status !== 0) throw new Error(`bench/accuracy.ts: training ${recipeName(r)} failed (exit ${result.status}); its folder is ${dir}`);
}

interface Row {
  recipe: Recipe;
  folder: string;
  command: string;
  epochsDone: number;
  split?: string;
  note?: string;
  accuracy?: number;
  bestAccuracy?: number;
  trainSeconds?: number;
  imagesPerSecond?: number;
  /** When the run was measured (YYYY-MM-DD), and by which session if not this one. */
  measured: string;
}

const started = Date.now();
const today = new Date().toISOString().slice(0, 10);
const jsonPath = resolve(ROOT, 'bench/results/accuracy.json');
type SavedRow = Recipe & Omit<Row, 'recipe' | 'folder'>;
const saved: SavedRow[] = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { rows: SavedRow[] }).rows : [];
const measuredNow: Row[] = [];
for (const r of selected) {
  const dir = folderFor(r);
  if (!argv.includes('--collect')) train(r, dir);
  const m = readMetrics(dir);
  const accuracies = m?.epochs.map((e) => e.valAccuracy ?? NaN) ?? [];
  measuredNow.push({
    recipe: r,
    measured: today,
    folder: dir,
    command: commandFor(r),
    epochsDone: m?.epochs.length ?? 0,
    split: m?.validation,
    note: m?.note,
    accuracy: accuracies.at(-1),
    bestAccuracy: accuracies.length ? Math.max(...accuracies) : undefined,
    trainSeconds: m?.epochs.reduce((s, e) => s + e.seconds, 0),
    imagesPerSecond: m?.epochs.length ? m.epochs.reduce((s, e) => s + e.imagesPerSecond, 0) / m.epochs.length : undefined,
  });
}
// Every recipe's newest row: this run's if its folder holds a run, else the saved one with the
// same command, else a 'not run' row.
const rows: Row[] = RECIPES.map((r) => {
  const fresh = measuredNow.find((row) => row.recipe === r);
  if (fresh && fresh.epochsDone > 0) return fresh;
  const old = saved.find((row) => row.command === commandFor(r));
  if (old) return { ...old, recipe: r, folder: folderFor(r) };
  return { recipe: r, folder: folderFor(r), command: commandFor(r), epochsDone: 0, measured: '-' };
});

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(2)}%`);
const verdict = (row: Row) => {
  if (row.accuracy === undefined) return 'not run';
  if (row.epochsDone < row.recipe.epochs) return `partial (${row.epochsDone}/${row.recipe.epochs} epochs)`;
  return row.accuracy >= row.recipe.target ? 'met' : 'not met';
};
const head = ['model', 'dataset', 'recipe', 'epochs', 'accuracy (split)', 'best epoch', 'target', 'verdict', 'train time', 'img/s', 'measured'];
const table = rows.map((row) => {
  const r = row.recipe;
  return [
    r.model,
    r.dataset,
    `${r.optimizer} lr ${r.lr}${r.momentum !== undefined ? ` m ${r.momentum}` : ''}${r.weightDecay !== undefined ? ` wd ${r.weightDecay}` : ''}, ${r.schedule}, batch ${r.batchSize}${r.shift !== undefined ? `, shift ${r.shift}` : ''}, seed ${r.seed}`,
    `${row.epochsDone}/${r.epochs}`,
    row.accuracy === undefined ? '-' : `${pct(row.accuracy)} (${row.split})`,
    pct(row.bestAccuracy),
    r.targetText,
    verdict(row),
    row.trainSeconds === undefined ? '-' : `${(row.trainSeconds / 60).toFixed(1)} min`,
    row.imagesPerSecond === undefined ? '-' : row.imagesPerSecond.toFixed(1),
    row.measured,
  ];
});
console.log(`\n${textTable(head, table)}`);

if (!argv.includes('--no-write')) {
  const info = machine();
  const notes = [...new Set(rows.map((r) => r.note).filter(Boolean))];
  const md = [
    '## Accuracy targets (`bench/accuracy.ts`)',
    '',
    `- machine: ${info.cpu}, ${info.cores} cores; Node ${process.versions.node}`,
    `- command: \`npm run bench:accuracy -- --only=<model/dataset>\` for the rows measured on the date given; each row is one \`glassbox train\` run (command below), accuracy after its last epoch on the split named`,
    ...notes.map((n) => `- note: ${n}`),
    '',
    markdownTable(head, table),
    '',
    'Commands (each row\'s run folder holds its checkpoint, metrics.json and curves.png):',
    '',
    ...rows.map((row) => `- ${recipeName(row.recipe)}: \`${row.command}\``),
  ].join('\n');
  writeSection(resolve(ROOT, 'bench/RESULTS.md'), 'accuracy', md);
  writeJson(jsonPath, { rows: rows.map(({ recipe, folder, ...rest }) => ({ ...recipe, ...rest })) });
}
console.error(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
