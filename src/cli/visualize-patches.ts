/**
 * `glassbox visualize patches`: the top-activating validation patches of each unit of a layer
 * (catalogue E2; src/xai/units/top-patches.ts). Writes into --out one PNG grid per unit
 * (`<layer>-channel-<c>.png`), `patches.png` (every unit a row) and `patches.json` (the layer's
 * receptive-field geometry, and per unit each patch's activation, image index, position and box);
 * with --features also `units.png`: each unit's feature visualisation (E1) first in its row.
 */
import { join } from 'node:path';
import * as gb from '../index.ts';
import { makeGrid } from '../viz/grid.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { receptiveField } from '../xai/units/receptive-field.ts';
import { patchTiles, topPatches, unitGrid } from '../xai/units/top-patches.ts';
import { standardTransforms } from '../xai/optimize/transforms.ts';
import { imageTiles, visualizeFeatures } from '../xai/visualize/features.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { defaultCamLayer, loadTrained } from './explain-setup.ts';

/** 'all', 'a-b' or 'a,b,c' as channel indices of a layer with `count` channels (or, with `what`, other indices: classes of the output). */
export function parseChannels(text: string, count: number, layer: string, what = { option: '--channels', unit: 'channel', owner: `layer '${layer}'` }): number[] {
  if (text === 'all') {
    if (!Number.isSafeInteger(count) || count > 1_000_000) throw new UsageError(`${what.option} all: the size of ${what.owner} is not known here; give a range like 0-7`);
    return Array.from({ length: count }, (_, i) => i);
  }
  const out: number[] = [];
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!range) throw new UsageError(`${what.option}: '${part}' is not a ${what.unit}, a range like 0-7 or 'all'`);
    const [from, to] = [Number(range[1]), Number(range[2] ?? range[1])];
    if (to < from) throw new UsageError(`${what.option}: the range ${part} runs backwards; write ${to}-${from}`);
    if (to >= count) throw new UsageError(`${what.option}: ${what.unit} ${to} is out of range; ${what.owner} has ${count} ${what.unit}${what.unit.endsWith('s') ? 'es' : 's'} (0-${count - 1})`);
    for (let c = from; c <= to; c++) if (!out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * Each unit's channel visualisation (E1: Fourier, Lucid's standard transforms, one batch), as a
 * multiple of its top exemplar among the same images.
 */
async function unitPictures(model: gb.nn.Module, layer: string, channels: number[], images: gb.Tensor, normalization: gb.Normalization, steps: number, seed: number) {
  const [c, h, w] = images.shape.slice(1) as [number, number, number];
  const progress = new Progress({ label: 'features', total: steps, unit: 'step' });
  const result = await visualizeFeatures(model, { layer, channel: channels }, { inputShape: [c, h, w], normalization, param: 'fourier', transforms: standardTransforms(), steps, batch: channels.length, seed, onStep: (step) => step < steps && progress.update(step) }, { images });
  progress.done();
  const tiles = await imageTiles(result.images);
  [result.images, result.rendered, result.probabilities].forEach((t) => t?.dispose());
  return { tiles, steps, final: result.final, exemplarRatio: result.exemplarRatio!, exemplars: result.exemplars! };
}

