/**
 * `glassbox evaluate`: every registered explanation method on the same images of a data set,
 * scored by the same metrics (src/xai/metrics.ts): deletion and insertion AUC, and on
 * mixture-of-MNIST the pointing game and energy in the digit masks; plus run time per image.
 * Writes evaluation.md / evaluation.json, curves.png (mean deletion and insertion curves),
 * maps.png (the maps of every method) and report.html into --out.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as gb from '../index.ts';
import { modelEntry } from '../nn/models/zoo.ts';
import { loadModel } from '../nn/safetensors-file.ts';
import { datasetSpec } from '../train/datasets.ts';
import { allMethods, type MethodSpec } from '../xai/registry.ts';
import { deletionInsertion, energyInMask, mapScores, pointingHit } from '../xai/metrics.ts';
import { attributionToImage, chwToImage, HtmlReport, linePlot, makeGrid, upscale } from '../viz/index.ts';
import { writeHtml, writeJson, writePng } from '../viz/node.ts';
import type { ImageDataset } from '../../datasets/index.ts';
import type { MixtureDataset } from '../../datasets/mixture-mnist.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';

export const EVALUATE_OPTIONS = ['model', 'arch', 'dataset', 'methods', 'n', 'out', 'layer'];

export interface LoadedModel {
  model: gb.nn.Module;
  arch: string;
  dataset: string;
}

/** A model from a `glassbox train` run folder, or a .safetensors file with --arch and --dataset. */
export async function loadTrained(path: string, arch?: string, datasetName?: string): Promise<LoadedModel> {
  let weights = path;
  if (existsSync(join(path, 'checkpoint.json'))) {
    const ckpt = JSON.parse(readFileSync(join(path, 'checkpoint.json'), 'utf8')) as { config: { model: string; dataset: string } };
    arch ??= ckpt.config.model;
    datasetName ??= ckpt.config.dataset;
    weights = join(path, 'model.safetensors');
  }
  if (!arch || !datasetName) throw new UsageError(`--model ${path} is not a run folder of glassbox train; give a .safetensors file with --arch <model> and --dataset <name>`);
  const data = datasetSpec(datasetName);
  const probe = await data.load('validation', 1);
  const model = modelEntry(arch).build({ channels: probe.channels, height: probe.height, width: probe.width, classes: probe.classes.length });
  await loadModel(weights, model);
  model.eval();
  return { model, arch, dataset: datasetName };
}

/** The last ReLU of the model's conv features (the usual CAM / Grad-CAM layer). */
export function defaultCamLayer(model: gb.nn.Module): string {
  const modules = model.namedModules();
  const convIndex = modules.map(([, m]) => m instanceof gb.nn.Conv2d).lastIndexOf(true);
  if (convIndex < 0) throw new Error('glassbox: the model has no Conv2d layer for CAM-style methods; pass --layer');
  const after = modules.slice(convIndex + 1).find(([, m]) => m instanceof gb.nn.ReLU);
  return (after ?? modules[convIndex]!)[0];
}

export interface MethodResult {
  method: string;
  catalogue: string;
  secondsPerImage: number;
  deletionAuc: number;
  insertionAuc: number;
  pointingGame?: number;
  energyInMask?: number;
  deletion: number[];
  insertion: number[];
  maps: Float64Array[];
  error?: string;
}

export interface Evaluation {
  images: ImageDataset;
  input: gb.Tensor;
  predicted: number[];
  labels: number[];
  results: MethodResult[];
  mean: number[];
  std: number[];
}

