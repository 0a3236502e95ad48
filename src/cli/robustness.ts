/**
 * `glassbox robustness`: catalogue C5, accuracy under common corruptions (src/xai/robustness):
 * MNIST-C's 15 for the MNIST-like data sets, CIFAR-10-C's 15 otherwise, at the chosen severities,
 * on the first --n validation images. Writes robustness.md and robustness.json (accuracy per
 * corruption and severity, the clean accuracy, the mean over severities 1-5 per corruption),
 * accuracy.png (a curve per corruption), corruptions.png (one image under every corruption
 * and severity) and report.html.
 */
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { makeGrid } from '../viz/grid.ts';
import { linePlot } from '../viz/plot.ts';
import { imageTiles } from '../xai/visualize/features.ts';
import { CORRUPTIONS, corrupt, suiteFor, type CorruptionSuite } from '../xai/robustness/corruptions.ts';
import { corruptionAccuracy, datasetPixels, type CorruptionAccuracy } from '../xai/robustness/accuracy.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

/** '1-5', '0,2,4' or '3' to a sorted list of severities 0-5. */
export function parseSeverities(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim())) {
    const range = /^(\d)(?:-(\d))?$/.exec(part);
    const [lo, hi] = range ? [Number(range[1]), Number(range[2] ?? range[1])] : [NaN, NaN];
    if (!(lo <= hi && hi <= 5)) throw new UsageError(`--severities ${text}: give severities 0-5 as a range '1-5' or a list '0,2,4' (0 is the clean image)`);
    for (let s = lo; s <= hi; s++) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/** 'all' or a comma-separated list, checked against the suite's names. */
export function parseCorruptions(text: string, suite: CorruptionSuite): string[] {
  const known = CORRUPTIONS[suite].map((c) => c.name);
  if (text === 'all') return known;
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new UsageError(`--corruptions: ${unknown.join(', ')} not in ${suite}; choose from ${known.join(', ')} or 'all'`);
  return names;
}

const pct = (a: number) => (100 * a).toFixed(1);

/** Accuracy (%) per corruption (rows) and severity (columns, 0 = clean), with the mean over severities 1-5; the first row is the header. */
function accuracyTable(rows: readonly CorruptionAccuracy[], names: readonly string[], severities: readonly number[], clean: number): string[][] {
  const cell = (name: string, s: number) => rows.find((r) => r.corruption === name && r.severity === s);
  const lines = names.map((name) => {
    const scored = severities.filter((s) => s > 0).map((s) => cell(name, s)!.accuracy);
    const mean = scored.length ? pct(scored.reduce((a, b) => a + b, 0) / scored.length) : '-';
    return [name, ...severities.map((s) => pct(s === 0 ? clean : cell(name, s)!.accuracy)), mean];
  });
  return [['corruption', ...severities.map((s) => `severity ${s}`), 'mean 1-5'], ...lines];
}

export async function robustnessCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const loaded = await loadForVisualization(o);
  if (loaded.dataset === 'unknown') throw new UsageError('--model: the file records no data set; give --dataset');
  const suite = suiteFor(loaded.dataset);
  const names = parseCorruptions(stringOption(o, 'corruptions', 'all'), suite);
  const severities = parseSeverities(stringOption(o, 'severities', '0-5'));
  const n = numberOption(o, 'n', 1000);
  const seed = numberOption(o, 'seed', 0);
  const out = stringOption(o, 'out', `runs/robustness-${loaded.arch}-${loaded.dataset}`);
  const data = await datasetSpec(loaded.dataset).load('validation', n);
  const { mean, std } = loaded.normalization;
  const common = { suite, mean, std, seed, batchSize: numberOption(o, 'batch-size', 250) };
  console.error(`${suite} on ${loaded.arch} (${loaded.dataset}): ${names.length} corruptions x severities ${severities.join(',')} on ${data.n} validation images`);
  const started = performance.now();
  const [clean] = await corruptionAccuracy(loaded.model, data, n, { ...common, corruptions: [names[0]!], severities: [0] });
  const positive = severities.filter((s) => s > 0);
  const progress = new Progress({ label: 'robustness', total: names.length * positive.length, unit: 'run' });
  const rows = positive.length ? await corruptionAccuracy(loaded.model, data, n, { ...common, corruptions: names, severities: positive, onProgress: (done) => progress.update(done) }) : [];
  progress.done({ clean: pct(clean!.accuracy) });
  const seconds = (performance.now() - started) / 1000;

  const output = new CommandOutput(out, `${suite} accuracy of ${loaded.arch} on ${data.n} ${loaded.dataset} validation images`);
  output.table('robustness.md', accuracyTable(rows, names, severities, clean!.accuracy), `accuracy (%) per corruption and severity; severity 0 is the clean accuracy (${pct(clean!.accuracy)}%)`);
  const meanPerCorruption = Object.fromEntries(names.map((name) => {
    const own = rows.filter((r) => r.corruption === name);
    return [name, own.length ? own.reduce((a, r) => a + r.accuracy, 0) / own.length : null];
  }));
  const specs = CORRUPTIONS[suite].filter((c) => names.includes(c.name));
  output.json('robustness.json', {
    model: stringOption(o, 'model', ''),
    arch: loaded.arch,
    dataset: loaded.dataset,
    suite,
    images: data.n,
    seed,
    severities,
    cleanAccuracy: clean!.accuracy,
    accuracy: rows,
    meanAccuracyPerCorruption: meanPerCorruption,
    meanAccuracyOverAll: rows.length ? rows.reduce((a, r) => a + r.accuracy, 0) / rows.length : null,
    corruptions: specs.map((c) => ({ name: c.name, reference: c.reference, approximation: c.approximation ?? null })),
    seconds,
  });
  output.png(
    'accuracy.png',
    linePlot(
      names.map((name) => ({ name, x: [0, ...positive], y: [clean!.accuracy, ...positive.map((s) => rows.find((r) => r.corruption === name && r.severity === s)!.accuracy)] })),
      { title: `${suite}: ${loaded.arch} on ${loaded.dataset}`, xLabel: 'severity', yLabel: 'accuracy', yRange: [0, 1], width: 900, height: 560, legend: 'bottom-left' },
    ),
    'accuracy against severity, one curve per corruption',
  );
  // one image (--index) under every corruption (rows) and severity 0-5 (columns)
  const index = numberOption(o, 'index', 0);
  if (index >= data.n) throw new UsageError(`--index ${index}: only ${data.n} validation images were loaded (--n ${n})`);
  const image = datasetPixels(data, index, index + 1);
  const tiles = [];
  for (const name of names)
    for (let s = 0; s <= 5; s++) {
      const t = corrupt(image, name, s, { suite, seed });
      tiles.push(...(await imageTiles(t)));
      t.dispose();
    }
  image.dispose();
  const scale = Math.max(1, Math.floor(64 / data.height));
  output.png('corruptions.png', makeGrid(tiles, { cols: 6, tileScale: scale, rowTitles: names, colTitles: [0, 1, 2, 3, 4, 5].map((s) => `severity ${s}`), title: `${suite}, validation image ${index}` }), `validation image ${index} under every corruption and severity`);
  output.finish();
  console.error(`clean ${pct(clean!.accuracy)}%, mean under corruption ${rows.length ? pct(rows.reduce((a, r) => a + r.accuracy, 0) / rows.length) : '-'}% (${seconds.toFixed(0)} s); wrote ${out}/robustness.md, robustness.json, accuracy.png, corruptions.png, report.html`);
}
