/**
 * `glassbox embed`: catalogue A6. A model's layers over the first --n validation images: one image's
 * activation maps per layer (maps-<layer>.png), each layer's activations projected to 2-D by PCA
 * and/or t-SNE (<method>-<layer>.png, coloured by class), and class separation per layer as
 * leave-one-out kNN accuracy in the 2-D map and in the layer's full space (knn.png, knn.md), the
 * depth finding: it rises from the pixels to the logits. embed.json holds every number and the 2-D
 * points; report.html shows it all.
 */
import { tensor } from '../tensor/ops/creation.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { linePlot, scatterPlot, type Series } from '../viz/plot.ts';
import { activationGrid, collectActivations, defaultLayers, INPUT_LAYER, layersInOrder } from '../xai/representations/activations.ts';
import { LayerEmbedding, type EmbeddingMethod, type LayerScore } from '../xai/representations/embedding.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

/** 'default', 'all' or a comma-separated list of module paths (and 'input'), checked against the model's. */
export function parseLayers(text: string, known: readonly string[], defaults: readonly string[]): string[] {
  if (text === 'default') return [...defaults];
  if (text === 'all') return [INPUT_LAYER, ...known];
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => n !== INPUT_LAYER && !known.includes(n));
  if (unknown.length || names.length === 0) throw new UsageError(`--layers ${text}: ${unknown.length ? `no layer ${unknown.join(', ')}` : 'no layers'}; choose from ${INPUT_LAYER}, ${known.join(', ')}, or 'default' / 'all'`);
  return names;
}

const pct = (a: number | undefined) => (a === undefined ? '-' : (100 * a).toFixed(1));
const fileName = (layer: string) => layer.replace(/[^A-Za-z0-9_-]+/g, '_');

