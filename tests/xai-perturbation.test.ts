/**
 * Catalogue B6 (iGOS++) and B7 (occlusion, meaningful and extremal perturbations) on the trained
 * LeNet-5 (MNIST, 28x28): occlusion with a 1x1 window is the exact score drop; extremal masks of
 * 5/10/20% area keep the class (while the blurred image alone does not); the meaningful-perturbation
 * deletion lowers the class probability more than the same mask moved elsewhere; iGOS++ beats vanilla gradients on deletion and insertion AUC; every
 * method gives a batch the same maps as one image at a time. Pictures in /tmp/xai-cam/.
 */
import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { writePng } from '../src/viz/node.ts';
import { attributionToImage, chwToImage, makeGrid } from '../src/viz/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { Occlusion } from '../src/xai/occlusion.ts';
import { ExtremalPerturbation, MeaningfulPerturbation, perturbedImage } from '../src/xai/perturbation.ts';
import { IGOS } from '../src/xai/igos.ts';
import { blend, roll } from '../src/xai/masks.ts';
import { Saliency } from '../src/xai/gradient.ts';
import { expectClose } from './helpers.ts';
import { trainedModel } from './trained-models.ts';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const OUT = '/tmp/xai-cam';
const N = 8;

let model: gb.nn.Module;
let x: gb.Tensor; // N correctly classified test images, normalised
let labels: number[];
let black: number; // a black pixel in the model's input space
let shown: { mean: number; std: number }; // undoes the normalisation in pictures

beforeAll(async () => {
  const trained = await trainedModel('lenet-mnist');
  model = trained.model;
  const [mean, std] = [trained.mean[0]!, trained.std[0]!];
  black = -mean / std;
  shown = { mean, std };
  const data = await loadDataset('mnist', { split: 'test', limit: 40 });
  const all = gb.tensor(Float32Array.from(data.images, (v) => (v / 255 - mean) / std), [data.n, 1, SIDE, SIDE]);
  const predicted = Array.from(await gb.noGrad(() => gb.argmax(model.forward(all), { dim: 1 })).toArray());
  const correct = predicted.flatMap((p, i) => (p === data.labels[i] ? [i] : [])).slice(0, N);
  x = gb.indexSelect(all, 0, gb.tensor(Int32Array.from(correct), [N], { dtype: 'int32' }));
  labels = correct.map((i) => data.labels[i]!);
  mkdirSync(OUT, { recursive: true });
});

const rows = (t: gb.Tensor, start: number, end: number) => gb.slice(t, 0, { start, end });

/** Target-class softmax probabilities of a batch of images (one label per row). */
async function probabilities(images: gb.Tensor, targets: number[]): Promise<number[]> {
  return Array.from(await gb.noGrad(() => gb.xai.targetScores(model.forward(images), targets, 'probability')).toArray());
}

/** Batch vs one image at a time for a method: the same maps. */
async function expectBatchEqualsSingles(attribute: (input: gb.Tensor, target: number[]) => Promise<gb.Tensor>, atol: number, what: string): Promise<void> {
  const batch = await (await attribute(rows(x, 0, 2), labels.slice(0, 2))).toArray();
  const singles = [...(await (await attribute(rows(x, 0, 1), labels.slice(0, 1))).toArray()), ...(await (await attribute(rows(x, 1, 2), labels.slice(1, 2))).toArray())];
  expectClose(batch, singles, { atol, rtol: 1e-3, what });
}

/**
 * Deletion and insertion curves (Petsiuk et al. 2018): pixels in decreasing order of attribution
 * are set to black (deletion) or copied from the image onto black (insertion), 28 at a time; the
 * AUC is the mean target probability over the 29 points (trapezoid rule on [0, 1]).
 */
async function deletionInsertionAuc(images: gb.Tensor, maps: gb.Tensor, targets: number[]): Promise<{ deletion: number[]; insertion: number[] }> {
  const [pixels, attribution] = [await images.toArray(), await gb.noGrad(() => gb.sum(maps, { dim: 1 })).toArray()];
  const steps = SIDE;
  const n = targets.length;
  const curves: Record<'deletion' | 'insertion', number[]> = { deletion: [], insertion: [] };
  for (const mode of ['deletion', 'insertion'] as const) {
    const batch = new Float32Array(n * (steps + 1) * PIXELS);
    for (let i = 0; i < n; i++) {
      const order = Array.from({ length: PIXELS }, (_, p) => p).sort((a, b) => attribution[i * PIXELS + b]! - attribution[i * PIXELS + a]!);
      for (let s = 0; s <= steps; s++) {
        const row = batch.subarray((i * (steps + 1) + s) * PIXELS, (i * (steps + 1) + s + 1) * PIXELS);
        const changed = new Set(order.slice(0, Math.round((s * PIXELS) / steps)));
        for (let p = 0; p < PIXELS; p++) row[p] = changed.has(p) === (mode === 'deletion') ? black : pixels[i * PIXELS + p]!;
      }
    }
    const probs = await probabilities(gb.tensor(batch, [n * (steps + 1), 1, SIDE, SIDE]), targets.flatMap((t) => new Array<number>(steps + 1).fill(t)));
    for (let i = 0; i < n; i++) {
      const curve = probs.slice(i * (steps + 1), (i + 1) * (steps + 1));
      curves[mode].push((curve.reduce((a, b) => a + b, 0) - (curve[0]! + curve[steps]!) / 2) / steps);
    }
  }
  return curves;
}

