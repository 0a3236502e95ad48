/**
 * C5's cue conflict (Geirhos et al. 2019; src/xai/robustness/cue-conflict.ts) on the trained LeNet-5
 * fixture: pairs join recognised images of different classes; a decision is scored as shape,
 * texture or other against the pair's two classes; style transfer moves the image's texture
 * statistics towards the texture image's; `glassbox cue-conflict` writes its files.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { mnist } from '../src/data/datasets.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { CUE_CONFLICT_OPTIONS } from '../src/cli/options.ts';
import { cueConflictCommand } from '../src/cli/cue-conflict.ts';
import { colourControlImages, cueConflictImages, cueConflictPairs, predictPixels, scoreCueConflict } from '../src/xai/robustness/cue-conflict.ts';
import { expectCommandReport } from './command-report.ts';
import { trainedModel } from './trained-models.ts';

const normalization = gb.normalization.mnist!;
let lenet: gb.nn.Module;
let pixels: gb.Tensor;
let labels: number[];

beforeAll(async () => {
  lenet = (await trainedModel('lenet-mnist')).model;
  const data = await mnist({ split: 'test', limit: 32 });
  pixels = gb.keep(data.images); // [0, 1]
  labels = Array.from(await data.labels.toArray());
});

describe('cue conflict', () => {
  it('pairs join recognised images of different classes, each image at most once as the shape', () => {
    const predicted = labels.map((l, i) => (i % 5 === 0 ? (l + 1) % 10 : l)); // every fifth image misread
    const pairs = cueConflictPairs(labels, [predicted], 10);
    expect(pairs).toHaveLength(10);
    for (const p of pairs) {
      expect(labels[p.shape]).not.toBe(labels[p.texture]);
      expect(p.shape % 5).not.toBe(0);
      expect(p.texture % 5).not.toBe(0);
    }
    expect(new Set(pairs.map((p) => p.shape)).size).toBe(10);
    expect(cueConflictPairs([3, 3, 3], [[3, 3, 3]], 5)).toEqual([]); // one class: no conflict to make
  });

  it('a decision follows the shape when the image is the shape image, the texture when it is the texture image', async () => {
    const predicted = await predictPixels(lenet, pixels, normalization);
    const pairs = cueConflictPairs(labels, [predicted], 8);
    const pick = (which: 'shape' | 'texture') => gb.keep(gb.cat(pairs.map((p) => gb.slice(pixels, 0, { start: p[which], end: p[which] + 1 })), 0));
    const asShape = await scoreCueConflict(lenet, { pairs, images: pick('shape'), styleLossRatio: [] }, labels, normalization);
    const asTexture = await scoreCueConflict(lenet, { pairs, images: pick('texture'), styleLossRatio: [] }, labels, normalization);
    expect([asShape.shapeShare, asShape.shapeBias]).toEqual([1, 1]);
    expect([asTexture.textureShare, asTexture.shapeBias]).toEqual([1, 0]);
  });

  it("style transfer lowers the style loss towards the texture image's Gram matrices", async () => {
    const predicted = await predictPixels(lenet, pixels, normalization);
    const cue = await cueConflictImages(pixels, cueConflictPairs(labels, [predicted], 1), { steps: 3, styleNormalization: normalization });
    expect(cue.images.shape).toEqual([1, 1, 28, 28]);
    expect(cue.styleLossRatio[0]).toBeLessThan(1);
    const values = await cue.images.toArray();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    cue.images.dispose();
  }, 60_000);

  it("the colour control keeps the shape image's pattern and takes the texture image's channel means and spreads", async () => {
    // two one-channel 2x2 images: the shape image a ramp, the texture image brighter and wider spread
    const x = gb.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.5, 0.9], [2, 1, 2, 2]);
    const out = await colourControlImages(x, [{ shape: 0, texture: 1 }]).toArray();
    // texture image: mean 0.7, spread 0.2; the shape ramp standardised is (-3, -1, 1, 3) / sqrt(5)
    const expected = [-3, -1, 1, 3].map((z) => 0.7 + (0.2 * z) / Math.sqrt(5));
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    // a flat shape image stays flat, at the texture image's mean; values stay in [0, 1]
    const flat = await colourControlImages(gb.tensor([0.5, 0.5, 0.5, 0.5, 0, 1, 0, 1], [2, 1, 2, 2]), [{ shape: 0, texture: 1 }]).toArray();
    expect(Array.from(flat)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('glassbox cue-conflict writes the picture, the table and the JSON; refuses a pool without a pair', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-cue-conflict-'));
    const argv = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--n', '1', '--pool', '8', '--steps', '2', '--out', out];
    await expect(cueConflictCommand(parseArgs([...argv, '--pool', '1'], CUE_CONFLICT_OPTIONS))).rejects.toThrow(UsageError);
    await expect(cueConflictCommand(parseArgs([...argv, '--pool', '1'], CUE_CONFLICT_OPTIONS))).rejects.toThrow(/no pair of differently labelled images .* raise --pool/);
    await cueConflictCommand(parseArgs([...argv, '--compare', 'tests/fixtures/models/lenet-mnist-robust.safetensors'], CUE_CONFLICT_OPTIONS));
    expect(existsSync(join(out, 'cue-conflict.png'))).toBe(true);
    expectCommandReport(out, { shown: ['cue-conflict.png'], listed: ['decisions.md', 'cue-conflict.json'] });
    const json = JSON.parse(readFileSync(join(out, 'cue-conflict.json'), 'utf8'));
    expect(json.models).toHaveLength(2);
    expect(json.pairs).toHaveLength(1);
    expect(['shape', 'texture', 'other']).toContain(json.models[1].decisions[0]);
    expect(['shape', 'texture', 'other']).toContain(json.models[1].colourControl.decisions[0]);
    expect(readFileSync(join(out, 'decisions.md'), 'utf8')).toMatch(/colour control/);
  }, 60_000);
});
