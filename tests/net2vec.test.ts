/**
 * Net2Vec (catalogue E8, src/xai/units/net2vec.ts): a one-hot vector scores exactly its unit's
 * dissection IoU; the fixed-threshold IoU on a hand-built case; on the trained fixture mixture net
 * the learned digit vectors train (the loss falls) and segment digits better than the best single
 * conv3 unit (Fong & Vedaldi's finding); clear errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import type { MixtureDataset } from '../datasets/mixture-mnist.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { digitConcepts, type ConceptSet } from '../src/xai/units/concepts.ts';
import { FixedThresholdIouTally, Net2Vec } from '../src/xai/units/net2vec.ts';
import { trainedModel, type TrainedModel } from './trained-models.ts';

const LAYER = 'features.7';
let net: TrainedModel;
let normalization: gb.Normalization;
const sets: Record<string, { x: Tensor; concepts: ConceptSet }> = {};

beforeAll(async () => {
  await gb.init();
  net = await trainedModel('mixture-net');
  normalization = { mean: net.mean, std: net.std };
  for (const [split, n] of [['train', 128], ['validation', 128]] as const) {
    const d = (await datasetSpec('mnist-mixture').load(split, n, { masks: true })) as MixtureDataset;
    sets[split] = { x: gb.tensor(Float32Array.from(d.images.subarray(0, n * 56 * 56), (v) => v / 255), [n, 1, 56, 56]), concepts: digitConcepts(d) };
  }
}, 120_000);

describe('Net2Vec', () => {
  it('a one-hot vector gives exactly the single unit\'s dissection IoU', async () => {
    const { x, concepts } = sets.validation!;
    // concept k's vector picks unit (k + 3) mod 10
    const pick = (k: number) => (k + 3) % 10;
    const w = new Float32Array(100);
    for (let k = 0; k < 10; k++) w[k * 10 + pick(k)] = 1;
    const ev = await new Net2Vec(net.model, { layer: LAYER, normalization, passBatchSize: 128 }).setWeights(w, new Float32Array(10)).evaluate(x, concepts);
    for (let k = 0; k < 10; k++) expect(ev.concepts[k]!.iouQuantile).toBe(ev.units[pick(k)]!.iou[k]);
    expect(ev.units.length).toBe(10);
    // the best unit really is the best
    for (const c of ev.concepts) for (const u of ev.units) expect(u.iou[Number(c.concept)]!).toBeLessThanOrEqual(c.bestUnitIou);
  }, 180_000);

  it('the fixed-threshold IoU on a hand-built case', () => {
    // 2 images of 2x2 pixels, 2 concepts; image 0 holds concept 0 at pixels 0, 1; image 1 holds concept 1 at pixel 3
    const masks = [[{ concept: 0, mask: Uint8Array.from([1, 1, 0, 0]) }], [{ concept: 1, mask: Uint8Array.from([0, 0, 0, 1]) }]];
    const concepts: ConceptSet = { names: ['a', 'b'], images: 2, height: 2, width: 2, present: Uint8Array.from([1, 0, 0, 1]), masks: (i) => masks[i]!, boxContains: () => false };
    const tally = new FixedThresholdIouTally(concepts, 0.5);
    // maps (already at image size): concept 0's map is on at pixels 0, 2 of image 0 and pixel 0 of image 1
    // concept 1's map is on at pixel 3 of both images
    const maps = Float32Array.from([1, 0, 1, 0, 0, 0, 0, 1, /* image 1 */ 1, 0, 0, 0, 0, 0, 0, 1]);
    tally.absorb([maps], 0, [2, 2, 2, 2]);
    // concept 0: intersection 1 (pixel 0 of image 0); union: image 0 {0,1,2} + image 1 {0} = 4
    // concept 1: intersection 1 (image 1 pixel 3); union: image 0 {3} + image 1 {3} = 2
    expect(tally.iou()).toEqual([1 / 4, 1 / 2]);
  });

  it('on the trained mixture net, learned digit vectors train and beat the best single conv3 unit', async () => {
    const n2v = new Net2Vec(net.model, { layer: LAYER, normalization, epochs: 2, lr: 0.05, batchSize: 64, passBatchSize: 128 });
    await n2v.fit(sets.train!.x, sets.train!.concepts);
    expect(n2v.losses[1]!).toBeLessThan(n2v.losses[0]!);
    const ev = await n2v.evaluate(sets.validation!.x, sets.validation!.concepts);
    const better = ev.concepts.filter((c) => c.iouQuantile > c.bestUnitIou).length;
    expect(better).toBeGreaterThanOrEqual(7);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(ev.concepts.map((c) => c.iouQuantile))).toBeGreaterThan(mean(ev.concepts.map((c) => c.bestUnitIou)));
  }, 180_000);

  it('errors: evaluate before fit, images that do not match the masks, vectors of the wrong size', async () => {
    const { x, concepts } = sets.validation!;
    await expect(new Net2Vec(net.model, { layer: LAYER }).evaluate(x, concepts)).rejects.toThrow(/no vectors yet; call fit/);
    await expect(new Net2Vec(net.model, { layer: LAYER }).fit(gb.slice(x, 0, { start: 0, end: 5 }), concepts)).rejects.toThrow(/\[5, 1, 56, 56\] and the concept masks \(128 of 56x56\) do not match/);
    await expect(new Net2Vec(net.model, { layer: LAYER }).setWeights(new Float32Array(30), new Float32Array(10)).evaluate(x, concepts)).rejects.toThrow(/the layer has 10 channels but the vectors have 3/);
  }, 60_000);
});
