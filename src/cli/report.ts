/**
 * The files of an evaluation (glassbox evaluate, glassbox main): the table as Markdown and JSON,
 * mean deletion and insertion curves (PNG), a grid with one row per image and one column per
 * method (PNG), and report.html with all of it embedded, the page a newcomer opens first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attributionToImage, chwToImage, HtmlReport, linePlot, makeGrid, upscale, type FigureItem, type RGBAImage } from '../viz/index.ts';
import { writeHtml, writeJson, writePng } from '../viz/node.ts';
import type { Evaluation, MethodResult } from './evaluate.ts';

export const TABLE_HEADER = ['method', 'catalogue', 'deletion AUC (lower is better)', 'insertion AUC (higher is better)', 'pointing game', 'energy in mask', 'completeness error', 's / image', 'note'];

function fmt(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}

/** One row per method, in TABLE_HEADER's columns. */
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
    r.error ? `failed: ${r.error.split('\n')[0]}` : '',
  ]);
}

export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  return [`| ${header!.join(' | ')} |`, `|${header!.map(() => ' --- ').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Mean deletion or insertion curve of every method that ran. */
function curvePlot(ev: Evaluation, key: 'deletion' | 'insertion'): RGBAImage {
  const ok = ev.results.filter((r) => !r.error);
  return linePlot(
    ok.map((r) => ({ name: r.method, x: r[key].map((_, k) => k / (r[key].length - 1)), y: r[key] })),
    {
      title: `${key} (mean over ${ev.predicted.length} images)`,
      xLabel: `fraction of pixels ${key === 'deletion' ? `replaced by the ${ev.substitute} substitute` : `revealed on the ${ev.substitute} substitute`}`,
      yLabel: 'probability of the predicted class',
      width: 640,
      height: 420,
    },
  );
}

/** Rows: images; columns: the input, then each method's map (|attribution|, per-map scaling) over the input. */
function mapsGrid(ev: Evaluation): RGBAImage {
  const ok = ev.results.filter((r) => !r.error);
  const [c, h, w] = [ev.input.shape[1]!, ev.input.shape[2]!, ev.input.shape[3]!];
  const scale = Math.max(1, Math.round(84 / h));
  const tiles = [];
  for (let i = 0; i < ev.predicted.length; i++) {
    tiles.push(upscale(chwToImage(ev.images.images.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { range: [0, 255] }), scale));
    for (const r of ok) tiles.push(upscale(attributionToImage(r.maps[i]!, w, h, { mode: 'absolute' }), scale));
  }
  const name = (k: number) => ev.images.classes[k] ?? String(k);
  return makeGrid(tiles, { cols: ok.length + 1, colTitles: ['input', ...ok.map((r) => r.method)], rowTitles: ev.predicted.map((p, i) => `pred ${name(p)} / true ${name(ev.labels[i]!)}`) });
}

export interface ReportExtras {
  /** Wall-clock seconds of the whole evaluation, and the command that ran it (recorded in the JSON and the page). */
  seconds?: number;
  command?: string;
  /** Paragraphs and figures shown before the evaluation (e.g. the training run). */
  intro?: readonly string[];
  figures?: readonly FigureItem[];
  /** Further sections after the evaluation (e.g. the sanity checks). */
  sections?: ReadonlyArray<{ title: string; text: string; figures: readonly FigureItem[] }>;
}

/** Writes evaluation.md, evaluation.json, deletion.png, insertion.png, maps.png and report.html into `out`. */
export function writeEvaluation(ev: Evaluation, out: string, title: string, extras: ReportExtras = {}): void {
  mkdirSync(out, { recursive: true });
  const rows = [TABLE_HEADER, ...evaluationTable(ev.results)];
  const when = extras.seconds === undefined ? '' : ` in ${extras.seconds.toFixed(0)} s`;
  const about = `${ev.results.length} methods on the same ${ev.predicted.length} validation images${when}, each explaining the model's predicted class; curves use a ${ev.substitute} substitute.`;
  writeJson(join(out, 'evaluation.json'), { title, command: extras.command, seconds: extras.seconds, substitute: ev.substitute, images: ev.predicted.length, predicted: ev.predicted, labels: ev.labels, results: ev.results.map(({ maps: _maps, ...r }) => r) });
  writeFileSync(join(out, 'evaluation.md'), `# ${title}\n\n${about}\n\n${markdownTable(rows)}\n`);
  const [deletion, insertion, grid] = [curvePlot(ev, 'deletion'), curvePlot(ev, 'insertion'), mapsGrid(ev)];
  writePng(join(out, 'deletion.png'), deletion);
  writePng(join(out, 'insertion.png'), insertion);
  writePng(join(out, 'maps.png'), grid);
  const report = new HtmlReport(title);
  for (const p of extras.intro ?? []) report.paragraph(p);
  if (extras.figures?.length) report.figures(extras.figures);
  report
    .section('Where each method looks')
    .paragraph('Rows: images (predicted / true class); columns: the input, then one map per method, shown as |attribution| scaled per map (99th percentile).')
    .image(grid, { caption: 'maps of every method on the same images' })
    .section('Evaluation')
    .paragraph(`${about} Deletion: probability as the most important pixels are removed first (lower AUC is better); insertion: as they are revealed (higher is better) (Petsiuk et al. 2018). Pointing game: the map's maximum lies on an object (2-pixel tolerance); energy: share of positive attribution on the objects (mixture-of-MNIST digit masks). Completeness error: |sum of attributions - (f(x) - f(reference))| / |f(x) - f(reference)| for the methods that promise it.`)
    .table(rows)
    .figures([
      { png: deletion, caption: 'deletion curves' },
      { png: insertion, caption: 'insertion curves' },
    ]);
  for (const extra of extras.sections ?? []) report.section(extra.title).paragraph(extra.text).figures(extra.figures);
  if (extras.command) report.pre(extras.command);
  writeHtml(join(out, 'report.html'), report.render());
}
