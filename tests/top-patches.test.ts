/**
 * Top-activating patches (catalogue E2) and the machinery under them: receptive fields against
 * hand-computed geometry (LeNet-5; a strided, dilated, padded stack, whose fields are also checked
 * as the bounding box of the input gradient's support), the one-pass top-K against a brute-force
 * search over the whole activation, and each reported patch against the model run on its image
 * (the same activation, unchanged when every pixel outside the field is scrambled).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { mnist } from '../src/data/datasets.ts';
import { forwardWithLayer } from '../src/xai/attribution.ts';
import { clipBox, composeWindows, inputBox, receptiveField, type Geometry } from '../src/xai/units/receptive-field.ts';
import { topActivations, type TopActivation } from '../src/xai/units/statistics.ts';
import { PAD_COLOR, patchTile, patchTiles, topPatches, unitGrid, type TopPatchesResult } from '../src/xai/units/top-patches.ts';
import { parseArgs } from '../src/cli/args.ts';
import { VISUALIZE_PATCHES_OPTIONS } from '../src/cli/options.ts';
import { visualizePatchesCommand } from '../src/cli/visualize-patches.ts';
import { trainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';
import * as opt from '../src/xai/optimize/index.ts';
import { readPng } from '../src/viz/node.ts';

const { nn } = gb;
const axes = (g: Geometry) => ({ y: g.y, x: g.x });

describe('receptive fields', () => {
  it("LeNet-5's layers, computed by hand", () => {
    const model = gb.models.lenet5();
    const rf = (layer: string) => receptiveField(model, layer, [1, 1, 28, 28]);
    // conv 5x5 pad 2 -> pool 2 -> conv 5x5 -> pool 2; jump = product of strides, size grows by (k - 1) * jump
    const same = (size: number, jump: number) => ({ y: { size, jump, start: -2 }, x: { size, jump, start: -2 } });
    expect(axes(rf('features.0'))).toEqual(same(5, 1));
    expect(axes(rf('features.1'))).toEqual(same(5, 1)); // ReLU: unchanged
    expect(axes(rf('features.2'))).toEqual(same(6, 2));
    expect(axes(rf('features.3'))).toEqual(same(14, 2));
    expect(axes(rf('features.5'))).toEqual(same(16, 4));
    expect(axes(rf('features'))).toEqual(same(16, 4)); // a container: its last layer's field
    expect(rf('features.4').outputShape).toEqual([16, 10, 10]);
    expect(rf('features.5').windows.map((w) => w.path)).toEqual(['features.0', 'features.2', 'features.3', 'features.5']);
    // conv2's position (9, 9) sees rows and columns 16..29, clipped to 16..27
    const box = inputBox(rf('features.3'), 9, 9);
    expect(box).toEqual({ top: 16, left: 16, bottom: 29, right: 29 });
    expect(clipBox(box, 28, 28)).toEqual({ top: 16, left: 16, bottom: 27, right: 27 });
  });

  // conv 3x3 stride 2 pad 1 -> ReLU -> conv 3x3 dilation 2 pad 2 -> avg pool 3 stride 2 pad 1 -> conv (3, 1) dilation (3, 1) stride (1, 2)
  const stack = () =>
    new nn.Sequential(
      new nn.Conv2d(1, 2, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(2, 2, 3, { dilation: 2, padding: 2 }),
      new nn.AvgPool2d(3, { stride: 2, padding: 1 }),
      new nn.Conv2d(2, 1, [3, 1], { stride: [1, 2], dilation: [3, 1] }),
    );
  // by hand: y: (jump, size, start) = (2, 3, -1) -> (2, 3 + 4 * 2 = 11, -1 - 2 * 2 = -5) -> (4, 11 + 2 * 2 = 15, -5 - 2 = -7)
  //          -> (4, 15 + 6 * 4 = 39, -7); x ends (8, 15, -7): a 1-wide kernel adds nothing, stride 2 doubles the jump
  const expected = { y: { jump: 4, size: 39, start: -7 }, x: { jump: 8, size: 15, start: -7 } };

  it('a strided, dilated, padded stack, computed by hand', () => {
    const g = receptiveField(stack(), '4', [1, 1, 40, 40]);
    expect(axes(g)).toEqual(expected);
    expect(axes(composeWindows(g.windows.map((w) => w.step)))).toEqual(expected);
    expect(g.windows.map((w) => w.type)).toEqual(['Conv2d', 'Conv2d', 'AvgPool2d', 'Conv2d']);
  });

  it("each position's field is the bounding box of its input gradient's support (positive weights, no max pooling)", async () => {
    gb.manualSeed(3);
    const model = stack();
    gb.noGrad(() => model.parameters().forEach((p) => p.assign(gb.rand(p.shape).add(0.1))));
    const side = 40;
    const g = receptiveField(model, '4', [1, 1, side, side]);
    const [, h, w] = g.outputShape;
    for (const [y, x] of [[0, 0], [h - 1, w - 1], [Math.floor(h / 2), 1]] as const) {
      const input = gb.ones([1, 1, side, side], { requiresGrad: true });
      const out = model.forward(input);
      gb.slice(gb.slice(out, 2, { start: y, end: y + 1 }), 3, { start: x, end: x + 1 }).sum().backward();
      const grad = await input.grad!.toArray();
      let [top, left, bottom, right] = [side, side, -1, -1];
      grad.forEach((v, i) => {
        if (v === 0) return;
        const [r, c] = [Math.floor(i / side), i % side];
        [top, left, bottom, right] = [Math.min(top, r), Math.min(left, c), Math.max(bottom, r), Math.max(right, c)];
      });
      expect({ top, left, bottom, right }, `position (${y}, ${x})`).toEqual(clipBox(inputBox(g, y, x), side, side));
    }
  });

  it('refuses a layer it cannot place, naming the reason and the known layers', () => {
    const model = gb.models.lenet5();
    expect(() => receptiveField(model, 'features.9', [1, 1, 28, 28])).toThrow(/no layer 'features.9'; the layers are .*'features.0'/);
    expect(() => receptiveField(model, 'classifier.1', [1, 1, 28, 28])).toThrow(/'classifier.1' outputs \[1, 120\]; a receptive field needs a feature map/);
    const pooled = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.AdaptiveAvgPool2d(2), new nn.ReLU());
    expect(() => receptiveField(pooled, '2', [1, 1, 9, 9])).toThrow(/'1' \(AdaptiveAvgPool2d, \[1, 2, 7, 7\] -> \[1, 2, 2, 2\]\) changes the spatial size/);
  });
});

describe('top-activating patches of the trained LeNet-5 on MNIST', () => {
  const N = 160;
  const layer = 'features.4'; // the ReLU after conv2: 16 channels of 10x10, fields of 14x14
  let model: gb.nn.Module;
  let images: Tensor;
  let norm: gb.Normalization;
  let result: TopPatchesResult;

  beforeAll(async () => {
    model = (await trainedModel('lenet-mnist')).model;
    const data = await mnist({ split: 'test', limit: N });
    images = data.images;
    norm = data.normalization;
    // batches of 48: three full ones and a partial one
    result = await topPatches(model, images, { layer, k: 6, channels: [0, 3, 9, 15], batchSize: 48, normalization: norm });
  });

  it('the top K is sorted and is what a brute-force search over every position of every image finds', async () => {
    const act = gb.noGrad(() => forwardWithLayer(model, layer, gb.normalize(images, norm)).activation);
    const [, c, h, w] = act.shape as [number, number, number, number];
    const values = await act.toArray();
    act.dispose();
    expect(result.units.map((u) => u.channel)).toEqual([0, 3, 9, 15]);
    for (const unit of result.units) {
      const best: TopActivation[] = [];
      for (let n = 0; n < N; n++) {
        let top = { value: -Infinity, image: n, y: 0, x: 0 };
        for (let p = 0; p < h * w; p++) {
          const v = values[((n * c + unit.channel) * h * w) + p]!;
          if (v > top.value) top = { value: v, image: n, y: Math.floor(p / w), x: p % w };
        }
        best.push(top);
      }
      best.sort((a, b) => b.value - a.value || a.image - b.image);
      const got = unit.patches;
      expect(got.length).toBe(6);
      for (let i = 1; i < got.length; i++) expect(got[i]!.value).toBeLessThanOrEqual(got[i - 1]!.value);
      expect(got.map((p) => p.image), `channel ${unit.channel}`).toEqual(best.slice(0, 6).map((b) => b.image));
      got.forEach((p, i) => {
        expect(p.value).toBeCloseTo(best[i]!.value, 5);
        expect(p.value).toBeGreaterThan(0);
        // the position holds the maximum (another position may tie with it)
        expect(values[((p.image * c + unit.channel) * h * w) + p.y * w + p.x]!).toBeCloseTo(p.value, 5);
      });
    }
  });

  it("each top patch's activation is the model's on its image, and no pixel outside the field changes it", async () => {
    const [, , side] = images.shape as number[];
    for (const unit of result.units) {
      const p = unit.patches[0]!;
      const one = gb.slice(images, 0, { start: p.image, end: p.image + 1 });
      const pixels = await one.toArray();
      // every pixel outside the field replaced by noise
      const scrambled = Float32Array.from(pixels, (v, i) => {
        const [r, col] = [Math.floor(i / side!), i % side!];
        const inside = r >= p.clipped.top && r <= p.clipped.bottom && col >= p.clipped.left && col <= p.clipped.right;
        return inside ? v : Math.abs(Math.sin(i * 12.9898));
      });
      for (const [what, x] of [['image', one], ['image scrambled outside the field', gb.tensor(scrambled, one.shape)]] as const) {
        const act = gb.noGrad(() => forwardWithLayer(model, layer, gb.normalize(x, norm)).activation);
        const at = await gb.slice(gb.slice(gb.select(act, 1, unit.channel), 1, { start: p.y, end: p.y + 1 }), 2, { start: p.x, end: p.x + 1 }).item();
        expect(at, `channel ${unit.channel}, ${what}`).toBeCloseTo(p.value, 4);
      }
      expect(p.box.bottom - p.box.top + 1).toBe(14);
    }
  });

  it('tiles have the field size, the image inside the clipped box and the pad colour outside; grids draw', async () => {
    const tiles = await patchTiles(images, result);
    expect(tiles.map((t) => t.length)).toEqual([6, 6, 6, 6]);
    const grid = unitGrid(result.units[0]!, tiles[0]!, { layer });
    expect(grid.width).toBeGreaterThan(3 * 14);
    // a synthetic 1x4x5 image, a 4x4 field hanging 2 rows over the top and 1 column past the right
    const image = Float32Array.from({ length: 20 }, (_, i) => i / 20);
    const box = { top: -2, left: 2, bottom: 1, right: 5 };
    const tile = patchTile(image, [1, 4, 5], { box, clipped: clipBox(box, 4, 5)! });
    expect([tile.width, tile.height]).toEqual([4, 4]);
    const px = (x: number, y: number) => [...tile.data.slice((y * 4 + x) * 4, (y * 4 + x) * 4 + 3)];
    expect(px(0, 0)).toEqual([...PAD_COLOR]);
    expect(px(3, 2)).toEqual([...PAD_COLOR]); // column 5 is outside the image
    expect(px(0, 2)).toEqual(Array(3).fill(Math.round(image[2]! * 255))); // row 0, column 2
    expect(px(2, 3)).toEqual(Array(3).fill(Math.round(image[5 + 4]! * 255))); // row 1, column 4
  });

  it('the pass keeps no tensor: memory is the same after a second pass', async () => {
    const few = gb.slice(images, 0, { start: 0, end: 40 });
    const pass = () => topActivations(model, few, { layer, k: 3, batchSize: 16, normalization: norm });
    await pass();
    const before = gb.memory().bytesInUse;
    await pass();
    expect(gb.memory().bytesInUse).toBe(before);
    few.dispose();
  });

  it('refuses a channel out of range, naming the layer size', async () => {
    await expect(topActivations(model, gb.slice(images, 0, { start: 0, end: 4 }), { layer, k: 2, channels: [16], normalization: norm })).rejects.toThrow(
      /channel 16 is out of range; the layer has 16 channels \(0-15\)/,
    );
  });
});

describe('glassbox visualize patches', () => {
  const fixture = 'tests/fixtures/models/lenet-mnist.safetensors';
  const run = (out: string, ...extra: string[]) =>
    visualizePatchesCommand(parseArgs(['--model', fixture, '--arch', 'lenet5', '--dataset', 'mnist', '--n', '64', '--k', '4', '--out', out, ...extra], VISUALIZE_PATCHES_OPTIONS));

  it('writes a grid per unit, an overview and JSON that agree with the library on the same images', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-patches-'));
    try {
      await run(out, '--layer', 'features.4', '--channels', '0-1,5');
      for (const c of [0, 1, 5]) expect(existsSync(join(out, `features.4-channel-${c}.png`))).toBe(true);
      expect(existsSync(join(out, 'patches.png'))).toBe(true);
      expectCommandReport(out, { shown: ['patches.png'], listed: ['features.4-channel-0.png', 'patches.json'] });
      const json = JSON.parse(readFileSync(join(out, 'patches.json'), 'utf8'));
      expect(json.geometry.y).toEqual({ jump: 2, size: 14, start: -2 });
      expect(json.units.map((u: { channel: number }) => u.channel)).toEqual([0, 1, 5]);
      const model = (await trainedModel('lenet-mnist')).model;
      const data = await mnist({ split: 'test', limit: 64 });
      const expected = await topActivations(model, data.images, { layer: 'features.4', k: 4, channels: [0, 1, 5], normalization: data.normalization });
      json.units.forEach((u: { patches: { image: number; value: number; box: unknown }[] }, i: number) => {
        expect(u.patches.map((p) => p.image)).toEqual(expected.top[i]!.map((a) => a.image));
        u.patches.forEach((p, r) => expect(p.value).toBeCloseTo(expected.top[i]![r]!.value, 5));
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("--features puts each unit's visualisation first in its row, as a multiple of the image whose channel mean is largest", async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-patches-'));
    try {
      await run(out, '--layer', 'features.4', '--channels', '0,5', '--features', '--feature-steps', '32');
      expectCommandReport(out, { shown: ['patches.png', 'units.png'], listed: ['patches.json'] });
      const json = JSON.parse(readFileSync(join(out, 'patches.json'), 'utf8'));
      expect(json.featureSteps).toBe(32);
      const model = (await trainedModel('lenet-mnist')).model;
      const data = await mnist({ split: 'test', limit: 64 });
      const ctx = gb.noGrad(() => opt.forwardCapturing(model, opt.resolveLayers(model, ['features.4']), gb.normalize(data.images, data.normalization)));
      const maps = Float32Array.from(await ctx.activation('features.4').toArray());
      json.units.forEach((u: { channel: number; visualisation: { activation: number; exemplarRatio: number; exemplar: { image: number; value: number } } }) => {
        // the exemplar by hand: the largest mean of the channel's 10 x 10 map over the 64 images
        const means = Array.from({ length: 64 }, (_, n) => maps.subarray((n * 16 + u.channel) * 100, (n * 16 + u.channel + 1) * 100).reduce((a, b) => a + b, 0) / 100);
        const best = means.indexOf(Math.max(...means));
        expect(u.visualisation.exemplar.image).toBe(best);
        expect(u.visualisation.exemplar.value).toBeCloseTo(means[best]!, 4);
        expect(u.visualisation.exemplarRatio).toBeCloseTo(u.visualisation.activation / means[best]!, 5);
        // 32 steps draw a live picture, not yet one above the exemplar (128 do: tests/circuits.test.ts)
        expect(u.visualisation.activation).toBeGreaterThan(0);
      });
      // a row per unit of the picture and k = 4 patches
      expect(readPng(join(out, 'units.png')).width).toBeGreaterThan(5 * 28);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('an unknown layer lists the known paths; a channel past the layer names its size', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-patches-'));
    try {
      await expect(run(out, '--layer', 'features.7')).rejects.toThrow(/--layer features.7: no layer 'features.7'; the layers are .*'features.4'/);
      await expect(run(out, '--layer', 'features.4', '--channels', '3-16')).rejects.toThrow(/channel 16 is out of range; layer 'features.4' has 16 channels \(0-15\)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
