/**
 * `glassbox prune`: catalogue D3 and D4 (src/xai/pruning).
 *   --method imp                 lottery tickets: iterative magnitude pruning with rewinding (Frankle &
 *                                Carbin 2019, Frankle et al. 2020), with the controls (the ticket
 *                                re-initialised at random, a random mask of the same sparsity)
 *   --method synflow,snip,...    pruning at initialisation to 10^-a of the weights for each compression
 *                                exponent a, then training (Tanaka et al. 2020); every layer's density
 * Writes into --out, as it goes (a second run with the same options resumes, skipping what is done;
 * OpenLTH's layout): config.json, level_N/{mask.safetensors, main|reinit|random-mask/metrics.json}
 * or <method>/c<a>/{mask.safetensors, metrics.json}; at the end (and after each level or network)
 * prune.json with every number, accuracy.png and the other plots, report.html.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../datasets/io.ts';
import '../index.ts'; // acquires the WebGPU device (top-level await)
import { manualSeed } from '../tensor/ops/creation.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { modelEntry } from '../nn/models/zoo.ts';
import type { Module } from '../nn/module.ts';
import { loadSafetensors, saveSafetensors } from '../nn/safetensors.ts';
import { DataLoader } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { acquireRunLock } from '../train/run-lock.ts';
import { linePlot, type Series } from '../viz/plot.ts';
import { IterativeMagnitudePruning, type ImpLevel } from '../xai/pruning/imp.ts';
import { PruneAtInit } from '../xai/pruning/at-init.ts';
import { PruningMask, prunableWeights, type LayerDensity } from '../xai/pruning/mask.ts';
import { SCORE_METHODS, type ScoreMethod } from '../xai/pruning/scores.ts';
import { impLayerRates } from '../xai/pruning/schedule.ts';
import { loadJson, saveJson, type ExperimentStore } from '../xai/pruning/store.ts';
import { splitDataset, trainIterations, type TrainData, type TrainRecipe, type TrainResult } from '../xai/pruning/train.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';

export { PRUNE_OPTIONS } from './options.ts';

/** A folder as the experiment's store: one file per key, written atomically. */
class FolderStore implements ExperimentStore {
  constructor(readonly dir: string) {}
  async load(key: string): Promise<Uint8Array | undefined> {
    const path = join(this.dir, key);
    return existsSync(path) ? new Uint8Array(await readFile(path)) : undefined;
  }
  save(key: string, bytes: Uint8Array): Promise<void> {
    return writeFileAtomic(join(this.dir, key), bytes);
  }
}

interface PruneConfig {
  model: string;
  dataset: string;
  method: 'imp' | ScoreMethod[];
  rounds: number;
  rate: number;
  global: boolean;
  rewindIteration: number;
  controls: boolean;
  compressions: number[];
  synflowIterations: number;
  recipe: TrainRecipe;
  limit?: number;
  valSize: number;
  testLimit?: number;
  seed: number;
}

/** '0.5-2.5' (steps of 0.5) or '0.5,1,2' to exponents a > 0 (compression 10^a). */
export function parseCompressions(text: string): number[] {
  const range = /^([\d.]+)-([\d.]+)$/.exec(text.trim());
  const values = range ? [] : text.split(',').map((s) => Number(s.trim()));
  if (range) for (let a = Number(range[1]); a <= Number(range[2]) + 1e-9; a += 0.5) values.push(Math.round(a * 1000) / 1000);
  if (!values.length || values.some((a) => !(a > 0 && a <= 6)))
    throw new UsageError(`--compressions ${text}: give compression exponents a in (0, 6] (10^a times fewer weights, so a density of 10^-a in (0, 1)) as 'from-to' (steps of 0.5) or a list '0.5,1,2'`);
  return [...new Set(values)].sort((a, b) => a - b);
}

function methodFrom(text: string): PruneConfig['method'] {
  if (text === 'imp') return 'imp';
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !SCORE_METHODS.includes(n as ScoreMethod));
  if (!text || unknown.length || names.includes('imp'))
    throw new UsageError(`--method ${text}: give 'imp' alone, or one or more of ${SCORE_METHODS.join(', ')} comma-separated`);
  return names as ScoreMethod[];
}

