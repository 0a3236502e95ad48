/**
 * Catalogue A2b (Dosovitskiy & Brox 2016) on the trained LeNet-5 (MNIST): a decoder trained from
 * the first conv layer's features reconstructs held-out digits far better than the best constant
 * (the mean training image), and better than a decoder from the last hidden layer; the frozen
 * classifier is left untouched; a trained decoder round-trips through safetensors and is refused
 * for other settings; the decoder fits every layer shape of the net. Small sizes: seconds.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { buildDecoder, decoderFromSafetensors, decoderToSafetensors, evaluateDecoder, layerFeatureShape, meanImageMse, trainDecoder, type TrainedDecoder } from '../src/xai/visualize/decoder.ts';
import { loadDataset } from '../datasets/index.ts';
import type { ImageDataset } from '../datasets/types.ts';
import { trainedModel } from './trained-models.ts';
import { parseArgs } from '../src/cli/args.ts';
import { VISUALIZE_DECODE_OPTIONS } from '../src/cli/options.ts';
import { visualizeDecodeCommand } from '../src/cli/visualize-decode.ts';
import { readPng } from '../src/viz/node.ts';
import { expectCommandReport } from './command-report.ts';

const norm = gb.normalization.mnist!;
const TRAIN = 512;
const HELD_OUT = 200;
const small = { epochs: 3, batchSize: 32, lr: 3e-3, seed: 0, normalization: norm };

let model: gb.nn.Module;
let train: ImageDataset;
let heldOut: gb.Tensor;
let labels: Uint8Array;
let first: TrainedDecoder;
let weightsBefore: Float32Array[];

beforeAll(async () => {
  model = (await trainedModel('lenet-mnist')).model;
  train = await loadDataset('mnist', { split: 'train', limit: TRAIN });
  const val = await loadDataset('mnist', { split: 'test', limit: HELD_OUT });
  heldOut = gb.tensor(Float32Array.from(val.images.subarray(0, HELD_OUT * 784), (v) => v / 255), [HELD_OUT, 1, 28, 28]);
  labels = val.labels.subarray(0, HELD_OUT);
  weightsBefore = (await Promise.all(model.parameters().map((p) => p.toArray()))) as Float32Array[];
  first = await trainDecoder(model, train, { ...small, layer: 'features.0' });
});

describe('decoder inversion (A2b)', () => {
  it('the first conv layer decodes well below the mean image, and below the last hidden layer', async () => {
    const constant = await meanImageMse(train, heldOut);
    const early = await evaluateDecoder(model, first, heldOut, labels, norm);
    const deep = await evaluateDecoder(model, await trainDecoder(model, train, { ...small, layer: 'classifier.4' }), heldOut, labels, norm);
    console.log(`held-out MSE: mean image ${constant.toFixed(4)}, features.0 ${early.mse.toFixed(4)} (accuracy ${early.accuracy}), classifier.4 ${deep.mse.toFixed(4)} (accuracy ${deep.accuracy})`);
    expect(early.mse).toBeLessThan(constant / 10);
    expect(early.mse).toBeLessThan(deep.mse);
    // the training curve falls and the reconstructions are what was scored
    expect(first.curve[first.curve.length - 1]!.loss).toBeLessThan(first.curve[0]!.loss);
    expect(early.reconstructions.shape).toEqual([HELD_OUT, 1, 28, 28]);
    early.reconstructions.dispose();
    deep.reconstructions.dispose();
  });

  it('leaves the classifier frozen', async () => {
    const after = await Promise.all(model.parameters().map((p) => p.toArray()));
    after.forEach((a, i) => expect(a).toEqual(weightsBefore[i]));
  });

  it('round-trips through safetensors and is refused for other settings', async () => {
    const bytes = await decoderToSafetensors(first);
    const loaded = await decoderFromSafetensors(bytes, model, [1, 28, 28], first.settings);
    if ('reason' in loaded) throw new Error(loaded.reason);
    expect(loaded.curve).toEqual(first.curve);
    const original = await Promise.all(first.decoder.parameters().map((p) => p.toArray()));
    const restored = await Promise.all(loaded.decoder.parameters().map((p) => p.toArray()));
    restored.forEach((r, i) => expect(r).toEqual(original[i]));
    const x = gb.slice(heldOut, 0, { start: 0, end: 4 });
    const a = await evaluateDecoder(model, first, x, labels.subarray(0, 4), norm);
    const b = await evaluateDecoder(model, loaded, x, labels.subarray(0, 4), norm);
    expect(await b.reconstructions.toArray()).toEqual(await a.reconstructions.toArray());
    const other = await decoderFromSafetensors(bytes, model, [1, 28, 28], { ...first.settings, epochs: first.settings.epochs + 1 });
    expect('reason' in other && other.reason).toMatch(/epochs 3 here 4/);
    const wrongLayer = await decoderFromSafetensors(bytes, model, [1, 28, 28], { ...first.settings, layer: 'features.3' });
    expect('reason' in wrongLayer && wrongLayer.reason).toMatch(/layer features.0 here features.3/);
    // another classifier (the same architecture, other weights) gets its own decoder
    const otherModel = gb.models.lenet5();
    const retrained = await decoderFromSafetensors(bytes, otherModel, [1, 28, 28], first.settings);
    expect('reason' in retrained && retrained.reason).toMatch(/classifier [0-9a-f]{8} here [0-9a-f]{8}/);
  });

  it('builds a decoder to the image size from every layer shape of LeNet-5, and names unknown layers', () => {
    for (const layer of ['features.3', 'features.5', 'classifier.0']) {
      const shape = layerFeatureShape(model, layer, [1, 28, 28]);
      const out = gb.tidy(() => buildDecoder(shape, [1, 28, 28]).forward(gb.zeros([2, ...shape])));
      expect(out.shape, layer).toEqual([2, 1, 28, 28]);
      out.dispose();
    }
    expect(() => layerFeatureShape(model, 'features.9', [1, 28, 28])).toThrow(/no layer 'features.9'.*features.0/);
    expect(() => buildDecoder([3, 4], [1, 28, 28])).toThrow(/\[3, 4\].*conv layer/);
  });

  it('the CLI writes the picture, the JSON and the weights, reuses the weights on a rerun, and names unknown layers', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-decode-'));
    const argv = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--layers', 'features.0', '--train-images', '64', '--batch-size', '32', '--epochs', '1', '--test-images', '20', '--out', out];
    await visualizeDecodeCommand(parseArgs(argv, VISUALIZE_DECODE_OPTIONS));
    const weights = join(out, 'decoder-features.0.safetensors');
    const written = statSync(weights).mtimeMs;
    const json = JSON.parse(readFileSync(join(out, 'decode.json'), 'utf8')) as { meanImageMse: number; layers: Array<{ layer: string; heldOutMse: number; accuracy: number; curve: unknown[] }> };
    expect(json.layers.map((l) => l.layer)).toEqual(['features.0']);
    expect(json.layers[0]!.curve).toHaveLength(1);
    expect(readPng(join(out, 'decode.png')).height).toBeGreaterThan(2 * 28);
    expectCommandReport(out, { shown: ['decode.png'], listed: ['decode.json'] });
    await visualizeDecodeCommand(parseArgs(argv, VISUALIZE_DECODE_OPTIONS));
    expect(statSync(weights).mtimeMs).toBe(written);
    const again = JSON.parse(readFileSync(join(out, 'decode.json'), 'utf8')) as typeof json;
    expect(again.layers[0]!.heldOutMse).toBe(json.layers[0]!.heldOutMse);
    await expect(visualizeDecodeCommand(parseArgs([...argv, '--layers', 'features.9'], VISUALIZE_DECODE_OPTIONS))).rejects.toThrow(/no layer 'features.9' in lenet5; its layers are .*features.0/);
  });
});
