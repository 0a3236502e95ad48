/**
 * `glassbox robust-saliency`: perceptually aligned gradients (Tsipras et al. 2019). The same
 * explanation methods on the same validation images for a normally trained model (--model) and an
 * adversarially trained one (--robust, e.g. from `glassbox train --adversarial pgd`), drawn side by
 * side and scored by the same evaluation (`evaluateMethods`: deletion and insertion AUC, and on
 * mixture-of-MNIST the pointing game and energy in the digit masks), plus, on single-digit data, how
 * much of each map lies on the digit's ink (src/xai/perceptual-alignment.ts). Writes into --out
 *   saliency.png          rows: images; columns: the input, each method on the normal model, each on the robust one
 *   scores.md             the table: each method and model with every score
 *   robust-saliency.json  every number
 *   report.html           the picture and the table
 */
import { join } from 'node:path';
import type { MixtureDataset } from '../../datasets/mixture-mnist.ts';
import { makeGrid } from '../viz/grid.ts';
import { chwToImage, upscale } from '../viz/image.ts';
import { attributionToImage } from '../viz/normalize.ts';
import { inkMask, maskAlignment, type MaskAlignment } from '../xai/perceptual-alignment.ts';
import type { MethodSpec } from '../xai/registry.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { evaluateMethods, objectMask, type Evaluation, type MethodResult } from './evaluate.ts';
import { methodsByName, type LoadedModel } from './explain-setup.ts';
import { loadForVisualization } from './visualize.ts';

/** The gradient family Tsipras et al. show, and the two maps built on the gradient most used. */
export const DEFAULT_ROBUST_SALIENCY_METHODS = 'saliency,smoothgrad,integrated-gradients,guided-backprop';

export interface ModelScores {
  method: string;
  deletionAuc: number;
  insertionAuc: number;
  /** Mixture-of-MNIST's digit masks (evaluateMethods). */
  pointingGame?: number;
  energyInMask?: number;
  /** Mixture-of-MNIST: the mean share of the image the digit masks cover, the energy an even map would get. */
  digitArea?: number;
  /** Single-digit data: the map against the digit's ink. */
  ink?: MaskAlignment;
  error?: string;
}

export interface SaliencyComparison {
  normal: Evaluation;
  robust: Evaluation;
  /** Per method, the scores of each model. */
  scores: Array<{ method: string; normal: ModelScores; robust: ModelScores }>;
}

const hasObjectMasks = (ev: Evaluation) => (ev.images as { masks?: ArrayLike<number> }).masks?.length;

function scoresOf(ev: Evaluation, r: MethodResult): ModelScores {
  const s: ModelScores = { method: r.method, deletionAuc: r.deletionAuc, insertionAuc: r.insertionAuc, pointingGame: r.pointingGame, energyInMask: r.energyInMask };
  const reason = r.error ?? r.notApplicable;
  if (reason) return { ...s, error: reason };
  // mixtures have digit masks of their own, scored by evaluateMethods; single digits: the digit is the ink
  if (hasObjectMasks(ev)) {
    const data = ev.images as unknown as MixtureDataset;
    s.digitArea = r.maps.reduce((a, _, i) => a + objectMask(data, i).reduce((x, y) => x + y, 0), 0) / (r.maps.length * data.height * data.width);
  } else {
    const { channels: c, height: h, width: w, images } = ev.images;
    s.ink = maskAlignment(r.maps, r.maps.map((_, i) => inkMask(images, i, c, h, w)), h, w);
  }
  return s;
}

/**
 * The methods on the first `n` validation images of the normal model's data set, for both models
 * (each explaining its own predicted class), with each model's scores per method.
 */
export async function compareSaliency(normal: LoadedModel, robust: LoadedModel, methods: readonly MethodSpec[], n: number, opts: { steps?: number; log?: (line: string) => void } = {}): Promise<SaliencyComparison> {
  if (normal.dataset !== robust.dataset) throw new Error(`glassbox robust-saliency: the models were trained on different data (${normal.dataset} and ${robust.dataset}); compare two models of the same data set`);
  const log = opts.log ?? ((s: string) => console.error(s));
  log(`normal model (${normal.arch}):`);
  const a = await evaluateMethods(normal, methods, n, { steps: opts.steps, log });
  log(`robust model (${robust.arch}):`);
  const b = await evaluateMethods(robust, methods, n, { steps: opts.steps, log });
  return { normal: a, robust: b, scores: a.results.map((r, k) => ({ method: r.method, normal: scoresOf(a, r), robust: scoresOf(b, b.results[k]!) })) };
}

const fixed = (v: number | undefined, digits = 3) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(digits));

function scoreRows(c: SaliencyComparison): string[][] {
  const mixture = hasObjectMasks(c.normal);
  const header = ['method', 'model', 'accuracy', 'deletion AUC (lower better)', 'insertion AUC (higher better)', ...(mixture ? ['pointing game', 'energy in digit masks', "digit area (an even map's energy)"] : ['share of abs(map) on the digit', 'max on the digit', "digit area (an even map's share)"])];
  const accuracy = (ev: Evaluation) => `${((100 * ev.predicted.filter((p, i) => p === ev.labels[i]).length) / ev.predicted.length).toFixed(1)}%`;
  const row = (s: ModelScores, model: string, ev: Evaluation) =>
    s.error
      ? [s.method, model, accuracy(ev), s.error, '', '', '', '']
      : [s.method, model, accuracy(ev), fixed(s.deletionAuc), fixed(s.insertionAuc), ...(mixture ? [fixed(s.pointingGame, 2), fixed(s.energyInMask), fixed(s.digitArea)] : [fixed(s.ink?.energyOnMask), fixed(s.ink?.pointing, 2), fixed(s.ink?.maskArea)])];
  return [header, ...c.scores.flatMap((s) => [row(s.normal, 'normal', c.normal), row(s.robust, 'robust', c.robust)])];
}