function configFrom(o: ParsedArgs['options']): PruneConfig {
  const model = stringOption(o, 'model', '');
  const dataset = stringOption(o, 'dataset', '');
  if (!model || !dataset) throw new UsageError('prune needs --model and --dataset (e.g. --model lenet-300-100 --dataset mnist)');
  const method = methodFrom(stringOption(o, 'method', ''));
  const recipe = modelEntry(model).recipe;
  const impOnly = ['rounds', 'rate', 'global', 'rewind-iter', 'skip-controls'].filter((n) => o[n] !== undefined);
  const initOnly = ['compressions', 'synflow-iterations'].filter((n) => o[n] !== undefined);
  if (method !== 'imp' && impOnly.length) throw new UsageError(`${impOnly.map((n) => `--${n}`).join(', ')} only apply to --method imp`);
  if (method === 'imp' && initOnly.length) throw new UsageError(`${initOnly.map((n) => `--${n}`).join(', ')} only apply to pruning at initialisation (--method synflow, snip, magnitude or random)`);
  if (o['synflow-iterations'] !== undefined && method !== 'imp' && !method.includes('synflow')) throw new UsageError('--synflow-iterations needs synflow among the --method names');
  const rate = numberOption(o, 'rate', 0.2);
  if (!(rate > 0 && rate < 1)) throw new UsageError(`--rate ${rate}: the fraction of remaining weights pruned per round must be in (0, 1)`);
  const valSize = numberOption(o, 'val-size', 5000);
  const limit = o.limit === undefined ? undefined : numberOption(o, 'limit', 0);
  const batchSize = numberOption(o, 'batch-size', recipe.batchSize);
  const trainImages = (limit ?? 60_000 - valSize);
  const optimizer = stringOption(o, 'optimizer', recipe.optimizer === 'sgd' ? 'sgd' : 'adam') as 'adam' | 'sgd';
  const iterations = numberOption(o, 'iterations', Math.max(1, Math.floor((2 * trainImages) / batchSize)));
  const rewindIteration = numberOption(o, 'rewind-iter', 0);
  if (rewindIteration >= iterations) throw new UsageError(`--rewind-iter ${rewindIteration} must be below --iterations ${iterations} (the rewind point is taken while level 0 trains)`);
  return {
    model,
    dataset,
    method,
    rounds: numberOption(o, 'rounds', 15),
    rate,
    global: o.global === true,
    rewindIteration,
    controls: o['skip-controls'] !== true,
    compressions: parseCompressions(stringOption(o, 'compressions', '0.5-2.5')),
    synflowIterations: numberOption(o, 'synflow-iterations', 100),
    recipe: { iterations, batchSize, optimizer, lr: numberOption(o, 'lr', recipe.lr), momentum: recipe.momentum, weightDecay: recipe.weightDecay, evalEvery: Math.max(1, Math.round(iterations / 20)) },
    limit,
    valSize,
    testLimit: o['test-limit'] === undefined ? undefined : numberOption(o, 'test-limit', 0),
    seed: numberOption(o, 'seed', 0),
  };
}

/**
 * Refuses, before any training, layer-wise rates that would prune a whole layer within --rounds
 * (each round removes round(rate * alive) weights of a layer: the same count PruningMask removes).
 */
function checkNoLayerCollapse(model: Module, c: PruneConfig): void {
  const weights = prunableWeights(model);
  const rates = c.global ? new Map(weights.map(([n]) => [n, c.rate])) : impLayerRates(model, { rate: c.rate, convRate: c.rate / 2 });
  for (const [name, w] of weights) {
    let alive = w.size;
    for (let r = 1; r <= c.rounds; r++) {
      alive -= Math.round(rates.get(name)! * alive);
      if (alive <= 0 && !c.global)
        throw new UsageError(`--rate ${c.rate} with --rounds ${c.rounds} prunes all ${w.size} weights of '${name}' by round ${r} (layer collapse); use a smaller --rate or fewer --rounds`);
    }
  }
}

