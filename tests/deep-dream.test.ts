/**
 * Catalogue A3b, DeepDream (Mordvintsev et al. 2015), on the trained LeNet-5 and the mixture net:
 * the chosen layer's mean square activation rises by a clear factor from a real validation image;
 * octaves give back an image of the start's size; the normalised-gradient step moves the pixels by
 * lr on average (DeepDream's g / mean|g|); the CLI writes its PNGs and JSON.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { VISUALIZE_DREAM_OPTIONS } from '../src/cli/options.ts';
import { visualizeDreamCommand } from '../src/cli/visualize-dream.ts';
import { readPng } from '../src/viz/node.ts';
import * as opt from '../src/xai/optimize/index.ts';
import { deepDream, octaveSizes } from '../src/xai/visualize/deep-dream.ts';
import { loadDataset } from '../datasets/index.ts';
import { trainedModel, type FixtureName } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

async function firstValidationImage(dataset: 'mnist' | 'mnist-mixture'): Promise<gb.Tensor> {
  const data = await loadDataset(dataset, { split: 'test', n: 1 });
  const size = data.channels * data.height * data.width;
  return gb.tensor(Float32Array.from(data.images.subarray(0, size), (v) => v / 255), [1, data.channels, data.height, data.width]);
}

describe('A3b DeepDream', () => {
  const cases: Array<[FixtureName, 'mnist' | 'mnist-mixture', string, keyof typeof gb.normalization]> = [
    ['lenet-mnist', 'mnist', 'features.4', 'mnist'],
    ['mixture-net', 'mnist-mixture', 'features.5', 'mnist-mixture'],
  ];
  it.each(cases)('%s (%s): the mean square of %s rises by a clear factor; octaves keep the image size', async (fixture, dataset, layer, normName) => {
    const model = (await trainedModel(fixture)).model;
    const start = await firstValidationImage(dataset);
    const [, c, h, w] = start.shape as [number, number, number, number];
    const r = await deepDream(model, start, layer, { inputShape: [c, h, w], normalization: gb.normalization[normName]!, octaves: 3, octaveScale: 1.4, steps: 10, lr: 0.02, seed: 0 });
    console.log(`A3b ${fixture} ${layer}, 3 octaves x 10 steps: mean square ${r.initial[0]!.toFixed(3)} -> ${r.final[0]!.toFixed(3)} (${(r.final[0]! / r.initial[0]!).toFixed(2)}x)`);
    expect(r.images.shape).toEqual(start.shape);
    expect(r.octaveSizes[2]).toEqual([h, w]);
    expect(r.curve).toHaveLength(30);
    expect(r.final[0]!).toBeGreaterThan(1.5 * r.initial[0]!);
    const pixels = Array.from(await r.images.toArray());
    expect(Math.min(...pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...pixels)).toBeLessThanOrEqual(1);
    [start, r.images].forEach((t) => t.dispose());
  });

  it('octave sizes: smallest first, each 1/scale of the next, the last the image size', () => {
    expect(octaveSizes(28, 28, 3, 1.4)).toEqual([[14, 14], [20, 20], [28, 28]]);
    expect(octaveSizes(28, 32, 1, 1.4)).toEqual([[28, 32]]);
    expect(() => octaveSizes(28, 28, 0, 1.4)).toThrow(/octaves must be a whole number >= 1, got 0/);
  });

  it("the normalised-gradient step moves the pixels by lr on average (DeepDream's g / mean|g|), and the image stays in [0, 1]", async () => {
    const model = (await trainedModel('lenet-mnist')).model;
    const values = Float32Array.from({ length: 784 }, (_, i) => 0.4 + 0.2 * ((i * 7919) % 97) / 97);
    const start = gb.tensor(values, [1, 1, 28, 28]);
    const param = opt.imageParamFrom(start);
    const r = await opt.renderVis(model, opt.layerNorm('features.4'), { inputShape: [1, 28, 28], normalization: gb.normalization.mnist!, param, optimizer: 'normalized-gradient', lr: 0.005, steps: 1 });
    const moved = Array.from(await r.images.toArray());
    const meanChange = moved.reduce((s, v, i) => s + Math.abs(v - values[i]!), 0) / 784;
    expect(meanChange).toBeCloseTo(0.005, 5);
    expect(r.final[0]!).toBeGreaterThan(r.initial[0]!);
    [start, r.probabilities].forEach((t) => t?.dispose());
    param.dispose();
  });
});

describe('glassbox visualize dream', () => {
  it('writes before/after PNGs and JSON with the layer norm per step; refuses a missing layer', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-dream-'));
    const argv = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--layer', 'features.4', '--index', '3', '--octaves', '2', '--steps', '4', '--out', out];
    await visualizeDreamCommand(parseArgs(argv, VISUALIZE_DREAM_OPTIONS));
    const json = JSON.parse(readFileSync(join(out, 'dream.json'), 'utf8')) as { curve: number[]; initial: number[] | number; final: number; octaveSizes: number[][] };
    expect(json.curve).toHaveLength(8);
    expect(json.octaveSizes).toEqual([[20, 20], [28, 28]]);
    expect(json.final).toBeGreaterThan(json.initial as number);
    for (const name of ['dream-before.png', 'dream-after.png']) expect(readPng(join(out, name)).width).toBe(112);
    expectCommandReport(out, { shown: ['dream.png'], listed: ['dream-before.png', 'dream-after.png', 'dream.json'] });
    await expect(visualizeDreamCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--out', out], VISUALIZE_DREAM_OPTIONS))).rejects.toThrow(UsageError);
  });
});