export async function evaluateMethods(loaded: LoadedModel, methods: readonly MethodSpec[], n: number, layer?: string, log = (s: string) => console.error(s)): Promise<Evaluation> {
  const spec = datasetSpec(loaded.dataset);
  const data = await spec.load('validation', n, { masks: true });
  const [c, h, w] = [data.channels, data.height, data.width];
  const channelOf = (i: number) => Math.min(Math.floor(i / (h * w)) % c, spec.mean.length - 1);
  const pixels = Float32Array.from(data.images.subarray(0, n * c * h * w), (v, i) => (v / 255 - spec.mean[channelOf(i)]!) / spec.std[channelOf(i)]!);
  const input = gb.tensor(pixels, [n, c, h, w]);
  const predicted = Array.from(await gb.tidy(() => gb.noGrad(() => gb.argmax(loaded.model.forward(input), { dim: 1 }))).toArray());
  const masks = (data as Partial<MixtureDataset>).masks;
  const slots = (data as Partial<MixtureDataset>).slots ?? 0;
  const ctx = { layer: layer ?? defaultCamLayer(loaded.model), background: input };
  const results: MethodResult[] = [];
  for (const m of methods) {
    const started = performance.now();
    try {
      const attribution = await m.create(loaded.model, ctx).attribute(input, { target: predicted });
      const seconds = (performance.now() - started) / 1000 / n;
      const curves = await deletionInsertion(loaded.model, input, attribution, predicted);
      const maps = await mapScores(attribution);
      attribution.dispose();
      const mean = (f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i)).reduce((a, b) => a + b, 0) / n;
      const r: MethodResult = {
        method: m.name,
        catalogue: m.catalogue,
        secondsPerImage: seconds,
        deletionAuc: mean((i) => curves[i]!.deletionAuc),
        insertionAuc: mean((i) => curves[i]!.insertionAuc),
        deletion: curves[0]!.deletion.map((_, k) => mean((i) => curves[i]!.deletion[k]!)),
        insertion: curves[0]!.insertion.map((_, k) => mean((i) => curves[i]!.insertion[k]!)),
        maps,
      };
      if (masks && masks.length) {
        const union = (i: number) => {
          const u = new Uint8Array(h * w);
          for (let s = 0; s < slots; s++) for (let p = 0; p < h * w; p++) u[p]! |= masks[(i * slots + s) * h * w + p]!;
          return u;
        };
        r.pointingGame = mean((i) => pointingHit(maps[i]!, union(i), h, w));
        r.energyInMask = mean((i) => energyInMask(maps[i]!, union(i)));
      }
      results.push(r);
      log(`  ${m.name.padEnd(24)} deletion AUC ${r.deletionAuc.toFixed(3)}  insertion AUC ${r.insertionAuc.toFixed(3)}${r.pointingGame === undefined ? '' : `  pointing ${r.pointingGame.toFixed(2)}  energy ${r.energyInMask!.toFixed(2)}`}  ${r.secondsPerImage.toFixed(2)} s/image`);
    } catch (e) {
      results.push({ method: m.name, catalogue: m.catalogue, secondsPerImage: NaN, deletionAuc: NaN, insertionAuc: NaN, deletion: [], insertion: [], maps: [], error: (e as Error).message });
      log(`  ${m.name.padEnd(24)} failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { images: data, input, predicted, labels: Array.from(data.labels.subarray(0, n)), results, mean: spec.mean, std: spec.std };
}

function fmt(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}

export function evaluationTable(ev: Evaluation): string[][] {
  return ev.results.map((r) => [r.method, r.catalogue, fmt(r.deletionAuc), fmt(r.insertionAuc), fmt(r.pointingGame, 2), fmt(r.energyInMask, 2), fmt(r.secondsPerImage, 2), r.error ? `failed: ${r.error.split('\n')[0]}` : '']);
}
export const TABLE_HEADER = ['method', 'catalogue', 'deletion AUC (lower is better)', 'insertion AUC (higher is better)', 'pointing game', 'energy in mask', 's / image', 'note'];

/** Writes the table, curves, maps and the HTML report of an evaluation into `out`. */
export function writeEvaluation(ev: Evaluation, out: string, title: string): void {
  mkdirSync(out, { recursive: true });
  const rows = evaluationTable(ev);
  const md = [`| ${TABLE_HEADER.join(' | ')} |`, `|${TABLE_HEADER.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  writeJson(join(out, 'evaluation.json'), { title, images: ev.predicted.length, predicted: ev.predicted, labels: ev.labels, results: ev.results.map(({ maps: _maps, ...r }) => r) });
  writeFileSync(join(out, 'evaluation.md'), `# ${title}\n\n${md}\n`);
  const ok = ev.results.filter((r) => !r.error);
  const curves = (key: 'deletion' | 'insertion') =>
    linePlot(
      ok.map((r) => ({ name: r.method, x: r[key].map((_, k) => k / (r[key].length - 1)), y: r[key] })),
      { title: `${key} curves (mean over ${ev.predicted.length} images)`, xLabel: `fraction of pixels ${key === 'deletion' ? 'removed' : 'revealed'}`, yLabel: 'probability of the predicted class', width: 560, height: 380, yRange: [0, 1] },
    );
  const del = curves('deletion');
  const ins = curves('insertion');
  writePng(join(out, 'deletion.png'), del);
  writePng(join(out, 'insertion.png'), ins);
  const [c, h, w] = [ev.input.shape[1]!, ev.input.shape[2]!, ev.input.shape[3]!];
  const scale = Math.max(1, Math.round(84 / h));
  const tiles = [];
  for (let i = 0; i < ev.predicted.length; i++) {
    const image = chwToImage(ev.images.images.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w, { range: [0, 255] });
    tiles.push(upscale(image, scale));
    for (const r of ok) tiles.push(upscale(attributionToImage(r.maps[i]!, w, h, { mode: 'absolute' }), scale));
  }
  const grid = makeGrid(tiles, { cols: ok.length + 1, colTitles: ['input', ...ok.map((r) => r.method)], rowTitles: ev.predicted.map((p, i) => `pred ${ev.images.classes[p] ?? p} / true ${ev.images.classes[ev.labels[i]!] ?? ev.labels[i]}`) });
  writePng(join(out, 'maps.png'), grid);
  const report = new HtmlReport(title)
    .paragraph(`Every registered method on the same ${ev.predicted.length} validation images, explaining the predicted class; maps shown as |attribution| (per-map 99th-percentile scaling).`)
    .section('Evaluation')
    .table([TABLE_HEADER, ...rows])
    .figures([
      { png: del, caption: 'deletion: probability as the most important pixels are removed (lower is better)' },
      { png: ins, caption: 'insertion: probability as they are revealed on a blurred copy (higher is better)' },
    ])
    .section('Maps')
    .image(grid, { caption: 'rows: images; columns: the input, then one map per method' });
  writeHtml(join(out, 'report.html'), report.render());
}

export async function evaluateCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const modelPath = stringOption(o, 'model', '');
  if (!modelPath) throw new UsageError('evaluate needs --model <run folder> (or a .safetensors file with --arch and --dataset)');
  const loaded = await loadTrained(modelPath, o.arch === undefined ? undefined : stringOption(o, 'arch', ''), o.dataset === undefined ? undefined : stringOption(o, 'dataset', ''));
  const wanted = stringOption(o, 'methods', 'all');
  const methods = wanted === 'all' ? allMethods() : wanted.split(',').map((name) => allMethods().find((m) => m.name === name) ?? (() => { throw new UsageError(`unknown method '${name}'; known: ${allMethods().map((m) => m.name).join(', ')}`); })());
  const n = numberOption(o, 'n', 16);
  const out = stringOption(o, 'out', join('runs', `evaluate-${loaded.arch}-${loaded.dataset}`));
  const started = performance.now();
  console.error(`evaluating ${methods.length} methods on ${n} ${loaded.dataset} images with ${loaded.arch}`);
  const ev = await evaluateMethods(loaded, methods, n, o.layer === undefined ? undefined : stringOption(o, 'layer', ''));
  writeEvaluation(ev, out, `glassbox evaluate: ${loaded.arch} on ${loaded.dataset}`);
  console.log(`evaluated ${methods.length} methods on ${n} images in ${((performance.now() - started) / 1000).toFixed(0)} s; table in ${join(out, 'evaluation.md')}, report ${join(out, 'report.html')}`);
}
