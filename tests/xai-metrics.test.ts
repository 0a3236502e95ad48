/**
 * Catalogue B8: the scores every method is judged by. Deletion / insertion (Petsiuk et al. 2018)
 * on the trained LeNet: an oracle map (each pixel's own drop of the target logit when it alone
 * is replaced by the substitute) beats a random map on both curves. Pointing game and energy in
 * mask on mixture-of-MNIST's digit masks: a map peaked on a digit always hits, a centre-peaked map
 * scores exactly the share of images with a digit near the centre. Similarity measures on
 * maps whose answer is known.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadDataset, type MixtureDataset } from '../datasets/index.ts';
import { auc, deletionInsertion, dilate, energyInMask, pointingHit, type Curves } from '../src/xai/metrics.ts';
import { gaussianBlur } from '../src/xai/baselines.ts';
import { hogSimilarity, ranks, spearman, ssim } from '../src/xai/similarity.ts';
import { mnistBatch, type Batch } from './gradient-test-inputs.ts';
import { trainedModel } from './trained-models.ts';

const N = 12;
const SIDE = 28;
const HW = SIDE * SIDE;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('the scores on maps whose answer is known', () => {
  it('auc is the trapezoid area over [0, 1]', () => {
    expect(auc([1, 1, 1])).toBe(1);
    expect(auc([1, 0])).toBe(0.5);
    expect(auc([0, 0.5, 1])).toBe(0.5);
  });

  it('pointing game honours the tolerance; energy in mask counts positive mass', () => {
    const mask = new Uint8Array(25);
    mask[0] = 1; // in a 5x5 image, the top-left pixel is the object
    const peakAtCentre = Float64Array.from({ length: 25 }, (_, p) => (p === 12 ? 9 : 1));
    expect(pointingHit(peakAtCentre, mask, 5, 5, 0)).toBe(0);
    expect(pointingHit(peakAtCentre, mask, 5, 5, 2)).toBe(1); // the centre is 2 pixels from the object
    expect(energyInMask(peakAtCentre, mask)).toBeCloseTo(1 / 33, 10);
  });
});

describe('deletion and insertion (trained LeNet, MNIST test images)', () => {
  let model: gb.nn.Module;
  let batch: Batch;
  let oracle: Curves[];
  let random: Curves[];

  /** Per pixel, the drop of image i's target logit when that pixel alone takes the blurred copy's value: [HW]. */
  async function occlusionDrop(i: number, blurred: gb.Tensor): Promise<Float32Array> {
    const drops = gb.tidy(() =>
      gb.noGrad(() => {
        const x = gb.slice(batch.x, 0, { start: i, end: i + 1 });
        const b = gb.slice(blurred, 0, { start: i, end: i + 1 });
        const onePixel = gb.tensor(Float32Array.from({ length: HW * HW }, (_, k) => (Math.floor(k / HW) === k % HW ? 1 : 0)), [HW, 1, SIDE, SIDE]);
        const occluded = gb.add(gb.mul(x, gb.sub(1, onePixel)), gb.mul(b, onePixel));
        const logits = gb.cat([model.forward(x), model.forward(occluded)], 0);
        const target = gb.slice(logits, 1, { start: batch.labels[i]!, end: batch.labels[i]! + 1 });
        return gb.sub(gb.slice(target, 0, { start: 0, end: 1 }), gb.slice(target, 0, { start: 1, end: HW + 1 }));
      }),
    );
    const values = Float32Array.from(await drops.toArray());
    drops.dispose();
    return values;
  }

  beforeAll(async () => {
    const trained = await trainedModel('lenet-mnist');
    model = trained.model;
    batch = await mnistBatch(trained, N);
    // the same substitute deletionInsertion uses by default: a Gaussian blur with sigma = side / 8
    const blurred = gb.noGrad(() => gaussianBlur(batch.x, SIDE / 8));
    const oracleMaps = new Float32Array(N * HW);
    for (let i = 0; i < N; i++) oracleMaps.set(await occlusionDrop(i, blurred), i * HW);
    blurred.dispose();
    gb.manualSeed(3);
    const randomMaps = gb.rand([N, 1, SIDE, SIDE]);
    const oracleTensor = gb.tensor(oracleMaps, [N, 1, SIDE, SIDE]);
    oracle = await deletionInsertion(model, batch.x, oracleTensor, batch.labels);
    random = await deletionInsertion(model, batch.x, randomMaps, batch.labels);
  });

  it('curves start at the image and end at the substitute', () => {
    for (const c of [...oracle, ...random]) {
      expect(c.deletion).toHaveLength(33); // 32 steps by default
      // deletion's first point and insertion's last are the unmodified image
      expect(c.deletion[0]).toBeCloseTo(c.insertion[32]!, 5);
      expect(c.insertion[0]).toBeCloseTo(c.deletion[32]!, 5);
      expect(c.deletionAuc).toBeCloseTo(auc(c.deletion), 12);
    }
  });

  it('the oracle map beats a random map on deletion (lower AUC) and insertion (higher AUC)', () => {
    const [od, rd] = [mean(oracle.map((c) => c.deletionAuc)), mean(random.map((c) => c.deletionAuc))];
    const [oi, ri] = [mean(oracle.map((c) => c.insertionAuc)), mean(random.map((c) => c.insertionAuc))];
    console.log(`deletion AUC oracle ${od.toFixed(3)} random ${rd.toFixed(3)}; insertion AUC oracle ${oi.toFixed(3)} random ${ri.toFixed(3)}`);
    // a random order removes evidence at a constant rate; the oracle removes the strongest evidence first
    expect(od).toBeLessThan(rd - 0.1);
    expect(oi).toBeGreaterThan(ri + 0.1);
    // and on most images, not only on average
    expect(oracle.filter((c, i) => c.deletionAuc < random[i]!.deletionAuc).length).toBeGreaterThanOrEqual(N - 2);
  });
});