export async function visualizePatchesCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const modelPath = o.model === undefined ? undefined : stringOption(o, 'model', '');
  if (!modelPath) throw new UsageError('--model is required: a run folder of glassbox train, or a .safetensors file with --arch and --dataset');
  const loaded = await loadTrained(modelPath, o.arch as string | undefined, o.dataset as string | undefined);
  const spec = datasetSpec(loaded.dataset);
  const n = numberOption(o, 'n', 1000);
  const data = await spec.load('validation', n);
  const [c, h, w] = [data.channels, data.height, data.width];
  const count = Math.min(n, data.n);
  const images = gb.tensor(Float32Array.from(data.images.subarray(0, count * c * h * w), (v) => v / 255), [count, c, h, w]);
  const normalization = { mean: spec.mean, std: spec.std };

  const layer = o.layer === undefined ? gb.tidy(() => defaultCamLayer(loaded.model, gb.normalize(gb.slice(images, 0, { start: 0, end: 1 }), normalization))) : stringOption(o, 'layer', '');
  let geometry;
  try {
    geometry = receptiveField(loaded.model, layer, [1, c, h, w]);
  } catch (e) {
    throw new UsageError(`--layer ${layer}: ${(e as Error).message.replace(/^glassbox\.xai\.units: /, '')}`);
  }
  const channels = parseChannels(stringOption(o, 'channels', 'all'), geometry.outputShape[0], layer);
  const k = numberOption(o, 'k', 9);
  const out = stringOption(o, 'out', join('runs', `patches-${loaded.arch}-${layer}`));
  console.error(`top ${k} of ${count} ${loaded.dataset} images for ${channels.length} units of ${loaded.arch} '${layer}' (fields ${geometry.y.size}x${geometry.x.size} px)`);
  const started = performance.now();
  const progress = new Progress({ label: 'pass', total: count, unit: 'img' });
  const result = await topPatches(loaded.model, images, { layer, k, channels, batchSize: numberOption(o, 'batch-size', 128), normalization, onProgress: (done) => done < count && progress.update(done) });
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  const tiles = await patchTiles(images, result);
  const drawn = o.features === true ? await unitPictures(loaded.model, layer, channels, images, normalization, numberOption(o, 'feature-steps', 128), numberOption(o, 'seed', 0)) : null;
  const output = new CommandOutput(out, `Top data set patches of ${loaded.arch} ${layer} (${loaded.dataset})`);
  output.report.paragraph(`For each unit, the ${k} of ${count} validation images where it fires most, cropped to its ${geometry.y.size}x${geometry.x.size}-pixel receptive field (${seconds.toFixed(1)} s for the pass).`);
  const scale = Math.max(1, Math.floor(48 / Math.max(geometry.y.size, geometry.x.size)));
  output.png(
    'patches.png',
    makeGrid(tiles.flat(), { cols: k, tileScale: scale, rowTitles: result.units.map((u) => `ch ${u.channel}`), title: `${loaded.arch} ${layer}: top ${k} of ${count} images per unit` }),
    'one row per unit, its top patches from left to right',
  );
  if (drawn) {
    const ratioText = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x top` : 'no exemplar > 0');
    output.png(
      'units.png',
      // the picture at the patches' scale, so that a pixel is the same size in the whole row
      makeGrid(
        result.units.flatMap((_, i) => [drawn.tiles[i]!, ...tiles[i]!]),
        { cols: k + 1, tileScale: scale, rowTitles: result.units.map((u) => `ch ${u.channel}`), tileTitles: result.units.flatMap((u, i) => [ratioText(drawn.exemplarRatio[i]!), ...u.patches.map((p) => p.value.toFixed(2))]), colTitles: ['visualisation', ...Array.from({ length: k }, (_, r) => `top ${r + 1}`)], title: `${loaded.arch} ${layer}: what each unit responds to` },
      ),
      `one row per unit: its feature visualisation (${drawn.steps} steps, captioned with its activation over the top exemplar's), then its top ${k} patches with their activations`,
    );
  }
  result.units.forEach((unit, i) => output.png(`${layer}-channel-${unit.channel}.png`, unitGrid(unit, tiles[i]!, { layer }), `unit ${unit.channel}: its top patches with their activations`, false));
  output.json('patches.json', {
    model: modelPath,
    arch: loaded.arch,
    dataset: loaded.dataset,
    split: spec.validationSplit,
    layer,
    images: result.images,
    k,
    seconds,
    geometry: { y: geometry.y, x: geometry.x, outputShape: geometry.outputShape, windows: geometry.windows },
    units: result.units.map((u, i) => ({ channel: u.channel, ...(drawn && { visualisation: { activation: drawn.final[i], exemplarRatio: drawn.exemplarRatio[i], exemplar: drawn.exemplars[i] } }), patches: u.patches.map((p, rank) => ({ rank, ...p })) })),
    ...(drawn && { featureSteps: drawn.steps }),
  });
  output.finish();
  console.log(`${result.units.length} unit grids, patches.png, patches.json and report.html in ${out} (${seconds.toFixed(1)} s for the pass)`);
  images.dispose();
}