async function loadData(c: PruneConfig): Promise<TrainData> {
  const spec = datasetSpec(c.dataset);
  const all = await spec.load('train', c.limit === undefined ? undefined : c.limit + c.valSize);
  if (c.valSize >= all.n) throw new UsageError(`--val-size ${c.valSize}: the training split has only ${all.n} images${c.limit ? ` with --limit ${c.limit}` : ''}; hold out fewer`);
  const [train, val] = splitDataset(all, all.n - c.valSize);
  const test = await spec.load('validation', c.testLimit);
  return { train, val, test, mean: spec.mean, std: spec.std };
}

/** A fresh model of the run's architecture, its weights drawn from the generator as it stands. */
function architecture(c: PruneConfig, data: TrainData): Module {
  return modelEntry(c.model).build({ channels: data.train.channels, height: data.train.height, width: data.train.width, classes: data.train.classes.length });
}

function buildModel(c: PruneConfig, data: TrainData, seed: number): Module {
  manualSeed(seed);
  return architecture(c, data);
}

const pct = (v: number) => `${(100 * v).toFixed(2)}`;

export async function pruneCommand(args: ParsedArgs): Promise<void> {
  const c = configFrom(args.options);
  const out = stringOption(args.options, 'out', join('runs', `prune-${c.method === 'imp' ? 'imp' : c.method.join('-')}-${c.model}-${c.dataset}`));
  mkdirSync(out, { recursive: true });
  const configPath = join(out, 'config.json');
  if (existsSync(configPath)) {
    const before = readFileSync(configPath, 'utf8');
    if (before !== JSON.stringify(c, null, 1))
      throw new UsageError(`--out ${out} holds a prune run with other settings (${configPath}); resume it with the same options, or choose another --out.\n  that run: ${before.replace(/\s+/g, ' ')}`);
    console.error(`resuming the prune run in ${out}: finished levels and networks are read back, not trained again`);
  }
  const lock = acquireRunLock(out);
  try {
    const data = await loadData(c);
    const model = buildModel(c, data, c.seed);
    if (c.method === 'imp') checkNoLayerCollapse(model, c);
    await writeFileAtomic(configPath, JSON.stringify(c, null, 1));
    const store = new FolderStore(out);
    console.error(`prune ${c.method === 'imp' ? 'imp' : c.method.join(', ')}: ${c.model} on ${c.dataset}, ${data.train.n} training images (${data.val.n} held out for early stopping), ${data.test.n} test; ${c.recipe.iterations} iterations per network, batch ${c.recipe.batchSize}`);
    if (c.method === 'imp') await runImp(c, model, data, store, out);
    else await runAtInit(c, c.method, model, data, store, out);
  } finally {
    lock.release();
  }
}

// ------------------------------------------------------------------------------------------------
// D3: lottery tickets
// ------------------------------------------------------------------------------------------------

async function runImp(c: PruneConfig, model: Module, data: TrainData, store: FolderStore, out: string): Promise<void> {
  const levels: ImpLevel[] = [];
  const imp = new IterativeMagnitudePruning(model, {
    levels: c.rounds,
    rates: c.global ? { global: c.rate } : { rate: c.rate, convRate: c.rate / 2 },
    rewindIteration: c.rewindIteration,
    recipe: c.recipe,
    data,
    build: () => architecture(c, data),
    branches: c.controls ? ['reinit', 'random-mask'] : [],
    seed: c.seed,
    onLevel: (l) => {
      levels.push(l);
      const line = `level ${l.level}: ${pct(l.density)}% of the weights left: ticket ${pct(l.ticket.testAccuracy)}% (early stop at ${l.ticket.earlyStopIteration})` +
        (l.reinit ? `, reinit ${pct(l.reinit.testAccuracy)}% (${l.reinit.earlyStopIteration})` : '') + (l.randomMask ? `, random mask ${pct(l.randomMask.testAccuracy)}% (${l.randomMask.earlyStopIteration})` : '');
      console.error(line);
      writeImpOutputs(c, levels, out, false);
    },
  });
  await imp.run(store);
  const file = writeImpOutputs(c, levels, out, true);
  console.error(`wrote ${out}/prune.json, accuracy.png, early-stop.png, curves.png, ${file}`);
}

