/**
 * `glassbox connect`: D2 mode connectivity (src/xai/weightspace) between two trained nets of one
 * architecture: loss and accuracy along the straight line, a trained quadratic Bezier curve, a
 * trained polygonal chain, and the straight line after Git Re-Basin weight matching. Writes
 * paths.png (test loss and accuracy along every path), connect.json (every point), barriers.md
 * and report.html, and prints each path's barrier.
 */
import { DataLoader } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { linePlot } from '../viz/plot.ts';
import { makeGrid } from '../viz/grid.ts';
import { hasBatchNorm } from '../xai/weightspace/batchnorm-stats.ts';
import { CONNECT_PATHS, ModeConnectivity, type ConnectPathName } from '../xai/weightspace/connectivity.ts';
import { readState } from '../xai/weightspace/state.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadTrained, type LoadedModel } from './explain-setup.ts';

/** Net A and net B (run folders, or .safetensors with --arch and --dataset), which must share architecture and data set. */
export async function loadPair(o: ParsedArgs['options']): Promise<{ a: LoadedModel; b: LoadedModel; input: number[] }> {
  if (o['model-a'] === undefined || o['model-b'] === undefined) throw new UsageError('give both nets: --model-a <run folder> --model-b <run folder> (two trainings of one architecture, e.g. with --seed 1 and --seed 2)');
  const a = await loadTrained(stringOption(o, 'model-a', ''), o.arch as string | undefined, o.dataset as string | undefined);
  const b = await loadTrained(stringOption(o, 'model-b', ''), o.arch as string | undefined, o.dataset as string | undefined);
  if (a.arch !== b.arch) throw new UsageError(`--model-a is a ${a.arch} and --model-b a ${b.arch}: the two nets must have one architecture`);
  if (a.dataset !== b.dataset) throw new UsageError(`--model-a was trained on ${a.dataset} and --model-b on ${b.dataset}: give two nets of one data set (or --dataset)`);
  const probe = await datasetSpec(a.dataset).load('validation', 1);
  return { a, b, input: [probe.channels, probe.height, probe.width] };
}

export function parsePaths(text: string): ConnectPathName[] {
  if (text === 'all') return [...CONNECT_PATHS];
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(CONNECT_PATHS as readonly string[]).includes(n));
  if (unknown.length) throw new UsageError(`--paths: unknown ${unknown.join(', ')}; choose from ${CONNECT_PATHS.join(', ')} or 'all'`);
  if (!names.includes('line')) throw new UsageError("--paths must include 'line' (the barrier every other path is compared with)");
  return names as ConnectPathName[];
}

const LABEL: Record<ConnectPathName, string> = { line: 'straight line', bezier: 'Bezier curve (trained)', polychain: 'polygonal chain (trained)', 'line-after-matching': 'line after weight matching' };

