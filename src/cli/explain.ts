/**
 * `glassbox explain`: one image (a PNG file, or image --index of a data set's validation split)
 * explained by one or more methods for one class (--target, default the predicted class). Writes
 * into --out: input.png, per method <method>.png (the map over the image, upscaled) and
 * explanation.json (prediction, probabilities, and every map's per-pixel values).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as gb from '../index.ts';
import { datasetSpec } from '../train/datasets.ts';
import { mapScores } from '../xai/metrics.ts';
import { attributionToImage, chwToImage, overlay, resizeValues, upscale, type RGBAImage } from '../viz/index.ts';
import { readPng, writeJson, writePng } from '../viz/node.ts';
import { defaultCamLayer, loadTrained, methodsByName } from './explain-setup.ts';
import { notApplicableReason } from '../xai/registry.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';

export { EXPLAIN_OPTIONS } from './options.ts';

/** Pixel values in [0, 1], [C, H, W], of a PNG file, made to the model's channels and size. */
function pngPixels(path: string, channels: number, height: number, width: number): Float32Array {
  const img = readPng(path);
  const planes = Array.from({ length: channels }, (_, c) => {
    const plane = Float32Array.from({ length: img.width * img.height }, (_, p) => {
      const [r, g, b] = [img.data[p * 4]!, img.data[p * 4 + 1]!, img.data[p * 4 + 2]!];
      return (channels === 1 ? 0.299 * r + 0.587 * g + 0.114 * b : [r, g, b][c]!) / 255;
    });
    return img.width === width && img.height === height ? plane : resizeValues(plane, img.width, img.height, width, height);
  });
  const out = new Float32Array(channels * height * width);
  planes.forEach((p, c) => out.set(p, c * height * width));
  return out;
}

interface ExplainSource {
  /** [C, H, W] pixel values in [0, 1]. */
  pixels: Float32Array;
  description: string;
  label?: number;
}

export async function explainCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const str = (name: string) => (o[name] === undefined ? undefined : stringOption(o, name, ''));
  const modelPath = str('model');
  if (!modelPath) throw new UsageError('explain needs --model <run folder> (or a .safetensors file with --arch and --dataset)');
  const loaded = await loadTrained(modelPath, str('arch'), str('dataset'));
  const spec = datasetSpec(loaded.dataset);
  const probe = await spec.load('validation', 1);
  const [c, h, w] = [probe.channels, probe.height, probe.width];
  let source: ExplainSource;
  const imagePath = str('image');
  if (imagePath) source = { pixels: pngPixels(imagePath, c, h, w), description: imagePath };
  else {
    if (o.index === undefined) throw new UsageError('explain needs --image <file.png> or --index <i> (an image of the data set\'s validation split)');
    const index = numberOption(o, 'index', 0);
    const data = await spec.load('validation', index + 1);
    if (!Number.isInteger(index) || index < 0 || index >= data.n) throw new UsageError(`--index ${index} is not an image of ${loaded.dataset}'s validation split (0..${data.n - 1})`);
    const size = c * h * w;
    source = { pixels: Float32Array.from(data.images.subarray(index * size, (index + 1) * size), (v) => v / 255), description: `${loaded.dataset} validation image ${index}`, label: data.labels[index] };
  }
  const methodList = stringOption(o, 'method', 'saliency');
  // with 'all', methods that cannot explain this model are skipped and listed; a method named on
  // its own that does not apply is an error that says why
  const notApplicable: Array<{ method: string; reason: string }> = [];
  const methods = methodsByName(methodList).filter((m) => {
    const reason = notApplicableReason(m, loaded.model);
    if (!reason) return true;
    if (methodList !== 'all') throw new UsageError(`--method ${m.name} does not apply to this model: ${reason}`);
    notApplicable.push({ method: m.name, reason });
    console.error(`  ${m.name}: not applicable: ${reason}`);
    return false;
  });
  const out = stringOption(o, 'out', join('runs', 'explain'));
  const channelOf = (i: number) => Math.min(Math.floor(i / (h * w)), spec.mean.length - 1);
  const input = gb.tensor(Float32Array.from(source.pixels, (v, i) => (v - spec.mean[channelOf(i)]!) / spec.std[channelOf(i)]!), [1, c, h, w]);
  const probabilities = Array.from(await gb.tidy(() => gb.noGrad(() => gb.softmax(loaded.model.forward(input), 1))).toArray());
  const predicted = probabilities.indexOf(Math.max(...probabilities));
  const target = o.target === undefined ? predicted : numberOption(o, 'target', 0);
  if (!Number.isInteger(target) || target < 0 || target >= probabilities.length) throw new UsageError(`--target ${target} is not a class of the model (0..${probabilities.length - 1})`);
  // the CAM layer is looked up only where a method explains a feature map (a model without convs has none)
  const needsLayer = methods.some((m) => m.requires?.includes('feature-map'));
  // methods that draw baselines from data (GradientSHAP, expected gradients) use validation images
  const BACKGROUND = 16;
  const data = await spec.load('validation', BACKGROUND);
  const size = c * h * w;
  const background = gb.tensor(Float32Array.from(data.images.subarray(0, data.n * size), (v, i) => (v / 255 - spec.mean[channelOf(i % size)]!) / spec.std[channelOf(i % size)]!), [data.n, c, h, w]);
  const ctx = { layer: str('layer') ?? (needsLayer ? defaultCamLayer(loaded.model, input) : ''), background };

  mkdirSync(out, { recursive: true });
  const scale = Math.max(1, Math.round(224 / Math.max(h, w)));
  const picture: RGBAImage = upscale(chwToImage(source.pixels, c, h, w), scale);
  writePng(join(out, 'input.png'), picture);
  const maps = [];
  for (const m of methods) {
    const started = performance.now();
    const attribution = await m.create(loaded.model, ctx).attribute(input, { target: [target] });
    const seconds = (performance.now() - started) / 1000;
    const [map] = await mapScores(attribution);
    attribution.dispose();
    const heat = upscale(attributionToImage(map!, w, h, { mode: m.signed ? 'signed' : 'absolute' }), scale);
    writePng(join(out, `${m.name}.png`), overlay(picture, heat, 0.6));
    maps.push({ method: m.name, catalogue: m.catalogue, description: m.description, signed: m.signed, seconds, height: h, width: w, map: Array.from(map!) });
    console.error(`  ${m.name}: ${seconds.toFixed(2)} s -> ${join(out, `${m.name}.png`)}`);
  }
  input.dispose();
  background.dispose();
  writeJson(join(out, 'explanation.json'), { model: modelPath, arch: loaded.arch, dataset: loaded.dataset, source: source.description, label: source.label, predicted, target, probabilities, layer: ctx.layer || undefined, maps, notApplicable });
  console.log(`explained ${source.description} (predicted ${probe.classes[predicted] ?? predicted}, target ${target}) with ${methods.length} method(s); files in ${out}`);
}
