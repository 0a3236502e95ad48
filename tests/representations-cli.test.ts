/**
 * `glassbox weights` and `glassbox embed` on the trained LeNet-5 fixture: the files and report they
 * write, their numbers against the library's on the same images, and bad options refused by name.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { embedCommand, parseLayers } from '../src/cli/embed.ts';
import { EMBED_OPTIONS, WEIGHTS_OPTIONS } from '../src/cli/options.ts';
import { weightsCommand } from '../src/cli/weights.ts';
import { expectCommandReport } from './command-report.ts';

const fixture = 'tests/fixtures/models/lenet-mnist.safetensors';

describe('glassbox weights', () => {
  it("draws LeNet-5's first conv filters with their weights in the JSON", async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-weights-'));
    try {
      await weightsCommand(parseArgs(['--model', fixture, '--arch', 'lenet5', '--dataset', 'mnist', '--n', '500', '--out', out], WEIGHTS_OPTIONS));
      const json = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8')) as { layer: string; kind: string; shape: number[]; weights: number[]; accuracy: number; validationImages: number };
      expect(json.layer).toBe('features.0');
      expect(json.kind).toBe('conv-filters');
      expect(json.shape).toEqual([6, 1, 5, 5]);
      expect(json.weights).toHaveLength(150);
      expect(json.validationImages).toBe(500);
      expect(json.accuracy).toBeGreaterThan(0.9); // the fixture's measured accuracy is 95.7%
      expectCommandReport(out, { shown: ['weights.png'], listed: ['weights.json'] });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a layer that is not a Conv2d or Linear, naming it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-weights-'));
    try {
      await expect(weightsCommand(parseArgs(['--model', fixture, '--arch', 'lenet5', '--dataset', 'mnist', '--layer', 'features.1', '--n', '0', '--out', out], WEIGHTS_OPTIONS))).rejects.toThrow(/layer 'features.1' is a ReLU; weights are drawn for a Conv2d or a Linear layer/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('glassbox embed', () => {
  it('writes maps, scatter plots, the kNN table and JSON; separation rises from the pixels to the logits', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-embed-'));
    try {
      await embedCommand(parseArgs(['--model', fixture, '--arch', 'lenet5', '--dataset', 'mnist', '--n', '300', '--layers', 'input,features.2,classifier.5', '--method', 'pca', '--out', out], EMBED_OPTIONS));
      const json = JSON.parse(readFileSync(join(out, 'embed.json'), 'utf8')) as { images: number; layers: Array<{ layer: string; dimensions: number; knnFull: number; projections: { pca: { knn2d: number; points: number[] } } }> };
      expect(json.images).toBe(300);
      expect(json.layers.map((l) => l.layer)).toEqual(['input', 'features.2', 'classifier.5']);
      expect(json.layers.map((l) => l.dimensions)).toEqual([784, 1176, 10]);
      expect(json.layers[0]!.projections.pca.points).toHaveLength(600);
      expect(json.layers[2]!.knnFull).toBeGreaterThan(json.layers[0]!.knnFull);
      for (const f of ['maps-features_2.png', 'pca-input.png', 'pca-classifier_5.png', 'knn.md']) expect(existsSync(join(out, f)), f).toBe(true);
      expectCommandReport(out, { shown: ['knn.png', 'pca-features_2.png', 'maps-input.png'], listed: ['embed.json', 'knn.md'] });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses unknown layers and a perplexity the images cannot have, naming the values', async () => {
    expect(() => parseLayers('input,features.9', ['features.0', 'features.1'], [])).toThrow(/--layers input,features.9: no layer features.9; choose from input, features.0, features.1/);
    const out = mkdtempSync(join(tmpdir(), 'gb-embed-'));
    try {
      await expect(embedCommand(parseArgs(['--model', fixture, '--arch', 'lenet5', '--dataset', 'mnist', '--n', '20', '--method', 'tsne', '--out', out], EMBED_OPTIONS))).rejects.toThrow(/--perplexity 30: needs more than 31 images, and only 20 were loaded \(--n 20\)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
