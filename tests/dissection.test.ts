/**
 * Network dissection (src/xai/units/dissection.ts): the one-pass quantile thresholds and IoUs
 * against a brute-force computation (every map upsampled by the interpolate op, thresholded at the
 * K-th largest value found by sorting), a hand-built case with known IoUs, the whole
 * UnitDissection through a model, and the clear errors.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { dissectCommand } from '../src/cli/dissect.ts';
import { DISSECT_OPTIONS } from '../src/cli/options.ts';
import * as gb from '../src/index.ts';
import type { ConceptSet } from '../src/xai/units/concepts.ts';
import { digitConcepts } from '../src/xai/units/concepts.ts';
import { bilinearAxis, convUnitLayers, DissectionTally, interpretableCurve, interpretableUnits, UnitDissection } from '../src/xai/units/dissection.ts';
import { generateMnistMixture } from '../datasets/mixture-mnist.ts';

/** A concept set from explicit masks: masks[i][k] is concept k's H*W mask in image i, or null. */
function handConcepts(masks: (Uint8Array | null)[][], H: number, W: number): ConceptSet {
  const K = masks[0]!.length;
  return {
    names: Array.from({ length: K }, (_, k) => `c${k}`),
    images: masks.length,
    height: H,
    width: W,
    present: Uint8Array.from(masks.flatMap((row) => row.map((m) => (m ? 1 : 0)))),
    masks: (i) => masks[i]!.flatMap((m, k) => (m ? [{ concept: k, mask: m }] : [])),
    boxContains: () => false,
  };
}

