/**
 * `glassbox dissect`: the units of a trained conv net as concept detectors (catalogue E3, the
 * mixture-of-MNIST unit study) and network dissection (E4) over a data set with concept masks
 * (src/xai/units/dissection.ts, detectors.ts). One pass per layer over the images gives every
 * unit's precision@K, precision at recall, alignment (AUC), its top-quantile threshold and its IoU
 * with each digit's masks; the per-digit ablation drop (src/xai/units/ablation.ts) is added on
 * validation images. Writes report.html, one PNG grid of top images per layer, the precision and
 * interpretability curves, per-layer unit tables (Markdown) and dissect.json.
 */
import { join } from 'node:path';
import * as gb from '../index.ts';
import type { MixtureDataset } from '../../datasets/mixture-mnist.ts';
import { modelEntry } from '../nn/models/zoo.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { chartPng } from '../viz/chart.ts';
import { drawMaskContour, overlay, chwToImage, type RGBAImage } from '../viz/image.ts';
import { heatmapToImage } from '../viz/normalize.ts';
import { makeGrid } from '../viz/grid.ts';
import { forwardWithLayer } from '../xai/attribution.ts';
import { digitConcepts, type ConceptSet } from '../xai/units/concepts.ts';
import { CLEAN_PRECISION, correlation, PRECISION_KS, precisionCurve, rankImages, RECALLS } from '../xai/units/detectors.ts';
import { bestConcept, convUnitLayers, IOU_CURVE, UnitDissection, type ImageSource, type LayerDissection } from '../xai/units/dissection.ts';
import { mixtureClassDigits, unitAblationEffects, type UnitAblationSweep } from '../xai/units/ablation.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadTrained } from './explain-setup.ts';

const MIXTURES: Record<string, 'pairs' | 'usefulness'> = { 'mnist-mixture': 'pairs', 'mnist-mixture-usefulness': 'usefulness' };
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');

/** The model: trained weights, or with --random-init the same architecture freshly initialised (the control). */
async function loadModel(o: ParsedArgs['options']): Promise<{ model: gb.nn.Module; arch: string; dataset: string; source: string }> {
  const modelPath = o.model === undefined ? undefined : stringOption(o, 'model', '');
  if (o['random-init'] === true) {
    let arch = o.arch as string | undefined;
    let dataset = o.dataset as string | undefined;
    if (modelPath && (!arch || !dataset)) {
      const run = await loadTrained(modelPath, arch, dataset);
      arch ??= run.arch;
      dataset ??= run.dataset;
    }
    if (!arch || !dataset) throw new UsageError('--random-init needs the architecture and data set: --arch <model> --dataset <name>, or --model <run folder>');
    const seed = numberOption(o, 'seed', 0);
    gb.manualSeed(seed);
    const probe = await datasetSpec(dataset).load('validation', 1);
    const model = modelEntry(arch).build({ channels: probe.channels, height: probe.height, width: probe.width, classes: probe.classes.length });
    model.eval();
    return { model, arch, dataset, source: `random initialisation (seed ${seed})` };
  }
  if (!modelPath) throw new UsageError('--model is required: a run folder of glassbox train, or a .safetensors file with --arch and --dataset (or --random-init with --arch and --dataset)');
  const loaded = await loadTrained(modelPath, o.arch as string | undefined, o.dataset as string | undefined);
  return { ...loaded, source: modelPath };
}

function imageSource(data: MixtureDataset): ImageSource {
  const hw = data.channels * data.height * data.width;
  return {
    count: data.n,
    height: data.height,
    width: data.width,
    chunk: (start, end) => gb.tensor(Float32Array.from(data.images.subarray(start * hw, end * hw), (v) => v / 255), [end - start, data.channels, data.height, data.width]),
  };
}

