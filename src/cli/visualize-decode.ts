/**
 * `glassbox visualize decode`: inversion by a learned decoder (catalogue A2b; Dosovitskiy & Brox
 * 2016; src/xai/visualize/decoder.ts). For each of --layers it trains an up-convolutional decoder
 * from the frozen model's features back to the image on --train-images training images, then
 * decodes held-out images. Writes into --out `decode.png` (held-out originals, then one row of
 * reconstructions per layer), `report.html`, `decode.json` (per layer: held-out MSE, the model's accuracy on the
 * reconstructions, the training curve; and the mean-image baseline) and `decoder-<layer>.safetensors`
 * per layer, which a rerun with the same settings reuses instead of training (--retrain forces it).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as gb from '../index.ts';
import { writeFileAtomic } from '../../datasets/io.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { chwToImage } from '../viz/image.ts';
import { makeGrid } from '../viz/grid.ts';
import { decoderFromSafetensors, decoderToSafetensors, evaluateDecoder, layerFeatureShape, meanImageMse, trainDecoder, type DecoderSettings, type ImageShape, type TrainedDecoder } from '../xai/visualize/decoder.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

/** Held-out images shown in the picture: the first of each class, then the next ones, up to `count`. */
function shownIndices(labels: ArrayLike<number>, count: number): number[] {
  const firsts = new Map<number, number>();
  Array.from(labels).forEach((label, i) => firsts.has(label) || firsts.set(label, i));
  const picked = [...firsts.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  for (let i = 0; picked.length < Math.min(count, labels.length); i++) if (!picked.includes(i)) picked.push(i);
  return picked.slice(0, count);
}

export async function visualizeDecodeCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  if (o.model === undefined) throw new UsageError('--model is required: a run folder of glassbox train, or a .safetensors file (with --arch and --dataset if it does not record them)');
  const { model, arch, dataset, normalization } = await loadForVisualization(o);
  const spec = datasetSpec(dataset);
  const layers = stringOption(o, 'layers', '').split(',').map((s) => s.trim()).filter(Boolean);
  const known = model.namedModules().map(([path]) => path).filter(Boolean);
  if (layers.length === 0) throw new UsageError(`--layers is required: a comma-separated list of module paths; ${arch}'s are ${known.join(', ')}`);
  const unknown = layers.filter((l) => !known.includes(l));
  if (unknown.length) throw new UsageError(`--layers: no layer ${unknown.map((l) => `'${l}'`).join(', ')} in ${arch}; its layers are ${known.join(', ')} (the paths nn.summary prints)`);

  const train = await spec.load('train', numberOption(o, 'train-images', 10_000));
  const test = await spec.load('validation', numberOption(o, 'test-images', 1000));
  const imageShape: ImageShape = [test.channels, test.height, test.width];
  const pixels = test.channels * test.height * test.width;
  const heldOut = gb.tensor(Float32Array.from(test.images.subarray(0, test.n * pixels), (v) => v / 255), [test.n, ...imageShape]);
  const labels = test.labels.subarray(0, test.n);
  const training = { epochs: numberOption(o, 'epochs', 2), batchSize: numberOption(o, 'batch-size', 64), lr: numberOption(o, 'lr', 1e-3), seed: numberOption(o, 'seed', 0), width: numberOption(o, 'width', 32) };
  const out = stringOption(o, 'out', join('runs', `decode-${arch}-${dataset}`));
  mkdirSync(out, { recursive: true });

  const original = await evaluateOriginals(model, heldOut, labels, normalization);
  const constant = await meanImageMse(train, heldOut);
  console.error(`${arch} on ${dataset}: decoders for ${layers.join(', ')} on ${train.n} training images, scored on ${test.n} held-out (${spec.validationSplit}) images; mean-image MSE ${constant.toFixed(4)}, accuracy on the originals ${(100 * original).toFixed(1)}%`);
  const results = [];
  const pictures: gb.Tensor[] = [];
  for (const layer of layers) {
    const settings: Omit<DecoderSettings, 'classifier'> = { layer, trainImages: train.n, ...training };
    const path = join(out, `decoder-${layer}.safetensors`);
    let trained: TrainedDecoder | undefined;
    if (existsSync(path) && o.retrain !== true) {
      const loaded = await decoderFromSafetensors(new Uint8Array(readFileSync(path)), model, imageShape, settings);
      if ('reason' in loaded) console.error(`not reusing ${path}: ${loaded.reason}; training again`);
      else {
        trained = loaded;
        console.error(`${layer}: reusing ${path} (same settings; --retrain trains again)`);
      }
    }
    if (!trained) {
      const shape = layerFeatureShape(model, layer, imageShape);
      // the steps trainDecoder takes: whole batches only
      const progress = new Progress({ label: `decoder ${layer} [${shape.join('x')}]`, total: training.epochs * Math.floor(train.n / training.batchSize), unit: 'step' });
      const onProgress = (step: number, total: number, loss: number) => step < total && progress.update(step, Number.isFinite(loss) ? { mse: loss } : {});
      trained = await trainDecoder(model, train, { ...training, layer, normalization, onProgress });
      progress.done({ mse: trained.curve[trained.curve.length - 1]!.loss });
      await writeFileAtomic(path, await decoderToSafetensors(trained));
    }
    const evaluation = await evaluateDecoder(model, trained, heldOut, labels, normalization);
    pictures.push(evaluation.reconstructions);
    console.error(`${layer}: held-out MSE ${evaluation.mse.toFixed(4)}, accuracy on the reconstructions ${(100 * evaluation.accuracy).toFixed(1)}%`);
    results.push({ layer, featureShape: trained.featureShape, heldOutMse: evaluation.mse, accuracy: evaluation.accuracy, trainingSeconds: trained.seconds, weights: path, curve: trained.curve });
  }

  const shown = shownIndices(labels, numberOption(o, 'show', 10));
  const rows = [heldOut, ...pictures];
  const tiles = [];
  for (const images of rows) {
    const values = await images.toArray();
    for (const i of shown) tiles.push(chwToImage(values.subarray(i * pixels, (i + 1) * pixels), ...imageShape));
  }
  const rowTitles = ['original', ...results.map((r) => `${r.layer} mse ${r.heldOutMse.toFixed(3)}`)];
  const output = new CommandOutput(out, `Decoders of ${arch} (${dataset}): images from each layer's features`);
  output.report.paragraph(`A decoder per layer, trained on ${train.n} images to map the layer's features back to pixels (Dosovitskiy & Brox 2016), shown on ${test.n} held-out images; the model classifies the reconstructions at the accuracy below (${(100 * original).toFixed(1)}% on the originals).`);
  output.png('decode.png', makeGrid(tiles, { cols: shown.length, rowTitles, tileScale: Math.max(1, Math.floor(84 / test.height)), title: `${arch}: held-out images decoded from each layer's features` }), 'held-out originals (top row) and their reconstruction from each layer');
  output.table(undefined, [['layer', 'held-out MSE', 'accuracy on the reconstructions'], ...results.map((r) => [r.layer, r.heldOutMse.toFixed(4), `${(100 * r.accuracy).toFixed(1)}%`])], `MSE per pixel in [0, 1]; predicting the mean image gives ${constant.toFixed(4)}`);
  output.json('decode.json', {
    method: 'inversion by a learned decoder (Dosovitskiy & Brox 2016)',
    arch,
    dataset,
    trainImages: train.n,
    heldOutImages: test.n,
    heldOutSplit: spec.validationSplit,
    training,
    note: 'MSE per pixel of the reconstruction clamped to [0, 1] against the image in [0, 1]; accuracy: the same model classifying the reconstructions, against the labels',
    meanImageMse: constant,
    accuracyOnOriginals: original,
    shown,
    layers: results,
  });
  output.finish();
  console.log(`decode.png, decode.json, report.html and ${results.length} decoder weights in ${out}`);
  [heldOut, ...pictures].forEach((t) => t.dispose());
}

/** The model's accuracy on the held-out originals, to read the reconstructions' accuracy against. */
async function evaluateOriginals(model: gb.nn.Module, images: gb.Tensor, labels: ArrayLike<number>, normalization: gb.Normalization): Promise<number> {
  let hits = 0;
  const n = images.shape[0]!;
  for (let start = 0; start < n; start += 250) {
    const predicted = gb.tidy(() => gb.noGrad(() => gb.argmax(model.forward(gb.normalize(gb.slice(images, 0, { start, end: Math.min(n, start + 250) }), normalization)), { dim: 1 })));
    (await predicted.toArray()).forEach((c, i) => void (c === labels[start + i] && hits++));
    predicted.dispose();
  }
  return hits / n;
}