function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('dissection tally', () => {
  it('bilinear weights match the interpolate op', async () => {
    for (const [inSize, outSize] of [[5, 20], [7, 20], [14, 56]] as const) {
      const a = bilinearAxis(inSize, outSize);
      const eye = gb.tensor(Float32Array.from({ length: inSize * inSize }, (_, i) => (i % (inSize + 1) === 0 ? 1 : 0)), [1, 1, inSize, inSize]);
      const up = await gb.interpolate(eye, { size: [outSize, inSize], mode: 'bilinear' }).toArray(); // rows resized: row o mixes input rows
      for (let o = 0; o < outSize; o++)
        for (let i = 0; i < inSize; i++) {
          const w = (a.i0[o] === i ? 1 - a.t[o]! : 0) + (a.i1[o] === i ? a.t[o]! : 0);
          expect(up[o * inSize + i]).toBeCloseTo(w, 6);
        }
    }
  });

  it('one-pass thresholds and IoUs equal a brute-force computation over whole upsampled maps', async () => {
    const [N, C, h, w, H, W, K] = [40, 3, 7, 7, 20, 20, 4];
    const r = rng(5);
    const maps = Float32Array.from({ length: N * C * h * w }, () => Math.max(0, r() * 2 - 0.5));
    const masks = Array.from({ length: N }, () => Array.from({ length: K }, () => (r() < 0.5 ? Uint8Array.from({ length: H * W }, () => (r() < 0.3 ? 1 : 0)) : null)));
    const concepts = handConcepts(masks, H, W);
    for (const quantile of [0.005, 0.01, 0.05]) {
      const tally = new DissectionTally(concepts, { quantile });
      for (let start = 0; start < N; start += 16) {
        const end = Math.min(N, start + 16);
        tally.absorb([maps.subarray(start * C * h * w, end * C * h * w)], start, [end - start, C, h, w]);
      }
      const result = tally.result();
      const up = await gb.interpolate(gb.tensor(maps, [N, C, h, w]), { size: [H, W], mode: 'bilinear' }).toArray();
      for (let u = 0; u < C; u++) {
        const values = Array.from({ length: N * h * w }, (_, j) => maps[(Math.floor(j / (h * w)) * C + u) * h * w + (j % (h * w))]!).sort((a, b) => b - a);
        const T = values[Math.ceil(quantile * N * h * w) - 1]!;
        expect(result[u]!.threshold).toBe(T);
        let region = 0;
        const inter = new Array(K).fill(0), lab = new Array(K).fill(0);
        for (let i = 0; i < N; i++)
          for (let p = 0; p < H * W; p++) {
            const inside = up[(i * C + u) * H * W + p]! > T;
            region += inside ? 1 : 0;
            masks[i]!.forEach((m, k) => {
              if (!m) return;
              lab[k] += m[p]!;
              if (inside) inter[k] += m[p]!;
            });
          }
        expect(result[u]!.regionPixels).toBe(region);
        if (quantile === 0.05) expect(region).toBeGreaterThan(0); // at the smaller quantiles a bilinear mix may never exceed T
        result[u]!.iou.forEach((v, k) => expect(v).toBeCloseTo(inter[k] / (region + lab[k] - inter[k]), 12));
      }
    }
  });

  it('a hand-built case: blocks above the threshold, IoUs 1/2 and 2/5', () => {
    // 4 images of 4x4, one unit equal to the image (no upsampling); a 2x2 block of values 5-8 per
    // image, background below 1. K = ceil(17/64 * 64) = 17: T = the largest background value, so
    // the region is exactly the 16 block pixels.
    const [N, S] = [4, 4];
    const r = rng(1);
    const maps = Float32Array.from({ length: N * S * S }, () => r() * 0.9);
    const blocks = [[0, 0], [2, 2], [0, 2], [2, 0]] as const;
    const blockMask = (i: number) => {
      const m = new Uint8Array(S * S);
      const [y, x] = blocks[i]!;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) m[(y + dy) * S + x + dx] = 1;
      return m;
    };
    blocks.forEach(([y, x], i) => {
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) maps[i * S * S + (y + dy) * S + x + dx] = 5 + i + 0.1 * (dy * 2 + dx);
    });
    // concept 0: the blocks of images 0 and 1; concept 1: the blocks of images 2 and 3, plus 4 pixels elsewhere in image 3
    const extra = blockMask(3).map((_, p) => (blockMask(3)[p] || p === 2 || p === 3 || p === 6 || p === 7 ? 1 : 0));
    const concepts = handConcepts([[blockMask(0), null], [blockMask(1), null], [null, blockMask(2)], [null, extra]], S, S);
    const tally = new DissectionTally(concepts, { quantile: 17 / 64 });
    tally.absorb([maps], 0, [N, 1, S, S]);
    const [unit] = tally.result();
    expect(unit!.regionPixels).toBe(16);
    expect(unit!.iou[0]).toBeCloseTo(8 / 16, 12); // 8 / (16 + 8 - 8)
    expect(unit!.iou[1]).toBeCloseTo(8 / 20, 12); // 8 / (16 + 12 - 8)
    expect(interpretableUnits([unit!], 0.45)).toEqual({ units: [0], concepts: [0] });
    expect(interpretableUnits([unit!], 0.5)).toEqual({ units: [], concepts: [] });
    expect(interpretableCurve([unit!], [0, 0.4, 0.49, 0.5])).toEqual([1, 1, 1, 0]);
  });

  it('a dead unit (all zeros) has threshold 0 and an empty region', () => {
    const concepts = handConcepts([[new Uint8Array(4).fill(1)], [null]], 2, 2);
    const tally = new DissectionTally(concepts, { quantile: 0.25 });
    tally.absorb([new Float32Array(8)], 0, [2, 1, 2, 2]);
    expect(tally.result()[0]).toEqual({ threshold: 0, regionPixels: 0, iou: [0] });
  });

  it('refuses a bad quantile, a short pass and batches out of order', () => {
    const concepts = handConcepts([[null], [null]], 2, 2);
    expect(() => new DissectionTally(concepts, { quantile: 0 })).toThrow(/quantile must be in \(0, 1\), e.g. 0.005/);
    const tally = new DissectionTally(concepts);
    tally.absorb([new Float32Array(4)], 0, [1, 1, 2, 2]);
    expect(() => tally.result()).toThrow(/covered 1 images but the concept set has 2/);
    expect(() => tally.absorb([new Float32Array(4)], 5, [1, 1, 2, 2])).toThrow(/in order; got image 5 after 1/);
  });
});