/** The smallest density at which the ticket's test accuracy is still at least the dense network's (minus `slack`). */
function smallestMatching(levels: readonly ImpLevel[], pick: (l: ImpLevel) => TrainResult | undefined, slack: number): number | null {
  const dense = levels[0]!.ticket.testAccuracy;
  const ok = levels.filter((l) => (pick(l)?.testAccuracy ?? -1) >= dense - slack);
  return ok.length ? Math.min(...ok.map((l) => l.density)) : null;
}

/**
 * Speed of learning when training is too short for the validation loss to turn (our budgets are far
 * below the paper's 50k iterations): the first measured iteration at which the validation accuracy
 * reaches the dense network's final one, or null if it never does.
 */
function iterationsToReach(r: TrainResult, target: number): number | null {
  return r.curve.find((p) => p.valAccuracy >= target)?.iteration ?? null;
}

function writeImpOutputs(c: PruneConfig, levels: readonly ImpLevel[], out: string, final: boolean): string {
  const output = new CommandOutput(out, `Lottery tickets: ${c.model} on ${c.dataset}`);
  const denseVal = levels[0] ? levels[0].ticket.curve[levels[0].ticket.curve.length - 1]!.valAccuracy : 1;
  const branchNames: Array<[string, (l: ImpLevel) => TrainResult | undefined]> = [
    ['winning ticket', (l) => l.ticket],
    ['random reinit', (l) => l.reinit],
    ['random mask', (l) => l.randomMask],
  ];
  const series = (value: (r: TrainResult) => number): Series[] =>
    branchNames
      .map(([name, pick]) => {
        const ls = levels.filter((l) => pick(l));
        return { name, x: ls.map((l) => 100 * l.density), y: ls.map((l) => value(pick(l)!)) };
      })
      .filter((s) => s.y.length);
  const summary = {
    denseTestAccuracy: levels[0]?.ticket.testAccuracy,
    smallestDensityMatchingDense: { ticket: smallestMatching(levels, (l) => l.ticket, 0), reinit: smallestMatching(levels, (l) => l.reinit, 0), randomMask: smallestMatching(levels, (l) => l.randomMask, 0) },
    smallestDensityWithin1Point: { ticket: smallestMatching(levels, (l) => l.ticket, 0.01), reinit: smallestMatching(levels, (l) => l.reinit, 0.01), randomMask: smallestMatching(levels, (l) => l.randomMask, 0.01) },
  };
  output.report.paragraph(
    `Iterative magnitude pruning (${c.global ? `global, ${100 * c.rate}% of the remaining weights per level` : `layer-wise: ${100 * c.rate}% of each layer's remaining weights per round, the output layer ${50 * c.rate}%, conv layers ${50 * c.rate}%`}), ` +
      `survivors rewound to ${c.rewindIteration ? `iteration ${c.rewindIteration}` : 'their initial values'}; ${c.recipe.iterations} iterations of ${c.recipe.optimizer} (lr ${c.recipe.lr}, batch ${c.recipe.batchSize}) per network. ` +
      `Controls: the same mask with a fresh random initialisation (random reinit), and a random mask with the same number of weights per layer (random mask). ` +
      `Dense test accuracy ${levels[0] ? pct(levels[0].ticket.testAccuracy) : '-'}%; the ticket matches it down to ${summary.smallestDensityMatchingDense.ticket === null ? '-' : pct(summary.smallestDensityMatchingDense.ticket)}% of the weights, the reinitialised control down to ${summary.smallestDensityMatchingDense.reinit === null ? '-' : pct(summary.smallestDensityMatchingDense.reinit)}%.${final ? '' : ' (in progress)'}`,
  );
  output.png('accuracy.png', linePlot(series((r) => r.testAccuracy), { title: `${c.model} on ${c.dataset}: test accuracy after training`, xLabel: 'weights left (%), log scale', yLabel: 'test accuracy', logX: true, width: 900, height: 520, legend: 'bottom-right' }), 'test accuracy against the percentage of weights left (Frankle & Carbin, Figure 3/4)');
  output.png('early-stop.png', linePlot(series((r) => r.earlyStopIteration), { title: 'early-stopping iteration (minimum validation loss)', xLabel: 'weights left (%), log scale', yLabel: 'iteration', logX: true, width: 900, height: 520 }), 'the iteration of minimum validation loss: lower trains faster');
  // validation accuracy during training at a few levels (the paper's Figure 3 left)
  const shown = levels.filter((l, i) => i === 0 || i === levels.length - 1 || [0.51, 0.21, 0.07, 0.036].some((d) => Math.abs(Math.log(l.density / d)) < 0.1));
  output.png(
    'curves.png',
    linePlot(
      shown.flatMap((l) => [
        { name: `ticket ${pct(l.density)}%`, x: l.ticket.curve.map((p) => p.iteration), y: l.ticket.curve.map((p) => p.valAccuracy) },
        ...(l.reinit ? [{ name: `reinit ${pct(l.density)}%`, x: l.reinit.curve.map((p) => p.iteration), y: l.reinit.curve.map((p) => p.valAccuracy), dashed: true }] : []),
      ]),
      { title: 'validation accuracy during training', xLabel: 'iteration', yLabel: 'validation accuracy', width: 900, height: 520, legend: 'bottom-right' },
    ),
    'validation accuracy against training iteration at a few levels: tickets (solid) and their random reinitialisation (dashed)',
  );
  output.png(
    'speed.png',
    linePlot(
      series((r) => iterationsToReach(r, denseVal) ?? NaN),
      { title: `iterations until the validation accuracy reaches the dense network's final ${pct(denseVal)}%`, xLabel: 'weights left (%), log scale', yLabel: 'iteration', logX: true, width: 900, height: 520 },
    ),
    "how fast each network learns: the first iteration at which its validation accuracy reaches the dense network's final one (missing: never within the budget)",
  );
  const cell = (r: TrainResult | undefined) => (r ? [pct(r.testAccuracy), String(r.earlyStopIteration), String(iterationsToReach(r, denseVal) ?? '-')] : ['-', '-', '-']);
  const rows = levels.map((l) => [String(l.level), pct(l.density), ...branchNames.flatMap(([, pick]) => cell(pick(l)))]);
  const cols = (b: string) => [`${b} acc %`, `${b} early stop`, `${b} its to dense`];
  output.table('levels.md', [['level', 'weights left %', ...cols('ticket'), ...cols('reinit'), ...cols('random mask')], ...rows], `test accuracy after training, early-stopping iteration (minimum validation loss), and the first iteration with validation accuracy >= the dense network's final ${pct(denseVal)}%, per level`);
  const withSpeed = (r: TrainResult | undefined) => (r ? { ...r, iterationsToDenseAccuracy: iterationsToReach(r, denseVal) } : undefined);
  output.json('prune.json', { command: 'prune', method: 'imp', config: c, summary: { ...summary, denseFinalValAccuracy: denseVal }, levels: levels.map((l) => ({ ...l, ticket: withSpeed(l.ticket), reinit: withSpeed(l.reinit), randomMask: withSpeed(l.randomMask) })), finished: final });
  return output.finish();
}

