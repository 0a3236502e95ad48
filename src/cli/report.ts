/**
 * The files of an evaluation (glassbox evaluate, glassbox main): the table as Markdown and JSON,
 * mean deletion and insertion curves (PNG), a grid with one row per image and one column per
 * method (PNG), and report.html, the page a newcomer opens first: one self-contained file with
 * the maps as an image table with real text, the table, and interactive charts (viz/chart.ts)
 * of the curves; a method that does not apply to the model says why in its row.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attributionToImage, chartPng, chwToImage, HtmlReport, makeGrid, upscale, type ChartSpec, type FigureItem, type ImageTableCell, type ImageTableOptions, type RGBAImage } from '../viz/index.ts';
import { writeJson, writePng, writeReport } from '../viz/node.ts';
import type { MapSimilarity } from '../xai/similarity.ts';
import type { RandomizationResult } from '../xai/sanity.ts';
import type { Evaluation, MethodResult } from './evaluate.ts';

export const TABLE_HEADER = ['method', 'catalogue', 'deletion AUC (lower is better)', 'insertion AUC (higher is better)', 'pointing game', 'energy in mask', 'completeness error', 's / image', 'note'];

function fmt(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}

/** The note of a method that has no scores: why it did not apply, or how it failed. */
function note(r: MethodResult): string {
  if (r.notApplicable) return `not applicable: ${r.notApplicable}`;
  return r.error ? `failed: ${r.error.split('\n')[0]}` : '';
}

/** One row per method, in TABLE_HEADER's columns (a row without scores still has every column: '-'). */
export function evaluationTable(results: readonly MethodResult[]): string[][] {
  return results.map((r) => [
    r.method,
    r.catalogue,
    fmt(r.deletionAuc),
    fmt(r.insertionAuc),
    fmt(r.pointingGame, 2),
    fmt(r.energyInMask, 2),
    fmt(r.completenessError, 4),
    fmt(r.secondsPerImage, 3),
    note(r),
  ]);
}