describe('UnitDissection through a model', () => {
  it("a unit that copies the image: its threshold is the image's top-quantile pixel and it matches the digits' ink", async () => {
    // mixture images from a small synthetic "MNIST" (digit d drawn as a bar at row 2d); conv 1x1 with weight 1 copies the image
    const n = 200;
    const mnist = {
      name: 'mnist', split: 'train' as const, n, channels: 1, height: 28, width: 28, classes: Array.from({ length: 10 }, (_, d) => String(d)),
      labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
      images: Uint8Array.from({ length: n * 784 }, (_, j) => { const i = Math.floor(j / 784), y = Math.floor((j % 784) / 28); return y >= 2 * (i % 10) + 4 && y < 2 * (i % 10) + 6 ? 200 : 0; }),
    };
    const data = generateMnistMixture(mnist, { n: 100, seed: 3, canvas: 28 });
    const model = new gb.nn.Sequential(new gb.nn.Conv2d(1, 1, 1), new gb.nn.ReLU());
    gb.noGrad(() => {
      (model.layers[0] as gb.nn.Conv2d).weight.assign(gb.ones([1, 1, 1, 1]));
      (model.layers[0] as gb.nn.Conv2d).bias!.assign(gb.zeros([1]));
    });
    expect(convUnitLayers(model)).toEqual(['1']);
    const images = gb.tensor(Float32Array.from(data.images, (v) => v / 255), [100, 1, 28, 28]);
    const [d] = await new UnitDissection(model, { layers: ['1'], quantile: 0.01, ks: [10, 50] }).dissect(images, digitConcepts(data));
    // every ink pixel is 200/255 and there are more of them than 1% of all pixels: T is that value, and nothing exceeds it
    expect(d!.iou[0]!.threshold).toBeCloseTo(200 / 255, 6);
    expect(d!.iou[0]!.regionPixels).toBe(0);
    expect(d!.shape).toEqual([1, 28, 28]);
    expect(d!.detectors[0]!.concepts[0]!.precision).toHaveLength(2);
    expect(d!.scores.length).toBe(100);
  });

  it('refuses images and masks that do not match, and a data set without masks', async () => {
    const model = new gb.nn.Sequential(new gb.nn.Conv2d(1, 1, 1));
    const n = 20;
    const mnist = { name: 'mnist', split: 'train' as const, n, channels: 1, height: 28, width: 28, classes: [], labels: Uint8Array.from({ length: n }, (_, i) => i % 10), images: new Uint8Array(n * 784).fill(100) };
    const data = generateMnistMixture(mnist, { n: 10 });
    await expect(new UnitDissection(model, { layers: ['0'] }).dissect(gb.zeros([5, 1, 56, 56]), digitConcepts(data))).rejects.toThrow(/the 5 images of 56x56 and the concept masks \(10 of 56x56\) do not match/);
    expect(() => digitConcepts(generateMnistMixture(mnist, { n: 10, masks: false }))).toThrow(/has no digit masks .* load it with masks: true/);
  });
});

describe('glassbox dissect: clear errors before the pass', () => {
  const run = (argv: string[]) => dissectCommand(parseArgs([...argv, '--out', join(tmpdir(), 'dissect-errors')], DISSECT_OPTIONS));
  it('a data set without digit masks, and a layer that is not a conv feature map', async () => {
    process.env.GLASSBOX_DATA ??= '/work/shared/datasets';
    await expect(run(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--arch', 'lenet5', '--dataset', 'mnist'])).rejects.toThrow(/--concepts digits needs a data set with digit masks .* 'mnist' has none/);
    await expect(run(['--model', 'tests/fixtures/models/mixture-net.safetensors', '--arch', 'mixture-net', '--dataset', 'mnist-mixture', '--layer', 'fc', '--n', '700'])).rejects.toThrow(/--layer fc outputs \[1, 45\], not a conv feature map .* features.1, features.4, features.7/);
    await expect(run(['--model', 'tests/fixtures/models/mixture-net.safetensors', '--arch', 'mixture-net', '--dataset', 'mnist-mixture', '--n', '100'])).rejects.toThrow(/--n 100: precision@K is measured up to K = 700/);
  }, 120_000);
});