// ------------------------------------------------------------------------------------------------
// D4: pruning at initialisation
// ------------------------------------------------------------------------------------------------

interface AtInitRecord {
  method: ScoreMethod;
  compression: number;
  exponent: number;
  density: number;
  layers: LayerDensity[];
  collapsed: string[];
  /** Seconds the pruning took. */
  pruneSeconds: number;
  result?: TrainResult;
}

/** Exponents of the untrained layer-collapse sweep: the masks alone, beyond the largest trained one, to 10^4. */
const SWEEP = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4];

async function runAtInit(c: PruneConfig, methods: ScoreMethod[], model: Module, data: TrainData, store: FolderStore, out: string): Promise<void> {
  let init = await store.load('init.safetensors');
  if (!init) await store.save('init.safetensors', (init = await saveSafetensors(model)));
  const inputShape = [data.train.channels, data.train.height, data.train.width];
  const snipLoader = new DataLoader(data.train, { batchSize: c.recipe.batchSize, shuffle: true, seed: c.seed + 77, keepLast: false, mean: data.mean, std: data.std });
  const records: AtInitRecord[] = [];
  const sweep: AtInitRecord[] = [];
  const prune = async (method: ScoreMethod, exponent: number, train: boolean): Promise<AtInitRecord> => {
    const key = `${method}/c${exponent}`;
    const done = await loadJson<AtInitRecord>(store, `${key}/${train ? 'metrics' : 'mask-only'}.json`);
    if (done) return done;
    loadSafetensors(model, init);
    PruningMask.remove(model);
    const started = performance.now();
    const pruner = new PruneAtInit(model, {
      method,
      inputShape,
      iterations: c.synflowIterations,
      // SNIP scores on one batch, as Lee et al.
      batches: () => [snipLoader.batches(0).next().value!],
      loss: (l, y) => crossEntropy(l, y),
      seed: c.seed + 5,
    });
    const mask = await pruner.prune(10 ** -exponent);
    const record: AtInitRecord = { method, compression: 10 ** exponent, exponent, density: mask.density(), layers: mask.layers(), collapsed: mask.collapsedLayers(), pruneSeconds: (performance.now() - started) / 1000 };
    if (train) {
      record.result = await trainIterations(model, data, c.recipe, { seed: c.seed, label: `${method} 10^${exponent} (${record.collapsed.length ? `collapsed: ${record.collapsed.join(', ')}` : 'every layer alive'})` });
      await store.save(`${key}/mask.safetensors`, mask.toSafetensors({ method, exponent: String(exponent) }));
    }
    await saveJson(store, `${key}/${train ? 'metrics' : 'mask-only'}.json`, record);
    PruningMask.remove(model);
    return record;
  };
  // the dense network, trained once: the reference line
  let dense = await loadJson<TrainResult>(store, 'dense/metrics.json');
  if (!dense) {
    loadSafetensors(model, init);
    dense = await trainIterations(model, data, c.recipe, { seed: c.seed, label: 'dense' });
    await saveJson(store, 'dense/metrics.json', dense);
  }
  for (const exponent of c.compressions)
    for (const method of methods) {
      const r = await prune(method, exponent, true);
      records.push(r);
      console.error(`${method} at compression 10^${exponent}: ${r.collapsed.length ? `layer collapse (${r.collapsed.join(', ')})` : 'every layer alive'}, test accuracy ${pct(r.result!.testAccuracy)}%`);
      writeAtInitOutputs(c, methods, dense, records, sweep, out, false);
    }
  for (const method of methods)
    for (const exponent of SWEEP.filter((a) => a > c.compressions[c.compressions.length - 1]!)) {
      const r = await prune(method, exponent, false);
      sweep.push(r);
    }
  const file = writeAtInitOutputs(c, methods, dense, records, sweep, out, true);
  console.error(`wrote ${out}/prune.json, accuracy.png, layer-density.png, ${file}`);
}