/** Each unit's top images with its upsampled map (heat), its region above the threshold (red) and its digit's mask (green). */
async function topImageGrid(model: gb.nn.Module, data: MixtureDataset, concepts: ConceptSet, d: LayerDissection, top: number, normalization: gb.Normalization, label: string): Promise<RGBAImage> {
  const [C, H, W] = [d.shape[0], data.height, data.width];
  const ranked = Array.from({ length: C }, (_, u) => [...rankImages(Float32Array.from({ length: concepts.images }, (_, i) => d.scores[i * C + u]!)).subarray(0, top)]);
  const tiles: RGBAImage[] = [];
  const titles: string[] = [];
  const hw = H * W;
  for (let u = 0; u < C; u++) {
    const picked = ranked[u]!;
    const x = gb.tensor(Float32Array.from(picked.flatMap((i) => [...data.images.subarray(i * hw, (i + 1) * hw)]), (v) => v / 255), [picked.length, 1, H, W]);
    const maps = await gb.noGrad(() =>
      gb.tidy(() => {
        const a = forwardWithLayer(model, d.layer, gb.normalize(x, normalization)).activation;
        return gb.interpolate(gb.slice(a, 1, { start: u, end: u + 1 }), { size: [H, W], mode: 'bilinear' });
      }),
    ).toArray();
    const digit = d.detectors[u]!.concept >= 0 ? d.detectors[u]!.concept : d.iou[u]!.regionPixels > 0 ? bestConcept(d.iou[u]!) : -1;
    const T = d.iou[u]!.threshold;
    const vmax = Math.max(T, 1e-6) * 1.5;
    picked.forEach((i, j) => {
      const map = maps.subarray(j * hw, (j + 1) * hw);
      const base = chwToImage(data.images.subarray(i * hw, (i + 1) * hw), 1, H, W, { range: [0, 255] });
      const tile = overlay(base, heatmapToImage(map, W, H, { cmap: 'inferno', vmin: 0, vmax }), 0.45);
      drawMaskContour(tile, Float32Array.from(map, (v) => (v > T ? 1 : 0)), W, H, [255, 40, 40]);
      const mask = concepts.masks(i).find((m) => m.concept === digit);
      if (mask) drawMaskContour(tile, mask.mask, W, H, [40, 220, 40]);
      tiles.push(tile);
      titles.push(f2(d.scores[i * C + u]!));
    });
    x.dispose();
  }
  return makeGrid(tiles, {
    cols: top,
    tileScale: 2,
    tileTitles: titles,
    rowTitles: d.detectors.map((det, u) => `u${u} ${det.concept >= 0 ? `d${det.concept}` : 'dead'}`),
    title: `${label}: top ${top} images per unit (heat: the unit's map; red: above its threshold; green: its digit's mask)`,
  });
}