export async function embedCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const loaded = await loadForVisualization(o);
  if (loaded.dataset === 'unknown') throw new UsageError('--model: the file records no data set; give --dataset');
  const method = stringOption(o, 'method', 'pca');
  const methods: EmbeddingMethod[] = method === 'both' ? ['pca', 'tsne'] : [method as EmbeddingMethod];
  const n = numberOption(o, 'n', 2000);
  const k = numberOption(o, 'k', 5);
  const perplexity = numberOption(o, 'perplexity', 30);
  const iterations = numberOption(o, 'iterations', 1000);
  const index = numberOption(o, 'index', 0);
  const seed = numberOption(o, 'seed', 0);
  const out = stringOption(o, 'out', `runs/embed-${loaded.arch}-${loaded.dataset}`);
  const spec = datasetSpec(loaded.dataset);
  const data = await spec.load('validation', n);
  if (k >= data.n) throw new UsageError(`--k ${k}: needs more than ${k} images, and only ${data.n} were loaded (--n ${n})`);
  if (methods.includes('tsne') && !(perplexity < data.n - 1)) throw new UsageError(`--perplexity ${perplexity}: needs more than ${Math.ceil(perplexity) + 1} images, and only ${data.n} were loaded (--n ${n})`);
  if (index >= data.n) throw new UsageError(`--index ${index}: only ${data.n} validation images were loaded (--n ${n})`);
  const size = data.channels * data.height * data.width;
  const images = tensor(Float32Array.from(data.images.subarray(0, data.n * size), (v) => v / 255), [data.n, data.channels, data.height, data.width]);
  const labels = Array.from(data.labels.subarray(0, data.n));
  const normalization = loaded.normalization;
  const probe = tensor(Float32Array.from(data.images.subarray(0, size), (v) => v / 255), [1, data.channels, data.height, data.width]);
  const layers = parseLayers(stringOption(o, 'layers', 'default'), layersInOrder(loaded.model, probe), defaultLayers(loaded.model, probe));
  probe.dispose();

  console.error(`${methods.join(' + ')} of ${layers.length} layers of ${loaded.arch} over ${data.n} ${loaded.dataset} validation images: ${layers.join(', ')}`);
  const started = performance.now();
  const bars = new Map<string, Progress>();
  const result = await new LayerEmbedding(loaded.model, {
    layers,
    methods,
    k,
    normalization,
    batchSize: numberOption(o, 'batch-size', 250),
    pca: { seed },
    tsne: { perplexity, iterations, seed },
    onProgress: (phase, done, total, metrics) => {
      if (phase.startsWith('knn')) return;
      let bar = bars.get(phase);
      if (!bar) bars.set(phase, (bar = new Progress({ label: phase, total, unit: phase.startsWith('tsne') ? 'iter' : 'img' })));
      if (done === 0) return; // the bar's clock starts here
      if (done >= total) bar.done(metrics ?? {});
      else bar.update(done, metrics ?? {});
    },
  }).embed(images, labels);
  const seconds = (performance.now() - started) / 1000;

  const output = new CommandOutput(out, `Layer embeddings of ${loaded.arch} (${loaded.dataset}): ${methods.join(' and ')} of ${data.n} validation images`);
  output.report.paragraph(
    `Each layer's activations over ${data.n} validation images, flattened to one vector per image, projected to 2-D and scored by leave-one-out ${k}-nearest-neighbour accuracy (Euclidean; a point's label predicted by the majority of its ${k} nearest other points), ` +
      `in the 2-D map and in the layer's full space. Class separation rising with depth is the finding to see.` +
      (methods.includes('tsne') ? ` t-SNE: perplexity ${perplexity}, ${iterations} iterations, exact gradients (van der Maaten & Hinton 2008), early exaggeration 12 for 250 iterations, PCA initialisation.` : ''),
  );
  // the depth curve and its table
  const xs = result.layers.map((_, i) => i);
  const series: Series[] = [{ name: `kNN, full space`, x: xs, y: result.layers.map((l) => l.knnFull) }];
  for (const m of methods) series.push({ name: `kNN, ${m} 2-D`, x: xs, y: result.layers.map((l) => l.projections[m]!.knn2d) });
  output.png('knn.png', linePlot(series, { title: `class separation by depth: ${loaded.arch}, ${data.n} images, k = ${k}`, xLabel: `layer (0 = input; ${layers.slice(1).map((l, i) => `${i + 1} = ${l}`).join(', ')})`, yLabel: `${k}-NN accuracy`, yRange: [0, 1], width: 900, height: 480, legend: 'bottom-right' }), 'leave-one-out kNN accuracy per layer, in the full space and in each 2-D map');
  output.table('knn.md', knnTable(result.layers, methods), `leave-one-out ${k}-NN accuracy (%) per layer, ${data.n} ${loaded.dataset} validation images`);

  // the scatter plots, in depth order
  output.report.section('2-D maps, coloured by class');
  const classNames = loaded.classNames;
  for (const layer of result.layers)
    for (const m of methods) {
      const p = layer.projections[m]!;
      const xsP = Array.from({ length: data.n }, (_, i) => p.points[2 * i]!);
      const ysP = Array.from({ length: data.n }, (_, i) => p.points[2 * i + 1]!);
      const extra = m === 'pca' ? `, variance explained ${p.explainedVarianceRatio!.map((r) => (100 * r).toFixed(1)).join('% + ')}%` : `, KL ${p.kl!.toFixed(3)}`;
      output.png(`${m}-${fileName(layer.layer)}.png`, scatterPlot(xsP, ysP, labels, { title: `${m}: ${layer.layer} (${layer.dimensions} dims)`, classNames, pointRadius: 2, width: 560, height: 440 }), `${m} of ${layer.layer} [${layer.shape.join('x')}]: 2-D kNN ${pct(p.knn2d)}%, full-space kNN ${pct(layer.knnFull)}%${extra}`);
    }

  // activation maps of one image at every layer
  output.report.section(`Activation maps of validation image ${index} (label ${classNames[labels[index]!] ?? labels[index]})`);
  const one = tensor(Float32Array.from(data.images.subarray(index * size, (index + 1) * size), (v) => v / 255), [1, data.channels, data.height, data.width]);
  const maps = await collectActivations(loaded.model, one, layers, { normalization });
  one.dispose();
  for (const m of maps) output.png(`maps-${fileName(m.layer)}.png`, activationGrid(m.values, m.shape, { title: `${m.layer} [${m.shape.join('x')}]` }), `image ${index} at ${m.layer}: every channel on one viridis scale from ${Math.min(...m.values).toPrecision(3)} to ${Math.max(...m.values).toPrecision(3)}`);

  output.json('embed.json', {
    model: stringOption(o, 'model', ''),
    arch: loaded.arch,
    dataset: loaded.dataset,
    images: data.n,
    k,
    methods,
    tsne: methods.includes('tsne') ? { perplexity, iterations, earlyExaggeration: 12, exaggerationIterations: 250, init: 'pca' } : null,
    seed,
    seconds,
    labels,
    layers: result.layers.map((l) => ({ layer: l.layer, shape: l.shape, dimensions: l.dimensions, knnFull: l.knnFull, projections: l.projections })),
  });
  output.finish();
  images.dispose();
  const first = result.layers[0]!;
  const last = result.layers[result.layers.length - 1]!;
  console.error(`kNN accuracy (full space) ${first.layer} ${pct(first.knnFull)}% -> ${last.layer} ${pct(last.knnFull)}% (${seconds.toFixed(0)} s); wrote ${out}/knn.png, knn.md, embed.json, ${methods.join('/')}-<layer>.png, maps-<layer>.png, report.html`);
}

function knnTable(layers: readonly LayerScore[], methods: readonly EmbeddingMethod[]): string[][] {
  return [
    ['layer', 'shape', 'dimensions', 'kNN full space', ...methods.map((m) => `kNN ${m} 2-D`), ...methods.map((m) => (m === 'pca' ? 'PCA variance explained (2 axes)' : 't-SNE KL'))],
    ...layers.map((l) => [
      l.layer,
      l.shape.join('x'),
      String(l.dimensions),
      pct(l.knnFull),
      ...methods.map((m) => pct(l.projections[m]!.knn2d)),
      ...methods.map((m) => (m === 'pca' ? `${(100 * l.projections.pca!.explainedVarianceRatio!.reduce((a, b) => a + b, 0)).toFixed(1)}%` : l.projections.tsne!.kl!.toFixed(3))),
    ]),
  ];
}