const avg = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('occlusion (Zeiler & Fergus 2014)', () => {
  it('with a 1x1 window equals the exact drop of the logit when that pixel is filled', async () => {
    const fill = 1.5;
    const map = await new Occlusion(model).attribute(rows(x, 0, 2), { target: labels.slice(0, 2), window: 1, fill, internalBatchSize: 196 });
    const values = await map.toArray();
    // pixels on and off the digit, for both images
    const picks = [0, 200, 378, 406, 434, 600].flatMap((p) => [
      [0, p],
      [1, p],
    ]);
    const base = await gb.noGrad(() => gb.xai.targetScores(model.forward(rows(x, 0, 2)), labels.slice(0, 2))).toArray();
    const pixels = await x.toArray();
    const edited = new Float32Array(picks.length * PIXELS);
    picks.forEach(([i, p], k) => {
      edited.set(pixels.subarray(i! * PIXELS, (i! + 1) * PIXELS), k * PIXELS);
      edited[k * PIXELS + p!] = fill;
    });
    const scores = await gb.noGrad(() => gb.xai.targetScores(model.forward(gb.tensor(edited, [picks.length, 1, SIDE, SIDE])), picks.map(([i]) => labels[i!]!))).toArray();
    const exact = picks.map(([i], k) => base[i!]! - scores[k]!);
    expectClose(
      picks.map(([i, p]) => values[i! * PIXELS + p!]!),
      exact,
      { atol: 1e-4, rtol: 1e-4, what: 'occlusion 1x1 vs exact drop' },
    );
    expect(Math.max(...exact.map(Math.abs))).toBeGreaterThan(1e-2); // the check is not vacuous
  });

  it('gives a batch the same maps as one image at a time', async () => {
    await expectBatchEqualsSingles((input, target) => new Occlusion(model).attribute(input, { target, window: 4, stride: 2, fill: 'mean' }), 1e-4, 'occlusion batch');
  });
});

describe('extremal perturbation (Fong, Patrick & Vedaldi 2019)', () => {
  it('masks of 5/10/20% area preserve the class on most images', async () => {
    const areas = [0.05, 0.1, 0.2];
    const masks = await new ExtremalPerturbation(model).masks(x, { target: labels, areas, variant: 'preserve' });
    const blurred = perturbedImage(x);
    const original = await gb.noGrad(() => gb.xai.targetScores(model.forward(x), labels)).toArray();
    const blurredLogit = await gb.noGrad(() => gb.xai.targetScores(model.forward(blurred), labels)).toArray();
    const tiles: gb.viz.RGBAImage[] = [];
    for (const [a, mask] of masks.entries()) {
      const kept = blend(x, blurred, mask);
      const out = gb.noGrad(() => model.forward(kept));
      const top = await gb.argmax(out, { dim: 1 }).toArray();
      const logit = await gb.xai.targetScores(out, labels).toArray();
      const m = await mask.toArray();
      const keepsClass = labels.filter((c, i) => top[i] === c).length;
      const retained = labels.map((_, i) => (logit[i]! - blurredLogit[i]!) / (original[i]! - blurredLogit[i]!));
      const hardArea = labels.map((_, i) => m.subarray(i * PIXELS, (i + 1) * PIXELS).filter((v) => v > 0.5).length / PIXELS);
      console.log(`extremal preserve area ${areas[a]}: class kept ${keepsClass}/${N}, mean retained logit fraction ${avg(retained).toFixed(2)}, area(m > 0.5) ${avg(hardArea).toFixed(3)}`);
      // Criterion: the masked-in image (x inside the mask, its blur outside) is still classified as the target
      expect(keepsClass, `area ${areas[a]}`).toBeGreaterThanOrEqual(0.75 * N);
      // ... and the mask really has (about) the requested area
      expect(avg(hardArea)).toBeGreaterThan(0.5 * areas[a]!);
      expect(avg(hardArea)).toBeLessThan(1.5 * areas[a]!);
      const keptPixels = await kept.toArray();
      for (let i = 0; i < 4; i++) tiles.push(attributionToImage(m.subarray(i * PIXELS, (i + 1) * PIXELS), SIDE, SIDE, { mode: 'positive' }), chwToImage(keptPixels.subarray(i * PIXELS, (i + 1) * PIXELS), 1, SIDE, SIDE, shown));
    }
    writePng(`${OUT}/extremal-perturbation.png`, makeGrid(tiles, { cols: 8, tileScale: 3 }));
    // the blurred image alone does not keep the class, so the mask is doing the work
    const blurredTop = await gb.noGrad(() => gb.argmax(model.forward(blurred), { dim: 1 })).toArray();
    const blurredKeeps = labels.filter((c, i) => blurredTop[i] === c).length;
    console.log(`control: the blurred image alone keeps the class on ${blurredKeeps}/${N}`);
    expect(blurredKeeps).toBeLessThan(0.75 * N);
  }, 300_000);

  it('gives a batch the same masks as one image at a time', async () => {
    await expectBatchEqualsSingles((input, target) => new ExtremalPerturbation(model).attribute(input, { target, area: 0.1, iterations: 30 }), 1e-3, 'extremal batch');
  }, 60_000);
});

