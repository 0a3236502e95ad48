/**
 * Catalogue A2, inversion by optimisation (Mahendran & Vedaldi 2015), on the trained LeNet-5:
 * a held-out digit is reconstructed from its code at a layer; the normalised feature error is small
 * at the first conv layer and the pixel error grows with depth (the paper's finding: early layers
 * reconstruct the input, deeper ones lose detail); L-BFGS gets there too; the CLI writes its PNG
 * and JSON; an unknown layer lists the known paths.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { VISUALIZE_INVERT_OPTIONS } from '../src/cli/options.ts';
import { visualizeInvertCommand } from '../src/cli/visualize-invert.ts';
import { readPng } from '../src/viz/node.ts';
import * as opt from '../src/xai/optimize/index.ts';
import { invertLayers } from '../src/xai/visualize/inversion.ts';
import { loadDataset } from '../datasets/index.ts';
import { trainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

let model: gb.nn.Module;
let digits: gb.Tensor;
const norm = gb.normalization.mnist!;
const LAYERS = ['features.0', 'features.3', 'classifier.3'];
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

beforeAll(async () => {
  model = (await trainedModel('lenet-mnist')).model;
  const data = await loadDataset('mnist', { split: 'test', n: 2 });
  digits = gb.tensor(Float32Array.from(data.images.subarray(0, 2 * 784), (v) => v / 255), [2, 1, 28, 28]);
});

describe('A2 inversion by optimisation on the trained LeNet-5', () => {
  it.each([
    ['adam', 100, 0.1],
    ['lbfgs', 20, 0.03],
  ] as const)('%s, %i steps: feature error is small at the first conv layer and falls at every layer; pixel error grows with depth', async (optimizer, steps, firstLayerError) => {
    const results = await invertLayers(model, digits, LAYERS, { normalization: norm, steps, optimizer, seed: 0 });
    console.log(`A2 LeNet-5, 2 test digits, ${optimizer} ${steps} steps: ${results.map((r) => `${r.layer} feature error ${meanOf(r.featureError).toFixed(3)} (from ${meanOf(r.initialFeatureError).toFixed(2)}), pixel RMS ${meanOf(r.pixelError).toFixed(3)}`).join('; ')}`);
    expect(meanOf(results[0]!.featureError)).toBeLessThan(firstLayerError);
    for (const r of results) expect(meanOf(r.featureError)).toBeLessThan(meanOf(r.initialFeatureError) / 2);
    const pixel = results.map((r) => meanOf(r.pixelError));
    expect(pixel[1]!).toBeGreaterThan(pixel[0]!);
    expect(pixel[2]!).toBeGreaterThan(pixel[1]!);
    results.forEach((r) => r.images.dispose());
  });

  it('L-BFGS refuses random transforms (its line search needs the same loss at every evaluation)', async () => {
    const target = gb.zeros([1, 6, 28, 28]);
    await expect(opt.renderVis(model, opt.featureMatch('features.0', target), { inputShape: [1, 28, 28], normalization: norm, optimizer: 'lbfgs', transforms: [opt.jitter(2)], steps: 1 })).rejects.toThrow(/L-BFGS needs the same loss.*jitter\(2\).*optimizer 'adam'/);
    target.dispose();
  });
});

describe('glassbox visualize invert', () => {
  it('writes a PNG grid (originals and one reconstruction per layer) and JSON with the errors per layer and image', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-invert-'));
    const argv = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--layers', 'features.0,features.3', '--n', '2', '--steps', '5', '--out', out];
    await visualizeInvertCommand(parseArgs(argv, VISUALIZE_INVERT_OPTIONS));
    const json = JSON.parse(readFileSync(join(out, 'invert.json'), 'utf8')) as { images: number[]; layers: Array<{ layer: string; featureError: number[]; pixelError: number[]; curve: number[] }> };
    expect(json.images).toEqual([0, 1]);
    expect(json.layers.map((l) => l.layer)).toEqual(['features.0', 'features.3']);
    for (const l of json.layers) {
      expect(l.featureError).toHaveLength(2);
      expect(l.pixelError).toHaveLength(2);
      expect(l.curve).toHaveLength(5);
    }
    const png = readPng(join(out, 'invert.png'));
    expectCommandReport(out, { shown: ['invert.png'], listed: ['invert.json'] });
    expect(png.width).toBeGreaterThan(3 * 112);
  });

  it('an unknown layer lists the known paths; --index with --n and a missing --layers are refused', async () => {
    const run = (extra: string[]) => visualizeInvertCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--steps', '1', '--out', mkdtempSync(join(tmpdir(), 'gb-invert-')), ...extra], VISUALIZE_INVERT_OPTIONS));
    await expect(run(['--layers', 'features.9'])).rejects.toThrow(/no layer 'features.9'.*features.3.*classifier.5/);
    await expect(run(['--layers', 'features.0', '--index', '1', '--n', '2'])).rejects.toThrow(UsageError);
    await expect(run([])).rejects.toThrow(/give --layers/);
  });
});