export async function dissectCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const { model, arch, dataset, source } = await loadModel(o);
  const variant = MIXTURES[dataset];
  const conceptsName = stringOption(o, 'concepts', 'digits');
  if (conceptsName !== 'digits') throw new UsageError(`--concepts ${conceptsName}: only 'digits' is known (the ten digits' pixel masks of mnist-mixture data sets)`);
  if (!variant) throw new UsageError(`--concepts digits needs a data set with digit masks (${Object.keys(MIXTURES).join(', ')}); '${dataset}' has none. Give --dataset mnist-mixture, or a model trained on one`);
  const quantile = numberOption(o, 'quantile', 0.005);
  const iouThreshold = numberOption(o, 'iou', 0.04);
  const split = stringOption(o, 'split', 'train') as 'train' | 'validation';
  const spec = datasetSpec(dataset);
  const n = numberOption(o, 'n', split === 'train' ? 20000 : 5000);
  if (n < Math.max(...PRECISION_KS)) throw new UsageError(`--n ${n}: precision@K is measured up to K = ${Math.max(...PRECISION_KS)}; give --n ${Math.max(...PRECISION_KS)} or more`);
  const data = (await spec.load(split, n, { masks: true })) as MixtureDataset;
  const concepts = digitConcepts(data);
  const normalization = { mean: spec.mean, std: spec.std };
  const defaults = convUnitLayers(model);
  const layers = o.layer === undefined ? defaults : stringOption(o, 'layer', '').split(',').map((s) => s.trim());
  const labelOf = (layer: string) => (defaults.includes(layer) ? `${layer} (conv${defaults.indexOf(layer) + 1})` : layer);
  // a layer that is not a conv feature map is refused before the long pass
  const probe = gb.tensor(Float32Array.from(data.images.subarray(0, data.height * data.width), (v) => v / 255), [1, 1, data.height, data.width]);
  for (const layer of layers) {
    let shape: number[];
    try {
      shape = gb.noGrad(() => gb.tidy(() => [...forwardWithLayer(model, layer, gb.normalize(probe, normalization)).activation.shape]));
    } catch (e) {
      throw new UsageError(`--layer ${layer}: ${(e as Error).message}. The conv layers' maps are ${defaults.join(', ')}`);
    }
    if (shape.length !== 4) throw new UsageError(`--layer ${layer} outputs [${shape.join(', ')}], not a conv feature map [N, C, h, w]; dissection needs one of ${defaults.join(', ')}`);
  }
  probe.dispose();
  const out = stringOption(o, 'out', join('runs', `dissect-${arch}-${dataset}`));
  console.error(`dissecting ${layers.join(', ')} of ${arch} (${source}) over ${data.n} ${dataset} ${split} images: top ${quantile * 100}% quantile, IoU > ${iouThreshold}`);
  const progress = new Map<string, Progress>();
  const dissection = new UnitDissection(model, {
    layers,
    quantile,
    iouThreshold,
    batchSize: numberOption(o, 'batch-size', 128),
    normalization,
    onProgress: (layer, done, total) => {
      if (!progress.has(layer)) return void progress.set(layer, new Progress({ label: `pass ${layer}`, total, unit: 'img' }));
      if (done < total) progress.get(layer)!.update(done);
      else progress.get(layer)!.done();
    },
  });
  const results = await dissection.dissect(imageSource(data), concepts);

  // ablation: each unit zeroed alone, accuracy lost on the validation images whose class holds each digit
  const ablationImages = numberOption(o, 'ablation-images', 1000);
  const ablations = new Map<string, UnitAblationSweep>();
  if (ablationImages > 0) {
    const val = await spec.load('validation', ablationImages);
    const hw = val.channels * val.height * val.width;
    const x = gb.tensor(Float32Array.from(val.images.subarray(0, val.n * hw), (v) => v / 255), [val.n, val.channels, val.height, val.width]);
    for (const d of results) {
      const bar = new Progress({ label: `ablate ${d.layer}`, total: val.n, unit: 'img' });
      // rows of one tiled pass (ablations x images) kept under ~64 MB of this layer's maps, below the device's binding limit
      const maxRows = Math.max(1, Math.floor(64e6 / (4 * d.shape[0] * d.shape[1] * d.shape[2])));
      ablations.set(d.layer, await unitAblationEffects(model, x, val.labels, { layer: d.layer, normalization, maxRows, batchSize: 64, classDigits: mixtureClassDigits(variant), onProgress: (done) => done < val.n && bar.update(done) }));
      bar.done();
    }
    x.dispose();
  }

  const output = new CommandOutput(out, `Units of ${arch} as digit detectors, and their dissection (${dataset})`);
  const r = output.report;
  r.paragraph(
    `Model: ${source}. ${data.n} ${dataset} ${split} images. Each image's score for a unit is the unit's maximum activation; precision@K is the share of the K top-scored images that hold the digit, ` +
      `precision at recall r the precision where a share r of the images with the digit is found, alignment the AUC of the score for images with the digit against images without. ` +
      `A unit detects the digit of its best mean precision over K = ${PRECISION_KS.join(', ')} and is a clean detector when that precision is >= ${CLEAN_PRECISION} at every K. ` +
      `Dissection: the map upsampled (bilinear) to the image, thresholded at the unit's top ${quantile * 100}% value over all images and positions, IoU with each digit's pixel masks over the data set; ` +
      `interpretable when the best IoU exceeds ${iouThreshold}.` +
      (variant === 'usefulness' ? ' In this variant 8 and 9 are in every image: precision and AUC cannot judge them (they are left out of the detected digit); localised precision (the maximum inside the digit\'s box) and IoU can.' : '') +
      (ablationImages > 0 ? ` Ablation: the unit zeroed, accuracy lost on the ${ablationImages} validation images whose class holds its digit.` : ''),
  );
  const summary: string[][] = [['layer', 'units', 'dead', 'clean detectors', `interpretable (IoU > ${iouThreshold})`, 'digits covered', 'mean ablation drop', 'corr(alignment, ablation)', 'seconds']];
  const layerJson = [];
  for (const d of results) {
    const C = d.shape[0];
    const ab = ablations.get(d.layer);
    const dropOf = (u: number) => {
      const det = d.detectors[u]!;
      const digit = det.concept >= 0 ? det.concept : det.localConcept;
      return ab && digit >= 0 ? ab.effects[u]!.digitDrop![digit]! : NaN;
    };
    const dead = d.detectors.filter((u) => u.concept < 0).length;
    const clean = d.detectors.filter((u) => u.clean).length;
    const alignments = d.detectors.map((u) => (u.concept >= 0 ? u.concepts[u.concept]!.auc : NaN));
    const drops = d.detectors.map((_, u) => dropOf(u));
    const meanDrop = ab ? drops.filter(Number.isFinite).reduce((s, v) => s + v, 0) / Math.max(1, drops.filter(Number.isFinite).length) : NaN;
    summary.push([labelOf(d.layer), String(C), String(dead), String(clean), String(d.interpretable.units.length), d.interpretable.concepts.join(' ') || '-', f3(meanDrop), f2(correlation(alignments, drops)), d.seconds.toFixed(1)]);

    r.section(`Units of ${labelOf(d.layer)}`);
    const rows: string[][] = [['unit', 'digit', ...PRECISION_KS.map((k) => `P@${k}`), ...RECALLS.map((x) => `P@R${x}`), 'alignment (AUC)', 'clean', 'local digit', 'local P@100', 'IoU digit', 'IoU', 'interpretable', ...(ab ? ['ablation drop'] : [])]];
    d.detectors.forEach((det, u) => {
      const c = det.concept >= 0 ? det.concepts[det.concept]! : undefined;
      const k = bestConcept(d.iou[u]!);
      rows.push([
        String(u),
        det.concept >= 0 ? String(det.concept) : 'dead',
        ...PRECISION_KS.map((_, j) => (c ? f2(c.precision[j]!) : '-')),
        ...RECALLS.map((_, j) => (c ? f2(c.precisionAtRecall[j]!) : '-')),
        c ? f3(c.auc) : '-',
        det.clean ? 'yes' : '',
        det.localConcept >= 0 ? String(det.localConcept) : '-',
        det.localConcept >= 0 ? f2(det.concepts[det.localConcept]!.localPrecision[0]!) : '-',
        String(k),
        f3(d.iou[u]!.iou[k]!),
        d.interpretable.units.includes(u) ? 'yes' : '',
        ...(ab ? [f3(drops[u]!)] : []),
      ]);
    });
    const file = d.layer.replace(/[^A-Za-z0-9_.-]/g, '_');
    output.table(`units-${file}.md`, rows, `every unit of ${labelOf(d.layer)}`);
    output.png(`top-${file}.png`, await topImageGrid(model, data, concepts, d, numberOption(o, 'top', 8), normalization, labelOf(d.layer)), `${labelOf(d.layer)}: each unit's top images`);
    const maxK = Math.min(2000, data.n);
    const curves = d.detectors.flatMap((det, u) => {
      if (det.concept < 0) return [];
      const hit = Uint8Array.from({ length: data.n }, (_, i) => concepts.present[i * concepts.names.length + det.concept]!);
      const ranking = rankImages(Float32Array.from({ length: data.n }, (_, i) => d.scores[i * C + u]!));
      return [{ name: `u${u} (digit ${det.concept})`, y: [...precisionCurve(ranking, hit, maxK)], x: Array.from({ length: maxK }, (_, i) => i + 1) }];
    });
    if (curves.length > 0) output.png(`precision-${file}.png`, chartPng({ title: `precision@K, ${labelOf(d.layer)}`, xLabel: 'K (top images)', yLabel: 'precision', series: curves, yRange: [0, 1] }), 'precision curves');
    layerJson.push({
      layer: d.layer,
      label: labelOf(d.layer),
      shape: d.shape,
      seconds: d.seconds,
      clean,
      dead,
      interpretable: d.interpretable,
      curve: { thresholds: IOU_CURVE, units: d.curve },
      meanAblationDrop: meanDrop,
      alignmentAblationCorrelation: correlation(alignments, drops),
      units: d.detectors.map((det, u) => ({ ...det, threshold: d.iou[u]!.threshold, regionPixels: d.iou[u]!.regionPixels, iou: d.iou[u]!.iou, ablation: ab ? ab.effects[u] : undefined })),
    });
  }
  r.section('Summary');
  output.table('summary.md', summary, `per layer: units that are clean digit detectors and interpretable by dissection (NetDissect's scale: 118 of 256 AlexNet-Places365 conv5 units, 72 concepts)`);
  output.png(
    'interpretable-curve.png',
    chartPng({ title: 'interpretable units against the IoU threshold', xLabel: 'IoU threshold', yLabel: 'units', series: results.map((d) => ({ name: labelOf(d.layer), y: d.curve, x: IOU_CURVE })) }),
    'interpretable units at each IoU threshold, per layer',
  );
  output.json('dissect.json', { model: source, arch, dataset, split, images: data.n, quantile, iouThreshold, ks: PRECISION_KS, recalls: RECALLS, cleanPrecision: CLEAN_PRECISION, ablationImages, concepts: concepts.names, layers: layerJson });
  output.finish();
  console.log(summary.map((row) => row.join(' | ')).join('\n'));
  console.log(`report.html, dissect.json and PNGs in ${out}`);
}