export async function connectCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const { a, b, input } = await loadPair(o);
  const paths = parsePaths(stringOption(o, 'paths', 'all'));
  const spec = datasetSpec(a.dataset);
  const norm = { mean: spec.mean, std: spec.std };
  const trainImages = numberOption(o, 'train-images', 20000);
  const train = await spec.load('train', trainImages);
  const test = await spec.load('validation', numberOption(o, 'test-images', 2000));
  const seed = numberOption(o, 'seed', 0);
  const segments = numberOption(o, 'segments', 10);
  const recomputeBatchNorm = o['keep-bn-stats'] !== true;
  const batchNorm = hasBatchNorm(a.model);
  const out = stringOption(o, 'out', `runs/connect-${a.arch}-${a.dataset}`);
  const connectivity = new ModeConnectivity(a.model, await readState(a.model), await readState(b.model), input);
  const started = performance.now();
  let progress: Progress | undefined;
  const result = await connectivity.connect({
    test: new DataLoader(test, { batchSize: 500, ...norm }),
    train: new DataLoader(train, { batchSize: numberOption(o, 'batch-size', 64), shuffle: true, seed, keepLast: false, ...norm, augment: spec.augment }),
    trainEval: new DataLoader(train, { batchSize: 500, limit: numberOption(o, 'eval-train-images', 2000), ...norm }),
    paths,
    segments,
    curveEpochs: numberOption(o, 'curve-epochs', 1),
    curveOptimizer: stringOption(o, 'curve-optimizer', 'adam') as 'adam' | 'sgd',
    curveLr: o['curve-lr'] === undefined ? undefined : numberOption(o, 'curve-lr', 0),
    recomputeBatchNorm,
    seed,
    onCurveStep: (kind, step, total, loss) => {
      if (step <= 50 || !progress) progress = new Progress({ label: `train ${kind} middle point`, total, unit: 'step' });
      if (step === total) progress.done({ loss });
      else progress.update(step, { loss });
    },
    onPoint: (path, done, p) => {
      // the bar starts at the first point (its rate counts from there)
      if (done === 1) progress = new Progress({ label: `evaluate ${path}`, total: segments, unit: 'point' });
      else if (done === segments + 1) progress!.done({ t: p.t, loss: p.loss, acc: p.accuracy });
      else progress!.update(done - 1, { t: p.t, loss: p.loss, acc: p.accuracy });
    },
  });
  const seconds = (performance.now() - started) / 1000;

  const bnNote = batchNorm ? (recomputeBatchNorm ? 'batch norm statistics recomputed at every point' : 'batch norm statistics interpolated, NOT recomputed (--keep-bn-stats)') : 'no batch norm';
  const output = new CommandOutput(out, `Mode connectivity of two ${a.arch} nets (${a.dataset})`);
  output.report.paragraph(
    `Net A: ${stringOption(o, 'model-a', '')}; net B: ${stringOption(o, 'model-b', '')}. Loss and accuracy on ${test.n} test images (training loss on ${Math.min(numberOption(o, 'eval-train-images', 2000), train.n)} training images) at ${segments + 1} points per path; ` +
      `curves' middle points trained for ${numberOption(o, 'curve-epochs', 1)} epoch(s) on ${train.n} training images; ${bnNote}. ` +
      'The barrier is the largest rise of the loss along the path above the straight interpolation of its ends\' losses.',
  );
  const series = (key: 'loss' | 'accuracy') => result.paths.map((p) => ({ name: LABEL[p.name], x: p.points.map((q) => q.t), y: p.points.map((q) => q[key]), dashed: p.name === 'line-after-matching' }));
  // the title says how batch norm was treated, so a plot never travels without it
  const title = (what: string) => `${a.arch}: test ${what}, A (t=0) to B (t=1)${batchNorm ? (recomputeBatchNorm ? ', BN stats recomputed' : ', BN stats interpolated') : ''}`;
  output.png(
    'paths.png',
    makeGrid([linePlot(series('loss'), { title: title('loss'), xLabel: 't', yLabel: 'cross-entropy', width: 880, height: 460 }), linePlot(series('accuracy'), { title: title('accuracy'), xLabel: 't', yLabel: 'accuracy', width: 880, height: 460 })], { cols: 2 }),
    `test loss and accuracy along every path (${bnNote})`,
  );
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  output.table(
    'barriers.md',
    [['path', 'test-loss barrier', 'at t', 'train-loss barrier', 'lowest test accuracy', 'accuracy at A / B'], ...result.paths.map((p) => [LABEL[p.name], p.barrier.toFixed(4), p.barrierAt.toFixed(2), p.trainBarrier.toFixed(4), pct(p.minAccuracy), `${pct(p.points[0]!.accuracy)} / ${pct(p.points[p.points.length - 1]!.accuracy)}`])],
    'the barrier of each path: max over t of loss(t) - ((1 - t) loss(0) + t loss(1))',
  );
  output.json('connect.json', {
    modelA: stringOption(o, 'model-a', ''),
    modelB: stringOption(o, 'model-b', ''),
    arch: a.arch,
    dataset: a.dataset,
    testImages: test.n,
    trainImages: train.n,
    batchNorm,
    seed,
    seconds,
    ...result,
    recomputedBatchNorm: batchNorm && recomputeBatchNorm,
  });
  output.finish();
  for (const p of result.paths) console.log(`${LABEL[p.name].padEnd(28)} barrier ${p.barrier.toFixed(4)} (test loss, at t=${p.barrierAt.toFixed(2)}), ${p.trainBarrier.toFixed(4)} (train loss); lowest accuracy ${pct(p.minAccuracy)}`);
  console.error(`wrote ${out}/paths.png, connect.json, barriers.md, report.html (${seconds.toFixed(0)} s)`);
}