describe('pointing game and energy in mask (mixture-of-MNIST digit masks)', () => {
  const M = 200;
  const S = 56;
  let data: MixtureDataset;
  const union = (i: number) => Uint8Array.from({ length: S * S }, (_, p) => data.masks[(i * 2) * S * S + p]! | data.masks[(i * 2 + 1) * S * S + p]!);

  beforeAll(async () => {
    data = await loadDataset('mnist-mixture', { split: 'validation', n: M });
  });

  it('a map peaked on a digit pixel always hits; a centre map scores the share of digits near the centre', () => {
    const centre = Float64Array.from({ length: S * S }, (_, p) => -Math.hypot(Math.floor(p / S) - S / 2, (p % S) - S / 2));
    let onDigit = 0;
    let atCentre = 0;
    let centreCovered = 0;
    for (let i = 0; i < M; i++) {
      const mask = union(i);
      // peak on the digit pixel farthest from the centre: the map's maximum is nowhere else
      const far = Float64Array.from(centre, (v, p) => (mask[p] ? -v : -1e9));
      onDigit += pointingHit(far, mask, S, S);
      atCentre += pointingHit(centre, mask, S, S);
      centreCovered += dilate(mask, S, S, 2)[(S / 2) * S + S / 2]!;
    }
    expect(onDigit).toBe(M);
    expect(atCentre).toBe(centreCovered);
    // digits are placed at random, so the centre baseline is well below 1 (and well above 0)
    console.log(`centre baseline of the pointing game: ${(atCentre / M).toFixed(3)}`);
    expect(atCentre / M).toBeGreaterThan(0.1);
    expect(atCentre / M).toBeLessThan(0.9);
  });

  it('energy in mask is 1 for the mask itself and the mask area for a uniform map', () => {
    const mask = union(0);
    expect(energyInMask(mask, mask)).toBe(1);
    const area = mask.reduce((a, b) => a + b, 0) / mask.length;
    expect(energyInMask(new Float64Array(mask.length).fill(0.5), mask)).toBeCloseTo(area, 12);
    // negative attribution is not evidence for the class and does not count
    expect(energyInMask(Float64Array.from(mask, (m) => (m ? 1 : -5)), mask)).toBe(1);
  });
});

describe('similarity measures', () => {
  const h = 28;
  const w = 28;
  const a = Float64Array.from({ length: h * w }, (_, p) => Math.sin(p / 17) + Math.cos((p % w) / 5));

  it('Spearman: reversed ranks give -1, any monotone transform gives 1, ties share their rank', () => {
    const reversed = a.map((v) => -v);
    expect(spearman(a, reversed)).toBeCloseTo(-1, 12);
    expect(spearman(a, a.map((v) => Math.exp(3 * v)))).toBeCloseTo(1, 12);
    expect(spearman(a, reversed, { absolute: true })).toBeCloseTo(1, 12);
    expect(Array.from(ranks([5, 1, 5, 3]))).toEqual([2.5, 0, 2.5, 1]);
  });

  it('SSIM and HOG similarity of identical maps are 1, and lower for a different map', () => {
    const unit = a.map((v) => (v + 2) / 4);
    expect(ssim(unit, unit, h, w)).toBeCloseTo(1, 12);
    expect(hogSimilarity(unit, unit, h, w)).toBeCloseTo(1, 12);
    const other = unit.map((_, p) => unit[(p * 7919) % (h * w)]!); // the same values, scrambled
    expect(ssim(unit, other, h, w)).toBeLessThan(0.5);
    expect(hogSimilarity(unit, other, h, w)).toBeLessThan(0.5);
  });
});