/** Rows: images; columns: the input, the methods on the normal model, the same on the robust one. */
/** Rows drawn in saliency.png: the scores cover every image, the picture the first few (a row per image past this is a picture nobody reads). */
const PICTURE_ROWS = 16;

function sideBySide(c: SaliencyComparison): ReturnType<typeof makeGrid> {
  const { channels: ch, height: h, width: w, images } = c.normal.images;
  const ran = (ev: Evaluation) => ev.results.filter((r) => r.maps.length);
  const scale = Math.max(1, Math.round(56 / h));
  const shown = c.normal.predicted.slice(0, PICTURE_ROWS);
  const tiles = shown.flatMap((_, i) => [
    chwToImage(images.subarray(i * ch * h * w, (i + 1) * ch * h * w), ch, h, w, { range: [0, 255] }),
    ...[...ran(c.normal), ...ran(c.robust)].map((r) => attributionToImage(r.maps[i]!, w, h, { mode: 'absolute' })),
  ]);
  const titles = ['input', ...ran(c.normal).map((r) => `normal ${r.method}`), ...ran(c.robust).map((r) => `robust ${r.method}`)];
  const rowTitles = shown.map((p, i) => `true ${c.normal.labels[i]} / ${p} / ${c.robust.predicted[i]}`);
  return makeGrid(tiles.map((t) => upscale(t, scale)), { cols: titles.length, colTitles: titles, rowTitles, title: 'perceptually aligned gradients: normal (left) and robust (right) model' });
}

export async function robustSaliencyCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const robustPath = o.robust === undefined ? undefined : stringOption(o, 'robust', '');
  if (o.model === undefined || !robustPath) throw new UsageError('robust-saliency needs --model <normally trained run or .safetensors> and --robust <adversarially trained one> (glassbox train --adversarial pgd)');
  const normal = await loadForVisualization(o);
  const robust = await loadForVisualization({ ...o, model: robustPath, arch: o['robust-arch'] });
  if (normal.dataset === 'unknown') throw new UsageError(`--model ${String(o.model)} does not record its data set; give --dataset`);
  if (robust.dataset !== normal.dataset) throw new UsageError(`--robust ${robustPath} was trained on ${robust.dataset} and --model on ${normal.dataset}; compare two models of the same data set (or give --dataset)`);
  const methods = methodsByName(stringOption(o, 'methods', DEFAULT_ROBUST_SALIENCY_METHODS));
  const n = numberOption(o, 'n', 16);
  const out = stringOption(o, 'out', join('runs', `robust-saliency-${normal.arch}-${normal.dataset}`));
  const started = performance.now();
  console.error(`robust-saliency: ${methods.length} methods on ${n} ${normal.dataset} images, normal ${normal.arch} against robust ${robust.arch}`);
  const c = await compareSaliency(normal, robust, methods, n, { steps: numberOption(o, 'steps', 32) });
  const seconds = (performance.now() - started) / 1000;

  const output = new CommandOutput(out, `Perceptually aligned gradients: ${normal.arch} on ${normal.dataset}, normal and robust`);
  output.report.paragraph(
    `Tsipras et al. (2019) find that the input gradients of adversarially trained models are perceptually aligned: they sit on the object and look like it, where a normally trained model's gradients are spread like noise. ` +
      `The same ${methods.length} methods on the same ${n} validation images, each model explaining its own predicted class (row titles: true class / normal prediction / robust prediction); maps are |attribution| scaled per map. ` +
      (hasObjectMasks(c.normal)
        ? 'Scores: deletion and insertion AUC (Petsiuk et al. 2018), the pointing game and the energy in the digit masks of mixture-of-MNIST.'
        : 'Scores: deletion and insertion AUC (Petsiuk et al. 2018); the share of |map| on the digit (pixels above a quarter of full brightness, grown by 1 pixel), against the digit area a map spread evenly would get; the share of images whose map maximum lies on the digit.'),
  );
  output.png('saliency.png', sideBySide(c), `rows: the first ${Math.min(n, PICTURE_ROWS)} images; columns: the input, each method on the normal model, then on the robust model`);
  output.table('scores.md', scoreRows(c), `each method on each model, ${n} images, ${seconds.toFixed(0)} s`);
  output.json('robust-saliency.json', {
    normal: { model: String(o.model), arch: normal.arch, predicted: c.normal.predicted },
    robust: { model: robustPath, arch: robust.arch, predicted: c.robust.predicted },
    dataset: normal.dataset,
    labels: c.normal.labels,
    images: n,
    seconds,
    scores: c.scores,
  });
  output.finish();
  const saliency = c.scores.find((s) => s.method === 'saliency');
  if (saliency?.normal.ink && saliency.robust.ink)
    console.log(`gradient |map| on the digit: normal ${fixed(saliency.normal.ink.energyOnMask)}, robust ${fixed(saliency.robust.ink.energyOnMask)} (digit area ${fixed(saliency.normal.ink.maskArea)})`);
  console.log(`compared ${methods.length} methods on ${n} images in ${seconds.toFixed(0)} s; table in ${join(out, 'scores.md')}, report ${join(out, 'report.html')}`);
}