export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  return [`| ${header!.join(' | ')} |`, `|${header!.map(() => ' --- ').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const ran = (ev: Evaluation) => ev.results.filter((r) => !r.error && !r.notApplicable);

/** Mean deletion or insertion curve of every method that ran. */
export function curveChart(ev: Evaluation, key: 'deletion' | 'insertion'): ChartSpec {
  return {
    title: `${key} (mean over ${ev.predicted.length} images)`,
    // short enough for a phone-width chart; the paragraph above says what the substitute is
    xLabel: `fraction of pixels ${key === 'deletion' ? 'removed' : 'revealed'} (${ev.substitute})`,
    yLabel: 'probability of the predicted class',
    xName: 'fraction',
    series: ran(ev).map((r) => ({ name: r.method, x: r[key].map((_, k) => k / (r[key].length - 1)), y: r[key] })),
    height: 360,
  };
}

/** Per image, the input and each method's map (|attribution|, per-map scaling), at the data set's size. */
function mapTiles(ev: Evaluation): { inputs: RGBAImage[]; maps: RGBAImage[][] } {
  const { channels: c, height: h, width: w } = ev.images;
  const inputs = ev.predicted.map((_, i) => chwToImage(ev.images.images.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { range: [0, 255] }));
  const maps = ev.predicted.map((_, i) => ran(ev).map((r) => attributionToImage(r.maps[i]!, w, h, { mode: 'absolute' })));
  return { inputs, maps };
}

const rowTitles = (ev: Evaluation) => ev.predicted.map((p, i) => `pred ${ev.images.classes[p] ?? p} / true ${ev.images.classes[ev.labels[i]!] ?? ev.labels[i]}`);

/** Rows: images; columns: the input, then each method's map over the input (maps.png, for the CLI). */
function mapsGrid(ev: Evaluation, tiles: ReturnType<typeof mapTiles>): RGBAImage {
  const scale = Math.max(1, Math.round(84 / ev.images.height));
  return makeGrid(
    tiles.inputs.flatMap((input, i) => [input, ...tiles.maps[i]!].map((t) => upscale(t, scale))),
    { cols: ran(ev).length + 1, colTitles: ['input', ...ran(ev).map((r) => r.method)], rowTitles: rowTitles(ev) },
  );
}

/** Cascading or independent randomisation of one method as a chart: every similarity measure per step, the layers by name. */
export function randomizationChart(result: RandomizationResult, method: string): ChartSpec {
  const steps = result.similarity[method];
  if (!steps) throw new Error(`no sanity-check result for method '${method}'; have ${Object.keys(result.similarity).join(', ')}`);
  const measures: Array<[keyof MapSimilarity, string]> = [['spearmanAbs', 'Spearman (abs)'], ['spearman', 'Spearman'], ['ssim', 'SSIM'], ['hog', 'HOG']];
  return {
    title: `${method}: ${result.mode} randomisation`,
    xLabel: result.mode === 'cascading' ? 'randomised from the logits down to' : 'the one layer randomised',
    yLabel: 'similarity to the trained model',
    xName: 'randomised',
    xLabels: ['trained', ...result.layers],
    series: measures.map(([key, name]) => ({ name, y: [1, ...steps.map((s) => s[key])] })),
    // Adebayo et al.'s range, widened (in quarters) when a correlation falls below it
    yRange: [Math.min(-0.5, Math.floor(4 * Math.min(...steps.flatMap((s) => measures.map(([key]) => s[key])).filter(Number.isFinite))) / 4), 1],
    height: 300,
  };
}

/** Loss (left axis) and accuracy (right axis) per epoch, from a run's metrics.json. */
export function trainingChart(epochs: ReadonlyArray<{ epoch: number; trainLoss: number; trainAccuracy: number; valLoss?: number; valAccuracy?: number }>): ChartSpec {
  const x = epochs.map((e) => e.epoch);
  const column = (f: (e: (typeof epochs)[number]) => number | undefined) => epochs.map((e) => f(e) ?? null);
  return {
    title: 'training',
    xLabel: 'epoch',
    xName: 'epoch',
    yLabel: 'cross-entropy loss',
    y2Label: 'accuracy',
    y2Range: [0, 1],
    series: [
      { name: 'train loss', x, y: column((e) => e.trainLoss), color: 0 },
      { name: 'validation loss', x, y: column((e) => e.valLoss), dashed: true, color: 0 },
      { name: 'train accuracy', x, y: column((e) => e.trainAccuracy), axis: 'right', color: 1 },
      { name: 'validation accuracy', x, y: column((e) => e.valAccuracy), axis: 'right', dashed: true, color: 1 },
    ],
    height: 300,
  };
}

/** A section after the evaluation: a paragraph, then its charts, figures and image tables. */
export interface ReportSection {
  title: string;
  text: string;
  charts?: readonly ChartSpec[];
  figures?: readonly FigureItem[];
  imageTables?: readonly ImageTableOptions[];
}

export interface ReportExtras {
  /** Wall-clock seconds of the whole evaluation, and the command that ran it (recorded in the JSON and the page). */
  seconds?: number;
  command?: string;
  /** Paragraphs, charts and figures shown before the evaluation (e.g. the training run). */
  intro?: readonly string[];
  charts?: readonly ChartSpec[];
  figures?: readonly FigureItem[];
  /** Further sections after the evaluation (e.g. the sanity checks). */
  sections?: ReadonlyArray<ReportSection>;
}

/** Writes evaluation.md, evaluation.json, deletion.png, insertion.png, maps.png and report.html into `out`. */
export function writeEvaluation(ev: Evaluation, out: string, title: string, extras: ReportExtras = {}): void {
  mkdirSync(out, { recursive: true });
  const rows = [TABLE_HEADER, ...evaluationTable(ev.results)];
  const when = extras.seconds === undefined ? '' : ` in ${extras.seconds.toFixed(0)} s`;
  const about = `${ev.results.length} methods on the same ${ev.predicted.length} validation images${when}, each explaining the model's predicted class; curves use a ${ev.substitute} substitute.`;
  writeJson(join(out, 'evaluation.json'), { title, command: extras.command, seconds: extras.seconds, substitute: ev.substitute, images: ev.predicted.length, predicted: ev.predicted, labels: ev.labels, results: ev.results.map(({ maps: _maps, ...r }) => r) });
  writeFileSync(join(out, 'evaluation.md'), `# ${title}\n\n${about}\n\n${markdownTable(rows)}\n`);
  const [deletion, insertion] = [curveChart(ev, 'deletion'), curveChart(ev, 'insertion')];
  const tiles = mapTiles(ev);
  writePng(join(out, 'deletion.png'), chartPng(deletion));
  writePng(join(out, 'insertion.png'), chartPng(insertion));
  writePng(join(out, 'maps.png'), mapsGrid(ev, tiles));

  const report = new HtmlReport(title);
  for (const p of extras.intro ?? []) report.paragraph(p);
  if (extras.charts?.length) report.chartRow(extras.charts);
  if (extras.figures?.length) report.figures(extras.figures);
  const skipped = ev.results.filter((r) => r.error || r.notApplicable);
  report
    .section('Where each method looks')
    .paragraph(
      'Rows: images (predicted / true class); columns: the input, then one map per method, shown as |attribution| scaled per map (99th percentile).' +
        (skipped.length ? ` Not shown (see the table for why): ${skipped.map((r) => r.method).join(', ')}.` : ''),
    )
    .imageTable({
      colTitles: ['input', ...ran(ev).map((r) => r.method)],
      rowTitles: rowTitles(ev),
      cells: tiles.inputs.map((input, i): ImageTableCell[] => [input, ...tiles.maps[i]!].map((png, k) => ({ png, alt: k ? `${ran(ev)[k - 1]!.method} map` : 'input' }))),
      size: ev.images.height * Math.max(1, Math.round(84 / ev.images.height)),
    })
    .section('Evaluation')
    .paragraph(
      `${about} Deletion: probability as the most important pixels are removed first (lower AUC is better); insertion: as they are revealed (higher is better) (Petsiuk et al. 2018). Pointing game: the map's maximum lies on an object (2-pixel tolerance); energy: share of positive attribution on the objects (mixture-of-MNIST digit masks). Completeness error: |sum of attributions - (f(x) - f(reference))| / |f(x) - f(reference)| for the methods that promise it. Hover over a chart for its values.`,
    )
    // in the page a method without scores shows its note across the score columns, readable without scrolling
    .table([TABLE_HEADER, ...evaluationTable(ev.results).map((row, i) => (note(ev.results[i]!) && ev.results[i]!.maps.length === 0 ? [row[0]!, row[1]!, row[8]!] : row))], { header: true })
    .chartRow([deletion, insertion]);
  for (const extra of extras.sections ?? []) {
    report.section(extra.title).paragraph(extra.text);
    if (extra.charts?.length) report.chartRow(extra.charts);
    if (extra.figures?.length) report.figures(extra.figures);
    for (const table of extra.imageTables ?? []) report.imageTable(table);
  }
  if (extras.command) report.pre(extras.command);
  writeReport(join(out, 'report.html'), report);
}
