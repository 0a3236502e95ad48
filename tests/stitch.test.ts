/**
 * A4 stitching (src/xai/weightspace/stitching.ts) on the trained LeNet-5: a net stitched to itself
 * through the identity is the net (the same accuracy); stitched to a copy whose conv1 channels
 * were permuted (D1: the same function, other unit order), the identity map fails and the learnt
 * 1x1 map recovers the accuracy; nets whose layers differ are refused,
 * naming the layer and both shapes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadDataset, type ImageDataset } from '../datasets/index.ts';
import { DataLoader, NORMALISATION } from '../src/train/data-loader.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import { readState, writeState } from '../src/xai/weightspace/state.ts';
import { ReluSymmetry } from '../src/xai/weightspace/symmetry.ts';
import { defaultStitchLayers, Stitching } from '../src/xai/weightspace/stitching.ts';
import { trainedModel } from './trained-models.ts';

const norm = NORMALISATION.mnist!;
const input = [1, 28, 28];

describe('stitching the trained LeNet-5', () => {
  let model: gb.nn.Module;
  let train: ImageDataset;
  let test: ImageDataset;
  beforeAll(async () => {
    model = (await trainedModel('lenet-mnist')).model;
    train = await loadDataset('mnist', { split: 'train', limit: 3000 });
    test = await loadDataset('mnist', { split: 'test', limit: 1000 });
  }, 120_000);

  it('stitches at each pooling and each ReLU not followed by one, by default', () => {
    expect(defaultStitchLayers(model)).toEqual(['features.2', 'features.5', 'classifier.2', 'classifier.4']);
  });

  it("learns a map that undoes the permutation between a net and its copy with conv1's channels permuted", async () => {
    const copy = modelEntry('lenet5').build({ channels: 1, height: 28, width: 28, classes: 10 });
    writeState(copy, await readState(model));
    const sym = await ReluSymmetry.create(copy, input);
    const s = sym.random(4, 0);
    const perm = s.perms.get('features.0')!;
    // at least 4 of the 6 channels move
    expect(perm.filter((v, i) => v !== i).length).toBeGreaterThanOrEqual(4);
    sym.apply(sym.transform(await sym.state(), { perms: new Map([['features.0', perm]]), scales: new Map() }));
    const r = await new Stitching(model, copy, input).stitch('features.2', {
      train: new DataLoader(train, { batchSize: 32, shuffle: true, seed: 1, keepLast: false, ...norm }),
      test: new DataLoader(test, { batchSize: 500, ...norm }),
      lr: 0.03,
    });
    // the copy computes the same function; the identity stitch feeds it A's channels in the wrong order
    expect(r.accuracyB).toBe(r.accuracyA);
    expect(r.accuracyIdentity).toBeLessThan(r.accuracyA - 0.2);
    expect(r.accuracyStitched).toBeGreaterThan(r.accuracyA - 0.02);
    // the map is not the permutation matrix itself (conv1's channels are correlated, so other mixes serve as well), but far from the identity
    const offDiagonal = Array.from(r.weights).reduce((m, v, k) => (k % 7 === 0 ? m : Math.max(m, Math.abs(v))), 0);
    expect(offDiagonal).toBeGreaterThan(0.3);
  }, 120_000);

  it('through the identity, a net stitched to itself is the net', async () => {
    const r = await new Stitching(model, model, input).stitch('classifier.4', {
      train: new DataLoader(train, { batchSize: 500, keepLast: false, limit: 500, ...norm }),
      test: new DataLoader(test, { batchSize: 500, ...norm }),
    });
    expect(r.accuracyIdentity).toBe(r.accuracyA);
  }, 60_000);

  it('refuses a layer one net lacks, and layers of different shapes', async () => {
    const mlpA = new gb.models.MLP(784, [64, 32], 10);
    const mlpB = new gb.models.MLP(784, [64, 16], 10);
    const loaders = { train: new DataLoader(train, { batchSize: 100, limit: 100, ...norm }), test: new DataLoader(test, { batchSize: 100, limit: 100, ...norm }) };
    await expect(new Stitching(mlpA, mlpB, input).stitch('4', loaders)).rejects.toThrow(/stitching at '4' needs the same activation shape in both nets, but net A gives \[32\] and net B \[16\]/);
    await expect(new Stitching(mlpA, model, input).stitch('4', loaders)).rejects.toThrow(/stitching at '4': net B has no such layer/);
  });
});