function writeAtInitOutputs(c: PruneConfig, methods: ScoreMethod[], dense: TrainResult, records: AtInitRecord[], sweep: AtInitRecord[], out: string, final: boolean): string {
  const output = new CommandOutput(out, `Pruning at initialisation: ${c.model} on ${c.dataset}`);
  const all = [...records, ...sweep];
  const highestAlive = Object.fromEntries(
    methods.map((m) => {
      const mine = all.filter((r) => r.method === m).sort((a, b) => a.exponent - b.exponent);
      const firstCollapse = mine.find((r) => r.collapsed.length);
      const alive = mine.filter((r) => !r.collapsed.length && (!firstCollapse || r.exponent < firstCollapse.exponent));
      return [m, { highestCompressionAllLayersAlive: alive.length ? alive[alive.length - 1]!.compression : null, exponent: alive.length ? alive[alive.length - 1]!.exponent : null, firstCollapse: firstCollapse ? { exponent: firstCollapse.exponent, layers: firstCollapse.collapsed } : null, testedUpTo: mine.length ? mine[mine.length - 1]!.exponent : null }];
    }),
  );
  output.report.paragraph(
    `Each method prunes the same initialisation to a density of 10^-a of the ${c.model}'s prunable weights (biases are kept), then the network trains for ${c.recipe.iterations} iterations (${c.recipe.optimizer}, lr ${c.recipe.lr}, batch ${c.recipe.batchSize}). ` +
      `SynFlow: ${c.synflowIterations} iterations, exponential schedule, no data (an all-ones input to the network with |w| and no biases; each layer's output divided by its detached mean so that float32 neither overflows nor underflows, which scales every score by the same number). SNIP: one batch. ` +
      `Dense test accuracy ${pct(dense.testAccuracy)}%. Masks alone (no training) were also computed up to 10^4 to find where each method first prunes a whole layer. ` +
      methods.map((m) => `${m}: every layer alive up to 10^${highestAlive[m]!.exponent ?? '-'}${highestAlive[m]!.firstCollapse ? `, collapse at 10^${highestAlive[m]!.firstCollapse.exponent}` : ` (tested to 10^${highestAlive[m]!.testedUpTo})`}`).join('; ') +
      (final ? '.' : '. (in progress)'),
  );
  output.png(
    'accuracy.png',
    linePlot(
      [
        ...methods.map((m) => {
          const mine = records.filter((r) => r.method === m);
          return { name: m, x: mine.map((r) => r.compression), y: mine.map((r) => r.result!.testAccuracy) };
        }),
        { name: 'dense', x: [10 ** c.compressions[0]!, 10 ** c.compressions[c.compressions.length - 1]!], y: [dense.testAccuracy, dense.testAccuracy], dashed: true },
      ],
      { title: `${c.model} on ${c.dataset}: pruned at initialisation, then trained`, xLabel: 'compression ratio (log scale)', yLabel: 'test accuracy', logX: true, width: 900, height: 520, legend: 'bottom-left' },
    ),
    'test accuracy against compression ratio (Tanaka et al. Figure 6)',
  );
  output.png(
    'layer-density.png',
    linePlot(
      methods.map((m) => {
        const mine = all.filter((r) => r.method === m).sort((a, b) => a.exponent - b.exponent);
        // the emptiest layer's density; 1e-7 stands for 0 (a collapsed layer) on the log axis
        return { name: m, x: mine.map((r) => r.compression), y: mine.map((r) => Math.max(1e-7, Math.min(...r.layers.map((l) => l.density)))) };
      }),
      { title: 'the emptiest layer: its fraction of weights left (1e-7 = collapsed)', xLabel: 'compression ratio (log scale)', yLabel: 'density of the emptiest layer', logX: true, logY: true, width: 900, height: 520, legend: 'bottom-left' },
    ),
    'density of the most-pruned layer against compression; a drop to the floor is layer collapse',
  );
  const rows = records.map((r) => [r.method, `10^${r.exponent}`, pct(r.density), r.layers.map((l) => pct(l.density)).join(' / '), r.collapsed.join(', ') || '-', pct(r.result!.testAccuracy)]);
  output.table('results.md', [['method', 'compression', 'weights left %', 'per layer %', 'collapsed layers', 'test acc %'], ...rows], `per method and compression: density of each layer (${records[0]?.layers.map((l) => l.name).join(' / ') ?? ''}) and test accuracy after training`);
  output.json('prune.json', { command: 'prune', method: methods, config: c, dense, highestCompressionAllLayersAlive: highestAlive, trained: records, maskOnly: sweep, finished: final });
  return output.finish();
}