describe('meaningful perturbation (Fong & Vedaldi 2017)', () => {
  it('deletes a region that lowers the class probability more than the same mask moved elsewhere', async () => {
    const saliency = await new MeaningfulPerturbation(model).attribute(x, { target: labels, iterations: 200 });
    const blurred = perturbedImage(x);
    const deleted = blend(x, blurred, gb.sub(1, saliency));
    // control: the same mask shape and area, moved by half the image (circularly)
    const moved = blend(x, blurred, gb.sub(1, roll(saliency, SIDE / 2, SIDE / 2)));
    const [before, after, control] = [await probabilities(x, labels), await probabilities(deleted, labels), await probabilities(moved, labels)];
    const s = await saliency.toArray();
    const area = labels.map((_, i) => Array.from(s.subarray(i * PIXELS, (i + 1) * PIXELS)).reduce((a, v) => a + v, 0) / PIXELS);
    console.log(
      `meaningful perturbation: probability ${avg(before).toFixed(3)} -> ${avg(after).toFixed(3)} (same mask moved: ${avg(control).toFixed(3)}); ` +
        `halved on ${labels.filter((_, i) => after[i]! < 0.5 * before[i]!).length}/${N}; mean deleted area ${avg(area).toFixed(3)}`,
    );
    expect(labels.filter((_, i) => after[i]! < control[i]!).length).toBeGreaterThanOrEqual(0.75 * N);
    expect(avg(after)).toBeLessThan(avg(control));
    const pixels = await deleted.toArray();
    writePng(
      `${OUT}/meaningful-perturbation.png`,
      makeGrid(
        labels.flatMap((_, i) => [attributionToImage(s.subarray(i * PIXELS, (i + 1) * PIXELS), SIDE, SIDE, { mode: 'positive' }), chwToImage(pixels.subarray(i * PIXELS, (i + 1) * PIXELS), 1, SIDE, SIDE, shown)]),
        { cols: 8, tileScale: 3 },
      ),
    );
  }, 120_000);

  it('gives a batch the same masks as one image at a time', async () => {
    await expectBatchEqualsSingles((input, target) => new MeaningfulPerturbation(model).attribute(input, { target, iterations: 30 }), 1e-3, 'meaningful batch');
  }, 60_000);
});

describe('iGOS++ (Khorram, Lawson & Fuxin 2021)', () => {
  it('has a lower deletion AUC and a higher insertion AUC than the vanilla gradient', async () => {
    const igos = await new IGOS(model).attribute(x, { target: labels, perturbation: black });
    const gradient = await new Saliency(model).attribute(x, { target: labels });
    const ours = await deletionInsertionAuc(x, igos, labels);
    const vanilla = await deletionInsertionAuc(x, gradient, labels);
    console.log(
      `deletion AUC: iGOS++ ${avg(ours.deletion).toFixed(3)} vs gradient ${avg(vanilla.deletion).toFixed(3)}; ` +
        `insertion AUC: iGOS++ ${avg(ours.insertion).toFixed(3)} vs gradient ${avg(vanilla.insertion).toFixed(3)}`,
    );
    expect(avg(ours.deletion)).toBeLessThan(avg(vanilla.deletion));
    expect(avg(ours.insertion)).toBeGreaterThan(avg(vanilla.insertion));
    const [s, g, p] = [await igos.toArray(), await gradient.toArray(), await x.toArray()];
    writePng(
      `${OUT}/igos.png`,
      makeGrid(
        labels.flatMap((_, i) => [
          chwToImage(p.subarray(i * PIXELS, (i + 1) * PIXELS), 1, SIDE, SIDE, shown),
          attributionToImage(s.subarray(i * PIXELS, (i + 1) * PIXELS), SIDE, SIDE, { mode: 'positive' }),
          attributionToImage(g.subarray(i * PIXELS, (i + 1) * PIXELS), SIDE, SIDE, { mode: 'positive' }),
        ]),
        { cols: 6, tileScale: 3 },
      ),
    );
  }, 120_000);

  it('gives a batch the same masks as one image at a time', async () => {
    await expectBatchEqualsSingles((input, target) => new IGOS(model).attribute(input, { target, iterations: 8, perturbation: black }), 1e-3, 'iGOS++ batch');
  }, 60_000);
});
